"""The backups: the last run, the age of the last good one, the schedule, the recent
runs and a button that starts a backup now. Installation administrators only."""

from __future__ import annotations

from starlette.responses import Response

from govmail.ops.backup_status import STALE_AFTER, backup_overview
from govmail.web.admin.common import ADMIN_ROLES, installation_only, render
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
STALE_HOURS = int(STALE_AFTER.total_seconds() // 3600)


@router.get("/admin/backups", roles=ADMIN_ROLES)
async def backups_page(w: WebRequest) -> Response:
    refused = await installation_only(w, "backup.view", "backup")
    if refused:
        return refused
    service = w.core.ops.backup_service
    return await render(
        w,
        "admin/backups.html",
        {
            "b": await backup_overview(w.core.settings, w.core.store),
            "busy": service is not None and service.busy,
            "can_run": service is not None,
            "stale_hours": STALE_HOURS,
            "tz": w.core.settings.general.timezone,
        },
    )


@router.post("/admin/backups/run", roles=ADMIN_ROLES)
async def run_now(w: WebRequest) -> Response:
    refused = await installation_only(w, "backup.run", "backup")
    if refused:
        return refused
    service = w.core.ops.backup_service
    if service is None:
        return w.error(409, "web.admin.backups.unavailable")
    actor = w.actor()
    started = await service.run_now(actor.name, "web", actor.remote_addr)
    return w.redirect(
        "/admin/backups", flash="admin_backup_started" if started else "admin_backup_busy"
    )
