"""A tiny authoritative DNS server on loopback for the tests (UDP and TCP).

Zone data is a dict: {("mic.gov.vn", "MX"): ["10 mx.mic.gov.vn."], ("mx.mic.gov.vn", "A"):
["127.0.0.2"], ("sel._domainkey.mic.gov.vn", "TXT"): ["v=DKIM1; k=rsa; p=..."]}.
Names not in the zone get NXDOMAIN; known names without the type get an empty answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Iterator
from threading import Thread

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Zone = dict[tuple[str, str], list[str]]


def _split_txt(value: str) -> str:
    """A TXT value as quoted character-strings of at most 255 octets."""
    raw = value.encode()
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return " ".join(
        '"' + c.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks
    )


class DnsServer:
    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1") -> None:
        self.zone: Zone = {}
        for (name, rdtype), values in (zone or {}).items():
            self.set(name, rdtype, values)
        self.host = host
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: Thread | None = None
        self._stop: asyncio.Event | None = None

    def set(self, name: str, rdtype: str, values: list[str]) -> None:
        self.zone[(name.lower().rstrip("."), rdtype.upper())] = list(values)

    def answer(self, wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        r.flags |= 1 << 10  # AA
        question = q.question[0]
        name = question.name.to_text().lower().rstrip(".")
        rdtype = dns.rdatatype.to_text(question.rdtype)
        values = self.zone.get((name, rdtype))
        if values is None:
            if not any(n == name for n, _t in self.zone):
                r.set_rcode(dns.rcode.NXDOMAIN)
            return r.to_wire()
        texts = [_split_txt(v) for v in values] if rdtype == "TXT" else values
        r.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, texts))
        return r.to_wire()

    # -- running in a thread, so synchronous and asynchronous tests can both use it ------
    def start(self) -> DnsServer:
        ready: list[int] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            loop.run_until_complete(self._serve(ready))

        self._thread = Thread(target=run, daemon=True, name="test-dns")
        self._thread.start()
        while not ready:
            pass
        self.port = ready[0]
        return self

    async def _serve(self, ready: list[int]) -> None:
        loop = asyncio.get_running_loop()
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((self.host, 0))
        port = tcp.getsockname()[1]
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.t = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                with contextlib.suppress(Exception):
                    self.t.sendto(server.answer(data), addr)  # type: ignore[attr-defined]

        udp_t, _ = await loop.create_datagram_endpoint(Udp, local_addr=(self.host, port))

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while True:
                    n = struct.unpack("!H", await reader.readexactly(2))[0]
                    reply = server.answer(await reader.readexactly(n))
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
            writer.close()

        tcp.listen(16)
        tcp.setblocking(False)
        tcp_server = await asyncio.start_server(handle, sock=tcp)
        ready.append(port)
        assert self._stop is not None
        await self._stop.wait()
        tcp_server.close()
        udp_t.close()

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(timeout=5)


@contextlib.contextmanager
def running(zone: Zone) -> Iterator[DnsServer]:
    s = DnsServer(zone).start()
    try:
        yield s
    finally:
        s.stop()


if __name__ == "__main__":
    # A local resolver for benchmarks: empty zone (every name NXDOMAIN), answers at once.
    import sys
    import time

    server = DnsServer({}).start()
    print(server.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sys.exit(0)
