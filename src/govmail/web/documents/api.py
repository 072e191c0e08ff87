"""Official documents over the REST API (for document-management systems, R18), acting as
the person the token is bound to (a clerk, or a handler of the agency mailbox).

* ``POST /api/v1/documents`` (mail:send): issue a document (JSON, files in base64) and
  send it, unless ``"send": false``;
* ``POST /api/v1/documents/{id}/send`` (mail:send): send an issued document further;
* ``POST /api/v1/documents/{id}/paper`` (mail:send): record in the outgoing register that
  it went out on paper (as well);
* ``POST /api/v1/documents/recipients`` (mail:read): what each "Nơi nhận" line resolves to;
* ``GET /api/v1/documents/outgoing?mailbox=`` and ``/outgoing/{id}`` (mail:read): the
  outgoing register and what each recipient said;
* ``GET /api/v1/documents/incoming?mailbox=&status=`` (mail:read): the incoming register;
* ``POST /api/v1/documents/incoming/{id}/{action}`` (mail:send): accept, refuse (reason),
  assign (assignee, deadline), progress, complete.

Errors are problem+json; a refusal by the document policies is 422 with the pipeline's
reason (Vietnamese / English) as ``detail``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from starlette.responses import Response

from govmail.documents.errors import DocumentError, DocumentRefused
from govmail.documents.sending import DocumentDraft, FileInput
from govmail.documents.service import (
    AgencyDesk,
    DocumentService,
    IncomingView,
    OutgoingView,
)
from govmail.store.models import Mailbox
from govmail.web.api.base import ApiRequest, ApiRouter, ok
from govmail.web.api.problems import ApiProblem

router = ApiRouter()
SEND, READ = "mail:send", "mail:read"
ACTIONS = ("accept", "refuse", "assign", "progress", "complete")


def _docs(a: ApiRequest) -> DocumentService:
    return a.core.documents


async def _me(a: ApiRequest) -> Mailbox:
    assert a.token is not None
    if a.token.mailbox_id is None:
        raise ApiProblem(403, "token_not_bound")
    async with a.core.store.read() as tx:
        m = await tx.directory.mailbox_by_id(a.token.mailbox_id)
    if m is None or m.status != "active":
        raise ApiProblem(401, "token_mailbox_inactive")
    return m


async def _desk(a: ApiRequest, me: Mailbox, mailbox: str) -> AgencyDesk:
    try:
        return await _docs(a).desk(me.address, mailbox)
    except DocumentError as exc:
        raise ApiProblem(403, "document", detail=exc.text(a.lang)) from None


def _str(data: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApiProblem(422, "field_type", field=name, type="string")
    if required and not value.strip():
        raise ApiProblem(422, "field_required", field=name)
    return value


def _day(data: dict[str, Any], name: str) -> date | None:
    value = _str(data, name).strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiProblem(422, "field_type", field=name, type="date (YYYY-MM-DD)") from None


def _files(data: dict[str, Any]) -> list[FileInput]:
    value = data.get("files") or []
    if not isinstance(value, list):
        raise ApiProblem(422, "field_type", field="files", type="array")
    out: list[FileInput] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise ApiProblem(422, "bad_attachment", index=i)
        role = item.get("role") or ("main" if i == 0 else "appendix")
        if role not in ("main", "appendix"):
            raise ApiProblem(422, "bad_attachment", index=i)
        try:
            raw = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(422, "bad_attachment", index=i) from None
        out.append(
            FileInput(
                str(item.get("filename") or f"tep-{i + 1}")[:255],
                str(item.get("content_type") or "application/octet-stream"),
                raw,
                role,
            )
        )
    return out


def _answers(data: dict[str, Any]) -> dict[int, str]:
    value = data.get("answers") or {}
    if not isinstance(value, dict):
        raise ApiProblem(422, "field_type", field="answers", type="object")
    out: dict[int, str] = {}
    for k, v in value.items():
        if not str(k).isdigit() or not isinstance(v, str):
            raise ApiProblem(422, "field_type", field="answers", type="{line: text}")
        out[int(k)] = v
    return out


def _outgoing(view: OutgoingView) -> dict[str, Any]:
    d = view.doc
    return {
        "id": d.id,
        "symbol": view.symbol,
        "document_id": d.doc_uid,
        "type": d.type_name,
        "subject": d.subject,
        "issued_on": d.issued_on.isoformat(),
        "due_date": d.due_date.isoformat() if d.due_date else None,
        "status": d.status,
        "send_error": d.send_error,
        "recipients": [
            {
                "address": r.row.address,
                "name": r.row.name,
                "organ_id": r.row.organ_id,
                "internal": r.row.internal,
                "state": r.state,
                "delivered": r.delivered,
                "overdue": r.overdue,
                "status_code": r.row.status_code,
                "status_text": r.row.status_text,
                "steps": {
                    name: getattr(r.row, name).isoformat()
                    for name in (
                        "sent_at",
                        "received_at",
                        "accepted_at",
                        "refused_at",
                        "assigned_at",
                        "in_progress_at",
                        "completed_at",
                    )
                    if getattr(r.row, name) is not None
                },
            }
            for r in view.recipients
        ],
    }


def _incoming(view: IncomingView) -> dict[str, Any]:
    d = view.doc
    return {
        "id": d.id,
        "arrival_number": d.arrival_number,
        "arrived_at": d.arrived_at.isoformat(),
        "document_id": d.doc_uid,
        "symbol": view.symbol,
        "type": d.type_name,
        "subject": d.subject,
        "issuer": {"code": d.issuer_code, "name": d.issuer_name, "address": d.sender_address},
        "issued_on": d.issued_on.isoformat() if d.issued_on else None,
        "due_date": d.due_date.isoformat() if d.due_date else None,
        "status": d.status,
        "assignee": view.assignee.address if view.assignee else None,
        "deadline": d.deadline.isoformat() if d.deadline else None,
        "overdue": view.overdue,
        "files": [{k: f.get(k) for k in ("name", "content_type", "size", "role")} for f in d.files],
        "signatures": d.signatures,
        "warnings": d.warnings,
    }


@router.post("/documents/recipients", needs=READ)
async def recipients(a: ApiRequest) -> Response:
    me = await _me(a)
    data = await a.json()
    desk = await _desk(a, me, _str(data, "agency_mailbox", required=True))
    plan = await _docs(a).outgoing.plan(
        desk.agency.id, _str(data, "recipients"), _str(data, "kinh_gui"), _answers(data)
    )
    return ok({"lines": plan.to_json(), "unresolved": [r.line.number for r in plan.unresolved]})


@router.post("/documents", needs=SEND)
async def issue(a: ApiRequest) -> Response:
    me = await _me(a)
    data = await a.json()
    mailbox = _str(data, "agency_mailbox", required=True)
    signer = data.get("signer") or {}
    if not isinstance(signer, dict):
        raise ApiProblem(422, "field_type", field="signer", type="object")
    draft = DocumentDraft(
        type=_str(data, "type", required=True),
        subject=_str(data, "subject", required=True),
        signer_name=_str(signer, "name"),
        signer_position=_str(signer, "position"),
        signer_competence=_str(signer, "competence"),
        content=_str(data, "content"),
        place=_str(data, "place"),
        issued_on=_day(data, "issued_on"),
        confidentiality=_str(data, "confidentiality"),
        urgency=_str(data, "urgency"),
        due_date=_day(data, "due_date"),
        reply_to=_str(data, "reply_to"),
        unit_symbol=_str(data, "unit_symbol"),
        addressees=_str(data, "kinh_gui"),
        recipients=_str(data, "recipients"),
        answers=_answers(data),
        skip_unresolved=bool(data.get("skip_unresolved")),
        files=_files(data),
        paper=bool(data.get("paper")),
    )
    docs = _docs(a)
    try:
        issued = await docs.outgoing.issue(
            me.address, mailbox, draft, convert_legacy=bool(data.get("convert_legacy"))
        )
    except DocumentError as exc:
        raise ApiProblem(422, "document", detail=exc.text(a.lang)) from None
    body: dict[str, Any] = {
        "id": issued.id,
        "symbol": issued.symbol,
        "document_id": issued.doc_uid,
        "sent": [],
    }
    if data.get("send", True):
        body["sent"] = await _send(a, me.address, issued.id)
    return ok(body, 201, headers={"location": f"/api/v1/documents/outgoing/{issued.id}"})


@router.post("/documents/{doc_id:int}/send", needs=SEND)
async def send(a: ApiRequest) -> Response:
    me = await _me(a)
    return ok({"sent": await _send(a, me.address, int(a.params["doc_id"]))})


async def _send(a: ApiRequest, clerk: str, doc_id: int) -> list[dict[str, Any]]:
    """Send an issued document to its recipients; one outcome per address."""
    try:
        outcomes = await _docs(a).outgoing.send(clerk, doc_id)
    except DocumentRefused as exc:
        raise ApiProblem(422, "refused", detail=exc.reason) from None
    except DocumentError as exc:
        raise ApiProblem(422, "document", detail=exc.text(a.lang)) from None
    return [{"address": o.address, "ok": o.ok, "reason": o.reason} for o in outcomes]


@router.post("/documents/{doc_id:int}/paper", needs=SEND)
async def paper(a: ApiRequest) -> Response:
    """Record in the outgoing register that the document went out on paper (as well)."""
    me = await _me(a)
    try:
        doc = await _docs(a).outgoing.record_paper(me.address, int(a.params["doc_id"]))
    except DocumentError as exc:
        raise ApiProblem(422, "document", detail=exc.text(a.lang)) from None
    return ok({"id": doc.id, "paper": True, "sent": doc.sent_at is not None})


@router.get("/documents/outgoing", needs=READ)
async def outgoing(a: ApiRequest) -> Response:
    me = await _me(a)
    desk = await _desk(a, me, a.query("mailbox"))
    limit = a.query_int("limit", 100, 1, 500)
    views = await _docs(a).outgoing_register(desk.agency.id, limit=limit)
    return ok({"documents": [_outgoing(v) for v in views]})


@router.get("/documents/outgoing/{doc_id:int}", needs=READ)
async def outgoing_one(a: ApiRequest) -> Response:
    me = await _me(a)
    try:
        view = await _docs(a).outgoing_document(int(a.params["doc_id"]))
    except DocumentError:
        raise ApiProblem(404, "not_found") from None
    desks = await _docs(a).desks(me.address)
    if not any(d.mailbox.id == view.doc.mailbox_id for d in desks):
        raise ApiProblem(404, "not_found")
    return ok(_outgoing(view))


@router.get("/documents/incoming", needs=READ)
async def incoming(a: ApiRequest) -> Response:
    me = await _me(a)
    desk = await _desk(a, me, a.query("mailbox"))
    limit = a.query_int("limit", 100, 1, 500)
    views = await _docs(a).incoming_register(
        desk.agency.id, status=a.query("status") or None, limit=limit
    )
    return ok({"documents": [_incoming(v) for v in views]})


@router.post("/documents/incoming/{doc_id:int}/{action}", needs=SEND)
async def act(a: ApiRequest) -> Response:
    me = await _me(a)
    action = str(a.params["action"])
    if action not in ACTIONS:
        raise ApiProblem(404, "not_found")
    data = await a.json()
    doc_id = int(a.params["doc_id"])
    incoming_docs = _docs(a).incoming
    note = _str(data, "note")
    try:
        if action == "accept":
            await incoming_docs.accept(me.address, doc_id, note)
        elif action == "refuse":
            await incoming_docs.refuse(me.address, doc_id, _str(data, "reason", required=True))
        elif action == "assign":
            await incoming_docs.assign(
                me.address,
                doc_id,
                _str(data, "assignee", required=True),
                _day(data, "deadline"),
                note,
            )
        elif action == "progress":
            await incoming_docs.progress(me.address, doc_id, note)
        else:
            await incoming_docs.complete(me.address, doc_id, note)
    except DocumentError as exc:
        raise ApiProblem(409, "document", detail=exc.text(a.lang)) from None
    return ok(_incoming(await _docs(a).incoming_document(doc_id)))


def _openapi_paths() -> dict[str, Any]:
    """The OpenAPI description of these routes (merged by ``web.api.openapi``)."""
    from govmail.web.api.openapi import BOOL, INT, STR, json_body, op, path_param, query

    obj = {"type": "object"}
    doc_id = path_param("doc_id", INT, "Document id (from the register)")
    mailbox = query(
        "mailbox", STR, "The agency mailbox (hộp thư cơ quan) the token's person handles"
    )
    limit = query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "At most")
    files = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "filename": STR,
                "content_type": STR,
                "data": {"type": "string", "contentEncoding": "base64"},
                "role": {"type": "string", "enum": ["main", "appendix"]},
            },
        },
    }
    issue_body = {
        "type": "object",
        "required": ["agency_mailbox", "type", "subject"],
        "properties": {
            "agency_mailbox": STR,
            "type": {"type": "string", "description": "BC, QĐ, CV, Giấy mời, 14…"},
            "subject": {"type": "string", "description": "Trích yếu"},
            "content": STR,
            "signer": {
                "type": "object",
                "properties": {"name": STR, "position": STR, "competence": STR},
            },
            "place": STR,
            "issued_on": {"type": "string", "format": "date"},
            "urgency": STR,
            "confidentiality": STR,
            "due_date": {"type": "string", "format": "date"},
            "unit_symbol": STR,
            "reply_to": STR,
            "kinh_gui": STR,
            "recipients": {"type": "string", "description": "The Nơi nhận block as written"},
            "answers": {"type": "object", "additionalProperties": STR},
            "skip_unresolved": BOOL,
            "convert_legacy": BOOL,
            "send": BOOL,
            "paper": {"type": "boolean", "description": "Also (or only) sent on paper"},
            "files": files,
        },
    }
    action_body = {
        "type": "object",
        "properties": {
            "reason": STR,
            "assignee": STR,
            "deadline": {"type": "string", "format": "date"},
            "note": STR,
        },
    }
    action = path_param("action", {"type": "string", "enum": list(ACTIONS)}, "What to do")
    return {
        "/documents": {
            "post": op(
                "Issue and send an official document",
                SEND,
                json_body(obj, "Issued (and sent)"),
                status="201",
                body=issue_body,
                tag="documents",
            )
        },
        "/documents/{doc_id}/send": {
            "post": op(
                "Send an issued document", SEND, json_body(obj), params=[doc_id], tag="documents"
            )
        },
        "/documents/{doc_id}/paper": {
            "post": op(
                "Record that an issued document went out on paper",
                SEND,
                json_body(obj),
                params=[doc_id],
                tag="documents",
            )
        },
        "/documents/recipients": {
            "post": op(
                "Resolve a recipients block",
                READ,
                json_body(obj),
                tag="documents",
                body={
                    "type": "object",
                    "required": ["agency_mailbox"],
                    "properties": {
                        "agency_mailbox": STR,
                        "recipients": STR,
                        "kinh_gui": STR,
                        "answers": obj,
                    },
                },
            )
        },
        "/documents/outgoing": {
            "get": op(
                "List the outgoing register",
                READ,
                json_body(obj),
                params=[mailbox, limit],
                tag="documents",
            )
        },
        "/documents/outgoing/{doc_id}": {
            "get": op(
                "Get an outgoing document with its recipients",
                READ,
                json_body(obj),
                params=[doc_id],
                tag="documents",
            )
        },
        "/documents/incoming": {
            "get": op(
                "List the incoming register",
                READ,
                json_body(obj),
                params=[mailbox, limit, query("status", STR, "registered, accepted…")],
                tag="documents",
            )
        },
        "/documents/incoming/{doc_id}/{action}": {
            "post": op(
                "Act on an incoming document",
                SEND,
                json_body(obj),
                params=[doc_id, action],
                body=action_body,
                tag="documents",
            )
        },
    }


OPENAPI_PATHS = _openapi_paths()
