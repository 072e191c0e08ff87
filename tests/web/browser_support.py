"""What the real-browser tests share: Debian's chromium driven by Playwright, headless,
the two screen sizes measured, and where screenshots go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


async def launch_chromium() -> AsyncIterator[Any]:
    """Body of each browser test module's ``browser`` fixture."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/install-test-deps installs it)")
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()
