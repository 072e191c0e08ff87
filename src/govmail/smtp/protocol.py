"""aiosmtpd's SMTP protocol with what govmail adds on the wire: RFC 2034 enhanced status
codes on every reply, per-address connection limits, long data lines accepted, DATA
read in pieces rather than line by line (``smtp.data_reader``), and replies written
together where the client does not wait for them one by one: a multi-line reply (EHLO)
in one write, and the replies to pipelined MAIL, RCPT and RSET commands (RFC 2920) with
the reply that ends the client's group."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import warnings
from typing import Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP, syntax
from aiosmtpd.smtp import log as smtp_log  # for the "<<" lines aiosmtpd's push wrote

from govmail.ratelimit import ConnectionCounter
from govmail.smtp import protocol_setup
from govmail.smtp.data_reader import DataState, read_data

# Submission requires AUTH but lets the handler decide when a password may be sent
# (after TLS, or on loopback when configured), so aiosmtpd's own TLS flag is off.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

# Default enhanced codes for replies aiosmtpd writes itself (RFC 3463).
_ENHANCED = {
    "221": "2.0.0",
    "250": "2.0.0",
    "251": "2.1.5",
    "252": "2.0.0",
    "421": "4.3.0",
    "450": "4.2.0",
    "451": "4.3.0",
    "452": "4.3.1",
    "454": "4.7.0",
    "500": "5.5.2",
    "501": "5.5.4",
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "535": "5.7.8",
    "538": "5.7.11",
    "550": "5.0.0",
    "551": "5.1.6",
    "552": "5.3.4",
    "553": "5.1.3",
    "554": "5.0.0",
    "555": "5.5.4",
}
_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(\s|$)")
_REPLY = re.compile(r"^(\d{3})([ -])(.*)$", re.S)
# The usual path argument: <dot-atom@domain> with ASCII text, then ESMTP parameters.
_PLAIN_PATH = re.compile(
    r"\s*<([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>(.*)$",
    re.S,
)


@functools.cache
def protocol_names(cls: type) -> list[str]:
    """The names aiosmtpd looks up by prefix in every new connection (``smtp_*``,
    ``auth_*``, ``handle_*``), listed once per class: a full ``dir()`` with
    ``inspect.getmembers`` per connection costs more than the rest of the set-up."""
    return [n for n in dir(cls) if n.startswith(("smtp_", "auth_", "handle_"))]


class GovSMTP(SMTP):
    # Long lines in DATA are accepted (RFC 5322 limits are for generators; receivers
    # should be liberal); anything beyond this buffer is refused as a whole.
    line_length_limit = 64 * 1024

    def __init__(
        self, handler: Any, *, connections: ConnectionCounter | None = None, **kwargs: Any
    ) -> None:
        template = protocol_setup.template_for(handler, type(self))
        fast = protocol_setup.usable(kwargs)
        if not (fast and template and protocol_setup.fill(self, handler, template, kwargs)):
            super().__init__(handler, **kwargs)
            if fast and template is None:
                protocol_setup.remember(self)
        self._connections = connections
        self._peer_key: str | None = None
        self._in_ehlo = False
        self._replies: list[bytes] = []  # written with the next reply the client waits for
        self._pipelinable = False

    def __dir__(self) -> list[str]:
        return protocol_names(type(self))

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        m = _PLAIN_PATH.match(arg)
        if m is None:
            return super()._getaddr(arg)
        addr = m.group(1)
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, m.group(2)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        key = peer[0] if peer else "unknown"
        if self._connections is not None and self._peer_key is None:
            if not self._connections.acquire(key):
                transport.write(b"421 4.7.0 Too many connections from your address\r\n")
                transport.close()
                return
            self._peer_key = key
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._connections is not None and self._peer_key is not None:
            self._connections.release(self._peer_key)
            self._peer_key = None
        if self.session is not None:
            super().connection_lost(error)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA command with the message read in pieces (``data_reader``).
        govmail keeps DATA as bytes (``decode_data=False``): the pipeline parses them."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            state, content = await read_data(
                self._reader, self.data_size_limit, self.line_length_limit
            )
        except asyncio.CancelledError:
            # The connection went away during DATA (eof_received cancels this task).
            self._writer.close()
            raise
        if state is DataState.TOO_LONG:
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
        elif state is DataState.TOO_MUCH:
            await self.push("552 Error: Too much mail data")
        if state is not DataState.OK:
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._in_ehlo = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._in_ehlo = False

    # The commands RFC 2920 lets a client follow with more before their reply.
    async def smtp_MAIL(self, arg: str) -> None:
        await self._pipelined(super().smtp_MAIL(arg))

    async def smtp_RCPT(self, arg: str) -> None:
        await self._pipelined(super().smtp_RCPT(arg))

    async def smtp_RSET(self, arg: str) -> None:
        await self._pipelined(super().smtp_RSET(arg))

    async def _pipelined(self, command: Any) -> None:
        self._pipelinable = True
        try:
            await command
        finally:
            self._pipelinable = False

    def eof_received(self) -> bool | None:
        # aiosmtpd stops the session here; replies held for pipelined commands that were
        # answered still go out (the client may have half-closed after its group).
        if self._replies and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._replies))
            self._replies.clear()
        return super().eof_received()

    def _command_waiting(self) -> bool:
        """The client has sent a whole command line more (pipelining)."""
        buffered = getattr(self._reader, "_buffer", None)
        return buffered is not None and b"\n" in buffered

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if not self._in_ehlo and not _HAS_ENHANCED.match(text):
            m = _REPLY.match(text)
            if m and m.group(1) in _ENHANCED:
                code, sep, rest = m.groups()
                if code == "500" and rest.startswith("Line too long"):
                    code, rest = "552", "Line too long"
                text = f"{code}{sep}{_ENHANCED[code]} {rest}"
        line = text.encode("utf-8" if self.enable_SMTPUTF8 else "ascii") + b"\r\n"
        if smtp_log.isEnabledFor(logging.DEBUG):
            smtp_log.debug("%r << %r", self.session.peer if self.session else None, line)
        self._replies.append(line)
        if text[3:4] == "-" or (self._pipelinable and self._command_waiting()):
            return  # the rest of the reply, or the next command's, comes first
        data = b"".join(self._replies)
        self._replies.clear()
        self._writer.write(data)
        await self._writer.drain()
