"""Every /api/v1 route as one router for ``web.app.ROUTE_MODULES``, plus the OpenAPI
document and problem+json answers for unknown paths and methods."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from govmail.web.api import directory, mail
from govmail.web.api.base import PREFIX, ApiRouter
from govmail.web.api.openapi import document
from govmail.web.api.problems import negotiate_language, problem_response
from govmail.web.sessions import COOKIE, SECURE_COOKIE

router = ApiRouter()
router.routes.extend(directory.router.routes)
router.routes.extend(mail.router.routes)
_KNOWN = list(router.routes)


async def openapi(_request: Request) -> Response:
    return JSONResponse(document(), headers={"cache-control": "public, max-age=3600"})


async def fallback(request: Request) -> Response:
    """Unknown /api paths: 404, or 405 when the path exists with other methods."""
    lang = negotiate_language(request.headers.get("accept-language"))
    if not request.headers.get("authorization") and (
        request.cookies.get(COOKIE) or request.cookies.get(SECURE_COOKIE)
    ):
        return problem_response(403, "session_not_accepted", lang)
    allowed: set[str] = set()
    for route in _KNOWN:
        match, _child = route.matches(request.scope)
        if match is not Match.NONE:  # the path is known, the method is not
            allowed |= route.methods or set()
    if allowed:
        return problem_response(
            405, "method", lang, headers={"allow": ", ".join(sorted(allowed - {"HEAD"}))}
        )
    return problem_response(404, "not_found", lang)


router.routes.append(Route(PREFIX + "/openapi.json", openapi, methods=["GET"]))
router.routes.append(
    Route(
        "/api/{rest:path}",
        fallback,
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    )
)
