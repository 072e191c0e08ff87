"""Every console page, as one router for ``web.app.ROUTE_MODULES``."""

from __future__ import annotations

from govmail.web.admin import (
    agencies,
    audit,
    backups,
    dashboard,
    domains,
    groups,
    hr,
    mailboxes,
    queue,
    quotas,
    tokens,
)
from govmail.web.routing import WebRouter

router = WebRouter()
for _module in (
    dashboard, domains, agencies, mailboxes, groups, quotas, hr, queue, audit, tokens, backups
):
    router.routes.extend(_module.router.routes)
