"""Official documents (migration 0006): the outgoing register (sổ văn bản đi) with one row
per recipient and its statuses, the incoming register (sổ văn bản đến), the number
counters, the problems reported to clerks, the document files, the trail of events and
each agency's document policy.

Registers follow Phụ lục IV and VI of Nghị định 30/2020/NĐ-CP; field names follow edXML
(QCVN 102:2016/BTTTT): ``doc_uid`` is the edXML DocumentId
(``OrganId,yyyy/MM/dd,Number/Notation``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from govmail.store.models import PK, Base, utcnow


class DocumentCounter(Base):
    """The last number given in one register of one agency for one year. Numbers are
    taken by ``UPDATE … SET last_number = last_number + 1 RETURNING`` in the transaction
    that records the document, so a rolled-back document gives its number back."""

    __tablename__ = "document_counter"
    __table_args__ = (UniqueConstraint("agency_id", "register", "year"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    register: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class OutgoingDocument(Base):
    """A document issued by an agency: one line of its sổ văn bản đi."""

    __tablename__ = "outgoing_document"
    __table_args__ = (
        UniqueConstraint(
            "agency_id", "register", "year", "number", name="uq_outgoing_document_number"
        ),
        # Classified documents have their own series (Điều 15.2), so "01/BC-BTTTT" can be
        # both a classified and an ordinary document of the same day: unique per register.
        UniqueConstraint("register", "doc_uid", name="uq_outgoing_document_doc_uid"),
        Index("ix_outgoing_document_agency_issued", "agency_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailbox.id", ondelete="SET NULL"), index=True
    )  # the agency mailbox it is sent from
    register: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    number_text: Mapped[str] = mapped_column(String(11))  # CodeNumber, "05"
    notation: Mapped[str] = mapped_column(String(30))  # CodeNotation, "BC-BTTTT"
    doc_uid: Mapped[str] = mapped_column(String(200), index=True)  # edXML DocumentId
    type_no: Mapped[int] = mapped_column(Integer)
    type_name: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(1000))
    content: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date] = mapped_column()
    signer_name: Mapped[str] = mapped_column(String(100), default="")
    signer_position: Mapped[str] = mapped_column(String(200), default="")
    signer_competence: Mapped[str] = mapped_column(String(100), default="")
    confidentiality: Mapped[str] = mapped_column(String(16), default="")  # "", mat, toi_mat…
    urgency: Mapped[str] = mapped_column(String(16), default="thuong")
    due_date: Mapped[date | None] = mapped_column()
    steering_type: Mapped[int] = mapped_column(Integer, default=1)
    reply_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ResponseFor
    addressees_text: Mapped[str] = mapped_column(Text, default="")  # Kính gửi
    recipients_text: Mapped[str] = mapped_column(Text, default="")  # Nơi nhận as written
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)  # resolved lines
    # issued: numbered, not sent | sent | refused: the pipeline refused it (send_error says why)
    status: Mapped[str] = mapped_column(String(16), default="issued", index=True)
    send_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    # The clerk recorded it as sent on paper too (or only): the usage reports' channel.
    paper: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DocumentFile(Base):
    """A file of an outgoing document: the main file (PDF) or an appendix; the bytes are a
    blob (its reference count keeps it while the document exists)."""

    __tablename__ = "document_file"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("outgoing_document.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # main | appendix
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id", ondelete="RESTRICT"), index=True)


class OutgoingRecipient(Base):
    """One recipient of an outgoing document and what it said about it (status messages)."""

    __tablename__ = "outgoing_recipient"
    __table_args__ = (UniqueConstraint("document_id", "address"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("outgoing_document.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320), index=True)
    organ_id: Mapped[str] = mapped_column(String(35), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(16), default="agency")  # agency|person|address|group
    internal: Mapped[bool] = mapped_column(Boolean, default=False)  # archive copy, not sent
    via_group: Mapped[str | None] = mapped_column(String(320))  # reached through a remote group
    message_id: Mapped[str | None] = mapped_column(String(998))
    outbound_id: Mapped[int | None] = mapped_column(BigInteger)  # queue row, for remote ones
    sent_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    status_code: Mapped[str | None] = mapped_column(String(2))  # the latest status received
    status_text: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime | None] = mapped_column()  # 01
    accepted_at: Mapped[datetime | None] = mapped_column()  # 03
    refused_at: Mapped[datetime | None] = mapped_column()  # 02
    assigned_at: Mapped[datetime | None] = mapped_column()  # 04
    in_progress_at: Mapped[datetime | None] = mapped_column()  # 05
    completed_at: Mapped[datetime | None] = mapped_column()  # 06


class IncomingDocument(Base):
    """A document received by an agency: one line of its sổ văn bản đến, and of the sổ
    theo dõi giải quyết (assignee, deadline, progress)."""

    __tablename__ = "incoming_document"
    __table_args__ = (
        UniqueConstraint(
            "agency_id", "register", "year", "arrival_number", name="uq_incoming_document_number"
        ),
        UniqueConstraint("agency_id", "doc_uid", name="uq_incoming_document_doc_uid"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailbox.id", ondelete="SET NULL"), index=True
    )
    register: Mapped[str] = mapped_column(String(16), default="den")
    year: Mapped[int] = mapped_column(Integer)
    arrival_number: Mapped[int] = mapped_column(Integer)
    arrived_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(16))  # edxml | manual
    doc_uid: Mapped[str | None] = mapped_column(String(200))
    number_text: Mapped[str] = mapped_column(String(11), default="")
    notation: Mapped[str] = mapped_column(String(60), default="")
    type_no: Mapped[int] = mapped_column(Integer, default=0)
    type_name: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date | None] = mapped_column()
    issuer_code: Mapped[str] = mapped_column(String(35), default="")
    issuer_name: Mapped[str] = mapped_column(String(300), default="")
    sender_address: Mapped[str] = mapped_column(String(320), default="")
    signer_name: Mapped[str] = mapped_column(String(100), default="")
    signer_position: Mapped[str] = mapped_column(String(200), default="")
    urgency: Mapped[str] = mapped_column(String(16), default="thuong")
    due_date: Mapped[date | None] = mapped_column()  # hạn xử lý given by the sender
    to_places: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reply_to_uid: Mapped[str | None] = mapped_column(String(200))
    # Where it came from: the message in the agency mailbox, and its blob (kept referenced).
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("folder.id", ondelete="SET NULL"))
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998))
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blob.id", ondelete="RESTRICT"))
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{part, name, type, size}]
    signatures: Mapped[list[Any]] = mapped_column(JSON, default=list)  # per file, per signature
    authentication: Mapped[str] = mapped_column(String(16), default="")  # pass|local|unverified
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # registered | accepted | refused | assigned | in_progress | completed
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailbox.id", ondelete="SET NULL"), index=True
    )
    deadline: Mapped[date | None] = mapped_column()  # set by the clerk when assigning
    progress_note: Mapped[str | None] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()


class DocumentEvent(Base):
    """The trail of a document: issued, sent, statuses in and out, clerk actions."""

    __tablename__ = "document_event"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    outgoing_id: Mapped[int | None] = mapped_column(
        ForeignKey("outgoing_document.id", ondelete="CASCADE"), index=True
    )
    incoming_id: Mapped[int | None] = mapped_column(
        ForeignKey("incoming_document.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("outgoing_recipient.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(2))
    detail: Mapped[str | None] = mapped_column(Text)


class DocumentProblem(Base):
    """Something wrong with a document or status message that arrived, for the clerk:
    malformed or hostile envelope, envelope disagreeing with the mail, misaddressed,
    duplicate, forged or unexpected status, bad signature, missing file."""

    __tablename__ = "document_problem"
    __table_args__ = (Index("ix_document_problem_open", "agency_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailbox.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    doc_uid: Mapped[str | None] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(320), default="")
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("folder.id", ondelete="SET NULL"))
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998))
    incoming_id: Mapped[int | None] = mapped_column(
        ForeignKey("incoming_document.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    # A document that arrived but was not registered (not a status message, an unreadable
    # package or a duplicate): counted as an arrival in the usage reports.
    is_arrival: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DocumentPolicy(Base):
    """An agency's document rules (missing row: the defaults)."""

    __tablename__ = "document_policy"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    free_mail: Mapped[str] = mapped_column(String(8), default="refuse")  # refuse|flag|off
    legacy_text: Mapped[str] = mapped_column(String(8), default="refuse")  # refuse|flag|off
    legacy_scope: Mapped[str] = mapped_column(String(12), default="documents")  # |all
    extra_free_domains: Mapped[list[Any]] = mapped_column(JSON, default=list)
    allowed_domains: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mandatory_types: Mapped[list[Any]] = mapped_column(JSON, default=list)  # abbreviations
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))
