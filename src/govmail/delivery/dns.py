"""DNS lookups for delivery and sender authentication (MX, A/AAAA, TXT), asynchronous.

One ``Resolver`` per process, built from the queue settings: the system resolver, or the
configured servers (tests point it at a loopback DNS server).
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.rdatatype


class DnsTemporaryError(Exception):
    """The lookup could not be answered now (timeout, SERVFAIL): try again later."""


@dataclass(frozen=True, slots=True)
class MxHost:
    preference: int
    host: str  # without the trailing dot, lower-case


class Resolver:
    def __init__(
        self, nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0
    ) -> None:
        if nameservers:
            self._r = dns.asyncresolver.Resolver(configure=False)
            self._r.nameservers = list(nameservers)
            self._r.port = port
        else:
            self._r = dns.asyncresolver.Resolver()
        self._r.lifetime = timeout
        self._r.timeout = timeout
        self.nameservers = list(self._r.nameservers)
        self.port = port

    async def _query(self, name: str, rdtype: str) -> list[object]:
        try:
            answer = await self._r.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise DnsTemporaryError(f"{rdtype} {name}: {exc}") from exc
        return list(answer)

    async def mx(self, domain: str) -> list[MxHost]:
        """MX hosts sorted by preference; [] when the domain has no MX record."""
        rows = await self._query(domain, "MX")
        hosts = [
            MxHost(int(r.preference), str(r.exchange).rstrip(".").lower())  # type: ignore[attr-defined]
            for r in rows
        ]
        return sorted(hosts, key=lambda h: (h.preference, h.host))

    async def addresses(self, host: str) -> list[str]:
        """IPv4 then IPv6 addresses of a host."""
        out: list[str] = []
        for rdtype in ("A", "AAAA"):
            out.extend(str(r) for r in await self._query(host, rdtype))
        return out

    async def txt(self, name: str) -> list[str]:
        """TXT records, each with its character-strings joined."""
        return [
            b"".join(r.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
            for r in await self._query(name, "TXT")
        ]

    async def txt_bytes(self, name: str) -> list[bytes]:
        return [b"".join(r.strings) for r in await self._query(name, "TXT")]  # type: ignore[attr-defined]
