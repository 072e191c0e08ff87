"""govmail domain …"""

from __future__ import annotations

from typing import Annotated

import typer

from govmail.cli.output import emit, ok
from govmail.cli.runtime import Runtime, cli_actor, run

app = typer.Typer(help="Tên miền / mail domains.", no_args_is_help=True)
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("add")
def add(
    name: str,
    template: Annotated[
        str | None, typer.Option(help="Address template, e.g. {given}.{initials}")
    ] = None,
) -> None:
    """Add a domain hosted here."""

    async def go(rt: Runtime) -> str:
        async with rt.directory.ops(cli_actor()) as ops:
            return (await ops.add_domain(name, template=template)).name

    ok(run(go))


@app.command("template")
def template(name: str, template: str) -> None:
    """Set the address template of a domain ('' to use the installation default)."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.set_domain_template(name, template or None)

    run(go)
    ok(f"{name}: {template or '(default)'}")


@app.command("list")
def list_(as_json: JSON = False) -> None:
    """List domains."""

    async def go(rt: Runtime) -> list[dict[str, object]]:
        async with rt.directory.reader() as ops:
            return [
                {
                    "name": d.name,
                    "template": d.address_template,
                    "active": d.active,
                    "dkim_selector": d.dkim_selector,
                }
                for d in await ops.repo.domains()
            ]

    emit(
        run(go),
        [("name", "Tên miền"), ("template", "Mẫu địa chỉ"), ("dkim_selector", "DKIM")],
        as_json=as_json,
    )
