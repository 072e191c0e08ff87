"""Directory management over the API: agencies, mailboxes (with their lifecycle) and
groups. Every change is a ``DirectoryOps`` call made as the token (audited with source
"api"); a token restricted to an agency acts only inside that agency's subtree."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from govmail.directory.export import PUBLIC_FIELDS
from govmail.directory.service import DirectoryOps
from govmail.mail.textfold import fold
from govmail.store.models import Agency, Group, Mailbox
from govmail.store.models_api import AgencyProfile
from govmail.store.repos.admin import AdminRepo
from govmail.store.tx import Tx
from govmail.web.admin.groups import require_group_domain, require_member, require_rule
from govmail.web.admin.mailboxes import matches
from govmail.web.admin.scope import OutOfScope
from govmail.web.api.base import ApiRequest, ApiRouter, ok
from govmail.web.api.problems import ApiProblem
from govmail.web.directory_public.listing import set_listing

router = ApiRouter()
READ, WRITE = "directory:read", "directory:write"
MAX_PAGE = 500


def _iso(v: Any) -> Any:
    return v.isoformat() if v is not None and hasattr(v, "isoformat") else v


def agency_json(
    a: Agency, profile: AgencyProfile | None = None, domain: str | None = None
) -> dict[str, Any]:
    return {
        "id": a.id,
        "code": a.code,
        "name": a.name,
        "short_name": a.short_name,
        "kind": a.kind,
        "role": a.role,
        "place": a.place,
        "parent_id": a.parent_id,
        "domain": domain,
        "headcount": a.staff_headcount,
        "active": a.active,
        "regulation": {
            "adopted": bool(profile and profile.regulation_adopted),
            "date": _iso(profile.regulation_date) if profile else None,
            "number": profile.regulation_number if profile else None,
        },
    }


def mailbox_json(m: Mailbox, agency: Agency | None = None) -> dict[str, Any]:
    return {
        "id": m.id,
        "address": m.address,
        "kind": m.kind,
        "full_name": m.full_name,
        "position": m.position,
        "phone": m.phone,
        "agency_id": m.agency_id,
        "agency_code": agency.code if agency else None,
        "staff_id": m.staff_id,
        "status": m.status,
        "quota_bytes": m.quota_bytes,
        "used_bytes": m.used_bytes,
        "listed": m.listed,
        "public_fields": list(m.public_fields or []),
        "created_at": _iso(m.created_at),
        "suspended_at": _iso(m.suspended_at),
        "archived_at": _iso(m.archived_at),
        "delete_after": _iso(m.delete_after),
    }


def _str(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiProblem(422, "field_required", field=name)
        return None
    if not isinstance(value, str):
        raise ApiProblem(422, "field_type", field=name, type="string")
    return value


def _int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiProblem(422, "field_type", field=name, type="integer")
    return value


def _bool(data: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = data.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise ApiProblem(422, "field_type", field=name, type="boolean")
    return value


def _ref(value: Any, name: str) -> str | None:
    """An agency reference in JSON: its id (number) or code (string)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ApiProblem(422, "field_type", field=name, type="string|integer")
    return str(value)


async def _agency_extras(tx: Tx, a: Agency) -> dict[str, Any]:
    profile = await AdminRepo(tx.session, tx.store.dialect).profile(a.id)
    domain = await tx.directory.domain_by_id(a.domain_id) if a.domain_id else None
    return agency_json(a, profile, domain.name if domain else None)


# -- agencies ----------------------------------------------------------------------------


@router.get("/agencies", needs=READ)
async def list_agencies(a: ApiRequest) -> Response:
    limit = a.query_int("limit", 100, 1, MAX_PAGE)
    offset = a.query_int("offset", 0, 0, 10**9)
    async with a.core.directory.reader() as ops:
        items = await a.scope.agencies(ops.tx, active_only=a.query("active") != "all")
        under = a.query("under").strip()
        if under:
            root = await ops.agency(under)
            if not a.scope.covers(root):
                raise OutOfScope("agency.list", "agency", under)
            items = [x for x in items if x.path.startswith(root.path)]
        page = items[offset : offset + limit]
        repo = AdminRepo(ops.tx.session, ops.tx.store.dialect)
        profiles = await repo.profiles([x.id for x in page])
        domains = await repo.domains_by_ids([x.domain_id for x in page if x.domain_id])
    return ok(
        {
            "total": len(items),
            "items": [
                agency_json(
                    x,
                    profiles.get(x.id),
                    domains[x.domain_id].name if x.domain_id in domains else None,
                )
                for x in page
            ],
        }
    )


@router.get("/agencies/{ref}", needs=READ)
async def get_agency(a: ApiRequest) -> Response:
    async with a.core.directory.reader() as ops:
        agency = await ops.agency(a.params["ref"])
        a.scope.require(agency, "agency.view")
        return ok(await _agency_extras(ops.tx, agency))


@router.post("/agencies", needs=WRITE)
async def create_agency(a: ApiRequest) -> Response:
    data = await a.json()
    parent = _ref(data.get("parent"), "parent")
    async with a.core.directory.ops(a.actor()) as ops:
        if parent is None:
            a.scope.require_everything("agency.add", "agency", str(data.get("name"))[:100])
        else:
            a.scope.require(await ops.agency(parent), "agency.add", parent)
        created = await ops.add_agency(
            name=_str(data, "name", required=True) or "",
            short_name=_str(data, "short_name", required=True) or "",
            kind=_str(data, "kind", required=True) or "",
            code=_str(data, "code"),
            parent=parent,
            domain=_str(data, "domain") if a.scope.everything else None,
            role=_str(data, "role"),
            place=_str(data, "place"),
            headcount=_int(data, "headcount"),
        )
        body = await _agency_extras(ops.tx, created)
    return ok(body, 201, {"location": f"/api/v1/agencies/{created.id}"})


# -- mailboxes ---------------------------------------------------------------------------


async def _scoped_mailbox(ops: DirectoryOps, a: ApiRequest, action: str) -> Mailbox:
    m = await ops.mailbox(a.params["address"])
    await a.scope.require_mailbox(ops, m, action)
    return m


async def _mailbox_body(ops: DirectoryOps, m: Mailbox) -> dict[str, Any]:
    agency = await ops.repo.agency_by_id(m.agency_id) if m.agency_id else None
    return mailbox_json(m, agency)


@router.get("/mailboxes", needs=READ)
async def list_mailboxes(a: ApiRequest) -> Response:
    limit = a.query_int("limit", 100, 1, MAX_PAGE)
    offset = a.query_int("offset", 0, 0, 10**9)
    status = a.query("status") or None
    kind = a.query("kind") or None
    if status not in (None, "active", "suspended", "archived"):
        raise ApiProblem(400, "bad_parameter", name="status")
    if kind not in (None, "person", "agency"):
        raise ApiProblem(400, "bad_parameter", name="kind")
    async with a.core.directory.reader() as ops:
        ids = await a.scope.agency_ids(ops.tx)
        ref = a.query("agency").strip()
        if ref:
            unit = await ops.agency(ref)
            a.scope.require(unit, "mailbox.list", ref)
            ids = [x.id for x in await ops.repo.agencies(under=unit, active_only=False)]
        repo = AdminRepo(ops.tx.session, ops.tx.store.dialect)
        names = await repo.mailbox_names(
            agency_ids=ids, statuses=[status] if status else None, kind=kind
        )
        q = a.query("q").strip()
        if q:
            words = fold(q).split()
            names = [n for n in names if matches(words, n.full_name, n.address)]
        rows = await repo.mailboxes_by_ids([n.id for n in names[offset : offset + limit]])
        agencies = {x.id: x for x in await ops.repo.agencies(active_only=False)}
    return ok(
        {
            "total": len(names),
            "items": [mailbox_json(m, agencies.get(m.agency_id or -1)) for m in rows],
        }
    )


@router.get("/mailboxes/{address}", needs=READ)
async def get_mailbox(a: ApiRequest) -> Response:
    async with a.core.directory.reader() as ops:
        m = await _scoped_mailbox(ops, a, "mailbox.view")
        return ok(await _mailbox_body(ops, m))


@router.post("/mailboxes", needs=WRITE)
async def create_mailbox(a: ApiRequest) -> Response:
    data = await a.json()
    unit_ref = _ref(data.get("agency"), "agency")
    if unit_ref is None:
        raise ApiProblem(422, "field_required", field="agency")
    async with a.core.directory.ops(a.actor()) as ops:
        unit = await ops.agency(unit_ref)
        a.scope.require(unit, "mailbox.add", unit_ref)
        m = await ops.add_mailbox(
            full_name=_str(data, "full_name", required=True) or "",
            agency=unit,
            kind=_str(data, "kind") or "person",
            position=_str(data, "position"),
            staff_id=_str(data, "staff_id"),
            local_part=_str(data, "local_part"),
            password=_str(data, "password"),
            quota_mb=_int(data, "quota_mb"),
            listed=bool(_bool(data, "listed", True)),
            phone=_str(data, "phone"),
        )
        body = await _mailbox_body(ops, m)
    return ok(body, 201, {"location": f"/api/v1/mailboxes/{m.address}"})


@router.patch("/mailboxes/{address}", needs=WRITE)
async def update_mailbox(a: ApiRequest) -> Response:
    data = await a.json()
    unknown = set(data) - {"full_name", "position", "phone", "listed", "public_fields", "quota_mb"}
    if unknown:
        raise ApiProblem(422, "unknown_fields", fields=", ".join(sorted(unknown)))
    fields = data.get("public_fields")
    if fields is not None and (
        not isinstance(fields, list) or any(f not in PUBLIC_FIELDS for f in fields)
    ):
        raise ApiProblem(
            422, "field_type", field="public_fields", type="[" + "|".join(PUBLIC_FIELDS) + "]"
        )
    async with a.core.directory.ops(a.actor()) as ops:
        m = await _scoped_mailbox(ops, a, "mailbox.update")
        if data.keys() & {"full_name", "position", "phone"}:
            await ops.update_person(
                m.address,
                full_name=_str(data, "full_name") if "full_name" in data else None,
                position=(_str(data, "position") or "") if "position" in data else None,
                phone=(_str(data, "phone") or "") if "phone" in data else None,
            )
        if "listed" in data or fields is not None:
            listed = _bool(data, "listed")
            await set_listing(
                ops,
                m,
                listed=m.listed if listed is None else listed,
                fields=(m.public_fields or []) if fields is None else fields,
                by_person=False,
            )
        quota = _int(data, "quota_mb")
        if quota is not None:
            await ops.set_quota(m.address, quota)
        body = await _mailbox_body(ops, m)
    return ok(body)


def _lifecycle(action: str):  # type: ignore[no-untyped-def]
    async def handler(a: ApiRequest) -> Response:
        data = await a.json() if action == "transfer" else {}
        async with a.core.directory.ops(a.actor()) as ops:
            m = await _scoped_mailbox(ops, a, f"mailbox.{action}")
            if action == "suspend":
                m = await ops.suspend(m.address)
            elif action == "reactivate":
                m = await ops.reactivate(m.address)
            elif action == "archive":
                m = await ops.archive(m.address)
            else:
                ref = _ref(data.get("agency"), "agency")
                if ref is None:
                    raise ApiProblem(422, "field_required", field="agency")
                unit = await ops.agency(ref)
                a.scope.require(unit, "mailbox.transfer", ref)
                m = await ops.transfer(m.address, unit.id, position=_str(data, "position"))
            body = await _mailbox_body(ops, m)
        return ok(body)

    return handler


for _action in ("suspend", "reactivate", "archive", "transfer"):
    router.post(f"/mailboxes/{{address}}/{_action}", needs=WRITE)(_lifecycle(_action))


# -- groups ------------------------------------------------------------------------------


async def _group_body(ops: DirectoryOps, g: Group) -> dict[str, Any]:
    members = []
    for gm in await ops.repo.group_members(g.id):
        mb = await ops.repo.mailbox_by_id(gm.mailbox_id) if gm.mailbox_id else None
        members.append(mb.address if mb else gm.address)
    return {
        "id": g.id,
        "address": g.address,
        "name": g.name,
        "kind": g.kind,
        "description": g.description,
        "rule": g.rule,
        "members": members if g.kind == "static" else None,
        "expands_to": await ops.expand_group(g.address),
    }


async def _scoped_group(ops: DirectoryOps, a: ApiRequest, action: str) -> Group:
    g = await ops.group(a.params["address"])
    await a.scope.require_group(ops, g, action)
    return g


@router.get("/groups", needs=READ)
async def list_groups(a: ApiRequest) -> Response:
    async with a.core.directory.reader() as ops:
        domain_ids = await a.scope.domain_ids(ops)
        repo = AdminRepo(ops.tx.session, ops.tx.store.dialect)
        groups = await repo.groups(sorted(domain_ids) if domain_ids is not None else None)
        counts = await repo.group_member_counts([g.id for g in groups])
    return ok(
        {
            "total": len(groups),
            "items": [
                {
                    "id": g.id,
                    "address": g.address,
                    "name": g.name,
                    "kind": g.kind,
                    "rule": g.rule,
                    "member_count": counts.get(g.id, 0) if g.kind == "static" else None,
                }
                for g in groups
            ],
        }
    )


@router.get("/groups/{address}", needs=READ)
async def get_group(a: ApiRequest) -> Response:
    async with a.core.directory.reader() as ops:
        g = await _scoped_group(ops, a, "group.view")
        return ok(await _group_body(ops, g))


@router.post("/groups", needs=WRITE)
async def create_group(a: ApiRequest) -> Response:
    data = await a.json()
    address = (_str(data, "address", required=True) or "").strip().lower()
    rule = data.get("rule")
    if rule is not None and not isinstance(rule, dict):
        raise ApiProblem(422, "field_type", field="rule", type="object")
    async with a.core.directory.ops(a.actor()) as ops:
        await require_group_domain(ops, a.scope, address, "group.add")
        if rule is not None:
            await require_rule(ops, a.scope, rule, "group.add")
        g = await ops.add_group(
            address,
            _str(data, "name", required=True) or "",
            rule=rule,
            description=_str(data, "description"),
        )
        body = await _group_body(ops, g)
    return ok(body, 201, {"location": f"/api/v1/groups/{g.address}"})


@router.post("/groups/{address}/members", needs=WRITE)
async def add_group_member(a: ApiRequest) -> Response:
    data = await a.json()
    member = (_str(data, "address", required=True) or "").strip().lower()
    async with a.core.directory.ops(a.actor()) as ops:
        g = await _scoped_group(ops, a, "group.member_add")
        await require_member(ops, a.scope, member, "group.member_add")
        await ops.add_group_member(g.address, member)
        body = await _group_body(ops, g)
    return ok(body, 201)


@router.delete("/groups/{address}/members/{member}", needs=WRITE)
async def remove_group_member(a: ApiRequest) -> Response:
    async with a.core.directory.ops(a.actor()) as ops:
        g = await _scoped_group(ops, a, "group.member_remove")
        await ops.remove_group_member(g.address, a.params["member"].strip().lower())
        body = await _group_body(ops, g)
    return ok(body)
