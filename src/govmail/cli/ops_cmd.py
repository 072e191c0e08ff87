"""Operations commands: govmail backup | restore | status | auth locks | archive … |
migrate imap | export … | filter …

``register(app)`` adds them all to the root command.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from govmail.cli.output import console, emit, emit_one, fail, ok
from govmail.cli.runtime import Runtime, cli_actor, run, state
from govmail.i18n import t

JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
TARGET = Annotated[
    str | None,
    typer.Option("--target", help="Directory or s3://bucket/prefix (default: backup.target)."),
]
SNAPSHOT = Annotated[
    str | None, typer.Option("--snapshot", help="Snapshot name (default: the newest).")
]

backup_app = typer.Typer(
    help="Sao lưu / backups: `govmail backup` makes one; verify, list.",
    invoke_without_command=True,
)
auth_app = typer.Typer(help="Đăng nhập / logins: lockouts after failed logins.",
                       no_args_is_help=True)
archive_app = typer.Typer(help="Lưu trữ thư (nhật ký) / archive journal.", no_args_is_help=True)
hold_app = typer.Typer(help="Phong tỏa pháp lý / legal holds.", no_args_is_help=True)
migrate_app = typer.Typer(help="Chuyển thư từ máy chủ cũ / migrate from another server.",
                          no_args_is_help=True)
export_app = typer.Typer(help="Xuất hộp thư / export a mailbox.", no_args_is_help=True)
filter_app = typer.Typer(help="Lọc thư rác, tệp đính kèm / spam and attachment filters.",
                         no_args_is_help=True)
archive_app.add_typer(hold_app, name="hold")


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore)
    app.command("status")(status)
    app.add_typer(auth_app, name="auth")
    app.add_typer(archive_app, name="archive")
    app.add_typer(migrate_app, name="migrate")
    app.add_typer(export_app, name="export")
    app.add_typer(filter_app, name="filter")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    )


# -- backup / restore ----------------------------------------------------------------------
@backup_app.callback()
def backup(ctx: typer.Context, target: TARGET = None) -> None:
    """Make a backup now (online; incremental after the first)."""
    if ctx.invoked_subcommand is not None:
        return
    from govmail.ops.backup import BackupError, Backups

    with _progress() as bar:
        task = bar.add_task("backup", total=None)

        def progress(_phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def go(rt: Runtime) -> Any:
            return await Backups(rt.settings, rt.store).backup(target=target, progress=progress)

        try:
            result = run(go)
        except BackupError as exc:
            fail(f"{t('cli.ops.backup_failed')}: {exc}")
            raise typer.Exit(1) from None
    ok(t("cli.ops.backup_done", snapshot=result.snapshot, messages=result.messages,
         copied=result.blobs_copied, size=_size(result.bytes_copied)))


@backup_app.command("verify")
def backup_verify(target: TARGET = None, snapshot: SNAPSHOT = None, as_json: JSON = False) -> None:
    """Restore a backup into a scratch place and compare it with its manifest."""
    from govmail.ops.backup import Backups, RestoreError

    async def go(rt: Runtime) -> Any:
        return await Backups(rt.settings, rt.store).verify(target=target, snapshot=snapshot)

    try:
        result = run(go)
    except RestoreError as exc:
        fail(f"{t('cli.ops.verify_failed')}: {exc}")
        raise typer.Exit(1) from None
    if as_json:
        emit_one({"snapshot": result.snapshot, "ok": result.ok, "messages": result.messages,
                  "blobs_checked": result.blobs_checked, "problems": result.problems},
                 as_json=True)
    elif result.ok:
        ok(t("cli.ops.verify_done", snapshot=result.snapshot, messages=result.messages,
             blobs=result.blobs_checked))
    for p in result.problems:
        fail(f"{t('cli.ops.verify_failed')}: {p}")
    if not result.ok:
        raise typer.Exit(1)


@backup_app.command("list")
def backup_list(as_json: JSON = False) -> None:
    """Recent backups and verifications, newest first."""
    from govmail.store.repos.ops import OpsRepo

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.store.read() as tx:
            runs = await OpsRepo(tx.session, rt.store.dialect).backup_runs(30)
        return [
            {"id": r.id, "kind": r.kind, "status": r.status, "snapshot": r.snapshot,
             "started_at": r.started_at, "finished_at": r.finished_at, "messages": r.messages,
             "blobs_copied": r.blobs_copied, "error": r.error, "target": r.target}
            for r in runs
        ]

    rows = run(go)
    cols = [("id", "ID"), ("kind", "Loại"), ("status", "Kết quả"), ("snapshot", "Bản"),
            ("started_at", "Bắt đầu (UTC)"), ("messages", "Thư"),
            ("blobs_copied", "Tệp mới"), ("error", "Lỗi")]
    emit(rows, cols, as_json=as_json, title=t("cli.ops.backups_title"))


def restore(
    target: TARGET = None,
    snapshot: SNAPSHOT = None,
) -> None:
    """Restore a backup into this installation, which must be empty."""
    from govmail.ops.backup import Backups, RestoreError

    settings = state.settings
    with _progress() as bar:
        task = bar.add_task("restore", total=None)

        def progress(_phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            name, messages = asyncio.run(
                Backups(settings).restore(target=target, snapshot=snapshot, progress=progress)
            )
        except RestoreError as exc:
            fail(f"{t('cli.ops.restore_failed')}: {exc}")
            raise typer.Exit(1) from None
    ok(t("cli.ops.restore_done", snapshot=name, messages=messages))


# -- status and lockouts -------------------------------------------------------------------
def _server(path: str) -> Any | None:
    """GET a JSON /ops/… endpoint of the server running with these settings, if any."""
    s = state.settings
    host = s.listeners.bind[0]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{'[' + host + ']' if ':' in host else host}:{s.listeners.http_port}{path}"
    headers = {}
    if s.monitoring.metrics_token:
        headers["Authorization"] = f"Bearer {s.monitoring.metrics_token}"
    try:
        r = httpx.get(url, headers=headers, timeout=5.0)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


def status(as_json: JSON = False) -> None:
    """Health at a glance: store, queue, last backup, archive, filters, server."""
    from govmail.ops.status import collect_status

    async def go(rt: Runtime) -> dict[str, Any]:
        return await collect_status(rt.settings, rt.store)

    data = run(go)
    live = _server("/ops/status")
    data["server"] = "running" if live is not None else "not reachable"
    if live is not None:
        data["services"] = live.get("services")
        data["login_locks"] = live.get("login_locks")
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=1, default=str)
        sys.stdout.write("\n")
        return
    if isinstance(data.get("services"), dict):
        data["services"] = ", ".join(f"{k}={v}" for k, v in data["services"].items())
    console.print(f"[bold]{t('cli.ops.status_title')}[/bold]")
    emit_one(data, as_json=False)


@auth_app.command("locks")
def auth_locks(as_json: JSON = False) -> None:
    """Accounts and addresses locked after failed logins (asks the running server)."""
    rows = _server("/ops/locks")
    if rows is None:
        fail("máy chủ không trả lời / the server is not running or not reachable "
             "(http listener, loopback or monitoring.metrics_token)")
        raise typer.Exit(1)
    cols = [("kind", "Loại"), ("key", "Tài khoản / địa chỉ"), ("failures", "Lần sai"),
            ("seconds_left", "Còn khóa (giây)")]
    emit(rows, cols, as_json=as_json, title=t("cli.ops.locks_title"))


# -- archive -------------------------------------------------------------------------------
@archive_app.command("verify")
def archive_verify(
    content: Annotated[bool, typer.Option(help="Also re-hash every archived message.")] = True,
    as_json: JSON = False,
) -> None:
    """Check the hash chain: a deleted, changed or reordered entry is reported."""
    from govmail.ops.archive import ArchiveJournal

    async def go(rt: Runtime) -> Any:
        return await ArchiveJournal(rt.store, rt.settings.archive).verify(content=content)

    report = run(go)
    if as_json:
        emit_one({"ok": report.ok, "entries": report.entries, "purged": report.purged,
                  "problems": [{"seq": s, "problem": p} for s, p in report.problems]},
                 as_json=True)
    elif report.ok:
        ok(t("cli.ops.archive_ok", entries=report.entries))
    else:
        for seq, problem in report.problems:
            fail(t("cli.ops.archive_broken", seq=seq, problem=problem))
    if not report.ok:
        raise typer.Exit(1)


@archive_app.command("purge")
def archive_purge() -> None:
    """Apply the retention period now (also done after each scheduled backup)."""
    from govmail.ops.archive import ArchiveJournal

    async def go(rt: Runtime) -> int:
        return await ArchiveJournal(rt.store, rt.settings.archive).purge()

    ok(f"{run(go)}")


@hold_app.command("add")
def hold_add(
    address: str, reason: Annotated[str, typer.Option(help="Why (case, decision).")] = ""
) -> None:
    """Keep every archived message of a mailbox, whatever its age."""
    from govmail.ops.archive import ArchiveJournal

    async def go(rt: Runtime) -> bool:
        j = ArchiveJournal(rt.store, rt.settings.archive)
        added = await j.hold(address, reason, cli_actor().name)
        async with rt.store.write() as tx:
            await tx.audit.record(actor=cli_actor().name, source="cli",
                                  action="archive.hold", object_type="mailbox",
                                  object_id=address.lower(), before=None,
                                  after={"reason": reason})
        return added

    ok(address.lower()) if run(go) else fail(f"{address}: đã có / already held")


@hold_app.command("remove")
def hold_remove(address: str) -> None:
    """Release a legal hold."""
    from govmail.ops.archive import ArchiveJournal

    async def go(rt: Runtime) -> bool:
        released = await ArchiveJournal(rt.store, rt.settings.archive).release(address)
        if released:
            async with rt.store.write() as tx:
                await tx.audit.record(actor=cli_actor().name, source="cli",
                                      action="archive.release", object_type="mailbox",
                                      object_id=address.lower(), before=None, after=None)
        return released

    if not run(go):
        fail(f"{address}: không có / not held")
        raise typer.Exit(1)
    ok(address.lower())


@hold_app.command("list")
def hold_list(as_json: JSON = False) -> None:
    """Mailboxes under legal hold."""
    from govmail.store.repos.ops import OpsRepo

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.store.read() as tx:
            rows = await OpsRepo(tx.session, rt.store.dialect).legal_holds()
        return [{"mailbox": h.mailbox_address, "reason": h.reason, "by": h.created_by,
                 "since": h.created_at} for h in rows]

    emit(run(go), [("mailbox", "Hộp thư"), ("reason", "Lý do"), ("by", "Người đặt"),
                   ("since", "Từ (UTC)")], as_json=as_json)


# -- migration and export ----------------------------------------------------------------
@migrate_app.command("imap")
def migrate_imap(
    host: Annotated[str, typer.Option("--from", help="The old server's host name.")],
    csv_file: Annotated[Path, typer.Option("--csv", help="user,password[,govmail address]")],
    port: Annotated[int, typer.Option(help="IMAP port (993 with --security ssl).")] = 993,
    security: Annotated[str, typer.Option(help="ssl, starttls or plain.")] = "ssl",
    insecure: Annotated[bool, typer.Option(help="Do not verify the TLS certificate.")] = False,
    workers: Annotated[int, typer.Option(help="Accounts copied at the same time.")] = 4,
    as_json: JSON = False,
) -> None:
    """Copy every folder, flag and internal date from an IMAP server (resumable)."""
    from govmail.delivery.committer import GroupCommitter
    from govmail.delivery.events import MailEvents
    from govmail.delivery.mailstore import MailStore
    from govmail.ops.migrate_imap import ImapMigrator, MigrationError, read_accounts

    if security not in ("ssl", "starttls", "plain"):
        fail("--security: ssl, starttls or plain")
        raise typer.Exit(2)
    try:
        accounts = read_accounts(csv_file)
    except MigrationError as exc:
        fail(str(exc))
        raise typer.Exit(1) from None

    with _progress() as bar:
        tasks: dict[str, Any] = {}

        def progress(account: str, done: int, total: int) -> None:
            if account not in tasks:
                tasks[account] = bar.add_task(account, total=total)
            bar.update(tasks[account], completed=done, total=total)

        async def go(rt: Runtime) -> Any:
            committer = GroupCommitter(rt.store)
            await committer.start()
            try:
                ms = MailStore(rt.store, committer, MailEvents(),
                               rt.settings.limits.max_message_size)
                m = ImapMigrator(rt.store, ms, host, port, security=security,  # type: ignore[arg-type]
                                 verify_tls=not insecure, progress=progress)
                return await m.run(accounts, workers)
            finally:
                await committer.stop()

        reports = run(go)
    rows = [
        {"account": r.account, "folders": len(r.folders), "messages": r.messages,
         "copied": r.copied, "skipped": r.skipped, "seconds": round(r.seconds, 1),
         "result": "ok" if r.ok else r.error}
        for r in reports
    ]
    emit(rows, [("account", "Hộp thư"), ("folders", "Thư mục"), ("messages", "Thư nguồn"),
                ("copied", "Đã chép"), ("skipped", "Đã có"), ("seconds", "Giây"),
                ("result", "Kết quả")], as_json=as_json, title=t("cli.ops.migrate_title"))
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


@export_app.command("mbox")
def export_mbox(
    address: str,
    out: Annotated[Path, typer.Argument(help="Directory for the .mbox files.")],
    folder: Annotated[str | None, typer.Option(help="Only this folder.")] = None,
) -> None:
    """Export a mailbox as one mbox file per folder (mboxrd)."""
    from govmail.ops.export import Exporter, ExportError

    async def go(rt: Runtime) -> Any:
        return await Exporter(rt.store).to_mbox(address.lower(), out, folder)

    try:
        rep = run(go)
    except ExportError as exc:
        fail(str(exc))
        raise typer.Exit(1) from None
    ok(f"{rep.folders} / {rep.messages} / {_size(rep.bytes)} → {out}")


@export_app.command("maildir")
def export_maildir(
    address: str, out: Annotated[Path, typer.Argument(help="Maildir directory to create.")]
) -> None:
    """Export a mailbox as a Maildir++ tree."""
    from govmail.ops.export import Exporter, ExportError

    async def go(rt: Runtime) -> Any:
        return await Exporter(rt.store).to_maildir(address.lower(), out)

    try:
        rep = run(go)
    except ExportError as exc:
        fail(str(exc))
        raise typer.Exit(1) from None
    ok(f"{rep.folders} / {rep.messages} / {_size(rep.bytes)} → {out}")


# -- filters -------------------------------------------------------------------------------
AGENCY = Annotated[
    str | None, typer.Option("--agency", help="Agency code (default: the whole installation).")
]


async def _agency_id(rt: Runtime, code: str | None) -> int | None:
    from govmail.store.repos.ops import OpsRepo

    if code is None:
        return None
    async with rt.store.read() as tx:
        a = await OpsRepo(tx.session, rt.store.dialect).agency_by_code(code)
    if a is None:
        fail(f"không có cơ quan / no agency {code}")
        raise typer.Exit(1)
    return a.id


def _list_change(kind: str, pattern: str, agency: str | None, remove: bool) -> None:
    from govmail.store.repos.ops import OpsRepo

    pattern = pattern.strip().lower()
    if "@" not in pattern:
        fail("an address (user@domain) or @domain")
        raise typer.Exit(2)

    async def go(rt: Runtime) -> bool:
        aid = await _agency_id(rt, agency)
        async with rt.store.write() as tx:
            repo = OpsRepo(tx.session, rt.store.dialect)
            if remove:
                changed = await repo.remove_spam_entry(aid, kind, pattern) > 0
            else:
                changed = await repo.add_spam_entry(aid, kind, pattern)
            if changed:
                await tx.audit.record(
                    actor=cli_actor().name, source="cli",
                    action=f"filter.{kind}.{'remove' if remove else 'add'}",
                    object_type="agency", object_id=agency or "*", before=None,
                    after={"pattern": pattern},
                )
        return changed

    if run(go):
        ok(f"{kind}: {pattern}")
    else:
        fail(f"{kind}: {pattern}: không đổi / unchanged")


@filter_app.command("allow")
def filter_allow(
    pattern: str, agency: AGENCY = None,
    remove: Annotated[bool, typer.Option("--remove")] = False,
) -> None:
    """Never score mail from this address or @domain as spam."""
    _list_change("allow", pattern, agency, remove)


@filter_app.command("block")
def filter_block(
    pattern: str, agency: AGENCY = None,
    remove: Annotated[bool, typer.Option("--remove")] = False,
) -> None:
    """Refuse mail from this address or @domain."""
    _list_change("block", pattern, agency, remove)


@filter_app.command("lists")
def filter_lists(as_json: JSON = False) -> None:
    """Allow and block entries."""
    from govmail.store.repos.ops import OpsRepo

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.store.read() as tx:
            rows = await OpsRepo(tx.session, rt.store.dialect).all_spam_entries()
        return [{"agency_id": r.agency_id or "*", "kind": r.kind, "pattern": r.pattern}
                for r in rows]

    emit(run(go), [("agency_id", "Cơ quan"), ("kind", "Loại"), ("pattern", "Địa chỉ")],
         as_json=as_json)


@filter_app.command("attachments")
def filter_attachments(
    agency: Annotated[str, typer.Argument(help="Agency code.")],
    block: Annotated[
        str, typer.Option(help="Comma-separated: executable, script, macro, archive.")
    ] = "executable,script,macro",
    extensions: Annotated[str, typer.Option(help="More extensions, comma-separated.")] = "",
    default: Annotated[bool, typer.Option("--default", help="Back to the installation "
                                          "default.")] = False,
) -> None:
    """Set an agency's own attachment policy."""
    from govmail.policy.attachments import CATEGORIES
    from govmail.store.repos.ops import OpsRepo

    cats = [c.strip() for c in block.split(",") if c.strip()]
    bad = [c for c in cats if c not in CATEGORIES]
    if bad:
        fail(f"unknown: {', '.join(bad)} (known: {', '.join(CATEGORIES)})")
        raise typer.Exit(2)
    exts = [e.strip().lower().lstrip(".") for e in extensions.split(",") if e.strip()]

    async def go(rt: Runtime) -> None:
        aid = await _agency_id(rt, agency)
        assert aid is not None
        async with rt.store.write() as tx:
            repo = OpsRepo(tx.session, rt.store.dialect)
            if default:
                await repo.delete_attachment_policy(aid)
            else:
                await repo.set_attachment_policy(aid, cats, exts)
            await tx.audit.record(
                actor=cli_actor().name, source="cli", action="filter.attachments",
                object_type="agency", object_id=agency, before=None,
                after=None if default else {"categories": cats, "extensions": exts},
            )

    run(go)
    ok(agency)
