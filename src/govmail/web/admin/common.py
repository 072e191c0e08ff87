"""What every console page shares: the role check, the actor's scope, the side menu,
refusals (403, audited), directory errors shown on the page, and paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from govmail.directory.errors import DirectoryError
from govmail.directory.service import DirectoryOps
from govmail.store.repos.admin import AdminRepo
from govmail.store.tx import Tx
from govmail.web.admin.scope import OutOfScope, Scope, scope_of_roles
from govmail.web.routing import WebRequest

ADMIN_ROLES = ("installation_admin", "agency_admin")
PAGE_SIZE = 50

# (path, catalogue key, installation administrators only)
NAV: tuple[tuple[str, str, bool], ...] = (
    ("/admin", "web.admin.nav.dashboard", False),
    ("/admin/domains", "web.admin.nav.domains", True),
    ("/admin/agencies", "web.admin.nav.agencies", False),
    ("/admin/mailboxes", "web.admin.nav.mailboxes", False),
    ("/admin/groups", "web.admin.nav.groups", False),
    ("/admin/handlers", "web.admin.nav.handlers", False),
    ("/admin/quotas", "web.admin.nav.quotas", False),
    ("/admin/import", "web.admin.nav.import", False),
    ("/admin/queue", "web.admin.nav.queue", True),
    ("/admin/audit", "web.admin.nav.audit", True),
    ("/admin/locks", "web.admin.nav.locks", True),
    ("/admin/backups", "web.admin.nav.backups", True),
    ("/admin/tokens", "web.admin.nav.tokens", False),
    ("/admin/reports", "web.reports.nav", False),
)

Page = Callable[..., Awaitable[Response]]


def admin_repo(tx: Tx) -> AdminRepo:
    return AdminRepo(tx.session, tx.store.dialect)


async def scope(w: WebRequest) -> Scope:
    """The logged-in administrator's scope, once per request."""
    cached: Scope | None = getattr(w, "_admin_scope", None)
    if cached is None:
        roles = await w.roles()
        async with w.core.store.read() as tx:
            cached = await scope_of_roles(tx, roles)
        w._admin_scope = cached  # type: ignore[attr-defined]
    return cached


def nav_items(w: WebRequest, sc: Scope) -> list[dict[str, Any]]:
    path = w.request.url.path
    out = []
    for href, key, installation_only in NAV:
        if installation_only and not sc.everything:
            continue
        current = path == href if href == "/admin" else path.startswith(href)
        out.append({"href": href, "key": key, "current": current})
    return out


async def render(
    w: WebRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    sc = await scope(w)
    ctx: dict[str, Any] = {
        "nav": nav_items(w, sc),
        "everything": sc.everything,
        "roots": sc.roots,
        "error": error,
    }
    ctx.update(context or {})
    return w.render(template, ctx, status=status)


async def refuse(w: WebRequest, exc: OutOfScope) -> Response:
    """403, with the attempt written to the audit log (nothing else was changed)."""
    async with w.core.store.write() as tx:
        await tx.audit.record(
            actor=w.user.address if w.user else "anonymous",
            source="web",
            remote_addr=w.client_ip,
            action="admin.refused",
            object_type=exc.object_type,
            object_id=exc.object_id[:320],
            after={"attempt": exc.action, "method": w.request.method, "path": w.request.url.path},
        )
    return w.error(403, "web.admin.out_of_scope")


async def installation_only(w: WebRequest, action: str, object_type: str, object_id: str = "*"):  # type: ignore[no-untyped-def]
    """None for an installation administrator, else the audited 403 response."""
    sc = await scope(w)
    if sc.everything:
        return None
    return await refuse(w, OutOfScope(action, object_type, object_id))


def error_status(exc: DirectoryError) -> int:
    if exc.key.endswith("not_found"):
        return 404
    if exc.key.endswith(("exists", "taken", "already_member", "already_active")):
        return 409
    return 400


async def act(
    w: WebRequest,
    change: Callable[[DirectoryOps, Scope], Awaitable[Any]],
    *,
    page: Page,
    done: str,
    flash: str = "admin_saved",
) -> Response:
    """Run ``change`` in one directory transaction as the logged-in administrator
    (audited by DirectoryOps); redirect to ``done`` on success, show the refusal
    (audited 403) or the directory's error on ``page`` otherwise."""
    sc = await scope(w)
    try:
        async with w.core.directory.ops(w.actor()) as ops:
            await change(ops, sc)
    except OutOfScope as exc:
        return await refuse(w, exc)
    except DirectoryError as exc:
        return await page(w, error=exc.message(w.lang), status=error_status(exc))
    return w.redirect(done, flash=flash)


def form_int(w: WebRequest, name: str) -> int | None:
    value = w.form_str(name).strip()
    try:
        return int(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    size: int
    total: int | None = None
    has_next: bool = False

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.size))

    def counted(self, total: int) -> Paging:
        return replace(self, total=total, has_next=self.offset + self.size < total)

    def probed(self, fetched: int) -> Paging:
        """After fetching ``size + 1`` rows: whether a next page exists."""
        return replace(self, has_next=fetched > self.size)


def paging(w: WebRequest, size: int = PAGE_SIZE) -> Paging:
    return Paging(w.query_int("page", 1, 1, 100_000), size)


def page_link(w: WebRequest, page: int) -> str:
    """This page's URL with ``page`` replaced."""
    params = [(k, v) for k, v in w.request.query_params.multi_items() if k not in ("page", "flash")]
    params.append(("page", str(page)))
    return w.request.url.path + "?" + urlencode(params)


def pager(w: WebRequest, p: Paging) -> dict[str, Any]:
    """Context for ``admin/pager.html``."""
    return {"paging": p, "prev_url": page_link(w, p.page - 1), "next_url": page_link(w, p.page + 1)}
