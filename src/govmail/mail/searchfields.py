"""Folded header text stored beside each message for diacritic-insensitive search."""

from __future__ import annotations

from typing import Any

from govmail.mail.headers import decode_header_value
from govmail.mail.textfold import fold

_LIMIT = 4000


def _addresses(envelope_list: Any) -> str:
    out: list[str] = []
    for a in envelope_list or ():
        name, _adl, mailbox, host = a
        if mailbox is None or host is None:
            continue
        out.append(f"{decode_header_value(name) if name else ''} {mailbox}@{host}".strip())
    return " ".join(out)


def header_folds(meta: dict[str, Any]) -> dict[str, str]:
    """subject_fold, from_fold, to_fold, cc_fold from the stored metadata dict."""
    env = meta.get("envelope") or [None] * 10
    return {
        "subject_fold": fold(meta.get("subject") or "")[:1000],
        "from_fold": fold(_addresses(env[2]))[:1000],
        "to_fold": fold(_addresses(env[5]))[:_LIMIT],
        "cc_fold": fold(_addresses(env[6]))[:_LIMIT],
    }
