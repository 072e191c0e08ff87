"""Attachment-type policy and mail-bomb limits.

Refused kinds (``attachments.blocked_categories``, or an agency's own policy for mail to
it): executables (by name or by an "MZ"/ELF header, whatever the name), scripts,
macro-enabled Office files (by extension, by a vbaProject.bin inside OOXML, by a VBA
project inside an OLE file) and, optionally, any archive. Zip attachments are opened
(from their central directory, not decompressed) to check the names inside them and
their declared expansion (zip bombs); MIME nested deeper than ``max_mime_depth`` levels
is refused.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from govmail.config import AttachmentSettings
from govmail.i18n import both
from govmail.mail.parsed import BodyPart
from govmail.mail.transfer import decode_transfer
from govmail.policy.base import Action, MessageContext, Verdict
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo

Recorder = Callable[[str, str], None]
CATEGORIES = ("executable", "script", "macro", "archive")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


EXTENSIONS: dict[str, frozenset[str]] = {
    "executable": _words(
        "exe com scr pif bat cmd msi msp dll cpl jar apk app deb rpm lnk reg hta gadget msc "
        "scf sys drv ocx cab iso img vhd"
    ),
    "script": _words("js jse vbs vbe wsf wsh ps1 psm1 psd1 sh bash py pl rb ws"),
    "macro": _words("docm dotm xlsm xltm xlam xlsb pptm potm ppsm ppam sldm"),
    "archive": _words("zip rar 7z gz tgz bz2 xz tar z arj lzh ace"),
}
OOXML = _words("docx dotx xlsx xltx pptx potx ppsx docm dotm xlsm xltm pptm potm ppsm")
_VBA_OLE = "_VBA_PROJECT".encode("utf-16-le")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_ZIP_NESTING = 3
NESTED_ZIP_READ_LIMIT = 20 * 1024 * 1024
POLICY_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # a category, "zip_bomb", "bad_archive"
    filename: str


def extension(name: str) -> str:
    base = name.strip().strip(".").lower()
    return base.rsplit(".", 1)[1] if "." in base else ""


def categories_of_name(name: str) -> set[str]:
    ext = extension(name)
    return {cat for cat, exts in EXTENSIONS.items() if ext in exts}


def mime_depth(part: BodyPart, depth: int = 1) -> int:
    deepest = depth
    for child in part.parts:
        deepest = max(deepest, mime_depth(child, depth + 1))
    if part.message is not None:
        deepest = max(deepest, mime_depth(part.message.body, depth + 1))
    return deepest


def _leaves(part: BodyPart) -> Iterator[BodyPart]:
    if part.parts:
        for child in part.parts:
            yield from _leaves(child)
    elif part.message is not None:
        yield from _leaves(part.message.body)
    else:
        yield part


@dataclass(slots=True)
class Limits:
    max_ratio: int
    max_bytes: int


def inspect_content(name: str, data: bytes, limits: Limits, depth: int = 0) -> list[Finding]:
    """What is wrong with one attached file (its decoded content and its name)."""
    found = [Finding(cat, name) for cat in categories_of_name(name)]
    if data[:2] == b"MZ" or data[:4] == b"\x7fELF":
        found.append(Finding("executable", name))
    ext = extension(name)
    if data[:8] == _OLE_MAGIC and _VBA_OLE in data:
        found.append(Finding("macro", name))
    if data[:4] == b"PK\x03\x04" or ext in ("zip", *OOXML):
        found.extend(_inspect_zip(name, data, limits, depth, is_office=ext in OOXML))
    return found


def _inspect_zip(
    name: str, data: bytes, limits: Limits, depth: int, *, is_office: bool
) -> list[Finding]:
    found: list[Finding] = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return [Finding("bad_archive", name)]
    if not is_office:
        found.append(Finding("archive", name))
    declared = sum(i.file_size for i in infos)
    compressed = max(1, sum(i.compress_size for i in infos))
    if declared > limits.max_bytes or (
        declared > 1024 * 1024 and declared / compressed > limits.max_ratio
    ):
        return [*found, Finding("zip_bomb", name)]
    for info in infos:
        inner = info.filename.rsplit("/", 1)[-1]
        if is_office:
            if info.filename.lower().endswith("vbaproject.bin"):
                found.append(Finding("macro", name))
            continue
        for cat in categories_of_name(inner):
            if cat != "archive":
                found.append(Finding(cat, f"{name}/{inner}"))
        nested = extension(inner) == "zip" or extension(inner) in OOXML
        if nested and depth < MAX_ZIP_NESTING and info.file_size <= NESTED_ZIP_READ_LIMIT:
            if info.flag_bits & 0x1:
                continue  # encrypted: only its name can be judged
            try:
                content = zf.read(info)
            # zipfile raises NotImplementedError for a compression method it cannot read
            # (an attacker's choice as much as any damage): the archive is judged unreadable.
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
                found.append(Finding("bad_archive", f"{name}/{inner}"))
                continue
            found.extend(
                f
                for f in inspect_content(f"{name}/{inner}", content, limits, depth + 1)
                if f.kind != "archive" or depth + 1 >= MAX_ZIP_NESTING
            )
        elif nested and depth >= MAX_ZIP_NESTING:
            found.append(Finding("zip_bomb", f"{name}/{inner}"))
    return found


class AttachmentCheck:
    name = "attachments"

    def __init__(
        self, settings: AttachmentSettings, store: Store | None = None,
        record: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.record = record
        self._cache: dict[frozenset[int], tuple[float, set[str], set[str]]] = {}

    def applies(self, ctx: MessageContext) -> bool:
        return self.settings.enabled

    async def blocked_for(self, agency_ids: Iterable[int]) -> tuple[set[str], set[str]]:
        """(categories, extensions) refused for mail to these agencies."""
        default_cats = set(self.settings.blocked_categories)
        default_exts = {e.lower().lstrip(".") for e in self.settings.blocked_extensions}
        key = frozenset(agency_ids)
        if self.store is None or not key:
            return default_cats, default_exts
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        async with self.store.read() as tx:
            rows = await OpsRepo(tx.session, self.store.dialect).attachment_policies(key)
        cats: set[str] = set()
        exts: set[str] = set()
        for r in rows:
            cats |= set(r.blocked_categories)
            exts |= {e.lower().lstrip(".") for e in r.blocked_extensions}
        if len(rows) < len(key):  # some recipient agencies follow the default
            cats |= default_cats
            exts |= default_exts
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (now + POLICY_CACHE_SECONDS, cats, exts)
        return cats, exts

    def invalidate(self) -> None:
        self._cache.clear()

    def _count(self, outcome: str) -> None:
        if self.record is not None:
            self.record("attachment", outcome)

    async def check(self, ctx: MessageContext) -> Verdict:
        s = self.settings
        depth = mime_depth(ctx.parsed.body)
        if depth > s.max_mime_depth:
            self._count("too_deep")
            return Verdict.refuse(
                self.name, both("policy.attachment.too_deep", limit=s.max_mime_depth),
                550, "5.6.0", attachment="too_deep",
            )
        if not ctx.parsed.has_attachments and ctx.parsed.body.type == "text":
            return Verdict.accept(self.name)
        cats, exts = await self.blocked_for(ctx.recipient_agency_ids)
        limits = Limits(s.max_archive_ratio, s.max_archive_bytes)
        for part in _leaves(ctx.parsed.body):
            filename = part.filename
            if part.type == "text" and filename is None:
                continue
            data = decode_transfer(ctx.raw[part.body_start : part.body_end], part.encoding)
            name = filename or f"({part.media_type})"
            for f in inspect_content(name, data, limits):
                if f.kind == "zip_bomb":
                    self._count("zip_bomb")
                    return Verdict.refuse(
                        self.name, both("policy.attachment.zip_bomb", filename=f.filename),
                        552, "5.3.4", attachment="zip_bomb",
                    )
                if f.kind == "bad_archive":
                    self._count("bad_archive")
                    return Verdict.refuse(
                        self.name, both("policy.attachment.bad_archive", filename=f.filename),
                        550, "5.7.1", attachment="bad_archive",
                    )
                if f.kind in cats or extension(f.filename) in exts:
                    self._count(f.kind)
                    return Verdict.refuse(
                        self.name,
                        both("policy.attachment.blocked", filename=f.filename, kind=f.kind),
                        550, "5.7.1", attachment=f.kind,
                    )
            if filename and extension(filename) in exts:
                self._count("extension")
                return Verdict.refuse(
                    self.name,
                    both("policy.attachment.blocked", filename=filename,
                         kind=extension(filename)),
                    550, "5.7.1", attachment="extension",
                )
        return Verdict(Action.ACCEPT, self.name)
