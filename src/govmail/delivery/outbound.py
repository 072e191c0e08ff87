"""One delivery attempt of a queued message to one remote domain, over SMTP.

Route: the smarthost when one is configured; otherwise the domain's MX hosts in
preference order (equal preferences shuffled, RFC 5321 §5.1), or the domain itself
when it has no MX but has A/AAAA records. A null MX ("0 .", RFC 7505) and a domain with
neither MX nor address are permanent failures.

Session: EHLO with our host name, STARTTLS whenever offered (opportunistic: the remote
certificate is not verified, as between MTAs; a failed handshake is retried once in
clear text), AUTH when the smarthost has credentials (and then TLS is required), MAIL,
one RCPT per recipient, DATA. Each recipient gets an outcome: 2xx delivered,
4xx / lost connection / temporary DNS failure retry, 5xx failed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from govmail.config import QueueSettings
from govmail.delivery.dns import DnsTemporaryError, Resolver

log = logging.getLogger("govmail.outbound")

Result = Literal["delivered", "retry", "failed"]
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")
MAX_ADDRESSES = 10  # addresses tried per attempt, over all hosts


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    """What happened to one recipient in one attempt."""

    address: str
    result: Result
    status: str  # enhanced status code (RFC 3463), e.g. "5.1.1"
    remote_mta: str | None = None  # host name of the server that replied
    reply: str | None = None  # the remote reply on one line, e.g. "550 5.1.1 no such user"
    # Our own diagnosis when no remote reply explains it: a key of the "dsn.reason.*"
    # messages (null_mx, no_domain, dns, unreachable, connection, tls_required, auth,
    # smtputf8, local, expired) plus technical detail.
    problem: str | None = None
    detail: str = ""

    @property
    def diagnostic(self) -> str:
        """One line for logs and the admin view."""
        if self.reply:
            return f"{self.remote_mta or '?'}: {self.reply}"
        return f"{self.problem or 'error'}: {self.detail}".rstrip(": ")


@dataclass(frozen=True, slots=True)
class Smarthost:
    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def needs_auth(self) -> bool:
        return bool(self.username)


@dataclass(frozen=True, slots=True)
class Hop:
    """A host to try: its name (for logs, SNI and Remote-MTA) and where to connect."""

    host: str
    port: int
    addresses: tuple[str, ...] | None = None  # None: resolve when reached
    auth: Smarthost | None = None
    implicit_tls: bool = False


class RouteError(Exception):
    def __init__(self, *, temporary: bool, problem: str, status: str, detail: str) -> None:
        super().__init__(detail)
        self.temporary = temporary
        self.problem = problem
        self.status = status
        self.detail = detail


class _NextHost(Exception):
    """This host could not take the message; the next one may."""

    def __init__(self, host: str, problem: str, detail: str, reply: str | None = None) -> None:
        super().__init__(detail)
        self.host = host
        self.problem = problem
        self.detail = detail
        self.reply = reply


class _TlsFailed(Exception):
    pass


def parse_smarthost(spec: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:port', '[v6]:port', 'v4:port' -> (host, port)."""
    spec = spec.strip()
    if not spec:
        raise ValueError("empty smarthost")
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif spec.count(":") == 1:
        host, port = spec.split(":")
    else:  # a bare host name, IPv4 address or IPv6 address without port
        host, port = spec, ""
    if not host:
        raise ValueError(f"smarthost {spec!r} has no host")
    try:
        n = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"smarthost {spec!r}: bad port") from None
    if not 0 < n < 65536:
        raise ValueError(f"smarthost {spec!r}: bad port")
    return host.lower().rstrip("."), n


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def enhanced_status(code: int, text: str) -> str:
    """The enhanced status code of a reply, or the class default (X.0.0)."""
    cls = str(code)[0] if 200 <= code < 600 else "4"
    m = _ENHANCED.match(text.strip())
    if m and m.group(1) == cls:
        return m.group(0)
    return f"{cls}.0.0"


def one_line(code: int, message: str, limit: int = 500) -> str:
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    text = "".join(c if c.isprintable() else "?" for c in text)
    out = f"{code} {text}".strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def opportunistic_tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _tls_description(smtp: aiosmtplib.SMTP) -> str | None:
    obj = smtp.get_transport_info("ssl_object")
    if obj is None:
        return None
    cipher = obj.cipher()
    return f"{obj.version()}:{cipher[0] if cipher else '?'}"


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _dns_error(exc: DnsTemporaryError) -> RouteError:
    return RouteError(temporary=True, problem="dns", status="4.4.3", detail=str(exc))


def _needs_smtputf8(mail_from: str, recipients: Sequence[str]) -> bool:
    return not all(a.isascii() for a in (mail_from, *recipients))


class OutboundDelivery:
    """Delivers one message to the recipients of one remote domain."""

    def __init__(
        self,
        *,
        hostname: str,
        resolver: Resolver,
        port: int = 25,
        smarthost: Smarthost | None = None,
        connect_timeout: float = 30.0,
        command_timeout: float = 300.0,
        tls_context: ssl.SSLContext | None = None,
        source_address: str | None = None,
    ) -> None:
        self.hostname = hostname
        self.source_address = source_address
        self.resolver = resolver
        self.port = port
        self.smarthost = smarthost
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.tls_context = tls_context or opportunistic_tls_context()

    @classmethod
    def from_settings(
        cls, queue: QueueSettings, hostname: str, resolver: Resolver, **kwargs: object
    ) -> OutboundDelivery:
        smarthost = None
        if queue.smarthost:
            host, port = parse_smarthost(queue.smarthost, queue.remote_smtp_port)
            smarthost = Smarthost(host, port, queue.smarthost_username, queue.smarthost_password)
        return cls(
            hostname=hostname,
            resolver=resolver,
            port=queue.remote_smtp_port,
            smarthost=smarthost,
            source_address=queue.source_address or None,
            **kwargs,  # type: ignore[arg-type]
        )

    # -- where to connect ------------------------------------------------------------------
    async def route(self, domain: str) -> list[Hop]:
        """Hosts to try in order; raises RouteError when there is none."""
        if self.smarthost is not None:
            sh = self.smarthost
            return [
                Hop(
                    sh.host,
                    sh.port,
                    (sh.host,) if _is_ip(sh.host) else None,
                    auth=sh if sh.needs_auth else None,
                    implicit_tls=sh.port == 465,
                )
            ]
        try:
            mx = await self.resolver.mx(domain)
        except DnsTemporaryError as exc:
            raise _dns_error(exc) from exc
        if mx:
            real = [m for m in mx if m.host]
            if not real:
                raise RouteError(
                    temporary=False,
                    problem="null_mx",
                    status="5.1.10",
                    detail=f"{domain} has a null MX record (RFC 7505): it accepts no mail",
                )
            by_pref: dict[int, list[str]] = {}
            for m in real:
                by_pref.setdefault(m.preference, []).append(m.host)
            hops: list[Hop] = []
            for pref in sorted(by_pref):
                hosts = by_pref[pref]
                random.shuffle(hosts)
                hops.extend(Hop(h, self.port) for h in hosts)
            return hops
        # No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
        try:
            addrs = await self.resolver.addresses(domain)
        except DnsTemporaryError as exc:
            raise _dns_error(exc) from exc
        if not addrs:
            raise RouteError(
                temporary=False,
                problem="no_domain",
                status="5.1.2",
                detail=f"{domain}: no MX and no A/AAAA record (no such domain, or no mail host)",
            )
        return [Hop(domain, self.port, tuple(addrs))]

    # -- one attempt -----------------------------------------------------------------------
    async def deliver(
        self, domain: str, mail_from: str, recipients: Sequence[str], data: bytes
    ) -> list[RecipientOutcome]:
        recipients = list(recipients)
        try:
            hops = await self.route(domain)
        except RouteError as exc:
            result: Result = "retry" if exc.temporary else "failed"
            return [
                RecipientOutcome(r, result, exc.status, problem=exc.problem, detail=exc.detail)
                for r in recipients
            ]
        last = _NextHost(domain, "unreachable", f"no host of {domain} could be reached")
        tried = 0
        for hop in hops:
            addresses = hop.addresses
            if addresses is None:
                try:
                    addresses = tuple(await self.resolver.addresses(hop.host))
                except DnsTemporaryError as exc:
                    last = _NextHost(hop.host, "dns", str(exc))
                    continue
                if not addresses:
                    last = _NextHost(hop.host, "unreachable", f"{hop.host} has no address")
                    continue
            for ip in addresses:
                if tried >= MAX_ADDRESSES:
                    break
                tried += 1
                try:
                    try:
                        return await self._session(hop, ip, mail_from, recipients, data, True)
                    except _TlsFailed:
                        if hop.auth is not None:
                            raise _NextHost(
                                hop.host, "tls_required", "TLS handshake failed"
                            ) from None
                        log.warning(
                            "TLS handshake failed; retrying without STARTTLS",
                            extra={"domain": domain, "host": hop.host, "ip": ip},
                        )
                        return await self._session(hop, ip, mail_from, recipients, data, False)
                except _NextHost as exc:
                    log.info(
                        "outbound host failed",
                        extra={"domain": domain, "host": hop.host, "ip": ip, "error": exc.detail},
                    )
                    last = exc
        status = "4.4.3" if last.problem == "dns" else "4.4.1"
        if last.problem in ("tls_required", "auth"):
            status = "4.7.0"
        return [
            RecipientOutcome(
                r,
                "retry",
                status,
                remote_mta=last.host if last.reply else None,
                reply=last.reply,
                problem=last.problem,
                detail=last.detail,
            )
            for r in recipients
        ]

    async def _session(
        self,
        hop: Hop,
        ip: str,
        mail_from: str,
        recipients: list[str],
        data: bytes,
        starttls: bool,
    ) -> list[RecipientOutcome]:
        where = f"{hop.host} [{ip}]:{hop.port}"
        smtp = aiosmtplib.SMTP(
            hostname=ip,
            port=hop.port,
            local_hostname=self.hostname,
            timeout=self.command_timeout,
            use_tls=hop.implicit_tls,
            start_tls=False,
            tls_context=self.tls_context if hop.implicit_tls else None,
            validate_certs=False,
            source_address=(self.source_address, 0)
            if self.source_address and ":" not in ip and ":" not in self.source_address
            else None,
        )
        try:
            await smtp.connect(timeout=self.connect_timeout)
        except aiosmtplib.SMTPConnectResponseError as exc:
            raise _NextHost(
                hop.host, "connection", f"{where} greeting refused", one_line(exc.code, exc.message)
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise _NextHost(hop.host, "unreachable", f"{where}: {_text(exc)}") from None
        try:
            await self._hello(smtp, hop, where)
            if starttls and not hop.implicit_tls and smtp.supports_extension("starttls"):
                try:
                    await smtp.starttls(
                        server_hostname=None if _is_ip(hop.host) else hop.host,
                        tls_context=self.tls_context,
                    )
                except aiosmtplib.SMTPResponseException as exc:
                    # STARTTLS refused: the session goes on in clear text.
                    log.warning(
                        "STARTTLS refused",
                        extra={"host": hop.host, "reply": one_line(exc.code, exc.message)},
                    )
                except (ssl.SSLError, aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    raise _TlsFailed(str(exc)) from None
                else:
                    await self._hello(smtp, hop, where)
            tls = _tls_description(smtp)
            if tls:
                log.info("outbound TLS", extra={"host": hop.host, "ip": ip, "tls": tls})
            else:
                log.info(
                    "outbound without TLS",
                    extra={
                        "host": hop.host,
                        "ip": ip,
                        "why": "handshake failed" if not starttls else "not offered",
                    },
                )
            if hop.auth is not None:
                await self._login(smtp, hop, where, tls)
            return await self._transaction(smtp, hop.host, mail_from, recipients, data)
        except asyncio.CancelledError:
            smtp.close()  # shutting down: no polite QUIT that could wait on a slow server
            raise
        finally:
            if smtp.is_connected:
                try:
                    await asyncio.wait_for(smtp.quit(), 5)
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    smtp.close()

    async def _hello(self, smtp: aiosmtplib.SMTP, hop: Hop, where: str) -> None:
        try:
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError as exc:
                if exc.code < 500:
                    raise
                await smtp.helo()
        except aiosmtplib.SMTPResponseException as exc:
            raise _NextHost(
                hop.host, "connection", f"{where} refused EHLO", one_line(exc.code, exc.message)
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise _NextHost(hop.host, "connection", f"{where}: {_text(exc)}") from None

    async def _login(self, smtp: aiosmtplib.SMTP, hop: Hop, where: str, tls: str | None) -> None:
        assert hop.auth is not None
        if tls is None:
            raise _NextHost(
                hop.host, "tls_required", f"{where} offers no TLS; the password is not sent"
            )
        try:
            await smtp.login(hop.auth.username, hop.auth.password)
        except aiosmtplib.SMTPResponseException as exc:
            raise _NextHost(
                hop.host, "auth", f"{where} refused the login", one_line(exc.code, exc.message)
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise _NextHost(hop.host, "auth", f"{where}: {_text(exc)}") from None

    async def _transaction(
        self,
        smtp: aiosmtplib.SMTP,
        host: str,
        mail_from: str,
        recipients: list[str],
        data: bytes,
    ) -> list[RecipientOutcome]:
        done: dict[str, RecipientOutcome] = {}

        def all_(result: Result, code: int, msg: str, who: Sequence[str]) -> None:
            reply = one_line(code, msg)
            for r in who:
                done[r] = RecipientOutcome(r, result, enhanced_status(code, msg), host, reply)

        def ordered() -> list[RecipientOutcome]:
            return [done[r] for r in recipients]

        utf8 = _needs_smtputf8(mail_from, recipients)
        if utf8 and not smtp.supports_extension("smtputf8"):
            return [
                RecipientOutcome(
                    r,
                    "failed",
                    "5.6.7",
                    host,
                    problem="smtputf8",
                    detail=f"{host} does not support SMTPUTF8 (RFC 6531)",
                )
                for r in recipients
            ]
        encoding = "utf-8" if utf8 else "ascii"
        options: list[bytes] = []
        if smtp.supports_extension("size"):
            options.append(f"SIZE={len(data)}".encode())
        if utf8:
            options.append(b"SMTPUTF8")
        if smtp.supports_extension("8bitmime") and not data.isascii():
            options.append(b"BODY=8BITMIME")
        accepted: list[str] = []
        try:
            r = await smtp.execute_command(
                b"MAIL", b"FROM:<" + mail_from.encode(encoding) + b">", *options
            )
            if r.code != 250:
                all_("failed" if r.code >= 500 else "retry", r.code, r.message, recipients)
                return ordered()
            for rcpt in recipients:
                r = await smtp.execute_command(b"RCPT", b"TO:<" + rcpt.encode(encoding) + b">")
                if r.code in (250, 251):
                    accepted.append(rcpt)
                else:
                    all_("failed" if 500 <= r.code < 600 else "retry", r.code, r.message, [rcpt])
            if not accepted:
                return ordered()
            try:
                r = await smtp.data(data)
            except aiosmtplib.SMTPDataError as exc:
                all_("failed" if exc.code >= 500 else "retry", exc.code, exc.message, accepted)
                return ordered()
            all_("delivered", r.code, r.message, accepted)
            return ordered()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            detail = f"{host}: connection lost during the transaction ({_text(exc)})"
            for rcpt in recipients:
                if rcpt not in done:
                    done[rcpt] = RecipientOutcome(
                        rcpt, "retry", "4.4.2", host, problem="connection", detail=detail
                    )
            return ordered()
