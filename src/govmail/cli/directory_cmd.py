"""govmail directory import | export"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from govmail.cli.output import console, emit, ok
from govmail.cli.runtime import Runtime, cli_actor, run
from govmail.directory.export import (
    HR_COLUMNS,
    PUBLIC_FIELDS,
    directory_entries,
    to_csv,
    to_json,
    to_vcard,
)
from govmail.directory.hr_import import ImportReport, read_rows, run_import
from govmail.i18n import t

app = typer.Typer(
    help="Danh bạ: nhập từ tổ chức cán bộ, xuất / HR import and exports.", no_args_is_help=True
)


@app.command("import")
def import_(
    path: Path,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the planned changes only")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
) -> None:
    """Create, update, transfer and archive mailboxes from an HR list (.csv or .xlsx)."""
    rows = read_rows(path)

    async def go(rt: Runtime) -> ImportReport:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as bar:
            task = bar.add_task(str(path.name), total=len(rows))
            return await run_import(
                rt.directory,
                rows,
                actor=cli_actor(),
                dry_run=dry_run,
                progress=lambda n: bar.advance(task, n),
            )

    report = run(go)
    if as_json:
        json.dump(
            {
                "applied": report.applied,
                "summary": report.summary(),
                "rows": [
                    {
                        "row": r.row,
                        "staff_id": r.staff_id,
                        "action": r.action,
                        "address": r.address,
                        "error": r.error,
                        "changes": {k: [str(a), str(b)] for k, (a, b) in r.changes.items()},
                    }
                    for r in report.results
                ],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        shown = [r for r in report.results if r.action != "none"]
        emit(
            (
                {
                    "row": r.row,
                    "staff_id": r.staff_id,
                    "action": r.action,
                    "address": r.address,
                    "detail": r.error
                    or ", ".join(f"{k}: {a} → {b}" for k, (a, b) in r.changes.items()),
                }
                for r in shown
            ),
            [
                ("row", "Dòng"),
                ("staff_id", "Mã CB"),
                ("action", "Thao tác"),
                ("address", "Địa chỉ"),
                ("detail", "Chi tiết"),
            ],
            as_json=False,
            title=t("cli.import.dry_run") if dry_run else t("cli.import.applied"),
        )
        ok(", ".join(f"{k}: {v}" for k, v in report.summary().items()))
    if report.errors:
        raise typer.Exit(3)


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv, json or vcard")] = "csv",
    agency: Annotated[str | None, typer.Option(help="Only this agency's subtree")] = None,
    public: Annotated[
        bool, typer.Option(help="Public directory: listed entries, public fields")
    ] = False,
    output: Annotated[Path | None, typer.Option("-o", help="Write to this file")] = None,
) -> None:
    """Export the directory (the HR columns, or with --public the portal's danh bạ)."""
    if fmt not in ("csv", "json", "vcard"):
        raise typer.BadParameter("csv, json or vcard", param_hint="--format")

    async def go(rt: Runtime) -> str:
        async with rt.directory.reader() as ops:
            root = await ops.agency(agency) if agency else None
            rows = await directory_entries(ops, under=root, public=public)
        if fmt == "json":
            return to_json(rows)
        if fmt == "vcard":
            return to_vcard(rows)
        cols = ("agency", "agency_code", "kind", *PUBLIC_FIELDS) if public else HR_COLUMNS
        return to_csv(rows, cols)

    text = run(go)
    if output:
        output.write_text(text, encoding="utf-8")
        ok(str(output))
    else:
        sys.stdout.write(text)
