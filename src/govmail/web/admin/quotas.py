"""Quotas and usage: totals, then mailboxes by space used or by share of quota."""

from __future__ import annotations

from starlette.responses import Response

from govmail.web.admin.common import ADMIN_ROLES, admin_repo, pager, paging, render, scope
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()


@router.get("/admin/quotas", roles=ADMIN_ROLES)
async def quotas_page(w: WebRequest) -> Response:
    sc = await scope(w)
    order = "ratio" if w.query("order") == "ratio" else "used"
    p = paging(w)
    async with w.core.store.read() as tx:
        ids = await sc.agency_ids(tx)
        repo = admin_repo(tx)
        usage = await repo.usage(ids)
        rows = await repo.top_usage(agency_ids=ids, order=order, limit=p.size + 1, offset=p.offset)
        agencies = {a.id: a for a in await sc.agencies(tx, active_only=False)}
    p = p.probed(len(rows))
    return await render(
        w,
        "admin/quotas.html",
        {
            "usage": usage,
            "rows": rows[: p.size],
            "order": order,
            "agencies": agencies,
            "default_quota": w.core.settings.limits.default_quota_mb,
            **pager(w, p),
        },
    )
