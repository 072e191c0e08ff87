"""Reading a message: the page, its HTML body in a sandboxed frame, attachments, source."""

from __future__ import annotations

import base64
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass

from starlette.responses import HTMLResponse, Response

from govmail.mail.headers import Address
from govmail.mail.parsed import (
    ParsedMessage,
    PartNotFound,
    decoded_part,
    find_part,
    parse_message,
    text_body,
    walk_parts,
)
from govmail.store.models import Folder, Message
from govmail.store.repos.webmail import WebRepo
from govmail.web.routing import WebRequest, WebRouter
from govmail.web.sanitize import Sanitized, plain_to_html, sanitize_html
from govmail.web.webmail.common import (
    accessible_mailboxes,
    folder_for,
    folder_key,
    folder_label,
    parsed_of,
    sidebar,
)

router = WebRouter()

INLINE_IMAGE_BUDGET = 5 * 1024 * 1024
_CACHE_SIZE = 64


def body_csp(allow_images: bool) -> str:
    """The mail frame's own policy: no script at all, no request anywhere unless the
    reader allowed remote images; a sandbox even if the frame were opened on its own."""
    img = "data: https: http:" if allow_images else "data:"
    return (
        f"default-src 'none'; img-src {img}; style-src 'unsafe-inline'; font-src 'none'; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )


@dataclass(slots=True)
class Loaded:
    folder: Folder
    message: Message
    parsed: ParsedMessage
    raw: bytes


async def load_message(w: WebRequest) -> Loaded | Response:
    async with w.core.store.read() as tx:
        found = await folder_for(w, tx, w.params["folder_id"])
        if found is None:
            return w.error(404, "web.error.no_message")
        folder, _mb = found
        message = await tx.mail.message_by_uid(folder.id, w.params["uid"])
    if message is None:
        return w.error(404, "web.error.no_message")
    raw = await w.core.mailstore.read_raw(message)
    parsed = parsed_of(message) or parse_message(raw)
    return Loaded(folder, message, parsed, raw)


def _cid_images(raw: bytes, parsed: ParsedMessage) -> dict[str, str]:
    """Content-ID -> data: URL for the message's inline images, within a size budget."""
    out: dict[str, str] = {}
    budget = INLINE_IMAGE_BUDGET
    for number, part in walk_parts(parsed):
        if part.type != "image" or not part.id or part.parts:
            continue
        try:
            data = decoded_part(raw, parsed, number)
        except PartNotFound:
            continue
        if len(data) > budget:
            continue
        budget -= len(data)
        b64 = base64.b64encode(data).decode()
        out[part.id.strip().strip("<>")] = f"data:{part.media_type};base64,{b64}"
    return out


def sanitized_body(w: WebRequest, loaded: Loaded, html: str, allow_images: bool) -> Sanitized:
    """The sanitised body, from a small per-installation cache (the page and its frame
    both need it, one request after the other)."""
    cache: OrderedDict[tuple[int, bool], Sanitized] = w.state.extras.setdefault(
        "sanitized", OrderedDict()
    )
    key = (loaded.message.blob_id, allow_images)
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    cids = _cid_images(loaded.raw, loaded.parsed) if "cid:" in html.lower() else {}
    result = sanitize_html(html, cid_resolver=cids.get, allow_remote_images=allow_images)
    cache[key] = result
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return result


@dataclass(slots=True)
class Person:
    name: str | None
    address: str


def people(addresses: list[Address] | None) -> list[Person]:
    return [Person(a.display_name, a.addr_spec) for a in addresses or () if a.addr_spec]


@router.get("/mail/f/{folder_id:int}/m/{uid:int}")
async def read(w: WebRequest) -> Response:
    loaded = await load_message(w)
    if isinstance(loaded, Response):
        return loaded
    folder, message, parsed = loaded.folder, loaded.message, loaded.parsed
    if folder_key(folder) == "\\Drafts":
        return w.redirect(f"/compose?draft={folder.id}:{message.uid}")
    plain, html = text_body(loaded.raw, parsed)
    allow_images = w.query("images") == "1"
    blocked = 0
    body_html = None
    if html is not None:
        blocked = sanitized_body(w, loaded, html, allow_images).blocked_images
    elif plain is not None:
        body_html = plain_to_html(plain)
    if not message.seen:
        await w.core.mailstore.set_flags(folder.id, [message.uid], "add", ["\\Seen"])
        message.seen = True
    async with w.core.store.read() as tx:
        folders = await sidebar(w, tx, folder.mailbox_id, folder.id)
        newer, older = await WebRepo(tx.session, w.core.store.dialect).neighbours(
            folder.id, message
        )
        boxes = await accessible_mailboxes(w, tx)
    env = parsed.envelope
    base = f"/mail/f/{folder.id}/m/{message.uid}"
    return w.render(
        "mail/message.html",
        {
            "folder": folder,
            "folder_title": folder_label(w, folder),
            "folders": folders,
            "mailboxes": list(boxes.values()),
            "mailbox": boxes[folder.mailbox_id],
            "message": message,
            "parsed": parsed,
            "sender": people(env.from_),
            "to": people(env.to),
            "cc": people(env.cc),
            "date": parsed.date or message.internal_date,
            "body_html": body_html,
            "has_html": html is not None,
            "frame_src": base + "/body" + ("?images=1" if allow_images else ""),
            "blocked": blocked,
            "allow_images": allow_images,
            "base": base,
            "newer": newer,
            "older": older,
            "here": base + ("?images=1" if allow_images else ""),
        },
    )


@router.get("/mail/f/{folder_id:int}/m/{uid:int}/body")
async def body(w: WebRequest) -> Response:
    """The sanitised HTML body as its own document, for the sandboxed frame."""
    loaded = await load_message(w)
    if isinstance(loaded, Response):
        return loaded
    _plain, html = text_body(loaded.raw, loaded.parsed)
    allow_images = w.query("images") == "1"
    cleaned = sanitized_body(w, loaded, html or "", allow_images).html
    document = (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        "<style>body{font:15px/1.45 system-ui,sans-serif;margin:8px;color:#222;"
        "overflow-wrap:anywhere}img{max-width:100%;height:auto}"
        "table{max-width:100%}pre{white-space:pre-wrap}</style></head><body>"
        + cleaned
        + "</body></html>"
    )
    return HTMLResponse(
        document,
        headers={
            "content-security-policy": body_csp(allow_images),
            "x-frame-options": "SAMEORIGIN",
            "cache-control": "private, no-store",
        },
    )


def content_disposition(kind: str, filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    quoted = urllib.parse.quote(filename, safe="")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


@router.get("/mail/f/{folder_id:int}/m/{uid:int}/part/{part}")
async def attachment(w: WebRequest) -> Response:
    loaded = await load_message(w)
    if isinstance(loaded, Response):
        return loaded
    number = w.params["part"]
    listed = {a.part: a for a in loaded.parsed.attachments}
    node = find_part(loaded.parsed, number)
    if number not in listed or node is None:
        return w.error(404, "web.error.no_attachment")
    meta = listed[number]
    data = decoded_part(loaded.raw, loaded.parsed, number)
    filename = meta.filename or f"part-{number}"
    is_pdf = meta.content_type == "application/pdf" or filename.lower().endswith(".pdf")
    if is_pdf and w.query("inline") == "1":
        # The browser's own PDF viewer shows it; PDFs cannot reach our pages' cookies or DOM.
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "content-disposition": content_disposition("inline", filename),
                "content-security-policy": "frame-ancestors 'self'",
                "x-frame-options": "SAMEORIGIN",
                "cache-control": "private, no-store",
            },
        )
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "content-disposition": content_disposition("attachment", filename),
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "private, no-store",
        },
    )


@router.get("/mail/f/{folder_id:int}/m/{uid:int}/source")
async def source(w: WebRequest) -> Response:
    loaded = await load_message(w)
    if isinstance(loaded, Response):
        return loaded
    name = (loaded.parsed.subject or "message")[:80] + ".eml"
    return Response(
        loaded.raw,
        media_type="message/rfc822",
        headers={
            "content-disposition": content_disposition("attachment", name),
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "private, no-store",
        },
    )
