"""Composition root: builds the store, the directory and every service, starts and stops them."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl

from govmail.config import Settings
from govmail.delivery.committer import GroupCommitter
from govmail.delivery.dns import Resolver
from govmail.delivery.events import MailEvents
from govmail.delivery.filters import MailFilters
from govmail.delivery.mailstore import MailStore
from govmail.delivery.pipeline import Pipeline
from govmail.delivery.queue import QueueService
from govmail.delivery.signing import DomainSigner
from govmail.delivery.vacation import VacationResponder
from govmail.directory.login_guard import LoginGuard
from govmail.directory.service import Directory
from govmail.documents.meetings import MeetingReplies
from govmail.documents.reminders import MailboxEdxmlSource, ReminderService
from govmail.documents.service import DocumentService
from govmail.i18n import set_default_language
from govmail.logging_setup import configure_logging
from govmail.ops.wiring import Operations
from govmail.policy.base import PolicyCheck
from govmail.policy.identity import SenderIdentityCheck
from govmail.policy.sender_auth import SenderAuthCheck
from govmail.ratelimit import ConnectionCounter, WindowLimiter
from govmail.reports.usage import UsageRecorder
from govmail.services import Service
from govmail.store.db import Store
from govmail.tlscert import server_context

log = logging.getLogger("govmail")


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(
            settings.database_url,
            settings.blob_dir,
            echo=settings.database.echo_sql,
            pool_size=settings.database.pool_size,
        )
        self.directory = Directory(self.store, settings)
        self.ops = Operations(settings, self.store)
        self.events = MailEvents()
        self.committer = GroupCommitter(self.store)
        self.guard = LoginGuard(settings.auth)
        self.usage = UsageRecorder(self.store, settings.general.timezone)
        self.guard.on_login = self.usage.on_login
        q = settings.queue
        self.resolver = Resolver(q.dns_servers or None, q.dns_port)
        self.filters = MailFilters(self.store)
        self.vacation = VacationResponder(
            self.store, settings.general.hostname, lambda env, raw: self.pipeline.deliver(env, raw)
        )
        self.documents = DocumentService(
            self.store, self.directory, settings, lambda: self.pipeline
        )
        self.meeting_replies = MeetingReplies(self.store)
        self.pipeline = Pipeline(
            settings,
            self.directory,
            self.committer,
            self.events,
            self._policy_checks(),
            signer=DomainSigner(self.store),
            routers=[self.filters],
            after_delivery=[
                self.vacation,
                self.ops.archive,
                self.documents.after_delivery,
                self.usage.after_delivery,
            ],
        )
        self.queue = QueueService(self.store, settings, self.pipeline, resolver=self.resolver)
        docs = settings.documents
        self.reminders = ReminderService(
            self.store,
            lambda env, raw: self.pipeline.deliver(env, raw),
            [
                MailboxEdxmlSource(
                    self.store, timezone=settings.general.timezone, web_url=docs.web_url or None
                )
            ],
            times=docs.reminder_times,
            timezone=settings.general.timezone,
        )
        self.pipeline.on_queued = self.queue.wake
        self.pipeline.on_refused = self.usage.message_refused
        self.pipeline.on_verdicts = self.usage.filter_verdicts
        self.mailstore = MailStore(
            self.store, self.committer, self.events, settings.limits.max_message_size
        )
        self.ops.attach(self)
        self.services: list[Service] = []
        self.tls: ssl.SSLContext | None = None
        self._stopping = asyncio.Event()

    def _policy_checks(self) -> list[PolicyCheck]:
        pol = self.settings.policy
        return [
            SenderIdentityCheck(self.directory),
            SenderAuthCheck(
                self.resolver,
                self.settings.general.hostname,
                honour_dmarc=pol.dmarc_mode,
                trusted_networks=pol.trusted_networks,
            ),
            *self.ops.policy_checks(),
            *self.documents.checks(),
        ]

    def _build_services(self) -> list[Service]:
        from govmail.imap.server import ImapService
        from govmail.pop3.server import pop3_services
        from govmail.smtp.handler import SmtpLimits
        from govmail.smtp.service import SmtpService
        from govmail.web.app import create_app
        from govmail.web.http_service import HttpService

        assert self.tls is not None
        ls, lim = self.settings.listeners, self.settings.limits
        smtp_limits = SmtpLimits(
            messages_per_ip=WindowLimiter(lim.messages_per_minute_per_ip, 60.0),
            sends_per_user=WindowLimiter(lim.sends_per_hour_per_user, 3600.0),
        )
        connections = ConnectionCounter(lim.max_connections_per_ip)

        def smtp(mode: str, port: int) -> SmtpService:
            return SmtpService(
                mode,
                port,
                self.settings,
                self.pipeline,
                self.directory,  # type: ignore[arg-type]
                self.guard,
                smtp_limits,
                self.tls,
                connections,
            )  # type: ignore[arg-type]

        return [
            self.committer,
            self.usage,
            self.queue,
            self.reminders,
            smtp("mx", ls.smtp_port),
            smtp("submission", ls.submission_port),
            smtp("submissions", ls.submissions_port),
            *pop3_services(self, connections),
            ImapService("imap", self, connections),
            ImapService("imaps", self, connections),
            HttpService(create_app(self), ls.bind, ls.http_port),
            *self.ops.services(),
        ]

    def service(self, name: str) -> Service:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    async def start(self) -> None:
        set_default_language(self.settings.general.language)
        await self.store.open()
        self.tls = server_context(self.settings)
        for svc in self._build_services():
            await svc.start()
            self.services.append(svc)
            log.info("service started", extra={"service": svc.name})

    async def stop(self) -> None:
        for svc in reversed(self.services):
            try:
                await svc.stop()
            except Exception:
                log.exception("service failed to stop", extra={"service": svc.name})
        self.services.clear()
        await self.store.close()

    def request_stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        # What start-up loaded lives as long as the process: freezing it keeps the cyclic
        # garbage collector from walking it again on every full collection.
        gc.collect()
        gc.freeze()
        try:
            await self._stopping.wait()
        finally:
            await self.stop()


def serve(settings: Settings) -> None:
    configure_logging(settings)
    import sys

    sys.setswitchinterval(0.0005)
    asyncio.run(App(settings).run_forever())
