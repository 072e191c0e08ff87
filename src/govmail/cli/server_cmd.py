"""govmail init | serve | db"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from govmail.cli.output import fail, ok
from govmail.cli.runtime import Runtime, run, state
from govmail.config import config_path, default_toml, load_settings

db_app = typer.Typer(help="Cơ sở dữ liệu / database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")


def init(
    force: Annotated[bool, typer.Option(help="Overwrite an existing file")] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory to write into the file")
    ] = None,
) -> None:
    """Write a commented default configuration file."""
    path = config_path(state.config)
    if path.exists() and not force:
        fail(f"{path} đã có / already exists (--force to overwrite)")
        raise typer.Exit(1)
    text = default_toml()
    if data_dir is not None:
        text = text.replace('data_dir = "data"', f'data_dir = "{data_dir}"', 1)
    path.write_text(text, encoding="utf-8")
    load_settings(path)  # the file we wrote must load
    ok(str(path))


def serve() -> None:
    """Start every listener and background service (until SIGINT/SIGTERM)."""
    from govmail.app import serve as run_app

    run_app(state.settings)


@db_app.command("upgrade")
def upgrade() -> None:
    """Bring the database schema up to date (also done at every start)."""

    async def go(rt: Runtime) -> None:
        await rt.store.migrate()

    run(go)
    ok(state.settings.database_url.split("@")[-1])
