"""govmail document …: official documents (văn bản) from the command line.

Sending works beside a running server: the command builds the same pipeline as the server
(identity, document policies, registration hooks), stores local deliveries at once and
queues the rest, which the server's outbound queue sends within its idle interval.
"""

from __future__ import annotations

import asyncio
import mimetypes
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from govmail.cli.output import emit, emit_one, fail, ok
from govmail.cli.runtime import state
from govmail.documents.errors import DocumentError, DocumentRefused
from govmail.documents.receiving import ManualFields
from govmail.documents.recipients import RecipientPlan
from govmail.documents.sending import DocumentDraft, FileInput
from govmail.documents.service import DocumentService
from govmail.documents.statuses import status_label
from govmail.i18n import t

if TYPE_CHECKING:
    from govmail.app import App

app = typer.Typer(help="Văn bản điện tử / official documents.", no_args_is_help=True)
T = TypeVar("T")
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AS = Annotated[str, typer.Option("--as", help="Người thực hiện / acting person (address).")]
MAILBOX = Annotated[str, typer.Option("--mailbox", "-m", help="Hộp thư cơ quan / agency mailbox.")]


def _run(fn: Callable[[App], Awaitable[T]]) -> T:
    """Run ``fn`` with the composed application (store, directory, pipeline; no listeners)."""
    from govmail.app import App

    async def main() -> T:
        core = App(state.settings)
        await core.store.open()
        await core.committer.start()
        try:
            return await fn(core)
        finally:
            await core.pipeline.wait_background()
            await core.committer.stop()
            await core.store.close()

    try:
        return asyncio.run(main())
    except DocumentRefused as exc:
        fail(exc.reason)
        raise typer.Exit(3) from None
    except DocumentError as exc:
        fail(exc.text())
        raise typer.Exit(1) from None


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"Ngày không hợp lệ / bad date (YYYY-MM-DD): {value}")
        raise typer.Exit(2) from None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _text(value: str | None) -> str:
    """A block given inline, as @file, or as "-" (stdin)."""
    if not value:
        return ""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    return value


def _file(path: Path, role: str) -> FileInput:
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileInput(path.name, ctype, path.read_bytes(), role)  # type: ignore[arg-type]


def _answers(values: list[str] | None) -> dict[int, str]:
    out: dict[int, str] = {}
    for v in values or []:
        line, sep, answer = v.partition("=")
        if not sep or not line.strip().isdigit():
            fail(f"--answer LINE=ADDRESS, got {v!r}")
            raise typer.Exit(2)
        out[int(line)] = answer
    return out


async def _agency_id(docs: DocumentService, mailbox: str) -> int:
    async with docs.core.store.read() as tx:
        box = await tx.directory.mailbox_by_address(mailbox)
    if box is None or box.kind != "agency" or box.agency_id is None:
        raise DocumentError("documents.error.not_agency_mailbox", address=mailbox)
    return box.agency_id


def _plan_rows(plan: RecipientPlan) -> list[dict[str, Any]]:
    rows = []
    for r in plan.lines:
        rows.append(
            {
                "line": r.line.number,
                "text": r.line.text,
                "intent": r.line.intent,
                "flags": ", ".join(t(f"documents.flag.{f}") for f in r.line.flags),
                "targets": ", ".join(
                    tg.address + (" (lưu)" if tg.internal else "") for tg in r.targets
                ),
                "explanation": r.explanation.text() if r.explanation else "",
                "question": r.question.text() if r.question and not r.resolved else "",
            }
        )
    return rows


_PLAN_COLUMNS = [
    ("line", "#"),
    ("text", "Nơi nhận"),
    ("targets", "Hộp thư"),
    ("explanation", "Giải thích"),
    ("question", "Cần trả lời"),
]


@app.command("recipients")
def recipients(
    block: Annotated[str, typer.Argument(help='Khối "Nơi nhận": text, @file or - (stdin).')],
    mailbox: MAILBOX,
    kinh_gui: Annotated[str | None, typer.Option(help="Kính gửi: text, @file or -.")] = None,
    answer: Annotated[
        list[str] | None, typer.Option(help="LINE=address or agency name ('-' skips).")
    ] = None,
    as_json: JSON = False,
) -> None:
    """Show what each line of a "Nơi nhận" block resolves to, and what needs an answer."""

    async def go(core: App) -> RecipientPlan:
        agency_id = await _agency_id(core.documents, mailbox)
        return await core.documents.outgoing.plan(
            agency_id, _text(block), _text(kinh_gui), _answers(answer)
        )

    plan = _run(go)
    if as_json:
        emit(plan.to_json(), [], as_json=True)
        return
    emit(_plan_rows(plan), _PLAN_COLUMNS, as_json=False)
    if plan.unresolved:
        raise typer.Exit(4)


def _draft(
    type_: str,
    subject: str,
    signer: str,
    position: str,
    competence: str,
    place: str,
    issued: str | None,
    urgency: str,
    confidentiality: str,
    due: str | None,
    unit: str,
    kinh_gui: str | None,
    noi_nhan: str | None,
    pdf: Path | None,
    appendix: list[Path] | None,
    answer: list[str] | None,
    skip_unresolved: bool,
    reply_to: str,
    paper: bool,
) -> DocumentDraft:
    files = [_file(pdf, "main")] if pdf else []
    files += [_file(p, "appendix") for p in appendix or []]
    return DocumentDraft(
        type=type_,
        subject=subject,
        signer_name=signer,
        signer_position=position,
        signer_competence=competence,
        place=place,
        issued_on=_date(issued),
        urgency=urgency,
        confidentiality=confidentiality,
        due_date=_date(due),
        unit_symbol=unit,
        addressees=_text(kinh_gui),
        recipients=_text(noi_nhan),
        answers=_answers(answer),
        skip_unresolved=skip_unresolved,
        reply_to=reply_to,
        files=files,
        paper=paper,
    )


@app.command("send")
def send(
    actor: AS,
    mailbox: MAILBOX,
    type_: Annotated[str, typer.Option("--type", help="Loại văn bản: BC, QĐ, CV, Giấy mời…")],
    subject: Annotated[str, typer.Option(help="Trích yếu nội dung.")],
    pdf: Annotated[Path | None, typer.Option(help="Văn bản chính (PDF, đã ký số).")] = None,
    appendix: Annotated[list[Path] | None, typer.Option(help="Phụ lục (repeatable).")] = None,
    recipients_: Annotated[
        str | None, typer.Option("--recipients", help='"Nơi nhận": text, @file or -.')
    ] = None,
    kinh_gui: Annotated[str | None, typer.Option(help="Kính gửi: text, @file or -.")] = None,
    signer: Annotated[str, typer.Option(help="Người ký.")] = "",
    position: Annotated[str, typer.Option(help="Chức vụ người ký.")] = "",
    competence: Annotated[str, typer.Option(help="Quyền hạn ký: KT. BỘ TRƯỞNG, TL.…")] = "",
    place: Annotated[str, typer.Option(help="Địa danh (default: the agency's).")] = "",
    issued: Annotated[str | None, typer.Option(help="Ngày ban hành YYYY-MM-DD (today).")] = None,
    urgency: Annotated[str, typer.Option(help="Khẩn, Thượng khẩn, Hỏa tốc.")] = "",
    confidentiality: Annotated[str, typer.Option(help="Mật, Tối mật, Tuyệt mật.")] = "",
    due: Annotated[str | None, typer.Option(help="Hạn xử lý YYYY-MM-DD.")] = None,
    unit: Annotated[str, typer.Option(help="Ký hiệu đơn vị soạn thảo (THH).")] = "",
    reply_to: Annotated[str, typer.Option(help="Văn bản đến được trả lời (số/ký hiệu).")] = "",
    answer: Annotated[
        list[str] | None, typer.Option(help="LINE=address for unresolved lines.")
    ] = None,
    skip_unresolved: Annotated[bool, typer.Option(help="Send to the resolved lines only.")] = False,
    convert_legacy: Annotated[
        bool, typer.Option(help="Chuyển văn bản TCVN3/VNI/VISCII sang Unicode.")
    ] = False,
    issue_only: Annotated[bool, typer.Option(help="Vào sổ văn bản đi, không gửi.")] = False,
    paper: Annotated[bool, typer.Option(help="Văn bản cũng (hoặc chỉ) gửi bản giấy.")] = False,
    as_json: JSON = False,
) -> None:
    """Issue a document (number it in the outgoing register) and send it."""
    draft = _draft(
        type_,
        subject,
        signer,
        position,
        competence,
        place,
        issued,
        urgency,
        confidentiality,
        due,
        unit,
        kinh_gui,
        recipients_,
        pdf,
        appendix,
        answer,
        skip_unresolved,
        reply_to,
        paper,
    )

    async def go(core: App) -> dict[str, Any]:
        issued_doc = await core.documents.outgoing.issue(
            actor, mailbox, draft, convert_legacy=convert_legacy
        )
        out: dict[str, Any] = {
            "id": issued_doc.id,
            "symbol": issued_doc.symbol,
            "document_id": issued_doc.doc_uid,
            "sent": [],
        }
        if not issue_only:
            try:
                outcomes = await core.documents.outgoing.send(actor, issued_doc.id)
            except DocumentRefused as exc:
                out["refused"] = exc.reason
                return out
            out["sent"] = [{"address": o.address, "ok": o.ok, "reason": o.reason} for o in outcomes]
        return out

    result = _run(go)
    if as_json:
        emit_one(result, as_json=True)
    else:
        ok(f"{result['symbol']} ({result['document_id']})")
        for o in result["sent"]:
            (ok if o["ok"] else fail)(o["address"] + ("" if o["ok"] else f": {o['reason']}"))
    if "refused" in result:
        fail(result["refused"])
        raise typer.Exit(3)


@app.command("resend")
def resend(document_id: int, actor: AS, as_json: JSON = False) -> None:
    """Send an issued document to the recipients it has not reached yet."""

    async def go(core: App) -> list[dict[str, Any]]:
        outcomes = await core.documents.outgoing.send(actor, document_id)
        return [{"address": o.address, "ok": o.ok, "reason": o.reason} for o in outcomes]

    rows = _run(go)
    emit(rows, [("address", "Nơi nhận"), ("ok", "OK"), ("reason", "Lý do")], as_json=as_json)


@app.command("paper")
def paper(document_id: int, actor: AS) -> None:
    """Record that an issued document was sent on paper (as well)."""

    async def go(core: App) -> Any:
        return await core.documents.outgoing.record_paper(actor, document_id)

    doc = _run(go)
    ok(f"{doc.number_text}/{doc.notation}")


@app.command("list")
def list_(
    mailbox: MAILBOX,
    incoming: Annotated[bool, typer.Option("--in", help="Sổ văn bản đến.")] = False,
    year: Annotated[int | None, typer.Option(help="Năm.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    as_json: JSON = False,
) -> None:
    """The outgoing register (default) or the incoming register (--in) of an agency."""

    async def go(core: App) -> list[dict[str, Any]]:
        agency_id = await _agency_id(core.documents, mailbox)
        if incoming:
            views = await core.documents.incoming_register(agency_id, year=year, limit=limit)
            return [
                {
                    "id": v.doc.id,
                    "arrival": v.doc.arrival_number,
                    "arrived_at": v.doc.arrived_at,
                    "issuer": v.doc.issuer_name,
                    "symbol": v.symbol,
                    "subject": v.doc.subject,
                    "status": t(f"documents.state.{v.doc.status}"),
                    "assignee": v.assignee.address if v.assignee else "",
                    "deadline": _iso(v.doc.deadline),
                    "overdue": v.overdue,
                }
                for v in views
            ]
        views_out = await core.documents.outgoing_register(agency_id, year=year, limit=limit)
        return [
            {
                "id": v.doc.id,
                "symbol": v.symbol,
                "date": _iso(v.doc.issued_on),
                "type": v.doc.type_name,
                "subject": v.doc.subject,
                "status": t(f"documents.dstate.{v.doc.status}"),
                "recipients": ", ".join(
                    f"{r.row.address}: {t(f'documents.rstate.{r.state}')}"
                    + (" ⚠" if r.overdue else "")
                    for r in v.recipients
                    if not r.row.internal
                ),
            }
            for v in views_out
        ]

    rows = _run(go)
    columns = (
        [
            ("arrival", "Số đến"),
            ("symbol", "Số, ký hiệu"),
            ("issuer", "Cơ quan ban hành"),
            ("subject", "Trích yếu"),
            ("status", "Trạng thái"),
            ("assignee", "Người xử lý"),
            ("deadline", "Hạn"),
        ]
        if incoming
        else [
            ("id", "ID"),
            ("symbol", "Số, ký hiệu"),
            ("date", "Ngày"),
            ("subject", "Trích yếu"),
            ("status", "Trạng thái"),
            ("recipients", "Nơi nhận"),
        ]
    )
    emit(rows, columns, as_json=as_json)


@app.command("status")
def status(
    document_id: int,
    incoming: Annotated[bool, typer.Option("--in", help="An incoming document.")] = False,
    as_json: JSON = False,
) -> None:
    """One document: its fields, and per recipient what it said (outgoing) or its trail."""

    async def go(core: App) -> dict[str, Any]:
        docs = core.documents
        if incoming:
            v = await docs.incoming_document(document_id)
            events = await docs.events(incoming_id=document_id)
            return {
                "symbol": v.symbol,
                "arrival": v.doc.arrival_number,
                "issuer": v.doc.issuer_name,
                "subject": v.doc.subject,
                "status": t(f"documents.state.{v.doc.status}"),
                "assignee": v.assignee.address if v.assignee else None,
                "deadline": _iso(v.doc.deadline),
                "overdue": v.overdue,
                "signatures": v.doc.signatures,
                "warnings": v.doc.warnings,
                "events": [
                    f"{e.at:%Y-%m-%d %H:%M} {t('documents.event.' + e.kind)} {e.code or ''}"
                    f" {e.actor}"
                    for e in events
                ],
            }
        view = await docs.outgoing_document(document_id)
        return {
            "symbol": view.symbol,
            "document_id": view.doc.doc_uid,
            "subject": view.doc.subject,
            "status": t(f"documents.dstate.{view.doc.status}"),
            "send_error": view.doc.send_error,
            "due_date": _iso(view.doc.due_date),
            "recipients": [
                {
                    "address": r.row.address,
                    "name": r.row.name,
                    "state": t(f"documents.rstate.{r.state}"),
                    "code": r.row.status_code,
                    "label": status_label(r.row.status_code) if r.row.status_code else "",
                    "note": r.row.status_text,
                    "overdue": r.overdue,
                }
                for r in view.recipients
            ],
        }

    data = _run(go)
    if as_json:
        emit_one(data, as_json=True)
        return
    recipients_rows = data.pop("recipients", None)
    events = data.pop("events", None)
    emit_one(data, as_json=False)
    if recipients_rows is not None:
        emit(
            recipients_rows,
            [
                ("address", "Nơi nhận"),
                ("state", "Trạng thái"),
                ("note", "Ghi chú"),
                ("overdue", "Quá hạn"),
            ],
            as_json=False,
        )
    for e in events or []:
        typer.echo(e)


def _act(fn: Callable[[App], Awaitable[Any]], message: str) -> None:
    _run(fn)
    ok(message)


@app.command("accept")
def accept(document_id: int, actor: AS, note: str = "") -> None:
    """Tiếp nhận văn bản đến (status 03 goes back)."""
    _act(
        lambda c: c.documents.incoming.accept(actor, document_id, note),
        t("documents.status.accepted"),
    )


@app.command("refuse")
def refuse(
    document_id: int, actor: AS, reason: Annotated[str, typer.Option(help="Lý do.")]
) -> None:
    """Từ chối tiếp nhận, with a reason (status 02 goes back)."""
    _act(
        lambda c: c.documents.incoming.refuse(actor, document_id, reason),
        t("documents.status.refused"),
    )


@app.command("assign")
def assign(
    document_id: int,
    actor: AS,
    to: Annotated[str, typer.Option(help="Cán bộ xử lý (address).")],
    deadline: Annotated[str | None, typer.Option(help="Hạn giải quyết YYYY-MM-DD.")] = None,
    note: str = "",
) -> None:
    """Giao xử lý, with a deadline (statuses 03 and 04 go back)."""
    _act(
        lambda c: c.documents.incoming.assign(actor, document_id, to, _date(deadline), note),
        t("documents.status.assigned"),
    )


@app.command("progress")
def progress(document_id: int, actor: AS, note: str = "") -> None:
    """Đang xử lý (status 05 goes back)."""
    _act(
        lambda c: c.documents.incoming.progress(actor, document_id, note),
        t("documents.status.in_progress"),
    )


@app.command("complete")
def complete(document_id: int, actor: AS, note: str = "") -> None:
    """Hoàn thành (status 06 goes back)."""
    _act(
        lambda c: c.documents.incoming.complete(actor, document_id, note),
        t("documents.status.completed"),
    )


@app.command("register")
def register(
    actor: AS,
    mailbox: MAILBOX,
    uid: Annotated[int, typer.Option(help="UID of the message in the folder.")],
    symbol: Annotated[str, typer.Option(help="Số, ký hiệu: 15/UBND-VP.")],
    folder: Annotated[str, typer.Option(help="Folder of the message.")] = "INBOX",
    issuer: Annotated[str, typer.Option(help="Cơ quan ban hành.")] = "",
    issuer_code: Annotated[str, typer.Option(help="Mã định danh cơ quan ban hành.")] = "",
    issued: Annotated[str | None, typer.Option(help="Ngày văn bản YYYY-MM-DD.")] = None,
    subject: Annotated[str, typer.Option(help="Trích yếu (default: the subject).")] = "",
    type_: Annotated[str, typer.Option("--type", help="Loại (default: from the symbol).")] = "",
    due: Annotated[str | None, typer.Option(help="Hạn xử lý YYYY-MM-DD.")] = None,
    force: Annotated[
        bool, typer.Option(help="Register even if it looks like a duplicate.")
    ] = False,
) -> None:
    """Register by hand a message of an agency mailbox (a document without envelope)."""
    fields = ManualFields(
        symbol=symbol,
        subject=subject,
        type=type_,
        issuer_name=issuer,
        issuer_code=issuer_code,
        issued_on=_date(issued),
        due_date=_date(due),
        force=force,
    )

    async def go(core: App) -> int:
        async with core.store.read() as tx:
            box = await tx.directory.mailbox_by_address(mailbox)
            f = await tx.mail.folder(box.id, folder) if box else None
        if f is None:
            raise DocumentError("documents.error.no_message")
        doc = await core.documents.incoming.register_message(actor, f.id, uid, fields)
        return doc.arrival_number

    ok(f"{t('documents.field.arrival_number')}: {_run(go)}")


@app.command("problems")
def problems(
    mailbox: MAILBOX,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    as_json: JSON = False,
) -> None:
    """Problems with arrivals reported to the clerk (envelopes, duplicates, statuses…)."""

    async def go(core: App) -> list[dict[str, Any]]:
        agency_id = await _agency_id(core.documents, mailbox)
        return [
            {
                "id": p.id,
                "at": p.created_at,
                "kind": t(f"documents.problem_kind.{p.kind}"),
                "sender": p.sender_address,
                "detail": p.detail,
                "uid": p.uid,
                "resolved": p.resolved_at,
            }
            for p in await core.documents.problems([agency_id], open_only=not all_)
        ]

    emit(
        _run(go),
        [
            ("id", "ID"),
            ("at", "Lúc"),
            ("kind", "Loại"),
            ("sender", "Nơi gửi"),
            ("detail", "Chi tiết"),
            ("uid", "UID"),
        ],
        as_json=as_json,
    )


@app.command("resolve")
def resolve(problem_id: int, actor: AS) -> None:
    """Mark a reported problem as dealt with."""
    _act(lambda c: c.documents.incoming.resolve_problem(actor, problem_id), "OK")


@app.command("unsent")
def unsent(
    mailbox: MAILBOX,
    since: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    until: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    as_json: JSON = False,
) -> None:
    """Issued documents of the agency's mandatory-electronic types that were not sent."""

    async def go(core: App) -> list[dict[str, Any]]:
        agency_id = await _agency_id(core.documents, mailbox)
        docs = await core.documents.unsent_report(agency_id, _date(since), _date(until))  # type: ignore[arg-type]
        return [
            {
                "id": d.id,
                "symbol": f"{d.number_text}/{d.notation}",
                "date": _iso(d.issued_on),
                "type": d.type_name,
                "subject": d.subject,
                "error": d.send_error,
            }
            for d in docs
        ]

    emit(
        _run(go),
        [
            ("symbol", "Số, ký hiệu"),
            ("date", "Ngày"),
            ("type", "Loại"),
            ("subject", "Trích yếu"),
            ("error", "Lý do"),
        ],
        as_json=as_json,
    )


@app.command("policy")
def policy(
    mailbox: MAILBOX,
    actor: Annotated[str, typer.Option("--as", help="Recorded in the audit log.")] = "cli",
    free_mail: Annotated[str | None, typer.Option(help="refuse, flag or off.")] = None,
    legacy: Annotated[str | None, typer.Option(help="refuse, flag or off.")] = None,
    legacy_scope: Annotated[str | None, typer.Option(help="documents or all.")] = None,
    mandatory: Annotated[
        str | None, typer.Option(help="Types that must go electronically: BC,GM,…")
    ] = None,
    free_domain: Annotated[list[str] | None, typer.Option(help="More free-mail domains.")] = None,
    allow_domain: Annotated[list[str] | None, typer.Option(help="Domains let through.")] = None,
    as_json: JSON = False,
) -> None:
    """Show or change the agency's document policy."""
    changes: dict[str, Any] = {}
    if free_mail is not None:
        changes["free_mail"] = free_mail
    if legacy is not None:
        changes["legacy_text"] = legacy
    if legacy_scope is not None:
        changes["legacy_scope"] = legacy_scope
    if mandatory is not None:
        changes["mandatory_types"] = [x.strip() for x in mandatory.split(",") if x.strip()]
    if free_domain is not None:
        changes["extra_free_domains"] = free_domain
    if allow_domain is not None:
        changes["allowed_domains"] = allow_domain

    async def go(core: App) -> dict[str, Any]:
        agency_id = await _agency_id(core.documents, mailbox)
        if changes:
            row = await core.documents.set_policy(f"cli:{actor}", agency_id, **changes)
        else:
            row = await core.documents.policy(agency_id)
        return {
            "free_mail": row.free_mail,
            "legacy_text": row.legacy_text,
            "legacy_scope": row.legacy_scope,
            "mandatory_types": ", ".join(row.mandatory_types or []),
            "extra_free_domains": ", ".join(row.extra_free_domains or []),
            "allowed_domains": ", ".join(row.allowed_domains or []),
        }

    emit_one(_run(go), as_json=as_json)


@app.command("trust")
def trust(pem: Path) -> None:
    """Trust a CA (PEM certificate) for the digital signatures of arriving documents."""
    data = pem.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" not in data:
        fail(f"{pem}: not a PEM certificate")
        raise typer.Exit(2)
    folder = state.settings.data_dir / "documents" / "trust"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pem, folder / pem.name)
    ok(str(folder / pem.name))
