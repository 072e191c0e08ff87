"""Vietnamese personal names and the ASCII local parts made from them.

A Vietnamese name is written family name first, given name last:
"Nguyễn Thị Minh Hằng" = family "Nguyễn", middle "Thị Minh", given "Hằng".
A template such as ``{given}{initials}`` turns it into ``hangntm``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from govmail.directory.errors import DirectoryError

PLACEHOLDERS = ("given", "family", "middle", "initials", "given_initial", "family_initials")
_LOCAL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_SEPARATORS = "._-"


def ascii_fold(text: str) -> str:
    """Lower-case ASCII: diacritics removed, đ -> d, everything else non-alphanumeric dropped."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return re.sub(r"[^a-z0-9 ]+", "", text.lower())


@dataclass(frozen=True, slots=True)
class NameParts:
    family: str
    middle: tuple[str, ...]
    given: str

    @property
    def words(self) -> tuple[str, ...]:
        return (self.family, *self.middle, self.given) if self.family else (self.given,)


def split_name(full_name: str) -> NameParts:
    """Split a full name into family, middle and given parts, each folded to ASCII."""
    words = [w for w in (ascii_fold(p) for p in full_name.split()) if w]
    if not words:
        raise DirectoryError("name.folds_to_nothing", name=full_name)
    if len(words) == 1:
        return NameParts("", (), words[0])
    return NameParts(words[0], tuple(words[1:-1]), words[-1])


def validate_template(template: str) -> None:
    names = re.findall(r"\{([^}]*)\}", template)
    if not names or ("given" not in names and "family" not in names):
        raise DirectoryError("template.invalid", template=template)
    for n in names:
        if n not in PLACEHOLDERS:
            raise DirectoryError("template.unknown_placeholder", template=template, name=n)
    literal = re.sub(r"\{[^}]*\}", "", template)
    if any(c not in _SEPARATORS and not c.isalnum() for c in literal):
        raise DirectoryError("template.invalid", template=template)


def render_local_part(template: str, full_name: str) -> str:
    """Apply a template to a name: "{given}.{initials}" + "Đặng Văn Lâm" -> "lam.dv"."""
    validate_template(template)
    p = split_name(full_name)
    initials = "".join(w[0] for w in (p.family, *p.middle) if w)
    values = {
        "given": p.given,
        "family": p.family,
        "middle": "".join(p.middle),
        "initials": initials,
        "family_initials": initials,
        "given_initial": p.given[:1],
    }
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    out = re.sub(r"([._-])[._-]+", r"\1", out).strip(_SEPARATORS)
    if not out:
        raise DirectoryError("name.folds_to_nothing", name=full_name)
    return out[:60]


def validate_local_part(local: str) -> str:
    local = local.strip().lower()
    if not _LOCAL_RE.match(local) or ".." in local:
        raise DirectoryError("address.invalid_local_part", local=local)
    return local


def first_free(base: str, taken: Collection[str], reserved: Collection[str] = ()) -> str:
    """``base`` if free, else ``base2``, ``base3``…: deterministic collision handling."""
    if base not in taken and base not in reserved:
        return base
    n = 2
    while f"{base}{n}" in taken or f"{base}{n}" in reserved:
        n += 1
    return f"{base}{n}"
