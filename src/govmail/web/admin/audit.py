"""The audit log with filters: actor, action (prefix), object, dates; newest first."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from starlette.responses import Response

from govmail.web.admin.common import ADMIN_ROLES, installation_only, pager, paging, render
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
OBJECT_TYPES = (
    "mailbox",
    "agency",
    "domain",
    "group",
    "alias",
    "outbound",
    "api_token",
    "hr_import",
)


def _day(w: WebRequest, text: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD as the start of that day (or of the next, ``end``) in local time."""
    day = date.fromisoformat(text)
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=w.state.renderer.tz)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What an entry changed: ``key: old → new`` for the keys that differ; a creation or
    a removal lists its values."""
    if before and after:
        keys = [
            k for k in {**before, **after} if k != "updated_at" and before.get(k) != after.get(k)
        ]
        return [f"{k}: {_short(before.get(k))} → {_short(after.get(k))}" for k in keys]
    side, mark = (after, "+") if after else (before, "−")
    if not side:
        return []
    return [f"{mark} {k}: {_short(v)}" for k, v in side.items() if v not in (None, "", [], {})]


@router.get("/admin/audit", roles=ADMIN_ROLES)
async def audit_page(w: WebRequest) -> Response:
    refused = await installation_only(w, "audit.view", "audit_log")
    if refused:
        return refused
    f = {k: w.query(k).strip() for k in ("actor", "action", "type", "object", "since", "until")}
    error = None
    try:
        since = _day(w, f["since"]) if f["since"] else None
        until = _day(w, f["until"], end=True) if f["until"] else None
    except ValueError:
        since = until = None
        error = w.t("web.admin.audit.bad_date")
    p = paging(w)
    async with w.core.store.read() as tx:
        rows = await tx.audit.search(
            actor=f["actor"] or None,
            action=f["action"] or None,
            object_type=f["type"] if f["type"] in OBJECT_TYPES else None,
            object_id=f["object"] or None,
            since=since,
            until=until,
            limit=p.size + 1,
            offset=p.offset,
        )
    p = p.probed(len(rows))
    entries = [{"e": e, "changes": changes(e.before, e.after)} for e in rows[: p.size]]
    return await render(
        w,
        "admin/audit.html",
        {"entries": entries, "f": f, "types": OBJECT_TYPES, **pager(w, p)},
        status=400 if error else 200,
        error=error,
    )
