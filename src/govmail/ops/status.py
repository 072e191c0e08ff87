"""What ``govmail status`` (and ``/ops/status``) shows: the store, the queue, the last
backup, the archive journal and the filters, read from the database; the listeners and
lockouts when a running server is asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govmail.config import Settings
from govmail.delivery.queue import QueueAdmin
from govmail.ops.backup_status import backup_overview
from govmail.ops.health import check_health
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo

if TYPE_CHECKING:
    from govmail.app import App


async def collect_status(settings: Settings, store: Store, app: App | None = None) -> dict[
    str, Any
]:
    out: dict[str, Any] = {"database": store.dialect}
    q = await QueueAdmin(store).stats()
    out["queue_pending"] = q.pending
    out["queue_oldest_seconds"] = None if q.oldest_pending_age is None else round(
        q.oldest_pending_age, 1
    )
    async with store.read() as tx:
        repo = OpsRepo(tx.session, store.dialect)
        counts = await repo.table_counts(("mailbox", "message"))
        entries, _lo, _hi = await repo.archive_stats()
        nspam, nham = await repo.bayes_counts()
    out["mailboxes"] = counts["mailbox"]
    out["messages"] = counts["message"]
    backups = await backup_overview(settings, store, runs=0)
    last, age = backups.last, backups.age
    out["backup_last_status"] = last.status if last else "never"
    out["backup_last_snapshot"] = last.snapshot if last else None
    out["backup_last_error"] = last.error if last and last.status != "ok" else None
    out["backup_age_hours"] = None if age is None else round(age.total_seconds() / 3600, 1)
    out["backup_schedule"] = backups.schedule or "off"
    out["backup_attention"] = backups.attention
    out["archive_entries"] = entries
    out["spam_engine"] = settings.spam.engine if settings.spam.enabled else "off"
    out["bayes_learnt"] = f"{nspam} spam / {nham} ham"
    out["antivirus"] = "clamd" if settings.antivirus.enabled else "off"
    if app is not None:
        checks = await check_health(app)
        out["store"] = checks.pop("store")
        out["services"] = checks
        out["login_locks"] = len(app.guard.locks())
    return out
