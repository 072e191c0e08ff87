"""The console's first page: what the installation (or the administrator's subtree)
holds today, the outbound queue, the login locks and the backups. Only figures the system has."""

from __future__ import annotations

from starlette.responses import Response

from govmail.ops.backup_status import backup_overview
from govmail.store.repos.api import ApiRepo
from govmail.web.admin.backups import STALE_HOURS
from govmail.web.admin.common import ADMIN_ROLES, admin_repo, render, scope
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
STATUSES = ("active", "suspended", "archived")


@router.get("/admin", roles=ADMIN_ROLES)
async def dashboard(w: WebRequest) -> Response:
    sc = await scope(w)
    async with w.core.store.read() as tx:
        ids = await sc.agency_ids(tx)
        repo = admin_repo(tx)
        counts = await repo.mailbox_status_counts(ids)
        usage = await repo.usage(ids)
        agencies = await repo.agency_counts(ids)
        domains = len(await tx.directory.domains()) if sc.everything else None
        tokens = [
            t
            for t in await ApiRepo(tx.session, tx.store.dialect).tokens(
                agency_ids=ids, include_revoked=False
            )
        ]
        recent = await tx.audit.search(limit=10) if sc.everything else []
    table = {kind: {s: counts.get((kind, s), 0) for s in STATUSES} for kind in ("person", "agency")}
    queue = await w.core.queue.admin.stats() if sc.everything else None
    locks = w.core.guard.locks() if sc.everything else None
    backups = (
        await backup_overview(w.core.settings, w.core.store, runs=0) if sc.everything else None
    )
    return await render(
        w,
        "admin/dashboard.html",
        {
            "table": table,
            "statuses": STATUSES,
            "usage": usage,
            "agencies": agencies,
            "domains": domains,
            "tokens": len(tokens),
            "queue": queue,
            "locks": locks,
            "recent": recent,
            "b": backups,
            "stale_hours": STALE_HOURS,
        },
    )
