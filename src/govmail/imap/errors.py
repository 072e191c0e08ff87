"""How a command handler says no."""

from __future__ import annotations

from typing import Literal

from govmail.imap.protocol.codes import ResponseCode


class Refusal(Exception):
    """Ends a command with a tagged ``NO`` (or ``BAD``); the session goes on."""

    def __init__(
        self,
        text: str,
        code: ResponseCode | None = None,
        status: Literal["NO", "BAD"] = "NO",
    ) -> None:
        super().__init__(text)
        self.text = text
        self.code = code
        self.status: Literal["NO", "BAD"] = status


class CloseSession(Exception):
    """Ends the session after sending ``* BYE text``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
