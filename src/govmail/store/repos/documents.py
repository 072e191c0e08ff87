"""Queries of the official-document layer: number counters, the outgoing and incoming
registers, recipients and their statuses, files, events, problems and policies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import Blob, Folder, Mailbox, OutboundMessage
from govmail.store.models_documents import (
    DocumentCounter,
    DocumentEvent,
    DocumentFile,
    DocumentPolicy,
    DocumentProblem,
    IncomingDocument,
    OutgoingDocument,
    OutgoingRecipient,
)


class DocumentsRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    async def add(self, obj: Any) -> Any:
        self.s.add(obj)
        await self.s.flush()
        return obj

    # -- numbering -----------------------------------------------------------------------
    async def next_number(self, agency_id: int, register: str, year: int) -> int:
        """The next number of a register, taken in the caller's transaction: the counter
        row stays locked until it commits (PostgreSQL row lock; SQLite writes are serial),
        and a rollback gives the number back. No gaps, no duplicates."""
        ins = (pg_insert if self.dialect == "postgresql" else sqlite_insert)(DocumentCounter)
        await self.s.execute(
            ins.values(
                agency_id=agency_id, register=register, year=year, last_number=0
            ).on_conflict_do_nothing(
                index_elements=[
                    DocumentCounter.agency_id,
                    DocumentCounter.register,
                    DocumentCounter.year,
                ]
            )
        )
        number = await self.s.scalar(
            update(DocumentCounter)
            .where(
                DocumentCounter.agency_id == agency_id,
                DocumentCounter.register == register,
                DocumentCounter.year == year,
            )
            .values(last_number=DocumentCounter.last_number + 1)
            .returning(DocumentCounter.last_number)
        )
        return int(number or 0)

    async def last_number(self, agency_id: int, register: str, year: int) -> int:
        n = await self.s.scalar(
            select(DocumentCounter.last_number).where(
                DocumentCounter.agency_id == agency_id,
                DocumentCounter.register == register,
                DocumentCounter.year == year,
            )
        )
        return int(n or 0)

    # -- outgoing ------------------------------------------------------------------------
    async def outgoing(self, document_id: int) -> OutgoingDocument | None:
        return await self.s.get(OutgoingDocument, document_id)

    async def outgoing_by_uid(self, doc_uid: str) -> OutgoingDocument | None:
        """The document a DocumentId names (classified ones never travel: not them)."""
        return await self.s.scalar(
            select(OutgoingDocument).where(
                OutgoingDocument.doc_uid == doc_uid, OutgoingDocument.confidentiality == ""
            )
        )

    async def outgoing_list(
        self,
        agency_id: int,
        *,
        year: int | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Sequence[OutgoingDocument]:
        q = select(OutgoingDocument).where(OutgoingDocument.agency_id == agency_id)
        if year is not None:
            q = q.where(OutgoingDocument.year == year)
        q = q.order_by(OutgoingDocument.created_at.desc(), OutgoingDocument.id.desc())
        return (await self.s.scalars(q.offset(offset).limit(limit))).all()

    async def unsent(
        self, agency_id: int, type_nos: Sequence[int], since: date, until: date
    ) -> Sequence[OutgoingDocument]:
        """Documents of the given types issued in [since, until] and never sent."""
        if not type_nos:
            return []
        return (
            await self.s.scalars(
                select(OutgoingDocument)
                .where(
                    OutgoingDocument.agency_id == agency_id,
                    OutgoingDocument.type_no.in_(list(type_nos)),
                    OutgoingDocument.issued_on >= since,
                    OutgoingDocument.issued_on <= until,
                    OutgoingDocument.sent_at.is_(None),
                )
                .order_by(OutgoingDocument.issued_on, OutgoingDocument.number)
            )
        ).all()

    async def files_of(self, document_id: int) -> Sequence[DocumentFile]:
        return (
            await self.s.scalars(
                select(DocumentFile)
                .where(DocumentFile.document_id == document_id)
                .order_by(DocumentFile.position)
            )
        ).all()

    async def recipients_of(self, document_id: int) -> Sequence[OutgoingRecipient]:
        return (
            await self.s.scalars(
                select(OutgoingRecipient)
                .where(OutgoingRecipient.document_id == document_id)
                .order_by(OutgoingRecipient.id)
            )
        ).all()

    async def recipients_of_many(
        self, document_ids: Sequence[int]
    ) -> dict[int, list[OutgoingRecipient]]:
        out: dict[int, list[OutgoingRecipient]] = {i: [] for i in document_ids}
        if not document_ids:
            return out
        rows = await self.s.scalars(
            select(OutgoingRecipient)
            .where(OutgoingRecipient.document_id.in_(list(document_ids)))
            .order_by(OutgoingRecipient.id)
        )
        for r in rows.all():
            out[r.document_id].append(r)
        return out

    async def recipient(self, document_id: int, address: str) -> OutgoingRecipient | None:
        return await self.s.scalar(
            select(OutgoingRecipient).where(
                OutgoingRecipient.document_id == document_id,
                OutgoingRecipient.address == address.lower(),
            )
        )

    async def outbound_states(self, outbound_ids: Sequence[int]) -> dict[int, str]:
        if not outbound_ids:
            return {}
        rows = await self.s.execute(
            select(OutboundMessage.id, OutboundMessage.status).where(
                OutboundMessage.id.in_(list(outbound_ids))
            )
        )
        return {int(i): str(s) for i, s in rows.all()}

    async def blob(self, blob_id: int) -> Blob | None:
        return await self.s.get(Blob, blob_id)

    # -- incoming ------------------------------------------------------------------------
    async def incoming(self, incoming_id: int) -> IncomingDocument | None:
        return await self.s.get(IncomingDocument, incoming_id)

    async def incoming_by_uid(self, agency_id: int, doc_uid: str) -> IncomingDocument | None:
        return await self.s.scalar(
            select(IncomingDocument).where(
                IncomingDocument.agency_id == agency_id, IncomingDocument.doc_uid == doc_uid
            )
        )

    async def incoming_by_message(self, folder_id: int, uid: int) -> IncomingDocument | None:
        return await self.s.scalar(
            select(IncomingDocument).where(
                IncomingDocument.folder_id == folder_id, IncomingDocument.uid == uid
            )
        )

    async def incoming_list(
        self,
        agency_id: int,
        *,
        year: int | None = None,
        status: str | None = None,
        assignee_id: int | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Sequence[IncomingDocument]:
        q = select(IncomingDocument).where(IncomingDocument.agency_id == agency_id)
        if year is not None:
            q = q.where(IncomingDocument.year == year)
        if status is not None:
            q = q.where(IncomingDocument.status == status)
        if assignee_id is not None:
            q = q.where(IncomingDocument.assignee_id == assignee_id)
        q = q.order_by(IncomingDocument.arrived_at.desc(), IncomingDocument.id.desc())
        return (await self.s.scalars(q.offset(offset).limit(limit))).all()

    async def assigned_to(
        self, mailbox_id: int, *, open_only: bool = True
    ) -> Sequence[IncomingDocument]:
        q = select(IncomingDocument).where(IncomingDocument.assignee_id == mailbox_id)
        if open_only:
            q = q.where(IncomingDocument.status.in_(["assigned", "in_progress"]))
        return (await self.s.scalars(q.order_by(IncomingDocument.deadline))).all()

    async def folder(self, folder_id: int) -> Folder | None:
        return await self.s.get(Folder, folder_id)

    # -- events and problems -------------------------------------------------------------
    async def event(self, **fields: Any) -> DocumentEvent:
        return await self.add(DocumentEvent(**fields))

    async def events_of(
        self, *, outgoing_id: int | None = None, incoming_id: int | None = None
    ) -> Sequence[DocumentEvent]:
        q = select(DocumentEvent)
        if outgoing_id is not None:
            q = q.where(DocumentEvent.outgoing_id == outgoing_id)
        if incoming_id is not None:
            q = q.where(DocumentEvent.incoming_id == incoming_id)
        return (await self.s.scalars(q.order_by(DocumentEvent.at, DocumentEvent.id))).all()

    async def problem(self, **fields: Any) -> DocumentProblem:
        return await self.add(DocumentProblem(**fields))

    async def problems(
        self, agency_ids: Sequence[int], *, open_only: bool = True, limit: int = 200
    ) -> Sequence[DocumentProblem]:
        if not agency_ids:
            return []
        q = select(DocumentProblem).where(DocumentProblem.agency_id.in_(list(agency_ids)))
        if open_only:
            q = q.where(DocumentProblem.resolved_at.is_(None))
        q = q.order_by(DocumentProblem.created_at.desc(), DocumentProblem.id.desc())
        return (await self.s.scalars(q.limit(limit))).all()

    async def arrival_problem(self, folder_id: int, uid: int) -> DocumentProblem | None:
        """The problem that stands for the document arrival of a message, if any."""
        return await self.s.scalar(
            select(DocumentProblem)
            .where(
                DocumentProblem.folder_id == folder_id,
                DocumentProblem.uid == uid,
                DocumentProblem.is_arrival.is_(True),
            )
            .limit(1)
        )

    async def problem_by_id(self, problem_id: int) -> DocumentProblem | None:
        return await self.s.get(DocumentProblem, problem_id)

    async def resolve_problems(self, *, folder_id: int, uid: int, at: datetime, by: str) -> int:
        res = await self.s.execute(
            update(DocumentProblem)
            .where(
                DocumentProblem.folder_id == folder_id,
                DocumentProblem.uid == uid,
                DocumentProblem.resolved_at.is_(None),
            )
            .values(resolved_at=at, resolved_by=by)
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- policies ------------------------------------------------------------------------
    async def policy(self, agency_id: int) -> DocumentPolicy | None:
        return await self.s.get(DocumentPolicy, agency_id)

    async def policies(self, agency_ids: Sequence[int]) -> dict[int, DocumentPolicy]:
        if not agency_ids:
            return {}
        rows = await self.s.scalars(
            select(DocumentPolicy).where(DocumentPolicy.agency_id.in_(list(agency_ids)))
        )
        return {p.agency_id: p for p in rows.all()}

    # -- people --------------------------------------------------------------------------
    async def mailboxes_by_ids(self, ids: Sequence[int]) -> dict[int, Mailbox]:
        if not ids:
            return {}
        rows = await self.s.scalars(select(Mailbox).where(Mailbox.id.in_(list(set(ids)))))
        return {m.id: m for m in rows.all()}

    async def counts(self, agency_id: int) -> dict[str, int]:
        """Open work of an agency: unregistered problems, incoming documents per status."""
        rows = await self.s.execute(
            select(IncomingDocument.status, func.count(IncomingDocument.id))
            .where(IncomingDocument.agency_id == agency_id)
            .group_by(IncomingDocument.status)
        )
        out = {str(s): int(n) for s, n in rows.all()}
        out["problems"] = int(
            await self.s.scalar(
                select(func.count(DocumentProblem.id)).where(
                    DocumentProblem.agency_id == agency_id, DocumentProblem.resolved_at.is_(None)
                )
            )
            or 0
        )
        return out
