"""POP3 listeners: port 110 with STLS ("pop3") and port 995 with implicit TLS ("pop3s")."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import TYPE_CHECKING, Literal

from govmail.config import Settings
from govmail.delivery.mailstore import MailStore
from govmail.directory.login_guard import LoginGuard
from govmail.directory.service import Directory
from govmail.i18n import both
from govmail.pop3 import protocol as p
from govmail.pop3.channel import LineChannel
from govmail.pop3.maildrop import MaildropLocks
from govmail.pop3.session import Pop3Context, Pop3Session
from govmail.ratelimit import ConnectionCounter
from govmail.services import bind_sockets, bound_port

if TYPE_CHECKING:
    from govmail.app import App

Mode = Literal["pop3", "pop3s"]


class Pop3Service:
    def __init__(
        self,
        mode: Mode,
        port: int,
        settings: Settings,
        directory: Directory,
        guard: LoginGuard,
        mailstore: MailStore,
        tls: ssl.SSLContext | None,
        connections: ConnectionCounter | None,
        locks: MaildropLocks,
        *,
        idle_timeout: float = 600.0,
    ) -> None:
        if mode == "pop3s" and tls is None:
            raise ValueError("pop3s needs a TLS context")
        self.name: str = mode
        self.mode = mode
        self.port = port
        self.settings = settings
        self.connections = connections
        self.ctx = Pop3Context(
            settings=settings,
            directory=directory,
            guard=guard,
            mailstore=mailstore,
            locks=locks,
            tls=tls,
            implicit_tls=mode == "pop3s",
            idle_timeout=idle_timeout,
        )
        self._servers: list[asyncio.base_events.Server] = []
        self._sockets: list[socket.socket] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._channels: set[LineChannel] = set()

    async def _session(self, channel: LineChannel) -> None:
        self._channels.add(channel)
        try:
            await Pop3Session(channel, self.ctx).run()
        finally:
            self._channels.discard(channel)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _protocol(self) -> LineChannel:
        return LineChannel(
            self._session,
            max_line=p.MAX_LINE,
            tls=self.ctx.implicit_tls,
            connections=self.connections,
            refuse=p.err(both("pop3.too_many_connections"), p.SYS_TEMP),
            on_task=self._track,
            write_timeout=self.ctx.idle_timeout,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._sockets = bind_sockets(self.settings.listeners.bind, self.port)
        self.port = bound_port(self._sockets)
        ssl_ctx = self.ctx.tls if self.ctx.implicit_tls else None
        for sock in self._sockets:
            self._servers.append(
                await loop.create_server(
                    self._protocol,
                    sock=sock,
                    ssl=ssl_ctx,
                    ssl_handshake_timeout=30.0 if ssl_ctx else None,
                )
            )

    async def stop(self) -> None:
        for srv in self._servers:
            srv.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for ch in list(self._channels):
            ch.abort()
        for srv in self._servers:
            await srv.wait_closed()
        self._servers.clear()

    def healthy(self) -> bool:
        return bool(self._servers) and all(s.is_serving() for s in self._servers)


def pop3_services(app: App, connections: ConnectionCounter | None) -> list[Pop3Service]:
    """Both POP3 listeners of an App, sharing one maildrop lock table."""
    assert app.tls is not None
    locks = MaildropLocks()
    ls = app.settings.listeners

    def service(mode: Mode, port: int) -> Pop3Service:
        return Pop3Service(
            mode,
            port,
            app.settings,
            app.directory,
            app.guard,
            app.mailstore,
            app.tls,
            connections,
            locks,
        )

    return [service("pop3", ls.pop3_port), service("pop3s", ls.pop3s_port)]
