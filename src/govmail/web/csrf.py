"""CSRF tokens: an HMAC of what binds the visitor (their session, or before login a
random nonce kept in an HttpOnly cookie) under the installation's web key.

Nothing is stored: the token is recomputed and compared in constant time. A token from
another session, or from before a login, does not verify.
"""

from __future__ import annotations

import hashlib
import hmac

FIELD = "_csrf"
HEADER = "x-csrf-token"


def make_token(key: bytes, binding: str) -> str:
    return hmac.new(key, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()[:48]


def check_token(key: bytes, binding: str, token: str | None) -> bool:
    if not token or not binding:
        return False
    return hmac.compare_digest(make_token(key, binding), token)
