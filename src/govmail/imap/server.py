"""The IMAP listeners: ``imap`` (port 143, STARTTLS) and ``imaps`` (port 993, implicit TLS).

Each connection gets a :class:`~govmail.imap.session.Session` running as its own task; a
session that fails or is flooded with garbage affects no other. Connections per client
address are capped (``limits.max_connections_per_ip``, the same setting as SMTP's).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from govmail.config import Settings
from govmail.delivery.events import MailEvents
from govmail.delivery.mailstore import MailStore
from govmail.directory.login_guard import LoginGuard
from govmail.directory.service import Directory
from govmail.imap.connection import Connection
from govmail.imap.protocol import response as r
from govmail.imap.texts import say
from govmail.ratelimit import ConnectionCounter
from govmail.services import bind_sockets, bound_port
from govmail.store.db import Store

log = logging.getLogger("govmail.imap")


class ImapContext(Protocol):
    """What the IMAP door needs from the application (``govmail.app.App`` provides it)."""

    settings: Settings
    store: Store
    directory: Directory
    events: MailEvents
    mailstore: MailStore
    guard: LoginGuard
    tls: ssl.SSLContext | None


class ImapService:
    def __init__(
        self,
        mode: Literal["imap", "imaps"],
        ctx: ImapContext,
        connections: ConnectionCounter | None = None,
    ) -> None:
        self.name = mode
        self.mode = mode
        self.ctx = ctx
        ls = ctx.settings.listeners
        self.port = ls.imaps_port if mode == "imaps" else ls.imap_port
        self.tls = ctx.tls
        self.tz = ZoneInfo(ctx.settings.general.timezone)
        self.connections = connections or ConnectionCounter(
            ctx.settings.limits.max_connections_per_ip
        )
        self.sessions: set[asyncio.Task[None]] = set()
        self._servers: list[asyncio.base_events.Server] = []
        self._sockets: list[socket.socket] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._sockets = bind_sockets(self.ctx.settings.listeners.bind, self.port)
        self.port = bound_port(self._sockets)
        implicit = self.tls if self.mode == "imaps" else None
        if self.mode == "imaps" and implicit is None:
            raise RuntimeError("imaps needs a TLS context")
        for sock in self._sockets:
            # TLS is done by the Connection itself (see connection.py), not by asyncio.
            server = await loop.create_server(lambda: Connection(self._opened, implicit), sock=sock)
            self._servers.append(server)

    def _opened(self, conn: Connection) -> None:
        from govmail.imap.session import Session

        key = conn.peer_ip or "?"
        if not self.connections.acquire(key):
            try:
                conn.write(r.untagged_status("BYE", say("imap.too_many_connections")))
            except Exception:
                pass
            conn.close()
            return
        session = Session(self, conn)
        task = asyncio.get_running_loop().create_task(session.run(), name="imap-session")
        self.sessions.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.sessions.discard(t)
            self.connections.release(key)

        task.add_done_callback(done)

    async def stop(self) -> None:
        for srv in self._servers:
            srv.close()
        for task in list(self.sessions):
            task.cancel()
        if self.sessions:
            await asyncio.wait(list(self.sessions), timeout=10)
        for srv in self._servers:
            await srv.wait_closed()
        self._servers.clear()

    def healthy(self) -> bool:
        return bool(self._servers) and all(s.is_serving() for s in self._servers)
