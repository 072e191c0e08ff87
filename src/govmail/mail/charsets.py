"""Charset names found in mail, and decoding bytes to text without ever raising.

Mail declares charsets loosely ("utf8", "x-unknown", "ks_c_5601-1987", or nothing at all
while carrying Vietnamese in UTF-8 or windows-1258).  ``decode_text`` turns bytes into an
NFC string, trying in order: the declared charset (if Python knows it as a *text* codec),
UTF-8, windows-1258, and finally latin-1 (which accepts any byte).  Bytes declared as a
single-byte charset (latin-1, windows-125x...) that are valid UTF-8 are read as UTF-8.
A declared charset that fails is retried with replacement characters only when the bytes
are not valid UTF-8, so a single bad byte in a UTF-8 body does not turn the whole text
into mojibake.
"""

from __future__ import annotations

import codecs
import unicodedata
from functools import lru_cache

__all__ = ["codec_for", "decode_8bit", "decode_text", "nfc"]

# Names seen in the wild that Python does not know, or knows under another name.
# ``None`` means "no usable charset: guess".
_ALIASES: dict[str, str | None] = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "windows-1258": "cp1258",
    "cp1258": "cp1258",
    "x-cp1258": "cp1258",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gbk",
    "x-gbk": "gbk",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-unknown": None,
    "unknown": None,
    "unknown-8bit": None,
    "x-user-defined": None,
    "default": None,
    "charset": None,
}


@lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None if unknown or not a text codec.

    RFC 2231 language suffixes (``utf-8*vi``) and stray quotes are ignored.  Non-text codecs
    that ``codecs.lookup`` would accept (``base64``, ``rot13``, ``zlib``...) are refused.
    """
    if not charset:
        return None
    name = charset.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not name or len(name) > 64:
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def nfc(text: str) -> str:
    """NFC-normalise, skipping the work when the text already is."""
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


_SINGLE_BYTE = ("iso8859", "cp125", "latin", "mac-", "cp874", "koi8", "cp437", "cp850")


def _guess(data: bytes) -> str:
    for codec in ("utf-8", "cp1258"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Decode ``data`` declared as ``charset``; never raises; result is NFC."""
    codec = codec_for(charset)
    if codec is not None and codec.startswith(_SINGLE_BYTE) and not data.isascii():
        # UTF-8 mislabelled as latin-1 or windows-125x is common; genuine single-byte
        # text is practically never valid UTF-8.
        try:
            return nfc(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    if codec is not None and codec != "ascii":
        try:
            return nfc(data.decode(codec))
        except UnicodeDecodeError:
            pass
        except LookupError:  # pragma: no cover - codec_for already checked
            codec = None
        if codec is not None and codec != "utf-8":
            try:
                return nfc(data.decode("utf-8"))
            except UnicodeDecodeError:
                return nfc(data.decode(codec, "replace"))
        if codec == "utf-8":
            return nfc(data.decode("utf-8", "replace"))
    if data.isascii():
        return data.decode("ascii")
    return nfc(_guess(data))


def decode_8bit(data: bytes) -> str:
    """Decode raw header bytes: UTF-8 (RFC 6532), else windows-1258, else latin-1."""
    if data.isascii():
        return data.decode("ascii")
    return nfc(_guess(data))
