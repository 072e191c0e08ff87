"""Tables of the administration console, the public directory and the REST API
(migration 0005): API tokens, per-agency profile (mail regulation adoption), and the
mailboxes an administrator requires to be listed in the public directory."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from govmail.store.models import PK, Base, utcnow

# What a token may do. Mail scopes act on the one mailbox the token is bound to.
API_SCOPES = ("directory:read", "directory:write", "mail:send", "mail:read")
MAIL_SCOPES = ("mail:send", "mail:read")


class ApiToken(Base):
    """A bearer token for /api/v1. Only the SHA-256 of the secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to recognise it
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Mail scopes read and send as this mailbox only.
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    # Directory scopes limited to this agency's subtree (None: the whole installation).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    last_used_addr: Mapped[str | None] = mapped_column(String(64))

    @property
    def actor_name(self) -> str:
        """How the audit log names changes made with this token."""
        return f"api-token:{self.id}"


class AgencyProfile(Base):
    """What the directory does not hold about an agency: whether it adopted an internal
    regulation (quy chế) on the use of official e-mail, when, and under which number."""

    __tablename__ = "agency_profile"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    regulation_adopted: Mapped[bool] = mapped_column(Boolean, default=False)
    regulation_date: Mapped[date | None] = mapped_column(Date)
    regulation_number: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ListingRequirement(Base):
    """A mailbox the administration requires in the public directory: the person cannot
    unlist it nor hide ``fields`` (full_name is always public for a listed person)."""

    __tablename__ = "listing_requirement"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    set_by: Mapped[str] = mapped_column(String(320))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
