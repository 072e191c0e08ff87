"""DNS lookups for delivery and sender authentication (MX, A/AAAA, TXT), asynchronous.

One ``Resolver`` per process, built from the queue settings: the system resolver, or the
configured servers (tests point it at a loopback DNS server).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

MAX_TTL = 300.0
NEGATIVE_TTL = 60.0
CACHE_SIZE = 20_000


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
        self._cache: dict[tuple[str, str], tuple[float, list[object]]] = {}

    async def _query(self, name: str, rdtype: str) -> list[object]:
        """Answers, cached for their TTL (at most 5 minutes; negative answers 1 minute)."""
        key = (name.lower(), rdtype)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            answer = await self._r.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            self._remember(key, now + NEGATIVE_TTL, [])
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise DnsTemporaryError(f"{rdtype} {name}: {exc}") from exc
        rows = list(answer)
        ttl = min(MAX_TTL, float(answer.rrset.ttl if answer.rrset is not None else 0))
        self._remember(key, now + ttl, rows)
        return rows

    def _remember(self, key: tuple[str, str], until: float, rows: list[object]) -> None:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (until, rows)

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
