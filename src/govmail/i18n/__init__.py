"""Message catalogues: every user-facing sentence, Vietnamese first, English second.

Catalogues are JSON files beside this module (``vi.json``, ``en.json``), keyed by a
dotted message id; values are ``str.format`` templates. A test checks that both
catalogues hold the same keys and the same placeholders.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("vi", "en")
_default = {"lang": "vi"}


@cache
def catalogue(lang: str) -> dict[str, str]:
    path = Path(__file__).with_name(f"{lang}.json")
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return {k: unicodedata.normalize("NFC", v) for k, v in data.items()}


def set_default_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    _default["lang"] = lang


def default_language() -> str:
    return _default["lang"]


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """Translate ``key`` into ``lang`` (default: the installation's language)."""
    lang = lang or _default["lang"]
    template = catalogue(lang).get(key) or catalogue("en").get(key)
    if template is None:
        raise KeyError(f"message id {key!r} is in no catalogue")
    return template.format(**params)


def both(key: str, /, **params: Any) -> str:
    """Vietnamese then English, for replies that reach people of either language."""
    vi, en = t(key, "vi", **params), t(key, "en", **params)
    return vi if vi == en else f"{vi} / {en}"
