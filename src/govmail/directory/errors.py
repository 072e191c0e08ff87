"""Directory errors: a message id from the catalogues plus its parameters."""

from __future__ import annotations

from typing import Any

from govmail.i18n import t


class DirectoryError(Exception):
    """A refused directory change; ``str()`` is the translated, specific reason."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def message(self, lang: str | None = None) -> str:
        return t(f"directory.{self.key}", lang, **self.params)

    def __str__(self) -> str:
        return self.message()
