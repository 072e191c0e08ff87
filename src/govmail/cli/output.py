"""Output for people (Rich tables) and for scripts (``--json``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def emit(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    as_json: bool,
    title: str | None = None,
    labels: Mapping[str, Callable[[Any], str]] | None = None,
) -> None:
    """Print rows as a table (columns = (key, heading)) or as a JSON array. ``labels``
    turns stored values (``active``) into words for people (``Đang hoạt động``); JSON
    keeps the stored values."""
    rows = list(rows)
    if as_json:
        json.dump(
            [{k: _plain(v) for k, v in r.items()} for r in rows],
            sys.stdout,
            ensure_ascii=False,
            indent=1,
        )
        sys.stdout.write("\n")
        return
    table = Table(title=title, show_lines=False)
    for _key, heading in columns:
        table.add_column(heading)
    labels = labels or {}

    def cell(k: str, v: Any) -> str:
        if v is None:
            return ""
        return labels[k](v) if k in labels else str(_plain(v))

    for r in rows:
        table.add_row(*(cell(k, r.get(k)) for k, _h in columns))
    console.print(table)


def emit_one(obj: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        json.dump({k: _plain(v) for k, v in obj.items()}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in obj.items():
        table.add_row(k, "" if v is None else str(_plain(v)))
    console.print(table)


def ok(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def fail(message: str) -> None:
    err_console.print(f"[red]✗[/red] {message}")
