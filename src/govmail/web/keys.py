"""The web's signing key: 32 random bytes in ``data_dir/web.key``, made on first start.

It derives CSRF tokens; keeping it in a file (mode 0600) keeps forms valid across restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data[:32]
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return key
