"""ASGI middleware for every web response: security headers and the request-body limit.

Pure ASGI (no BaseHTTPMiddleware), so streaming bodies and uploads pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The policy of every page: our own scripts, styles and images only; mail HTML is shown in
# a sandboxed frame served by a route with its own, stricter policy (see webmail.message).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

_DEFAULT_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


class SecurityHeaders:
    """Adds the page CSP, X-Frame-Options and friends unless the response set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                if b"x-frame-options" not in present:
                    headers.append((b"x-frame-options", b"DENY"))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                for k, v in _DEFAULT_HEADERS:
                    if k not in present:
                        headers.append((k, v))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


TooLargeResponder = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with the app's 413 page.

    A declared Content-Length over the limit is refused before the application runs; a
    chunked body is counted as it is read and refused when it passes the limit. Either
    way the rest of the body is read and dropped (up to ``drain_limit``), so that the
    browser, still sending, sees the refusal page rather than a reset connection.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        too_large: TooLargeResponder,
        drain_limit: int = 256 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large
        self.drain_limit = drain_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = None
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = None
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send, already=0, more=True)
            return

        seen = 0
        finished = False
        started = False
        overflowed = False

        async def counting_receive() -> Message:
            nonlocal seen, finished, overflowed
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if seen > self.limit:
                    overflowed = True
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if overflowed and not started:
                return  # whatever the application made of the cut body, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not overflowed or started:
                raise
        if overflowed and not started:
            await self._refuse(scope, receive, send, already=seen, more=not finished)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, *, already: int, more: bool
    ) -> None:
        drained = already
        while more and drained < self.drain_limit:
            message = await receive()
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await self.too_large(scope, nothing, send)
