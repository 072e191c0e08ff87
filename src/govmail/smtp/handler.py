"""The SMTP door: translates SMTP commands into pipeline calls and pipeline answers into
SMTP replies. It checks nothing the pipeline checks; it only adds what belongs to the
protocol (TLS before passwords, rate limits per connection address and per user)."""

from __future__ import annotations

import inspect
import ipaddress
import logging
import unicodedata
from base64 import b64decode
from dataclasses import dataclass
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused, Pipeline
from govmail.directory.login_guard import LoginGuard
from govmail.directory.service import Directory
from govmail.i18n import both
from govmail.mail.lineends import normalize_crlf
from govmail.ratelimit import WindowLimiter
from govmail.smtp.protocol import protocol_names

log = logging.getLogger("govmail.smtp")
Mode = Literal["mx", "submission", "submissions"]


def is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _clean(text: str) -> str:
    """One reply line: no CR/LF, ASCII (SMTP replies are ASCII). Vietnamese loses its
    diacritics rather than turning into question marks: "Không có" -> "Khong co"."""
    text = " ".join(text.split()).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return text.encode("ascii", "replace").decode()


def reply(code: int, enhanced: str, text: str) -> str:
    return f"{code} {enhanced} {_clean(text)}"


@dataclass
class SmtpLimits:
    messages_per_ip: WindowLimiter
    sends_per_user: WindowLimiter


class SmtpHandler:
    def __dir__(self) -> list[str]:
        return protocol_names(type(self))

    def __init__(
        self,
        mode: Mode,
        settings: Settings,
        pipeline: Pipeline,
        directory: Directory,
        guard: LoginGuard,
        limits: SmtpLimits,
    ) -> None:
        self.mode = mode
        self.settings = settings
        self.pipeline = pipeline
        self.directory = directory
        self.guard = guard
        self.limits = limits

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _ip(session: Session) -> str | None:
        peer = session.peer
        return peer[0] if isinstance(peer, tuple) and peer else None

    def _password_allowed(self, server: SMTP, session: Session) -> bool:
        if server._tls_protocol is not None or self.mode == "submissions":
            return True
        return bool(
            self.settings.listeners.allow_plaintext_auth_on_loopback
            and is_loopback(self._ip(session))
        )

    def _auth_user(self, session: Session) -> str | None:
        return session.auth_data if session.authenticated else None

    @staticmethod
    def _tls_desc(server: SMTP) -> str | None:
        transport = server.transport
        if transport is None:
            return None
        obj = transport.get_extra_info("ssl_object")
        if obj is None:
            return None
        cipher = obj.cipher()
        return f"{obj.version()}:{cipher[0] if cipher else '?'}"

    # -- hooks --------------------------------------------------------------------------
    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: SmtpEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        out = [r for r in responses if not r.startswith("250-AUTH")]
        if self.mode != "mx" and self._password_allowed(server, session):
            out.insert(-1, "250-AUTH LOGIN PLAIN")
        out.insert(-1, "250-PIPELINING")
        out.insert(-1, "250-ENHANCEDSTATUSCODES")
        return out

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: SmtpEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        ip = self._ip(session) or "unknown"
        if self.mode == "mx" and not self.limits.messages_per_ip.allow(ip):
            return reply(450, "4.7.1", both("smtp.rate_ip"))
        user = self._auth_user(session)
        if self.mode != "mx":
            if user is None:
                return reply(530, "5.7.0", both("smtp.auth_required"))
            if not self.limits.sends_per_user.allow(user):
                return reply(451, "4.7.1", both("smtp.rate_user"))
            if address:
                async with self.directory.reader() as ops:
                    person = await ops.repo.mailbox_by_address(user)
                    allowed = person is not None and await ops.may_send_as(person, address)
                if not allowed:
                    return reply(
                        553, "5.7.1", both("policy.identity.not_yours", address=address, user=user)
                    )
        for opt in mail_options:
            if opt.upper().startswith("SIZE="):
                try:
                    size = int(opt[5:])
                except ValueError:
                    return reply(501, "5.5.4", "Bad SIZE parameter")
                if size > self.settings.limits.max_message_size:
                    return reply(
                        552,
                        "5.3.4",
                        both(
                            "delivery.too_big",
                            size=size,
                            limit=self.settings.limits.max_message_size,
                        ),
                    )
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.settings.limits.max_recipients:
            return reply(452, "4.5.3", both("smtp.too_many_recipients"))
        status = await self.pipeline.check_recipient(
            self._envelope(server, session, envelope), address
        )
        if not status.ok:
            return reply(status.code, status.enhanced, status.reason)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    def _envelope(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> Envelope:
        return Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_to=list(envelope.rcpt_tos),
            source="mx" if self.mode == "mx" else "submission",
            client_ip=self._ip(session),
            helo=session.host_name,
            auth_user=self._auth_user(session) if self.mode != "mx" else None,
            tls=self._tls_desc(server),
            smtputf8="SMTPUTF8" in (o.upper() for o in envelope.mail_options),
            recipients_checked=True,
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content
        if not isinstance(raw, bytes | bytearray):
            return reply(451, "4.3.0", "internal error: no content")
        env = self._envelope(server, session, envelope)
        try:
            result = await self.pipeline.deliver(env, normalize_crlf(bytes(raw)))
        except DeliveryRefused as exc:
            return reply(exc.code, exc.enhanced, exc.reason)
        if not result.accepted:
            first = result.refused[0]
            return reply(first.code, first.enhanced, first.reason)
        return f"250 2.0.0 OK queued as {result.queue_id}"

    # -- authentication (submission only) --------------------------------------------------
    async def _login(self, server: SMTP, login: bytes, password: bytes) -> AuthResult:
        session = server.session
        assert session is not None
        try:
            account, secret = login.decode("utf-8"), password.decode("utf-8")
        except UnicodeDecodeError:
            return AuthResult(success=False, handled=False)
        outcome = await self.guard.login(self.directory, account, secret, self._ip(session), "smtp")
        if outcome.locked:
            await server.push(reply(454, "4.7.0", both("auth.locked")))
            return AuthResult(success=False, handled=True)
        if outcome.mailbox is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=outcome.mailbox.address)

    async def _refuse_plaintext(self, server: SMTP) -> AuthResult | None:
        session = server.session
        assert session is not None
        if self.mode == "mx":
            await server.push(reply(502, "5.5.1", "AUTH not available on this port"))
            return AuthResult(success=False, handled=True)
        if not self._password_allowed(server, session):
            await server.push(reply(538, "5.7.11", both("auth.tls_required")))
            return AuthResult(success=False, handled=True)
        return None

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        refused = await self._refuse_plaintext(server)
        if refused:
            return refused
        if len(args) == 1:
            data: Any = await server.challenge_auth("")
            if not isinstance(data, bytes):
                return AuthResult(success=False, handled=False)
        else:
            try:
                data = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push(reply(501, "5.5.2", "Cannot decode base64"))
                return AuthResult(success=False, handled=True)
        parts = data.split(b"\x00")
        if len(parts) != 3:
            await server.push(reply(501, "5.5.2", "Cannot split PLAIN response"))
            return AuthResult(success=False, handled=True)
        _authz, login, password = parts
        return await self._login(server, login, password)

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        refused = await self._refuse_plaintext(server)
        if refused:
            return refused
        if len(args) == 1:
            login: Any = await server.challenge_auth(server.AuthLoginUsernameChallenge)
        else:
            try:
                login = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push(reply(501, "5.5.2", "Cannot decode base64"))
                return AuthResult(success=False, handled=True)
        if not isinstance(login, bytes):
            return AuthResult(success=False, handled=False)
        password: Any = await server.challenge_auth(server.AuthLoginPasswordChallenge)
        if not isinstance(password, bytes):
            return AuthResult(success=False, handled=False)
        return await self._login(server, login, password)


# aiosmtpd reads handle_EHLO's signature in every new connection (to support an older
# hook form); inspect.signature returns a function's __signature__ without computing it.
SmtpHandler.handle_EHLO.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    SmtpHandler.handle_EHLO
)
