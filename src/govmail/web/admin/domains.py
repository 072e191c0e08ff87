"""Domains hosted here (installation administrators): add, address template, and the
DKIM key with the DNS record to publish."""

from __future__ import annotations

import asyncio

from starlette.responses import Response

from govmail.delivery.dkim_sign import (
    KEY_SIZES,
    DkimKeyError,
    dns_record_name,
    dns_txt_record,
    generate_key,
    public_key_b64,
    txt_strings,
    valid_selector,
    zone_line,
)
from govmail.directory.errors import DirectoryError
from govmail.directory.service import DirectoryOps
from govmail.store.models import utcnow
from govmail.web.admin.common import (
    ADMIN_ROLES,
    act,
    admin_repo,
    installation_only,
    render,
)
from govmail.web.admin.scope import Scope
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()


async def _list_page(w: WebRequest, *, error: str | None = None, status: int = 200) -> Response:
    async with w.core.store.read() as tx:
        domains = await tx.directory.domains()
        agencies = await tx.directory.agencies(active_only=False)
    per_domain: dict[int, int] = {}
    for a in agencies:
        if a.domain_id is not None:
            per_domain[a.domain_id] = per_domain.get(a.domain_id, 0) + 1
    return await render(
        w,
        "admin/domains.html",
        {"domains": domains, "per_domain": per_domain, "form": dict(w.form or {})},
        status=status,
        error=error,
    )


@router.get("/admin/domains", roles=ADMIN_ROLES)
async def domains_page(w: WebRequest) -> Response:
    refused = await installation_only(w, "domain.view", "domain")
    return refused or await _list_page(w)


@router.post("/admin/domains", roles=ADMIN_ROLES)
async def add_domain(w: WebRequest) -> Response:
    name = w.form_str("name").strip()
    refused = await installation_only(w, "domain.add", "domain", name or "-")
    if refused:
        return refused
    template = w.form_str("template").strip() or None

    async def change(ops: DirectoryOps, _sc: Scope) -> None:
        await ops.add_domain(name, template=template)

    return await act(w, change, page=_list_page, done="/admin/domains", flash="admin_domain_added")


def _record(domain: str, selector: str | None, private_pem: str | None) -> dict[str, object] | None:
    if not selector or not private_pem:
        return None
    try:
        public = public_key_b64(private_pem)
    except DkimKeyError as exc:
        return {"broken": str(exc)}
    value = dns_txt_record(public)
    return {
        "name": dns_record_name(selector, domain).rstrip("."),
        "value": value,
        "strings": txt_strings(value),
        "zone_line": zone_line(selector, domain, public),
        "selector": selector,
    }


async def _detail(
    w: WebRequest,
    *,
    error: str | None = None,
    status: int = 200,
    name: str | None = None,
) -> Response:
    name = name or w.params["name"]
    async with w.core.directory.reader() as ops:
        try:
            d = await ops.domain(name)
        except DirectoryError:
            return w.error(404, "web.admin.no_domain")
        agencies = [a for a in await ops.repo.agencies(active_only=False) if a.domain_id == d.id]
        groups = await admin_repo(ops.tx).groups([d.id])
    return await render(
        w,
        "admin/domain.html",
        {
            "domain": d,
            "record": _record(d.name, d.dkim_selector, d.dkim_private_key),
            "agencies": agencies,
            "groups": groups,
            "key_sizes": KEY_SIZES,
            "default_selector": f"gm{utcnow():%Y%m}",
        },
        status=status,
        error=error,
    )


@router.get("/admin/domains/{name}", roles=ADMIN_ROLES)
async def domain_page(w: WebRequest) -> Response:
    refused = await installation_only(w, "domain.view", "domain", w.params["name"])
    return refused or await _detail(w)


@router.post("/admin/domains/{name}/template", roles=ADMIN_ROLES)
async def set_template(w: WebRequest) -> Response:
    name = w.params["name"]
    refused = await installation_only(w, "domain.template", "domain", name)
    if refused:
        return refused
    template = w.form_str("template").strip() or None

    async def change(ops: DirectoryOps, _sc: Scope) -> None:
        await ops.set_domain_template(name, template)

    return await act(w, change, page=_detail, done=f"/admin/domains/{name}")


@router.post("/admin/domains/{name}/dkim", roles=ADMIN_ROLES)
async def dkim_generate(w: WebRequest) -> Response:
    """A new DKIM key for the domain; the old one is replaced only when asked to."""
    name = w.params["name"]
    refused = await installation_only(w, "domain.dkim", "domain", name)
    if refused:
        return refused
    selector = (w.form_str("selector").strip() or f"gm{utcnow():%Y%m}").lower()
    try:
        bits = int(w.form_str("bits") or 2048)
    except ValueError:
        bits = 0
    if not valid_selector(selector):
        return await _detail(
            w, error=w.t("web.admin.dkim.bad_selector", selector=selector), status=400
        )
    if bits not in KEY_SIZES:
        return await _detail(w, error=w.t("web.admin.dkim.bad_bits"), status=400)
    async with w.core.directory.reader() as ops:
        try:
            existing = await ops.domain(name)
        except DirectoryError:
            return w.error(404, "web.admin.no_domain")
    if existing.dkim_private_key and w.form_str("replace") != "1":
        return await _detail(w, error=w.t("web.admin.dkim.exists"), status=409)
    private_pem, _public = await asyncio.to_thread(generate_key, bits)

    async def change(ops: DirectoryOps, _sc: Scope) -> None:
        await ops.set_dkim_key(name, selector, private_pem)

    return await act(
        w, change, page=_detail, done=f"/admin/domains/{name}", flash="admin_dkim_stored"
    )
