"""The public directory's pages and the person's directory settings, as one router."""

from __future__ import annotations

from govmail.web.directory_public import pages, settings
from govmail.web.routing import WebRouter

router = WebRouter()
router.routes.extend(settings.router.routes)
router.routes.extend(pages.router.routes)
