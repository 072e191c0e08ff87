"""Server-side browser sessions.

The cookie carries 32 random bytes; the database keeps only their SHA-256, so a copy of
the database does not let anyone log in. Sessions end after ``IDLE`` without a request,
after ``ABSOLUTE`` in any case, at logout, and when the mailbox is no longer active. A
session waiting for its second factor (TOTP) lives ``PENDING`` at most.

Cookie attributes: HttpOnly, SameSite=Lax, Path=/. Over HTTPS the cookie is also Secure
and takes the ``__Host-`` prefix (no Domain, so no sibling host can set or read it). On
plain HTTP (loopback, a test installation) Secure would keep the browser from sending the
cookie at all, so it is left out there; production runs behind HTTPS.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from govmail.store.db import Store
from govmail.store.models import Mailbox, WebSession, utcnow
from govmail.store.repos.webmail import WebRepo

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
PENDING = timedelta(minutes=5)
TOUCH_EVERY = timedelta(seconds=60)

COOKIE = "gm_session"
SECURE_COOKIE = "__Host-gm_session"
PRE_COOKIE = "gm_pre"  # anonymous CSRF binding (login form, language switch)
SECURE_PRE_COOKIE = "__Host-gm_pre"
LANG_COOKIE = "gm_lang"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    return (
        {COOKIE: SECURE_COOKIE, PRE_COOKIE: SECURE_PRE_COOKIE}[base] if is_https(request) else base
    )


def read_cookie(request: Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(request, base))


def set_cookie(
    response: Response,
    request: Request,
    base: str,
    value: str,
    *,
    max_age: int | None = None,
    samesite: str = "lax",
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=is_https(request),
        samesite=samesite,  # type: ignore[arg-type]
    )


def clear_cookie(response: Response, request: Request, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base), path="/", secure=is_https(request), httponly=True
    )


@dataclass(slots=True)
class Loaded:
    """What a session cookie turned out to be."""

    session: WebSession | None
    mailbox: Mailbox | None
    expired: bool = False  # a cookie was sent but its session is gone or over


class SessionManager:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _repo(self, tx) -> WebRepo:  # type: ignore[no-untyped-def]
        return WebRepo(tx.session, self.store.dialect)

    async def create(
        self,
        mailbox: Mailbox,
        *,
        verified: bool,
        language: str | None,
        remote_addr: str | None,
        user_agent: str | None,
    ) -> tuple[str, WebSession]:
        """A new session (a fresh token: no fixation); returns (cookie token, row)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = WebSession(
            token_hash=token_hash(token),
            mailbox_id=mailbox.id,
            verified=verified,
            language=language,
            created_at=now,
            last_seen_at=now,
            expires_at=now + (IDLE if verified else PENDING),
            remote_addr=remote_addr,
            user_agent=(user_agent or "")[:300] or None,
        )
        async with self.store.write() as tx:
            await self._repo(tx).add(row)
        return token, row

    async def load(self, request: Request) -> Loaded:
        token = read_cookie(request, COOKIE)
        if not token:
            return Loaded(None, None)
        now = utcnow()
        async with self.store.read() as tx:
            found = await self._repo(tx).session_with_mailbox(token_hash(token))
        if found is None:
            return Loaded(None, None, expired=True)
        session, mailbox = found
        if session.expires_at <= now or mailbox.status != "active":
            await self.destroy(session.id)
            return Loaded(None, None, expired=True)
        if session.verified and now - session.last_seen_at >= TOUCH_EVERY:
            expires = min(now + IDLE, session.created_at + ABSOLUTE)
            async with self.store.write() as tx:
                await self._repo(tx).touch_session(session.id, now, expires)
            session.last_seen_at, session.expires_at = now, expires
        return Loaded(session, mailbox)

    async def mark_verified(self, session: WebSession) -> None:
        now = utcnow()
        async with self.store.write() as tx:
            row = await self._repo(tx).session_by_id(session.id)
            if row is not None:
                row.verified = True
                row.last_seen_at = now
                row.expires_at = min(now + IDLE, row.created_at + ABSOLUTE)
        session.verified = True

    async def set_language(self, session: WebSession, language: str) -> None:
        async with self.store.write() as tx:
            row = await self._repo(tx).session_by_id(session.id)
            if row is not None:
                row.language = language
        session.language = language

    async def destroy(self, session_id: int) -> None:
        async with self.store.write() as tx:
            await self._repo(tx).delete_session(session_id)

    async def destroy_all(self, mailbox_id: int, *, keep: int | None = None) -> int:
        async with self.store.write() as tx:
            return await self._repo(tx).delete_sessions_of(mailbox_id, keep=keep)

    async def purge_expired(self, now: datetime | None = None) -> int:
        async with self.store.write() as tx:
            return await self._repo(tx).delete_expired_sessions(now or utcnow())
