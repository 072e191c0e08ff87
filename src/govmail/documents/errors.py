"""Errors of the documents layer, translatable: a catalogue key and its parameters."""

from __future__ import annotations

from typing import Any

from govmail.i18n import both, t


class DocumentError(Exception):
    """A document operation that cannot be done; ``text(lang)`` says why."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(both(key, **params))

    def text(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.params)


class DocumentRefused(DocumentError):
    """The delivery pipeline refused the document (policy): nothing was sent.
    ``reason`` is the pipeline's bilingual reason, shown as it is."""

    def __init__(self, reason: str, check: str = "") -> None:
        super().__init__("documents.error.refused", reason=reason)
        self.reason = reason
        self.check = check
