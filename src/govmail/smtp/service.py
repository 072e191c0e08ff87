"""SMTP listeners: the inbound MX, submission with STARTTLS, and submission over TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl

from govmail.config import Settings
from govmail.delivery.pipeline import Pipeline
from govmail.directory.login_guard import LoginGuard
from govmail.directory.service import Directory
from govmail.ratelimit import ConnectionCounter
from govmail.services import bind_sockets, bound_port
from govmail.smtp.handler import Mode, SmtpHandler, SmtpLimits
from govmail.smtp.protocol import GovSMTP


class SmtpService:
    def __init__(
        self,
        mode: Mode,
        port: int,
        settings: Settings,
        pipeline: Pipeline,
        directory: Directory,
        guard: LoginGuard,
        limits: SmtpLimits,
        tls: ssl.SSLContext,
        connections: ConnectionCounter,
    ) -> None:
        self.name = {"mx": "smtp", "submission": "submission", "submissions": "submissions"}[mode]
        self.mode = mode
        self.port = port
        self.settings = settings
        self.tls = tls
        self.connections = connections
        self.handler = SmtpHandler(mode, settings, pipeline, directory, guard, limits)
        self._servers: list[asyncio.base_events.Server] = []
        self._sockets: list[socket.socket] = []

    def _protocol(self) -> GovSMTP:
        implicit = self.mode == "submissions"
        return GovSMTP(
            self.handler,
            connections=self.connections,
            hostname=self.settings.general.hostname,
            ident="govmail ESMTP",
            data_size_limit=self.settings.limits.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=None if implicit else self.tls,
            require_starttls=False,
            auth_required=self.mode != "mx",
            auth_require_tls=False,  # the handler enforces TLS-or-loopback itself
            timeout=300,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._sockets = bind_sockets(self.settings.listeners.bind, self.port)
        self.port = bound_port(self._sockets)
        ssl_ctx = self.tls if self.mode == "submissions" else None
        for sock in self._sockets:
            self._servers.append(await loop.create_server(self._protocol, sock=sock, ssl=ssl_ctx))

    async def stop(self) -> None:
        for srv in self._servers:
            srv.close()
        for srv in self._servers:
            await srv.wait_closed()
        self._servers.clear()

    def healthy(self) -> bool:
        return bool(self._servers) and all(s.is_serving() for s in self._servers)
