"""Mailboxes: search and paging, creation, the lifecycle (transfer, suspend, reactivate,
archive), quota, password reset, what the public directory shows, admin roles."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from starlette.responses import Response

from govmail.directory.errors import DirectoryError
from govmail.directory.groups import ADMIN_ROLES as ROLE_NAMES
from govmail.directory.mailboxes import MAILBOX_KINDS
from govmail.directory.service import DirectoryOps
from govmail.mail.textfold import fold
from govmail.store.models import Agency, Mailbox
from govmail.web.admin.common import (
    ADMIN_ROLES,
    act,
    admin_repo,
    error_status,
    form_int,
    pager,
    paging,
    refuse,
    render,
    scope,
)
from govmail.web.admin.scope import OutOfScope, Scope
from govmail.web.directory_public.listing import OPTIONAL_FIELDS, require_listing, set_listing
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
STATUSES = ("active", "suspended", "archived")
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def matches(words: list[str], name: str, address: str) -> bool:
    """Every folded query word in the folded name or the address."""
    hay = fold(name) + " " + address
    return all(word in hay for word in words)


async def _list_page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    q = w.query("q").strip()
    status_filter = w.query("status") if w.query("status") in STATUSES else ""
    kind = w.query("kind") if w.query("kind") in MAILBOX_KINDS else ""
    agency_ref = w.query("agency")
    p = paging(w)
    async with w.core.store.read() as tx:
        agencies = await sc.agencies(tx, active_only=False)
        by_id = {a.id: a for a in agencies}
        ids = await sc.agency_ids(tx)
        chosen: Agency | None = None
        if agency_ref.isdigit():
            chosen = await tx.directory.agency_by_id(int(agency_ref))
            if chosen is None:
                return w.error(404, "web.admin.no_agency")
            if not sc.covers(chosen):
                return await refuse(w, OutOfScope("mailbox.list", "agency", agency_ref))
            ids = [a.id for a in await tx.directory.agencies(under=chosen, active_only=False)]
        repo = admin_repo(tx)
        names = await repo.mailbox_names(
            agency_ids=ids, statuses=[status_filter] if status_filter else None, kind=kind or None
        )
        if q:
            words = fold(q).split()
            names = [n for n in names if matches(words, n.full_name, n.address)]
        p = p.counted(len(names))
        rows = await repo.mailboxes_by_ids([n.id for n in names[p.offset : p.offset + p.size]])
    return await render(
        w,
        "admin/mailboxes.html",
        {
            "rows": rows,
            "agencies": agencies,
            "by_id": by_id,
            "q": q,
            "status_filter": status_filter,
            "kind": kind,
            "chosen": chosen,
            "statuses": STATUSES,
            "kinds": MAILBOX_KINDS,
            "form": dict(w.form or {}),
            **pager(w, p),
        },
        status=status,
        error=error,
    )


@router.get("/admin/mailboxes", roles=ADMIN_ROLES)
async def mailboxes_page(w: WebRequest) -> Response:
    return await _list_page(w)


@router.post("/admin/mailboxes", roles=ADMIN_ROLES)
async def add_mailbox(w: WebRequest) -> Response:
    quota = form_int(w, "quota_mb")
    if w.form_str("quota_mb").strip() and quota is None:
        return await _list_page(w, error=w.t("web.admin.bad_number"), status=400)
    created: list[Mailbox] = []

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        unit = await ops.agency(w.form_str("agency").strip() or "-")
        sc.require(unit, "mailbox.add")
        created.append(
            await ops.add_mailbox(
                full_name=w.form_str("full_name"),
                agency=unit,
                kind=w.form_str("kind", "person"),
                position=w.form_str("position").strip() or None,
                staff_id=w.form_str("staff_id").strip() or None,
                local_part=w.form_str("local_part").strip() or None,
                password=w.form_str("password") or None,
                quota_mb=quota,
                listed=w.form_str("listed") == "1",
                phone=w.form_str("phone").strip() or None,
            )
        )

    response = await act(w, change, page=_list_page, done="/admin/mailboxes")
    if created and response.status_code == 303:
        return w.redirect(f"/admin/mailboxes/{created[0].id}", flash="admin_mailbox_added")
    return response


async def _detail(
    w: WebRequest,
    *,
    error: str | None = None,
    status: int = 200,
    new_password: str | None = None,
) -> Response:
    sc = await scope(w)
    async with w.core.directory.reader() as ops:
        m = await ops.repo.mailbox_by_id(w.params["mailbox_id"])
        if m is None:
            return w.error(404, "web.admin.no_mailbox")
        if not await sc.covers_mailbox(ops.tx, m):
            return await refuse(w, OutOfScope("mailbox.view", "mailbox", m.address))
        agency = await ops.repo.agency_by_id(m.agency_id) if m.agency_id else None
        targets = await sc.agencies(ops.tx)
        aliases = await ops.repo.aliases_of(m.id)
        handlers = await ops.repo.handlers_of(m.id) if m.kind == "agency" else []
        handles = await ops.repo.handled_by(m.id) if m.kind == "person" else []
        roles = await ops.repo.roles_of(m.id)
        role_agencies = {
            r.agency_id: await ops.repo.agency_by_id(r.agency_id) for r in roles if r.agency_id
        }
        requirement = await admin_repo(ops.tx).listing_requirement(m.id)
    return await render(
        w,
        "admin/mailbox.html",
        {
            "m": m,
            "agency": agency,
            "targets": targets,
            "aliases": aliases,
            "handlers": handlers,
            "handles": handles,
            "roles": roles,
            "role_agencies": role_agencies,
            "role_names": ROLE_NAMES,
            "requirement": requirement,
            "optional_fields": OPTIONAL_FIELDS,
            "new_password": new_password,
        },
        status=status,
        error=error,
    )


@router.get("/admin/mailboxes/{mailbox_id:int}", roles=ADMIN_ROLES)
async def mailbox_page(w: WebRequest) -> Response:
    return await _detail(w)


async def _target(ops: DirectoryOps, sc: Scope, mailbox_id: int, action: str) -> Mailbox:
    m = await ops.repo.mailbox_by_id(mailbox_id)
    if m is None:
        raise DirectoryError("mailbox.not_found", address=f"#{mailbox_id}")
    await sc.require_mailbox(ops, m, action)
    return m


def _on_mailbox(
    action: str, do: Callable[[DirectoryOps, Scope, Mailbox], Awaitable[object]]
) -> Callable[[WebRequest], Awaitable[Response]]:
    async def handler(w: WebRequest) -> Response:
        mailbox_id = w.params["mailbox_id"]

        async def change(ops: DirectoryOps, sc: Scope) -> None:
            m = await _target(ops, sc, mailbox_id, action)
            await do(ops, sc, m)

        return await act(w, change, page=_detail, done=f"/admin/mailboxes/{mailbox_id}")

    return handler


async def _suspend(ops: DirectoryOps, _sc: Scope, m: Mailbox) -> None:
    await ops.suspend(m.address)


async def _reactivate(ops: DirectoryOps, _sc: Scope, m: Mailbox) -> None:
    await ops.reactivate(m.address)


async def _archive(ops: DirectoryOps, _sc: Scope, m: Mailbox) -> None:
    await ops.archive(m.address)


router.post("/admin/mailboxes/{mailbox_id:int}/suspend", roles=ADMIN_ROLES)(
    _on_mailbox("mailbox.suspend", _suspend)
)
router.post("/admin/mailboxes/{mailbox_id:int}/reactivate", roles=ADMIN_ROLES)(
    _on_mailbox("mailbox.reactivate", _reactivate)
)
router.post("/admin/mailboxes/{mailbox_id:int}/archive", roles=ADMIN_ROLES)(
    _on_mailbox("mailbox.archive", _archive)
)


@router.post("/admin/mailboxes/{mailbox_id:int}/transfer", roles=ADMIN_ROLES)
async def transfer(w: WebRequest) -> Response:
    target = w.form_str("agency").strip()
    position = w.form_str("position").strip()

    async def do(ops: DirectoryOps, sc: Scope, m: Mailbox) -> None:
        unit = await ops.agency(target or "-")
        sc.require(unit, "mailbox.transfer", target)
        await ops.transfer(m.address, unit.id, position=position or None)

    return await _on_mailbox("mailbox.transfer", do)(w)


@router.post("/admin/mailboxes/{mailbox_id:int}/quota", roles=ADMIN_ROLES)
async def set_quota(w: WebRequest) -> Response:
    quota = form_int(w, "quota_mb")
    if quota is None:
        return await _detail(w, error=w.t("web.admin.bad_number"), status=400)

    async def do(ops: DirectoryOps, _sc: Scope, m: Mailbox) -> None:
        await ops.set_quota(m.address, quota)

    return await _on_mailbox("mailbox.quota", do)(w)


@router.post("/admin/mailboxes/{mailbox_id:int}/update", roles=ADMIN_ROLES)
async def update(w: WebRequest) -> Response:
    async def do(ops: DirectoryOps, _sc: Scope, m: Mailbox) -> None:
        await ops.update_person(
            m.address,
            full_name=w.form_str("full_name"),
            position=w.form_str("position"),
            phone=w.form_str("phone").strip(),
        )

    return await _on_mailbox("mailbox.update", do)(w)


@router.post("/admin/mailboxes/{mailbox_id:int}/listing", roles=ADMIN_ROLES)
async def listing(w: WebRequest) -> Response:
    fields = w.form_list("field")

    async def do(ops: DirectoryOps, _sc: Scope, m: Mailbox) -> None:
        # The requirement first: lifting it lets "listed" be unticked in the same form.
        required = w.form_list("required_field")
        await require_listing(ops, m, required if w.form_str("required") == "1" else None)
        await set_listing(
            ops, m, listed=w.form_str("listed") == "1", fields=fields, by_person=False
        )

    return await _on_mailbox("mailbox.listing", do)(w)


@router.post("/admin/mailboxes/{mailbox_id:int}/password", roles=ADMIN_ROLES)
async def reset_password(w: WebRequest) -> Response:
    """Set the password typed, or a generated one shown once on the page; the person's
    open browser sessions end."""
    mailbox_id = w.params["mailbox_id"]
    typed = w.form_str("password")
    generated = (
        None
        if typed
        else "-".join(
            "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)
        )
    )
    sc = await scope(w)
    try:
        async with w.core.directory.ops(w.actor()) as ops:
            m = await _target(ops, sc, mailbox_id, "mailbox.password")
            await ops.set_password(m.address, typed or generated or "")
    except OutOfScope as exc:
        return await refuse(w, exc)
    except DirectoryError as exc:
        return await _detail(w, error=exc.message(w.lang), status=error_status(exc))
    await w.state.sessions.destroy_all(mailbox_id)
    if generated:
        return await _detail(w, new_password=generated)
    return w.redirect(f"/admin/mailboxes/{mailbox_id}", flash="admin_password_set")


@router.post("/admin/mailboxes/{mailbox_id:int}/role", roles=ADMIN_ROLES)
async def grant_role(w: WebRequest) -> Response:
    role = w.form_str("role")
    agency = w.form_str("agency").strip() or None

    async def do(ops: DirectoryOps, sc: Scope, m: Mailbox) -> None:
        sc.require_everything("role.grant", "mailbox", m.address)
        unit = await ops.agency(agency) if agency else None
        for r in await ops.repo.roles_of(m.id):
            if r.role == role and r.agency_id == (unit.id if unit else None):
                raise DirectoryError("role.exists", address=m.address, role=role)
        await ops.grant_role(m.address, role, str(unit.id) if unit else None)

    return await _on_mailbox("role.grant", do)(w)
