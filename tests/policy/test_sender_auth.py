"""SPF, DKIM and DMARC of mail from the Internet, against the loopback DNS server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, cast

import authres
import dns.message
import dns.rcode
import pytest
from tests.support.dns_server import DnsServer

from govmail.delivery.dkim_sign import dns_txt_record, generate_key, sign
from govmail.delivery.dns import Resolver
from govmail.delivery.envelope import Envelope
from govmail.i18n import t
from govmail.policy.base import Action, MessageContext, run_chain
from govmail.policy.sender_auth import (
    DkimResult,
    DmarcRecord,
    SenderAuthCheck,
    aligned,
    authentication_results,
    header_from_domain,
    organisational_domain,
    parse_dmarc_record,
    strip_authentication_results,
)

HOST = "mx.mic.gov.vn"
GOOD_IP = "203.0.113.5"
BAD_IP = "198.51.100.7"


class Dns(DnsServer):
    """The test server, plus names that answer SERVFAIL (a DNS failure on their side)."""

    def __init__(self) -> None:
        super().__init__()
        self.servfail: set[str] = set()

    def answer(self, wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        if q.question[0].name.to_text().lower().rstrip(".") in self.servfail:
            r = dns.message.make_response(q)
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        return super().answer(wire)


@pytest.fixture(scope="module")
def server() -> Iterator[Dns]:
    s = Dns()
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def zone(server: Dns) -> Dns:
    server.zone.clear()
    server.servfail.clear()
    return server


@pytest.fixture(scope="module")
def key() -> tuple[str, str]:
    return generate_key(1024)


def checker(server: DnsServer, **kw: Any) -> SenderAuthCheck:
    return SenderAuthCheck(Resolver(["127.0.0.1"], server.port, timeout=2), HOST, **kw)


def message(
    from_: str = "Phòng Hành chính <vanthu@phuyen.gov.vn>", body: str = "Kính gửi Quý cơ quan.\r\n"
) -> bytes:
    head = (
        f"From: {from_}\r\n"
        "To: ketoan@mic.gov.vn\r\n"
        "Subject: =?utf-8?b?Q8O0bmcgdsSDbg==?=\r\n"
        "Date: Mon, 6 May 2024 10:00:00 +0700\r\n"
        "Message-ID: <m1@phuyen.gov.vn>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
    )
    return (head + "\r\n" + body).encode()


def signed(
    raw: bytes, key: tuple[str, str], domain: str = "phuyen.gov.vn", sel: str = "s1"
) -> bytes:
    return sign(raw, domain, sel, key[0]) + raw


def publish_key(
    zone: DnsServer, key: tuple[str, str], domain: str = "phuyen.gov.vn", sel: str = "s1"
) -> None:
    zone.set(f"{sel}._domainkey.{domain}", "TXT", [dns_txt_record(key[1])])


def ctx(
    raw: bytes,
    mail_from: str = "vanthu@phuyen.gov.vn",
    ip: str = GOOD_IP,
    helo: str = "mail.phuyen.gov.vn",
    source: str = "mx",
) -> MessageContext:
    env = Envelope(mail_from, ["ketoan@mic.gov.vn"], source, client_ip=ip, helo=helo)  # type: ignore[arg-type]
    # The check reads only the envelope and the raw bytes.
    return MessageContext(env, raw, cast(Any, None))


def parse_header(value: str) -> dict[str, Any]:
    h = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + value)
    assert h.authserv_id == HOST
    out: dict[str, Any] = {}
    for r in h.results:
        props = {f"{p.type}.{p.name}": str(p.value) for p in r.properties}
        out.setdefault(r.method, []).append({"result": r.result, **props})
    return out


SPF = "v=spf1 ip4:203.0.113.0/24 -all"


# --- SPF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "ip", "expected"),
    [
        (SPF, GOOD_IP, "pass"),
        (SPF, BAD_IP, "fail"),
        ("v=spf1 ip4:203.0.113.0/24 ~all", BAD_IP, "softfail"),
        ("v=spf1 ?all", BAD_IP, "neutral"),
        (None, GOOD_IP, "none"),
        ("v=spf1 ip4:203.0.113.0/24 bogus -all", GOOD_IP, "permerror"),
    ],
)
async def test_spf_results(zone: Dns, record: str | None, ip: str, expected: str) -> None:
    zone.set("phuyen.gov.vn", "TXT", [record] if record else ["unrelated=1"])
    v = await checker(zone).check(ctx(message(), ip=ip))
    assert v.facts["spf"] == expected
    assert v.facts["spf_domain"] == "phuyen.gov.vn"
    spf = parse_header(v.headers[0][1])["spf"]
    assert spf == [{"result": expected, "smtp.mailfrom": "vanthu@phuyen.gov.vn"}]
    assert v.action == Action.TAG


async def test_spf_follows_include_mx_and_a_through_our_dns(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", ["v=spf1 mx include:_spf.mic.gov.vn -all"])
    zone.set("phuyen.gov.vn", "MX", ["10 mx1.phuyen.gov.vn."])
    zone.set("mx1.phuyen.gov.vn", "A", ["192.0.2.10"])
    zone.set("_spf.mic.gov.vn", "TXT", ["v=spf1 a:relay.mic.gov.vn -all"])
    zone.set("relay.mic.gov.vn", "A", ["192.0.2.20"])
    c = checker(zone)
    assert (await c.check(ctx(message(), ip="192.0.2.10"))).facts["spf"] == "pass"
    assert (await c.check(ctx(message(), ip="192.0.2.20"))).facts["spf"] == "pass"
    assert (await c.check(ctx(message(), ip="192.0.2.30"))).facts["spf"] == "fail"


async def test_spf_macros_exists_and_ptr_through_our_dns(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", ["v=spf1 exists:%{i}._ip.%{d} ptr -all"])
    zone.set("203.0.113.5._ip.phuyen.gov.vn", "A", ["127.0.0.2"])
    zone.set("9.2.0.192.in-addr.arpa", "PTR", ["relay.phuyen.gov.vn."])
    zone.set("relay.phuyen.gov.vn", "A", ["192.0.2.9"])
    c = checker(zone)
    assert (await c.check(ctx(message(), ip=GOOD_IP))).facts["spf"] == "pass"
    assert (await c.check(ctx(message(), ip="192.0.2.9"))).facts["spf"] == "pass"
    assert (await c.check(ctx(message(), ip="203.0.113.6"))).facts["spf"] == "fail"


async def test_spf_of_null_sender_checks_helo(zone: Dns) -> None:
    zone.set("mail.phuyen.gov.vn", "TXT", ["v=spf1 a -all"])
    zone.set("mail.phuyen.gov.vn", "A", [GOOD_IP])
    v = await checker(zone).check(ctx(message(), mail_from="", helo="mail.phuyen.gov.vn"))
    assert v.facts["spf"] == "pass" and v.facts["spf_domain"] == "mail.phuyen.gov.vn"
    assert parse_header(v.headers[0][1])["spf"] == [
        {"result": "pass", "smtp.helo": "mail.phuyen.gov.vn"}
    ]


async def test_unreachable_dns_is_temperror_and_never_refuses() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    c = SenderAuthCheck(Resolver(["127.0.0.1"], dead_port, timeout=0.3), HOST, dns_timeout=0.3)
    v = await c.check(ctx(message()))
    assert v.facts["spf"] == "temperror"
    assert v.facts["dmarc"] == "temperror"
    assert v.action == Action.TAG
    parsed = parse_header(v.headers[0][1])
    assert parsed["spf"][0]["result"] == "temperror"
    assert parsed["dmarc"][0]["result"] == "temperror"


async def test_trusted_network_skips_spf_and_is_not_refused(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject"])
    c = checker(zone, trusted_networks=["10.0.0.0/8", "2001:db8::/32"])
    v = await c.check(ctx(message(), ip="10.1.2.3"))
    assert v.facts["spf"] == "skipped" and v.facts["trusted_network"] is True
    assert "spf" not in parse_header(v.headers[0][1])
    assert v.facts["dmarc"] == "fail" and v.action == Action.TAG
    # Outside the trusted networks the same message is SPF-checked and refused.
    v = await c.check(ctx(message(), ip=BAD_IP))
    assert v.facts["spf"] == "fail" and v.action == Action.REFUSE


# --- DKIM ----------------------------------------------------------------------------------


async def test_dkim_pass_with_our_signer(zone: Dns, key: tuple[str, str]) -> None:
    publish_key(zone, key)
    v = await checker(zone).check(ctx(signed(message(), key), ip=BAD_IP))
    assert v.facts["dkim"] == "pass"
    assert v.facts["dkim_results"] == [
        {"domain": "phuyen.gov.vn", "selector": "s1", "result": "pass", "reason": ""}
    ]
    dkim_ar = parse_header(v.headers[0][1])["dkim"][0]
    assert dkim_ar["result"] == "pass" and dkim_ar["header.d"] == "phuyen.gov.vn"
    assert dkim_ar["header.s"] == "s1" and dkim_ar["header.a"] == "rsa-sha256"
    assert len(dkim_ar["header.b"].strip('"')) == 12


@pytest.mark.parametrize("b", ["Jl3/euXseOWR", "+bcdef012345", "abcdef012345"])
def test_dkim_properties_read_back_whatever_b_holds(b: str) -> None:
    """A b= value with "/" must be quoted (RFC 8601); what follows it was lost when read
    back (one signing key in six made the test above fail)."""
    value = authentication_results(
        HOST, None, [DkimResult("pass", "phuyen.gov.vn", "s1", "rsa-sha256", b)], None
    )
    dkim_ar = parse_header(value)["dkim"][0]
    assert (dkim_ar["header.d"], dkim_ar["header.s"], dkim_ar["header.a"]) == (
        "phuyen.gov.vn",
        "s1",
        "rsa-sha256",
    )
    assert dkim_ar["header.b"].strip('"') == b


async def test_dkim_fails_when_body_changed_after_signing(zone: Dns, key: tuple[str, str]) -> None:
    publish_key(zone, key)
    raw = signed(message(), key).replace("Kính gửi".encode(), "Kính gưi".encode())
    v = await checker(zone).check(ctx(raw))
    assert v.facts["dkim"] == "fail"
    assert v.facts["dkim_results"][0]["reason"] == "body hash mismatch"


async def test_dkim_fails_when_header_changed_after_signing(
    zone: Dns, key: tuple[str, str]
) -> None:
    publish_key(zone, key)
    raw = signed(message(), key).replace(b"To: ketoan@", b"To: giamdoc@")
    v = await checker(zone).check(ctx(raw))
    assert v.facts["dkim_results"][0]["result"] == "fail"
    assert v.facts["dkim_results"][0]["reason"] == "signature did not verify"


async def test_dkim_revoked_key_fails(zone: Dns, key: tuple[str, str]) -> None:
    zone.set("s1._domainkey.phuyen.gov.vn", "TXT", ["v=DKIM1; k=rsa; p="])
    v = await checker(zone).check(ctx(signed(message(), key)))
    assert v.facts["dkim_results"][0]["result"] == "fail"
    assert v.facts["dkim_results"][0]["reason"] == "key revoked"


async def test_dkim_missing_key_is_permerror(zone: Dns, key: tuple[str, str]) -> None:
    v = await checker(zone).check(ctx(signed(message(), key)))
    assert v.facts["dkim"] == "permerror"
    assert v.facts["dkim_results"][0]["reason"] == "no key for signature"


async def test_malformed_signatures_are_permerrors(zone: Dns, key: tuple[str, str]) -> None:
    publish_key(zone, key)
    raw = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=phuyen.gov.vn; s=s1\r\n"
        b"DKIM-Signature: garbage without tags\r\n" + signed(message(), key)
    )
    v = await checker(zone).check(ctx(raw))
    results = v.facts["dkim_results"]
    assert [r["result"] for r in results] == ["permerror", "permerror", "pass"]
    assert results[0]["domain"] == "phuyen.gov.vn" and results[0]["reason"].startswith("bad")
    assert v.facts["dkim"] == "pass"
    parse_header(v.headers[0][1])


async def test_every_signature_gets_a_result(zone: Dns, key: tuple[str, str]) -> None:
    other = generate_key(1024)
    publish_key(zone, key)
    publish_key(zone, other, "esp.example.net", "k2")
    raw = signed(signed(message(), other, "esp.example.net", "k2"), key)
    v = await checker(zone).check(ctx(raw))
    results = {(r["domain"], r["result"]) for r in v.facts["dkim_results"]}
    assert results == {("phuyen.gov.vn", "pass"), ("esp.example.net", "pass")}
    assert {r["header.d"] for r in parse_header(v.headers[0][1])["dkim"]} == {
        "phuyen.gov.vn",
        "esp.example.net",
    }


async def test_unsigned_message_has_dkim_none(zone: Dns) -> None:
    v = await checker(zone).check(ctx(message()))
    assert v.facts["dkim"] == "none" and v.facts["dkim_results"] == []
    assert "dkim" not in parse_header(v.headers[0][1])


# --- DMARC ---------------------------------------------------------------------------------


async def test_dmarc_pass_by_aligned_spf(zone: Dns) -> None:
    zone.set("bounce.phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject"])
    v = await checker(zone).check(ctx(message(), mail_from="bounce-1@bounce.phuyen.gov.vn"))
    assert (v.facts["spf"], v.facts["dkim"], v.facts["dmarc"]) == ("pass", "none", "pass")
    assert v.facts["dmarc_policy"] == "reject" and v.facts["from_domain"] == "phuyen.gov.vn"
    assert v.action == Action.TAG
    dmarc = parse_header(v.headers[0][1])["dmarc"]
    assert dmarc == [{"result": "pass", "header.from": "phuyen.gov.vn"}]


async def test_dmarc_strict_spf_alignment(zone: Dns) -> None:
    zone.set("bounce.phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=quarantine; aspf=s"])
    v = await checker(zone).check(ctx(message(), mail_from="bounce-1@bounce.phuyen.gov.vn"))
    assert v.facts["spf"] == "pass" and v.facts["dmarc"] == "fail"
    assert v.action == Action.JUNK


async def test_dmarc_pass_by_aligned_dkim(zone: Dns, key: tuple[str, str]) -> None:
    publish_key(zone, key)
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject; adkim=s"])
    # Forwarded: SPF fails for the new client, the DKIM signature survives.
    v = await checker(zone).check(ctx(signed(message(), key), ip=BAD_IP))
    assert (v.facts["spf"], v.facts["dkim"], v.facts["dmarc"]) == ("fail", "pass", "pass")
    assert v.action == Action.TAG


async def test_dkim_of_another_domain_does_not_align(zone: Dns, key: tuple[str, str]) -> None:
    publish_key(zone, key, "esp.example.net")
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject"])
    raw = signed(message(), key, "esp.example.net")
    v = await checker(zone).check(ctx(raw, ip=BAD_IP))
    assert v.facts["dkim"] == "pass" and v.facts["dmarc"] == "fail"
    assert v.action == Action.REFUSE


@pytest.mark.parametrize(
    ("mode", "action"),
    [("reject", Action.REFUSE), ("quarantine", Action.JUNK), ("off", Action.TAG)],
)
async def test_dmarc_reject_is_honoured_per_mode(zone: Dns, mode: str, action: Action) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject; rua=mailto:d@phuyen.gov.vn"])
    v = await checker(zone, honour_dmarc=mode).check(ctx(message(), ip=BAD_IP))
    assert v.facts["dmarc"] == "fail" and v.facts["dmarc_disposition"] == "reject"
    assert v.action == action
    if action == Action.REFUSE:
        assert (v.code, v.enhanced) == (550, "5.7.1")
        assert t("policy.dmarc.reject", "vi", domain="phuyen.gov.vn") in v.reason
        assert t("policy.dmarc.reject", "en", domain="phuyen.gov.vn") in v.reason
    dmarc = parse_header(v.headers[0][1])["dmarc"][0]
    assert dmarc["result"] == "fail" and dmarc["header.from"] == "phuyen.gov.vn"


async def test_dmarc_refusal_ends_the_chain(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject"])
    result = await run_chain([checker(zone)], ctx(message(), ip=BAD_IP))
    assert result.action == Action.REFUSE and result.final.check == "sender_auth"


async def test_dmarc_quarantine_files_in_junk(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=quarantine"])
    v = await checker(zone).check(ctx(message(), ip=BAD_IP))
    assert v.action == Action.JUNK and v.facts["dmarc_policy"] == "quarantine"
    assert v.headers and v.headers[0][0] == "Authentication-Results"
    # "off" only tags.
    v = await checker(zone, honour_dmarc="off").check(ctx(message(), ip=BAD_IP))
    assert v.action == Action.TAG


async def test_dmarc_subdomain_policy(zone: Dns) -> None:
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=none; sp=reject"])
    c = checker(zone)
    sub = await c.check(ctx(message("a@stttt.phuyen.gov.vn"), mail_from="a@stttt.phuyen.gov.vn"))
    assert sub.facts["dmarc"] == "fail" and sub.facts["dmarc_policy"] == "reject"
    assert sub.action == Action.REFUSE
    top = await c.check(ctx(message()))
    assert top.facts["dmarc"] == "fail" and top.facts["dmarc_policy"] == "none"
    assert top.action == Action.TAG


async def test_dmarc_falls_back_to_organisational_domain(zone: Dns) -> None:
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=quarantine"])
    frm = "x@a.b.phuyen.gov.vn"
    v = await checker(zone).check(ctx(message(frm), mail_from=frm))
    assert v.facts["from_domain"] == "a.b.phuyen.gov.vn"
    assert v.facts["dmarc"] == "fail" and v.facts["dmarc_policy"] == "quarantine"
    assert v.action == Action.JUNK
    # The From domain's own record wins over the organisational one.
    zone.set("_dmarc.a.b.phuyen.gov.vn", "TXT", ["v=DMARC1; p=none"])
    v = await checker(zone).check(ctx(message(frm), mail_from=frm))
    assert v.facts["dmarc_policy"] == "none" and v.action == Action.TAG


async def test_no_dmarc_record_is_none(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    v = await checker(zone).check(ctx(message(), ip=BAD_IP))
    assert v.facts["dmarc"] == "none" and v.facts["dmarc_policy"] is None
    assert v.action == Action.TAG


async def test_two_dmarc_records_mean_no_policy(zone: Dns) -> None:
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject", "v=DMARC1; p=none"])
    v = await checker(zone).check(ctx(message(), ip=BAD_IP))
    assert v.facts["dmarc"] == "none" and v.action == Action.TAG


@pytest.mark.parametrize(
    ("pct", "draw", "action"),
    [(0, 0.0, Action.JUNK), (50, 0.7, Action.JUNK), (50, 0.2, Action.REFUSE)],
)
async def test_dmarc_pct_sampling(zone: Dns, pct: int, draw: float, action: Action) -> None:
    zone.set("_dmarc.phuyen.gov.vn", "TXT", [f"v=DMARC1; p=reject; pct={pct}"])
    v = await checker(zone, sample=lambda: draw).check(ctx(message(), ip=BAD_IP))
    assert v.facts["dmarc_policy"] == "reject" and v.action == action


async def test_dns_failure_of_aligned_dkim_key_is_not_a_dmarc_failure(
    zone: Dns, key: tuple[str, str]
) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject"])
    zone.servfail.add("s1._domainkey.phuyen.gov.vn")
    v = await checker(zone).check(ctx(signed(message(), key), ip=BAD_IP))
    assert v.facts["dkim"] == "temperror" and v.facts["dmarc"] == "temperror"
    assert v.action == Action.TAG


async def test_dns_failure_of_dmarc_record_tags(zone: Dns) -> None:
    zone.set("phuyen.gov.vn", "TXT", [SPF])
    zone.servfail.add("_dmarc.phuyen.gov.vn")
    v = await checker(zone).check(ctx(message(), ip=BAD_IP))
    assert v.facts["spf"] == "fail" and v.facts["dmarc"] == "temperror"
    assert v.action == Action.TAG


async def test_several_from_fields_are_a_dmarc_permerror(zone: Dns) -> None:
    zone.set("_dmarc.phuyen.gov.vn", "TXT", ["v=DMARC1; p=reject"])
    raw = b"From: a@phuyen.gov.vn\r\n" + message("b@example.org")
    v = await checker(zone).check(ctx(raw, ip=BAD_IP))
    assert v.facts["dmarc"] == "permerror" and v.action == Action.TAG
    assert parse_header(v.headers[0][1])["dmarc"][0]["result"] == "permerror"


def test_applies_only_to_mail_from_the_internet() -> None:
    c = SenderAuthCheck(Resolver(["127.0.0.1"], 53), HOST)
    assert c.applies(ctx(message()))
    assert not c.applies(ctx(message(), source="submission"))
    assert not c.applies(ctx(message(), source="system"))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        SenderAuthCheck(Resolver(["127.0.0.1"], 53), HOST, honour_dmarc="always")
    with pytest.raises(ValueError):
        SenderAuthCheck(Resolver(["127.0.0.1"], 53), HOST, trusted_networks=["10.0.0.300/8"])


# --- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("a.b.phuyen.gov.vn", "phuyen.gov.vn"),
        ("phuyen.gov.vn", "phuyen.gov.vn"),
        ("mail.vnpt.com.vn", "vnpt.com.vn"),
        ("hust.edu.vn", "hust.edu.vn"),
        ("mail.example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("x.y.example.co.uk", "example.co.uk"),
    ],
)
def test_organisational_domain(domain: str, org: str) -> None:
    assert organisational_domain(domain) == org


def test_alignment() -> None:
    assert aligned("bounce.phuyen.gov.vn", "phuyen.gov.vn", "r")
    assert not aligned("bounce.phuyen.gov.vn", "phuyen.gov.vn", "s")
    assert aligned("PHUYEN.gov.vn", "phuyen.gov.vn", "s")
    assert not aligned("daklak.gov.vn", "phuyen.gov.vn", "r")
    assert not aligned("", "phuyen.gov.vn", "r")


def test_parse_dmarc_record() -> None:
    assert parse_dmarc_record("v=DMARC1; p=reject; sp=none; pct=20; adkim=s", "d.vn") == (
        DmarcRecord("d.vn", "reject", "none", 20, "s", "r")
    )
    assert parse_dmarc_record("v=DMARC1;p=quarantine;pct=500;aspf=x", "d.vn") == DmarcRecord(
        "d.vn", "quarantine", None, 100, "r", "r"
    )
    # No valid p=: a record with a report address counts as p=none, others are ignored.
    assert parse_dmarc_record("v=DMARC1; p=block; rua=mailto:r@d.vn", "d.vn") == DmarcRecord(
        "d.vn", "none"
    )
    assert parse_dmarc_record("v=DMARC1; p=block", "d.vn") is None
    assert parse_dmarc_record("v=DMARC1; p=reject; sp=maybe", "d.vn") is None
    assert parse_dmarc_record("p=reject; v=DMARC1", "d.vn") is None
    assert parse_dmarc_record("v=DMARC2; p=reject", "d.vn") is None


def test_header_from_domain() -> None:
    assert header_from_domain(message('"Văn thư" <VanThu@PhuYen.gov.vn>')) == "phuyen.gov.vn"
    folded = b"Subject: x\r\nFrom: Van Thu\r\n <vt@phuyen.gov.vn>\r\n\r\nbody From: a@b.c\r\n"
    assert header_from_domain(folded) == "phuyen.gov.vn"
    # Only LF ends a line: a Unicode line separator does not start a new header field.
    sneaky = "From: vt@phuyen.gov.vn\r\nX-Note: a\u2028From: ceo@bank.example\r\n\r\n"
    assert header_from_domain(sneaky.encode()) == "phuyen.gov.vn"
    assert (
        header_from_domain(message("vt@bộtàichính.vn")) == "bộtàichính.vn".encode("idna").decode()
    )
    for bad in (b"To: a@b.vn\r\n\r\n", message("a@x.vn, b@y.vn"), message("undisclosed")):
        with pytest.raises(ValueError):
            header_from_domain(bad)


def test_strip_authentication_results_removes_only_ours() -> None:
    raw = (
        b"Authentication-Results: MX.mic.gov.vn; spf=pass\r\n smtp.mailfrom=a@b.vn\r\n"
        b"Authentication-Results: mx.example.net (x); dkim=pass\r\n"
        b"Authentication-Results: mx.mic.gov.vn (forged); dmarc=pass\r\n"
        b"Subject: Authentication-Results: mx.mic.gov.vn; x\r\n"
        b"\r\nAuthentication-Results: mx.mic.gov.vn; body stays\r\n"
    )
    out = strip_authentication_results(raw, HOST)
    assert out == (
        b"Authentication-Results: mx.example.net (x); dkim=pass\r\n"
        b"Subject: Authentication-Results: mx.mic.gov.vn; x\r\n"
        b"\r\nAuthentication-Results: mx.mic.gov.vn; body stays\r\n"
    )
    last = b"Subject: x\nAuthentication-Results: mx.mic.gov.vn;\n none\n\nbody\n"
    assert strip_authentication_results(last, HOST) == b"Subject: x\n\nbody\n"
    assert strip_authentication_results(b"\r\nbody only\r\n", HOST) == b"\r\nbody only\r\n"
