"""govmail mailbox …"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from govmail.cli.output import emit, emit_one, ok
from govmail.cli.runtime import Runtime, cli_actor, run
from govmail.i18n import t
from govmail.store.models import Mailbox

app = typer.Typer(help="Hộp thư / mailboxes.", no_args_is_help=True)
handler_app = typer.Typer(
    help="Người xử lý hộp thư cơ quan / agency-mailbox handlers.", no_args_is_help=True
)
alias_app = typer.Typer(help="Bí danh / aliases.", no_args_is_help=True)
app.add_typer(handler_app, name="handler")
app.add_typer(alias_app, name="alias")
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


MAILBOX_LABELS = {
    "kind": lambda v: t(f"web.admin.kind_{v}"),
    "status": lambda v: t(f"web.admin.status_{v}"),
}


def mailbox_row(m: Mailbox) -> dict[str, Any]:
    return {
        "address": m.address,
        "full_name": m.full_name,
        "kind": m.kind,
        "position": m.position,
        "staff_id": m.staff_id,
        "status": m.status,
        "agency_id": m.agency_id,
        "quota_mb": m.quota_bytes // (1024 * 1024),
        "used_mb": round(m.used_bytes / 1048576, 1),
        "created_at": m.created_at,
        "archived_at": m.archived_at,
        "delete_after": m.delete_after,
    }


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    full_name: str,
    agency: Annotated[str, typer.Option(help="Unit: agency code, id or exact name")],
    position: Annotated[str | None, typer.Option(help="Chức vụ")] = None,
    staff_id: Annotated[str | None, typer.Option(help="Mã cán bộ")] = None,
    local_part: Annotated[
        str | None, typer.Option(help="Explicit local part (default: template)")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Domain (default: the unit's)")] = None,
    kind: Annotated[str, typer.Option(help="person or agency")] = "person",
    quota_mb: Annotated[int | None, typer.Option(help="Quota in MiB")] = None,
    password: Annotated[bool, typer.Option("--password", help="Ask for a password")] = False,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
    unlisted: Annotated[bool, typer.Option(help="Keep out of the public directory")] = False,
    as_json: JSON = False,
) -> None:
    """Create a mailbox; the address follows the domain's template."""
    pw = _read_password(password_stdin) if (password or password_stdin) else None

    async def go(rt: Runtime) -> Mailbox:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.add_mailbox(
                full_name=full_name,
                agency=agency,
                position=position,
                staff_id=staff_id,
                local_part=local_part,
                domain=domain,
                kind=kind,
                quota_mb=quota_mb,
                password=pw,
                listed=not unlisted,
            )

    m = run(go)
    if as_json:
        emit_one(mailbox_row(m), as_json=True)
    else:
        ok(f"{m.address} — {m.full_name}")


@app.command("list")
def list_(
    agency: Annotated[str | None, typer.Option(help="Only this agency and its units")] = None,
    domain: Annotated[str | None, typer.Option(help="Only this domain")] = None,
    status: Annotated[str | None, typer.Option(help="active, suspended or archived")] = None,
    search: Annotated[str | None, typer.Option(help="Text in address or name")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 1000,
    as_json: JSON = False,
) -> None:
    """List mailboxes."""

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.directory.reader() as ops:
            agency_ids = None
            if agency:
                root = await ops.agency(agency)
                agency_ids = [a.id for a in await ops.repo.agencies(under=root)]
            dom = await ops.domain(domain) if domain else None
            rows = await ops.repo.mailboxes(
                domain_id=dom.id if dom else None,
                agency_ids=agency_ids,
                statuses=[status] if status else None,
                text=search,
                limit=limit,
            )
            return [mailbox_row(m) for m in rows]

    emit(
        run(go),
        [
            ("address", "Địa chỉ"),
            ("full_name", "Họ và tên"),
            ("position", "Chức vụ"),
            ("kind", "Loại"),
            ("status", "Trạng thái"),
        ],
        as_json=as_json,
        labels=MAILBOX_LABELS,
    )


@app.command("show")
def show(address: str, as_json: JSON = False) -> None:
    """Show one mailbox with its aliases and handlers."""

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.directory.reader() as ops:
            m = await ops.mailbox(address)
            row = mailbox_row(m)
            unit = await ops.repo.agency_by_id(m.agency_id) if m.agency_id else None
            row["agency"] = unit.name if unit else None
            row["aliases"] = ", ".join(a.address for a in await ops.repo.aliases_of(m.id))
            if m.kind == "agency":
                row["handlers"] = ", ".join(p.address for _h, p in await ops.repo.handlers_of(m.id))
            else:
                row["handles"] = ", ".join(a.address for _h, a in await ops.repo.handled_by(m.id))
            return row

    emit_one(run(go), as_json=as_json)


@app.command("passwd")
def passwd(
    address: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
) -> None:
    """Set a mailbox's password."""
    pw = _read_password(password_stdin)

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.set_password(address, pw)

    run(go)
    ok(address)


@app.command("transfer")
def transfer(
    address: str,
    to: Annotated[str, typer.Option("--to", help="Target unit: code, id or exact name")],
    position: Annotated[str | None, typer.Option(help="New position")] = None,
) -> None:
    """Move a person to another unit or agency; mail is kept."""

    async def go(rt: Runtime) -> Mailbox:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.transfer(address, to, position=position)

    m = run(go)
    ok(f"{address} → {m.address}" if m.address != address.lower() else m.address)


def _simple(action: str, help_text: str) -> None:
    def cmd(address: str) -> None:
        async def go(rt: Runtime) -> Mailbox:
            async with rt.directory.ops(cli_actor()) as ops:
                return await getattr(ops, action)(address)

        m = run(go)
        ok(f"{m.address}: {m.status}")

    cmd.__doc__ = help_text
    app.command(action)(cmd)


_simple("suspend", "Suspend a mailbox: login refused, mail still delivered.")
_simple("reactivate", "Reactivate a suspended or archived mailbox.")
_simple("archive", "Archive on leaving: login refused, mail kept for the retention period.")


@app.command("purge")
def purge() -> None:
    """Delete archived mailboxes whose retention period has passed, and expired aliases."""

    async def go(rt: Runtime) -> tuple[list[str], list[str]]:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.purge_due(), await ops.purge_expired_aliases()

    mailboxes, aliases = run(go)
    ok(f"{len(mailboxes)} mailbox(es), {len(aliases)} alias(es) removed")
    for a in mailboxes + aliases:
        typer.echo(f"  {a}")


@app.command("quota")
def quota(address: str, mb: int) -> None:
    """Set a mailbox's quota in MiB (0 = unlimited)."""

    async def go(rt: Runtime) -> Mailbox:
        async with rt.directory.ops(cli_actor()) as ops:
            return await ops.set_quota(address, mb)

    ok(f"{run(go).address}: {mb} MiB")


@app.command("grant")
def grant(
    address: str,
    role: Annotated[str, typer.Argument(help="installation_admin or agency_admin")],
    agency: Annotated[str | None, typer.Option(help="Agency administered (agency_admin)")] = None,
) -> None:
    """Give a person an administrative role."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.grant_role(address, role, agency)

    run(go)
    ok(f"{address}: {role}")


@handler_app.command("add")
def handler_add(
    agency_mailbox: str,
    person: str,
    clerk: Annotated[bool, typer.Option(help="Registers official documents (văn thư)")] = False,
    no_send: Annotated[bool, typer.Option(help="May read but not send as the agency")] = False,
) -> None:
    """Allow a person to handle an agency mailbox."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.add_handler(agency_mailbox, person, can_send=not no_send, is_clerk=clerk)

    run(go)
    ok(f"{person} → {agency_mailbox}")


@handler_app.command("remove")
def handler_remove(agency_mailbox: str, person: str) -> None:
    """Withdraw a person's right to handle an agency mailbox."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.remove_handler(agency_mailbox, person)

    run(go)
    ok(f"{person} ✗ {agency_mailbox}")


@alias_app.command("add")
def alias_add(alias: str, target: str) -> None:
    """Add an alias delivering to a mailbox."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.add_alias(alias, target)

    run(go)
    ok(f"{alias} → {target}")


@alias_app.command("remove")
def alias_remove(alias: str) -> None:
    """Remove an alias."""

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops(cli_actor()) as ops:
            await ops.remove_alias(alias)

    run(go)
    ok(alias)
