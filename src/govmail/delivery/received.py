"""The ``Received`` trace field (RFC 5321 §4.4, with RFC 3848 protocol types)."""

from __future__ import annotations

import re
from email.utils import format_datetime

from govmail.delivery.envelope import Envelope

_UNSAFE = re.compile(r"[^\x21-\x7e]")
_WITH = {"web": "HTTPS", "api": "HTTPS", "documents": "HTTPS", "system": "LOCAL"}


def received_field(env: Envelope, hostname: str, queue_id: str) -> tuple[str, str]:
    if env.source in _WITH:
        proto = _WITH[env.source]
    else:
        proto = "ESMTP" + ("S" if env.tls else "") + ("A" if env.auth_user else "")
    parts = []
    if env.source not in ("system",):
        helo = _UNSAFE.sub("?", env.helo or "")[:200] or "unknown"
        rdns = _UNSAFE.sub("?", env.client_name or "")[:200] or "unknown"
        ip = env.client_ip or "unknown"
        parts.append(f"from {helo} ({rdns} [{ip}])")
    parts.append(f"by {hostname} (govmail) with {proto} id {queue_id}")
    if len(env.rcpt_to) == 1:
        parts.append(f"for <{env.rcpt_to[0]}>")
    value = "\r\n\t".join(parts) + "; " + format_datetime(env.received_at)
    if env.tls and env.source in ("mx", "submission"):
        value = value.replace(f" with {proto}", f" (using {env.tls})\r\n\twith {proto}", 1)
    return ("Received", value)
