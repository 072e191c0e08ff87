"""One client connection as an asyncio protocol: a byte buffer in, writes out.

Lighter than asyncio streams (one object per connection, no StreamReader/StreamWriter
pair) and it keeps the received-but-unread bytes in view, which STARTTLS needs: bytes a
client pipelined after ``STARTTLS`` arrived in clear text and must never be executed
(:attr:`Connection.pending` tells the session they exist).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

_HIGH_WATER = 1 << 20  # stop reading from the socket while this much is unread


class ConnectionClosed(Exception):
    """The client went away (or the connection was closed) while we were writing."""


class Connection(asyncio.Protocol):
    def __init__(self, on_open: Callable[[Connection], None]) -> None:
        self._on_open = on_open
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._eof = False
        self._closed = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._reading_paused = False
        self.peer_ip: str | None = None
        self.tls = False

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer_ip = peer[0] if isinstance(peer, tuple) and peer else None
        self.tls = transport.get_extra_info("ssl_object") is not None
        self._on_open(self)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > _HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._eof = True
        self._wake_reader()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading -------------------------------------------------------------------------
    def _wake_reader(self) -> None:
        waiter = self._data_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def pending(self) -> int:
        """Octets received and not read yet."""
        return len(self._buf)

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._buf

    async def wait_data(self) -> None:
        """Return when there are bytes to read or the client has gone."""
        if self._buf or self._eof:
            return
        loop = asyncio.get_running_loop()
        self._data_waiter = loop.create_future()
        try:
            await self._data_waiter
        finally:
            self._data_waiter = None

    async def read(self, timeout: float | None = None) -> bytes:
        """Everything received so far (waiting up to ``timeout``); b"" at end of input.

        Raises ``TimeoutError`` when nothing arrived in time.
        """
        if not self._buf and not self._eof:
            async with asyncio.timeout(timeout):
                await self.wait_data()
        data = bytes(self._buf)
        self._buf.clear()
        if self._reading_paused and self.transport is not None and not self._closed:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    def discard_pending(self) -> int:
        n = len(self._buf)
        self._buf.clear()
        return n

    # -- writing -------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, data: bytes) -> None:
        if self._closed or self.transport is None or self.transport.is_closing():
            raise ConnectionClosed()
        self.transport.write(data)

    async def drain(self) -> None:
        if self._closed:
            raise ConnectionClosed()
        if not self._write_paused:
            return
        loop = asyncio.get_running_loop()
        self._drain_waiter = loop.create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None
        if self._closed:
            raise ConnectionClosed()

    async def start_tls(self, context: ssl.SSLContext, timeout: float = 60.0) -> None:
        """Upgrade to TLS (STARTTLS). The caller has checked that nothing is pending."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            self.transport, self, context, server_side=True, ssl_handshake_timeout=timeout
        )
        if transport is None:
            raise ConnectionClosed()
        self.transport = transport  # type: ignore[assignment]
        self.tls = True

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
