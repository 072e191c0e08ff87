"""Sending and reading mail over the API, as the one mailbox the token is bound to.

Sending builds the message with the webmail's builder (``web.mailbuild``) and hands it
to ``Pipeline.deliver`` with ``source="api"``: the sender identity check (own address or
an agency mailbox the person handles), the Sent copy and the outbound queue are the
pipeline's. Reading never changes flags."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.responses import Response

from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.mail.headers import parse_address_list
from govmail.mail.parsed import (
    ParsedMessage,
    PartNotFound,
    StoredMetadataError,
    decoded_part,
    parse_message,
    text_body,
)
from govmail.mail.textfold import nfc
from govmail.store.models import Folder, Mailbox, Message, utcnow
from govmail.web.api.base import ApiRequest, ApiRouter, ok
from govmail.web.api.problems import ApiProblem
from govmail.web.mailbuild import Attachment, Draft, build_message
from govmail.web.webmail.message import content_disposition

router = ApiRouter()
SEND, READ = "mail:send", "mail:read"
MAX_RECIPIENTS = 500
MAX_PAGE = 200


async def _bound(a: ApiRequest) -> Mailbox:
    assert a.token is not None
    if a.token.mailbox_id is None:
        raise ApiProblem(403, "token_not_bound")
    async with a.core.store.read() as tx:
        m = await tx.directory.mailbox_by_id(a.token.mailbox_id)
    if m is None or m.status != "active":
        raise ApiProblem(401, "token_mailbox_inactive")
    return m


def _recipients(data: dict[str, Any], name: str) -> list[tuple[str | None, str]]:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ApiProblem(422, "field_type", field=name, type="array")
    out: list[tuple[str | None, str]] = []
    for item in value:
        display: str | None = None
        if isinstance(item, dict):
            display, text = item.get("name"), item.get("address")
            if not isinstance(text, str) or (display is not None and not isinstance(display, str)):
                raise ApiProblem(422, "bad_address", address=str(item)[:200])
        elif isinstance(item, str):
            text = item
        else:
            raise ApiProblem(422, "bad_address", address=str(item)[:200])
        parsed = [p for p in parse_address_list(nfc(text)) if p.addr_spec]
        if len(parsed) != 1:
            raise ApiProblem(422, "bad_address", address=text[:200])
        spec = parsed[0].addr_spec or ""
        domain = spec.rsplit("@", 1)[-1]
        if "." not in domain or " " in spec:
            raise ApiProblem(422, "bad_address", address=text[:200])
        out.append((display or parsed[0].display_name, spec))
    return out


def _attachments(data: dict[str, Any]) -> list[Attachment]:
    value = data.get("attachments") or []
    if not isinstance(value, list):
        raise ApiProblem(422, "field_type", field="attachments", type="array")
    out: list[Attachment] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise ApiProblem(422, "bad_attachment", index=i)
        filename = item.get("filename") or f"attachment-{i + 1}"
        ctype = item.get("content_type") or "application/octet-stream"
        if not isinstance(filename, str) or not isinstance(ctype, str):
            raise ApiProblem(422, "bad_attachment", index=i)
        try:
            raw = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(422, "bad_attachment", index=i) from None
        out.append(Attachment(nfc(filename)[:255], ctype, raw))
    return out


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiProblem(422, "field_type", field=name, type="string")
    return value


@router.post("/messages", needs=SEND)
async def send(a: ApiRequest) -> Response:
    """Send a message (JSON: from, to, cc, bcc, subject, text, attachments)."""
    me = await _bound(a)
    data = await a.json()
    sender = _text(data, "from").strip().lower() or me.address
    to, cc, bcc = (_recipients(data, k) for k in ("to", "cc", "bcc"))
    if not (to or cc or bcc):
        raise ApiProblem(422, "no_recipient")
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise ApiProblem(422, "too_many_recipients", max=MAX_RECIPIENTS)
    async with a.core.store.read() as tx:
        identity = await tx.directory.mailbox_by_address(sender)
    draft = Draft(
        from_name=identity.full_name if identity else "",
        from_addr=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=_text(data, "subject"),
        body=_text(data, "text"),
        in_reply_to=_text(data, "in_reply_to").strip() or None,
        attachments=_attachments(data),
    )
    raw = build_message(draft, date=utcnow())
    env = Envelope(
        mail_from=sender,
        rcpt_to=[addr for _, addr in to + cc + bcc],
        source="api",
        auth_user=me.address,
        client_ip=a.client_ip,
    )
    try:
        result = await a.core.pipeline.deliver(env, raw)
    except DeliveryRefused as exc:
        status = 503 if exc.temporary else 422
        raise ApiProblem(status, "refused", detail=exc.reason) from None
    return ok(
        {
            "queue_id": result.queue_id,
            "message_id": result.message_id,
            "accepted": result.accepted,
            "refused": [
                {"address": r.address, "code": r.code, "reason": r.reason} for r in result.refused
            ],
        },
        202,
    )


# -- reading -----------------------------------------------------------------------------


async def _folder(a: ApiRequest, me: Mailbox) -> Folder:
    async with a.core.store.read() as tx:
        folder = await tx.mail.folder_by_id(a.params["folder_id"])
    if folder is None or folder.mailbox_id != me.id:
        raise ApiProblem(404, "no_folder")
    return folder


def _parsed(message: Message) -> ParsedMessage | None:
    try:
        return ParsedMessage.from_dict(message.meta | {"text_for_search": ""})
    except StoredMetadataError:
        return None


async def _message(a: ApiRequest) -> tuple[Message, ParsedMessage, bytes]:
    me = await _bound(a)
    folder = await _folder(a, me)
    async with a.core.store.read() as tx:
        message = await tx.mail.message_by_uid(folder.id, a.params["uid"])
    if message is None:
        raise ApiProblem(404, "no_message")
    raw = await a.core.mailstore.read_raw(message)
    return message, _parsed(message) or parse_message(raw), raw


def _flags(m: Message) -> list[str]:
    names = {
        "\\Seen": m.seen,
        "\\Answered": m.answered,
        "\\Flagged": m.flagged,
        "\\Deleted": m.deleted,
        "\\Draft": m.draft,
    }
    return [k for k, v in names.items() if v] + [k for k in (m.keywords or "").split() if k]


def _summary(m: Message) -> dict[str, Any]:
    return {
        "uid": m.uid,
        "subject": m.subject,
        "from": {"name": (m.meta or {}).get("from_display"), "address": m.from_addr or None},
        "date": (m.sent_date or m.internal_date).isoformat(),
        "received_at": m.internal_date.isoformat(),
        "size": m.size,
        "flags": _flags(m),
        "has_attachments": m.has_attachments,
    }


@router.get("/mail/folders", needs=READ)
async def folders(a: ApiRequest) -> Response:
    me = await _bound(a)
    async with a.core.store.read() as tx:
        rows = await tx.mail.folders_of(me.id)
        counts = await tx.mail.folder_counts([f.id for f in rows])
    return ok(
        {
            "mailbox": me.address,
            "items": [
                {
                    "id": f.id,
                    "name": f.name,
                    "special_use": f.special_use,
                    "messages": counts[f.id][0],
                    "unseen": counts[f.id][1],
                    "size": counts[f.id][2],
                }
                for f in rows
            ],
        }
    )


@router.get("/mail/folders/{folder_id:int}/messages", needs=READ)
async def messages(a: ApiRequest) -> Response:
    me = await _bound(a)
    folder = await _folder(a, me)
    limit = a.query_int("limit", 50, 1, MAX_PAGE)
    offset = a.query_int("offset", 0, 0, 10**9)
    unseen = a.query("unseen") in ("1", "true")
    async with a.core.store.read() as tx:
        total = await tx.mail.message_count(folder.id)
        page = await tx.mail.page(folder.id, offset=offset, limit=limit, only_unseen=unseen)
    return ok({"folder": folder.name, "total": total, "items": [_summary(m) for m in page]})


@router.get("/mail/folders/{folder_id:int}/messages/{uid:int}", needs=READ)
async def message(a: ApiRequest) -> Response:
    m, parsed, raw = await _message(a)
    plain, html = text_body(raw, parsed)
    if plain is None and html:
        from govmail.mail.htmltext import html_to_text

        plain = html_to_text(html)
    env = parsed.envelope

    def people(addresses: Any) -> list[dict[str, str | None]]:
        return [
            {"name": p.display_name, "address": p.addr_spec} for p in addresses or () if p.addr_spec
        ]

    return ok(
        {
            **_summary(m),
            "folder_id": m.folder_id,
            "message_id": parsed.message_id,
            "in_reply_to": parsed.in_reply_to,
            "to": people(env.to),
            "cc": people(env.cc),
            "reply_to": people(env.reply_to),
            "text": plain,
            "has_html": html is not None,
            "attachments": [att.to_dict() for att in parsed.attachments],
        }
    )


@router.get("/mail/folders/{folder_id:int}/messages/{uid:int}/raw", needs=READ)
async def raw_message(a: ApiRequest) -> Response:
    _m, parsed, raw = await _message(a)
    name = (parsed.subject or "message")[:80] + ".eml"
    return Response(
        raw,
        media_type="message/rfc822",
        headers={"content-disposition": content_disposition("attachment", name)},
    )


@router.get("/mail/folders/{folder_id:int}/messages/{uid:int}/attachments/{part}", needs=READ)
async def attachment(a: ApiRequest) -> Response:
    _m, parsed, raw = await _message(a)
    number = a.params["part"]
    listed = {att.part: att for att in parsed.attachments}
    if number not in listed:
        raise ApiProblem(404, "no_attachment")
    try:
        data = decoded_part(raw, parsed, number)
    except PartNotFound:
        raise ApiProblem(404, "no_attachment") from None
    meta = listed[number]
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "content-disposition": content_disposition(
                "attachment", meta.filename or f"part-{number}"
            ),
        },
    )
