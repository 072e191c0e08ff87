"""Line endings of message data received over SMTP.

RFC 5321 only allows CRLF. Bare LF and bare CR inside DATA are what the 2023 "SMTP
smuggling" attacks hide a second message behind (``<LF>.<CR><LF>``, ``<CR><LF>.<LF>``):
a receiver that treats them as line ends sees the message end early. govmail never ends
DATA on them (only ``<CR><LF>.<CR><LF>`` does), and it normalises them to CRLF before
storing or relaying, so no later hop can be fooled either: a smuggled "." line becomes an
ordinary line that is dot-stuffed again when relayed.
"""

from __future__ import annotations

import re

_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def has_bare_line_ends(data: bytes) -> bool:
    return _BARE.search(data) is not None


def normalize_crlf(data: bytes) -> bytes:
    """Every bare CR and bare LF becomes CRLF; CRLF pairs are kept."""
    pairs = data.count(b"\r\n")
    if data.count(b"\n") == pairs and data.count(b"\r") == pairs:
        return data  # the usual case, found by three scans in C instead of a regex pass
    return _BARE.sub(b"\r\n", data)
