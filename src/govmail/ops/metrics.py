"""Prometheus metrics (``/metrics``) and the operations JSON endpoints (``/ops/*``).

One registry per running App (tests run several in one process). Counters are fed by
the pipeline wrapper (messages accepted/refused by reason, delivery latency), by the
filters (spam, virus and attachment outcomes) and by the login guard (logins by protocol
and outcome, read at scrape time); gauges (queue length and age, backup age, locks) are
refreshed from the store just before each scrape.

Access: from loopback, or with ``Authorization: Bearer <monitoring.metrics_token>``.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from govmail.store.repos.ops import OpsRepo

if TYPE_CHECKING:
    from govmail.app import App
    from govmail.delivery.pipeline import Pipeline
    from govmail.directory.login_guard import LoginGuard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _GuardCollector(Collector):
    def __init__(self) -> None:
        self.guard: LoginGuard | None = None

    def collect(self) -> Iterable[Any]:
        logins = CounterMetricFamily(
            "govmail_logins", "Login attempts by protocol and outcome.",
            labels=["protocol", "outcome"],
        )
        locks = GaugeMetricFamily(
            "govmail_login_locks", "Accounts and addresses locked after failed logins.",
            labels=["kind"],
        )
        if self.guard is not None:
            for (protocol, outcome), n in sorted(self.guard.stats.items()):
                logins.add_metric([protocol, outcome], n)
            counts = {"account": 0, "address": 0}
            for lock in self.guard.locks():
                counts[lock.kind] = counts.get(lock.kind, 0) + 1
            for kind, n in counts.items():
                locks.add_metric([kind], n)
        yield logins
        yield locks


class OpsMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "govmail_messages", "Messages handed to the pipeline, by door and outcome "
            "(accepted, junk, refused, tempfail) and the check that decided.",
            ["source", "outcome", "reason"], registry=r,
        )
        self.delivery_seconds = Histogram(
            "govmail_delivery_seconds", "Time from a door handing a message over to its "
            "being durably stored and queued.", ["source"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.filter_results = Counter(
            "govmail_filter_results", "Outcomes of the spam, virus and attachment filters.",
            ["filter", "outcome"], registry=r,
        )
        self.queue_messages = Gauge(
            "govmail_queue_messages", "Outbound queue rows by status.", ["status"], registry=r
        )
        self.queue_oldest = Gauge(
            "govmail_queue_oldest_seconds", "Age of the oldest pending outbound message.",
            registry=r,
        )
        self.backup_age = Gauge(
            "govmail_backup_age_seconds", "Seconds since the last successful backup ended "
            "(-1: never).", registry=r,
        )
        self.backup_last_ok = Gauge(
            "govmail_backup_last_success", "1 if the last backup succeeded, 0 if it failed, "
            "-1 if none ran.", registry=r,
        )
        self.backup_last_duration = Gauge(
            "govmail_backup_last_duration_seconds", "Duration of the last backup.", registry=r
        )
        self.archive_entries = Gauge(
            "govmail_archive_entries", "Entries in the archive journal.", registry=r
        )
        self._guard = _GuardCollector()
        r.register(self._guard)

    # -- feeding ------------------------------------------------------------------------
    def record(self, kind: str, outcome: str) -> None:
        self.filter_results.labels(kind, outcome).inc()

    def watch_guard(self, guard: LoginGuard) -> None:
        self._guard.guard = guard

    def instrument(self, pipeline: Pipeline) -> None:
        """Wrap ``pipeline.deliver`` to count outcomes and time deliveries."""
        from govmail.delivery.pipeline import DeliveryRefused

        inner = pipeline.deliver

        async def deliver(env, raw, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                result = await inner(env, raw, **kwargs)
            except DeliveryRefused as exc:
                outcome = "tempfail" if exc.temporary else "refused"
                self.messages.labels(env.source, outcome, exc.check or "other").inc()
                raise
            self.delivery_seconds.labels(env.source).observe(time.perf_counter() - started)
            reason = ""
            if result.policy is not None and result.junk:
                reason = result.policy.final.check
            self.messages.labels(env.source, "junk" if result.junk else "accepted", reason).inc()
            return result

        pipeline.deliver = deliver  # type: ignore[method-assign]

    async def refresh(self, app: App) -> None:
        from govmail.delivery.queue import QueueAdmin

        stats = await QueueAdmin(app.store).stats()
        for status in ("queued", "deferred", "sent", "bounced"):
            self.queue_messages.labels(status).set(stats.counts.get(status, 0))
        self.queue_oldest.set(stats.oldest_pending_age or 0.0)
        async with app.store.read() as tx:
            repo = OpsRepo(tx.session, app.store.dialect)
            ok = await repo.last_backup(ok_only=True)
            last = await repo.last_backup()
            entries, _lo, _hi = await repo.archive_stats()
        now = datetime.now(UTC)
        self.backup_age.set(
            (now - ok.finished_at).total_seconds() if ok and ok.finished_at else -1
        )
        self.backup_last_ok.set(-1 if last is None else (1 if last.status == "ok" else 0))
        if last is not None and last.finished_at is not None:
            self.backup_last_duration.set((last.finished_at - last.started_at).total_seconds())
        self.archive_entries.set(entries)

    def render(self) -> bytes:
        return generate_latest(self.registry)


# -- access --------------------------------------------------------------------------------
def allowed(request: Request, token: str) -> bool:
    auth = request.headers.get("authorization", "")
    if token and auth.lower().startswith("bearer "):
        return hmac.compare_digest(auth[7:].strip().encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def metrics_routes(app: App) -> list[BaseRoute]:
    """/metrics (Prometheus text format) and /ops/locks, /ops/status (JSON)."""
    token = app.settings.monitoring.metrics_token

    def forbidden() -> Response:
        return Response("forbidden\n", status_code=403, media_type="text/plain")

    async def metrics(request: Request) -> Response:
        if not allowed(request, token):
            return forbidden()
        m = app.ops.metrics
        await m.refresh(app)
        return Response(m.render(), media_type=CONTENT_TYPE)

    async def locks(request: Request) -> Response:
        if not allowed(request, token):
            return forbidden()
        return JSONResponse(
            [
                {"key": lk.key, "kind": lk.kind, "failures": lk.failures,
                 "seconds_left": round(lk.seconds_left, 1)}
                for lk in app.guard.locks()
            ]
        )

    async def status(request: Request) -> Response:
        if not allowed(request, token):
            return forbidden()
        from govmail.ops.status import collect_status

        data = await collect_status(app.settings, app.store, app)
        return JSONResponse(data)

    return [Route("/metrics", metrics), Route("/ops/locks", locks), Route("/ops/status", status)]
