"""Writing mail: new, reply, reply to all, forward, drafts. Sending goes through the one
delivery pipeline (``Pipeline.deliver`` with ``source="web"``), which checks the sender's
identity, stores the Sent copy and queues remote recipients; drafts go to the Drafts
folder through the MailStore, as an IMAP APPEND would."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.responses import Response

from govmail.delivery.envelope import Envelope
from govmail.delivery.mailstore import MailStoreError
from govmail.delivery.pipeline import DeliveryRefused
from govmail.mail.headers import Address, parse_address_list
from govmail.mail.parsed import PartNotFound, decoded_part, parse_message, text_body
from govmail.mail.textfold import nfc
from govmail.store.models import utcnow
from govmail.web.mailbuild import Attachment, Draft, build_message, quote_text, reply_subject
from govmail.web.routing import WebRequest, WebRouter
from govmail.web.webmail.common import (
    MailboxView,
    accessible_mailboxes,
    folder_for,
    folder_key,
    parse_ref,
    parsed_of,
    sidebar,
)
from govmail.web.webmail.message import people

router = WebRouter()


@dataclass(slots=True)
class KeptAttachment:
    ref: str  # "folder_id:uid:part"
    filename: str
    size: int


@dataclass(slots=True)
class ComposeForm:
    from_addr: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    references: str = ""
    reply_ref: str = ""  # the message answered ("folder:uid"), flagged \Answered on send
    forward_ref: str = ""  # the message forwarded, flagged $Forwarded on send
    draft_ref: str = ""  # the draft being edited, removed once sent or saved anew
    kept: list[KeptAttachment] = field(default_factory=list)


def _pairs(addresses: list[Address] | None) -> list[tuple[str | None, str]]:
    return [(p.name, p.address) for p in people(addresses)]


def _addr_text(pairs: list[tuple[str | None, str]]) -> str:
    return ", ".join(f"{n} <{a}>" if n else a for n, a in pairs)


async def _source(w: WebRequest, ref: str):  # type: ignore[no-untyped-def]
    """(folder, message, parsed, raw) of a message the user may read, or None."""
    parsed_ref = parse_ref(ref)
    if parsed_ref is None:
        return None
    async with w.core.store.read() as tx:
        found = await folder_for(w, tx, parsed_ref[0])
        if found is None:
            return None
        message = await tx.mail.message_by_uid(parsed_ref[0], parsed_ref[1])
    if message is None:
        return None
    raw = await w.core.mailstore.read_raw(message)
    return found[0], message, parsed_of(message) or parse_message(raw), raw


def _identities(boxes: dict[int, MailboxView]) -> list[MailboxView]:
    return [b for b in boxes.values() if b.can_send]


async def _render(
    w: WebRequest, form: ComposeForm, *, error: str | None = None, status: int = 200
) -> Response:
    user = w.verified_user
    assert user is not None
    async with w.core.store.read() as tx:
        boxes = await accessible_mailboxes(w, tx)
        folders = await sidebar(w, tx, user.id, None)
    return w.render(
        "mail/compose.html",
        {
            "form": form,
            "identities": _identities(boxes),
            "folders": folders,
            "mailboxes": list(boxes.values()),
            "mailbox": boxes[user.id],
            "error": error,
            "max_size": w.core.settings.limits.max_message_size,
        },
        status=status,
    )


@router.get("/compose")
async def compose_form(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    form = ComposeForm(from_addr=user.address, to=w.query("to"))
    reply = w.query("reply")
    forward = w.query("forward")
    draft = w.query("draft")
    if reply:
        src = await _source(w, reply)
        if src is None:
            return w.error(404, "web.error.no_message")
        folder, message, parsed, raw = src
        env = parsed.envelope
        to = people(env.reply_to or env.from_)
        pairs = [(p.name, p.address) for p in to]
        if w.query("all") == "1":
            mine = {user.address}
            seen = {a for _, a in pairs}
            cc = []
            for p in people(env.to) + people(env.cc):
                if p.address not in mine and p.address not in seen:
                    cc.append((p.name, p.address))
                    seen.add(p.address)
            form.cc = _addr_text(cc)
        form.to = _addr_text(pairs)
        form.subject = reply_subject(parsed.subject, "Re:")
        form.in_reply_to = parsed.message_id or ""
        form.references = " ".join(
            [*parsed.references, *([parsed.message_id] if parsed.message_id else [])][-20:]
        )
        form.reply_ref = reply
        plain, html = text_body(raw, parsed)
        text = plain if plain is not None else _html_text(html)
        sender = to[0].name or to[0].address if to else ""
        when = w.state.renderer.dt_long(parsed.date or message.internal_date)
        intro = w.t("web.compose.quote_intro", date=when, sender=sender)
        form.body = f"\n\n{intro}\n{quote_text(text or '')}\n"
    elif forward:
        src = await _source(w, forward)
        if src is None:
            return w.error(404, "web.error.no_message")
        folder, message, parsed, raw = src
        form.subject = reply_subject(parsed.subject, "Fwd:")
        form.forward_ref = forward
        plain, html = text_body(raw, parsed)
        text = plain if plain is not None else _html_text(html)
        env = parsed.envelope
        when = w.state.renderer.dt_long(parsed.date or message.internal_date)
        header = [
            w.t("web.compose.forward_intro"),
            f"{w.t('web.mail.from')}: {_addr_text(_pairs(env.from_))}",
            f"{w.t('web.mail.date')}: {when}",
            f"{w.t('web.mail.subject')}: {parsed.subject}",
            f"{w.t('web.mail.to')}: {_addr_text(_pairs(env.to))}",
        ]
        form.body = "\n\n" + "\n".join(header) + "\n\n" + (text or "") + "\n"
        form.kept = [
            KeptAttachment(f"{folder.id}:{message.uid}:{a.part}", a.filename or a.part, a.size)
            for a in parsed.attachments
        ]
    elif draft:
        src = await _source(w, draft)
        if src is None:
            return w.error(404, "web.error.no_message")
        folder, message, parsed, raw = src
        env = parsed.envelope
        form.from_addr = parsed.from_addr or user.address
        form.to = _addr_text(_pairs(env.to))
        form.cc = _addr_text(_pairs(env.cc))
        form.bcc = _addr_text(_pairs(env.bcc))
        form.subject = parsed.subject
        plain, html = text_body(raw, parsed)
        form.body = plain if plain is not None else _html_text(html)
        form.in_reply_to = parsed.in_reply_to or ""
        form.references = " ".join(parsed.references)
        form.draft_ref = draft
        form.kept = [
            KeptAttachment(f"{folder.id}:{message.uid}:{a.part}", a.filename or a.part, a.size)
            for a in parsed.attachments
        ]
    return await _render(w, form)


def _html_text(html: str | None) -> str:
    from govmail.mail.htmltext import html_to_text

    return html_to_text(html) if html else ""


def _parse_recipients(value: str) -> tuple[list[tuple[str | None, str]], list[str]]:
    """(name, address) pairs, and the pieces that are not addresses."""
    good: list[tuple[str | None, str]] = []
    bad: list[str] = []
    text = nfc(value.replace(";", ",")).strip()
    if not text:
        return good, bad
    for a in parse_address_list(text):
        if a.is_group_start or a.is_group_end:
            continue
        spec = a.addr_spec
        if spec and "." in spec.rsplit("@", 1)[-1] and " " not in spec:
            if spec.lower() not in {g[1].lower() for g in good}:
                good.append((a.display_name, spec))
        else:
            bad.append(a.display_name or a.mailbox or "?")
    return good, bad


def _form_from_request(w: WebRequest) -> ComposeForm:
    form = ComposeForm(
        from_addr=w.form_str("from").strip().lower(),
        to=w.form_str("to"),
        cc=w.form_str("cc"),
        bcc=w.form_str("bcc"),
        subject=w.form_str("subject"),
        body=w.form_str("body"),
        in_reply_to=w.form_str("in_reply_to"),
        references=w.form_str("references"),
        reply_ref=w.form_str("reply_ref"),
        forward_ref=w.form_str("forward_ref"),
        draft_ref=w.form_str("draft_ref"),
    )
    return form


async def _kept_attachments(w: WebRequest, refs: list[str]) -> list[Attachment] | None:
    """Attachments carried over from a forwarded message or an edited draft."""
    out: list[Attachment] = []
    cache: dict[str, tuple] = {}  # type: ignore[type-arg]
    for ref in refs:
        head, sep, part = ref.rpartition(":")
        if not sep:
            return None
        if head not in cache:
            src = await _source(w, head)
            if src is None:
                return None
            cache[head] = src
        _folder, _message, parsed, raw = cache[head]
        meta = {a.part: a for a in parsed.attachments}.get(part)
        if meta is None:
            return None
        try:
            data = decoded_part(raw, parsed, part)
        except PartNotFound:
            return None
        out.append(Attachment(meta.filename or f"part-{part}", meta.content_type, data))
    return out


@router.post("/compose")
async def compose_submit(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    form = _form_from_request(w)
    action = w.form_str("action", "send")
    async with w.core.store.read() as tx:
        boxes = await accessible_mailboxes(w, tx)
    identity = next((b for b in _identities(boxes) if b.address == form.from_addr), None)
    if identity is None:
        identity = boxes[user.id]
        form.from_addr = identity.address
    to, bad_to = _parse_recipients(form.to)
    cc, bad_cc = _parse_recipients(form.cc)
    bcc, bad_bcc = _parse_recipients(form.bcc)
    kept_refs = w.form_list("keep")
    kept = await _kept_attachments(w, kept_refs)
    if kept is None:
        return await _render(w, form, error=w.t("web.compose.lost_attachment"), status=400)
    form.kept = []
    uploads = []
    for f in w.form_files("attachment"):
        data = await f.read()
        uploads.append(Attachment(nfc(f.filename or "file"), f.content_type or "", data))
    draft = Draft(
        from_name=identity.name,
        from_addr=identity.address,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=form.subject,
        body=form.body,
        in_reply_to=form.in_reply_to.strip() or None,
        references=form.references.split(),
        attachments=kept + uploads,
    )
    if action == "draft":
        return await _save_draft(w, form, draft, user.id)
    bad = bad_to + bad_cc + bad_bcc
    if bad:
        error = w.t("web.compose.bad_address", address=", ".join(bad))
        return await _refuse(w, form, draft, error, 400, user.id)
    if not (to or cc or bcc):
        return await _refuse(w, form, draft, w.t("web.compose.no_recipient"), 400, user.id)
    raw = build_message(draft, date=utcnow())
    env = Envelope(
        mail_from=identity.address,
        rcpt_to=[a for _, a in to + cc + bcc],
        source="web",
        auth_user=user.address,
        client_ip=w.client_ip,
    )
    try:
        result = await w.core.pipeline.deliver(env, raw)
    except DeliveryRefused as exc:
        return await _refuse(
            w, form, draft, w.t("web.compose.refused", reason=exc.reason), 422, user.id, True
        )
    await _after_send(w, form)
    refused = result.refused
    if refused:
        detail = "; ".join(f"{r.address}: {r.reason}" for r in refused)
        async with w.core.store.read() as tx:
            sent = await tx.mail.special_folder(user.id, "\\Sent")
        return w.render(
            "mail/partial_send.html",
            {"detail": detail, "accepted": result.accepted, "sent_id": sent.id if sent else None},
            status=200,
        )
    return w.redirect("/mail", flash="sent")


async def _refuse(
    w: WebRequest,
    form: ComposeForm,
    draft: Draft,
    error: str,
    status: int,
    mailbox_id: int,
    always_save: bool = False,
) -> Response:
    """Show the form again with the error. Attachments cannot be put back into a file
    field, so when there are any (or the pipeline refused the message) the message is
    kept as a draft and the form refers to its attachments."""
    if draft.attachments or always_save:
        ref = await _store_draft(w, draft, form.draft_ref, mailbox_id)
        if ref is not None:
            form.draft_ref = ref
            src = await _source(w, ref)
            if src is not None:
                folder, message, parsed, _raw = src
                form.kept = [
                    KeptAttachment(
                        f"{folder.id}:{message.uid}:{a.part}", a.filename or a.part, a.size
                    )
                    for a in parsed.attachments
                ]
            error += " " + w.t("web.compose.kept_as_draft")
    return await _render(w, form, error=error, status=status)


async def _after_send(w: WebRequest, form: ComposeForm) -> None:
    """Mark the answered/forwarded original, drop the draft that became this message."""
    ms = w.core.mailstore
    for ref, flag in ((form.reply_ref, "\\Answered"), (form.forward_ref, "$Forwarded")):
        parsed_ref = parse_ref(ref)
        if parsed_ref is None:
            continue
        async with w.core.store.read() as tx:
            ok = await folder_for(w, tx, parsed_ref[0])
        if ok is not None:
            await ms.set_flags(parsed_ref[0], [parsed_ref[1]], "add", [flag])
    await _drop_draft(w, form.draft_ref)


async def _drop_draft(w: WebRequest, ref: str) -> None:
    parsed_ref = parse_ref(ref)
    if parsed_ref is None:
        return
    async with w.core.store.read() as tx:
        found = await folder_for(w, tx, parsed_ref[0])
    if found is None or folder_key(found[0]) != "\\Drafts":
        return
    await w.core.mailstore.set_flags(parsed_ref[0], [parsed_ref[1]], "add", ["\\Deleted"])
    await w.core.mailstore.expunge(parsed_ref[0], [parsed_ref[1]])


async def _store_draft(w: WebRequest, draft: Draft, old_ref: str, mailbox_id: int) -> str | None:
    """Append the draft to Drafts (replacing ``old_ref``); returns its "folder:uid"."""
    async with w.core.store.read() as tx:
        drafts = await tx.mail.special_folder(mailbox_id, "\\Drafts")
    if drafts is None:
        return None
    raw = build_message(draft, date=utcnow(), keep_bcc=True)
    try:
        appended = await w.core.mailstore.append(drafts, raw, ["\\Draft", "\\Seen"])
    except MailStoreError:
        return None
    await _drop_draft(w, old_ref)
    return f"{drafts.id}:{appended.uid}"


async def _save_draft(w: WebRequest, form: ComposeForm, draft: Draft, mailbox_id: int) -> Response:
    ref = await _store_draft(w, draft, form.draft_ref, mailbox_id)
    if ref is None:
        return await _render(w, form, error=w.t("web.compose.draft_failed"), status=507)
    return w.redirect(f"/compose?draft={ref}", flash="draft_saved")
