"""DKIM signing of outgoing mail with each domain's key, as the pipeline's signer."""

from __future__ import annotations

import logging
import time

from govmail.delivery.dkim_sign import DkimSignError, sign_async
from govmail.store.db import Store

log = logging.getLogger("govmail.dkim")


class DomainSigner:
    """Signs with the key stored on the sender's domain (cached for a minute)."""

    def __init__(self, store: Store, cache_seconds: float = 60.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._keys: dict[str, tuple[float, str | None, str | None]] = {}

    async def _key(self, domain: str) -> tuple[str | None, str | None]:
        now = time.monotonic()
        hit = self._keys.get(domain)
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1], hit[2]
        async with self.store.read() as tx:
            d = await tx.directory.domain_by_name(domain)
        selector, key = (d.dkim_selector, d.dkim_private_key) if d else (None, None)
        self._keys[domain] = (now, selector, key)
        return selector, key

    async def __call__(self, raw: bytes, domain: str) -> bytes | None:
        selector, key = await self._key(domain)
        if not selector or not key:
            return None
        try:
            return await sign_async(raw, domain, selector, key)
        except DkimSignError as exc:
            log.error(
                "DKIM signing failed; sending unsigned", extra={"domain": domain, "error": str(exc)}
            )
            return None
