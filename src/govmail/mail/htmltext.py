"""HTML to plain text for the search index (not for display).

Regular expressions whose every branch always matches once started, so the work stays
linear even on hostile input (unterminated comments, thousands of ``<`` without ``>``).
Script and style contents are dropped, block-level tags become spaces or line breaks,
inline tags vanish (so ``Cô<b>ng</b>`` stays one word), entities are decoded.
"""

from __future__ import annotations

import html
import re

__all__ = ["html_to_text"]

_MARKUP = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|title)\b.*?(?:</\1\s*>|\Z)"
    r"|<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<[!?].*?(?:>|\Z)"
    r"|</?([A-Za-z][A-Za-z0-9:-]*)[^>]*(?:>|\Z)",
    re.S | re.I,
)
_INLINE = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "dfn", "em", "font",
        "i", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
        "sup", "time", "tt", "u", "var", "wbr", "o:p",
    }
)  # fmt: skip
_BREAKS = frozenset(
    {
        "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
        "blockquote", "pre", "hr", "dt", "dd",
    }
)  # fmt: skip
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def _replace(m: re.Match[str]) -> str:
    tag = m.group(2)
    if tag is None:
        return "" if m.group().startswith("<!--") else " "
    tag = tag.lower()
    if tag in _INLINE:
        return ""
    if tag in _BREAKS:
        return "\n"
    return " "


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document, whitespace tidied, one paragraph per line."""
    text = _MARKUP.sub(_replace, markup)
    text = html.unescape(text)
    text = _BLANKS.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()
