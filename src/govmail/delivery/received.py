"""The ``Received`` trace field (RFC 5321 §4.4, with RFC 3848 protocol types)."""

from __future__ import annotations

import re
from email.utils import format_datetime

from govmail.delivery.envelope import Envelope

_UNSAFE = re.compile(r"[^\x21-\x7e]")
_WITH = {"web": "HTTPS", "api": "HTTPS", "documents": "HTTPS", "system": "LOCAL"}


def received_field(env: Envelope, hostname: str, queue_id: str) -> tuple[str, str]:
    """Postfix-style layout: from, TLS details, by … with … id, for; date."""
    if env.source in _WITH:
        proto = _WITH[env.source]
    else:
        proto = "ESMTP" + ("S" if env.tls else "") + ("A" if env.auth_user else "")
    parts = []
    if env.source != "system":
        helo = _UNSAFE.sub("?", env.helo or "")[:200] or "unknown"
        rdns = _UNSAFE.sub("?", env.client_name or "")[:200] or "unknown"
        ip = env.client_ip or "unknown"
        parts.append(f"from {helo} ({rdns} [{ip}])")
    if env.tls and env.source in ("mx", "submission"):
        version, _, cipher = env.tls.partition(":")
        parts.append(f"(using {version} with cipher {cipher or 'unknown'})")
    parts.append(f"by {hostname} (govmail) with {proto} id {queue_id}")
    if len(env.rcpt_to) == 1:
        parts.append(f"for <{_UNSAFE.sub('?', env.rcpt_to[0])}>")
    return ("Received", "\r\n\t".join(parts) + "; " + format_datetime(env.received_at))
