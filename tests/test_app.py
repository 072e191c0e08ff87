"""The composition root starts its listeners on loopback and reports health."""

from __future__ import annotations

import httpx

from govmail.app import App
from govmail.config import Settings


async def test_app_starts_serves_health_and_stops(settings: Settings) -> None:
    for attr in (
        "http_port",
        "smtp_port",
        "submission_port",
        "submissions_port",
        "imap_port",
        "imaps_port",
        "pop3_port",
        "pop3s_port",
    ):
        setattr(settings.listeners, attr, 0)
    app = App(settings)
    await app.start()
    try:
        port = app.service("http").port  # type: ignore[attr-defined]
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "ok" and set(body["checks"].values()) == {"ok"}
        assert {"store", "http", "smtp", "submission", "submissions"} <= set(body["checks"])
        assert (settings.tls_dir / "selfsigned.crt").exists()
        assert (settings.tls_dir / "selfsigned.key").stat().st_mode & 0o077 == 0
    finally:
        await app.stop()
