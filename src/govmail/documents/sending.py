"""Issuing and sending official documents.

``issue`` records a document in the agency's outgoing register (sổ văn bản đi) with the
next number of the register and year (classified documents have their own series), its
files and its resolved "Nơi nhận". ``send`` sends it: one message per recipient agency
mailbox through the delivery pipeline, each with a Vietnamese body, the files and the
edXML envelope. Before anything is sent every message goes through the pipeline's policy
checks; one refusal (a classified document, legacy-encoded text, a free-mail recipient…)
stops the whole document, records the reason and sends nothing.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.documents import decree30
from govmail.documents.common import (
    REGISTER_OUT,
    REGISTER_OUT_SECRET,
    Core,
    Desk,
    agency_symbol,
    clerk_desk,
    organ_of,
)
from govmail.documents.envelope import VN_TZ, build_document
from govmail.documents.errors import DocumentError, DocumentRefused
from govmail.documents.mailbuild import MailFile, build_mail, new_content_id
from govmail.documents.model import (
    Business,
    DocumentEnvelope,
    FileRef,
    Organ,
    ResponseFor,
    Signer,
    TraceEntry,
)
from govmail.documents.policies import (
    CONFIDENTIALITY_HEADER,
    DOCUMENT_HEADER,
    convert_docx,
    convert_text,
    convert_text_file,
)
from govmail.documents.recipients import RecipientPlan, RecipientResolver, parse_block
from govmail.i18n import t
from govmail.mail.headers import make_message_id
from govmail.mail.parsed import parse_message
from govmail.policy.base import Action, MessageContext, run_chain
from govmail.reports import events
from govmail.store.models_documents import DocumentFile, OutgoingDocument, OutgoingRecipient

log = logging.getLogger("govmail.documents")

FileRole = Literal["main", "appendix"]
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(slots=True)
class FileInput:
    filename: str
    content_type: str
    data: bytes
    role: FileRole = "appendix"


@dataclass(slots=True)
class DocumentDraft:
    """What the clerk fills in to issue a document."""

    type: str  # "BC", "Báo cáo", "18"…
    subject: str  # trích yếu
    signer_name: str = ""
    signer_position: str = ""
    signer_competence: str = ""  # "KT. BỘ TRƯỞNG"
    content: str = ""  # nội dung tóm tắt
    place: str = ""  # địa danh; default: the agency's place
    issued_on: date | None = None  # default: today (Vietnam time)
    confidentiality: str = ""  # "", "Mật", "Tối mật", "Tuyệt mật"
    urgency: str = ""  # "", "Khẩn", "Thượng khẩn", "Hỏa tốc"
    due_date: date | None = None
    steering_type: int = 1
    reply_to: str = ""  # DocumentId or "số/ký hiệu" of the document answered
    unit_symbol: str = ""  # drafting unit ("THH" in 588/BTTTT-THH)
    addressees: str = ""  # Kính gửi
    recipients: str = ""  # Nơi nhận
    answers: dict[int, str] = field(default_factory=dict)  # line → answer
    skip_unresolved: bool = False
    files: list[FileInput] = field(default_factory=list)
    paper: bool = False  # also (or only) sent on paper


@dataclass(slots=True)
class Issued:
    id: int
    symbol: str
    doc_uid: str
    plan: RecipientPlan


@dataclass(slots=True)
class SendOutcome:
    address: str
    ok: bool
    reason: str = ""


def _is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"%PDF-"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


class Outgoing:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- recipients --------------------------------------------------------------------
    async def plan(
        self,
        agency_id: int,
        recipients: str,
        addressees: str = "",
        answers: Mapping[int, str] | None = None,
    ) -> RecipientPlan:
        """What each line of a "Nơi nhận" block resolves to, for documents of an agency."""
        domains = await self.core.pipeline.local_domains()
        async with self.core.directory.reader() as ops:
            issuer = await ops.repo.agency_by_id(agency_id)
            if issuer is None:
                raise DocumentError("documents.error.no_agency")
            resolver = RecipientResolver(ops, issuer, domains)
            return await resolver.resolve(
                parse_block(recipients), parse_block(addressees), answers or {}
            )

    # -- issuing -----------------------------------------------------------------------
    async def issue(
        self, actor: str, agency_mailbox: str, draft: DocumentDraft, *, convert_legacy: bool = False
    ) -> Issued:
        async with self.core.store.read() as tx:
            desk = await clerk_desk(tx, actor, agency_mailbox)
        if not desk.agency.code:
            raise DocumentError("documents.error.no_agency_code", agency=desk.agency.name)
        dtype = decree30.lookup_type(draft.type)
        if dtype is None:
            raise DocumentError("documents.error.bad_type", type=draft.type)
        if convert_legacy:
            draft = _converted(draft)
        subject = _nfc(draft.subject)
        if not subject:
            raise DocumentError("documents.error.no_subject")
        if len(subject) > 1000:
            raise DocumentError("documents.error.too_long", field="Trích yếu / subject", limit=1000)
        level = decree30.confidentiality(draft.confidentiality)
        if draft.confidentiality.strip() and level is None:
            raise DocumentError("documents.error.bad_level", value=draft.confidentiality)
        urgency = decree30.urgency(draft.urgency)
        if urgency is None:
            raise DocumentError("documents.error.bad_level", value=draft.urgency)
        mains = [f for f in draft.files if f.role == "main"]
        if len(mains) > 1:
            raise DocumentError("documents.error.one_main_file")
        if mains and not _is_pdf(mains[0].data):
            raise DocumentError("documents.error.main_not_pdf", name=mains[0].filename)
        reply_to = await self._reply_to(desk, draft.reply_to) if draft.reply_to.strip() else None

        plan = await self.plan(desk.agency.id, draft.recipients, draft.addressees, draft.answers)
        if plan.unresolved and not draft.skip_unresolved:
            raise DocumentError(
                "documents.error.unresolved",
                lines="; ".join(f"{r.line.number}. {r.line.text}" for r in plan.unresolved),
            )

        issued_on = draft.issued_on or self.core.today()
        register = REGISTER_OUT_SECRET if level is not None else REGISTER_OUT
        refs = [await self.core.store.blobs.put(f.data) for f in draft.files]
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            number = await repo.next_number(desk.agency.id, register, issued_on.year)
            symbol = decree30.format_symbol(
                number, dtype, agency_symbol(desk.agency), draft.unit_symbol
            )
            uid = decree30.document_id(desk.agency.code, issued_on, symbol)
            doc = await repo.add(
                OutgoingDocument(
                    agency_id=desk.agency.id,
                    mailbox_id=desk.mailbox.id,
                    register=register,
                    year=issued_on.year,
                    number=number,
                    number_text=symbol.number,
                    notation=symbol.notation,
                    doc_uid=uid,
                    type_no=dtype.number,
                    type_name=dtype.name,
                    subject=subject,
                    content=_nfc(draft.content),
                    place=_nfc(draft.place) or desk.agency.place or "",
                    issued_on=issued_on,
                    signer_name=_nfc(draft.signer_name),
                    signer_position=_nfc(draft.signer_position),
                    signer_competence=_nfc(draft.signer_competence),
                    confidentiality=level.key if level else "",
                    urgency=urgency.key,
                    due_date=draft.due_date,
                    steering_type=draft.steering_type,
                    reply_to=reply_to,
                    addressees_text=_nfc(draft.addressees),
                    recipients_text=_nfc(draft.recipients),
                    recipients=plan.to_json(),
                    status="issued",
                    created_by=desk.person.address,
                    paper=draft.paper,
                )
            )
            for pos, (f, ref) in enumerate(zip(draft.files, refs, strict=True)):
                blob_id = await tx.mail.add_blob_refs(ref.sha256, ref.size, 1)
                await repo.add(
                    DocumentFile(
                        document_id=doc.id,
                        position=pos,
                        role=f.role,
                        filename=_nfc(f.filename) or f"tep-{pos + 1}",
                        content_type=f.content_type or "application/octet-stream",
                        size=ref.size,
                        sha256=ref.sha256,
                        blob_id=blob_id,
                    )
                )
            await repo.event(
                agency_id=desk.agency.id,
                outgoing_id=doc.id,
                actor=desk.person.address,
                kind="issued",
                detail=f"{symbol.text} ({register})",
            )
            await events.document_channel(
                tx, desk.agency.id, issued_on, dtype.name, None, channel_of(doc)
            )
        return Issued(doc.id, symbol.text, uid, plan)

    async def record_paper(self, actor: str, document_id: int) -> OutgoingDocument:
        """The clerk records that an issued document was sent on paper (as well)."""
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            doc = await repo.outgoing(document_id)
            box = await tx.directory.mailbox_by_id(doc.mailbox_id or 0) if doc else None
            if doc is None or box is None:
                raise DocumentError("documents.error.no_document", id=document_id)
            desk = await clerk_desk(tx, actor, box.address)
            if doc.paper:
                return doc
            before = channel_of(doc)
            doc.paper = True
            await repo.event(
                agency_id=doc.agency_id,
                outgoing_id=doc.id,
                actor=desk.person.address,
                kind="paper",
            )
            await events.document_channel(
                tx, doc.agency_id, doc.issued_on, doc.type_name, before, channel_of(doc)
            )
        return doc

    async def _reply_to(self, desk: Desk, ref: str) -> dict[str, Any]:
        """The document answered: an arrival of this agency, by DocumentId or số/ký hiệu."""
        ref = _nfc(ref)
        async with self.core.store.read() as tx:
            repo = self.core.repo(tx)
            found = await repo.incoming_by_uid(desk.agency.id, ref)
            if found is None:
                for doc in await repo.incoming_list(desk.agency.id, limit=5000):
                    if f"{doc.number_text}/{doc.notation}" == ref:
                        found = doc
                        break
        if found is None:
            raise DocumentError("documents.error.no_reply_target", ref=ref)
        return {
            "organ_id": found.issuer_code,
            "code": f"{found.number_text}/{found.notation}",
            "date": found.issued_on.isoformat() if found.issued_on else None,
            "document_id": found.doc_uid or "",
            "incoming_id": found.id,
        }

    # -- sending -----------------------------------------------------------------------
    async def send(self, actor: str, document_id: int) -> list[SendOutcome]:
        """Send an issued document to every recipient not sent to yet.

        Raises ``DocumentRefused`` (and sends nothing) when a policy check refuses any of
        its messages; per-recipient failures (an unknown address) are in the result."""
        core = self.core
        async with core.store.read() as tx:
            repo = core.repo(tx)
            doc = await repo.outgoing(document_id)
            if doc is None:
                raise DocumentError("documents.error.no_document", id=document_id)
            box = await tx.directory.mailbox_by_id(doc.mailbox_id or 0)
            if box is None:
                raise DocumentError("documents.error.no_document", id=document_id)
            desk = await clerk_desk(tx, actor, box.address)
            files = list(await repo.files_of(doc.id))
            existing = {r.address: r for r in await repo.recipients_of(doc.id)}
            parent = (
                await tx.directory.agency_by_id(desk.agency.parent_id)
                if desk.agency.parent_id
                else None
            )
        if not any(f.role == "main" for f in files):
            raise DocumentError("documents.error.no_main_file")
        targets = await self._targets(doc)
        if not [tg for tg in targets if not tg["internal"]]:
            raise DocumentError("documents.error.no_recipients")
        datas = [await core.store.blobs.get(f.sha256) for f in files]
        domain = desk.mailbox.address.rsplit("@", 1)[1]
        mail_files = [
            MailFile(f.filename, f.content_type, data, new_content_id(domain))
            for f, data in zip(files, datas, strict=True)
        ]
        sender = organ_of(desk.agency, desk.mailbox.address, parent)
        to_send = [tg for tg in targets if not tg["internal"]]
        pkg_env = self._envelope(doc, sender, to_send, files, mail_files)
        package = build_document(pkg_env)
        package_name = f"SendDocument.{desk.agency.code}.{secrets.token_hex(8)}.edxml"

        messages: list[tuple[dict[str, Any], str, bytes]] = []
        for tg in to_send:
            if tg["address"] in existing and existing[tg["address"]].sent_at is not None:
                continue
            message_id = make_message_id(domain)
            raw = build_mail(
                from_name=desk.agency.name,
                from_addr=desk.mailbox.address,
                to=[(tg["name"] or None, tg["address"])],
                subject=self._subject(doc),
                body=self._body(doc, desk, files, tg),
                files=mail_files,
                package=package,
                package_name=package_name,
                date=core.now(),
                headers=self._headers(doc),
                message_id=message_id,
            )
            messages.append((tg, message_id, raw))
        if not messages:
            raise DocumentError("documents.error.already_sent")

        # Policy first, all or nothing: the messages differ only by their recipient, so the
        # document checks run once on the first one with every recipient in its envelope.
        pipeline = core.pipeline
        checks = [c for c in pipeline.checks if c.name.startswith("document_")]
        env = self._mail_envelope(desk, [tg["address"] for tg, _mid, _raw in messages])
        first = messages[0][2]
        chain = await run_chain(checks, MessageContext(env, first, parse_message(first)))
        if chain.action in (Action.REFUSE, Action.TEMPFAIL):
            await self._refused(doc.id, desk, chain.final.reason)
            raise DocumentRefused(chain.final.reason, chain.final.check)

        outcomes: list[SendOutcome] = []
        for tg, message_id, raw in messages:
            env = self._mail_envelope(desk, [tg["address"]])
            try:
                result = await pipeline.deliver(env, raw, save_sent_copy=False)
            except DeliveryRefused as exc:
                if exc.check not in ("", "recipients") and not outcomes:
                    # A policy refused the first message: it would refuse them all.
                    await self._refused(doc.id, desk, exc.reason)
                    raise DocumentRefused(exc.reason, exc.check) from None
                outcomes.append(SendOutcome(tg["address"], False, exc.reason))
                await self._record(doc.id, tg, None, exc.reason, None, delivered=False)
                continue
            status = result.recipients[0] if result.recipients else None
            if status is not None and not status.ok:
                outcomes.append(SendOutcome(tg["address"], False, status.reason))
                await self._record(doc.id, tg, None, status.reason, None, delivered=False)
                continue
            stored = result.stored
            outbound = stored.outbound_ids[0] if stored and stored.outbound_ids else None
            delivered = bool(stored and stored.copies)
            await self._record(doc.id, tg, message_id, None, outbound, delivered=delivered)
            outcomes.append(SendOutcome(tg["address"], True))
        await self._record_internal(doc.id, [tg for tg in targets if tg["internal"]])
        async with core.store.write() as tx:
            repo = core.repo(tx)
            row = await repo.outgoing(doc.id)
            assert row is not None
            before = channel_of(row)
            if any(o.ok for o in outcomes):
                row.status = "sent"
                row.sent_at = row.sent_at or core.now()
                row.send_error = None
            await repo.event(
                agency_id=row.agency_id,
                outgoing_id=row.id,
                actor=desk.person.address,
                kind="sent",
                detail=", ".join(f"{o.address}{'' if o.ok else ' ✗'}" for o in outcomes),
            )
            await events.document_channel(
                tx, row.agency_id, row.issued_on, row.type_name, before, channel_of(row)
            )
        return outcomes

    def _mail_envelope(self, desk: Desk, rcpts: list[str]) -> Envelope:
        return Envelope(desk.mailbox.address, rcpts, "documents", auth_user=desk.person.address)

    async def _refused(self, document_id: int, desk: Desk, reason: str) -> None:
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            row = await repo.outgoing(document_id)
            assert row is not None
            if row.sent_at is None:
                row.status = "refused"
            row.send_error = reason
            await repo.event(
                agency_id=row.agency_id,
                outgoing_id=row.id,
                actor=desk.person.address,
                kind="send_refused",
                detail=reason,
            )

    async def _record(
        self,
        document_id: int,
        tg: dict[str, Any],
        message_id: str | None,
        error: str | None,
        outbound_id: int | None,
        *,
        delivered: bool,
    ) -> None:
        now = self.core.now()
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            row = await repo.recipient(document_id, tg["address"])
            if row is None:
                row = await repo.add(
                    OutgoingRecipient(
                        document_id=document_id,
                        address=tg["address"],
                        organ_id=tg.get("organ_id") or "",
                        name=tg.get("name") or "",
                        kind=tg.get("kind") or "agency",
                        internal=False,
                    )
                )
            if error is None:
                row.message_id = message_id
                row.sent_at = now
                row.outbound_id = outbound_id
                row.delivered_at = now if delivered else None
                row.status_text = None
            else:
                row.status_text = error

    async def _record_internal(self, document_id: int, targets: list[dict[str, Any]]) -> None:
        if not targets:
            return
        async with self.core.store.write() as tx:
            repo = self.core.repo(tx)
            for tg in targets:
                if await repo.recipient(document_id, tg["address"]) is None:
                    await repo.add(
                        OutgoingRecipient(
                            document_id=document_id,
                            address=tg["address"],
                            organ_id=tg.get("organ_id") or "",
                            name=tg.get("name") or "",
                            kind=tg.get("kind") or "agency",
                            internal=True,
                        )
                    )

    async def _targets(self, doc: OutgoingDocument) -> list[dict[str, Any]]:
        """The recipients of a document: local groups expanded into their agency
        mailboxes (one message each), the rest as resolved when it was issued."""
        out: dict[str, dict[str, Any]] = {}
        async with self.core.directory.reader() as ops:
            for line in doc.recipients or []:
                if line.get("skipped"):
                    continue
                for tg in line.get("targets", []):
                    if tg["kind"] == "group" and await ops.repo.group_by_address(tg["address"]):
                        for member in await ops.expand_group(tg["address"]):
                            entry = await self._member(ops, member)
                            out.setdefault(entry["address"], entry)
                        continue
                    current = out.get(tg["address"])
                    if current is None or (current["internal"] and not tg["internal"]):
                        out[tg["address"]] = dict(tg)
        return list(out.values())

    @staticmethod
    async def _member(ops: Any, address: str) -> dict[str, Any]:
        m = await ops.repo.mailbox_by_address(address)
        if m is not None and m.agency_id is not None:
            agency = await ops.repo.agency_by_id(m.agency_id)
            if agency is not None:
                kind = "agency" if m.kind == "agency" else "person"
                return {
                    "address": m.address,
                    "name": agency.name if kind == "agency" else m.full_name,
                    "kind": kind,
                    "organ_id": agency.code or "",
                    "internal": False,
                }
        return {
            "address": address,
            "name": address,
            "kind": "address",
            "organ_id": "",
            "internal": False,
        }

    def _envelope(
        self,
        doc: OutgoingDocument,
        sender: Organ,
        targets: Sequence[dict[str, Any]],
        files: Sequence[DocumentFile],
        mail_files: Sequence[MailFile],
    ) -> DocumentEnvelope:
        urgency = decree30.urgency(doc.urgency) or decree30.URGENCY[0]
        reply = doc.reply_to or None
        lines = doc.recipients or []
        return DocumentEnvelope(
            sender=sender,
            recipients=[
                Organ(
                    organ_id=tg.get("organ_id") or "",
                    name=tg.get("name") or "",
                    email=tg["address"],
                )
                for tg in targets
            ],
            number=doc.number_text,
            notation=doc.notation,
            place=doc.place,
            promulgation_date=doc.issued_on,
            type_no=doc.type_no,
            type_name=doc.type_name,
            subject=doc.subject,
            content=doc.content,
            signer=Signer(doc.signer_name, doc.signer_position, doc.signer_competence),
            document_id=doc.doc_uid,
            due_date=doc.due_date,
            to_places=[ln["text"] for ln in lines],
            priority=urgency.priority,
            appendixes=[f.filename for f in files if f.role == "appendix"],
            response_for=[]
            if reply is None
            else [
                ResponseFor(
                    organ_id=reply.get("organ_id") or "",
                    code=reply.get("code") or "",
                    promulgation_date=date.fromisoformat(reply["date"])
                    if reply.get("date")
                    else None,
                    document_id=reply.get("document_id") or "",
                )
            ],
            steering_type=doc.steering_type,
            trace=[TraceEntry(sender.organ_id, self.core.now().astimezone(VN_TZ))],
            business=Business(),
            files=[
                FileRef(
                    mf.content_id,
                    mf.filename,
                    mf.content_type,
                    "Văn bản chính" if f.role == "main" else "Phụ lục",
                )
                for f, mf in zip(files, mail_files, strict=True)
            ],
        )

    @staticmethod
    def _subject(doc: OutgoingDocument) -> str:
        urgency = decree30.urgency(doc.urgency)
        prefix = f"[{urgency.stamp}] " if urgency is not None and urgency.stamp else ""
        return f"{prefix}{doc.type_name} số {doc.number_text}/{doc.notation}: {doc.subject}"

    @staticmethod
    def _headers(doc: OutgoingDocument) -> list[tuple[str, str]]:
        headers = [(DOCUMENT_HEADER, doc.doc_uid)]
        level = decree30.confidentiality(doc.confidentiality)
        if level is not None:
            headers.append((CONFIDENTIALITY_HEADER, level.name))
        urgency = decree30.urgency(doc.urgency)
        if urgency is not None and urgency.priority > 0:
            headers += [("Priority", "urgent"), ("Importance", "high"), ("X-Priority", "1")]
        return headers

    def _body(
        self, doc: OutgoingDocument, desk: Desk, files: Sequence[DocumentFile], tg: dict[str, Any]
    ) -> str:
        vi = "vi"
        rows: list[tuple[str, str]] = [
            ("documents.field.symbol", f"{doc.number_text}/{doc.notation}"),
            ("documents.field.date", decree30.format_place_date(doc.place, doc.issued_on)),
            ("documents.field.type", doc.type_name),
            ("documents.field.subject", doc.subject),
        ]
        signer = " ".join(
            x for x in (doc.signer_competence, doc.signer_position, doc.signer_name) if x
        )
        if signer:
            rows.append(("documents.field.signer", signer))
        urgency = decree30.urgency(doc.urgency)
        if urgency is not None and urgency.priority > 0:
            rows.append(("documents.field.urgency", urgency.name))
        if doc.due_date:
            rows.append(("documents.field.due_date", f"{doc.due_date:%d/%m/%Y}"))
        if doc.reply_to:
            rows.append(("documents.field.reply_to", doc.reply_to.get("code") or ""))
        lines: list[str] = []
        if doc.addressees_text:
            kinh_gui = [ln.text for ln in parse_block(doc.addressees_text)]
            lines.append(t("documents.mail.addressees", vi) + " " + "; ".join(kinh_gui))
            lines.append("")
        lines.append(t("documents.mail.intro", vi, agency=desk.agency.name))
        lines.append("")
        width = max(len(t(k, vi)) for k, _ in rows)
        lines += [f"  {t(k, vi) + ':':<{width + 1}} {v}" for k, v in rows]
        if doc.content:
            lines += ["", doc.content]
        lines += ["", t("documents.mail.files", vi)]
        for i, f in enumerate(files, 1):
            role = t("documents.file.main" if f.role == "main" else "documents.file.appendix", vi)
            lines.append(f"  {i}. {f.filename} ({role}, {_size(f.size)})")
        if doc.recipients:
            lines += ["", t("documents.mail.recipients", vi)]
            lines += [f"- {ln['text']};" for ln in doc.recipients]
        lines += ["", "-- ", t("documents.mail.footer", vi), t("documents.mail.footer", "en")]
        return "\n".join(lines)


def channel_of(doc: OutgoingDocument) -> events.Channel | None:
    """How the register says the document went out (None: not yet)."""
    return events.channel_of(doc.sent_at is not None, bool(doc.paper))


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _converted(draft: DocumentDraft) -> DocumentDraft:
    """The draft with legacy-encoded Vietnamese turned into Unicode (the user asked)."""
    files = []
    for f in draft.files:
        data = f.data
        if f.content_type.startswith("text/"):
            data = convert_text_file(data)
        elif f.content_type == DOCX_TYPE or f.filename.lower().endswith(".docx"):
            data = convert_docx(data)
        files.append(FileInput(convert_text(f.filename), f.content_type, data, f.role))
    return DocumentDraft(
        type=draft.type,
        subject=convert_text(draft.subject),
        signer_name=convert_text(draft.signer_name),
        signer_position=convert_text(draft.signer_position),
        signer_competence=convert_text(draft.signer_competence),
        content=convert_text(draft.content),
        place=convert_text(draft.place),
        issued_on=draft.issued_on,
        confidentiality=draft.confidentiality,
        urgency=draft.urgency,
        due_date=draft.due_date,
        steering_type=draft.steering_type,
        reply_to=draft.reply_to,
        unit_symbol=draft.unit_symbol,
        addressees=convert_text(draft.addressees),
        recipients=convert_text(draft.recipients),
        answers=dict(draft.answers),
        skip_unresolved=draft.skip_unresolved,
        files=files,
        paper=draft.paper,
    )
