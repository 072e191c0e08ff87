"""The official-document service: what the doors (CLI, web, API) call, and the pieces the
composition root wires into the pipeline (the policy checks and the after-delivery hook).

    service = DocumentService(store, directory, settings, lambda: pipeline)
    Pipeline(..., checks=[..., *service.checks()], after_delivery=[..., service.after_delivery])

``service.outgoing`` issues and sends (``sending.Outgoing``), ``service.incoming``
registers arrivals, applies statuses and carries out the clerk's actions
(``receiving.Incoming``); the reading side (registers, per-recipient statuses, overdue
work, problems, the report of unsent documents, policies) is here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from govmail.config import Settings
from govmail.directory.service import Directory
from govmail.documents import decree30
from govmail.documents.common import Core, desk_of
from govmail.documents.errors import DocumentError
from govmail.documents.policies import MODES, SCOPES, PolicyBook, document_checks
from govmail.documents.receiving import Incoming
from govmail.documents.sending import Outgoing
from govmail.policy.base import PolicyCheck
from govmail.store.db import Store
from govmail.store.models import Agency, Mailbox
from govmail.store.models_documents import (
    DocumentPolicy,
    DocumentProblem,
    IncomingDocument,
    OutgoingDocument,
    OutgoingRecipient,
)

if TYPE_CHECKING:
    from govmail.delivery.envelope import Envelope
    from govmail.delivery.pipeline import DeliveryResult, Pipeline
    from govmail.mail.parsed import ParsedMessage


@dataclass(slots=True)
class RecipientView:
    row: OutgoingRecipient
    delivered: bool
    overdue: bool
    state: str  # the furthest step: sent, delivered, received, accepted, refused, …


@dataclass(slots=True)
class OutgoingView:
    doc: OutgoingDocument
    recipients: list[RecipientView] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return f"{self.doc.number_text}/{self.doc.notation}"

    @property
    def overdue(self) -> int:
        return sum(1 for r in self.recipients if r.overdue)

    def count(self, state: str) -> int:
        return sum(1 for r in self.recipients if r.state == state)


@dataclass(slots=True)
class IncomingView:
    doc: IncomingDocument
    assignee: Mailbox | None
    overdue: bool

    @property
    def symbol(self) -> str:
        return f"{self.doc.number_text}/{self.doc.notation}"


@dataclass(slots=True)
class AgencyDesk:
    """An agency mailbox a person handles, and whether they are its clerk."""

    mailbox: Mailbox
    agency: Agency
    is_clerk: bool


_STEPS = (
    ("completed_at", "completed"),
    ("refused_at", "refused"),
    ("in_progress_at", "in_progress"),
    ("assigned_at", "assigned"),
    ("accepted_at", "accepted"),
    ("received_at", "received"),
)


class DocumentService:
    def __init__(
        self,
        store: Store,
        directory: Directory,
        settings: Settings,
        pipeline_of: Callable[[], Pipeline],
    ) -> None:
        self.core = Core(store, directory, settings, pipeline_of)
        self.policies = PolicyBook(store, directory)
        self.outgoing = Outgoing(self.core)
        self.incoming = Incoming(self.core)

    # -- wiring --------------------------------------------------------------------------
    def checks(self) -> list[PolicyCheck]:
        return document_checks(self.policies)

    async def after_delivery(
        self, env: Envelope, parsed: ParsedMessage, result: DeliveryResult
    ) -> None:
        await self.incoming.after_delivery(env, parsed, result)

    # -- who may do what -----------------------------------------------------------------
    async def desks(self, person: str) -> list[AgencyDesk]:
        """The agency mailboxes ``person`` handles (clerk or not)."""
        async with self.core.store.read() as tx:
            me = await tx.directory.mailbox_by_address(person)
            if me is None:
                return []
            out = []
            for handler, box in await tx.directory.handled_by(me.id):
                if box.status != "active" or box.agency_id is None:
                    continue
                agency = await tx.directory.agency_by_id(box.agency_id)
                if agency is not None:
                    out.append(AgencyDesk(box, agency, handler.is_clerk))
            return out

    async def desk(self, person: str, agency_mailbox: str) -> AgencyDesk:
        async with self.core.store.read() as tx:
            d = await desk_of(tx, person, agency_mailbox)
        return AgencyDesk(d.mailbox, d.agency, d.is_clerk)

    # -- registers -----------------------------------------------------------------------
    async def outgoing_register(
        self, agency_id: int, *, year: int | None = None, limit: int = 200, offset: int = 0
    ) -> list[OutgoingView]:
        today = self.core.today()
        async with self.core.store.read() as tx:
            repo = self.core.repo(tx)
            docs = list(await repo.outgoing_list(agency_id, year=year, limit=limit, offset=offset))
            rows = await repo.recipients_of_many([d.id for d in docs])
            states = await repo.outbound_states(
                [r.outbound_id for rs in rows.values() for r in rs if r.outbound_id]
            )
        return [
            OutgoingView(d, [self._recipient_view(d, r, states, today) for r in rows[d.id]])
            for d in docs
        ]

    async def outgoing_document(self, document_id: int) -> OutgoingView:
        async with self.core.store.read() as tx:
            repo = self.core.repo(tx)
            doc = await repo.outgoing(document_id)
            if doc is None:
                raise DocumentError("documents.error.no_document", id=document_id)
            rows = list(await repo.recipients_of(doc.id))
            states = await repo.outbound_states([r.outbound_id for r in rows if r.outbound_id])
        today = self.core.today()
        return OutgoingView(doc, [self._recipient_view(doc, r, states, today) for r in rows])

    @staticmethod
    def _recipient_view(
        doc: OutgoingDocument, r: OutgoingRecipient, states: dict[int, str], today: date
    ) -> RecipientView:
        delivered = r.delivered_at is not None or r.received_at is not None
        if not delivered and r.outbound_id is not None:
            delivered = states.get(r.outbound_id) == "sent"
        state = next((name for column, name in _STEPS if getattr(r, column) is not None), "")
        if not state:
            state = (
                "internal"
                if r.internal
                else ("delivered" if delivered else ("sent" if r.sent_at else "not_sent"))
            )
        if r.outbound_id is not None and states.get(r.outbound_id) == "bounced":
            state = "bounced" if state in ("sent", "not_sent") else state
        overdue = bool(
            doc.due_date
            and doc.due_date < today
            and not r.internal
            and r.completed_at is None
            and r.refused_at is None
        )
        return RecipientView(r, delivered, overdue, state)

    async def incoming_register(
        self,
        agency_id: int,
        *,
        year: int | None = None,
        status: str | None = None,
        assignee_id: int | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[IncomingView]:
        async with self.core.store.read() as tx:
            repo = self.core.repo(tx)
            docs = list(
                await repo.incoming_list(
                    agency_id,
                    year=year,
                    status=status,
                    assignee_id=assignee_id,
                    limit=limit,
                    offset=offset,
                )
            )
            people = await repo.mailboxes_by_ids([d.assignee_id for d in docs if d.assignee_id])
        return [self._incoming_view(d, people) for d in docs]

    async def incoming_document(self, incoming_id: int) -> IncomingView:
        async with self.core.store.read() as tx:
            repo = self.core.repo(tx)
            doc = await repo.incoming(incoming_id)
            if doc is None:
                raise DocumentError("documents.error.no_document", id=incoming_id)
            people = await repo.mailboxes_by_ids([doc.assignee_id] if doc.assignee_id else [])
        return self._incoming_view(doc, people)

    async def assigned_to(self, person: str) -> list[IncomingView]:
        async with self.core.store.read() as tx:
            me = await tx.directory.mailbox_by_address(person)
            if me is None:
                return []
            docs = list(await self.core.repo(tx).assigned_to(me.id))
        return [self._incoming_view(d, {me.id: me}) for d in docs]

    def _incoming_view(self, d: IncomingDocument, people: dict[int, Mailbox]) -> IncomingView:
        limit = d.deadline or d.due_date
        overdue = bool(
            limit and limit < self.core.today() and d.status not in ("completed", "refused")
        )
        return IncomingView(d, people.get(d.assignee_id or 0), overdue)

    async def events(
        self, *, outgoing_id: int | None = None, incoming_id: int | None = None
    ) -> list[Any]:
        async with self.core.store.read() as tx:
            return list(
                await self.core.repo(tx).events_of(outgoing_id=outgoing_id, incoming_id=incoming_id)
            )

    async def problems(
        self, agency_ids: Sequence[int], *, open_only: bool = True
    ) -> list[DocumentProblem]:
        async with self.core.store.read() as tx:
            return list(await self.core.repo(tx).problems(agency_ids, open_only=open_only))

    async def unsent_report(
        self, agency_id: int, since: date, until: date
    ) -> list[OutgoingDocument]:
        """Issued documents of the agency's mandatory-electronic types that were not sent."""
        policy = await self.policies.for_agency(agency_id)
        types = (decree30.lookup_type(x) for x in policy.mandatory_types)
        type_nos = [t.number for t in types if t]
        async with self.core.store.read() as tx:
            return list(await self.core.repo(tx).unsent(agency_id, type_nos, since, until))

    # -- policies ------------------------------------------------------------------------
    async def policy(self, agency_id: int) -> DocumentPolicy:
        """The agency's own policy row (a new one with the defaults if it has none)."""
        async with self.core.store.read() as tx:
            row = await self.core.repo(tx).policy(agency_id)
        return row or DocumentPolicy(
            agency_id=agency_id,
            free_mail="refuse",
            legacy_text="refuse",
            legacy_scope="documents",
            extra_free_domains=[],
            allowed_domains=[],
            mandatory_types=[],
        )

    async def set_policy(self, actor: str, agency_id: int, **changes: Any) -> DocumentPolicy:
        for key in ("free_mail", "legacy_text"):
            if key in changes and changes[key] not in MODES:
                raise DocumentError("documents.error.bad_mode", value=changes[key])
        if "legacy_scope" in changes and changes["legacy_scope"] not in SCOPES:
            raise DocumentError("documents.error.bad_mode", value=changes["legacy_scope"])
        if "mandatory_types" in changes:
            types = []
            for x in changes["mandatory_types"]:
                dtype = decree30.lookup_type(x)
                if dtype is None:
                    raise DocumentError("documents.error.bad_type", type=x)
                types.append(dtype.abbreviation or dtype.name)
            changes["mandatory_types"] = types
        for key in ("extra_free_domains", "allowed_domains"):
            if key in changes:
                changes[key] = sorted({d.strip().lower().strip(".") for d in changes[key] if d})
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            row = await repo.policy(agency_id)
            before = None
            if row is None:
                row = await repo.add(
                    DocumentPolicy(
                        agency_id=agency_id,
                        free_mail="refuse",
                        legacy_text="refuse",
                        legacy_scope="documents",
                        extra_free_domains=[],
                        allowed_domains=[],
                        mandatory_types=[],
                        updated_by=actor,
                    )
                )
            else:
                before = _policy_dict(row)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_by = actor
            await tx.flush()
            await tx.audit.record(
                actor=actor,
                source="documents",
                remote_addr=None,
                action="documents.policy",
                object_type="agency",
                object_id=str(agency_id),
                before=before,
                after=_policy_dict(row),
            )
        self.policies.invalidate()
        return row


def _policy_dict(row: DocumentPolicy) -> dict[str, Any]:
    return {
        "free_mail": row.free_mail,
        "legacy_text": row.legacy_text,
        "legacy_scope": row.legacy_scope,
        "extra_free_domains": list(row.extra_free_domains or []),
        "allowed_domains": list(row.allowed_domains or []),
        "mandatory_types": list(row.mandatory_types or []),
    }
