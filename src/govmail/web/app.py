"""The ASGI application: health checks now; webmail, admin, directory and API later."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from govmail.app import App


def create_app(app: App) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with app.store.read() as tx:
                await tx.session.execute(text("SELECT 1"))
            checks["store"] = "ok"
        except Exception as exc:  # any store failure makes the instance unhealthy
            checks["store"] = f"error: {type(exc).__name__}"
        for svc in app.services:
            checks[svc.name] = "ok" if svc.healthy() else "down"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "fail", "checks": checks},
            status_code=200 if healthy else 503,
        )

    return Starlette(routes=[Route("/healthz", healthz)])
