"""Sender authentication of mail from the Internet: SPF, DKIM and DMARC.

``SenderAuthCheck`` evaluates SPF (RFC 7208) for the envelope sender (or the HELO name
for the null sender), verifies every DKIM signature (RFC 6376), applies the From
domain's DMARC policy (RFC 7489) and records all of it in one ``Authentication-Results``
header field (RFC 8601).  It refuses or files in Junk only on a DMARC failure, and only
as far as the ``honour_dmarc`` setting allows; trouble with our own DNS never refuses.

Every DNS question goes to the servers of the given ``Resolver``: DMARC records through
the Resolver itself, SPF (pyspf) and DKIM (dkimpy), which are synchronous libraries
running in worker threads, through ``SyncDns``, a blocking twin of the Resolver asking
the same servers on the same port.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

import authres
import authres.dkim_b
import authres.dmarc
import dkim
import dkim.util
import dns.exception
import dns.name
import dns.resolver
import spf  # pyspf

from govmail.delivery.dns import DnsTemporaryError, Resolver
from govmail.i18n import both
from govmail.policy.base import Action, MessageContext, Verdict

HONOUR_MODES = ("reject", "quarantine", "off")
DMARC_POLICIES = ("none", "quarantine", "reject")
MAX_DKIM_SIGNATURES = 10  # more are not verified (each costs a DNS lookup and an RSA check)
SPF_TIME_LIMIT = 20.0  # seconds for a whole SPF evaluation (RFC 7208 4.6.4)
SPF_CACHE_SECONDS = 300.0  # a sender's SPF verdict for one client address is reused this long

# Second-level public suffixes: the organisational domain of x.phuyen.gov.vn is
# phuyen.gov.vn, of x.example.com example.com (RFC 7489 3.2, simplified).
SECOND_LEVEL_SUFFIXES = frozenset(
    {
        "gov.vn", "com.vn", "edu.vn", "org.vn", "net.vn", "ac.vn", "int.vn", "info.vn",
        "biz.vn", "name.vn", "pro.vn", "health.vn",
        "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "edu.au",
        "gov.au", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "com.cn", "net.cn",
        "org.cn", "gov.cn", "edu.cn", "co.kr", "or.kr", "go.kr", "ac.kr", "com.sg",
        "gov.sg", "edu.sg", "com.my", "gov.my", "co.th", "go.th", "ac.th", "com.tw",
        "com.hk", "co.in", "gov.in", "co.nz", "com.br",
    }
)  # fmt: skip


# --- blocking DNS for the synchronous libraries ----------------------------------------


class SyncDns:
    """Blocking lookups against given servers: for pyspf and dkimpy in worker threads."""

    def __init__(self, nameservers: Sequence[str], port: int = 53, timeout: float = 5.0):
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = list(nameservers)
        r.port = port
        r.timeout = timeout
        r.lifetime = timeout
        self._r = r
        self.timeout = timeout

    @classmethod
    def like(cls, resolver: Resolver, timeout: float = 5.0) -> SyncDns:
        """The same servers and port as ``resolver``."""
        return cls(resolver.nameservers, resolver.port, timeout)

    def query(self, name: str, rdtype: str) -> list[Any]:
        """The answer's records; [] for a name that does not exist, has no such record,
        or cannot be a DNS name.  Raises ``DnsTemporaryError`` when no answer came."""
        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, UnicodeError, ValueError):
            return []
        try:
            answer = self._r.resolve(qname, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return []
        except dns.exception.DNSException as exc:
            raise DnsTemporaryError(f"{rdtype} {name}: {exc}") from exc
        return list(answer)

    def txt(self, name: str) -> list[bytes]:
        return [b"".join(r.strings) for r in self.query(name, "TXT")]


# --- SPF ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpfResult:
    result: str  # pass fail softfail neutral none permerror temperror
    identity: str  # "mailfrom" or "helo"
    domain: str  # the domain checked; "" when there was none to check
    sender: str  # what smtp.mailfrom / smtp.helo reports
    client_ip: str
    problem: str = ""


class _SpfQuery(spf.query):  # type: ignore[misc]
    """pyspf's evaluator with its DNS questions sent to our servers.

    pyspf asks the system resolver through a module-level function; ``dns`` is the one
    method all its lookups go through, so overriding it redirects every lookup while the
    RFC 7208 logic (mechanisms, macros, lookup and void limits) stays pyspf's.
    """

    def __init__(self, lookup: SyncDns, deadline: float, **kw: Any) -> None:
        super().__init__(**kw)
        self._lookup = lookup
        self._deadline = deadline

    def dns(
        self, name: Any, qtype: str, cnames: Any = None, ignore_void: bool = False
    ) -> list[Any]:
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        key = (name, qtype)
        result: list[Any] | None = self.cache.get(key)
        if result is None:
            if time.monotonic() > self._deadline:
                raise spf.TempError("DNS: SPF evaluation took too long")
            try:
                rows = self._lookup.query(name, qtype)
            except DnsTemporaryError as exc:
                raise spf.TempError(f"DNS {exc}") from exc
            result = [_spf_value(qtype, r) for r in rows]
            self.cache[key] = result
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def _spf_value(qtype: str, r: Any) -> Any:
    """A record in the shape pyspf's own DNS driver returns."""
    if qtype in ("A", "AAAA"):
        return r.address
    if qtype == "MX":
        return (int(r.preference), r.exchange.to_text(omit_final_dot=True))
    if qtype == "PTR":
        return r.target.to_text(omit_final_dot=True)
    return tuple(r.strings)  # TXT / SPF: the character-strings, as bytes


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return ""


def check_spf(
    lookup: SyncDns,
    client_ip: str | None,
    mail_from: str,
    helo: str | None,
    *,
    time_limit: float = SPF_TIME_LIMIT,
) -> SpfResult:
    """check_host() for MAIL FROM, or for the HELO name when MAIL FROM is null (RFC 7208
    2.4).  Blocking: call it in a worker thread."""
    helo = (helo or "").strip().rstrip(".")
    if mail_from:
        identity = "mailfrom"
        local, _, domain = mail_from.rpartition("@")
        domain = _ascii_domain(domain) if local else ""
        sender = f"{local}@{domain}" if domain else mail_from
    else:
        identity = "helo"
        domain = "" if helo.startswith("[") else _ascii_domain(helo)
        local, sender = "postmaster", helo
    ip = client_ip or ""
    if not domain or "." not in domain:
        return SpfResult("none", identity, "", sender, ip, "no domain to check")
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return SpfResult("none", identity, domain, sender, ip, "no client address")
    q = _SpfQuery(
        lookup,
        time.monotonic() + time_limit,
        i=ip,
        s=f"{local}@{domain}",
        h=_ascii_domain(helo) or domain,
        timeout=lookup.timeout,
    )
    try:
        result, _code, explanation = q.check()
    except (spf.TempError, DnsTemporaryError) as exc:
        result, explanation = "temperror", str(exc)
    except Exception as exc:  # pyspf on a hostile record: an error of that record, not ours
        result, explanation = "permerror", f"{type(exc).__name__}: {exc}"
    if result not in ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"):
        result = "permerror"
    problem = explanation if result in ("permerror", "temperror") else ""
    return SpfResult(result, identity, domain, sender, ip, problem)


# --- DKIM --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DkimResult:
    result: str  # pass fail permerror temperror
    domain: str  # d=
    selector: str  # s=
    algorithm: str  # a=
    b: str  # the start of b=, telling signatures of one domain apart (RFC 6008)
    reason: str = ""


class _QuietLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """dkimpy logs a bad signature as an error; here it is a result, worth a debug line."""

    def log(self, level: int, msg: object, *args: Any, **kw: Any) -> None:
        super().log(logging.DEBUG, msg, *args, **kw)


_dkimpy_log = _QuietLog(logging.getLogger(__name__), {})


class _KeyFetch:
    """dkimpy's ``dnsfunc`` for one signature, remembering what the lookup gave."""

    def __init__(self, lookup: SyncDns) -> None:
        self.lookup = lookup
        self.temporary = False
        self.name = b""
        self.record: bytes | None = None

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        self.name = name
        try:
            records = self.lookup.txt(name.decode("ascii", "replace").rstrip("."))
        except DnsTemporaryError as exc:
            self.temporary = True
            raise dkim.DnsTimeoutError(str(exc)) from exc
        self.record = records[0] if records else None
        return self.record


def _signature_tags(value: bytes) -> dict[bytes, bytes]:
    try:
        return dict(dkim.util.parse_tag_value(value))
    except dkim.util.InvalidTagValueList:
        return {}


def _text(v: bytes | None) -> str:
    return (v or b"").decode("ascii", "replace").strip()


def verify_dkim(raw: bytes, lookup: SyncDns) -> list[DkimResult]:
    """One result per DKIM-Signature field, topmost first.  Blocking: call it in a
    worker thread."""
    try:
        d = dkim.DKIM(raw, logger=_dkimpy_log, minkey=1024, timeout=lookup.timeout)
    except Exception as exc:  # dkimpy on a malformed message
        if re.search(rb"(?im)^dkim-signature[ \t]*:", _header_block(raw)):
            return [DkimResult("permerror", "", "", "", "", f"unparsable message: {exc}")]
        return []
    sig_values = [v for k, v in d.headers if k.lower() == b"dkim-signature"]
    out: list[DkimResult] = []
    for idx, value in enumerate(sig_values[:MAX_DKIM_SIGNATURES]):
        tags = _signature_tags(value)

        def res(result: str, reason: str = "", tags: dict[bytes, bytes] = tags) -> DkimResult:
            return DkimResult(
                result,
                _text(tags.get(b"d")).lower(),
                _text(tags.get(b"s")),
                _text(tags.get(b"a")).lower(),
                re.sub(r"\s+", "", _text(tags.get(b"b")))[:12],
                reason,
            )

        try:
            d.verify_headerprep(idx)
        except dkim.DKIMException as exc:
            out.append(res("permerror", f"bad signature: {exc}"))
            continue
        fetch = _KeyFetch(lookup)
        try:
            ok = d.verify(idx=idx, dnsfunc=fetch)
        except dkim.ValidationError as exc:  # the signature parsed; the content changed
            out.append(res("fail", str(exc).split(" (", 1)[0]))
            continue
        except dkim.DKIMException as exc:
            out.append(res("permerror", str(exc)))
            continue
        except Exception as exc:  # dkimpy on a hostile signature or key: that sender's error
            out.append(res("permerror", f"{type(exc).__name__}: {exc}"))
            continue
        if ok:
            out.append(res("pass"))
        elif fetch.temporary:
            out.append(res("temperror", "key lookup failed"))
        elif fetch.record is None:
            out.append(res("permerror", "no key for signature"))
        else:
            out.append(_failed_key_check(fetch, res))
    return out


def _failed_key_check(fetch: _KeyFetch, res: Callable[..., DkimResult]) -> DkimResult:
    """Why a signature whose key record was found did not verify."""
    try:
        dkim.evaluate_pk(fetch.name, fetch.record)
    except (dkim.DKIMException, ValueError, TypeError):
        tags = _signature_tags(fetch.record or b"")
        if b"p" in tags and not tags[b"p"].strip():
            return res("fail", "key revoked")
        return res("permerror", "unusable key record")
    return res("fail", "signature did not verify")


# --- DMARC -------------------------------------------------------------------------------


class FromHeaderError(ValueError):
    """The message has no single RFC5322.From domain to apply DMARC to."""


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    domain: str  # where the record was found (the From domain or its organisational domain)
    p: str
    sp: str | None = None
    pct: int = 100
    adkim: str = "r"
    aspf: str = "r"


@dataclass(frozen=True, slots=True)
class DmarcResult:
    result: str  # pass fail none temperror permerror
    from_domain: str
    policy: str | None = None  # what the domain asks for failing mail (p=, or sp= for a subdomain)
    disposition: str = "none"  # what it asks for this message, after pct= sampling
    record: DmarcRecord | None = None
    reason: str = ""


def organisational_domain(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    n = 3 if ".".join(labels[-2:]) in SECOND_LEVEL_SUFFIXES else 2
    return ".".join(labels[-n:])


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    a, b = identifier.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not a or not b:
        return False
    return a == b if mode == "s" else organisational_domain(a) == organisational_domain(b)


_DMARC_START = re.compile(r"^[vV]\s*=\s*DMARC1\s*(;|$)")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)


def parse_dmarc_record(text: str, domain: str) -> DmarcRecord | None:
    """A DMARC record, or None when it is not one DMARC processing can use (RFC 7489
    6.3, 6.6.3): no valid p= (or a bad sp=) and no valid rua= to report to."""
    parts = [p.strip() for p in text.split(";")]
    if not parts or not re.fullmatch(r"[vV]\s*=\s*DMARC1", parts[0]):
        return None
    tags: dict[str, str] = {}
    for part in parts[1:]:
        name, eq, value = part.partition("=")
        if eq:
            tags.setdefault(name.strip().lower(), value.strip())
    p = tags.get("p", "").lower()
    sp: str | None = tags["sp"].lower() if "sp" in tags else None
    if p not in DMARC_POLICIES or (sp is not None and sp not in DMARC_POLICIES):
        rua = [u.strip() for u in tags.get("rua", "").split(",")]
        if not any(_URI.match(u) for u in rua):
            return None
        p, sp = "none", None
    pct = tags.get("pct", "100")
    return DmarcRecord(
        domain=domain,
        p=p,
        sp=sp,
        pct=int(pct) if pct.isdigit() and int(pct) <= 100 else 100,
        adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
        aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
    )


async def find_dmarc_record(resolver: Resolver, from_domain: str) -> DmarcRecord | None:
    """The record at _dmarc.<From domain>, else at _dmarc.<organisational domain>
    (RFC 7489 6.6.3).  Raises ``DnsTemporaryError``."""
    org = organisational_domain(from_domain)
    for candidate in dict.fromkeys((from_domain, org)):
        texts = [t for t in await resolver.txt(f"_dmarc.{candidate}") if _DMARC_START.match(t)]
        if not texts:
            continue
        if len(texts) > 1:
            return None
        return parse_dmarc_record(texts[0], candidate)
    return None


def _header_block(raw: bytes) -> bytes:
    """The header fields of ``raw``, each with its line break, without the blank line."""
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i != -1:
            end = min(end, i + len(sep) // 2)
    if raw.startswith((b"\r\n", b"\n")):
        end = 0
    return raw[:end]


def header_fields(raw: bytes, name: str) -> list[str]:
    """The unfolded values of every top-level header field called ``name``."""
    out: list[str] = []
    current: list[str] | None = None
    prefix = name.lower() + ":"
    # Lines end at LF only: str.splitlines() would also split at U+2028, FF and the like,
    # and see header fields that mail readers do not.
    for line in _header_block(raw).decode("utf-8", "replace").split("\n"):
        line = line.removesuffix("\r")
        if line[:1] in (" ", "\t"):
            if current is not None:
                current.append(line)
            continue
        if current is not None:
            out.append(" ".join(s.strip() for s in current).strip())
            current = None
        field, colon, value = line.partition(":")
        if colon and (field.rstrip().lower() + ":") == prefix:
            current = [value]
    if current is not None:
        out.append(" ".join(s.strip() for s in current).strip())
    return out


def header_from_domain(raw: bytes) -> str:
    """The one domain of the RFC5322.From field, in A-label form."""
    fields = header_fields(raw, "from")
    if len(fields) != 1:
        raise FromHeaderError(f"{len(fields)} From header fields")
    domains = {
        addr.rpartition("@")[2].strip().rstrip(".").lower()
        for _name, addr in getaddresses(fields)
        if "@" in addr
    }
    if len(domains) != 1:
        raise FromHeaderError("the From field has no single author domain")
    domain = _ascii_domain(domains.pop())
    if not domain or "." not in domain:
        raise FromHeaderError("the From domain is not a valid domain")
    return domain


def _downgrade(policy: str) -> str:
    return {"reject": "quarantine", "quarantine": "none"}.get(policy, "none")


async def evaluate_dmarc(
    resolver: Resolver,
    from_domain: str,
    spf_result: SpfResult | None,
    dkim_results: Sequence[DkimResult],
    sample: Callable[[], float] = random.random,
) -> DmarcResult:
    """DMARC for a From domain, given the SPF and DKIM results (RFC 7489 6.6)."""
    try:
        record = await find_dmarc_record(resolver, from_domain)
    except DnsTemporaryError as exc:
        return DmarcResult("temperror", from_domain, reason=f"DMARC record lookup: {exc}")
    if record is None:
        return DmarcResult("none", from_domain)
    subdomain = record.domain != from_domain
    policy = record.sp if subdomain and record.sp else record.p
    spf_ok = (
        spf_result is not None
        and spf_result.result == "pass"
        and aligned(spf_result.domain, from_domain, record.aspf)
    )
    dkim_ok = any(
        r.result == "pass" and aligned(r.domain, from_domain, record.adkim) for r in dkim_results
    )
    if spf_ok or dkim_ok:
        return DmarcResult("pass", from_domain, policy, "none", record)
    # An aligned identifier we could not check because of DNS: do not call it a failure.
    if (
        spf_result is not None
        and spf_result.result == "temperror"
        and aligned(spf_result.domain, from_domain, record.aspf)
    ) or any(
        r.result == "temperror" and aligned(r.domain, from_domain, record.adkim)
        for r in dkim_results
    ):
        return DmarcResult("temperror", from_domain, policy, "none", record, "DNS error")
    disposition = policy if sample() * 100 < record.pct else _downgrade(policy)
    return DmarcResult("fail", from_domain, policy, disposition, record)


# --- Authentication-Results --------------------------------------------------------------


def _comment(text: str) -> str:
    """Text safe inside an RFC 5322 comment."""
    return re.sub(r"[^\x20-\x7e]|[()\\]", " ", text).strip()[:200]


_SPF_COMMENTS = {
    "pass": "domain of {who} designates {ip} as permitted sender",
    "fail": "domain of {who} does not designate {ip} as permitted sender",
    "softfail": "domain of transitioning {who} does not designate {ip} as permitted sender",
    "neutral": "{ip} is neither permitted nor denied by domain of {who}",
    "none": "domain of {who} does not designate permitted sender hosts",
    "temperror": "error in processing during lookup of {who}",
    "permerror": "permanent error in processing domain of {who}",
}


def authentication_results(
    authserv_id: str,
    spf_result: SpfResult | None,
    dkim_results: Sequence[DkimResult],
    dmarc: DmarcResult | None,
) -> str:
    """The value of an Authentication-Results field (RFC 8601) for these results."""
    results: list[Any] = []
    if spf_result is not None:
        comment = _SPF_COMMENTS[spf_result.result].format(
            who=spf_result.sender or "sender", ip=spf_result.client_ip or "client"
        )
        if spf_result.problem and spf_result.result in ("permerror", "temperror"):
            comment = f"{comment}: {spf_result.problem}"
        r = authres.SPFAuthenticationResult(
            result=spf_result.result, result_comment=_comment(comment)
        )
        if spf_result.identity == "helo":
            r.smtp_helo = spf_result.sender or "unknown"
        else:
            r.smtp_mailfrom = spf_result.sender or "unknown"
        results.append(r)
    for d in dkim_results:
        r = authres.dkim_b.DKIMAuthenticationResult(
            result=d.result, reason=d.reason or None, header_d=d.domain or None
        )
        if d.selector:
            r.header_s = d.selector
        if d.algorithm:
            r.header_a = d.algorithm
        # header.b last: a quoted value (b= holding "/") followed by more properties is
        # read back without them by authres's own parser, and maybe by other readers.
        if d.b:
            r.header_b = d.b
        results.append(r)
    if dmarc is not None:
        comment = ""
        if dmarc.record is not None:
            rec = dmarc.record
            comment = f"p={rec.p} sp={rec.sp or rec.p} pct={rec.pct} dis={dmarc.disposition}"
        elif dmarc.reason:
            comment = dmarc.reason
        results.append(
            authres.dmarc.DMARCAuthenticationResult(
                result=dmarc.result,
                result_comment=_comment(comment) or None,
                header_from=dmarc.from_domain or None,
            )
        )
    header = authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=results)
    return str(header.header_value())


def strip_authentication_results(raw: bytes, authserv_id: str) -> bytes:
    """``raw`` without the Authentication-Results fields that claim to come from us:
    a message from outside must not carry them (RFC 8601 5)."""
    head = _header_block(raw)
    lines = re.split(rb"(?<=\n)", head)
    kept: list[bytes] = []
    dropping = False
    wanted = authserv_id.lower().encode()
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        name, colon, value = line.partition(b":")
        dropping = False
        if colon and name.strip().lower() == b"authentication-results":
            ident = re.sub(rb"\([^()]*\)", b" ", value).split(b";", 1)[0].strip().lower()
            dropping = ident == wanted
        if not dropping:
            kept.append(line)
    return b"".join(kept) + raw[len(head) :]


# --- the policy check --------------------------------------------------------------------


def _summary(results: Sequence[DkimResult]) -> str:
    found = {r.result for r in results}
    for r in ("pass", "fail", "temperror", "permerror"):
        if r in found:
            return r
    return "none"


class SenderAuthCheck:
    """SPF, DKIM and DMARC for mail arriving from the Internet (``source == "mx"``).

    ``honour_dmarc``: "reject" honours p=reject (refuse) and p=quarantine (Junk);
    "quarantine" files both in Junk; "off" only records the results.  Mail from
    ``trusted_networks`` (CIDRs, e.g. our own relays) is not SPF-checked and never
    refused or filed in Junk for DMARC.
    """

    name = "sender_auth"

    def __init__(
        self,
        resolver: Resolver,
        hostname: str,
        *,
        honour_dmarc: str = "reject",
        trusted_networks: Sequence[str] = (),
        dns_timeout: float = 5.0,
        sample: Callable[[], float] = random.random,
    ) -> None:
        if honour_dmarc not in HONOUR_MODES:
            raise ValueError(f"honour_dmarc must be one of {HONOUR_MODES}, not {honour_dmarc!r}")
        self.resolver = resolver
        self.hostname = hostname
        self.honour_dmarc = honour_dmarc
        self.trusted_networks = [ipaddress.ip_network(n, strict=False) for n in trusted_networks]
        self.sync_dns = SyncDns.like(resolver, dns_timeout)
        self._spf_cache: dict[tuple[str | None, str, str], tuple[float, SpfResult]] = {}
        self.sample = sample

    def applies(self, ctx: MessageContext) -> bool:
        return ctx.envelope.source == "mx"

    def trusted(self, client_ip: str | None) -> bool:
        if not client_ip or not self.trusted_networks:
            return False
        try:
            ip = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.trusted_networks)

    async def check(self, ctx: MessageContext) -> Verdict:
        env = ctx.envelope
        trusted = self.trusted(env.client_ip)

        async def spf_part() -> SpfResult | None:
            if trusted:
                return None
            key = (
                env.client_ip,
                env.mail_from.rpartition("@")[2].lower(),
                "" if env.mail_from else (env.helo or "").lower(),
            )
            cached = self._spf_cache.get(key)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            result = await asyncio.to_thread(
                check_spf, self.sync_dns, env.client_ip, env.mail_from, env.helo
            )
            if result.result != "temperror":
                if len(self._spf_cache) > 10_000:
                    self._spf_cache.clear()
                self._spf_cache[key] = (time.monotonic() + SPF_CACHE_SECONDS, result)
            return result

        async def dkim_part() -> list[DkimResult]:
            if b"dkim-signature:" not in _header_block(ctx.raw).lower():
                return []  # nothing to verify: no thread, no DNS
            return await asyncio.to_thread(verify_dkim, ctx.raw, self.sync_dns)

        spf_result, dkim_results = await asyncio.gather(spf_part(), dkim_part())
        try:
            from_domain = header_from_domain(ctx.raw)
        except FromHeaderError as exc:
            dmarc = DmarcResult("permerror", "", reason=str(exc))
        else:
            dmarc = await evaluate_dmarc(
                self.resolver, from_domain, spf_result, dkim_results, self.sample
            )

        facts: dict[str, Any] = {
            "spf": spf_result.result if spf_result else "skipped",
            "spf_domain": spf_result.domain if spf_result else None,
            "dkim": _summary(dkim_results),
            "dkim_results": [
                {"domain": r.domain, "selector": r.selector, "result": r.result, "reason": r.reason}
                for r in dkim_results
            ],
            "dmarc": dmarc.result,
            "dmarc_policy": dmarc.policy,
            "dmarc_disposition": dmarc.disposition,
            "from_domain": dmarc.from_domain or None,
            "trusted_network": trusted,
        }
        header = (
            "Authentication-Results",
            authentication_results(self.hostname, spf_result, dkim_results, dmarc),
        )
        verdict = Verdict(Action.TAG, self.name, headers=[header], facts=facts)

        if dmarc.result != "fail" or trusted or self.honour_dmarc == "off":
            return verdict
        if dmarc.disposition == "reject" and self.honour_dmarc == "reject":
            verdict.action, verdict.code, verdict.enhanced = Action.REFUSE, 550, "5.7.1"
            verdict.reason = both("policy.dmarc.reject", domain=dmarc.from_domain)
        elif dmarc.disposition in ("reject", "quarantine"):
            verdict.action = Action.JUNK
            verdict.reason = both("policy.dmarc.quarantine", domain=dmarc.from_domain)
        return verdict
