"""Vietnamese text in legacy 8-bit encodings: detection and conversion to Unicode.

Official text must be Unicode (TCVN 6909:2001), which govmail stores as UTF-8 in NFC.  Older
documents and mail still arrive in the pre-Unicode encodings:

* ``tcvn3``: TCVN 5712:1993 VN3, the "ABC" code of the ``.VnTime`` fonts.  Only lowercase
  letters and Ă Â Ê Ô Ơ Ư Đ have codes; text set in the capital font ``.VnTimeH`` is stored at
  the lowercase codes and only *drawn* in capitals (hence ``uppercase_font=True``).  ``ư`` is
  0xAD, the Windows-1252 soft hyphen.  Of the fuller VN1 level (glibc ``TCVN5712-1``) only
  the five combining tones 0xB0-0xB4 are read, and only right after a vowel; its uppercase
  toned letters are not, as the fonts do not have them (those bytes stay Windows-1252).
* ``vni``: VNI-Windows (``VNI-Times``): a base letter followed by one mark byte (``á`` is
  ``61 F9``, "aù"), single bytes for ơ ư đ and the toned i; decoded longest match first.
* ``viscii``: VISCII (RFC 1456), one byte per letter, six uppercase letters in the C0 range.
* ``cp1258``: Windows-1258, base letter + combining tone byte (Python codec ``cp1258``).
* ``viqr``: 7-bit VIQR mnemonics (``Vie^.t Nam``, ``dd`` for đ, ``\\`` escapes a mark).

The legacy bytes reach us either as bytes (a .txt attachment) or, far more often, already
decoded as Windows-1252 / Latin-1 (a Word file using ``.VnTime``, a body declared
windows-1252), giving mojibake such as ``Tr­êng §¹i häc`` (TCVN3) or ``Tröôøng Ñaïi hoïc``
(VNI).  Every function here accepts both forms: text is mapped back to the bytes it was read
from (Windows-1252, with U+0080-U+009F standing for the Latin-1 reading of 0x80-0x9F)
before the legacy table is applied.  Characters that no such misreading can produce (``ư``,
``ạ``, combining marks, CJK...) cannot come from a legacy byte, so any whitespace-separated
word holding one is kept as it is; this lets half-converted documents come through intact.

Detection (``detect``) converts the input with every candidate encoding and scores each
result by Vietnamese syllable plausibility rather than byte frequency.  The text is split into
words and each word is checked against the phonotactics of a Vietnamese syllable: initial
consonant + rime from a closed list, one tone mark at most, placed on the right vowel (old
and new styles), and only sắc or nặng before a final c/ch/p/t.  A reading counts as
Vietnamese when at least 70% of its words with diacritics and 50% of its ordinary words are
syllables.  Among such readings the one with the most valid diacritic words wins, after
subtracting its invalid ones and the bytes its encoding never produces (a VNI mark byte with
no letter before it, a TCVN3 code only VN1 has...).  Text as it stands wins ties and a legacy
reading must beat it by at least 2 words (and 5%); for raw bytes a legacy reading wins ties
over Windows-1252, and among legacy readings TCVN3, then VNI, VISCII, Windows-1258.  A wrong
table turns Vietnamese into strings such as ``Trửụứng`` that fail these rules, and French
or German words (``été``, ``für``) are syllables neither before nor after a trial
conversion, so they are left alone.  The confidence grows with the number of valid words and
with the margin over the runner-up reading.

Limits: inputs of one to four words are often ambiguous (TCVN3 ``Bµ Y tª`` is ``Bà Y tê``,
the same bytes in VISCII ``Bộ Y tế``) and get a low confidence; TCVN3 capitals cannot be
told from lowercase without the font name, so text decoded without ``uppercase_font`` comes
out in lowercase where the capital font was used; in a half-converted document a line with
no Unicode-only Vietnamese letter is taken as legacy as a whole; only the first 100 000
characters are examined; TCVN3 text read through a Vietnamese (cp1258) locale, VPS, VIQR
variants other than the RFC 1456 style, UTF-8 misread as Windows-1252 and doubly misread
text are not recognised.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, TypeVar, get_args

from govmail.mail.vnlegacy_tables import (
    TCVN3_DECODE,
    TCVN3_VN1_ONLY,
    VISCII_DECODE,
    VNI_ENCODE,
)

LegacyEncoding = Literal["tcvn3", "vni", "viscii", "cp1258", "viqr"]
Verdict = Literal["unicode", "nfd", "tcvn3", "vni", "viscii", "cp1258", "viqr", "none"]
EncodeErrors = Literal["strict", "replace"]

LEGACY_ENCODINGS: Final[tuple[LegacyEncoding, ...]] = get_args(LegacyEncoding)

_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "tcvn3": "TCVN3 (ABC, .VnTime)",
        "vni": "VNI-Windows",
        "viscii": "VISCII",
        "cp1258": "Windows-1258",
        "viqr": "VIQR",
    }
)


class VnLegacyError(ValueError):
    """Base class for errors of this module."""


class UnknownEncodingError(VnLegacyError):
    """The encoding name is not one of ``LEGACY_ENCODINGS``."""

    def __init__(self, encoding: object) -> None:
        super().__init__(
            f"Bảng mã không được hỗ trợ / unsupported encoding: {encoding!r} "
            f"(expected one of {', '.join(LEGACY_ENCODINGS)})"
        )
        self.encoding = encoding


class LegacyEncodeError(VnLegacyError):
    """A character has no code in the target legacy encoding."""

    def __init__(self, encoding: str, char: str, position: int, hint: str = "") -> None:
        name = _NAMES.get(encoding, encoding)
        message = (
            f"Ký tự {char!r} (U+{ord(char):04X}) ở vị trí {position} không có trong bảng mã "
            f"{name} / character {char!r} (U+{ord(char):04X}) at position {position} cannot "
            f"be encoded in {name}"
        )
        if hint:
            message += f"; {hint}"
        super().__init__(message)
        self.encoding = encoding
        self.char = char
        self.position = position


def _check_encoding(encoding: str) -> None:
    if encoding not in LEGACY_ENCODINGS:
        raise UnknownEncodingError(encoding)


def _check_uppercase_font(encoding: str, uppercase_font: bool) -> None:
    if uppercase_font and encoding != "tcvn3":
        raise VnLegacyError(
            "uppercase_font chỉ dùng cho TCVN3 / uppercase_font only applies to tcvn3, "
            f"not {encoding}"
        )


# --------------------------------------------------------------------------------------
# Windows-1252 misreading: text <-> the bytes it was read from.
#
# A "pseudo-byte string" is a str in which U+0000-U+00FF stand for bytes 0x00-0xFF and any
# higher character is opaque (passed through untouched by every decoder).


def _build_cp1252() -> tuple[dict[int, str], dict[int, str]]:
    byte_to_char: dict[int, str] = {}
    char_to_pseudo: dict[int, str] = {}
    for b in range(0x80, 0xA0):
        try:
            ch = bytes([b]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        byte_to_char[b] = ch
        char_to_pseudo[ord(ch)] = chr(b)
    return byte_to_char, char_to_pseudo


_CP1252_HIGH, _CP1252_TO_PSEUDO = _build_cp1252()
# Decoders leave bytes 0x80-0x9F that the legacy code does not use as Windows-1252.
_C1_AS_CP1252: Final[dict[int, str]] = dict(_CP1252_HIGH)

_ASCII_SPACE_RE: Final = re.compile(r"([\t\n\v\f\r ]+)")


def _is_unicode_only(ch: str) -> bool:
    """True for characters that no Windows-1252/Latin-1 misreading can produce."""
    o = ord(ch)
    return o > 0xFF and o not in _CP1252_TO_PSEUDO


# Characters that no Windows-1252/Latin-1 misreading can produce, and the Vietnamese ones.
_UNICODE_ONLY_RE: Final = re.compile(
    "[^\x00-\xff" + "".join(sorted(chr(c) for c in _CP1252_TO_PSEUDO)) + "]"
)
_VN_UNICODE_ONLY_RE: Final = re.compile(
    "["
    + "".join(sorted(c for c in VNI_ENCODE if _is_unicode_only(c)))
    + "\u0300\u0301\u0303\u0309\u0323]"
)


def _pseudo_from_text(text: str) -> str:
    return text.translate(_CP1252_TO_PSEUDO)


# --------------------------------------------------------------------------------------
# Decoders over pseudo-byte strings.

_TCVN3_TONES: Final[frozenset[int]] = frozenset(
    b for b in TCVN3_VN1_ONLY if unicodedata.category(TCVN3_DECODE[b]) == "Mn"
)
# The uppercase toned letters that VN1 has at a few codes of 0xA0-0xFF are not decoded: the
# .VnTime fonts do not use them, and reading "à" (0xE0) as "Ổ" would make French look
# Vietnamese and damage Unicode words in mixed documents.
_TCVN3_TRANS: Final[dict[int, str]] = {
    **_C1_AS_CP1252,
    **{b: ch for b, ch in TCVN3_DECODE.items() if b not in TCVN3_VN1_ONLY},
}
_VOWELS: Final = "aăâeêioôơuưyAĂÂEÊIOÔƠƯY"
# The VN1 combining tones (0xB0-0xB4, read as ° ± ² ³ ´) only count right after a bare vowel.
_TCVN3_TONE_RE: Final = re.compile(
    "(?<=[" + _VOWELS + "])[" + "".join(chr(b) for b in sorted(_TCVN3_TONES)) + "]"
)
_TCVN3_TONE_MAP: Final[dict[str, str]] = {chr(b): TCVN3_DECODE[b] for b in _TCVN3_TONES}

_VISCII_TRANS: Final[dict[int, str]] = dict(VISCII_DECODE)


def _build_cp1258() -> dict[int, str]:
    table: dict[int, str] = {}
    for b in range(0x80, 0x100):
        try:
            table[b] = bytes([b]).decode("cp1258")
        except UnicodeDecodeError:
            table[b] = _CP1252_HIGH.get(b, chr(b))
    return table


_CP1258_TRANS: Final[dict[int, str]] = _build_cp1258()


def _build_vni() -> tuple[dict[str, str], re.Pattern[str]]:
    seqs: dict[str, str] = {}
    for letter, code in VNI_ENCODE.items():
        seqs[code.decode("latin-1")] = letter
    # Tolerated variants seen in real files: the mark byte in the other case than the base
    # letter (after Word's "change case") and y + dot-below mark for ỵ.
    for letter, code in VNI_ENCODE.items():
        if len(code) == 2:
            base, mark = code.decode("latin-1")
            other = mark.lower() if mark.isupper() else mark.upper()
            seqs.setdefault(base + other, letter)
    seqs.setdefault("y" + VNI_ENCODE["ạ"].decode("latin-1")[1], "ỵ")
    seqs.setdefault("Y" + VNI_ENCODE["Ạ"].decode("latin-1")[1], "Ỵ")
    seqs.setdefault("y" + VNI_ENCODE["Ạ"].decode("latin-1")[1], "ỵ")
    seqs.setdefault("Y" + VNI_ENCODE["ạ"].decode("latin-1")[1], "Ỵ")
    keys = sorted(seqs, key=lambda k: (-len(k), k))
    return seqs, re.compile("|".join(re.escape(k) for k in keys))


_VNI_SEQS, _VNI_RE = _build_vni()


def _decode_tcvn3(pseudo: str) -> str:
    out = pseudo.translate(_TCVN3_TRANS)
    return _TCVN3_TONE_RE.sub(lambda m: _TCVN3_TONE_MAP[m.group()], out)


def _decode_vni(pseudo: str) -> str:
    out = _VNI_RE.sub(lambda m: _VNI_SEQS[m.group()], pseudo)
    return out.translate(_C1_AS_CP1252)


def _decode_viscii(pseudo: str) -> str:
    return pseudo.translate(_VISCII_TRANS)


def _decode_cp1258(pseudo: str) -> str:
    return pseudo.translate(_CP1258_TRANS)


# VIQR (RFC 1456 style): vowel [modifier] [tone]; "dd" is đ; a backslash escapes.
_VIQR_MODS: Final[dict[str, str]] = {"^": "\u0302", "(": "\u0306", "+": "\u031b"}
_VIQR_TONES: Final[dict[str, str]] = {
    "'": "\u0301",
    "`": "\u0300",
    "?": "\u0309",
    "~": "\u0303",
    ".": "\u0323",
}
_VIQR_MOD_OK: Final[frozenset[tuple[str, str]]] = frozenset(
    {("a", "^"), ("a", "("), ("e", "^"), ("o", "^"), ("o", "+"), ("u", "+")}
)
_VIQR_TOKEN_RE: Final = re.compile(r"\S+|\s+")


def _viqr_word(token: str) -> str:
    out: list[str] = []
    toned = False  # one tone per syllable: a second sign is punctuation ("no^.i.")
    i, n = 0, len(token)
    while i < n:
        ch = token[i]
        if ch == "\\" and i + 1 < n:
            out.append(token[i + 1])
            i += 2
            continue
        if ch in "dD" and i + 1 < n and token[i + 1] in "dD":
            out.append("Đ" if ch == "D" else "đ")
            i += 2
            continue
        if ch.lower() in "aeiouy":
            seq = ch
            i += 1
            if i < n and (ch.lower(), token[i]) in _VIQR_MOD_OK:
                seq += _VIQR_MODS[token[i]]
                i += 1
            if i < n and token[i] in _VIQR_TONES and not toned:
                seq += _VIQR_TONES[token[i]]
                toned = True
                i += 1
            out.append(seq)
            continue
        if not ch.isalpha():
            toned = False
        out.append(ch)
        i += 1
    return unicodedata.normalize("NFC", "".join(out))


def _decode_viqr(pseudo: str) -> str:
    return "".join(_viqr_word(t) if not t.isspace() else t for t in _VIQR_TOKEN_RE.findall(pseudo))


_DECODERS: Final = {
    "tcvn3": _decode_tcvn3,
    "vni": _decode_vni,
    "viscii": _decode_viscii,
    "cp1258": _decode_cp1258,
    "viqr": _decode_viqr,
}


def _finish(text: str, uppercase_font: bool) -> str:
    text = unicodedata.normalize("NFC", text)
    return text.upper() if uppercase_font else text


def decode_legacy(data: bytes, encoding: LegacyEncoding, *, uppercase_font: bool = False) -> str:
    """Decode raw legacy bytes to NFC Unicode.

    ``uppercase_font`` (TCVN3 only) reads the text as set in the capital font ``.VnTimeH``,
    which draws every letter in uppercase.  Decoding never fails: bytes the encoding leaves
    free are read as Windows-1252 (or Latin-1 where Windows-1252 has no character).
    """
    _check_encoding(encoding)
    _check_uppercase_font(encoding, uppercase_font)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"decode_legacy expects bytes, got {type(data).__name__}")
    return _finish(_DECODERS[encoding](bytes(data).decode("latin-1")), uppercase_font)


def decode_mojibake(text: str, encoding: LegacyEncoding, *, uppercase_font: bool = False) -> str:
    """Repair legacy text that was already decoded as Windows-1252 or Latin-1.

    ``Tr\\xadêng §¹i häc`` with ``"tcvn3"`` gives ``Trường Đại học``.  A whitespace-separated
    word containing a character that no such misreading can produce is left untouched, and so
    is, on a line holding such Unicode Vietnamese (a half-converted document), every word
    that already reads as Vietnamese ("các", "Hà").
    """
    _check_encoding(encoding)
    _check_uppercase_font(encoding, uppercase_font)
    decoder = _DECODERS[encoding]
    # Windows-1252 has no combining marks, so composing first only undoes an NFD pass
    # made after the misreading ("ha\u0308c" is "häc").
    text = unicodedata.normalize("NFC", text)

    def convert(chunk: str) -> str:
        # VIQR is plain ASCII: there are no misread bytes to map back.
        converted = decoder(chunk if encoding == "viqr" else _pseudo_from_text(chunk))
        return converted.upper() if uppercase_font else converted

    if not _UNICODE_ONLY_RE.search(text):  # pure misread legacy text: one pass
        return unicodedata.normalize("NFC", convert(text))
    out: list[str] = []
    for line in text.split("\n"):
        if not _UNICODE_ONLY_RE.search(line):
            out.append(convert(line))
            continue
        # A line with Unicode Vietnamese in it is Unicode text: its words that already read
        # as Vietnamese stay; only the others (a legacy-font run) are converted.
        unicode_line = bool(_VN_UNICODE_ONLY_RE.search(line))
        pieces: list[str] = []
        pending: list[str] = []  # consecutive parts to convert in one call
        for i, part in enumerate(_ASCII_SPACE_RE.split(line)):
            if i % 2 == 0 and (
                _UNICODE_ONLY_RE.search(part) or (unicode_line and _reads_as_vietnamese(part))
            ):
                if pending:
                    pieces.append(convert("".join(pending)))
                    pending = []
                pieces.append(part)
            else:
                pending.append(part)
        if pending:
            pieces.append(convert("".join(pending)))
        out.append("".join(pieces))
    return unicodedata.normalize("NFC", "\n".join(out))


# --------------------------------------------------------------------------------------
# Encoders (used by tests and for producing legacy samples; govmail itself never sends them).

_TCVN3_ENCODE: Final[dict[str, int]] = {
    ch: b for b, ch in TCVN3_DECODE.items() if b not in TCVN3_VN1_ONLY
}
_VISCII_ENCODE: Final[dict[str, int]] = {ch: b for b, ch in VISCII_DECODE.items()}
_CP1252_ENCODE: Final[dict[str, int]] = {ch: b for b, ch in _CP1252_HIGH.items()}
# huyền, sắc, ngã, hỏi, nặng
_TONE_MARKS: Final[frozenset[str]] = frozenset("\u0300\u0301\u0303\u0309\u0323")
_TCVN3_CASE_HINT: Final = (
    "TCVN3 has no uppercase toned letters: lowercase the text, or encode it for the "
    ".VnTimeH capital font with uppercase_font=True"
)


def _encode_char_tcvn3(ch: str) -> bytes | None:
    o = ord(ch)
    if o < 0x80 or o == 0xA0:
        return bytes([o])
    if ch in _TCVN3_ENCODE:
        return bytes([_TCVN3_ENCODE[ch]])
    if ch in _CP1252_ENCODE:
        return bytes([_CP1252_ENCODE[ch]])
    return None


def _encode_char_vni(ch: str) -> bytes | None:
    o = ord(ch)
    if o < 0x80 or 0xA0 <= o < 0xC0:
        return bytes([o])
    if ch in VNI_ENCODE:
        return VNI_ENCODE[ch]
    if ch in _CP1252_ENCODE:
        return bytes([_CP1252_ENCODE[ch]])
    return None


def _encode_char_viscii(ch: str) -> bytes | None:
    o = ord(ch)
    if o < 0x80:
        return None if o in VISCII_DECODE else bytes([o])
    if ch in _VISCII_ENCODE:
        return bytes([_VISCII_ENCODE[ch]])
    return None


def _encode_char_cp1258(ch: str) -> bytes | None:
    try:
        return ch.encode("cp1258")
    except UnicodeEncodeError:
        pass
    decomposed = unicodedata.normalize("NFD", ch)
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if len(tones) != 1:
        return None
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    try:
        return base.encode("cp1258") + tones[0].encode("cp1258")
    except UnicodeEncodeError:
        return None


_VIQR_MOD_OF: Final[dict[str, str]] = {v: k for k, v in _VIQR_MODS.items()}
_VIQR_TONE_OF: Final[dict[str, str]] = {v: k for k, v in _VIQR_TONES.items()}
_VIQR_SIGNS: Final = frozenset("^(+'`?~.")


def _encode_viqr(text: str, errors: EncodeErrors) -> bytes:
    out: list[str] = []
    after_vowel = False  # a literal sign here would be read as a mark: escape it
    for pos, ch in enumerate(text):
        if ch in "đĐ":
            out.append("dd" if ch == "đ" else "DD")
            after_vowel = False
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        if (
            base in "aeiouyAEIOUY"
            and all(m in _VIQR_MOD_OF or m in _VIQR_TONE_OF for m in marks)
            and all(
                (base.lower(), _VIQR_MOD_OF[m]) in _VIQR_MOD_OK for m in marks if m in _VIQR_MOD_OF
            )
            and sum(m in _VIQR_TONE_OF for m in marks) <= 1
        ):
            out.append(base)
            out.extend(_VIQR_MOD_OF[m] for m in marks if m in _VIQR_MOD_OF)
            out.extend(_VIQR_TONE_OF[m] for m in marks if m in _VIQR_TONE_OF)
            after_vowel = True
            continue
        if ord(ch) >= 0x80:
            if errors == "strict":
                raise LegacyEncodeError("viqr", ch, pos)
            out.append("?")
        elif (
            ch == "\\"
            or (after_vowel and ch in _VIQR_SIGNS)
            # "d" before d/đ would be read as the first half of "dd"
            or (ch in "dD" and pos + 1 < len(text) and text[pos + 1] in "dDđĐ")
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
        after_vowel = False
    return "".join(out).encode("ascii")


_CHAR_ENCODERS: Final = {
    "tcvn3": _encode_char_tcvn3,
    "vni": _encode_char_vni,
    "viscii": _encode_char_viscii,
    "cp1258": _encode_char_cp1258,
}


def encode_legacy(
    text: str,
    encoding: LegacyEncoding,
    *,
    uppercase_font: bool = False,
    errors: EncodeErrors = "strict",
) -> bytes:
    """Encode Unicode text in a legacy encoding.

    The text is NFC-normalised first.  A character without a code raises
    ``LegacyEncodeError`` (``errors="strict"``) or becomes ``?`` (``errors="replace"``).
    TCVN3 has no uppercase toned letters: with ``uppercase_font=True`` the whole text is
    written at the lowercase codes, as for the ``.VnTimeH`` capital font, so decoding it
    with ``uppercase_font=True`` gives the text in uppercase.
    """
    _check_encoding(encoding)
    _check_uppercase_font(encoding, uppercase_font)
    if errors not in ("strict", "replace"):
        raise VnLegacyError(f"errors must be 'strict' or 'replace', not {errors!r}")
    text = unicodedata.normalize("NFC", text)
    if uppercase_font:
        text = text.lower()
    if encoding == "viqr":
        return _encode_viqr(text, errors)
    encode_char = _CHAR_ENCODERS[encoding]
    out = bytearray()
    for pos, ch in enumerate(text):
        code = encode_char(ch)
        if code is None:
            if errors == "replace":
                out += b"?"
                continue
            hint = ""
            if encoding == "tcvn3" and ch.isupper() and ch.lower() in _TCVN3_ENCODE:
                hint = _TCVN3_CASE_HINT
            raise LegacyEncodeError(encoding, ch, pos, hint)
        out += code
    return bytes(out)


# --------------------------------------------------------------------------------------
# Vietnamese syllable plausibility.

_INITIALS: Final[tuple[str, ...]] = (
    "ngh", "ng", "gh", "gi", "kh", "nh", "ph", "qu", "th", "tr", "ch",
    "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "",
)  # fmt: skip
_RIME_LIST: Final = """
    a ac ach ai am an ang anh ao ap at au ay
    ăc ăk ăm ăn ăng ăp ăt
    âc âm ân âng âp ât âu ây
    e ec em en eng eo ep et
    ê êch êm ên ênh êp êt êu
    i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu
    o oc oi om on ong op ot oong ooc
    oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăt
    oe oen oeo oet
    ô ôc ôi ôm ôn ông ôp ôt
    ơ ơi ơm ơn ơp ơt
    u ua uc ui um un ung up ut
    uân uâng uât uây uê uêch uênh uơ
    uy uya uych uyn uynh uyp uyt uyu uyên uyêt
    uôc uôi uôm uôn uông uôt
    ư ưa ưc ưi ưm ưn ưng ưt ưu
    ươc ươi ươm ươn ương ươp ươt ươu
    y yêm yên yêt yêu
"""
_RIMES: Final[frozenset[str]] = frozenset(_RIME_LIST.split())
_STOP_FINALS: Final = ("c", "ch", "k", "p", "t")
_STOP_TONES: Final = frozenset({"\u0301", "\u0323"})
_VN_LETTERS: Final = frozenset("abcdđeghiklmnopqrstuvxyăâêôơư")


@functools.lru_cache(maxsize=8192)
def _syllable(word: str, strict_tone: bool) -> bool:
    letters = unicodedata.normalize("NFC", word.lower())
    tone, tone_at = "", -1
    bare_chars: list[str] = []
    for i, ch in enumerate(letters):
        decomposed = unicodedata.normalize("NFD", ch)
        marks = [c for c in decomposed if c in _TONE_MARKS]
        if marks:
            if tone or len(marks) > 1:
                return False
            tone, tone_at = marks[0], i
        bare_chars.append("".join(c for c in decomposed if c not in _TONE_MARKS))
    bare = unicodedata.normalize("NFC", "".join(bare_chars))
    if not bare or len(bare) != len(letters) or not set(bare) <= _VN_LETTERS:
        return False
    for initial in _INITIALS:
        if not bare.startswith(initial):
            continue
        rime = bare[len(initial) :]
        if rime not in _RIMES:
            continue
        if strict_tone:
            if rime.endswith(_STOP_FINALS) and tone not in _STOP_TONES:
                continue
            if tone and tone_at - len(initial) not in _tone_places(rime):
                continue
        return True
    return False


_NUCLEUS_RE: Final = re.compile("[aăâeêioôơuưy]+")


def _tone_places(rime: str) -> frozenset[int]:
    """Where in ``rime`` the tone mark may sit (both old and new styles accepted)."""
    nucleus = _NUCLEUS_RE.match(rime)
    if nucleus is None:
        return frozenset()
    size = nucleus.end()
    if size < len(rime) or size == 1:  # closed syllable, or a single vowel: the last vowel
        return frozenset({size - 1})
    if size == 2:
        vowels = rime[:2]
        if vowels in ("oa", "oe", "uy"):  # hoà / hòa, thuỷ / thủy
            return frozenset({0, 1})
        return frozenset({1}) if vowels in ("uê", "uơ") else frozenset({0})
    return frozenset({1})  # ngoài, người, khuỷu


def is_vietnamese_syllable(word: str) -> bool:
    """True if ``word`` is a well-formed Vietnamese syllable (case-insensitive).

    A word with diacritics must also have its tone on the right vowel (old and new styles
    both accepted) and, before a final c/ch/p/t, the sắc or nặng tone; a bare ASCII word is
    accepted if it would be a syllable once its diacritics were restored.
    """
    if not word:
        return False
    return _syllable(word, not word.isascii())


# --------------------------------------------------------------------------------------
# Detection.

_WORD_RE: Final = re.compile(r"[^\W\d_]+")


def _plausible_case(word: str) -> bool:
    """Reject case patterns such as "voilỔ" (French "voilà" read as TCVN3).

    Capitals typed in a .VnTime font come out with lowercase toned vowels ("TRƯởNG"), so a
    word whose ASCII letters are all uppercase is accepted too.
    """
    if word.islower() or word.isupper() or word.istitle():
        return True
    ascii_letters = [c for c in word if c.isascii()]
    return bool(ascii_letters) and all(c.isupper() for c in ascii_letters)


def _reads_as_vietnamese(chunk: str) -> bool:
    """True if every word of ``chunk`` with diacritics is a syllable (and there is one)."""
    words = [w for w in _WORD_RE.findall(chunk) if not w.isascii()]
    return bool(words) and all(_plausible_case(w) and _syllable(w, True) for w in words)


def _has_vowel(word: str) -> bool:
    return any(c in "aeiouy" for c in unicodedata.normalize("NFD", word.lower()))


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """How Vietnamese one reading of the input looks.

    ``reading`` is ``"as-is"`` for the input as it stands (NFC), ``"cp1252"`` for raw bytes
    read as Windows-1252, or the legacy encoding tried.  ``accented`` counts words with at
    least one non-ASCII letter after conversion, ``plain`` the ASCII words in lowercase or
    capitalised form (acronyms are ignored); ``*_valid`` are those that are syllables.
    ``impossible`` counts bytes that text in that encoding would not contain (TCVN3 codes of
    VN1-only capitals, VNI mark bytes with no letter before them, Windows-1258 tone bytes
    after a consonant).
    """

    reading: str
    accented: int
    accented_valid: int
    plain: int
    plain_valid: int
    impossible: int = 0

    @property
    def accented_ratio(self) -> float:
        return self.accented_valid / self.accented if self.accented else 0.0

    @property
    def overall_ratio(self) -> float:
        total = self.accented + self.plain
        return (self.accented_valid + self.plain_valid) / total if total else 0.0

    @property
    def net(self) -> int:
        return self.accented_valid - (self.accented - self.accented_valid) - self.impossible

    @property
    def is_vietnamese(self) -> bool:
        return (
            self.accented_valid >= 1
            and self.accented_ratio >= _MIN_ACCENTED_RATIO
            and self.overall_ratio >= _MIN_OVERALL_RATIO
        )


_MIN_ACCENTED_RATIO: Final = 0.7
_MIN_OVERALL_RATIO: Final = 0.5
_MIN_GAIN: Final = 2
_MIN_GAIN_SHARE: Final = 0.05


@dataclass(frozen=True, slots=True)
class Detection:
    """Result of ``detect``.

    ``encoding``: ``"unicode"`` (NFC Vietnamese, nothing to do), ``"nfd"`` (Vietnamese
    Unicode not in NFC), a legacy encoding, or ``"none"`` (no Vietnamese found).
    ``form``: ``"bytes"`` when legacy bytes were given, ``"text"`` when text (or UTF-8
    bytes) was given; legacy text input means mojibake.  ``evidence`` counts characteristic
    sequences in the input; ``candidates`` holds the score of every reading tried.  Only
    the first 100 000 characters of a longer input are examined.
    """

    encoding: Verdict
    confidence: float
    form: Literal["bytes", "text"]
    evidence: Mapping[str, int]
    candidates: tuple[CandidateScore, ...]

    @property
    def is_legacy(self) -> bool:
        return self.encoding in LEGACY_ENCODINGS

    @property
    def needs_conversion(self) -> bool:
        return self.encoding not in ("unicode", "none")


_TCVN3_UNUSED: Final[frozenset[str]] = frozenset(
    chr(b) for b in TCVN3_VN1_ONLY if b not in _TCVN3_TONES
)
_VNI_MARKS: Final[frozenset[str]] = frozenset(k[1] for k in _VNI_SEQS if len(k) == 2)


def _impossible(encoding: str, pseudo: str) -> int:
    """Count bytes of ``pseudo`` that real text in ``encoding`` would not contain."""
    if encoding == "tcvn3":
        return sum(1 for ch in pseudo if ch in _TCVN3_UNUSED)
    if encoding == "vni":
        return sum(1 for ch in _decode_vni(pseudo) if ch in _VNI_MARKS)
    if encoding == "cp1258":
        composed = unicodedata.normalize("NFC", _decode_cp1258(pseudo))
        return sum(1 for ch in composed if ch in _TONE_MARKS)
    return 0


def _convertible_pseudo(text: str) -> str:
    """The pseudo-bytes of the words ``decode_mojibake`` would convert."""
    return " ".join(
        _pseudo_from_text(part)
        for part in _ASCII_SPACE_RE.split(text)
        if part and not _UNICODE_ONLY_RE.search(part)
    )


def _score(reading: str, text: str, impossible: int = 0) -> CandidateScore:
    accented = accented_valid = plain = plain_valid = 0
    for word in _WORD_RE.findall(unicodedata.normalize("NFC", text)):
        if word.isascii():
            if not (word.islower() or word.istitle()):
                continue
            plain += 1
            plain_valid += _syllable(word, False)
        else:
            if word.isupper() and not _has_vowel(word):
                continue  # acronyms such as "QĐ", "VBĐT"
            accented += 1
            if _plausible_case(word):
                accented_valid += _syllable(word, True)
    return CandidateScore(reading, accented, accented_valid, plain, plain_valid, impossible)


_TCVN3_MARK_RE: Final = re.compile(
    "[A-Za-z][" + "".join(chr(b) for b in range(0xA1, 0xC0) if b not in TCVN3_VN1_ONLY) + "]"
)
_VNI_MARK_RE: Final = re.compile(
    "[aeouyAEOUY\xf4\xf6\xd4\xd6]["
    + "".join(sorted({k[1] for k in _VNI_SEQS if len(k) == 2}))
    + "]"
)
_VISCII_C0_RE: Final = re.compile("[" + "".join(chr(b) for b in VISCII_DECODE if b < 0x20) + "]")
_CP1258_TONE_RE: Final = re.compile("[aeiouyAEIOUY\xe2\xea\xf4\xe3\xf5\xfd][\xcc\xec\xd2\xde\xf2]")
_VIQR_MARK_RE: Final = re.compile(
    r"[aeiouyAEIOUY](?:[\^(+]['`?~.]?|['`?~.])(?=[a-zA-Z])|(?<![A-Za-z])[dD][dD](?=[aeiouyAEIOUY])"
)
_COMBINING_RE: Final = re.compile("[\u0300-\u036f]")


def _evidence(pseudo: str, text: str | None) -> dict[str, int]:
    evidence = {
        "tcvn3_marks": len(_TCVN3_MARK_RE.findall(pseudo)),
        "vni_pairs": len(_VNI_MARK_RE.findall(pseudo)),
        "viscii_c0": len(_VISCII_C0_RE.findall(pseudo)),
        "cp1258_tones": len(_CP1258_TONE_RE.findall(pseudo)),
        "viqr_marks": len(_VIQR_MARK_RE.findall(pseudo)) if pseudo.isascii() else 0,
    }
    if text is not None:
        evidence["combining_marks"] = len(_COMBINING_RE.findall(text))
        evidence["non_nfc"] = int(not unicodedata.is_normalized("NFC", text))
        evidence["unicode_only_chars"] = len(_UNICODE_ONLY_RE.findall(text))
    return evidence


def _evidence_factor(c: CandidateScore) -> float:
    return 1.0 - 0.5 ** (c.accented_valid / 2)


def _choose(
    candidates: list[CandidateScore], *, trust_baseline: bool
) -> tuple[CandidateScore | None, float]:
    """Pick the winning reading (``None`` if none is Vietnamese) and a confidence.

    ``candidates[0]`` is the input as it stands.  For text it is trusted: it wins ties and
    a legacy reading must beat it clearly.  For 8-bit bytes it is not (Windows-1252 cannot
    even hold most Vietnamese letters), so a legacy reading wins ties against it.
    """
    baseline = candidates[0]
    qualified = [c for c in candidates if c.is_vietnamese]
    if not qualified:
        closest = max(
            (c.accented_ratio * _evidence_factor(c) * min(1.0, c.overall_ratio / 0.5))
            for c in candidates
        )
        return None, round(max(0.05, 1.0 - closest), 3)
    best = max(qualified, key=lambda c: (c.net, (c is baseline) == trust_baseline))
    if trust_baseline and best is not baseline and baseline.is_vietnamese:
        # Text that already reads as Vietnamese is only re-read when that clearly pays:
        # a stray "–" read as VISCII "Ờ" must not turn a Unicode document into VISCII.
        margin = max(_MIN_GAIN, math.ceil(_MIN_GAIN_SHARE * baseline.accented_valid))
        if best.net - baseline.net < margin:
            best = baseline
    runner_up = max([0, *(c.net for c in candidates if c is not best)])
    if trust_baseline and best is baseline:
        # Readings that barely differ from the text (VISCII keeps à, é... in place) score
        # close to it without casting doubt; only a reading that scored higher does.
        separation = 1.0 if runner_up <= best.net else 0.0
    else:
        separation = min(1.0, max(0.0, (best.net - runner_up) / max(best.net, 1)))
    confidence = (
        best.accented_ratio
        * min(1.0, best.overall_ratio / 0.8)
        * _evidence_factor(best)
        * (0.5 + 0.5 * separation)
    )
    return best, round(min(1.0, confidence), 3)


_LEGACY_VERDICT: Final[Mapping[str, LegacyEncoding]] = MappingProxyType(
    {enc: enc for enc in LEGACY_ENCODINGS}
)


_MISREAD_RE: Final = re.compile(
    "[\x80-\xff"
    + "".join(sorted(chr(c) for c in _CP1252_TO_PSEUDO))
    + "".join(chr(b) for b in VISCII_DECODE if b < 0x20)
    + "]"
)


def _could_be_misread_legacy(text: str) -> bool:
    return _MISREAD_RE.search(text) is not None


def _detect_text(text: str) -> Detection:
    nfc = unicodedata.normalize("NFC", text)
    pseudo = _pseudo_from_text(nfc)
    candidates = [_score("as-is", nfc)]
    if _could_be_misread_legacy(nfc):
        convertible = _convertible_pseudo(nfc)
        for enc in ("tcvn3", "vni", "viscii", "cp1258"):
            candidates.append(_score(enc, decode_mojibake(nfc, enc), _impossible(enc, convertible)))
    evidence = _evidence(pseudo, text)
    if evidence["viqr_marks"] >= 2:
        candidates.append(_score("viqr", decode_mojibake(nfc, "viqr")))
    best, confidence = _choose(candidates, trust_baseline=True)
    verdict: Verdict
    if best is None:
        verdict = "none"
    elif best is candidates[0]:
        verdict = "nfd" if nfc != text else "unicode"
    else:
        verdict = _LEGACY_VERDICT[best.reading]
    return Detection(verdict, confidence, "text", MappingProxyType(evidence), tuple(candidates))


def _detect_bytes(data: bytes) -> Detection:
    pseudo = data.decode("latin-1")
    candidates = [_score("cp1252", _finish(pseudo.translate(_C1_AS_CP1252), False))]
    for enc in ("tcvn3", "vni", "viscii", "cp1258"):
        decoded = _finish(_DECODERS[enc](pseudo), False)
        candidates.append(_score(enc, decoded, _impossible(enc, pseudo)))
    best, confidence = _choose(candidates, trust_baseline=False)
    # A Vietnamese-looking Windows-1252 reading is no legacy encoding either.
    verdict: Verdict = (
        "none" if best is None or best is candidates[0] else _LEGACY_VERDICT[best.reading]
    )
    evidence = _evidence(pseudo, None)
    return Detection(verdict, confidence, "bytes", MappingProxyType(evidence), tuple(candidates))


def _as_text(data: bytes) -> str | None:
    """UTF-8 (or plain ASCII) bytes as text; ``None`` for 8-bit legacy bytes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def detect(data: str | bytes) -> Detection:
    """Guess whether ``data`` is Vietnamese and in which encoding.

    Bytes that are valid UTF-8 (or ASCII) are examined as text; other bytes as raw 8-bit
    legacy data.  Text is examined as it stands and as legacy text misread as Windows-1252
    or Latin-1.  See the module docstring for the method.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        text = _as_text(raw)
        return _detect_bytes(_sample(raw)) if text is None else _detect_text(_sample(text))
    if not isinstance(data, str):
        raise TypeError(f"detect expects str or bytes, got {type(data).__name__}")
    return _detect_text(_sample(data))


_SAMPLE_LIMIT: Final = 100_000


_Sampled = TypeVar("_Sampled", str, bytes)


def _sample(data: _Sampled) -> _Sampled:
    """The first ~100 000 characters (or bytes), cut at a space: enough to decide."""
    if len(data) <= _SAMPLE_LIMIT:
        return data
    if isinstance(data, str):
        cut = data.rfind(" ", 0, _SAMPLE_LIMIT)
    else:
        cut = data.rfind(b" ", 0, _SAMPLE_LIMIT)
    return data[: cut if cut > _SAMPLE_LIMIT // 2 else _SAMPLE_LIMIT]


def to_unicode(
    data: str | bytes,
    encoding: LegacyEncoding | None = None,
    *,
    uppercase_font: bool = False,
) -> str:
    """Convert ``data`` to NFC Unicode, detecting the encoding when none is given.

    With an explicit ``encoding``, bytes are raw legacy bytes (``decode_legacy``) and text
    is misread legacy text (``decode_mojibake``).  Without one, ``detect`` decides; bytes
    that are valid UTF-8 are read as UTF-8 text first.  When no legacy encoding is found the
    input is only normalised to NFC (non-UTF-8 bytes are then read as Windows-1252).
    ``uppercase_font`` applies when the encoding is, or is found to be, TCVN3.
    """
    if encoding is not None:
        _check_encoding(encoding)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if encoding is not None:
            return decode_legacy(
                raw, encoding, uppercase_font=uppercase_font and encoding == "tcvn3"
            )
        text = _as_text(raw)
        if text is None:
            found = _detect_bytes(_sample(raw)).encoding
            if found not in LEGACY_ENCODINGS:
                return _finish(raw.decode("latin-1").translate(_C1_AS_CP1252), False)
            enc = _LEGACY_VERDICT[found]
            return decode_legacy(raw, enc, uppercase_font=uppercase_font and enc == "tcvn3")
        data = text
    if not isinstance(data, str):
        raise TypeError(f"to_unicode expects str or bytes, got {type(data).__name__}")
    if encoding is None:
        found = _detect_text(_sample(data)).encoding
        if found not in LEGACY_ENCODINGS:
            return unicodedata.normalize("NFC", data)
        encoding = _LEGACY_VERDICT[found]
    return decode_mojibake(data, encoding, uppercase_font=uppercase_font and encoding == "tcvn3")


__all__ = [
    "LEGACY_ENCODINGS",
    "CandidateScore",
    "Detection",
    "LegacyEncodeError",
    "LegacyEncoding",
    "UnknownEncodingError",
    "Verdict",
    "VnLegacyError",
    "decode_legacy",
    "decode_mojibake",
    "detect",
    "encode_legacy",
    "is_vietnamese_syllable",
    "to_unicode",
]
