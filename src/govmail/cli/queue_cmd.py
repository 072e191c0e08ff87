"""govmail queue …: the outbound queue (mail waiting for remote servers).

These commands work on the database directly, beside a running server: ``retry`` and
``flush`` make rows due now, and the server's queue picks them up within its idle
interval (30 s at most).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from govmail.cli.output import emit, emit_one, fail, ok
from govmail.cli.runtime import Runtime, cli_actor, run
from govmail.delivery.queue import QueueAdmin, QueueEntry, QueueError
from govmail.i18n import t

app = typer.Typer(help="Hàng đợi thư gửi ra ngoài / outbound queue.", no_args_is_help=True)
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

_COLUMNS = [
    ("id", "ID"),
    ("status", "Trạng thái"),
    ("mail_from", "Người gửi"),
    ("recipients", "Người nhận"),
    ("attempts", "Lần thử"),
    ("next_attempt_at", "Thử lại lúc (UTC)"),
    ("last_error", "Lỗi gần nhất"),
]


def _row(e: QueueEntry) -> dict[str, Any]:
    d = e.as_dict()
    d["mail_from"] = e.mail_from or "<>"
    return d


def _table_row(e: QueueEntry) -> dict[str, Any]:
    d = _row(e)
    d["recipients"] = ", ".join(e.recipients)
    d["next_attempt_at"] = f"{e.next_attempt_at:%Y-%m-%d %H:%M:%S}"
    if e.last_error and len(e.last_error) > 120:
        d["last_error"] = e.last_error[:119] + "…"
    return d


def _admin_call(fn: Any) -> Any:
    """Run an admin operation, turning QueueError into a message and exit status 1."""
    try:
        return run(fn)
    except QueueError as exc:
        fail(str(exc))
        raise typer.Exit(1) from None


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option(help="queued, deferred, sent or bounced (repeatable; default: pending)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every row, final ones too.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    as_json: JSON = False,
) -> None:
    """List queued messages, newest first."""
    statuses = None if all_ else (status or ["queued", "deferred"])

    async def go(rt: Runtime) -> list[QueueEntry]:
        return await QueueAdmin(rt.store).list(statuses=statuses, limit=limit)

    entries = run(go)
    if as_json:
        emit([_row(e) for e in entries], _COLUMNS, as_json=True)
    else:
        emit([_table_row(e) for e in entries], _COLUMNS, as_json=False,
             title=t("cli.queue.title"))


@app.command("retry")
def retry(item_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Retry one queued message now."""

    async def go(rt: Runtime) -> None:
        await QueueAdmin(rt.store).retry_now(item_id, actor=cli_actor().name)

    _admin_call(go)
    ok(t("cli.queue.retried", id=item_id))


@app.command("delete")
def delete(item_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Delete one queued message without notifying the sender."""

    async def go(rt: Runtime) -> QueueEntry:
        return await QueueAdmin(rt.store).delete(item_id, actor=cli_actor().name)

    e = _admin_call(go)
    ok(t("cli.queue.deleted", id=e.id, recipients=", ".join(e.recipients)))


@app.command("flush")
def flush() -> None:
    """Retry every queued message now."""

    async def go(rt: Runtime) -> int:
        return await QueueAdmin(rt.store).flush(actor=cli_actor().name)

    ok(t("cli.queue.flushed", count=run(go)))


@app.command("stats")
def stats(as_json: JSON = False) -> None:
    """Counts by status and the age of the oldest pending message."""

    async def go(rt: Runtime) -> dict[str, Any]:
        s = await QueueAdmin(rt.store).stats()
        out: dict[str, Any] = {k: s.counts.get(k, 0) for k in ("queued", "deferred", "sent",
                                                               "bounced")}
        out["pending"] = s.pending
        out["oldest_pending_seconds"] = (
            round(s.oldest_pending_age) if s.oldest_pending_age is not None else None
        )
        return out

    emit_one(run(go), as_json=as_json)


@app.command("purge")
def purge(
    days: Annotated[int, typer.Option(help="Keep finished rows this many days.")] = 30,
) -> None:
    """Delete sent and bounced rows older than --days."""

    async def go(rt: Runtime) -> int:
        return await QueueAdmin(rt.store).purge(timedelta(days=days))

    ok(t("cli.queue.purged", count=run(go), days=days))
