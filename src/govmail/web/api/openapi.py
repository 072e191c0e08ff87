"""The OpenAPI 3.1 description of /api/v1, written as data (served at
/api/v1/openapi.json; tests validate it and check it names every route)."""

from __future__ import annotations

from typing import Any

from govmail.store.models_api import API_SCOPES

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
BOOL = {"type": "boolean"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": ref("Problem")}},
    }


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["total", "items"],
        "properties": {"total": INT, "items": {"type": "array", "items": ref(item)}},
    }


ERRORS = {
    "400": problem("Bad request / Yêu cầu không hợp lệ"),
    "401": problem("Missing, forged, revoked or expired token"),
    "403": problem("Scope missing, or outside the token's agency subtree (audited)"),
    "404": problem("Not found"),
    "409": problem("Conflict (already exists, already in that state)"),
    "413": problem("Body too large"),
    "415": problem("JSON expected"),
    "422": problem("Invalid field"),
    "429": problem("Too many failed token attempts from this address"),
}


def op(
    summary: str,
    scope: str,
    ok: dict[str, Any],
    *,
    status: str = "200",
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    tag: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "operationId": summary.lower().replace(" ", "_").replace("'", "").replace(",", ""),
        "security": [{"bearer": [scope]}],
        "x-scope": scope,
        "parameters": params or [],
        "responses": {status: ok, **ERRORS},
    }
    if body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return out


def path_param(name: str, schema: dict[str, Any] = STR, description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PAGING = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size"),
    query("offset", {"type": "integer", "minimum": 0}, "Rows to skip"),
]
ADDRESS = path_param("address", STR, "Mailbox or group address")
AGENCY_REF = {"type": ["string", "integer"], "description": "Agency id or code (mã định danh)"}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details, in Vietnamese or English (Accept-Language)",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": STR,
            "status": INT,
            "detail": STR,
            "code": {"type": "string", "description": "Stable machine-readable reason"},
        },
    },
    "Agency": {
        "type": "object",
        "required": ["id", "name", "short_name", "kind"],
        "properties": {
            "id": INT,
            "code": NSTR,
            "name": STR,
            "short_name": STR,
            "kind": STR,
            "role": NSTR,
            "place": NSTR,
            "parent_id": NINT,
            "domain": NSTR,
            "headcount": NINT,
            "active": BOOL,
            "regulation": {
                "type": "object",
                "description": "The agency's regulation (quy chế) on official e-mail",
                "properties": {
                    "adopted": BOOL,
                    "date": {"type": ["string", "null"], "format": "date"},
                    "number": NSTR,
                },
            },
        },
    },
    "NewAgency": {
        "type": "object",
        "required": ["name", "short_name", "kind"],
        "properties": {
            "name": STR,
            "short_name": STR,
            "kind": {
                "type": "string",
                "enum": [
                    "ministry",
                    "government_agency",
                    "province",
                    "department",
                    "district",
                    "unit",
                    "other",
                ],
            },
            "code": STR,
            "parent": AGENCY_REF,
            "domain": STR,
            "role": STR,
            "place": STR,
            "headcount": {"type": "integer", "minimum": 0},
        },
    },
    "Mailbox": {
        "type": "object",
        "required": ["id", "address", "kind", "full_name", "status"],
        "properties": {
            "id": INT,
            "address": {"type": "string", "format": "email"},
            "kind": {"type": "string", "enum": ["person", "agency"]},
            "full_name": STR,
            "position": NSTR,
            "phone": NSTR,
            "agency_id": NINT,
            "agency_code": NSTR,
            "staff_id": NSTR,
            "status": {"type": "string", "enum": ["active", "suspended", "archived"]},
            "quota_bytes": INT,
            "used_bytes": INT,
            "listed": BOOL,
            "public_fields": {"type": "array", "items": STR},
            "created_at": NSTR,
            "suspended_at": NSTR,
            "archived_at": NSTR,
            "delete_after": NSTR,
        },
    },
    "NewMailbox": {
        "type": "object",
        "required": ["full_name", "agency"],
        "properties": {
            "full_name": STR,
            "agency": AGENCY_REF,
            "kind": {"type": "string", "enum": ["person", "agency"]},
            "position": STR,
            "staff_id": STR,
            "local_part": {"type": "string", "description": "Default: the domain's template"},
            "password": {"type": "string", "minLength": 8},
            "quota_mb": INT,
            "listed": BOOL,
            "phone": STR,
        },
    },
    "MailboxChange": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "full_name": STR,
            "position": STR,
            "phone": STR,
            "listed": BOOL,
            "public_fields": {
                "type": "array",
                "description": "What the public directory shows (full_name always)",
                "items": {"type": "string", "enum": ["full_name", "position", "address", "phone"]},
            },
            "quota_mb": {"type": "integer", "minimum": 0},
        },
    },
    "Transfer": {
        "type": "object",
        "required": ["agency"],
        "properties": {"agency": AGENCY_REF, "position": STR},
    },
    "GroupSummary": {
        "type": "object",
        "required": ["id", "address", "name", "kind"],
        "properties": {
            "id": INT,
            "address": STR,
            "name": STR,
            "kind": {"type": "string", "enum": ["static", "dynamic"]},
            "rule": {"type": ["object", "null"]},
            "member_count": NINT,
        },
    },
    "Group": {
        "type": "object",
        "required": ["id", "address", "name", "kind", "expands_to"],
        "properties": {
            "id": INT,
            "address": STR,
            "name": STR,
            "kind": STR,
            "description": NSTR,
            "rule": {"type": ["object", "null"]},
            "members": {"type": ["array", "null"], "items": STR},
            "expands_to": {"type": "array", "items": STR},
        },
    },
    "NewGroup": {
        "type": "object",
        "required": ["address", "name"],
        "properties": {
            "address": STR,
            "name": STR,
            "description": STR,
            "rule": {
                "type": "object",
                "description": "A dynamic group: a rule over the agency tree",
                "properties": {
                    "kinds": {"type": "array", "items": STR},
                    "roles": {"type": "array", "items": STR},
                    "under": AGENCY_REF,
                    "target": {"type": "string", "enum": ["agency_mailbox", "staff"]},
                    "include_root": BOOL,
                },
            },
        },
    },
    "Member": {"type": "object", "required": ["address"], "properties": {"address": STR}},
    "Recipient": {
        "oneOf": [
            {"type": "string", "description": "addr@domain or Name <addr@domain>"},
            {
                "type": "object",
                "required": ["address"],
                "properties": {"name": STR, "address": STR},
            },
        ]
    },
    "OutgoingMessage": {
        "type": "object",
        "properties": {
            "from": {
                "type": "string",
                "description": "Default: the token's mailbox; or an agency mailbox it handles",
            },
            "to": {"type": "array", "items": ref("Recipient")},
            "cc": {"type": "array", "items": ref("Recipient")},
            "bcc": {"type": "array", "items": ref("Recipient")},
            "subject": STR,
            "text": STR,
            "in_reply_to": STR,
            "attachments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "filename": STR,
                        "content_type": STR,
                        "data": {"type": "string", "contentEncoding": "base64"},
                    },
                },
            },
        },
    },
    "SendResult": {
        "type": "object",
        "required": ["queue_id", "accepted", "refused"],
        "properties": {
            "queue_id": STR,
            "message_id": NSTR,
            "accepted": {"type": "array", "items": STR},
            "refused": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"address": STR, "code": INT, "reason": STR},
                },
            },
        },
    },
    "Folder": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": INT,
            "name": STR,
            "special_use": NSTR,
            "messages": INT,
            "unseen": INT,
            "size": INT,
        },
    },
    "Person": {"type": "object", "properties": {"name": NSTR, "address": NSTR}},
    "MessageSummary": {
        "type": "object",
        "required": ["uid", "subject", "date", "size", "flags"],
        "properties": {
            "uid": INT,
            "subject": STR,
            "from": ref("Person"),
            "date": STR,
            "received_at": STR,
            "size": INT,
            "flags": {"type": "array", "items": STR},
            "has_attachments": BOOL,
        },
    },
    "MessageDetail": {
        "allOf": [
            ref("MessageSummary"),
            {
                "type": "object",
                "properties": {
                    "folder_id": INT,
                    "message_id": NSTR,
                    "in_reply_to": NSTR,
                    "to": {"type": "array", "items": ref("Person")},
                    "cc": {"type": "array", "items": ref("Person")},
                    "reply_to": {"type": "array", "items": ref("Person")},
                    "text": NSTR,
                    "has_html": BOOL,
                    "attachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "part": STR,
                                "filename": NSTR,
                                "content_type": STR,
                                "size": INT,
                            },
                        },
                    },
                },
            },
        ]
    },
}

FOLDER = path_param("folder_id", INT, "Folder id (from /mail/folders)")
UID = path_param("uid", INT, "Message UID in the folder")
R, W = "directory:read", "directory:write"


def _lifecycle(action: str, summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "post": op(
            summary, W, json_body(ref("Mailbox")), params=[ADDRESS], body=body, tag="mailboxes"
        )
    }


PATHS: dict[str, Any] = {
    "/agencies": {
        "get": op(
            "List agencies",
            R,
            json_body(page_of("Agency")),
            tag="agencies",
            params=[
                *PAGING,
                query("under", STR, "Only this agency's subtree (id or code)"),
                query("active", {"type": "string", "enum": ["all"]}, "all: include inactive"),
            ],
        ),
        "post": op(
            "Create an agency",
            W,
            json_body(ref("Agency"), "Created"),
            status="201",
            body=ref("NewAgency"),
            tag="agencies",
        ),
    },
    "/agencies/{ref}": {
        "get": op(
            "Get an agency",
            R,
            json_body(ref("Agency")),
            tag="agencies",
            params=[path_param("ref", STR, "Agency id or code")],
        ),
    },
    "/mailboxes": {
        "get": op(
            "List mailboxes",
            R,
            json_body(page_of("Mailbox")),
            tag="mailboxes",
            params=[
                *PAGING,
                query("agency", STR, "Only this agency's subtree (id or code)"),
                query(
                    "status",
                    {"type": "string", "enum": ["active", "suspended", "archived"]},
                    "Status",
                ),
                query("kind", {"type": "string", "enum": ["person", "agency"]}, "Kind"),
                query("q", STR, "Name or address; diacritics optional"),
            ],
        ),
        "post": op(
            "Create a mailbox",
            W,
            json_body(ref("Mailbox"), "Created"),
            status="201",
            body=ref("NewMailbox"),
            tag="mailboxes",
        ),
    },
    "/mailboxes/{address}": {
        "get": op("Get a mailbox", R, json_body(ref("Mailbox")), params=[ADDRESS], tag="mailboxes"),
        "patch": op(
            "Change a mailbox",
            W,
            json_body(ref("Mailbox")),
            params=[ADDRESS],
            body=ref("MailboxChange"),
            tag="mailboxes",
        ),
    },
    "/mailboxes/{address}/suspend": _lifecycle("suspend", "Suspend a mailbox"),
    "/mailboxes/{address}/reactivate": _lifecycle("reactivate", "Reactivate a mailbox"),
    "/mailboxes/{address}/archive": _lifecycle("archive", "Archive a mailbox (person left)"),
    "/mailboxes/{address}/transfer": _lifecycle(
        "transfer", "Transfer a mailbox to another agency", ref("Transfer")
    ),
    "/groups": {
        "get": op("List groups", R, json_body(page_of("GroupSummary")), tag="groups"),
        "post": op(
            "Create a group",
            W,
            json_body(ref("Group"), "Created"),
            status="201",
            body=ref("NewGroup"),
            tag="groups",
        ),
    },
    "/groups/{address}": {
        "get": op("Get a group", R, json_body(ref("Group")), params=[ADDRESS], tag="groups"),
    },
    "/groups/{address}/members": {
        "post": op(
            "Add a group member",
            W,
            json_body(ref("Group"), "Added"),
            status="201",
            params=[ADDRESS],
            body=ref("Member"),
            tag="groups",
        ),
    },
    "/groups/{address}/members/{member}": {
        "delete": op(
            "Remove a group member",
            W,
            json_body(ref("Group")),
            tag="groups",
            params=[ADDRESS, path_param("member", STR, "Member address")],
        ),
    },
    "/messages": {
        "post": op(
            "Send a message",
            "mail:send",
            json_body(ref("SendResult"), "Accepted"),
            status="202",
            body=ref("OutgoingMessage"),
            tag="mail",
        ),
    },
    "/mail/folders": {
        "get": op(
            "List folders",
            "mail:read",
            json_body(
                {
                    "type": "object",
                    "properties": {
                        "mailbox": STR,
                        "items": {"type": "array", "items": ref("Folder")},
                    },
                }
            ),
            tag="mail",
        ),
    },
    "/mail/folders/{folder_id}/messages": {
        "get": op(
            "List messages",
            "mail:read",
            json_body(
                {
                    "type": "object",
                    "properties": {
                        "folder": STR,
                        "total": INT,
                        "items": {"type": "array", "items": ref("MessageSummary")},
                    },
                }
            ),
            params=[FOLDER, *PAGING, query("unseen", STR, "1: unread messages only")],
            tag="mail",
        ),
    },
    "/mail/folders/{folder_id}/messages/{uid}": {
        "get": op(
            "Get a message",
            "mail:read",
            json_body(ref("MessageDetail")),
            params=[FOLDER, UID],
            tag="mail",
        ),
    },
    "/mail/folders/{folder_id}/messages/{uid}/raw": {
        "get": op(
            "Download a message",
            "mail:read",
            {
                "description": "The message as stored (RFC 5322)",
                "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            },
            params=[FOLDER, UID],
            tag="mail",
        ),
    },
    "/mail/folders/{folder_id}/messages/{uid}/attachments/{part}": {
        "get": op(
            "Download an attachment",
            "mail:read",
            {
                "description": "The attachment, decoded",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            params=[FOLDER, UID, path_param("part", STR, "MIME part number, e.g. 2")],
            tag="mail",
        ),
    },
}


def other_paths() -> dict[str, Any]:
    """The API paths that other web modules describe themselves: every module of
    ``web.app.ROUTE_MODULES`` may define ``OPENAPI_PATHS`` (e.g. ``web.reports``)."""
    import importlib

    from govmail.web.app import ROUTE_MODULES

    out: dict[str, Any] = {}
    for name in ROUTE_MODULES:
        extra = getattr(importlib.import_module(name), "OPENAPI_PATHS", None)
        if extra:
            out.update(extra)
    return out


def document(server_url: str = "/api/v1") -> dict[str, Any]:
    paths = {**PATHS, **other_paths()}
    tags = ["agencies", "mailboxes", "groups", "mail"]
    for item in paths.values():
        for operation in item.values():
            tags.extend(t for t in operation.get("tags", ()) if t not in tags)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "govmail API",
            "version": "1.0.0",
            "description": (
                "Quản lý danh bạ, gửi thư và đọc hộp thư bằng mã truy cập (token) do quản trị "
                "viên cấp. / Directory management, sending and reading mail with tokens "
                "created by administrators. Errors are application/problem+json (RFC 9457) "
                "in the language of Accept-Language (vi, en)."
            ),
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Scopes: "
                    + ", ".join(API_SCOPES)
                    + ". Mail scopes act on the mailbox the token is bound to.",
                }
            },
        },
    }
