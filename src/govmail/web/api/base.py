"""The API's request handling: bearer-token authentication (never a browser session),
scopes, the token's agency subtree, JSON in and out, and every error as problem+json.

A request without ``Authorization: Bearer`` gets 401, or 403 if it carries a browser
session cookie (the API is not reachable with ambient browser credentials, so it needs
no CSRF protection). Failed token attempts count against the client address in the
shared LoginGuard; past its limit the address gets 429 until the window passes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from govmail.directory.base import Actor
from govmail.directory.errors import DirectoryError
from govmail.store.models_api import ApiToken
from govmail.web.admin.common import error_status
from govmail.web.admin.scope import OutOfScope, Scope, scope_of_agency
from govmail.web.api.problems import (
    ApiProblem,
    from_exception,
    negotiate_language,
    problem_response,
)
from govmail.web.api.tokens import check_secret
from govmail.web.routing import WebState
from govmail.web.sessions import COOKIE, SECURE_COOKIE

log = logging.getLogger("govmail.api")
PREFIX = "/api/v1"
MAX_JSON = 64 * 1024 * 1024  # below the body limit; a send request carries base64 files
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

ApiHandler = Callable[["ApiRequest"], Awaitable[Response]]


class ApiRequest:
    def __init__(self, request: Request, state: WebState, lang: str) -> None:
        self.request = request
        self.state = state
        self.core = state.core
        self.lang = lang
        self.params: dict[str, Any] = dict(request.path_params)
        self.token: ApiToken | None = None
        self.scope: Scope = Scope(False)

    @property
    def client_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    def actor(self) -> Actor:
        name = self.token.actor_name if self.token else "api"
        return Actor(name, "api", self.client_ip)

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def query_int(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiProblem(400, "bad_parameter", name=name) from None
        if not lo <= value <= hi:
            raise ApiProblem(400, "bad_parameter", name=name)
        return value

    async def json(self) -> dict[str, Any]:
        ctype = self.request.headers.get("content-type", "")
        if ctype.split(";")[0].strip().lower() not in ("application/json", ""):
            raise ApiProblem(415, "json_expected")
        body = await self.request.body()
        if len(body) > MAX_JSON:
            raise ApiProblem(413, "too_large")
        try:
            data = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiProblem(400, "bad_json") from None
        if not isinstance(data, dict):
            raise ApiProblem(400, "bad_json")
        return data


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def _audit_refusal(a: ApiRequest, exc: OutOfScope) -> None:
    async with a.core.store.write() as tx:
        await tx.audit.record(
            actor=a.actor().name,
            source="api",
            remote_addr=a.client_ip,
            action="admin.refused",
            object_type=exc.object_type,
            object_id=exc.object_id[:320],
            after={"attempt": exc.action, "method": a.request.method, "path": a.request.url.path},
        )


async def dispatch(request: Request, handler: ApiHandler, needs: str | None) -> Response:
    state: WebState = request.app.state.web
    a = ApiRequest(request, state, negotiate_language(request.headers.get("accept-language")))
    try:
        if needs is not None:
            await _authenticate(a, needs)
        return await handler(a)
    except ApiProblem as exc:
        return from_exception(exc, a.lang)
    except OutOfScope as exc:
        await _audit_refusal(a, exc)
        return problem_response(403, "out_of_scope", a.lang)
    except DirectoryError as exc:
        return problem_response(
            error_status(exc), "directory." + exc.key, a.lang, detail=exc.message(a.lang)
        )
    except Exception:  # an API client gets problem+json even then
        log.exception("api request failed", extra={"path": request.url.path})
        return problem_response(500, "server", a.lang)


async def _authenticate(a: ApiRequest, needs: str) -> None:
    request = a.request
    secret = _bearer(request)
    if secret is None:
        if request.cookies.get(COOKIE) or request.cookies.get(SECURE_COOKIE):
            raise ApiProblem(403, "session_not_accepted")
        raise ApiProblem(
            401, "token_missing", headers={"www-authenticate": 'Bearer realm="govmail"'}
        )
    guard = a.core.guard
    ip = a.client_ip or "-"
    if guard.by_address.count(ip) >= guard.by_address.limit:
        raise ApiProblem(429, "too_many_failures", headers={"retry-after": str(int(guard.window))})
    verdict = await check_secret(a.core.store, secret, a.client_ip)
    if verdict.token is None:
        guard.by_address.allow(ip)
        raise ApiProblem(
            401,
            f"token_{verdict.reason}",
            headers={"www-authenticate": 'Bearer realm="govmail", error="invalid_token"'},
        )
    a.token = verdict.token
    if needs not in a.token.scopes:
        raise ApiProblem(
            403,
            "insufficient_scope",
            scope=needs,
            headers={
                "www-authenticate": (
                    f'Bearer realm="govmail", error="insufficient_scope", scope="{needs}"'
                )
            },
        )
    async with a.core.store.read() as tx:
        a.scope = await scope_of_agency(tx, a.token.agency_id)


class ApiRouter:
    """Routes under /api/v1; ``create_app`` mounts ``routes`` like a WebRouter's."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, path: str, methods: Sequence[str], *, needs: str | None
    ) -> Callable[[ApiHandler], ApiHandler]:
        """``needs``: the scope a token must carry; None for public documents."""

        def decorator(handler: ApiHandler) -> ApiHandler:
            async def endpoint(request: Request) -> Response:
                return await dispatch(request, handler, needs)

            self.routes.append(Route(PREFIX + path, endpoint, methods=list(methods)))
            return handler

        return decorator

    def get(self, path: str, *, needs: str | None) -> Callable[[ApiHandler], ApiHandler]:
        return self.route(path, ("GET",), needs=needs)

    def post(self, path: str, *, needs: str | None) -> Callable[[ApiHandler], ApiHandler]:
        return self.route(path, ("POST",), needs=needs)

    def patch(self, path: str, *, needs: str | None) -> Callable[[ApiHandler], ApiHandler]:
        return self.route(path, ("PATCH",), needs=needs)

    def delete(self, path: str, *, needs: str | None) -> Callable[[ApiHandler], ApiHandler]:
        return self.route(path, ("DELETE",), needs=needs)
