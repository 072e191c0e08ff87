"""Virus scanning with ClamAV's daemon (clamd), over its Unix socket or TCP.

The whole message goes to clamd with INSTREAM (clamd decodes MIME and archives itself).
A message found infected is refused with the signature's name. When clamd cannot scan
(down, timed out, the stream over its size limit), ``antivirus.on_failure`` decides:
'tempfail' answers 451 so that the sender retries, 'tag' accepts the message marked
``X-Virus-Status: unscanned``. Unscanned mail never passes silently.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

from govmail.config import AntivirusSettings
from govmail.i18n import both
from govmail.policy.base import Action, MessageContext, Verdict

log = logging.getLogger("govmail.antivirus")
CHUNK = 64 * 1024
Recorder = Callable[[str, str], None]


class ClamdUnavailable(Exception):
    """clamd could not give an answer (not running, timed out, refused the stream)."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    infected: bool
    signature: str | None = None


class ClamdClient:
    def __init__(
        self,
        socket_path: str = "/run/clamav/clamd.ctl",
        host: str = "",
        port: int = 3310,
        timeout: float = 30.0,
    ) -> None:
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.timeout = timeout

    @classmethod
    def from_settings(cls, s: AntivirusSettings) -> ClamdClient:
        return cls(s.clamd_socket, s.clamd_host, s.clamd_port, s.timeout_seconds)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" if self.host else self.socket_path

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.host:
            return await asyncio.open_connection(self.host, self.port)
        return await asyncio.open_unix_connection(self.socket_path)

    async def _command(self, payload: bytes, data: bytes | None = None) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await self._open()
                try:
                    writer.write(payload)
                    if data is not None:
                        view = memoryview(data)
                        for i in range(0, len(view), CHUNK):
                            chunk = view[i : i + CHUNK]
                            writer.write(struct.pack("!L", len(chunk)) + bytes(chunk))
                            await writer.drain()
                        writer.write(struct.pack("!L", 0))
                    await writer.drain()
                    reply = await reader.read(4096)
                finally:
                    writer.close()
                    try:
                        await writer.wait_closed()
                    except OSError:
                        pass
        except TimeoutError as exc:
            raise ClamdUnavailable(f"clamd at {self.where} did not answer in time") from exc
        except OSError as exc:
            raise ClamdUnavailable(f"clamd at {self.where}: {exc}") from exc
        text = reply.rstrip(b"\0\n").decode("utf-8", "replace")
        if not text:
            raise ClamdUnavailable(f"clamd at {self.where} closed the connection")
        return text

    async def ping(self) -> bool:
        try:
            return await self._command(b"zPING\0") == "PONG"
        except ClamdUnavailable:
            return False

    async def scan(self, data: bytes) -> ScanResult:
        reply = await self._command(b"zINSTREAM\0", data)
        # "stream: OK", "stream: Eicar-Test-Signature FOUND", "... ERROR"
        body = reply.split(":", 1)[1].strip() if ":" in reply else reply
        if body == "OK":
            return ScanResult(False)
        if body.endswith(" FOUND"):
            return ScanResult(True, body[: -len(" FOUND")].strip())
        raise ClamdUnavailable(f"clamd at {self.where} could not scan: {reply}")


class VirusCheck:
    """Scans every message, whatever door it came in by (no spreading of viruses)."""

    name = "antivirus"

    def __init__(
        self,
        settings: AntivirusSettings,
        client: ClamdClient | None = None,
        record: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or ClamdClient.from_settings(settings)
        self.record = record

    def applies(self, ctx: MessageContext) -> bool:
        return self.settings.enabled

    def _count(self, outcome: str) -> None:
        if self.record is not None:
            self.record("virus", outcome)

    async def check(self, ctx: MessageContext) -> Verdict:
        try:
            result = await self.client.scan(ctx.raw)
        except ClamdUnavailable as exc:
            log.warning("virus scan failed", extra={"error": str(exc),
                                                     "on_failure": self.settings.on_failure})
            self._count("unscanned")
            if self.settings.on_failure == "tempfail":
                return Verdict.tempfail(
                    self.name, both("policy.virus.unavailable"), 451, "4.7.1", virus="unscanned"
                )
            return Verdict(
                Action.TAG,
                self.name,
                headers=[("X-Virus-Status", "unscanned")],
                facts={"virus": "unscanned"},
            )
        if result.infected:
            self._count("infected")
            log.info("virus found", extra={"signature": result.signature,
                                           "source": ctx.envelope.source})
            return Verdict.refuse(
                self.name,
                both("policy.virus.found", name=result.signature or "?"),
                554,
                "5.7.1",
                virus="infected",
                virus_name=result.signature,
            )
        self._count("clean")
        return Verdict(
            Action.TAG,
            self.name,
            headers=[("X-Virus-Status", "clean"), ("X-Virus-Scanned", "ClamAV")],
            facts={"virus": "clean"},
        )
