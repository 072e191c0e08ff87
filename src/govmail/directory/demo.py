"""Load the demo organisation: the ministries and 63 provinces of the seed report,
with their units, agency mailboxes, a few staff each, clerks and national groups."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from govmail.directory import demo_data
from govmail.directory.base import Actor
from govmail.directory.names import ascii_fold
from govmail.directory.passwords import hash_password
from govmail.directory.service import Directory, DirectoryOps

DEMO_PASSWORD = "govmail-demo"
ADMIN_ADDRESS = "quantri@mic.gov.vn"
MIC_CODE = "000.00.00.G14"
# National distribution groups, hosted on the Ministry of Information and Communications'
# domain: the lists the "Nơi nhận" lines of the seed documents name.
NATIONAL_GROUPS: tuple[tuple[str, str, dict[str, object]], ...] = (
    (
        "cacbo",
        "Các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ",
        {"kinds": ["ministry", "government_agency"]},
    ),
    ("cactinh", "UBND các tỉnh, thành phố trực thuộc Trung ương", {"kinds": ["province"]}),
    ("sotttt", "Sở TT&TT các tỉnh, thành phố trực thuộc Trung ương", {"roles": ["dept_ict"]}),
    (
        "cnttbo",
        "Đơn vị chuyên trách về CNTT của các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ",
        {"roles": ["it_unit"]},
    ),
)
_DISTRICT_PREFIX = re.compile(r"^ubnd (thanh pho|thi xa|huyen|quan) ")


@dataclass(slots=True)
class DemoResult:
    agencies: int = 0
    mailboxes: int = 0
    skipped: int = 0


def agency_mailbox_local(seed: demo_data.AgencySeed) -> str:
    if seed.parent_code is None:
        return "vanthu"
    folded = ascii_fold(seed.short_name)
    if seed.kind == "district":
        return "ubnd." + _DISTRICT_PREFIX.sub("", folded).replace(" ", "")
    return folded.replace(" ", "")


def top_level_groups() -> list[list[demo_data.AgencySeed]]:
    """The demo tree cut into top-level agencies, each with its units (one transaction each)."""
    out: list[list[demo_data.AgencySeed]] = []
    for seed in demo_data.iter_demo_agencies():
        if seed.parent_code is None:
            out.append([seed])
        else:
            out[-1].append(seed)
    return out


async def load_demo(
    directory: Directory,
    *,
    staff_per_agency: int = 4,
    only: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Load the demo organisation (idempotent: agencies already present are skipped).

    ``only`` restricts it to top-level agencies whose code or domain is listed (tests).
    """
    actor = Actor("demo", "cli")
    pw_hash = await hash_password(DEMO_PASSWORD)
    result = DemoResult()
    groups = top_level_groups()
    if only:
        wanted = set(only) | {MIC_CODE}
        groups = [g for g in groups if g[0].code in wanted or g[0].domain in wanted]
    for group in groups:
        async with directory.ops(actor) as ops:
            if await ops.repo.agency_by_code(group[0].code) is not None:
                result.skipped += 1
            else:
                for seed in group:
                    await _load_agency(ops, seed, staff_per_agency, pw_hash, result)
        if progress:
            progress(1)
    async with directory.ops(actor) as ops:
        await _national(ops, pw_hash)
    return result


async def _load_agency(
    ops: DirectoryOps,
    seed: demo_data.AgencySeed,
    staff_count: int,
    pw_hash: str,
    result: DemoResult,
) -> None:
    if seed.domain and await ops.repo.domain_by_name(seed.domain) is None:
        await ops.add_domain(seed.domain)
    agency = await ops.add_agency(
        name=seed.name,
        short_name=seed.short_name,
        kind=seed.kind,
        code=seed.code,
        parent=seed.parent_code,
        domain=seed.domain,
        role=seed.role,
        place=seed.place,
    )
    result.agencies += 1
    agency_mb = await ops.add_mailbox(
        full_name=seed.name,
        agency=agency,
        kind="agency",
        local_part=await ops.free_local_part(
            await ops.agency_domain(agency), agency_mailbox_local(seed), for_person=False
        ),
        password_hash=pw_hash,
    )
    result.mailboxes += 1
    clerk = None
    staff = demo_data.demo_staff(seed.code, staff_count)
    for person in staff:
        m = await ops.add_mailbox(
            full_name=person.full_name,
            agency=agency,
            position=person.position,
            staff_id=person.staff_id,
            password_hash=pw_hash,
        )
        result.mailboxes += 1
        if person.position == "Văn thư":
            clerk = m
    clerk = clerk or (await ops.repo.mailbox_by_staff_id(staff[-1].staff_id) if staff else None)
    if clerk is not None:
        await ops.add_handler(agency_mb.address, clerk.address, is_clerk=True)
    headcount = staff_count + 1 + (len(seed.code) % 3)  # a few people have no mailbox yet
    await ops.set_headcount(agency.id, headcount)


async def _national(ops: DirectoryOps, pw_hash: str) -> None:
    mic = await ops.repo.agency_by_code(MIC_CODE)
    if mic is None:
        return
    domain = (await ops.agency_domain(mic)).name
    for local, name, rule in NATIONAL_GROUPS:
        if await ops.repo.group_by_address(f"{local}@{domain}") is None:
            await ops.add_group(f"{local}@{domain}", name, rule=dict(rule))
    if await ops.repo.mailbox_by_address(ADMIN_ADDRESS) is None:
        await ops.add_mailbox(
            full_name="Quản trị hệ thống",
            agency=mic,
            local_part=ADMIN_ADDRESS.split("@")[0],
            position="Quản trị viên",
            password_hash=pw_hash,
            listed=False,
        )
        await ops.grant_role(ADMIN_ADDRESS, "installation_admin")
