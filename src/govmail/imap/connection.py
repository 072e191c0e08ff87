"""One client connection as an asyncio protocol: a byte buffer in, writes out, and TLS.

Lighter than asyncio streams (one object per connection, no StreamReader/StreamWriter
pair) and it keeps the received-but-unread bytes in view, which STARTTLS needs: bytes a
client pipelined after ``STARTTLS`` arrived in clear text and must never be executed
(:attr:`Connection.pending` tells the session they exist).

TLS (port 993 from the first byte, or after STARTTLS) is done here with an
``ssl.SSLObject`` over memory BIOs rather than by asyncio's own TLS transport, which keeps
a 256 KiB read buffer per connection: with thousands of phones idling in IDLE that buffer
would be most of the server's memory. Reads here go 16 KiB at a time into the session's
own buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable

_HIGH_WATER = 1 << 20  # stop reading from the socket while this much is unread
_TLS_READ = 16 * 1024  # one TLS record at most
HANDSHAKE_TIMEOUT = 30.0


class ConnectionClosed(Exception):
    """The client went away (or the connection was closed) while we were writing."""


class Connection(asyncio.Protocol):
    def __init__(
        self, on_open: Callable[[Connection], None], tls: ssl.SSLContext | None = None
    ) -> None:
        self._on_open = on_open
        self._implicit_tls = tls
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._eof = False
        self._closed = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._reading_paused = False
        self._ssl: ssl.SSLObject | None = None
        self._in_bio: ssl.MemoryBIO | None = None
        self._out_bio: ssl.MemoryBIO | None = None
        self._handshake: asyncio.Future[None] | None = None
        self._handshake_timer: asyncio.TimerHandle | None = None
        self.peer_ip: str | None = None
        self.tls = False

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer_ip = peer[0] if isinstance(peer, tuple) and peer else None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A response's last segment must not wait for the client's delayed ACK.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._implicit_tls is None:
            self._on_open(self)
            return
        waiter = self._begin_tls(self._implicit_tls)

        def opened(fut: asyncio.Future[None]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                self._on_open(self)

        waiter.add_done_callback(opened)

    def data_received(self, data: bytes) -> None:
        if self._ssl is None:
            self._buf += data
        else:
            assert self._in_bio is not None
            self._in_bio.write(data)
            if self._handshake is not None and not self._handshake.done():
                self._do_handshake()
            if self._handshake is None or self._handshake.done():
                self._decrypt()
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
        self._fail_handshake(ConnectionClosed())
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

    # -- TLS -----------------------------------------------------------------------------
    def _begin_tls(self, context: ssl.SSLContext) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        self._in_bio, self._out_bio = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._in_bio, self._out_bio, server_side=True)
        self._handshake = loop.create_future()
        self._handshake_timer = loop.call_later(
            HANDSHAKE_TIMEOUT, self._fail_handshake, TimeoutError("TLS handshake timed out")
        )
        self._do_handshake()
        return self._handshake

    def _do_handshake(self) -> None:
        assert self._ssl is not None and self._handshake is not None
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush_tls()
            return
        except (ssl.SSLError, OSError) as exc:
            self._flush_tls()
            self._fail_handshake(exc)
            return
        self._flush_tls()
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        self.tls = True
        if not self._handshake.done():
            self._handshake.set_result(None)

    def _fail_handshake(self, exc: BaseException) -> None:
        fut = self._handshake
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        if fut is not None and not fut.done():
            fut.set_exception(exc)
            fut.exception()  # retrieved: nobody may be waiting (implicit TLS)
            self.abort()

    def _decrypt(self) -> None:
        assert self._ssl is not None
        while True:
            try:
                chunk = self._ssl.read(_TLS_READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self._eof = True
                break
            except (ssl.SSLError, OSError):
                self._eof = True
                self.abort()
                break
            if not chunk:
                self._eof = True
                break
            self._buf += chunk
        self._flush_tls()  # TLS 1.3 may answer (key updates, tickets)

    def _flush_tls(self) -> None:
        out, transport = self._out_bio, self.transport
        if out is not None and out.pending and transport is not None and not transport.is_closing():
            transport.write(out.read())

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
        if self._ssl is None:
            self.transport.write(data)
            return
        view = memoryview(data)
        try:
            while view:
                n = self._ssl.write(view)
                view = view[n:]
        except (ssl.SSLError, OSError) as exc:
            self.abort()
            raise ConnectionClosed() from exc
        finally:
            self._flush_tls()

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

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade to TLS (STARTTLS). The caller has checked that nothing is pending."""
        if self._ssl is not None:
            raise RuntimeError("TLS is already active")
        waiter = self._begin_tls(context)
        try:
            await waiter
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            raise ConnectionClosed() from exc

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
