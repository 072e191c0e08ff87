"""Domains and the agency tree."""

from __future__ import annotations

import re
import unicodedata

from govmail.directory.base import OpsBase, snapshot
from govmail.directory.errors import DirectoryError
from govmail.directory.names import validate_template
from govmail.store.models import Agency, Domain, utcnow

AGENCY_KINDS = (
    "ministry",  # Bộ, cơ quan ngang Bộ
    "government_agency",  # cơ quan thuộc Chính phủ
    "province",  # UBND tỉnh, thành phố trực thuộc TW
    "department",  # sở, ban, ngành
    "district",  # quận, huyện, thị xã
    "unit",  # đơn vị trực thuộc
    "other",
)
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Mã định danh: QCVN 102:2016 (000.00.00.G22) or QĐ 20/2020 (G09.01), up to 35 characters.
_CODE_RE = re.compile(r"^[0-9A-Z]+(\.[0-9A-Z]+)*$")


def normalize_domain(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DirectoryError("domain.invalid", domain=name) from exc
    if not _DOMAIN_RE.match(name):
        raise DirectoryError("domain.invalid", domain=name)
    return name


class AgencyOps(OpsBase):
    # -- domains -------------------------------------------------------------------------
    async def add_domain(self, name: str, *, template: str | None = None) -> Domain:
        name = normalize_domain(name)
        if await self.repo.domain_by_name(name):
            raise DirectoryError("domain.exists", domain=name)
        if template:
            validate_template(template)
        d = await self.repo.add(Domain(name=name, address_template=template))
        await self.audit("domain.add", "domain", name, after=snapshot(d))
        return d

    async def set_domain_template(self, name: str, template: str | None) -> Domain:
        d = await self.domain(name)
        if template:
            validate_template(template)
        before = snapshot(d)
        d.address_template = template
        await self.tx.flush()
        await self.audit("domain.template", "domain", d.name, before, snapshot(d))
        return d

    async def set_dkim_key(self, name: str, selector: str, private_pem: str) -> Domain:
        """Store the domain's DKIM signing key; the audit entry records the selector only."""
        d = await self.domain(name)
        selector = selector.strip().lower()
        label = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
        if len(selector) > 63 or not re.fullmatch(rf"{label}(\.{label})*", selector):
            raise DirectoryError("domain.bad_dkim_selector", selector=selector)
        if "PRIVATE KEY-----" not in private_pem:
            raise DirectoryError("domain.bad_dkim_key", domain=d.name)
        before = snapshot(d)  # snapshot() leaves dkim_private_key out
        key_event = "replaced" if d.dkim_private_key else "set"
        d.dkim_selector = selector
        d.dkim_private_key = private_pem
        await self.tx.flush()
        after = {**snapshot(d), "dkim_key": key_event}
        await self.audit("domain.dkim", "domain", d.name, before, after)
        return d

    # -- agencies ------------------------------------------------------------------------
    async def add_agency(
        self,
        *,
        name: str,
        short_name: str,
        kind: str,
        code: str | None = None,
        parent: str | int | None = None,
        domain: str | None = None,
        role: str | None = None,
        place: str | None = None,
        headcount: int | None = None,
    ) -> Agency:
        name = unicodedata.normalize("NFC", " ".join(name.split()))
        short_name = unicodedata.normalize("NFC", short_name.strip())
        if not name:
            raise DirectoryError("agency.name_required")
        if not short_name:
            raise DirectoryError("agency.short_name_required", agency=name)
        if kind not in AGENCY_KINDS:
            raise DirectoryError("agency.bad_kind", kind=kind, kinds=", ".join(AGENCY_KINDS))
        if code is not None:
            code = code.strip().upper()
            if len(code) > 35 or not _CODE_RE.match(code):
                raise DirectoryError("agency.bad_code", code=code)
            if await self.repo.agency_by_code(code):
                raise DirectoryError("agency.code_exists", code=code)
        if headcount is not None and headcount < 0:
            raise DirectoryError("agency.bad_headcount", agency=name, headcount=headcount)
        parent_agency = await self.agency(parent) if parent is not None else None
        dom = await self.domain(domain) if domain else None
        if dom is None and parent_agency is None:
            raise DirectoryError("agency.no_domain", agency=name)
        a = Agency(
            name=name,
            short_name=short_name,
            kind=kind,
            code=code,
            parent_id=parent_agency.id if parent_agency else None,
            domain_id=dom.id if dom else None,
            role=role,
            place=place,
            staff_headcount=headcount,
            headcount_updated_at=utcnow() if headcount is not None else None,
            settings={},
        )
        await self.repo.add(a)
        a.path = f"{parent_agency.path if parent_agency else '/'}{a.id}/"
        await self.tx.flush()
        await self.audit("agency.add", "agency", a.code or str(a.id), after=snapshot(a))
        return a

    async def move_agency(self, ref: str | int, new_parent: str | int) -> Agency:
        a = await self.agency(ref)
        p = await self.agency(new_parent)
        if p.path.startswith(a.path):
            raise DirectoryError("agency.cycle", agency=a.name, parent=p.name)
        before = snapshot(a)
        old_path = a.path
        new_path = f"{p.path}{a.id}/"
        for sub in await self.repo.agencies(under=a, active_only=False):
            sub.path = new_path + sub.path[len(old_path) :]
        a.parent_id = p.id
        await self.tx.flush()
        await self.audit("agency.move", "agency", a.code or str(a.id), before, snapshot(a))
        return a

    async def set_headcount(self, ref: str | int, headcount: int) -> Agency:
        a = await self.agency(ref)
        if headcount < 0:
            raise DirectoryError("agency.bad_headcount", agency=a.name, headcount=headcount)
        before = snapshot(a)
        a.staff_headcount = headcount
        a.headcount_updated_at = utcnow()
        await self.tx.flush()
        await self.audit("agency.headcount", "agency", a.code or str(a.id), before, snapshot(a))
        return a
