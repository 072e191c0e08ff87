"""govmail demo"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from govmail.cli.output import console, ok
from govmail.cli.runtime import Runtime, run
from govmail.directory.demo import (
    ADMIN_ADDRESS,
    DEMO_PASSWORD,
    DemoResult,
    load_demo,
    top_level_groups,
)
from govmail.i18n import t


def demo(
    staff: Annotated[int, typer.Option(help="Staff mailboxes per agency and unit")] = 4,
    only: Annotated[
        list[str] | None, typer.Option(help="Only these top-level agencies (code or domain)")
    ] = None,
    if_empty: Annotated[bool, typer.Option(help="Do nothing if agencies already exist")] = False,
) -> None:
    """Load the demo organisation: ministries and 63 provinces with units and staff."""

    async def go(rt: Runtime) -> DemoResult | None:
        if if_empty:
            async with rt.directory.reader() as ops:
                if await ops.repo.count_agencies():
                    return None
        total = len(only) + 1 if only else len(top_level_groups())
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(t("cli.demo.loading"), total=total)
            return await load_demo(
                rt.directory,
                staff_per_agency=staff,
                only=only,
                progress=lambda n: bar.advance(task, n),
            )

    result = run(go)
    if result is None:
        ok(t("cli.demo.already"))
        return
    ok(
        t(
            "cli.demo.done",
            agencies=result.agencies,
            mailboxes=result.mailboxes,
            admin=ADMIN_ADDRESS,
            password=DEMO_PASSWORD,
        )
    )
