"""Vietnamese-aware text folding for search, and tone-placement normalisation.

``fold`` maps text to the form stored in the search index and applied to queries, so that
"Công văn", "CONG VAN", "cong  van" and NFD input from macOS all fold to ``"cong van"``:
compatibility decomposition (NFKD), case folding, removal of every combining diacritic,
``đ``/``Đ`` → ``d``, whitespace runs collapsed to one space, result in NFC.

``normalize_tone_placement`` keeps diacritics but puts the tone mark of the open syllables
``oa``, ``oe``, ``uy`` in one place, so that strings compare equal whatever keyboard or
office suite typed them.  The canonical form is the *traditional* placement ("kiểu cũ"),
the one Nghị định 30/2020/NĐ-CP itself uses almost everywhere: "hóa", "khóa", "thỏa",
"Hỏa tốc", "ủy quyền", "thủy" (tone on the first vowel of an open ``oa``/``oe``/``uy``; on
the second vowel when a final consonant follows: "hoàn", "khoét", "huýt").  The decree's few
modern spellings ("giấy uỷ quyền", "HOẢ TỐC") normalise to "giấy ủy quyền", "HỎA TỐC".
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "fold_query", "nfc", "normalize_tone_placement", "query_terms"]

# Combining diacritical mark blocks; every code point in them is removed by ``fold``.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def nfc(s: str) -> str:
    """Return ``s`` in Unicode NFC (precomposed) form."""
    if unicodedata.is_normalized("NFC", s):
        return s
    return unicodedata.normalize("NFC", s)


def fold(s: str) -> str:
    """Fold ``s`` for search: lower case, no diacritics, ``đ`` → ``d``, single spaces.

    NUL counts as a space: PostgreSQL text cannot hold it, and SQLite's tokenizers stop at
    it."""
    if not s:
        return ""
    if "\x00" in s:
        s = s.replace("\x00", " ")
    if s.isascii():
        return " ".join(s.casefold().split())
    out = _MARKS.sub("", unicodedata.normalize("NFKD", s).casefold())
    # casefold() already turned Đ into đ; ð (eth) is a common mistype of đ.
    out = " ".join(out.replace("đ", "d").replace("ð", "d").split())
    if out.isascii():
        return out
    return nfc(out)


def fold_query(s: str) -> str:
    """Fold a user's search query exactly as indexed text is folded.

    The result is a substring to look for in ``ParsedMessage.text_for_search``; escaping
    it for SQL ``LIKE`` is the store's business.
    """
    return fold(s)


_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def query_terms(s: str) -> list[str]:
    """Split a query into folded terms; ``"double-quoted phrases"`` stay one term."""
    terms: list[str] = []
    for m in _TERM.finditer(s):
        raw = m.group(1) if m.group(1) is not None else m.group(2)
        term = fold(raw)
        if term:
            terms.append(term)
    return terms


# --- tone placement -------------------------------------------------------------------

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_VOWELS = frozenset("aeiouy")
_CLUSTERS = frozenset({"oa", "oe", "uy"})
_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{2,7}(?![^\W\d_])")
_CANDIDATE = re.compile(r"[oOuUòóỏõọÒÓỎÕỌùúủũụÙÚỦŨỤ]")


def _fix_syllable(m: re.Match[str]) -> str:
    word = m.group()
    if not _CANDIDATE.search(word):
        return word
    letters: list[list[str]] = []  # [base, quality marks, tone mark]
    for ch in unicodedata.normalize("NFD", word):
        if unicodedata.combining(ch):
            if not letters:
                return word
            if ch in _TONE_MARKS:
                if letters[-1][2]:
                    return word
                letters[-1][2] = ch
            else:
                letters[-1][1] += ch
        else:
            letters.append([ch, "", ""])
    toned = [i for i, letter in enumerate(letters) if letter[2]]
    if len(toned) != 1:
        return word
    low = [letter[0].lower() for letter in letters]
    n = len(low)
    if low[:2] == ["q", "u"] or (low[:2] == ["g", "i"] and n > 2 and low[2] in _VOWELS):
        i = 2
    else:
        i = 0
        while i < n and low[i] not in _VOWELS:
            i += 1
    j = i
    while j < n and low[j] in _VOWELS:
        j += 1
    if j - i != 2 or low[i] + low[i + 1] not in _CLUSTERS:
        return word
    if letters[i][1] or letters[i + 1][1]:
        return word
    if any(c in _VOWELS for c in low[j:]):
        return word
    target = i if j == n else i + 1
    source = toned[0]
    if source not in (i, i + 1) or source == target:
        return word
    letters[target][2], letters[source][2] = letters[source][2], ""
    return unicodedata.normalize("NFC", "".join("".join(letter) for letter in letters))


def normalize_tone_placement(s: str) -> str:
    """Rewrite "hoà", "thuỷ", "khoẻ", "uỷ", "oà" as "hòa", "thủy", "khỏe", "ủy", "òa".

    Also moves a misplaced tone to the second vowel in closed syllables ("hòan" → "hoàn").
    Other text is returned unchanged (in NFC).
    """
    return _WORD.sub(_fix_syllable, nfc(s))
