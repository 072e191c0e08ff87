"""Policy checks for official documents, run by the delivery pipeline on every message.

* ``ClassifiedDocumentCheck`` (R8): a document marked Mật, Tối mật or Tuyệt mật never
  travels by mail. Markers: the ``X-Govmail-Confidentiality`` header govmail writes on a
  classified document, and a secrecy stamp in the subject ("[MẬT] …", "TỐI MẬT: …",
  uppercase as stamped; "mật khẩu" and "MẬT KHẨU" are not stamps). Not configurable.
* ``FreeMailDocumentCheck`` (R15): official documents to or from free public mail
  domains (gmail.com, yahoo.com, outlook.com, … and the agency's own additions) are
  refused or flagged, per agency.
* ``LegacyEncodingCheck`` (R9): Vietnamese written in TCVN3 (ABC), VNI-Windows or VISCII
  in the subject, the body or a text-bearing attachment (plain text, HTML, DOCX) is
  refused or flagged, per agency; for documents only (default) or for all mail.

A message is an official document when it carries an edXML package or the
``X-Govmail-Document`` header. Which agency's policy applies: the sender's for mail sent
by our users (authenticated doors), the recipients' (the strictest) for mail from the
Internet. An agency without its own policy follows its nearest ancestor's, then the
defaults (refuse). Every refusal carries a reason in Vietnamese and English.
"""

from __future__ import annotations

import html as html_lib
import io
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

from govmail.delivery.envelope import Envelope
from govmail.directory.service import Directory
from govmail.documents.decree30 import CONFIDENTIALITY, confidentiality
from govmail.documents.envelope import looks_like_edxml
from govmail.i18n import both
from govmail.mail.headers import decode_header_value
from govmail.mail.htmltext import html_to_text
from govmail.mail.parsed import ParsedMessage, PartNotFound, decoded_part, text_body
from govmail.mail.textfold import normalize_tone_placement
from govmail.mail.vnlegacy import LEGACY_ENCODINGS, decode_mojibake, detect, to_unicode
from govmail.policy.base import Action, MessageContext, PolicyCheck, Verdict
from govmail.store.db import Store
from govmail.store.models import Agency
from govmail.store.models_documents import DocumentPolicy
from govmail.store.repos.documents import DocumentsRepo

__all__ = [
    "CONFIDENTIALITY_HEADER",
    "DOCUMENT_HEADER",
    "FREE_MAIL_DOMAINS",
    "ClassifiedDocumentCheck",
    "EffectivePolicy",
    "FreeMailDocumentCheck",
    "LegacyEncodingCheck",
    "LegacyFinding",
    "PolicyBook",
    "classified_marker",
    "convert_docx",
    "convert_text",
    "document_checks",
    "header_values",
    "is_document",
    "is_free_mail",
    "legacy_findings",
    "package_parts",
]

DOCUMENT_HEADER: Final = "X-Govmail-Document"
CONFIDENTIALITY_HEADER: Final = "X-Govmail-Confidentiality"
POLICY_HEADER: Final = "X-Govmail-Policy"
Mode = Literal["refuse", "flag", "off"]
MODES: Final[tuple[str, ...]] = ("refuse", "flag", "off")
SCOPES: Final[tuple[str, ...]] = ("documents", "all")

# Free public mail services (R15). Subdomains count too (hn.vnn.vn). Agencies add their
# own in their policy; ``allowed_domains`` lifts an entry for one agency.
FREE_MAIL_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.com.vn",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "rocketmail.com",
        "outlook.com",
        "outlook.com.vn",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "mail.com",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "zoho.com",
        "zohomail.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "hushmail.com",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "sohu.com",
        "yeah.net",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "vnn.vn",  # VNPT's consumer mail (hn.vnn.vn, hcm.vnn.vn, …)
    }
)

_STAMP_RE = re.compile(r"(?:^|[\[(])\s*(TUYỆT MẬT|TỐI MẬT|MẬT)\s*(?:[\])]|:|-|–|$)")
_DOCX_TEXT_RE = re.compile(r"(<w:t(?:\s[^>]*)?>)([^<]*)(</w:t>)")
_LEGACY_FONT_RE = re.compile(r'(w:(?:ascii|hAnsi|cs|eastAsia)=")(\.Vn[^"]*|VNI-[^"]*|VNI [^"]*)(")')
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MAX_DOCX_XML = 32 * 1024 * 1024
MAX_SCANNED_PART = 8 * 1024 * 1024
MIN_CONFIDENCE = 0.5


# --------------------------------------------------------------------------- what a message is


def header_values(raw: bytes, parsed: ParsedMessage, name: str) -> list[str]:
    """Decoded values (RFC 2047) of a top-level header field, in order."""
    lname = name.lower()
    out: list[str] = []
    for h in parsed.headers:
        if h.name == lname:
            field_bytes = raw[h.offset : h.offset + h.length]
            value = field_bytes.split(b":", 1)[1] if b":" in field_bytes else b""
            out.append(" ".join(decode_header_value(value).split()))
    return out


def package_parts(raw: bytes, parsed: ParsedMessage) -> list[str]:
    """Part numbers of the edXML packages a message carries."""
    parts = []
    for a in parsed.attachments:
        name = (a.filename or "").lower()
        if name.endswith(".edxml") or a.content_type in ("application/xml", "text/xml"):
            parts.append(a.part)
    out = []
    for p in parts:
        try:
            data = decoded_part(raw, parsed, p)
        except PartNotFound:
            continue
        if looks_like_edxml(data):
            out.append(p)
    return out


def is_document(raw: bytes, parsed: ParsedMessage) -> bool:
    """Whether the message is an official document (edXML package or govmail header)."""
    return bool(header_values(raw, parsed, DOCUMENT_HEADER)) or bool(package_parts(raw, parsed))


def classified_marker(raw: bytes, parsed: ParsedMessage) -> str | None:
    """The confidentiality level the message is marked with ("Mật"…), or None."""
    for value in header_values(raw, parsed, CONFIDENTIALITY_HEADER):
        level = confidentiality(value)
        if level is not None:
            return level.name
    subject = normalize_tone_placement(unicodedata.normalize("NFC", parsed.subject or ""))
    m = _STAMP_RE.search(subject)
    if m:
        return next(lv.name for lv in CONFIDENTIALITY if lv.stamp == m.group(1))
    return None


def is_free_mail(domain: str, extra: Iterable[str] = (), allowed: Iterable[str] = ()) -> bool:
    domain = domain.lower().rstrip(".")
    allowed_set = {d.lower() for d in allowed}
    listed = FREE_MAIL_DOMAINS | {d.lower() for d in extra}
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in allowed_set:
            return False
        if candidate in listed:
            return True
    return False


# --------------------------------------------------------------------------- legacy text


@dataclass(frozen=True, slots=True)
class LegacyFinding:
    where: str  # "subject", "body", or an attachment's file name
    encoding: str  # tcvn3, vni, viscii, cp1258, viqr
    confidence: float


def _legacy(data: str | bytes) -> tuple[str, float] | None:
    d = detect(data)
    if d.is_legacy and d.confidence >= MIN_CONFIDENCE:
        return d.encoding, d.confidence
    return None


def docx_text(data: bytes) -> str | None:
    """The text of a DOCX (main part, headers, footers), or None when it is not one.
    Zip bombs and hostile XML give None (nothing is expanded past the limits)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [
                n
                for n in z.namelist()
                if n == "word/document.xml" or re.match(r"word/(header|footer)\d*\.xml$", n)
            ]
            if "word/document.xml" not in names:
                return None
            texts: list[str] = []
            budget = MAX_DOCX_XML
            for n in names:
                info = z.getinfo(n)
                if info.file_size > budget:
                    return None
                budget -= info.file_size
                root = fromstring(z.read(n), forbid_dtd=True)
                for para in root.iter(f"{{{_W_NS}}}p"):
                    texts.append("".join(t.text or "" for t in para.iter(f"{{{_W_NS}}}t")))
            return "\n".join(texts)
    except (zipfile.BadZipFile, DefusedXmlException, ValueError, KeyError, OSError):
        return None
    except Exception:  # ParseError and friends from hostile XML
        return None


def _text_of_part(data: bytes, content_type: str) -> str | bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # 8-bit: detect reads the bytes themselves
    if content_type == "text/html":
        text = html_to_text(text)
    return text


def _is_docx(name: str, content_type: str) -> bool:
    return name.lower().endswith(".docx") or content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


def legacy_findings(raw: bytes, parsed: ParsedMessage) -> list[LegacyFinding]:
    """Where the message holds Vietnamese in a legacy 8-bit encoding."""
    found: list[LegacyFinding] = []
    if parsed.subject and (hit := _legacy(parsed.subject)):
        found.append(LegacyFinding("subject", *hit))
    plain, html = text_body(raw, parsed)
    body = plain if plain is not None else (html_to_text(html) if html else "")
    if body and (hit := _legacy(body)):
        found.append(LegacyFinding("body", *hit))
    for a in parsed.attachments:
        name = a.filename or a.part
        ctype = a.content_type
        if not (ctype.startswith("text/") or _is_docx(name, ctype)):
            continue
        if ctype in ("application/xml", "text/xml") or name.lower().endswith(".edxml"):
            continue  # the envelope is written by a system, and its encoding is declared
        try:
            data = decoded_part(raw, parsed, a.part)
        except PartNotFound:
            continue
        if len(data) > MAX_SCANNED_PART and not _is_docx(name, ctype):
            data = data[:MAX_SCANNED_PART]
        if _is_docx(name, ctype):
            text = docx_text(data)
            hit = _legacy(text) if text else None
        else:
            hit = _legacy(_text_of_part(data, ctype))
        if hit:
            found.append(LegacyFinding(name, *hit))
    return found


def convert_text(text: str) -> str:
    """Text with any legacy-encoded Vietnamese turned into NFC Unicode."""
    hit = _legacy(text)
    if hit is None:
        return unicodedata.normalize("NFC", text)
    return decode_mojibake(text, hit[0])  # type: ignore[arg-type]


def convert_text_file(data: bytes) -> bytes:
    """A plain-text or HTML file's bytes in UTF-8, converted from a legacy encoding."""
    hit = _legacy(data)
    if hit is None:
        return data
    return to_unicode(data, hit[0]).encode("utf-8")  # type: ignore[arg-type]


def convert_docx(data: bytes) -> bytes:
    """A DOCX whose legacy-encoded text runs are rewritten in Unicode, with the legacy
    fonts (.VnTime…, VNI-…) replaced by Times New Roman. Everything else is kept byte
    for byte; a file that is not a readable DOCX is returned unchanged."""
    text = docx_text(data)
    hit = _legacy(text) if text else None
    if hit is None:
        return data
    encoding = hit[0]

    def fix_run(m: re.Match[str]) -> str:
        inner = html_lib.unescape(m.group(2))
        converted = decode_mojibake(inner, encoding)  # type: ignore[arg-type]
        return m.group(1) + html_lib.escape(converted, quote=False) + m.group(3)

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if re.match(
                r"word/(document|header\d*|footer\d*|styles|fontTable)\.xml$", info.filename
            ):
                xml = content.decode("utf-8")
                xml = _DOCX_TEXT_RE.sub(fix_run, xml)
                xml = _LEGACY_FONT_RE.sub(r"\1Times New Roman\3", xml)
                content = xml.encode("utf-8")
            dst.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# --------------------------------------------------------------------------- policies


@dataclass(slots=True)
class EffectivePolicy:
    free_mail: Mode = "refuse"
    legacy_text: Mode = "refuse"
    legacy_scope: str = "documents"
    extra_free_domains: list[str] = field(default_factory=list)
    allowed_domains: list[str] = field(default_factory=list)
    mandatory_types: list[str] = field(default_factory=list)
    agency_id: int | None = None  # the agency whose row this is (None: defaults)

    @classmethod
    def of(cls, row: DocumentPolicy | None) -> EffectivePolicy:
        if row is None:
            return cls()
        return cls(
            free_mail=row.free_mail if row.free_mail in MODES else "refuse",  # type: ignore[arg-type]
            legacy_text=row.legacy_text if row.legacy_text in MODES else "refuse",  # type: ignore[arg-type]
            legacy_scope=row.legacy_scope if row.legacy_scope in SCOPES else "documents",
            extra_free_domains=list(row.extra_free_domains or []),
            allowed_domains=list(row.allowed_domains or []),
            mandatory_types=list(row.mandatory_types or []),
            agency_id=row.agency_id,
        )


_SEVERITY = {"off": 0, "flag": 1, "refuse": 2}


def strictest(policies: Sequence[EffectivePolicy]) -> EffectivePolicy:
    if not policies:
        return EffectivePolicy()
    out = EffectivePolicy(
        free_mail=max((p.free_mail for p in policies), key=_SEVERITY.__getitem__),
        legacy_text=max((p.legacy_text for p in policies), key=_SEVERITY.__getitem__),
        legacy_scope="all" if any(p.legacy_scope == "all" for p in policies) else "documents",
    )
    for p in policies:
        out.extra_free_domains += p.extra_free_domains
    # A domain is allowed only when every agency concerned allows it.
    allowed = [set(p.allowed_domains) for p in policies]
    out.allowed_domains = sorted(set.intersection(*allowed)) if allowed else []
    return out


class PolicyBook:
    """Effective document policies per agency, read from the store and cached briefly
    (a change made elsewhere, e.g. by the CLI, shows within ``ttl`` seconds)."""

    def __init__(self, store: Store, directory: Directory, ttl: float = 5.0) -> None:
        self.store = store
        self.directory = directory
        self.ttl = ttl
        self._cache: dict[int, tuple[float, EffectivePolicy]] = {}
        self._sender_cache: dict[str, tuple[float, int | None]] = {}

    def invalidate(self) -> None:
        self._cache.clear()

    async def for_agency(self, agency_id: int | None) -> EffectivePolicy:
        if agency_id is None:
            return EffectivePolicy()
        now = time.monotonic()
        hit = self._cache.get(agency_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.store.read() as tx:
            agency = await tx.directory.agency_by_id(agency_id)
            chain = _ancestry(agency)
            rows = await DocumentsRepo(tx.session, self.store.dialect).policies(chain)
        policy = EffectivePolicy()
        for aid in reversed(chain):  # nearest first
            if aid in rows:
                policy = EffectivePolicy.of(rows[aid])
                break
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[agency_id] = (now + self.ttl, policy)
        return policy

    async def sender_agency(self, env: Envelope, parsed: ParsedMessage) -> int | None:
        """The agency of an authenticated sender (its From mailbox, else the login's)."""
        candidates = [a for a in (env.mail_from, parsed.from_addr, env.auth_user) if a]
        key = "|".join(candidates)
        now = time.monotonic()
        hit = self._sender_cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        agency_id = None
        async with self.directory.reader() as ops:
            for address in candidates:
                m = await ops.repo.mailbox_by_address(address)
                if m is not None and m.agency_id is not None:
                    agency_id = m.agency_id
                    break
        if len(self._sender_cache) > 10_000:
            self._sender_cache.clear()
        self._sender_cache[key] = (now + self.ttl, agency_id)
        return agency_id

    async def for_message(self, ctx: MessageContext) -> EffectivePolicy:
        """The policy of a message, computed once and shared by the checks."""
        policy = ctx.facts.get("document_policy")
        if policy is None:
            if ctx.envelope.authenticated:
                sender = await self.sender_agency(ctx.envelope, ctx.parsed)
                policy = await self.for_agency(sender)
            else:
                ids = sorted(ctx.recipient_agency_ids)
                policy = strictest([await self.for_agency(a) for a in ids])
            ctx.facts["document_policy"] = policy
        return policy  # type: ignore[no-any-return]


def _ancestry(agency: Agency | None) -> list[int]:
    if agency is None:
        return []
    return [int(x) for x in agency.path.strip("/").split("/") if x]


def _flag(check: str, reason: str, **facts: Any) -> Verdict:
    v = Verdict(Action.TAG, check, reason=reason, facts=dict(facts))
    v.headers = [(POLICY_HEADER, f"{check}; {reason}")]
    return v


class _DocumentFacts:
    """``is_document`` computed once per message and shared by the checks."""

    @staticmethod
    def get(ctx: MessageContext) -> bool:
        if "document" not in ctx.facts:
            ctx.facts["document"] = is_document(ctx.raw, ctx.parsed)
        return bool(ctx.facts["document"])


class ClassifiedDocumentCheck(PolicyCheck):
    name = "document_classified"

    def applies(self, ctx: MessageContext) -> bool:
        return True

    async def check(self, ctx: MessageContext) -> Verdict:
        level = classified_marker(ctx.raw, ctx.parsed)
        if level is None:
            return Verdict.accept(self.name)
        return Verdict.refuse(
            self.name,
            both("documents.policy.classified", level=level),
            550,
            "5.7.1",
            classified=level,
        )


class FreeMailDocumentCheck(PolicyCheck):
    name = "document_free_mail"

    def __init__(self, book: PolicyBook) -> None:
        self.book = book

    def applies(self, ctx: MessageContext) -> bool:
        return ctx.envelope.source != "system" and _DocumentFacts.get(ctx)

    async def check(self, ctx: MessageContext) -> Verdict:
        policy = await self.book.for_message(ctx)
        if policy.free_mail == "off":
            return Verdict.accept(self.name)
        env = ctx.envelope
        if env.authenticated:
            addresses = list(env.rcpt_to)
            key = "documents.policy.free_mail_to"
        else:
            addresses = [a for a in (env.mail_from, ctx.parsed.from_addr) if a]
            key = "documents.policy.free_mail_from"
        bad = [
            a
            for a in dict.fromkeys(x.lower() for x in addresses)
            if "@" in a
            and is_free_mail(a.rsplit("@", 1)[1], policy.extra_free_domains, policy.allowed_domains)
        ]
        if not bad:
            return Verdict.accept(self.name)
        reason = both(key, addresses=", ".join(bad))
        if policy.free_mail == "flag":
            return _flag(self.name, reason, free_mail=bad)
        return Verdict.refuse(self.name, reason, 550, "5.7.1", free_mail=bad)


class LegacyEncodingCheck(PolicyCheck):
    name = "document_legacy_encoding"

    def __init__(self, book: PolicyBook) -> None:
        self.book = book

    def applies(self, ctx: MessageContext) -> bool:
        return ctx.envelope.source != "system"

    async def check(self, ctx: MessageContext) -> Verdict:
        policy = await self.book.for_message(ctx)
        if policy.legacy_text == "off":
            return Verdict.accept(self.name)
        if policy.legacy_scope != "all" and not _DocumentFacts.get(ctx):
            return Verdict.accept(self.name)
        findings = legacy_findings(ctx.raw, ctx.parsed)
        if not findings:
            return Verdict.accept(self.name)
        where = ", ".join(
            f"{f.where} ({_ENCODING_NAMES.get(f.encoding, f.encoding)})" for f in findings
        )
        reason = both("documents.policy.legacy_text", where=where)
        facts = {"legacy": [f.encoding for f in findings]}
        if policy.legacy_text == "flag":
            return _flag(self.name, reason, **facts)
        return Verdict.refuse(self.name, reason, 550, "5.6.0", **facts)


_ENCODING_NAMES = {
    "tcvn3": "TCVN3/ABC",
    "vni": "VNI-Windows",
    "viscii": "VISCII",
    "cp1258": "Windows-1258",
    "viqr": "VIQR",
}
assert set(_ENCODING_NAMES) == set(LEGACY_ENCODINGS)


def document_checks(book: PolicyBook) -> list[PolicyCheck]:
    """The document policy checks, in the order the pipeline runs them."""
    return [ClassifiedDocumentCheck(), FreeMailDocumentCheck(book), LegacyEncodingCheck(book)]
