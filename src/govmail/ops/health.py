"""Health of a running App, for ``/healthz`` and ``/ops/status``: the store answers a
query, every service says it is running, and every mail listener really greets a client.

A listener is probed as a client would see it: a TCP connection to each address it is
bound to (a wildcard address through loopback), TLS first on the implicit-TLS ports,
then its greeting (``220``, ``* OK``, ``+OK``), then a polite goodbye. That finds a
listener whose socket was closed under it or whose accept path no longer answers, which
the service's own "serving" flag does not.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from govmail.store.repos.ops import OpsRepo

if TYPE_CHECKING:
    from govmail.app import App

PROBE_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class Greeting:
    prefix: bytes
    goodbye: bytes
    implicit_tls: bool = False


SMTP = Greeting(b"220", b"QUIT\r\n")
IMAP = Greeting(b"* OK", b"z LOGOUT\r\n")
POP3 = Greeting(b"+OK", b"QUIT\r\n")
LISTENERS: dict[str, Greeting] = {
    "smtp": SMTP,
    "submission": SMTP,
    "submissions": Greeting(SMTP.prefix, SMTP.goodbye, True),
    "imap": IMAP,
    "imaps": Greeting(IMAP.prefix, IMAP.goodbye, True),
    "pop3": POP3,
    "pop3s": Greeting(POP3.prefix, POP3.goodbye, True),
}


def _client_tls() -> ssl.SSLContext:
    # Our own listener on loopback: the point is that it answers, not who it claims to be.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def probe_address(bound: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(bound, bound)


async def probe(host: str, port: int, greeting: Greeting) -> str:
    """"ok", or what went wrong, for one listener address."""
    writer = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=_client_tls() if greeting.implicit_tls else None,
                server_hostname="" if greeting.implicit_tls else None,
            )
            line = await reader.readline()
            if not line.startswith(greeting.prefix):
                return f"unexpected greeting {line[:40]!r}"
            writer.write(greeting.goodbye)
            await writer.drain()
            return "ok"
    except TimeoutError:
        return "no greeting"
    except (OSError, ssl.SSLError) as exc:
        return f"unreachable: {type(exc).__name__}"
    finally:
        if writer is not None:
            writer.close()


async def _store(app: App) -> str:
    try:
        async with app.store.read() as tx:
            await OpsRepo(tx.session, app.store.dialect).ping()
    except Exception as exc:  # any store failure makes the instance unhealthy
        return f"error: {type(exc).__name__}"
    return "ok"


async def _listener(app: App, name: str, greeting: Greeting) -> str:
    port = getattr(app.service(name), "port", 0)
    results = await asyncio.gather(
        *(probe(probe_address(a), port, greeting) for a in app.settings.listeners.bind)
    )
    bad = [f"{a}: {r}" for a, r in zip(app.settings.listeners.bind, results, strict=True)
           if r != "ok"]
    return "down: " + "; ".join(bad) if bad else "ok"


async def check_health(app: App) -> dict[str, str]:
    """Every check by name ("store", then each service): "ok" or why not."""
    checks = {"store": await _store(app)}
    probes: dict[str, asyncio.Task[str]] = {}
    for svc in app.services:
        if not svc.healthy():
            checks[svc.name] = "down"
            continue
        checks[svc.name] = "ok"
        greeting = LISTENERS.get(svc.name)
        if greeting is not None:
            probes[svc.name] = asyncio.create_task(_listener(app, svc.name, greeting))
    for name, task in probes.items():
        checks[name] = await task
    return checks
