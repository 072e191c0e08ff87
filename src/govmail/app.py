"""Composition root: builds the store, the directory and every service, starts and stops them."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl

from govmail.config import Settings
from govmail.directory.service import Directory
from govmail.i18n import set_default_language
from govmail.logging_setup import configure_logging
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
        self.services: list[Service] = []
        self.tls: ssl.SSLContext | None = None
        self._stopping = asyncio.Event()

    def _build_services(self) -> list[Service]:
        from govmail.web.app import create_app
        from govmail.web.http_service import HttpService

        ls = self.settings.listeners
        return [HttpService(create_app(self), ls.bind, ls.http_port)]

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
        try:
            await self._stopping.wait()
        finally:
            await self.stop()


def serve(settings: Settings) -> None:
    configure_logging(settings)
    asyncio.run(App(settings).run_forever())
