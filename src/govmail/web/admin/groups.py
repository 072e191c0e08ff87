"""Distribution groups (static members, dynamic rules over the agency tree) and the
people who handle agency mailboxes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from govmail.directory.agencies import AGENCY_KINDS
from govmail.directory.errors import DirectoryError
from govmail.directory.groups import GROUP_TARGETS, split_address
from govmail.directory.service import DirectoryOps
from govmail.store.models import Group
from govmail.web.admin.common import (
    ADMIN_ROLES,
    act,
    admin_repo,
    refuse,
    render,
    scope,
)
from govmail.web.admin.scope import OutOfScope, Scope
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
PREVIEW = 300


async def _list_page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    async with w.core.directory.reader() as ops:
        domain_ids = await sc.domain_ids(ops)
        repo = admin_repo(ops.tx)
        groups = await repo.groups(sorted(domain_ids) if domain_ids is not None else None)
        counts = await repo.group_member_counts([g.id for g in groups])
        agencies = await sc.agencies(ops.tx)
        domains = [d for d in await ops.repo.domains() if domain_ids is None or d.id in domain_ids]
    return await render(
        w,
        "admin/groups.html",
        {
            "groups": groups,
            "counts": counts,
            "agencies": agencies,
            "domains": domains,
            "kinds": AGENCY_KINDS,
            "targets": GROUP_TARGETS,
            "form": dict(w.form or {}),
        },
        status=status,
        error=error,
    )


@router.get("/admin/groups", roles=ADMIN_ROLES)
async def groups_page(w: WebRequest) -> Response:
    return await _list_page(w)


async def require_group_domain(ops: DirectoryOps, sc: Scope, address: str, action: str) -> None:
    _local, domain = split_address(address)
    d = await ops.domain(domain)
    allowed = await sc.domain_ids(ops)
    if allowed is not None and d.id not in allowed:
        raise OutOfScope(action, "group", address)


def rule_from_form(w: WebRequest) -> dict[str, Any] | None:
    if w.form_str("type") != "dynamic":
        return None
    roles = [r.strip() for r in w.form_str("roles").replace(";", ",").split(",") if r.strip()]
    return {
        "kinds": w.form_list("kinds"),
        "roles": roles,
        "under": w.form_str("under").strip() or None,
        "target": w.form_str("target", "agency_mailbox"),
        "include_root": w.form_str("include_root") == "1",
    }


async def require_rule(ops: DirectoryOps, sc: Scope, rule: dict[str, Any], action: str) -> None:
    """An agency administrator's dynamic group stays inside its subtree."""
    if sc.everything:
        return
    under = rule.get("under")
    if not under:
        raise OutOfScope(action, "group", "rule:under=*")
    sc.require(await ops.agency(under), action, str(under))


@router.post("/admin/groups", roles=ADMIN_ROLES)
async def add_group(w: WebRequest) -> Response:
    address = w.form_str("address").strip().lower()
    rule = rule_from_form(w)
    created: list[Group] = []

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        await require_group_domain(ops, sc, address, "group.add")
        if rule is not None:
            await require_rule(ops, sc, rule, "group.add")
        created.append(
            await ops.add_group(
                address,
                w.form_str("name"),
                rule=rule,
                description=w.form_str("description").strip() or None,
            )
        )

    response = await act(w, change, page=_list_page, done="/admin/groups")
    if created and response.status_code == 303:
        return w.redirect(f"/admin/groups/{created[0].id}", flash="admin_group_added")
    return response


async def _detail(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    async with w.core.directory.reader() as ops:
        g = await admin_repo(ops.tx).group_by_id(w.params["group_id"])
        if g is None:
            return w.error(404, "web.admin.no_group")
        try:
            await sc.require_group(ops, g, "group.view")
        except OutOfScope as exc:
            return await refuse(w, exc)
        members: list[tuple[Any, Any]] = []
        for gm in await ops.repo.group_members(g.id):
            mb = await ops.repo.mailbox_by_id(gm.mailbox_id) if gm.mailbox_id else None
            members.append((gm, mb))
        expansion = await ops.expand_group(g.address)
        under = None
        if g.rule and g.rule.get("under"):
            try:
                under = await ops.agency(g.rule["under"])
            except DirectoryError:
                under = None
    return await render(
        w,
        "admin/group.html",
        {
            "g": g,
            "members": members,
            "expansion": expansion[:PREVIEW],
            "expansion_total": len(expansion),
            "under": under,
        },
        status=status,
        error=error,
    )


@router.get("/admin/groups/{group_id:int}", roles=ADMIN_ROLES)
async def group_page(w: WebRequest) -> Response:
    return await _detail(w)


async def _group(ops: DirectoryOps, sc: Scope, group_id: int, action: str) -> Group:
    g = await admin_repo(ops.tx).group_by_id(group_id)
    if g is None:
        raise DirectoryError("group.not_found", address=f"#{group_id}")
    await sc.require_group(ops, g, action)
    return g


async def require_member(ops: DirectoryOps, sc: Scope, member: str, action: str) -> None:
    """A local member must be a mailbox in scope; outside addresses are anyone's."""
    m = await ops.repo.mailbox_by_address(member)
    if m is not None:
        await sc.require_mailbox(ops, m, action)


@router.post("/admin/groups/{group_id:int}/members", roles=ADMIN_ROLES)
async def add_member(w: WebRequest) -> Response:
    group_id = w.params["group_id"]
    member = w.form_str("member").strip().lower()

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        g = await _group(ops, sc, group_id, "group.member_add")
        await require_member(ops, sc, member, "group.member_add")
        await ops.add_group_member(g.address, member)

    return await act(w, change, page=_detail, done=f"/admin/groups/{group_id}")


@router.post("/admin/groups/{group_id:int}/members/remove", roles=ADMIN_ROLES)
async def remove_member(w: WebRequest) -> Response:
    group_id = w.params["group_id"]
    member = w.form_str("member").strip().lower()

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        g = await _group(ops, sc, group_id, "group.member_remove")
        await ops.remove_group_member(g.address, member)

    return await act(w, change, page=_detail, done=f"/admin/groups/{group_id}")


# -- handlers of agency mailboxes -----------------------------------------------------------


async def _handlers_page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    async with w.core.store.read() as tx:
        ids = await sc.agency_ids(tx)
        boxes = await tx.directory.mailboxes(
            agency_ids=ids, kind="agency", statuses=["active", "suspended"]
        )
        rows = [(b, await tx.directory.handlers_of(b.id)) for b in boxes]
    return await render(
        w,
        "admin/handlers.html",
        {"rows": rows, "form": dict(w.form or {})},
        status=status,
        error=error,
    )


@router.get("/admin/handlers", roles=ADMIN_ROLES)
async def handlers_page(w: WebRequest) -> Response:
    return await _handlers_page(w)


@router.post("/admin/handlers", roles=ADMIN_ROLES)
async def add_handler(w: WebRequest) -> Response:
    agency_address = w.form_str("agency_mailbox").strip().lower()
    person = w.form_str("person").strip().lower()

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        await sc.require_mailbox(ops, await ops.mailbox(agency_address), "handler.add")
        await sc.require_mailbox(ops, await ops.mailbox(person), "handler.add")
        await ops.add_handler(
            agency_address,
            person,
            can_send=w.form_str("can_send") == "1",
            is_clerk=w.form_str("is_clerk") == "1",
        )

    return await act(
        w, change, page=_handlers_page, done="/admin/handlers", flash="admin_handler_added"
    )


@router.post("/admin/handlers/remove", roles=ADMIN_ROLES)
async def remove_handler(w: WebRequest) -> Response:
    agency_address = w.form_str("agency_mailbox").strip().lower()
    person = w.form_str("person").strip().lower()

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        await sc.require_mailbox(ops, await ops.mailbox(agency_address), "handler.remove")
        await ops.remove_handler(agency_address, person)

    return await act(
        w, change, page=_handlers_page, done="/admin/handlers", flash="admin_handler_removed"
    )
