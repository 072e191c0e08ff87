"""govmail agency …"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from govmail.cli.output import emit, emit_one, ok
from govmail.cli.runtime import Runtime, cli_actor, run
from govmail.store.models import Agency

app = typer.Typer(help="Cơ quan, đơn vị / agencies and units.", no_args_is_help=True)
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def agency_row(a: Agency, depth: int = 0) -> dict[str, Any]:
    return {
        "id": a.id,
        "code": a.code,
        "kind": a.kind,
        "name": a.name,
        "short_name": a.short_name,
        "role": a.role,
        "parent_id": a.parent_id,
        "headcount": a.staff_headcount,
        "depth": depth,
        "indented": "  " * depth + a.name,
    }


@app.command("add")
def add(
    name: str,
    short_name: Annotated[str, typer.Option("--short", help="Short name, e.g. STTTT")],
    kind: Annotated[
        str, typer.Option(help="ministry, government_agency, province, department, district, unit")
    ],
    code: Annotated[
        str | None, typer.Option(help="Agency code (mã định danh), e.g. 000.00.00.G14")
    ] = None,
    parent: Annotated[
        str | None, typer.Option(help="Parent agency: code, id or exact name")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Mail domain (default: the parent's)")] = None,
    role: Annotated[
        str | None, typer.Option(help="Role tag, e.g. dept_ict, it_unit, office")
    ] = None,
    headcount: Annotated[int | None, typer.Option(help="Staff headcount (biên chế)")] = None,
) -> None:
    """Add an agency or unit."""

    async def go(rt: Runtime) -> Agency:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.add_agency(
                name=name,
                short_name=short_name,
                kind=kind,
                code=code,
                parent=parent,
                domain=domain,
                role=role,
                headcount=headcount,
            )

    a = run(go)
    ok(f"{a.name} ({a.code or a.id})")


@app.command("list")
def list_(
    under: Annotated[str | None, typer.Option(help="Only this agency's subtree")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind")] = None,
    as_json: JSON = False,
) -> None:
    """List agencies as a tree."""

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.directory.reader() as ops:
            root = await ops.agency(under) if under else None
            rows = await ops.repo.agencies(under=root, kinds=[kind] if kind else None)
            base = root.path.count("/") if root else 2
            return [agency_row(a, a.path.count("/") - base) for a in rows]

    emit(
        run(go),
        [
            ("code", "Mã định danh"),
            ("indented", "Tên"),
            ("short_name", "Viết tắt"),
            ("kind", "Loại"),
            ("headcount", "Biên chế"),
        ],
        as_json=as_json,
    )


@app.command("show")
def show(ref: str, as_json: JSON = False) -> None:
    """Show one agency (by code, id or exact name)."""

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.directory.reader() as ops:
            a = await ops.agency(ref)
            row = agency_row(a)
            row["domain"] = (await ops.agency_domain(a)).name
            mb = await ops.repo.agency_mailbox(a.id)
            row["agency_mailbox"] = mb.address if mb else None
            row["mailboxes"] = len(await ops.repo.mailboxes(agency_ids=[a.id]))
            row.pop("indented")
            row.pop("depth")
            return row

    emit_one(run(go), as_json=as_json)


@app.command("move")
def move(ref: str, new_parent: str) -> None:
    """Move an agency (and its subtree) under another parent."""

    async def go(rt: Runtime) -> Agency:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.move_agency(ref, new_parent)

    ok(run(go).name)


@app.command("headcount")
def headcount(ref: str, count: int) -> None:
    """Set an agency's staff headcount (used by the usage reports)."""

    async def go(rt: Runtime) -> Agency:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.set_headcount(ref, count)

    a = run(go)
    ok(f"{a.name}: {a.staff_headcount}")
