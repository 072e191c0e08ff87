"""A line-oriented connection for a text protocol door, on asyncio's Protocol API.

Streams would hide their read buffer, and STLS must throw away whatever the client sent
in the clear after the command (RFC 2595 §4; the CVE-2011-0411 class of injection). This
protocol owns its buffer, so the upgrade can discard it. It also bounds the buffer (reading
pauses) and waits for the socket to drain on writes, so neither a flooding nor a
non-reading client makes the server hold unbounded data.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

from govmail.ratelimit import ConnectionCounter
from govmail.services import wait_event

log = logging.getLogger("govmail.pop3")

_READ_HIGH_WATER = 64 * 1024
_WRITE_CHUNK = 256 * 1024


class ChannelClosed(Exception):
    """The peer went away."""


class LineTooLong(Exception):
    """A line longer than the channel's limit."""


class LineChannel(asyncio.Protocol):
    def __init__(
        self,
        session: Callable[[LineChannel], Awaitable[None]],
        *,
        max_line: int,
        tls: bool,
        connections: ConnectionCounter | None = None,
        refuse: bytes = b"",
        on_task: Callable[[asyncio.Task[None]], None] | None = None,
        write_timeout: float = 600.0,
    ) -> None:
        self._session = session
        self.max_line = max_line
        self.tls_active = tls
        self.peer_ip: str | None = None
        self.transport: asyncio.Transport | None = None
        self._connections = connections
        self._refuse = refuse
        self._on_task = on_task
        self._write_timeout = write_timeout
        self._peer_key: str | None = None
        self._buf = bytearray()
        self._eof = False
        self._closed = False
        self._reading_paused = False
        self._data = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else None
        key = self.peer_ip or "unknown"
        if self._connections is not None:
            if not self._connections.acquire(key):
                transport.write(self._refuse)
                transport.close()
                self._closed = True
                return
            self._peer_key = key
        self.task = asyncio.get_running_loop().create_task(self._run())
        if self._on_task is not None:
            self._on_task(self.task)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self._data.set()
        if len(self._buf) > _READ_HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._data.set()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._eof = True
        self._data.set()
        self._can_write.set()
        if self._connections is not None and self._peer_key is not None:
            self._connections.release(self._peer_key)
            self._peer_key = None

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # -- for the session --------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._session(self)
        except (ChannelClosed, ConnectionError, ssl.SSLError, TimeoutError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("session failed", extra={"peer": self.peer_ip})
        finally:
            self.close()

    async def readline(self, timeout: float) -> bytes:
        """The next line without its LF (a CR before it is kept for the parser).

        Raises TimeoutError, LineTooLong or ChannelClosed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            nl = self._buf.find(b"\n", 0, self.max_line + 1)
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                self._maybe_resume()
                return line
            if len(self._buf) > self.max_line:
                raise LineTooLong
            if self._eof or self._closed:
                raise ChannelClosed
            self._data.clear()
            self._maybe_resume()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            if not await wait_event(self._data, remaining):
                raise TimeoutError

    def _maybe_resume(self) -> None:
        if self._reading_paused and len(self._buf) < _READ_HIGH_WATER // 2 and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()

    async def write(self, data: bytes) -> None:
        for i in range(0, max(len(data), 1), _WRITE_CHUNK):
            if self._closed or self.transport is None or self.transport.is_closing():
                raise ChannelClosed
            self.transport.write(data[i : i + _WRITE_CHUNK])
            if not self._can_write.is_set() and not await wait_event(
                self._can_write, self._write_timeout
            ):
                raise TimeoutError
        if self._closed:
            raise ChannelClosed

    def write_nowait(self, data: bytes) -> None:
        """Best effort, for a last word before closing: never waits for the peer."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def start_tls(self, context: ssl.SSLContext, handshake_timeout: float = 30.0) -> None:
        """Upgrade to TLS; whatever was received before the handshake is discarded."""
        assert self.transport is not None
        self._buf.clear()
        self._maybe_resume()
        loop = asyncio.get_running_loop()
        new = await loop.start_tls(
            self.transport,
            self,
            context,
            server_side=True,
            ssl_handshake_timeout=handshake_timeout,
        )
        if new is None:
            raise ChannelClosed
        self.transport = new
        self.tls_active = True

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
