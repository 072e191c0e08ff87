"""govmail group …"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from govmail.cli.output import emit, ok
from govmail.cli.runtime import Runtime, cli_actor, run

app = typer.Typer(help="Nhóm thư / distribution groups.", no_args_is_help=True)
member_app = typer.Typer(help="Thành viên nhóm / static group members.", no_args_is_help=True)
app.add_typer(member_app, name="member")
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("add")
def add(
    address: str,
    name: str,
    kinds: Annotated[
        list[str] | None, typer.Option("--kind", help="Dynamic: agencies of this kind")
    ] = None,
    roles: Annotated[
        list[str] | None, typer.Option("--role", help="Dynamic: agencies with this role")
    ] = None,
    under: Annotated[str | None, typer.Option(help="Dynamic: only under this agency")] = None,
    staff: Annotated[
        bool, typer.Option(help="Dynamic: deliver to staff, not agency mailboxes")
    ] = False,
) -> None:
    """Create a group: static, or dynamic with --kind/--role/--under."""
    rule: dict[str, Any] | None = None
    if kinds or roles or under:
        rule = {
            "kinds": kinds or [],
            "roles": roles or [],
            "under": under,
            "target": "staff" if staff else "agency_mailbox",
        }

    async def go(rt: Runtime) -> str:
        async with rt.directory.ops(cli_actor()) as ops:
            return (await ops.add_group(address, name, rule=rule)).address

    ok(run(go))


@app.command("list")
def list_(as_json: JSON = False) -> None:
    """List groups."""

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.directory.reader() as ops:
            return [
                {"address": g.address, "name": g.name, "kind": g.kind, "rule": g.rule}
                for g in await ops.repo.groups()
            ]

    emit(
        run(go),
        [("address", "Địa chỉ"), ("name", "Tên nhóm"), ("kind", "Loại"), ("rule", "Quy tắc")],
        as_json=as_json,
    )


@app.command("show")
def show(address: str, as_json: JSON = False) -> None:
    """List the addresses a group delivers to now."""

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.directory.reader() as ops:
            return [{"address": a} for a in await ops.expand_group(address)]

    emit(run(go), [("address", "Địa chỉ")], as_json=as_json, title=address)


@member_app.command("add")
def member_add(group: str, member: str) -> None:
    """Add a mailbox (or an outside address) to a static group."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.add_group_member(group, member)

    run(go)
    ok(f"{member} → {group}")


@member_app.command("remove")
def member_remove(group: str, member: str) -> None:
    """Remove a member from a static group."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.remove_group_member(group, member)

    run(go)
    ok(f"{member} ✗ {group}")
