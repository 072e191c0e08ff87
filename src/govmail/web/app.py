"""The one ASGI application of the web doors: health check, webmail (and, built on the
same foundation, the administration console, the public directory and the REST API).

Layers of every request, outermost first:
  SecurityHeaders  CSP, X-Frame-Options, nosniff, no-referrer, no-store (unless set)
  GZipMiddleware   compressed responses for browsers that accept them
  BodyLimit        413 page for bodies over ``limits.max_message_size`` (+ form overhead)
  routes           ``WebRouter`` routes: session, language, CSRF, auth, roles (routing.py)
See docs/web.md for how to add pages.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from govmail.ops.health import check_health
from govmail.ops.metrics import metrics_routes
from govmail.web.keys import load_or_create_key
from govmail.web.rendering import Renderer, StaticFile, load_static
from govmail.web.routing import WebRequest, WebRouter, WebState
from govmail.web.security import BodyLimit, Scope, SecurityHeaders
from govmail.web.sessions import Loaded, SessionManager

if TYPE_CHECKING:
    from govmail.app import App

log = logging.getLogger("govmail.web")

# Route modules mounted in this order; each defines ``router = WebRouter()``.
ROUTE_MODULES = (
    "govmail.web.auth",
    "govmail.web.webmail.folders",
    "govmail.web.webmail.message",
    "govmail.web.webmail.compose",
    "govmail.web.webmail.search",
    "govmail.web.webmail.settings",
    "govmail.web.admin.routes",
    "govmail.web.directory_public.routes",
    "govmail.web.reports",  # before the API: its /api/{rest} fallback answers 404
    "govmail.web.documents.api",  # before the API: its /api/{rest} fallback answers 404
    "govmail.web.api.routes",
    "govmail.web.schedule",
    "govmail.web.documents.routes",
)
# Multipart framing and the text fields around the attachments.
FORM_OVERHEAD = 1024 * 1024


def static_routes(static: dict[str, StaticFile]) -> list[BaseRoute]:
    async def serve(request: Request) -> Response:
        asset = static.get(request.path_params["name"])
        if asset is None:
            return Response("not found", status_code=404, media_type="text/plain")
        headers = {
            "cache-control": "public, max-age=31536000, immutable",
            "vary": "Accept-Encoding",
        }
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["content-encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.content_type, headers=headers)
        return Response(asset.body, media_type=asset.content_type, headers=headers)

    return [Route("/static/{digest}/{name}", serve)]


def error_page(state: WebState, scope: Scope, status: int, key: str) -> Response:
    """An error page for requests that never reached a route (404, 413, 500)."""

    async def no_body() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    w = WebRequest(Request(scope, no_body), state, Loaded(None, None))
    return w.error(status, key)


def create_app(app: App) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        checks = await check_health(app)
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "fail", "checks": checks},
            status_code=200 if healthy else 503,
        )

    static = load_static()
    state = WebState(
        core=app,
        renderer=Renderer(app.settings.general.timezone, static),
        sessions=SessionManager(app.store),
        key=load_or_create_key(app.settings.data_dir / "web.key"),
    )

    routes: list[BaseRoute] = [Route("/healthz", healthz), *static_routes(static)]
    for module_name in ROUTE_MODULES:
        router: WebRouter = importlib.import_module(module_name).router
        routes.extend(router.routes)
    routes.extend(_optional_routes(app))
    routes.extend(metrics_routes(app))

    async def too_large(scope: Scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        response = error_page(state, scope, 413, "web.error.too_large")
        if scope["path"].startswith("/api/"):  # the REST API answers in problem+json
            from govmail.web.api.problems import too_large_problem

            response = too_large_problem(scope)
        await response(scope, receive, send)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        key = {400: "web.error.bad_form", 404: "web.error.not_found", 405: "web.error.method"}.get(
            status, "web.error.server"
        )
        return error_page(state, request.scope, status, key)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web request failed", exc_info=exc)
        return error_page(state, request.scope, 500, "web.error.server")

    limit = app.settings.limits.max_message_size + FORM_OVERHEAD
    starlette_app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                GZipMiddleware,
                minimum_size=512,
                compresslevel=6,
                exclude_content_types=(
                    *DEFAULT_EXCLUDED_CONTENT_TYPES,
                    "application/pdf",
                    "application/octet-stream",
                    "message/rfc822",
                ),
            ),
            Middleware(BodyLimit, limit=limit, too_large=too_large),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    starlette_app.state.web = state
    return starlette_app


def _optional_routes(app: App) -> list[BaseRoute]:
    """Routes of doors written apart from this module (mail client autoconfiguration)."""
    try:
        module = importlib.import_module("govmail.web.autoconfig")
    except ModuleNotFoundError as exc:
        if exc.name != "govmail.web.autoconfig":
            raise
        return []
    return list(module.autoconfig_routes(app))
