"""Human-readable text of IMAP responses, from the message catalogues (keys ``imap.*``).

IMAP4rev1 allows only 7-bit text in responses; a client that enabled ``UTF8=ACCEPT``
(or IMAP4rev2) takes UTF-8. So the Vietnamese / English text (:func:`govmail.i18n.both`)
is sent as is to the latter and with its diacritics taken off ("Sai mat khau") to the
former, which Vietnamese readers still read easily.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from govmail.i18n import both

_MARKS = re.compile("[\u0300-\u036f]")


def ascii_text(text: str) -> str:
    """Vietnamese without diacritics, in ASCII (case kept; đ -> d, Đ -> D)."""
    if text.isascii():
        return text
    out = _MARKS.sub("", unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D")))
    return out.encode("ascii", "replace").decode("ascii")


def say(key: str, utf8: bool = False, /, **params: Any) -> str:
    """The catalogue text for ``key`` (Vietnamese / English), fit for the client."""
    text = both(key, **params)
    return text if utf8 else ascii_text(text)
