"""Receiving official documents: the after-delivery hook that registers arrivals and
applies status messages, the clerk's actions (accept, refuse, assign, progress, complete)
and registration by hand of documents that came without an envelope.

An edXML package arriving in an agency mailbox (its INBOX or any folder but Sent, Drafts
and Trash) is checked before anything is written:

* it parses (defusedxml, strict: see ``envelope.py``); one package per message;
* the envelope agrees with the mail: its From e-mail is the message's From address, the
  ``X-Govmail-Document`` header names the same DocumentId, and this agency (its code or
  its mailbox) is among the envelope's recipients;
* every file of the manifest is in the message;
* the PDF signatures are intact (verified against the trust roots in
  ``<data_dir>/documents/trust/*.pem``); unsigned or untrusted files are registered with
  a warning, altered ones are not;
* a message from the Internet did not fail DMARC;
* the same DocumentId was not registered before (duplicates are refused by a unique
  constraint too, so two copies arriving at once cannot both be registered).

A document that passes gets the next arrival number of the agency's incoming register
and status 01 ("đã đến") goes back at once. Anything else becomes a problem shown to the
clerk, with the message, and leaves the registers untouched. A status message updates the
outgoing register only when it comes from a recipient of that document.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused, DeliveryResult
from govmail.documents import decree30
from govmail.documents.common import REGISTER_IN, Core, Desk, desk_of
from govmail.documents.envelope import EnvelopeError, parse_package
from govmail.documents.errors import DocumentError
from govmail.documents.model import (
    STATUS_ACCEPTED,
    STATUS_ARRIVED,
    STATUS_ASSIGNED,
    STATUS_COMPLETED,
    STATUS_IN_PROGRESS,
    STATUS_REFUSED,
    DocumentEnvelope,
    StaffInfo,
    StatusMessage,
)
from govmail.documents.policies import DOCUMENT_HEADER, header_values, package_parts
from govmail.documents.statuses import send_status, status_label
from govmail.i18n import both
from govmail.mail.parsed import (
    ParsedMessage,
    PartNotFound,
    decoded_part,
    parse_message,
    walk_parts,
)
from govmail.mail.textfold import fold
from govmail.reports import events
from govmail.store.models import Agency, Mailbox
from govmail.store.models_documents import IncomingDocument, OutgoingRecipient
from govmail.store.tx import Tx

log = logging.getLogger("govmail.documents")

SKIPPED_FOLDERS = ("\\Sent", "\\Drafts", "\\Trash")
STATUS_COLUMNS = {
    "01": "received_at",
    "02": "refused_at",
    "03": "accepted_at",
    "04": "assigned_at",
    "05": "in_progress_at",
    "06": "completed_at",
}


@dataclass(slots=True)
class ManualFields:
    """What the clerk types when registering a document that came without an envelope."""

    symbol: str  # "15/UBND-VP"
    subject: str = ""  # default: the message's subject
    type: str = ""  # default: read from the symbol
    issuer_name: str = ""  # default: the sender's name
    issuer_code: str = ""
    issued_on: date | None = None
    signer_name: str = ""
    signer_position: str = ""
    due_date: date | None = None
    urgency: str = ""
    force: bool = False  # register even if it looks like a duplicate


@dataclass(slots=True)
class _Arrival:
    box: Mailbox
    agency: Agency
    folder_id: int
    uid: int


@dataclass(slots=True)
class _Checked:
    files: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail)


class Incoming:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- the after-delivery hook -------------------------------------------------------
    async def after_delivery(
        self, env: Envelope, parsed: ParsedMessage, result: DeliveryResult
    ) -> None:
        stored = result.stored
        if stored is None or not stored.copies or not _may_carry_package(parsed):
            return
        arrivals = await self._agency_copies(
            [(c.mailbox_id, c.folder_id, c.uid) for c in stored.copies]
        )
        if not arrivals:
            return
        raw = await self.core.store.blobs.get(stored.blob_sha256)
        full = parse_message(raw)
        parts = package_parts(raw, full)
        if not parts:
            return
        auth = _authentication(env, result)
        for arrival in arrivals:
            try:
                await self._handle(arrival, raw, full, parts, auth, stored.blob_sha256)
            except Exception:
                log.exception("document arrival failed", extra={"uid": arrival.uid})
                await self._problem(
                    arrival, full, "internal_error", both("documents.problem.internal_error")
                )

    async def _agency_copies(self, copies: Sequence[tuple[int, int, int]]) -> list[_Arrival]:
        out: list[_Arrival] = []
        async with self.core.store.read() as tx:
            for mailbox_id, folder_id, uid in copies:
                box = await tx.directory.mailbox_by_id(mailbox_id)
                if box is None or box.kind != "agency" or box.agency_id is None:
                    continue
                folder = await tx.mail.folder_by_id(folder_id)
                if folder is None or folder.special_use in SKIPPED_FOLDERS:
                    continue
                agency = await tx.directory.agency_by_id(box.agency_id)
                if agency is not None:
                    out.append(_Arrival(box, agency, folder_id, uid))
        return out

    async def _handle(
        self,
        arrival: _Arrival,
        raw: bytes,
        full: ParsedMessage,
        parts: list[str],
        auth: str,
        sha: str,
    ) -> None:
        if len(parts) > 1:
            await self._problem(
                arrival,
                full,
                "malformed_envelope",
                both("documents.problem.several_packages", count=len(parts)),
            )
            return
        data = decoded_part(raw, full, parts[0])
        try:
            package = parse_package(data, max_bytes=self.core.settings.limits.max_message_size)
        except EnvelopeError as exc:
            await self._problem(
                arrival,
                full,
                "malformed_envelope",
                both("documents.problem.malformed", reason=exc.reason, detail=exc.detail[:300]),
            )
            return
        if isinstance(package, StatusMessage):
            await self._status(arrival, full, package, auth)
        else:
            await self._arrival(arrival, raw, full, package, auth, sha)

    # -- documents ----------------------------------------------------------------------
    async def _arrival(
        self,
        arrival: _Arrival,
        raw: bytes,
        full: ParsedMessage,
        pkg: DocumentEnvelope,
        auth: str,
        sha: str,
    ) -> None:
        checked = await self._check(arrival, raw, full, pkg, auth)
        if checked.problems:
            for i, (kind, detail) in enumerate(checked.problems):
                await self._problem(
                    arrival, full, kind, detail, doc_uid=pkg.document_id, is_arrival=i == 0
                )
            return
        mail_from = (full.from_addr or "").lower()
        dtype = decree30.type_by_number(pkg.type_no) or decree30.type_by_name(pkg.type_name)
        urgency = decree30.urgency(pkg.priority) or decree30.URGENCY[0]
        year = self.core.now().astimezone(self.core.tz).year
        try:
            async with self.core.store.write() as tx:
                repo = self.core.repo(tx)
                existing = await repo.incoming_by_uid(arrival.agency.id, pkg.document_id)
                if existing is not None:
                    raise _Duplicate(existing.arrival_number, existing.year)
                number = await repo.next_number(arrival.agency.id, REGISTER_IN, year)
                blob_id = await tx.mail.add_blob_refs(sha, len(raw), 1)
                arrived_at = self.core.now()
                doc = await repo.add(
                    IncomingDocument(
                        agency_id=arrival.agency.id,
                        mailbox_id=arrival.box.id,
                        register=REGISTER_IN,
                        year=year,
                        arrival_number=number,
                        arrived_at=arrived_at,
                        source="edxml",
                        doc_uid=pkg.document_id,
                        number_text=pkg.number,
                        notation=pkg.notation,
                        type_no=dtype.number if dtype else pkg.type_no,
                        type_name=dtype.name if dtype else pkg.type_name,
                        subject=pkg.subject,
                        content=pkg.content,
                        place=pkg.place[:100],
                        issued_on=pkg.promulgation_date,
                        issuer_code=pkg.sender.organ_id,
                        issuer_name=pkg.sender.name,
                        sender_address=mail_from,
                        signer_name=pkg.signer.full_name,
                        signer_position=" ".join(
                            x for x in (pkg.signer.competence, pkg.signer.position) if x
                        )[:200],
                        urgency=urgency.key,
                        due_date=pkg.due_date,
                        to_places=list(pkg.to_places),
                        reply_to_uid=(pkg.response_for[0].document_id or None)
                        if pkg.response_for
                        else None,
                        folder_id=arrival.folder_id,
                        uid=arrival.uid,
                        message_id=full.message_id,
                        blob_id=blob_id,
                        files=checked.files,
                        signatures=checked.signatures,
                        authentication=auth,
                        warnings=checked.warnings,
                        status="registered",
                        registered_by="system",
                    )
                )
                await repo.event(
                    agency_id=arrival.agency.id,
                    incoming_id=doc.id,
                    actor="system",
                    kind="registered",
                    detail=f"{number} ← {pkg.code} ({mail_from})",
                )
                await events.arrival(
                    tx, arrival.agency.id, arrived_at, self.core.tz, registered=True
                )
        except _Duplicate as dup:
            await self._duplicate(arrival, full, pkg, dup.number, dup.year)
            return
        except IntegrityError:
            # The same document registered by a concurrent delivery a moment ago.
            async with self.core.store.read() as tx:
                existing = await self.core.repo(tx).incoming_by_uid(
                    arrival.agency.id, pkg.document_id
                )
            if existing is None:
                raise
            await self._duplicate(arrival, full, pkg, existing.arrival_number, existing.year)
            return
        sent = await send_status(
            self.core,
            agency=arrival.agency,
            mailbox=arrival.box,
            doc=doc,
            code=STATUS_ARRIVED,
            description=both("documents.status_text.arrived", number=doc.arrival_number),
        )
        await self._status_event(doc, STATUS_ARRIVED, "system", sent.reason if not sent.ok else "")

    async def _duplicate(
        self, arrival: _Arrival, full: ParsedMessage, pkg: DocumentEnvelope, number: int, year: int
    ) -> None:
        await self._problem(
            arrival,
            full,
            "duplicate",
            both("documents.problem.duplicate", code=pkg.code, number=number, year=year),
            doc_uid=pkg.document_id,
        )

    async def _check(
        self, arrival: _Arrival, raw: bytes, full: ParsedMessage, pkg: DocumentEnvelope, auth: str
    ) -> _Checked:
        out = _Checked()
        mail_from = (full.from_addr or "").lower()
        if pkg.sender.email and pkg.sender.email != mail_from:
            out.problems.append(
                (
                    "header_mismatch",
                    both(
                        "documents.problem.sender_mismatch",
                        envelope=pkg.sender.email,
                        mail=mail_from or "—",
                    ),
                )
            )
        elif not pkg.sender.email:
            out.warnings.append("no_sender_email")
        for value in header_values(raw, full, DOCUMENT_HEADER):
            if value != pkg.document_id:
                out.problems.append(
                    (
                        "header_mismatch",
                        both(
                            "documents.problem.id_mismatch",
                            header=value[:200],
                            envelope=pkg.document_id,
                        ),
                    )
                )
        code = arrival.agency.code or ""
        addressed = any(
            (code and r.organ_id == code) or (r.email and r.email == arrival.box.address)
            for r in pkg.recipients
        )
        if not addressed:
            out.problems.append(
                (
                    "misaddressed",
                    both(
                        "documents.problem.misaddressed",
                        agency=arrival.agency.name,
                        code=code or "—",
                    ),
                )
            )
        if auth == "fail":
            out.problems.append(
                (
                    "unauthenticated",
                    both("documents.problem.unauthenticated", sender=mail_from or "—"),
                )
            )
        elif auth == "unverified":
            out.warnings.append("unverified_sender")
        by_cid = {_cid(p.id): num for num, p in walk_parts(full) if p.id}
        pdfs: list[tuple[str, bytes]] = []
        for index, ref in enumerate(pkg.files):
            if ref.data is not None:
                data = ref.data
                where: dict[str, Any] = {"inline": ref.content_id}
            elif ref.content_id in by_cid:
                try:
                    data = decoded_part(raw, full, by_cid[ref.content_id])
                except PartNotFound:
                    data = b""
                where = {"part": by_cid[ref.content_id]}
            else:
                out.problems.append(
                    ("missing_file", both("documents.problem.missing_file", name=ref.name))
                )
                continue
            role = "main" if index == 0 else "appendix"
            out.files.append(
                {
                    **where,
                    "name": ref.name,
                    "content_type": ref.content_type,
                    "size": len(data),
                    "role": role,
                }
            )
            if ref.content_type == "application/pdf" or ref.name.lower().endswith(".pdf"):
                pdfs.append((ref.name, data))
        if not pkg.files:
            out.warnings.append("no_files")
        await self._signatures(pdfs, out)
        return out

    async def _signatures(self, pdfs: list[tuple[str, bytes]], out: _Checked) -> None:
        try:
            from govmail.documents import signatures
        except ImportError:  # pragma: no cover - the signatures module ships with govmail
            out.warnings.append("signatures_not_checked")
            return
        roots = self.trust_roots()
        for name, data in pdfs:
            try:
                checks = await signatures.verify_pdf_async(data, roots)
            except signatures.SignatureError:
                out.problems.append(("bad_file", both("documents.problem.not_pdf", name=name)))
                continue
            entry = {
                "file": name,
                "signatures": [
                    {
                        "signer": c.signer_name,
                        "org": c.signer_org,
                        "time": c.signing_time.isoformat() if c.signing_time else None,
                        "intact": c.intact,
                        "trusted": c.trusted,
                        "coverage": c.coverage,
                        "error": c.error,
                    }
                    for c in checks
                ],
            }
            out.signatures.append(entry)
            if not checks:
                out.warnings.append(f"unsigned:{name}")
                continue
            broken = [c for c in checks if not c.intact or (c.error and c.coverage != "entire")]
            if broken:
                out.problems.append(
                    (
                        "bad_signature",
                        both(
                            "documents.problem.bad_signature",
                            name=name,
                            detail=(broken[0].error or "")[:200],
                        ),
                    )
                )
            elif not all(c.trusted for c in checks):
                out.warnings.append(f"untrusted:{name}")

    def trust_roots(self) -> list[bytes]:
        """PEM certificates of the CAs whose signatures are trusted."""
        folder = self.trust_dir
        if not folder.is_dir():
            return []
        return [p.read_bytes() for p in sorted(folder.glob("*.pem")) if p.is_file()]

    @property
    def trust_dir(self) -> Path:
        return self.core.settings.data_dir / "documents" / "trust"

    # -- status messages ---------------------------------------------------------------
    async def _status(
        self, arrival: _Arrival, full: ParsedMessage, pkg: StatusMessage, auth: str
    ) -> None:
        mail_from = (full.from_addr or "").lower()
        uid = pkg.response_for.document_id
        now = self.core.now()
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            doc = await repo.outgoing_by_uid(uid)
            problem: tuple[str, str] | None = None
            row: OutgoingRecipient | None = None
            if doc is None or doc.agency_id != arrival.agency.id:
                problem = ("unknown_status", both("documents.problem.unknown_status", id=uid))
            else:
                rows = [r for r in await repo.recipients_of(doc.id) if not r.internal]
                row = next((r for r in rows if r.address == mail_from), None)
                if auth == "fail":
                    problem = (
                        "forged_status",
                        both("documents.problem.forged_status", sender=mail_from, id=uid),
                    )
                elif row is None and auth == "pass" and any(r.kind == "group" for r in rows):
                    group = next(r for r in rows if r.kind == "group")
                    row = await repo.add(
                        OutgoingRecipient(
                            document_id=doc.id,
                            address=mail_from,
                            organ_id=pkg.sender.organ_id,
                            name=pkg.sender.name,
                            kind="agency",
                            via_group=group.address,
                            sent_at=group.sent_at,
                        )
                    )
                elif row is None:
                    problem = (
                        "forged_status",
                        both("documents.problem.forged_status", sender=mail_from or "—", id=uid),
                    )
                elif row.organ_id and pkg.sender.organ_id and row.organ_id != pkg.sender.organ_id:
                    problem = (
                        "forged_status",
                        both(
                            "documents.problem.status_organ",
                            sender=mail_from,
                            organ=pkg.sender.organ_id,
                            expected=row.organ_id,
                        ),
                    )
                elif pkg.sender.email and pkg.sender.email != mail_from:
                    problem = (
                        "header_mismatch",
                        both(
                            "documents.problem.sender_mismatch",
                            envelope=pkg.sender.email,
                            mail=mail_from,
                        ),
                    )
            if problem is None and doc is not None and row is not None:
                column = STATUS_COLUMNS.get(pkg.code)
                if column is not None and getattr(row, column) is None:
                    setattr(row, column, now)
                if pkg.code == STATUS_ARRIVED and row.delivered_at is None:
                    row.delivered_at = now
                if (
                    row.status_at is None
                    or pkg.code >= (row.status_code or "00")
                    or (pkg.code == STATUS_REFUSED)
                ):
                    row.status_code = pkg.code
                    row.status_text = pkg.description[:2000] or None
                    row.status_at = now
                await repo.event(
                    agency_id=doc.agency_id,
                    outgoing_id=doc.id,
                    recipient_id=row.id,
                    actor=mail_from,
                    kind="status_in",
                    code=pkg.code,
                    detail=pkg.description[:2000] or None,
                )
        if problem is not None:
            await self._problem(arrival, full, problem[0], problem[1], doc_uid=uid)

    # -- problems ------------------------------------------------------------------------
    async def _problem(
        self,
        arrival: _Arrival,
        full: ParsedMessage,
        kind: str,
        detail: str,
        *,
        doc_uid: str | None = None,
        is_arrival: bool = False,
    ) -> None:
        """Record a problem for the clerk; ``is_arrival``: it stands for a document that
        arrived (counted as an arrival, registered later by hand or never)."""
        log.info("document problem", extra={"kind": kind, "uid": arrival.uid})
        async with self.core.store.write() as tx:
            problem = await self.core.repo(tx).problem(
                agency_id=arrival.agency.id,
                mailbox_id=arrival.box.id,
                kind=kind,
                detail=detail,
                doc_uid=doc_uid[:200] if doc_uid else None,
                sender_address=(full.from_addr or "")[:320],
                folder_id=arrival.folder_id,
                uid=arrival.uid,
                message_id=(full.message_id or "")[:998] or None,
                is_arrival=is_arrival,
            )
            if is_arrival:
                await events.arrival(tx, arrival.agency.id, problem.created_at, self.core.tz)

    async def _status_event(self, doc: IncomingDocument, code: str, actor: str, error: str) -> None:
        async with self.core.store.write() as tx:
            await self.core.repo(tx).event(
                agency_id=doc.agency_id,
                incoming_id=doc.id,
                actor=actor,
                kind="status_out" if not error else "status_failed",
                code=code,
                detail=error or status_label(code, "vi"),
            )

    # -- the clerk's actions ------------------------------------------------------------
    async def _load(
        self, tx: Tx, actor: str, incoming_id: int
    ) -> tuple[IncomingDocument, Desk | None, Mailbox]:
        repo = self.core.repo(tx)
        doc = await repo.incoming(incoming_id)
        if doc is None:
            raise DocumentError("documents.error.no_document", id=incoming_id)
        box = await tx.directory.mailbox_by_id(doc.mailbox_id or 0)
        person = await tx.directory.mailbox_by_address(actor)
        if box is None or person is None:
            raise DocumentError("documents.error.no_person", address=actor)
        try:
            desk: Desk | None = await desk_of(tx, actor, box.address)
        except DocumentError:
            desk = None
        if desk is None and doc.assignee_id != person.id:
            raise DocumentError("documents.error.not_handler", person=actor, address=box.address)
        return doc, desk, person

    async def _act(
        self,
        actor: str,
        incoming_id: int,
        *,
        allowed_from: tuple[str, ...],
        new_status: str,
        codes: tuple[str, ...],
        clerk_only: bool,
        description: str = "",
        assignee: str | None = None,
        deadline: date | None = None,
    ) -> IncomingDocument:
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            doc, desk, person = await self._load(tx, actor, incoming_id)
            if clerk_only and (desk is None or not desk.is_clerk):
                box = await tx.directory.mailbox_by_id(doc.mailbox_id or 0)
                raise DocumentError(
                    "documents.error.not_clerk", person=actor, address=box.address if box else ""
                )
            if doc.status not in allowed_from:
                raise DocumentError(
                    "documents.error.bad_transition",
                    current=status_word(doc.status),
                    wanted=status_word(new_status),
                )
            staff_box = person
            if assignee is not None:
                target = await tx.directory.mailbox_by_address(assignee)
                agency = await tx.directory.agency_by_id(doc.agency_id)
                target_agency = (
                    await tx.directory.agency_by_id(target.agency_id)
                    if target is not None and target.agency_id
                    else None
                )
                if (
                    target is None
                    or target.kind != "person"
                    or target.status != "active"
                    or agency is None
                    or target_agency is None
                    or not target_agency.path.startswith(agency.path)
                ):
                    raise DocumentError("documents.error.bad_assignee", address=assignee)
                doc.assignee_id = target.id
                doc.deadline = deadline or doc.due_date
                staff_box = target
            doc.status = new_status
            if new_status == "refused":
                doc.refusal_reason = description
            if new_status in ("in_progress", "completed") and description:
                doc.progress_note = description
            if new_status == "completed":
                doc.completed_at = self.core.now()
            await repo.event(
                agency_id=doc.agency_id,
                incoming_id=doc.id,
                actor=actor,
                kind=new_status,
                detail=description or None,
            )
            box = await tx.directory.mailbox_by_id(doc.mailbox_id or 0)
            agency = await tx.directory.agency_by_id(doc.agency_id)
        assert box is not None and agency is not None
        staff = StaffInfo(
            staff=staff_box.full_name, email=staff_box.address, department=agency.name
        )
        for code in codes:
            text = description
            if code == STATUS_ASSIGNED:
                when = f"{doc.deadline:%d/%m/%Y}" if doc.deadline else "—"
                text = both(
                    "documents.status_text.assigned", person=staff_box.full_name, deadline=when
                ) + (f"\n{description}" if description else "")
            sent = await send_status(
                self.core,
                agency=agency,
                mailbox=box,
                doc=doc,
                code=code,
                description=text,
                staff=staff,
            )
            await self._status_event(doc, code, actor, sent.reason if not sent.ok else "")
        if assignee is not None:
            await self._notify_assignee(doc, box, agency, staff_box, actor, description)
        return doc

    async def _notify_assignee(
        self,
        doc: IncomingDocument,
        box: Mailbox,
        agency: Agency,
        person: Mailbox,
        actor: str,
        note: str,
    ) -> None:
        """Tell the assignee by mail (readable in any client), with the document's files."""
        from govmail.documents.mailbuild import MailFile, build_mail
        from govmail.i18n import t

        files = []
        for i in range(len(doc.files)):
            try:
                name, ctype, data = await self.file_of(doc, i)
            except DocumentError:
                continue
            files.append(MailFile(name, ctype, data))
        code = f"{doc.number_text}/{doc.notation}"
        when = f"{doc.deadline:%d/%m/%Y}" if doc.deadline else "—"
        lines = [
            t("documents.assign_mail.intro", "vi", actor=actor, deadline=when),
            "",
            f"  {t('documents.field.arrival_number', 'vi')}: {doc.arrival_number}",
            f"  {t('documents.field.symbol', 'vi')}: {code}",
            f"  {t('documents.field.subject', 'vi')}: {doc.subject}",
            f"  {t('documents.field.issuer', 'vi')}: {doc.issuer_name}",
        ]
        if note:
            lines += ["", note]
        lines += [
            "",
            t("documents.assign_mail.footer", "vi", id=doc.id),
            t("documents.assign_mail.footer", "en", id=doc.id),
        ]
        raw = build_mail(
            from_name=agency.name,
            from_addr=box.address,
            to=[(person.full_name, person.address)],
            subject=t("documents.assign_mail.subject", "vi", symbol=code, subject=doc.subject),
            body="\n".join(lines),
            files=files,
            package=None,
            package_name="",
            date=self.core.now(),
            headers=[("Auto-Submitted", "auto-generated")],
        )
        env = Envelope(box.address, [person.address], "documents", auth_user=box.address)
        try:
            await self.core.pipeline.deliver(env, raw, save_sent_copy=False)
        except DeliveryRefused as exc:
            log.warning("assignment notice refused", extra={"doc": doc.id, "reason": exc.reason})

    async def accept(self, actor: str, incoming_id: int, note: str = "") -> IncomingDocument:
        return await self._act(
            actor,
            incoming_id,
            allowed_from=("registered",),
            new_status="accepted",
            codes=(STATUS_ACCEPTED,),
            clerk_only=True,
            description=note,
        )

    async def refuse(self, actor: str, incoming_id: int, reason: str) -> IncomingDocument:
        if not reason.strip():
            raise DocumentError("documents.error.reason_required")
        return await self._act(
            actor,
            incoming_id,
            allowed_from=("registered", "accepted"),
            new_status="refused",
            codes=(STATUS_REFUSED,),
            clerk_only=True,
            description=reason.strip(),
        )

    async def assign(
        self,
        actor: str,
        incoming_id: int,
        assignee: str,
        deadline: date | None = None,
        note: str = "",
    ) -> IncomingDocument:
        async with self.core.store.read() as tx:
            doc = await self.core.repo(tx).incoming(incoming_id)
        codes = (
            (STATUS_ACCEPTED, STATUS_ASSIGNED)
            if doc and doc.status == "registered"
            else (STATUS_ASSIGNED,)
        )
        return await self._act(
            actor,
            incoming_id,
            allowed_from=("registered", "accepted", "assigned"),
            new_status="assigned",
            codes=codes,
            clerk_only=True,
            description=note.strip(),
            assignee=assignee.strip().lower(),
            deadline=deadline,
        )

    async def progress(self, actor: str, incoming_id: int, note: str = "") -> IncomingDocument:
        return await self._act(
            actor,
            incoming_id,
            allowed_from=("assigned",),
            new_status="in_progress",
            codes=(STATUS_IN_PROGRESS,),
            clerk_only=False,
            description=note.strip(),
        )

    async def complete(self, actor: str, incoming_id: int, note: str = "") -> IncomingDocument:
        return await self._act(
            actor,
            incoming_id,
            allowed_from=("accepted", "assigned", "in_progress"),
            new_status="completed",
            codes=(STATUS_COMPLETED,),
            clerk_only=False,
            description=note.strip(),
        )

    # -- registering by hand -----------------------------------------------------------
    async def register_message(
        self, actor: str, folder_id: int, uid: int, fields: ManualFields
    ) -> IncomingDocument:
        """Register a message of an agency mailbox (a scanned letter from a plain
        mailbox, or an arrival whose envelope was refused) in the incoming register."""
        async with self.core.store.read() as tx:
            folder = await tx.mail.folder_by_id(folder_id)
            box = await tx.directory.mailbox_by_id(folder.mailbox_id) if folder else None
            if folder is None or box is None:
                raise DocumentError("documents.error.no_message")
            desk = await desk_of(tx, actor, box.address)
            if not desk.is_clerk:
                raise DocumentError("documents.error.not_clerk", person=actor, address=box.address)
            message = await tx.mail.message_by_uid(folder_id, uid)
            if message is None:
                raise DocumentError("documents.error.no_message")
            if await self.core.repo(tx).incoming_by_message(folder_id, uid) is not None:
                raise DocumentError("documents.error.already_registered")
            sha = await tx.mail.blob_sha_of(message)
            # Counted as an arrival when it came (a document with a problem), or only now
            # (plain mail: a document because the clerk says so), on the day it came.
            counted = await self.core.repo(tx).arrival_problem(folder_id, uid)
            arrived_at = counted.created_at if counted else message.internal_date
        raw = await self.core.store.blobs.get(sha)
        full = parse_message(raw)
        try:
            symbol = decree30.parse_symbol(fields.symbol)
        except decree30.SymbolError:
            raise DocumentError("documents.error.bad_symbol", symbol=fields.symbol) from None
        dtype = decree30.lookup_type(fields.type) if fields.type.strip() else None
        dtype = dtype or decree30.type_of_symbol(symbol)
        issuer_name = (fields.issuer_name or full.from_display or full.from_addr or "").strip()
        issuer_code = fields.issuer_code.strip().upper()
        doc_uid = (
            decree30.document_id(issuer_code, fields.issued_on, symbol)
            if issuer_code and fields.issued_on
            else None
        )
        files = [
            {
                "part": a.part,
                "name": a.filename or a.part,
                "content_type": a.content_type,
                "size": a.size,
                "role": "main" if i == 0 else "appendix",
            }
            for i, a in enumerate(x for x in full.attachments if not _is_package_name(x.filename))
        ]
        urgency = decree30.urgency(fields.urgency) or decree30.URGENCY[0]
        year = self.core.now().astimezone(self.core.tz).year
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            if doc_uid and await repo.incoming_by_uid(desk.agency.id, doc_uid) is not None:
                raise DocumentError("documents.error.duplicate", symbol=symbol.text)
            if not fields.force:
                for other in await repo.incoming_list(desk.agency.id, limit=10_000):
                    if (
                        other.number_text == symbol.number
                        and other.notation == symbol.notation
                        and fold(other.issuer_name) == fold(issuer_name)
                    ):
                        raise DocumentError("documents.error.duplicate", symbol=symbol.text)
            number = await repo.next_number(desk.agency.id, REGISTER_IN, year)
            blob_id = await tx.mail.add_blob_refs(sha, len(raw), 1)
            doc = await repo.add(
                IncomingDocument(
                    agency_id=desk.agency.id,
                    mailbox_id=box.id,
                    register=REGISTER_IN,
                    year=year,
                    arrival_number=number,
                    arrived_at=self.core.now(),
                    source="manual",
                    doc_uid=doc_uid,
                    number_text=symbol.number,
                    notation=symbol.notation,
                    type_no=dtype.number,
                    type_name=dtype.name,
                    subject=(fields.subject or full.subject or "").strip()[:1000],
                    issued_on=fields.issued_on,
                    issuer_code=issuer_code,
                    issuer_name=issuer_name[:300],
                    sender_address=(full.from_addr or "").lower(),
                    signer_name=fields.signer_name.strip(),
                    signer_position=fields.signer_position.strip(),
                    urgency=urgency.key,
                    due_date=fields.due_date,
                    folder_id=folder_id,
                    uid=uid,
                    message_id=full.message_id,
                    blob_id=blob_id,
                    files=files,
                    authentication="",
                    status="registered",
                    registered_by=actor,
                )
            )
            await repo.event(
                agency_id=desk.agency.id,
                incoming_id=doc.id,
                actor=actor,
                kind="registered",
                detail=f"{number} ← {symbol.text} (manual)",
            )
            await repo.resolve_problems(folder_id=folder_id, uid=uid, at=self.core.now(), by=actor)
            await events.registration(
                tx,
                desk.agency.id,
                arrived_at,
                self.core.now(),
                self.core.tz,
                count_arrival=counted is None,
            )
        return doc

    async def resolve_problem(self, actor: str, problem_id: int) -> None:
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            problem = await repo.problem_by_id(problem_id)
            if problem is None:
                raise DocumentError("documents.error.no_problem", id=problem_id)
            box = await tx.directory.mailbox_by_id(problem.mailbox_id or 0)
            if box is None:
                raise DocumentError("documents.error.no_problem", id=problem_id)
            desk = await desk_of(tx, actor, box.address)
            if not desk.is_clerk:
                raise DocumentError("documents.error.not_clerk", person=actor, address=box.address)
            problem.resolved_at = self.core.now()
            problem.resolved_by = actor

    async def file_of(self, doc: IncomingDocument, index: int) -> tuple[str, str, bytes]:
        """(name, content type, bytes) of a file of an incoming document."""
        if not 0 <= index < len(doc.files) or doc.blob_id is None:
            raise DocumentError("documents.error.no_file")
        entry = doc.files[index]
        async with self.core.store.read() as tx:
            blob = await tx.mail.blob_by_id(doc.blob_id)
        if blob is None:
            raise DocumentError("documents.error.no_file")
        raw = await self.core.store.blobs.get(blob.sha256)
        full = parse_message(raw)
        if "part" in entry:
            data = decoded_part(raw, full, entry["part"])
        else:
            parts = package_parts(raw, full)
            pkg = parse_package(decoded_part(raw, full, parts[0])) if parts else None
            found = None
            if isinstance(pkg, DocumentEnvelope):
                found = next((f for f in pkg.files if f.content_id == entry.get("inline")), None)
            if found is None or found.data is None:
                raise DocumentError("documents.error.no_file")
            data = found.data
        return entry["name"], entry["content_type"], data


class _Duplicate(Exception):
    def __init__(self, number: int, year: int) -> None:
        self.number = number
        self.year = year


def status_word(status: str) -> str:
    return both(f"documents.state.{status}")


def _may_carry_package(parsed: ParsedMessage) -> bool:
    return any(
        _is_package_name(a.filename) or a.content_type in ("application/xml", "text/xml")
        for a in parsed.attachments
    )


def _is_package_name(name: str | None) -> bool:
    return bool(name) and str(name).lower().endswith(".edxml")


def _cid(value: str) -> str:
    return value.strip().strip("<>").strip()


def _authentication(env: Envelope, result: DeliveryResult) -> str:
    """pass (DMARC), local (one of our authenticated doors), fail, or unverified."""
    if env.authenticated:
        return "local"
    if env.source != "mx":
        return "unverified"
    facts: dict[str, Any] = {}
    if result.policy is not None:
        for v in result.policy.verdicts:
            facts.update(v.facts)
    dmarc = facts.get("dmarc")
    if dmarc == "pass" or facts.get("trusted_network"):
        return "pass"
    if dmarc == "fail":
        return "fail"
    return "unverified"
