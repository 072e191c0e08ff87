"""Official documents (văn bản) for clerks and staff.

| route | what |
|---|---|
| ``GET /van-ban`` | the agency mailboxes the user handles, open work, documents assigned to them |
| ``GET /van-ban/den?mb=`` | the incoming register (sổ văn bản đến) of an agency mailbox |
| ``GET /van-ban/den/<id>`` | an incoming document: fields, files, signatures, trail, actions |
| ``POST /van-ban/den/<id>/xu-ly`` | accept, refuse (reason), assign (person, deadline), … |
| ``GET /van-ban/den/<id>/tep/<n>`` | a file of an incoming document |
| ``GET /van-ban/di?mb=`` | the outgoing register (sổ văn bản đi) with per-recipient states |
| ``GET /van-ban/di/<id>`` | an outgoing document: what each recipient said, what is overdue |
| ``GET/POST /van-ban/moi?mb=`` | issue and send a document (``action`` = check, issue, send) |
| ``GET/POST /van-ban/noi-nhan?mb=`` | paste a "Nơi nhận" block and see what each line resolves to |
| ``GET /van-ban/su-co?mb=``, ``POST /van-ban/su-co/<id>/xong`` | problems with arrivals |
| ``GET/POST /van-ban/dang-ky?ref=<folder>:<uid>`` | register a message by hand |
| ``GET /van-ban/chua-gui?mb=&from=&to=`` | issued documents of mandatory types not sent |

Every page checks that the user handles the agency mailbox (or is the assignee of the
incoming document); what only a clerk may do is checked again by the documents layer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from starlette.responses import Response

from govmail.documents import decree30
from govmail.documents.errors import DocumentError, DocumentRefused
from govmail.documents.receiving import ManualFields
from govmail.documents.recipients import RecipientPlan
from govmail.documents.sending import DocumentDraft, FileInput
from govmail.documents.service import AgencyDesk, DocumentService
from govmail.documents.statuses import status_label
from govmail.mail.parsed import ParsedMessage, parse_message
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
MAX_LIST = 200


def _docs(w: WebRequest) -> DocumentService:
    return w.core.documents


async def _desks(w: WebRequest) -> list[AgencyDesk]:
    user = w.verified_user
    assert user is not None
    return await _docs(w).desks(user.address)


async def _desk(
    w: WebRequest, mailbox_id: int | None
) -> tuple[AgencyDesk | None, list[AgencyDesk]]:
    desks = await _desks(w)
    if mailbox_id is None:
        return (desks[0] if desks else None), desks
    return next((d for d in desks if d.mailbox.id == mailbox_id), None), desks


def _mb(w: WebRequest) -> int | None:
    value = w.query("mb") or w.form_str("mb")
    return int(value) if value.isdigit() else None


def _ctx(
    w: WebRequest, desk: AgencyDesk | None, desks: list[AgencyDesk], page: str
) -> dict[str, Any]:
    return {
        "desk": desk,
        "desks": desks,
        "page": page,
        "error": None,
        "today": _docs(w).core.today(),
    }


def _error_text(w: WebRequest, exc: DocumentError) -> str:
    return exc.reason if isinstance(exc, DocumentRefused) else exc.text(w.lang)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- overview


@router.get("/van-ban")
async def index(w: WebRequest) -> Response:
    desks = await _desks(w)
    user = w.verified_user
    assert user is not None
    counts = {}
    async with w.core.store.read() as tx:
        repo = _docs(w).core.repo(tx)
        for d in desks:
            counts[d.mailbox.id] = await repo.counts(d.agency.id)
    assigned = await _docs(w).assigned_to(user.address)
    ctx = _ctx(w, None, desks, "index")
    ctx.update({"counts": counts, "assigned": assigned})
    return w.render("documents/index.html", ctx)


# --------------------------------------------------------------------------- incoming


@router.get("/van-ban/den")
async def incoming(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None:
        return w.error(404, "web.documents.no_desk")
    status = w.query("status") or None
    items = await _docs(w).incoming_register(desk.agency.id, status=status, limit=MAX_LIST)
    ctx = _ctx(w, desk, desks, "in")
    ctx.update({"items": items, "status": status or ""})
    return w.render("documents/incoming.html", ctx)


async def _incoming_access(
    w: WebRequest, doc_id: int
) -> tuple[Any, AgencyDesk | None, list[AgencyDesk]] | None:
    try:
        view = await _docs(w).incoming_document(doc_id)
    except DocumentError:
        return None
    desks = await _desks(w)
    desk = next((d for d in desks if d.mailbox.id == view.doc.mailbox_id), None)
    user = w.verified_user
    if desk is None and (user is None or view.doc.assignee_id != user.id):
        return None
    return view, desk, desks


@router.get("/van-ban/den/{doc_id:int}")
async def incoming_doc(w: WebRequest) -> Response:
    return await _incoming_page(w)


async def _incoming_page(w: WebRequest, error: str | None = None, status: int = 200) -> Response:
    found = await _incoming_access(w, int(w.params["doc_id"]))
    if found is None:
        return w.error(404, "web.documents.not_found")
    view, desk, desks = found
    events = await _docs(w).events(incoming_id=view.doc.id)
    staff = []
    if desk is not None and desk.is_clerk:
        async with w.core.store.read() as tx:
            people = await tx.directory.mailboxes(
                agency_ids=[desk.agency.id], kind="person", statuses=["active"]
            )
        staff = [(p.address, p.full_name) for p in people]
    ctx = _ctx(w, desk, desks, "in")
    ctx.update(
        {
            "view": view,
            "doc": view.doc,
            "events": events,
            "staff": staff,
            "can_act": desk is not None and desk.is_clerk,
            "is_assignee": w.verified_user is not None
            and view.doc.assignee_id == w.verified_user.id,
            "labels": {c: status_label(c, w.lang) for c in ("01", "02", "03", "04", "05", "06")},
            "warnings": [_warning(w, x) for x in view.doc.warnings],
            "error": error,
        }
    )
    return w.render("documents/incoming_doc.html", ctx, status=status)


def _warning(w: WebRequest, value: str) -> str:
    key, _, name = value.partition(":")
    try:
        return w.t(f"documents.warning.{key}", name=name)
    except KeyError:
        return value


@router.post("/van-ban/den/{doc_id:int}/xu-ly")
async def incoming_act(w: WebRequest) -> Response:
    doc_id = int(w.params["doc_id"])
    if await _incoming_access(w, doc_id) is None:
        return w.error(404, "web.documents.not_found")
    user = w.verified_user
    assert user is not None
    incoming = _docs(w).incoming
    action = w.form_str("action")
    note = w.form_str("note").strip()
    try:
        if action == "accept":
            await incoming.accept(user.address, doc_id, note)
        elif action == "refuse":
            await incoming.refuse(user.address, doc_id, w.form_str("reason"))
        elif action == "assign":
            await incoming.assign(
                user.address, doc_id, w.form_str("assignee"), _date(w.form_str("deadline")), note
            )
        elif action == "progress":
            await incoming.progress(user.address, doc_id, note)
        elif action == "complete":
            await incoming.complete(user.address, doc_id, note)
        else:
            return w.error(400, "web.error.bad_form")
    except DocumentError as exc:
        return await _incoming_page(w, _error_text(w, exc), 409)
    return w.redirect(f"/van-ban/den/{doc_id}", flash="documents_saved")


@router.get("/van-ban/den/{doc_id:int}/tep/{index:int}")
async def incoming_file(w: WebRequest) -> Response:
    found = await _incoming_access(w, int(w.params["doc_id"]))
    if found is None:
        return w.error(404, "web.documents.not_found")
    try:
        name, ctype, data = await _docs(w).incoming.file_of(found[0].doc, int(w.params["index"]))
    except DocumentError:
        return w.error(404, "web.documents.not_found")
    return _download(name, ctype, data)


def _download(name: str, ctype: str, data: bytes) -> Response:
    from govmail.mail.headers import format_param

    inline = ctype == "application/pdf"
    return Response(
        data,
        media_type="application/pdf" if inline else "application/octet-stream",
        headers={
            "content-disposition": ("inline; " if inline else "attachment; ")
            + format_param("filename", name),
            "content-security-policy": "sandbox",
        },
    )


# --------------------------------------------------------------------------- outgoing


@router.get("/van-ban/di")
async def outgoing(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None:
        return w.error(404, "web.documents.no_desk")
    views = await _docs(w).outgoing_register(desk.agency.id, limit=MAX_LIST)
    ctx = _ctx(w, desk, desks, "out")
    ctx["views"] = views
    return w.render("documents/outgoing.html", ctx)


@router.get("/van-ban/di/{doc_id:int}")
async def outgoing_doc(w: WebRequest) -> Response:
    try:
        view = await _docs(w).outgoing_document(int(w.params["doc_id"]))
    except DocumentError:
        return w.error(404, "web.documents.not_found")
    desks = await _desks(w)
    desk = next((d for d in desks if d.mailbox.id == view.doc.mailbox_id), None)
    if desk is None:
        return w.error(404, "web.documents.not_found")
    async with w.core.store.read() as tx:
        files = list(await _docs(w).core.repo(tx).files_of(view.doc.id))
    ctx = _ctx(w, desk, desks, "out")
    ctx.update(
        {
            "view": view,
            "doc": view.doc,
            "files": files,
            "events": await _docs(w).events(outgoing_id=view.doc.id),
            "labels": {c: status_label(c, w.lang) for c in ("01", "02", "03", "04", "05", "06")},
            "error": w.query("error")[:500] or None,
        }
    )
    return w.render("documents/outgoing_doc.html", ctx)


@router.post("/van-ban/di/{doc_id:int}/gui")
async def outgoing_resend(w: WebRequest) -> Response:
    return await _outgoing_action(w, lambda o, who, i: o.send(who, i), "documents_sent")


@router.post("/van-ban/di/{doc_id:int}/ban-giay")
async def outgoing_paper(w: WebRequest) -> Response:
    """The clerk records in the outgoing register that the document went out on paper."""
    return await _outgoing_action(w, lambda o, who, i: o.record_paper(who, i), "documents_paper")


async def _outgoing_action(
    w: WebRequest, act: Callable[[Any, str, int], Awaitable[object]], flash: str
) -> Response:
    """A clerk's action on an issued document, back to its page with the outcome."""
    doc_id = int(w.params["doc_id"])
    user = w.verified_user
    assert user is not None
    try:
        await act(_docs(w).outgoing, user.address, doc_id)
    except DocumentError as exc:
        return w.redirect(f"/van-ban/di/{doc_id}?error=" + _quote(_error_text(w, exc)))
    return w.redirect(f"/van-ban/di/{doc_id}", flash=flash)


def _quote(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text[:500])


# --------------------------------------------------------------------------- recipients


async def _plan(
    w: WebRequest, desk: AgencyDesk, block: str, kinh_gui: str, answers: dict[int, str]
) -> RecipientPlan:
    return await _docs(w).outgoing.plan(desk.agency.id, block, kinh_gui, answers)


def _answers(w: WebRequest) -> dict[int, str]:
    out: dict[int, str] = {}
    if w.form is None:
        return out
    for key in w.form:
        if key.startswith("answer_") and key[7:].isdigit():
            value = w.form_str(key).strip()
            if value:
                out[int(key[7:])] = value
    return out


def _plan_rows(w: WebRequest, plan: RecipientPlan | None) -> list[dict[str, Any]]:
    if plan is None:
        return []
    return [
        {
            "number": r.line.number,
            "text": r.line.text,
            "name": r.line.text if r.line.intent == "archive" else r.line.name,
            "flags": [w.t(f"documents.flag.{f}") for f in r.line.flags],
            "targets": r.targets,
            "explanation": r.explanation.text(w.lang) if r.explanation else "",
            "question": r.question.text(w.lang) if r.question and not r.resolved else "",
            "resolved": r.resolved,
            "skipped": r.skipped,
        }
        for r in plan.lines
    ]


@router.route("/van-ban/noi-nhan", ("GET", "POST"))
async def recipients_page(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None:
        return w.error(404, "web.documents.no_desk")
    block = w.form_str("recipients")
    kinh_gui = w.form_str("addressees")
    plan = None
    if block.strip() or kinh_gui.strip():
        plan = await _plan(w, desk, block, kinh_gui, _answers(w))
    ctx = _ctx(w, desk, desks, "recipients")
    ctx.update(
        {
            "block": block,
            "kinh_gui": kinh_gui,
            "rows": _plan_rows(w, plan),
            "unresolved": len(plan.unresolved) if plan else 0,
            "sent_count": len([t for t in plan.targets() if not t.internal]) if plan else 0,
        }
    )
    return w.render("documents/recipients.html", ctx)


# --------------------------------------------------------------------------- new document

FIELDS = (
    "type",
    "subject",
    "content",
    "signer_name",
    "signer_position",
    "signer_competence",
    "place",
    "issued_on",
    "urgency",
    "confidentiality",
    "due_date",
    "unit_symbol",
    "reply_to",
    "addressees",
    "recipients",
)


def _form_values(w: WebRequest) -> dict[str, str]:
    return {k: w.form_str(k) for k in FIELDS}


async def _new_page(
    w: WebRequest,
    desk: AgencyDesk,
    desks: list[AgencyDesk],
    values: dict[str, str],
    plan: RecipientPlan | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    ctx = _ctx(w, desk, desks, "new")
    ctx.update(
        {
            "values": values,
            "types": decree30.DOCUMENT_TYPES,
            "urgencies": decree30.URGENCY[:4],
            "levels": decree30.CONFIDENTIALITY,
            "rows": _plan_rows(w, plan),
            "unresolved": len(plan.unresolved) if plan else 0,
            "error": error,
            "convert": w.form_str("convert_legacy") == "1",
            "skip": w.form_str("skip_unresolved") == "1",
            "paper": w.form_str("paper") == "1",
        }
    )
    return w.render("documents/new.html", ctx, status=status)


@router.get("/van-ban/moi")
async def new_form(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None or not desk.is_clerk:
        return w.error(403, "web.documents.clerks_only")
    values = {k: "" for k in FIELDS}
    values.update(
        {
            "type": "BC",
            "place": desk.agency.place or "",
            "issued_on": _docs(w).core.today().isoformat(),
        }
    )
    return await _new_page(w, desk, desks, values)


@router.post("/van-ban/moi")
async def new_submit(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None or not desk.is_clerk:
        return w.error(403, "web.documents.clerks_only")
    user = w.verified_user
    assert user is not None
    values = _form_values(w)
    answers = _answers(w)
    action = w.form_str("action")
    plan = await _plan(w, desk, values["recipients"], values["addressees"], answers)
    if action == "check":
        return await _new_page(w, desk, desks, values, plan)
    files: list[FileInput] = []
    for upload in w.form_files("main")[:1]:
        files.append(
            FileInput(
                upload.filename or "van-ban.pdf",
                upload.content_type or "application/pdf",
                await upload.read(),
                "main",
            )
        )
    for upload in w.form_files("appendix"):
        files.append(
            FileInput(
                upload.filename or "phu-luc",
                upload.content_type or "application/octet-stream",
                await upload.read(),
                "appendix",
            )
        )
    draft = DocumentDraft(
        type=values["type"],
        subject=values["subject"],
        content=values["content"],
        signer_name=values["signer_name"],
        signer_position=values["signer_position"],
        signer_competence=values["signer_competence"],
        place=values["place"],
        issued_on=_date(values["issued_on"]),
        urgency=values["urgency"],
        confidentiality=values["confidentiality"],
        due_date=_date(values["due_date"]),
        unit_symbol=values["unit_symbol"],
        reply_to=values["reply_to"],
        addressees=values["addressees"],
        recipients=values["recipients"],
        answers=answers,
        skip_unresolved=w.form_str("skip_unresolved") == "1",
        files=files,
        paper=w.form_str("paper") == "1",
    )
    docs = _docs(w)
    try:
        issued = await docs.outgoing.issue(
            user.address,
            desk.mailbox.address,
            draft,
            convert_legacy=w.form_str("convert_legacy") == "1",
        )
    except DocumentError as exc:
        return await _new_page(w, desk, desks, values, plan, _error_text(w, exc), 409)
    if action != "send":
        return w.redirect(f"/van-ban/di/{issued.id}", flash="documents_issued")
    try:
        await docs.outgoing.send(user.address, issued.id)
    except DocumentError as exc:
        return w.redirect(f"/van-ban/di/{issued.id}?error=" + _quote(_error_text(w, exc)))
    return w.redirect(f"/van-ban/di/{issued.id}", flash="documents_sent")


# --------------------------------------------------------------------------- problems


@router.get("/van-ban/su-co")
async def problems(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None:
        return w.error(404, "web.documents.no_desk")
    items = await _docs(w).problems([desk.agency.id], open_only=w.query("all") != "1")
    ctx = _ctx(w, desk, desks, "problems")
    ctx.update({"items": items, "all": w.query("all") == "1"})
    return w.render("documents/problems.html", ctx)


@router.post("/van-ban/su-co/{problem_id:int}/xong")
async def problem_done(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    try:
        await _docs(w).incoming.resolve_problem(user.address, int(w.params["problem_id"]))
    except DocumentError as exc:
        return w.error(403, "web.documents.failed", reason=_error_text(w, exc))
    mb = _mb(w)
    return w.redirect(
        f"/van-ban/su-co?mb={mb}" if mb else "/van-ban/su-co", flash="documents_saved"
    )


# --------------------------------------------------------------------------- by hand


async def _message(
    w: WebRequest, ref: str
) -> tuple[int, int, ParsedMessage, AgencyDesk, list[AgencyDesk]] | None:
    folder_s, sep, uid_s = ref.partition(":")
    if not sep or not folder_s.isdigit() or not uid_s.isdigit():
        return None
    desks = await _desks(w)
    async with w.core.store.read() as tx:
        folder = await tx.mail.folder_by_id(int(folder_s))
        message = await tx.mail.message_by_uid(int(folder_s), int(uid_s)) if folder else None
    if folder is None or message is None:
        return None
    desk = next((d for d in desks if d.mailbox.id == folder.mailbox_id), None)
    if desk is None:
        return None
    raw = await w.core.mailstore.read_raw(message)
    return folder.id, message.uid, parse_message(raw), desk, desks


@router.route("/van-ban/dang-ky", ("GET", "POST"))
async def register(w: WebRequest) -> Response:
    ref = w.query("ref") or w.form_str("ref")
    found = await _message(w, ref)
    if found is None:
        return w.error(404, "web.documents.not_found")
    folder_id, uid, parsed, desk, desks = found
    values = {
        "symbol": w.form_str("symbol"),
        "subject": w.form_str("subject", parsed.subject or ""),
        "issuer": w.form_str("issuer", parsed.from_display or parsed.from_addr or ""),
        "issuer_code": w.form_str("issuer_code"),
        "issued_on": w.form_str("issued_on"),
        "due_date": w.form_str("due_date"),
    }
    error = None
    if w.request.method == "POST":
        user = w.verified_user
        assert user is not None
        fields = ManualFields(
            symbol=values["symbol"],
            subject=values["subject"],
            issuer_name=values["issuer"],
            issuer_code=values["issuer_code"],
            issued_on=_date(values["issued_on"]),
            due_date=_date(values["due_date"]),
            force=w.form_str("force") == "1",
        )
        try:
            doc = await _docs(w).incoming.register_message(user.address, folder_id, uid, fields)
        except DocumentError as exc:
            error = _error_text(w, exc)
        else:
            return w.redirect(f"/van-ban/den/{doc.id}", flash="documents_registered")
    ctx = _ctx(w, desk, desks, "in")
    ctx.update({"ref": ref, "values": values, "parsed": parsed, "error": error})
    return w.render("documents/register.html", ctx, status=409 if error else 200)


# --------------------------------------------------------------------------- report


@router.get("/van-ban/chua-gui")
async def unsent(w: WebRequest) -> Response:
    desk, desks = await _desk(w, _mb(w))
    if desk is None:
        return w.error(404, "web.documents.no_desk")
    today = _docs(w).core.today()
    since = _date(w.query("from")) or today - timedelta(days=31)
    until = _date(w.query("to")) or today
    docs = await _docs(w).unsent_report(desk.agency.id, since, until)
    policy = await _docs(w).policies.for_agency(desk.agency.id)
    ctx = _ctx(w, desk, desks, "unsent")
    ctx.update({"docs": docs, "since": since, "until": until, "types": policy.mandatory_types})
    return w.render("documents/unsent.html", ctx)
