"""Tables of the operations features (migration 0009): the Bayesian spam classifier,
per-agency allow/block lists and attachment policies, backup runs, the hash-chained
archive journal with its legal holds, and the progress of IMAP migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govmail.store.models import PK, Base, utcnow


class BayesToken(Base):
    """How often a token was seen in spam and in legitimate mail (per installation)."""

    __tablename__ = "bayes_token"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    spam: Mapped[int] = mapped_column(Integer, default=0)
    ham: Mapped[int] = mapped_column(Integer, default=0)


class BayesMessage(Base):
    """A message body (by blob hash) the classifier learnt, and as what ('spam'/'ham'):
    a message learnt twice is counted once, and moving it back unlearns it."""

    __tablename__ = "bayes_message"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(8), index=True)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpamListEntry(Base):
    """An allow or block entry: an address or '@domain'; agency_id null = installation-wide."""

    __tablename__ = "spam_list"
    __table_args__ = (UniqueConstraint("agency_id", "kind", "pattern"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # allow | block
    pattern: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachmentPolicy(Base):
    """An agency's own attachment policy (replaces the installation default for mail to it)."""

    __tablename__ = "attachment_policy"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    blocked_extensions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BackupRun(Base):
    """One backup (or verification) and how it ended."""

    __tablename__ = "backup_run"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # full | incremental | verify
    target: Mapped[str] = mapped_column(String(1000))
    snapshot: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    blobs_total: Mapped[int] = mapped_column(BigInteger, default=0)
    blobs_copied: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_copied: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class ArchiveEntry(Base):
    """One journalled message. ``hash`` = SHA-256 over the previous entry's hash and this
    entry's fields, so removing or changing an entry breaks the chain after it."""

    __tablename__ = "archive_entry"
    __table_args__ = (Index("ix_archive_entry_mailbox_at", "mailbox_address", "at"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    agency_code: Mapped[str] = mapped_column(String(35))
    mailbox_address: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(998))
    blob_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Set when retention removed the content (the chain row stays, so order still verifies).
    purged_at: Mapped[datetime | None] = mapped_column()


class LegalHold(Base):
    """A mailbox whose journal entries may not be deleted, whatever their age."""

    __tablename__ = "legal_hold"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    mailbox_address: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpsState(Base):
    """Small named values of the operations features (e.g. the archive chain's head)."""

    __tablename__ = "ops_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MigrationItem(Base):
    """A message copied from another IMAP server: resuming skips what is recorded here."""

    __tablename__ = "migration_item"
    __table_args__ = (
        UniqueConstraint("account", "source_folder", "uidvalidity", "source_uid"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    account: Mapped[str] = mapped_column(String(320))  # the govmail address
    source_folder: Mapped[str] = mapped_column(String(1000))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    source_uid: Mapped[int] = mapped_column(BigInteger)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folder.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    copied_at: Mapped[datetime] = mapped_column(default=utcnow)
