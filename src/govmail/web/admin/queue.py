"""The outbound queue (retry now, delete) and the temporary login locks: installation
administrators only."""

from __future__ import annotations

from starlette.responses import Response

from govmail.delivery.queue import QueueError
from govmail.i18n import t
from govmail.store.repos.queue import FINAL, PENDING
from govmail.web.admin.common import ADMIN_ROLES, installation_only, pager, paging, render
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
STATUSES = (*PENDING, *FINAL)


async def _page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    chosen = w.query("status") if w.query("status") in STATUSES else ""
    p = paging(w)
    admin = w.core.queue.admin
    rows = await admin.list(
        statuses=[chosen] if chosen else None, limit=p.size + 1, offset=p.offset
    )
    p = p.probed(len(rows))
    return await render(
        w,
        "admin/queue.html",
        {
            "rows": rows[: p.size],
            "stats": await admin.stats(),
            "statuses": STATUSES,
            "pending": PENDING,
            "chosen": chosen,
            **pager(w, p),
        },
        status=status,
        error=error,
    )


@router.get("/admin/queue", roles=ADMIN_ROLES)
async def queue_page(w: WebRequest) -> Response:
    refused = await installation_only(w, "queue.view", "outbound")
    return refused or await _page(w)


async def _queue_action(w: WebRequest, action: str) -> Response:
    item_id = w.params["item_id"]
    refused = await installation_only(w, f"queue.{action}", "outbound", str(item_id))
    if refused:
        return refused
    assert w.user is not None
    admin = w.core.queue.admin
    try:
        if action == "retry":
            await admin.retry_now(item_id, actor=w.user.address, source="web")
            w.core.queue.wake()
        else:
            await admin.delete(item_id, actor=w.user.address, source="web")
    except QueueError as exc:
        status = 404 if exc.key == "queue.not_found" else 409
        return await _page(w, error=t(exc.key, w.lang, **exc.params), status=status)
    return w.redirect("/admin/queue", flash=f"admin_queue_{action}")


@router.post("/admin/queue/{item_id:int}/retry", roles=ADMIN_ROLES)
async def retry(w: WebRequest) -> Response:
    return await _queue_action(w, "retry")


@router.post("/admin/queue/{item_id:int}/delete", roles=ADMIN_ROLES)
async def delete(w: WebRequest) -> Response:
    return await _queue_action(w, "delete")


@router.post("/admin/queue/flush", roles=ADMIN_ROLES)
async def flush(w: WebRequest) -> Response:
    refused = await installation_only(w, "queue.flush", "outbound")
    if refused:
        return refused
    assert w.user is not None
    await w.core.queue.admin.flush(actor=w.user.address, source="web")
    w.core.queue.wake()
    return w.redirect("/admin/queue", flash="admin_queue_retry")


@router.get("/admin/locks", roles=ADMIN_ROLES)
async def locks_page(w: WebRequest) -> Response:
    refused = await installation_only(w, "locks.view", "login")
    if refused:
        return refused
    locks = sorted(w.core.guard.locks(), key=lambda lock: -lock.seconds_left)
    settings = w.core.settings.auth
    return await render(
        w,
        "admin/locks.html",
        {
            "locks": locks,
            "per_account": settings.max_failures_per_account,
            "per_ip": settings.max_failures_per_ip,
            "minutes": settings.lockout_minutes,
        },
    )
