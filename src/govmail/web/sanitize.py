"""Mail HTML made safe to show: nh3 (ammonia) with an allow-list of tags, attributes and
style properties, plus our own rules for what nh3 leaves to us.

- Scripts, styles sheets, forms, frames, objects, SVG and MathML are removed (the text
  inside ``<script>``/``<style>`` with them); event handlers and unknown attributes too.
- Links keep only http, https, mailto and tel targets and open in a new tab without a
  referrer or an opener.
- ``style`` attributes keep a list of harmless properties, and a declaration is dropped if
  its value could fetch or run anything (``url(``, ``expression(``, ``@import``, escapes).
- Images: ``cid:`` references become data: URLs of the message's own parts (no request
  leaves the page); data: images stay; remote images are removed and counted unless the
  reader asked to see them (tracking pixels otherwise tell the sender when mail is read).

The result is also shown inside a sandboxed frame whose response forbids every script
(see the webmail's message body route): a sanitiser miss still cannot run code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3

TAGS = {
    "a", "abbr", "address", "b", "bdi", "bdo", "blockquote", "br", "caption", "center",
    "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt",
    "em", "figcaption", "figure", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "var",
}  # fmt: skip
_COMMON = {"style", "title", "dir", "lang", "align"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _COMMON,
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border", "hspace", "vspace"},
    "font": {"color", "face", "size"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "summary"},
    "td": {"width", "height", "colspan", "rowspan", "valign", "bgcolor", "nowrap"},
    "th": {"width", "height", "colspan", "rowspan", "valign", "bgcolor", "scope"},
    "tr": {"valign", "bgcolor"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"datetime"},
    "ins": {"datetime"},
}
STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style",
    "font-weight", "font-variant", "text-align", "text-decoration", "text-indent",
    "text-transform", "line-height", "letter-spacing", "word-spacing", "white-space",
    "vertical-align", "direction", "margin", "margin-top", "margin-right", "margin-bottom",
    "margin-left", "padding", "padding-top", "padding-right", "padding-bottom",
    "padding-left", "border", "border-top", "border-right", "border-bottom", "border-left",
    "border-color", "border-style", "border-width", "border-collapse", "border-spacing",
    "border-radius", "width", "height", "max-width", "min-width", "max-height",
    "min-height", "list-style-type", "table-layout", "display",
}  # fmt: skip
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
REMOVE_WITH_CONTENT = {
    "script", "style", "title", "head", "template", "noscript", "svg", "math", "iframe",
    "object", "embed", "textarea", "select", "xmp",
}  # fmt: skip

_DANGEROUS_VALUE = re.compile(
    r"url\s*\(|expression|javascript:|vbscript:|@import|behavior|binding|\\|/\*|&#|<", re.I
)
_DISPLAY_VALUES = {"block", "inline", "inline-block", "none", "table", "table-cell", "table-row"}
_DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpe?g|webp|bmp);base64,[a-z0-9+/=\s]+$", re.I)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(slots=True)
class Sanitized:
    html: str
    blocked_images: int


def clean_style(value: str) -> str | None:
    kept: list[str] = []
    for decl in value.split(";"):
        name, sep, val = decl.partition(":")
        name = name.strip().lower()
        val = val.strip()
        if not sep or name not in STYLE_PROPERTIES or not val:
            continue
        if _DANGEROUS_VALUE.search(val) or len(val) > 200:
            continue
        if name == "display" and val.lower() not in _DISPLAY_VALUES:
            continue
        kept.append(f"{name}:{val}")
    return ";".join(kept) or None


def sanitize_html(
    html: str,
    *,
    cid_resolver: Callable[[str], str | None] = lambda cid: None,
    allow_remote_images: bool = False,
) -> Sanitized:
    """Clean ``html`` (a whole document or a fragment) for display.

    ``cid_resolver`` maps a Content-ID (without ``cid:`` and angle brackets) to a data:
    URL of that inline part, or None.
    """
    blocked = 0

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        nonlocal blocked
        if attr == "style":
            return clean_style(value)
        if tag == "img" and attr == "src":
            src = _CONTROL.sub("", value)
            lower = src.lower()
            if lower.startswith("cid:"):
                return cid_resolver(src[4:].strip("<>"))
            if lower.startswith("data:"):
                return src if _DATA_IMAGE.match(src) else None
            if lower.startswith(("http://", "https://")):
                if allow_remote_images:
                    return src
                blocked += 1
                return None
            return None
        if attr in ("href", "cite"):
            target = _CONTROL.sub("", value)
            lower = target.lower()
            if lower.startswith(("http://", "https://", "mailto:", "tel:")):
                return target
            if attr == "href" and lower.startswith("#"):
                return None
            return None
        return value

    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=REMOVE_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
        filter_style_properties=STYLE_PROPERTIES,
        url_relative="deny",
    )
    return Sanitized(cleaned, blocked)


_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.I)


def plain_to_html(text: str) -> str:
    """Plain text as HTML: escaped, web links clickable, quoted lines marked."""
    from markupsafe import escape

    out: list[str] = []
    for line in text.split("\n"):
        depth = 0
        stripped = line
        while stripped.startswith(">"):
            depth += 1
            stripped = stripped[1:].lstrip(" ") if stripped[1:2] == " " else stripped[1:]
        pieces: list[str] = []
        last = 0
        for m in _URL.finditer(line):
            pieces.append(str(escape(line[last : m.start()])))
            url = m.group(0)
            pieces.append(
                f'<a href="{escape(url)}" target="_blank" '
                f'rel="noopener noreferrer nofollow">{escape(url)}</a>'
            )
            last = m.end()
        pieces.append(str(escape(line[last:])))
        rendered = "".join(pieces)
        out.append(f'<span class="q{min(depth, 3)}">{rendered}</span>' if depth else rendered)
    return "\n".join(out)
