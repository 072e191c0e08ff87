"""SQLAlchemy models: the directory, mail storage, queue and audit tables.

Naming: a *mailbox* is an address that receives mail (a person's or an agency's);
a *folder* is what IMAP calls a mailbox (INBOX, Sent, ...).
All timestamps are stored in UTC and returned timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
PK = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# --- Directory ---------------------------------------------------------------------------


class Domain(Base):
    __tablename__ = "domain"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    address_template: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    dkim_selector: Mapped[str | None] = mapped_column(String(63))
    dkim_private_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="RESTRICT"), index=True
    )
    # Materialised path of ids, "/1/5/23/": a subtree is a prefix match.
    path: Mapped[str] = mapped_column(String(1000), index=True, default="/")
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(60))
    code: Mapped[str | None] = mapped_column(String(35), unique=True)
    role: Mapped[str | None] = mapped_column(String(40), index=True)
    place: Mapped[str | None] = mapped_column(String(100))
    domain_id: Mapped[int | None] = mapped_column(
        ForeignKey("domain.id", ondelete="SET NULL"), index=True
    )
    staff_headcount: Mapped[int | None] = mapped_column(Integer)
    headcount_updated_at: Mapped[datetime | None] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    domain: Mapped[Domain | None] = relationship(foreign_keys=[domain_id], lazy="raise")


class Mailbox(Base):
    """An address that receives mail: a person's (kind 'person') or an agency's."""

    __tablename__ = "mailbox"
    __table_args__ = (UniqueConstraint("domain_id", "local_part"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id", ondelete="RESTRICT"), index=True)
    local_part: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(320), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="RESTRICT"), index=True
    )
    staff_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    quota_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    public_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column()
    archived_at: Mapped[datetime | None] = mapped_column()
    delete_after: Mapped[datetime | None] = mapped_column()

    domain: Mapped[Domain] = relationship(lazy="raise")
    agency: Mapped[Agency | None] = relationship(lazy="raise")


class Alias(Base):
    __tablename__ = "alias"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"), index=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(40), default="manual")
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Group(Base):
    """A distribution list: static members, or a rule over the agency tree."""

    __tablename__ = "mail_group"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), default="static")
    # Dynamic rule, e.g. {"kinds": ["province"], "under": null, "target": "agency_mailbox"}.
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "mailbox_id", "address"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("mail_group.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    # An outside address (another installation's agency mailbox), when mailbox_id is null.
    address: Mapped[str | None] = mapped_column(String(320))


class MailboxHandler(Base):
    """A person allowed to handle an agency mailbox (read, register, send as)."""

    __tablename__ = "mailbox_handler"
    __table_args__ = (UniqueConstraint("agency_mailbox_id", "person_mailbox_id"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    person_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    can_send: Mapped[bool] = mapped_column(Boolean, default=True)
    is_clerk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminRole(Base):
    __tablename__ = "admin_role"
    __table_args__ = (UniqueConstraint("mailbox_id", "role", "agency_id"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))  # installation_admin | agency_admin
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(16), default="cli")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(320), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(64))


# --- Mail storage ------------------------------------------------------------------------


class Blob(Base):
    """A stored message body, content-addressed; shared by every recipient copy."""

    __tablename__ = "blob"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refcount: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlobJournal(Base):
    """A small body whose delivery is committed but whose blob file may not be durable
    yet: the delivery writer puts it here in the delivery's own transaction and removes
    it once the file is on disk (see ``store/blob_journal.py``)."""

    __tablename__ = "blob_journal"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Folder(Base):
    """What IMAP calls a mailbox: INBOX, Sent, a user's folder."""

    __tablename__ = "folder"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(1000))  # Unicode NFC, "/" separated
    special_use: Mapped[str | None] = mapped_column(String(16))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uidnext: Mapped[int] = mapped_column(BigInteger, default=1)
    highestmodseq: Mapped[int] = mapped_column(BigInteger, default=1)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # IMAP (migration 0003): messages with UID >= this are \Recent and not yet claimed by
    # a session (RFC 3501: a message is recent in exactly one session).
    imap_recent_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class Message(Base):
    """One message in one folder (one row per recipient folder; the blob is shared)."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("folder_id", "uid"),
        Index("ix_message_folder_modseq", "folder_id", "modseq"),
        Index("ix_message_folder_seen", "folder_id", "seen"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folder.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    modseq: Mapped[int] = mapped_column(BigInteger)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id", ondelete="RESTRICT"), index=True)
    internal_date: Mapped[datetime] = mapped_column()
    size: Mapped[int] = mapped_column(BigInteger)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    keywords: Mapped[str] = mapped_column(String(2000), default="")  # space separated
    # Denormalised from the parsed metadata for sorting and listing without JSON access.
    subject: Mapped[str] = mapped_column(String(1000), default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    sent_date: Mapped[datetime | None] = mapped_column()
    message_id_header: Mapped[str | None] = mapped_column(String(998), index=True)
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    # Folded (lower-case, no diacritics) header text for diacritic-insensitive SEARCH.
    subject_fold: Mapped[str] = mapped_column(String(1000), default="")
    from_fold: Mapped[str] = mapped_column(String(1000), default="")
    to_fold: Mapped[str] = mapped_column(Text, default="")
    cc_fold: Mapped[str] = mapped_column(Text, default="")
    # Parsed metadata (envelope, body structure, header index) filled once at delivery.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)


class ExpungedMessage(Base):
    """Tombstones of expunged UIDs, for QRESYNC's VANISHED responses."""

    __tablename__ = "expunged_message"
    __table_args__ = (Index("ix_expunged_folder_modseq", "folder_id", "modseq"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folder.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    modseq: Mapped[int] = mapped_column(BigInteger)


# IMAP (migration 0003): a listing FETCH (flags, dates, sizes of thousands of messages)
# reads this index alone instead of the wide message rows, which hold the metadata.
Index(
    "ix_message_imap_listing",
    Message.folder_id,
    Message.uid,
    Message.modseq,
    Message.seen,
    Message.answered,
    Message.flagged,
    Message.deleted,
    Message.draft,
    Message.keywords,
    Message.internal_date,
    Message.size,
    Message.blob_id,
)


class ImapMessageCache(Base):
    """IMAP wire forms of a message, cached on its first FETCH (migration 0003), so that
    later FETCHes of ENVELOPE, BODY, BODYSTRUCTURE and header fields read neither ``meta``
    nor the blob. A table of its own keeps ``message`` rows narrow: a flag change
    rewrites the whole row, and STORE on a large mailbox rewrites many."""

    __tablename__ = "imap_message_cache"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    envelope: Mapped[bytes | None] = mapped_column(LargeBinary)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    bodystructure: Mapped[bytes | None] = mapped_column(LargeBinary)
    header: Mapped[bytes | None] = mapped_column(LargeBinary)


class ImapSharedUnsubscription(Base):
    """A person who unsubscribed (IMAP UNSUBSCRIBE) from a folder of an agency mailbox they
    handle; shared folders are subscribed by default (migration 0003)."""

    __tablename__ = "imap_shared_unsubscription"
    __table_args__ = (UniqueConstraint("person_mailbox_id", "folder_id"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    person_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    folder_id: Mapped[int] = mapped_column(ForeignKey("folder.id", ondelete="CASCADE"))


class BlobText(Base):
    """Folded searchable text of a blob, computed once at delivery."""

    __tablename__ = "blob_text"

    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blob.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)


# --- Outbound queue ----------------------------------------------------------------------


class OutboundMessage(Base):
    """A message waiting for delivery to one remote recipient domain."""

    __tablename__ = "outbound"
    __table_args__ = (Index("ix_outbound_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id", ondelete="RESTRICT"), index=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    domain: Mapped[str] = mapped_column(String(253), index=True)
    recipients: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    delay_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    dkim_domain: Mapped[str | None] = mapped_column(String(253))


# --- Web sessions and per-user mail rules (migration 0004) --------------------------------


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    # False while the second factor (TOTP) is still to be given.
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class Vacation(Base):
    """A mailbox's automatic reply while its owner is away (RFC 3834)."""

    __tablename__ = "vacation"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    interval_days: Mapped[int] = mapped_column(Integer, default=7)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VacationReply(Base):
    """When a mailbox last answered a sender automatically (once per sender per interval)."""

    __tablename__ = "vacation_reply"
    __table_args__ = (UniqueConstraint("mailbox_id", "sender"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailFilter(Base):
    """A filing rule applied at delivery: when ``field`` contains ``value``, do ``action``."""

    __tablename__ = "mail_filter"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    field: Mapped[str] = mapped_column(String(16))  # from | to | subject | text
    value: Mapped[str] = mapped_column(String(300))  # as typed (NFC); matched folded
    action: Mapped[str] = mapped_column(String(16))  # move | read | flag | trash
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("folder.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
