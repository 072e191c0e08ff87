"""The backups as an administrator sees them: the last run, the age of the last good
one, the schedule and the recent runs. The console's backup page and dashboard,
``govmail status`` and ``/ops/status`` all read them from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from govmail.config import Settings
from govmail.ops.backup import next_run
from govmail.store.db import Store
from govmail.store.models_ops import BackupRun
from govmail.store.repos.ops import OpsRepo

# A daily backup plus two hours of slack for a slow run: older than this needs a look.
STALE_AFTER = timedelta(hours=26)


@dataclass(frozen=True, slots=True)
class BackupOverview:
    schedule: str  # "HH:MM" (local time) or "" when no backup is scheduled
    target: str
    last: BackupRun | None  # the last finished backup (not a verification)
    last_ok: BackupRun | None
    runs: Sequence[BackupRun]  # newest first, verifications and running ones included
    now: datetime
    next_at: datetime | None

    @property
    def age(self) -> timedelta | None:
        """Time since the last successful backup ended."""
        if self.last_ok is None or self.last_ok.finished_at is None:
            return None
        return self.now - self.last_ok.finished_at

    @property
    def attention(self) -> str | None:
        """Why the backups need a look — "failed", "never" or "stale" — or None."""
        if self.last is not None and self.last.status != "ok":
            return "failed"
        age = self.age
        if age is None:
            return "never"
        return "stale" if age > STALE_AFTER else None


def target_label(settings: Settings) -> str:
    return settings.backup.target or str(settings.data_dir / "backups")


async def backup_overview(
    settings: Settings, store: Store, *, runs: int = 20, now: datetime | None = None
) -> BackupOverview:
    now = now or datetime.now(UTC)
    async with store.read() as tx:
        repo = OpsRepo(tx.session, store.dialect)
        last = await repo.last_backup()
        last_ok = await repo.last_backup(ok_only=True)
        recent = await repo.backup_runs(runs) if runs else []
    schedule = settings.backup.daily_at
    return BackupOverview(
        schedule=schedule,
        target=target_label(settings),
        last=last,
        last_ok=last_ok,
        runs=list(recent),
        now=now,
        next_at=next_run(schedule, settings.general.timezone, now) if schedule else None,
    )
