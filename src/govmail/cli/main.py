"""The ``govmail`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from govmail.cli import (
    agency_cmd,
    api_cmd,
    demo_cmd,
    directory_cmd,
    dkim_cmd,
    document_cmd,
    domain_cmd,
    group_cmd,
    mailbox_cmd,
    ops_cmd,
    queue_cmd,
    report_cmd,
    server_cmd,
)
from govmail.cli.output import fail
from govmail.cli.runtime import state
from govmail.config import ConfigError
from govmail.directory.errors import DirectoryError
from govmail.directory.hr_import import HrFileError

app = typer.Typer(
    name="govmail",
    help="govmail: thư điện tử và văn bản điện tử cho cơ quan nhà nước / "
    "e-mail and official documents for state agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML settings file (default: $GOVMAIL_CONFIG or ./govmail.toml).",
        ),
    ] = None,
) -> None:
    state.config = config


server_cmd.register(app)
app.command("demo")(demo_cmd.demo)
app.add_typer(domain_cmd.app, name="domain")
app.add_typer(agency_cmd.app, name="agency")
app.add_typer(mailbox_cmd.app, name="mailbox")
app.add_typer(group_cmd.app, name="group")
app.add_typer(directory_cmd.app, name="directory")
app.add_typer(dkim_cmd.app, name="dkim")
app.add_typer(queue_cmd.app, name="queue")
app.add_typer(report_cmd.app, name="report")
app.add_typer(document_cmd.app, name="document")
app.add_typer(api_cmd.app, name="api")
ops_cmd.register(app)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        fail(str(exc))
        sys.exit(2)
    except (DirectoryError, HrFileError) as exc:
        fail(str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
