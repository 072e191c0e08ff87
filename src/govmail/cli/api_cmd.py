"""govmail api token create | list | revoke: bearer tokens for the REST API (/api/v1).

The secret is printed once; only its SHA-256 is stored. Mail scopes (mail:send,
mail:read) need ``--mailbox``; ``--agency`` keeps directory scopes inside that agency's
subtree."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from govmail.cli.output import emit, fail, ok
from govmail.cli.runtime import Runtime, cli_actor, run
from govmail.directory.errors import DirectoryError
from govmail.i18n import t
from govmail.store.models_api import API_SCOPES
from govmail.store.repos.api import ApiRepo
from govmail.web.api.tokens import TokenError, create_token, describe, revoke_token

app = typer.Typer(help="REST API / giao diện lập trình.", no_args_is_help=True)
token_app = typer.Typer(help="Mã truy cập API / API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

_COLUMNS = [
    ("id", "ID"),
    ("label", "Tên gọi"),
    ("prefix", "Mã (đầu)"),
    ("scopes", "Quyền"),
    ("mailbox", "Hộp thư"),
    ("agency", "Cơ quan"),
    ("created_by", "Người tạo"),
    ("expires_at", "Hết hạn"),
    ("revoked_at", "Thu hồi"),
    ("last_used_at", "Dùng lần cuối"),
]


@token_app.command("create")
def create(
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"One of: {', '.join(API_SCOPES)} (repeatable).")
    ],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    mailbox: Annotated[
        str | None, typer.Option(help="The mailbox mail scopes act on (required for them).")
    ] = None,
    agency: Annotated[
        str | None, typer.Option(help="Keep directory scopes inside this agency (id or code).")
    ] = None,
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create a token and print its secret (shown once)."""

    async def go(rt: Runtime) -> tuple[int, str]:
        new = await create_token(
            rt.directory,
            cli_actor(),
            label=label,
            scopes=scope,
            mailbox=mailbox,
            agency=agency,
            expires_days=days,
        )
        return new.token.id, new.secret

    try:
        token_id, secret = run(go)
    except (TokenError, DirectoryError) as exc:
        fail(str(exc))
        raise typer.Exit(2) from None
    ok(t("cli.api.created", id=token_id, label=label))
    typer.echo(secret)  # plain, so that scripts can capture it


@token_app.command("list")
def list_(as_json: JSON = False) -> None:
    """Every token (never the secrets), newest first."""

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.store.read() as tx:
            rows = []
            for tok in await ApiRepo(tx.session, tx.store.dialect).tokens():
                m = await tx.directory.mailbox_by_id(tok.mailbox_id) if tok.mailbox_id else None
                a = await tx.directory.agency_by_id(tok.agency_id) if tok.agency_id else None
                rows.append(describe(tok, m, a))
            return rows

    rows = run(go)
    if not as_json:
        for r in rows:
            r["scopes"] = ", ".join(r["scopes"])
    emit(rows, _COLUMNS, as_json=as_json)


@token_app.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token: it stops working at once."""

    async def go(rt: Runtime) -> None:
        await revoke_token(rt.directory, cli_actor(), token_id)

    try:
        run(go)
    except TokenError as exc:
        fail(str(exc))
        raise typer.Exit(1) from None
    ok(t("cli.api.revoked", id=token_id))
