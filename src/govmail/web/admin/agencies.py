"""The agency tree: add, move, headcount, and the agency's mail regulation (quy chế)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from starlette.responses import Response

from govmail.directory.agencies import AGENCY_KINDS
from govmail.directory.service import DirectoryOps
from govmail.store.models import Agency, utcnow
from govmail.store.models_api import AgencyProfile
from govmail.web.admin.common import (
    ADMIN_ROLES,
    act,
    admin_repo,
    form_int,
    refuse,
    render,
    scope,
)
from govmail.web.admin.scope import OutOfScope, Scope
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()


@dataclass(slots=True)
class Node:
    agency: Agency
    children: list[Node] = field(default_factory=list)


def build_tree(agencies: list[Agency]) -> list[Node]:
    """Nested nodes from agencies in tree order; an agency whose parent is not in the
    list is a root."""
    nodes = {a.id: Node(a) for a in agencies}
    roots: list[Node] = []
    for a in agencies:
        parent = nodes.get(a.parent_id) if a.parent_id is not None else None
        (parent.children if parent else roots).append(nodes[a.id])
    return roots


def profile_dict(p: AgencyProfile | None) -> dict[str, object]:
    if p is None:
        return {"regulation_adopted": False, "regulation_date": None, "regulation_number": None}
    return {
        "regulation_adopted": p.regulation_adopted,
        "regulation_date": p.regulation_date.isoformat() if p.regulation_date else None,
        "regulation_number": p.regulation_number,
    }


async def _list_page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    async with w.core.store.read() as tx:
        agencies = await sc.agencies(tx, active_only=False)
        repo = admin_repo(tx)
        ids = [a.id for a in agencies]
        counts = await repo.mailbox_counts_by_agency(ids)
        profiles = await repo.profiles(ids)
        domains = await tx.directory.domains() if sc.everything else []
    return await render(
        w,
        "admin/agencies.html",
        {
            "tree": build_tree(agencies),
            "agencies": agencies,
            "counts": counts,
            "profiles": profiles,
            "kinds": AGENCY_KINDS,
            "domains": domains,
            "form": dict(w.form or {}),
        },
        status=status,
        error=error,
    )


@router.get("/admin/agencies", roles=ADMIN_ROLES)
async def agencies_page(w: WebRequest) -> Response:
    return await _list_page(w)


@router.post("/admin/agencies", roles=ADMIN_ROLES)
async def add_agency(w: WebRequest) -> Response:
    parent = w.form_str("parent").strip() or None
    headcount = form_int(w, "headcount")
    if w.form_str("headcount").strip() and headcount is None:
        return await _list_page(w, error=w.t("web.admin.bad_number"), status=400)

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        if parent is None:
            sc.require_everything("agency.add", "agency", w.form_str("name")[:100] or "-")
        else:
            sc.require(await ops.agency(parent), "agency.add")
        await ops.add_agency(
            name=w.form_str("name"),
            short_name=w.form_str("short_name"),
            kind=w.form_str("kind"),
            code=w.form_str("code").strip() or None,
            parent=parent,
            domain=(w.form_str("domain").strip() or None) if sc.everything else None,
            role=w.form_str("role").strip() or None,
            place=w.form_str("place").strip() or None,
            headcount=headcount,
        )

    return await act(w, change, page=_list_page, done="/admin/agencies", flash="admin_agency_added")


async def _detail(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    async with w.core.store.read() as tx:
        a = await tx.directory.agency_by_id(w.params["agency_id"])
        if a is None:
            return w.error(404, "web.admin.no_agency")
        if not sc.covers(a):
            return await refuse(w, OutOfScope("agency.view", "agency", a.code or str(a.id)))
        parent = await tx.directory.agency_by_id(a.parent_id) if a.parent_id else None
        children = await tx.directory.children(a.id)
        repo = admin_repo(tx)
        profile = await repo.profile(a.id)
        counts = await repo.mailbox_counts_by_agency([a.id])
        agency_mailbox = await tx.directory.agency_mailbox(a.id)
        targets = [x for x in await sc.agencies(tx) if not x.path.startswith(a.path)]
        domain = await tx.directory.domain_by_id(a.domain_id) if a.domain_id else None
    return await render(
        w,
        "admin/agency.html",
        {
            "a": a,
            "parent": parent,
            "children": children,
            "profile": profile,
            "mailbox_count": counts.get(a.id, 0),
            "agency_mailbox": agency_mailbox,
            "targets": targets,
            "domain": domain,
        },
        status=status,
        error=error,
    )


@router.get("/admin/agencies/{agency_id:int}", roles=ADMIN_ROLES)
async def agency_page(w: WebRequest) -> Response:
    return await _detail(w)


@router.post("/admin/agencies/{agency_id:int}/headcount", roles=ADMIN_ROLES)
async def set_headcount(w: WebRequest) -> Response:
    agency_id = w.params["agency_id"]
    headcount = form_int(w, "headcount")
    if headcount is None:
        return await _detail(w, error=w.t("web.admin.bad_number"), status=400)

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        sc.require(await ops.agency(agency_id), "agency.headcount")
        await ops.set_headcount(agency_id, headcount)

    return await act(w, change, page=_detail, done=f"/admin/agencies/{agency_id}")


@router.post("/admin/agencies/{agency_id:int}/move", roles=ADMIN_ROLES)
async def move_agency(w: WebRequest) -> Response:
    agency_id = w.params["agency_id"]
    target = w.form_str("parent").strip()
    if not target:
        return await _detail(w, error=w.t("web.admin.agency.choose_parent"), status=400)

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        a = await ops.agency(agency_id)
        sc.require(a, "agency.move")
        if not sc.everything and any(r.id == a.id for r in sc.roots):
            raise OutOfScope("agency.move", "agency", a.code or str(a.id))
        sc.require(await ops.agency(target), "agency.move", target)
        await ops.move_agency(agency_id, target)

    return await act(w, change, page=_detail, done=f"/admin/agencies/{agency_id}")


@router.post("/admin/agencies/{agency_id:int}/profile", roles=ADMIN_ROLES)
async def set_profile(w: WebRequest) -> Response:
    """The agency's regulation on official e-mail: adopted or not, date, number."""
    agency_id = w.params["agency_id"]
    adopted = w.form_str("adopted") == "1"
    number = unicodedata.normalize("NFC", w.form_str("number").strip())[:60] or None
    try:
        day = date.fromisoformat(w.form_str("date").strip()) if w.form_str("date").strip() else None
    except ValueError:
        return await _detail(w, error=w.t("web.admin.agency.bad_date"), status=400)
    if adopted and (day is None or number is None):
        return await _detail(w, error=w.t("web.admin.agency.regulation_incomplete"), status=400)
    if day is not None and day > utcnow().date():
        return await _detail(w, error=w.t("web.admin.agency.bad_date"), status=400)

    async def change(ops: DirectoryOps, sc: Scope) -> None:
        a = await ops.agency(agency_id)
        sc.require(a, "agency.profile")
        repo = admin_repo(ops.tx)
        row = await repo.profile(a.id)
        before = profile_dict(row)
        if row is None:
            row = await repo.add(AgencyProfile(agency_id=a.id))
        row.regulation_adopted = adopted
        row.regulation_date = day if adopted else None
        row.regulation_number = number if adopted else None
        row.updated_at = utcnow()
        await ops.tx.flush()
        after = profile_dict(row)
        if after != before:
            await ops.audit("agency.profile", "agency", a.code or str(a.id), before, after)

    return await act(w, change, page=_detail, done=f"/admin/agencies/{agency_id}")
