"""Time-based one-time passwords (RFC 6238 over RFC 4226: HMAC-SHA1, 6 digits, 30 s),
compatible with every authenticator application."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
import urllib.parse

DIGITS = 6
STEP = 30


def new_secret() -> str:
    """A 160-bit secret, base32 without padding (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    s = secret.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def code_at(secret: str, counter: int) -> str:
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def now_code(secret: str, at: float | None = None) -> str:
    return code_at(secret, int((time.time() if at is None else at) // STEP))


def verify(secret: str, code: str, at: float | None = None, window: int = 1) -> bool:
    """True when ``code`` is valid now or ``window`` steps before or after (clock drift)."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return False
    counter = int((time.time() if at is None else at) // STEP)
    return any(
        hmac.compare_digest(code_at(secret, counter + d), code) for d in range(-window, window + 1)
    )


def provisioning_uri(secret: str, account: str, issuer: str = "govmail") -> str:
    label = urllib.parse.quote(f"{issuer}:{account}")
    query = urllib.parse.urlencode({"secret": secret, "issuer": issuer})
    return f"otpauth://totp/{label}?{query}"
