"""The audit log with filters: actor, action (prefix), object, dates; newest first."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

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
    entries = [
        {
            "e": e,
            "before": json.dumps(e.before, ensure_ascii=False) if e.before else "",
            "after": json.dumps(e.after, ensure_ascii=False) if e.after else "",
        }
        for e in rows[: p.size]
    ]
    return await render(
        w,
        "admin/audit.html",
        {"entries": entries, "f": f, "types": OBJECT_TYPES, **pager(w, p)},
        status=400 if error else 200,
        error=error,
    )
