"""The "Nơi nhận" (recipients) block of an official document: lines → intents → mailboxes.

``parse_block`` (pure) reads a pasted block such as::

    Nơi nhận:
    - Như trên;
    - Các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ;
    - UBND các tỉnh, thành phố trực thuộc TW;
    - Sở TT&TT các tỉnh, thành phố trực thuộc TW (qua thư điện tử);
    - Bộ trưởng (để b/c);
    - Lưu: VT, THH.

into one ``RecipientLine`` per entry with its intent (the national groups, "Như trên" = the
Kính gửi list, "Lưu: …" = the issuing agency's archive copies, its leaders, its units,
the Government's leaders, an e-mail address, or a named agency) and its remarks
("(qua thư điện tử)" = by mail, "(để b/c)" = for reporting, …).

``RecipientResolver.resolve`` turns the lines into directory groups, agency mailboxes and
people, each with an explanation, and lists the lines it could not resolve together with
the question to ask. Named agencies are looked up in this installation's directory first,
then in the national directory data (``directory.demo_data``: codes, names, aliases and
domains of the ministries, the provinces and their units), which gives the agency mailbox
of an agency hosted by another installation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from govmail.directory import demo_data
from govmail.directory.demo import MIC_CODE, NATIONAL_GROUPS, agency_mailbox_local
from govmail.directory.resolve import normalize_address
from govmail.directory.service import DirectoryOps
from govmail.i18n import t
from govmail.mail.textfold import fold
from govmail.store.models import Agency, Mailbox

__all__ = [
    "LineResolution",
    "Msg",
    "RecipientLine",
    "RecipientPlan",
    "RecipientResolver",
    "Target",
    "parse_block",
]

Intent = Literal[
    "as_above",
    "archive",
    "national_group",
    "issuer_units",
    "issuer_leaders",
    "government_leaders",
    "address",
    "agency",
]
Flag = Literal["by_mail", "for_reporting", "for_information", "for_action", "for_coordination"]

_FLAG_PATTERNS: tuple[tuple[str, Flag], ...] = (
    (r"qua (he thong )?thu dien tu|qua email|qua e-mail|ban dien tu", "by_mail"),
    (r"de b/?c|de bao cao", "for_reporting"),
    (r"de biet|de theo doi", "for_information"),
    (r"de thuc hien|de th/?h", "for_action"),
    (r"de phoi hop|de p/?h", "for_coordination"),
)
_BULLET_RE = re.compile(r"^\s*(?:[-–—+•*]|\d{1,3}[.)])\s*")
_HEADING_RE = re.compile(r"^\s*\**\s*(n[ơo]i nh[ậa]n|k[íi]nh g[ửu]i)\s*\**\s*:?\s*\**\s*", re.I)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ARCHIVE_RE = re.compile(r"^l[ưu]u\b\s*:?\s*(.*)$", re.I)
_PARENS_RE = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True, slots=True)
class Msg:
    """A translatable sentence: a catalogue key and its parameters."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.params)


@dataclass(slots=True)
class RecipientLine:
    number: int  # 1-based position in the block
    text: str  # the entry as written (NFC, bullet and final ";" or "." removed)
    name: str  # the entry without its remarks in parentheses
    intent: Intent
    flags: list[Flag] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # other parenthesised remarks
    group: str = ""  # national_group: the local part (cacbo, cactinh, sotttt, cnttbo)
    units: list[str] = field(default_factory=list)  # archive: "VT", "THH (UDCN/TTDN)"…
    titles: list[str] = field(default_factory=list)  # issuer_leaders: "Bộ trưởng"…
    addresses: list[str] = field(default_factory=list)  # address


def _clean_entry(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("**", "").replace("\t", " ")
    text = _BULLET_RE.sub("", text)
    text = " ".join(text.split())
    return text.rstrip(" ;.,").strip()


def _split_entries(block: str) -> list[str]:
    lines = [ln for ln in unicodedata.normalize("NFC", block).replace("\r", "").split("\n")]
    entries: list[str] = []
    current: list[str] = []
    bulleted = any(_BULLET_RE.match(ln) for ln in lines if ln.strip())

    def flush() -> None:
        if current:
            entries.append(" ".join(current))
            current.clear()

    for raw in lines:
        line = raw.strip()
        heading = _HEADING_RE.match(line)
        if heading:
            flush()
            line = line[heading.end() :].strip()
            if not line:
                continue
        if not line or line.replace("*", "").strip() == "":
            flush()
            continue
        starts_new = bool(_BULLET_RE.match(line)) or not bulleted
        previous_open = bool(current) and not current[-1].rstrip().endswith((";", ".", ":"))
        if current and previous_open and line[:1].islower() and not _BULLET_RE.match(line):
            current.append(line)  # a wrapped line of the same entry
            continue
        if starts_new or not current:
            flush()
        current.append(line)
    flush()
    return [e for e in (_clean_entry(x) for x in entries) if e]


def _flags(text: str) -> tuple[str, list[Flag], list[str]]:
    flags: list[Flag] = []
    remarks: list[str] = []
    for inner in _PARENS_RE.findall(text):
        folded = fold(inner)
        matched = False
        for pattern, flag in _FLAG_PATTERNS:
            if re.search(pattern, folded):
                if flag not in flags:
                    flags.append(flag)
                matched = True
        if not matched:
            remarks.append(inner.strip())
    name = " ".join(_PARENS_RE.sub(" ", text).split()).strip(" ,;.")
    return name, flags, remarks


_GROUP_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cnttbo", re.compile(r"^(cac )?don vi chuyen trach (ve )?(cntt|cong nghe thong tin)")),
    (
        "sotttt",
        re.compile(
            r"^(cac )?so (tt ?& ?tt|tttt|ttvtt|thong tin va truyen thong)\b"
            r"(?=.*\b(cac tinh|tinh, thanh pho)|\s*$)"
        ),
    ),
    (
        "cactinh",
        re.compile(
            r"^(cac )?(ubnd|uy ban nhan dan) (cac )?tinh,? (va )?(cac )?thanh pho"
            r"( truc thuoc (tw|trung uong))?"
        ),
    ),
    (
        "cacbo",
        re.compile(r"^(cac )?bo, (cac )?(co quan ngang bo|nganh)"),
    ),
)
_GOVERNMENT_RE = re.compile(r"^(cac )?(thu tuong|pho thu tuong|pttg|ttg)\b")
_LEADER_TITLES_RE = re.compile(
    r"^(cac |va cac )?(bo truong|thu truong|chu tich|pho chu tich|giam doc|pho giam doc|"
    r"lanh dao( bo| uy ban| so)?|thu truong co quan)\b"
)
_ISSUER_UNITS_RE = re.compile(
    r"^(cac )?(co quan, )?(cac )?(don vi|co quan)( truc)? thuoc (bo|so|uy ban|ubnd)$"
    r"|^(cac )?(co quan, )?don vi truc thuoc$"
)
_AS_ABOVE_RE = re.compile(r"^nhu tren$")
_TITLE_WORDS = (
    "Bộ trưởng",
    "Thứ trưởng",
    "Phó Chủ tịch",
    "Chủ tịch",
    "Phó Giám đốc",
    "Giám đốc",
)


def _classify(number: int, text: str) -> RecipientLine:
    name, flags, remarks = _flags(text)
    folded = fold(name)
    line = RecipientLine(number, text, name, "agency", flags, remarks)
    archive = _ARCHIVE_RE.match(text)
    if archive:
        line.intent = "archive"
        rest = archive.group(1)
        line.units = [u.strip() for u in re.split(r",(?![^()]*\))", rest) if u.strip(" .;")]
        line.remarks = []
        line.flags = []
        return line
    if _AS_ABOVE_RE.match(folded):
        line.intent = "as_above"
        return line
    emails = _EMAIL_RE.findall(text)
    if emails:
        line.intent = "address"
        line.addresses = [normalize_address(e) for e in emails]
        return line
    for group, pattern in _GROUP_RULES:
        if pattern.search(folded):
            line.intent = "national_group"
            line.group = group
            return line
    if _GOVERNMENT_RE.match(folded):
        line.intent = "government_leaders"
        return line
    if _ISSUER_UNITS_RE.match(folded):
        line.intent = "issuer_units"
        return line
    leader = _LEADER_TITLES_RE.match(folded)
    if leader and not _OTHER_AGENCY_RE.search(folded[leader.end() :]):
        line.intent = "issuer_leaders"
        line.titles = [title for title in _TITLE_WORDS if _has_title(folded, title)]
        if not line.titles:  # "Lãnh đạo Bộ": every leader of the issuer
            line.titles = list(_TITLE_WORDS)
        return line
    return line


def _has_title(folded: str, title: str) -> bool:
    key = fold(title)
    for m in re.finditer(rf"\b{re.escape(key)}\b", folded):
        if not folded[: m.start()].endswith("pho "):  # "Phó Chủ tịch" is not "Chủ tịch"
            return True
    return False


# After a title: "Bộ trưởng Bộ Nội vụ" names another agency's head, not the issuer's.
_OTHER_AGENCY_RE = re.compile(r"\b(bo|so|cuc|ubnd|uy ban nhan dan|tinh|thanh pho) [a-z]")


def parse_block(block: str) -> list[RecipientLine]:
    """One ``RecipientLine`` per entry of a "Nơi nhận" or "Kính gửi" block."""
    return [_classify(i, text) for i, text in enumerate(_split_entries(block), 1)]


# --------------------------------------------------------------------------- resolution

TargetKind = Literal["agency", "group", "person", "address"]


@dataclass(slots=True)
class Target:
    address: str
    name: str
    kind: TargetKind
    organ_id: str = ""
    local: bool = True
    internal: bool = False  # an archive copy: recorded, not sent
    remote_group: bool = False  # a group hosted by another installation

    @property
    def sent(self) -> bool:
        return not self.internal


@dataclass(slots=True)
class LineResolution:
    line: RecipientLine
    targets: list[Target] = field(default_factory=list)
    explanation: Msg | None = None
    question: Msg | None = None
    answered: bool = False  # targets come from the user's answer
    skipped: bool = False  # the user chose not to send to this line

    @property
    def resolved(self) -> bool:
        return self.question is None or self.skipped


@dataclass(slots=True)
class RecipientPlan:
    lines: list[LineResolution]
    addressees: list[LineResolution]  # the Kính gửi lines

    @property
    def unresolved(self) -> list[LineResolution]:
        return [r for r in self.lines if not r.resolved]

    def targets(self) -> list[Target]:
        """Every distinct target; the first line that names an address decides its details."""
        out: dict[str, Target] = {}
        for r in self.lines:
            if r.skipped:
                continue
            for tg in r.targets:
                if tg.address not in out or (out[tg.address].internal and not tg.internal):
                    out[tg.address] = tg
        return list(out.values())

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "line": r.line.number,
                "text": r.line.text,
                "intent": r.line.intent,
                "flags": list(r.line.flags),
                "targets": [
                    {
                        "address": tg.address,
                        "name": tg.name,
                        "kind": tg.kind,
                        "organ_id": tg.organ_id,
                        "internal": tg.internal,
                    }
                    for tg in r.targets
                ],
                "explanation": None if r.explanation is None else r.explanation.text("vi"),
                "explanation_key": None if r.explanation is None else r.explanation.key,
                "explanation_params": {} if r.explanation is None else dict(r.explanation.params),
                "unresolved": not r.resolved,
                "skipped": r.skipped,
            }
            for r in self.lines
        ]


_EXPANSIONS: tuple[tuple[str, str], ...] = (
    ("tt va tt", "thong tin va truyen thong"),
    ("tttt", "thong tin va truyen thong"),
    ("kh va dt", "ke hoach va dau tu"),
    ("khdt", "ke hoach va dau tu"),
    ("gd va dt", "giao duc va dao tao"),
    ("gddt", "giao duc va dao tao"),
    ("tn va mt", "tai nguyen va moi truong"),
    ("nn va ptnt", "nong nghiep va phat trien nong thon"),
    ("kh va cn", "khoa hoc va cong nghe"),
    ("khcn", "khoa hoc va cong nghe"),
    ("cntt", "cong nghe thong tin"),
    ("tw", "trung uong"),
)


def key_of(name: str) -> str:
    """Comparison key of an agency name: ``demo_data.name_key`` with the usual
    abbreviations written out ("Sở TT&TT" and "Sở Thông tin và Truyền thông" agree)."""
    k = f" {demo_data.name_key(name)} "
    for short, full in _EXPANSIONS:
        k = k.replace(f" {short} ", f" {full} ")
    return k.strip()


@cache
def _seed_index() -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, tuple[str, ...]]]]:
    """Keys of the national data: top-level agencies, and units per parent code."""
    top: dict[str, list[str]] = {}
    units: dict[str, dict[str, list[str]]] = {}
    for a in demo_data.iter_demo_agencies():
        keys = {key_of(a.name), *(key_of(x) for x in a.aliases)}
        if a.kind == "province" and a.place:
            keys.add(key_of(a.place))
        if a.symbol != "UBND":
            keys.add(key_of(a.symbol))
        keys.discard("")
        target = top if a.parent_code is None else units.setdefault(a.parent_code, {})
        for k in keys:
            target.setdefault(k, []).append(a.code)
    return (
        {k: tuple(v) for k, v in top.items()},
        {p: {k: tuple(v) for k, v in d.items()} for p, d in units.items()},
    )


def _unique(codes: Iterable[str]) -> str | None:
    found = list(dict.fromkeys(codes))
    return found[0] if len(found) == 1 else None


def seed_by_name(name: str) -> demo_data.AgencySeed | None:
    """An agency of the national data by its written name, units included
    ("Sở TT&TT tỉnh Phú Yên", "UBND thành phố Tuy Hòa", "Bộ Nội vụ")."""
    hit = demo_data.find_by_name(name)
    if hit is not None:
        return hit
    top, units = _seed_index()
    key = key_of(name)
    code = _unique(top.get(key, ()))
    if code:
        return demo_data.agency_by_code(code)
    words = key.split()
    for i in range(1, len(words)):
        parent_code = _unique(top.get(key_of(" ".join(words[i:])), ()))
        if parent_code is None:
            continue
        code = _unique(units.get(parent_code, {}).get(" ".join(words[:i]), ()))
        if code:
            return demo_data.agency_by_code(code)
    # A unit named without its parent, when only one agency has that name.
    code = _unique(c for d in units.values() for c in d.get(key, ()))
    return demo_data.agency_by_code(code) if code else None


class _LocalIndex:
    """This installation's agencies keyed like ``key_of``, per parent (None: top level),
    with the national data's aliases for agencies that carry a national code."""

    def __init__(self, agencies: Sequence[Agency], boxes: Mapping[int, Mailbox]) -> None:
        self.by_id = {a.id: a for a in agencies}
        self.by_code = {a.code: a for a in agencies if a.code}
        self.boxes = boxes
        keys: dict[int | None, dict[str, list[int]]] = {}
        for a in agencies:
            names = {a.name, a.short_name}
            if a.kind == "province" and a.place:
                names.add(a.place)
            names |= _seed_names(a)
            level = keys.setdefault(a.parent_id, {})
            for n in names:
                k = key_of(n)
                if k:
                    level.setdefault(k, []).append(a.id)
        self.keys = {p: {k: list(dict.fromkeys(v)) for k, v in d.items()} for p, d in keys.items()}

    def _one(self, parent: int | None, key: str) -> Agency | None:
        ids = self.keys.get(parent, {}).get(key, [])
        return self.by_id[ids[0]] if len(ids) == 1 else None

    def find(self, name: str) -> Agency | None:
        key = key_of(name)
        hit = self._one(None, key)
        if hit is not None:
            return hit
        words = key.split()
        for i in range(1, len(words)):
            parent = self._one(None, key_of(" ".join(words[i:])))
            if parent is not None:
                unit = self._one(parent.id, " ".join(words[:i]))
                if unit is not None:
                    return unit
        ids = [i for d in self.keys.values() for i in d.get(key, [])]
        ids = list(dict.fromkeys(ids))
        return self.by_id[ids[0]] if len(ids) == 1 else None


def _seed_names(a: Agency) -> set[str]:
    """Other names of a local agency that carries a code of the national data."""
    if not a.code:
        return set()
    try:
        seed = demo_data.agency_by_code(a.code)
    except demo_data.DemoDataError:
        return set()
    names = {seed.name, *seed.aliases}
    if seed.symbol != "UBND":
        names.add(seed.symbol)
    if seed.kind == "province" and seed.place:
        names.add(seed.place)
    return names


class RecipientResolver:
    """Resolves parsed lines against the directory, for documents issued by ``issuer``."""

    def __init__(self, ops: DirectoryOps, issuer: Agency, local_domains: set[str]) -> None:
        self.ops = ops
        self.issuer = issuer
        self.local_domains = local_domains
        self._index: _LocalIndex | None = None

    async def _local(self) -> _LocalIndex:
        if self._index is None:
            agencies = await self.ops.repo.agencies()
            boxes = await self.ops.repo.agency_mailboxes_of([a.id for a in agencies])
            by_agency: dict[int, Mailbox] = {}
            for m in boxes:
                if m.agency_id is not None and m.agency_id not in by_agency:
                    by_agency[m.agency_id] = m
            self._index = _LocalIndex(agencies, by_agency)
        return self._index

    async def resolve(
        self,
        lines: Sequence[RecipientLine],
        addressees: Sequence[RecipientLine] = (),
        answers: Mapping[int, str] | None = None,
    ) -> RecipientPlan:
        """Resolve every line. ``answers`` maps a line number to the user's answer for a
        line that needed one: e-mail addresses or agency names, or "-" to skip the line."""
        answers = answers or {}
        kinh_gui = [await self._resolve_line(ln) for ln in addressees]
        out: list[LineResolution] = []
        for ln in lines:
            if ln.intent == "as_above":
                r = self._as_above(ln, kinh_gui)
            else:
                r = await self._resolve_line(ln)
            answer = answers.get(ln.number, "").strip()
            if answer:
                r = await self._answer(ln, answer, r)
            out.append(r)
        if not lines and kinh_gui:
            out = list(kinh_gui)  # no Nơi nhận block: the Kính gửi list is the recipients
        return RecipientPlan(out, kinh_gui)

    async def _answer(
        self, ln: RecipientLine, answer: str, before: LineResolution
    ) -> LineResolution:
        if answer in ("-", "bo qua", "bỏ qua", "skip"):
            return LineResolution(
                ln,
                [],
                Msg("documents.recipients.skipped"),
                before.question,
                answered=True,
                skipped=True,
            )
        targets: list[Target] = []
        for part in re.split(r"[,;\n]+", answer):
            part = part.strip()
            if not part:
                continue
            if _EMAIL_RE.fullmatch(part):
                tg = await self._address_target(normalize_address(part))
            else:
                tg = await self._agency_target(part)
            if tg is None:
                return LineResolution(
                    ln,
                    [],
                    None,
                    Msg("documents.recipients.bad_answer", {"answer": part}),
                    answered=True,
                )
            targets.append(tg)
        names = ", ".join(tg.name or tg.address for tg in targets)
        return LineResolution(
            ln, targets, Msg("documents.recipients.answered", {"names": names}), answered=True
        )

    def _as_above(self, ln: RecipientLine, kinh_gui: list[LineResolution]) -> LineResolution:
        if not kinh_gui:
            return LineResolution(ln, question=Msg("documents.recipients.no_addressees"))
        missing = [r.line.text for r in kinh_gui if not r.resolved]
        targets = [tg for r in kinh_gui for tg in r.targets]
        if missing:
            return LineResolution(
                ln,
                targets,
                question=Msg(
                    "documents.recipients.addressee_unresolved", {"text": "; ".join(missing)}
                ),
            )
        names = "; ".join(r.line.name for r in kinh_gui)
        msg = Msg("documents.recipients.as_above", {"count": len(targets), "names": names})
        return LineResolution(ln, targets, msg)

    async def _resolve_line(self, ln: RecipientLine) -> LineResolution:
        handler = {
            "archive": self._archive,
            "national_group": self._group,
            "issuer_units": self._issuer_units,
            "issuer_leaders": self._leaders,
            "government_leaders": self._government,
            "address": self._addresses,
            "agency": self._named,
        }.get(ln.intent)
        if handler is None:
            return LineResolution(ln, question=Msg("documents.recipients.no_addressees"))
        return await handler(ln)

    # -- one intent each -----------------------------------------------------------------
    async def _archive(self, ln: RecipientLine) -> LineResolution:
        local = await self._local()
        targets: list[Target] = []
        names: list[str] = []
        for unit in ln.units:
            main = unit.split("(", 1)[0].strip(" .;")
            if fold(main) in ("vt", "van thu"):
                box = local.boxes.get(self.issuer.id)
                names.append(t("documents.recipients.archive_clerk", "vi"))
                if box is not None:
                    targets.append(
                        Target(
                            box.address,
                            box.full_name,
                            "agency",
                            self.issuer.code or "",
                            internal=True,
                        )
                    )
                continue
            agency = self._issuer_unit(local, main)
            names.append(agency.name if agency else main)
            if agency is not None and agency.id in local.boxes:
                box = local.boxes[agency.id]
                targets.append(
                    Target(box.address, agency.name, "agency", agency.code or "", internal=True)
                )
        return LineResolution(
            ln, targets, Msg("documents.recipients.archive", {"units": ", ".join(names)})
        )

    def _issuer_unit(self, local: _LocalIndex, symbol: str) -> Agency | None:
        key = key_of(symbol)
        hits = [
            a
            for a in local.by_id.values()
            if a.parent_id == self.issuer.id
            and key in {key_of(n) for n in (a.short_name, a.name, *_seed_names(a))}
        ]
        return hits[0] if len(hits) == 1 else None

    async def _group(self, ln: RecipientLine) -> LineResolution:
        local_part = ln.group
        name = next(n for lp, n, _rule in NATIONAL_GROUPS if lp == local_part)
        domain = await self._mic_domain()
        address = f"{local_part}@{domain}"
        group = await self.ops.repo.group_by_address(address)
        if group is not None:
            members = await self.ops.expand_group(address)
            if not members:
                return LineResolution(
                    ln,
                    question=Msg(
                        "documents.recipients.group_empty", {"name": group.name, "address": address}
                    ),
                )
            return LineResolution(
                ln,
                [Target(address, group.name, "group")],
                Msg(
                    "documents.recipients.group",
                    {"name": group.name, "address": address, "count": len(members)},
                ),
            )
        if domain not in self.local_domains:
            return LineResolution(
                ln,
                [Target(address, name, "group", local=False, remote_group=True)],
                Msg("documents.recipients.group_remote", {"name": name, "address": address}),
            )
        msg = Msg("documents.recipients.group_missing", {"name": name, "address": address})
        return LineResolution(ln, question=msg)

    async def _mic_domain(self) -> str:
        mic = await self.ops.repo.agency_by_code(MIC_CODE)
        if mic is not None:
            return (await self.ops.agency_domain(mic)).name
        return demo_data.domain_of(MIC_CODE)

    async def _issuer_units(self, ln: RecipientLine) -> LineResolution:
        local = await self._local()
        units = [a for a in local.by_id.values() if a.parent_id == self.issuer.id]
        targets = [
            Target(local.boxes[a.id].address, a.name, "agency", a.code or "")
            for a in units
            if a.id in local.boxes
        ]
        if not targets:
            return LineResolution(
                ln, question=Msg("documents.recipients.no_units", {"agency": self.issuer.name})
            )
        return LineResolution(
            ln,
            targets,
            Msg(
                "documents.recipients.issuer_units",
                {"count": len(targets), "agency": self.issuer.name},
            ),
        )

    async def _leaders(self, ln: RecipientLine) -> LineResolution:
        people = await self.ops.repo.mailboxes(
            agency_ids=[self.issuer.id], kind="person", statuses=["active"]
        )
        wanted = {fold(x) for x in ln.titles}
        targets = [
            Target(m.address, f"{m.full_name} ({m.position})", "person", internal=False)
            for m in people
            if m.position and fold(m.position) in wanted
        ]
        if not targets:
            return LineResolution(
                ln,
                question=Msg(
                    "documents.recipients.no_leaders",
                    {"titles": ", ".join(ln.titles) or ln.name, "agency": self.issuer.name},
                ),
            )
        names = ", ".join(tg.name for tg in targets)
        return LineResolution(ln, targets, Msg("documents.recipients.leaders", {"names": names}))

    async def _government(self, ln: RecipientLine) -> LineResolution:
        vpcp = await self._code_target("000.00.00.G22")
        if vpcp is None:
            return LineResolution(
                ln, question=Msg("documents.recipients.unresolved", {"text": ln.name})
            )
        return LineResolution(
            ln, [vpcp], Msg("documents.recipients.government", {"address": vpcp.address})
        )

    async def _addresses(self, ln: RecipientLine) -> LineResolution:
        targets: list[Target] = []
        for a in ln.addresses:
            tg = await self._address_target(a)
            if tg is None:
                return LineResolution(
                    ln, question=Msg("documents.recipients.unknown_address", {"address": a})
                )
            targets.append(tg)
        return LineResolution(
            ln,
            targets,
            Msg(
                "documents.recipients.address",
                {"addresses": ", ".join(tg.address for tg in targets)},
            ),
        )

    async def _named(self, ln: RecipientLine) -> LineResolution:
        tg = await self._agency_target(ln.name)
        if tg is None:
            return LineResolution(
                ln, question=Msg("documents.recipients.unresolved", {"text": ln.name})
            )
        key = "documents.recipients.agency" if tg.local else "documents.recipients.agency_remote"
        return LineResolution(
            ln, [tg], Msg(key, {"name": tg.name, "code": tg.organ_id or "—", "address": tg.address})
        )

    # -- lookups -------------------------------------------------------------------------
    async def _agency_target(self, name: str) -> Target | None:
        local = await self._local()
        agency = local.find(name)
        if agency is not None and agency.id in local.boxes:
            box = local.boxes[agency.id]
            return Target(box.address, agency.name, "agency", agency.code or "")
        seed = seed_by_name(name)
        if seed is None:
            return None
        return await self._code_target(seed.code)

    async def _code_target(self, code: str) -> Target | None:
        local = await self._local()
        agency = local.by_code.get(code)
        if agency is not None:
            box = local.boxes.get(agency.id)
            if box is None:
                return None
            return Target(box.address, agency.name, "agency", code)
        try:
            seed = demo_data.agency_by_code(code)
            domain = demo_data.domain_of(code)
        except demo_data.DemoDataError:
            return None
        address = f"{agency_mailbox_local(seed)}@{domain}"
        if domain in self.local_domains:
            # Our domain, but not in our directory: a guess would bounce; ask instead.
            return None
        return Target(address, seed.name, "agency", code, local=False)

    async def _address_target(self, address: str) -> Target | None:
        domain = address.rsplit("@", 1)[-1]
        if domain not in self.local_domains:
            return Target(address, address, "address", local=False)
        m = await self.ops.repo.mailbox_by_address(address)
        if m is not None:
            if m.kind == "agency" and m.agency_id is not None:
                agency = await self.ops.repo.agency_by_id(m.agency_id)
                return Target(address, m.full_name, "agency", (agency.code or "") if agency else "")
            return Target(address, m.full_name, "person")
        group = await self.ops.repo.group_by_address(address)
        if group is not None:
            return Target(address, group.name, "group")
        return None
