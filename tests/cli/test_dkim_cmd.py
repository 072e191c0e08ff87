"""govmail dkim generate / show, in process, against a fresh SQLite store."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, cast

import pytest
from tests.support.dns_server import running
from typer.testing import CliRunner

from govmail.cli import dkim_cmd
from govmail.cli.runtime import Runtime, run, state
from govmail.config import Settings
from govmail.delivery.dkim_sign import sign
from govmail.delivery.dns import Resolver
from govmail.delivery.envelope import Envelope
from govmail.directory.errors import DirectoryError
from govmail.policy.base import MessageContext
from govmail.policy.sender_auth import SenderAuthCheck

runner = CliRunner()
RECORD = re.compile(r'^(\S+)\._domainkey\.(\S+)\. IN TXT ((?:"[^"]*" ?)+)$', re.MULTILINE)


@pytest.fixture
def home(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(state, "_settings", settings)

    async def go(rt: Runtime) -> None:
        async with rt.directory.ops() as ops:
            await ops.add_domain("phuyen.gov.vn")
            await ops.add_domain("mic.gov.vn")

    run(go)
    return settings


def dkim(*args: str) -> Any:
    return runner.invoke(dkim_cmd.app, list(args))


def stored(domain: str) -> tuple[str | None, str | None, list[Any]]:
    async def go(rt: Runtime) -> tuple[str | None, str | None, list[Any]]:
        async with rt.store.read() as tx:
            d = await tx.directory.domain_by_name(domain)
            assert d is not None
            entries = await tx.audit.search(action="domain.dkim", object_id=domain)
            return d.dkim_selector, d.dkim_private_key, [(e.before, e.after) for e in entries]

    return run(go)


def record_in(output: str) -> tuple[str, str, str]:
    m = RECORD.search(output)
    assert m, output
    strings = re.findall(r'"([^"]*)"', m.group(3))
    assert all(len(s.encode()) <= 255 for s in strings)
    return m.group(1), m.group(2), "".join(strings)


def test_generate_stores_the_key_and_prints_the_record(home: Settings) -> None:
    r = dkim("generate", "PhuYen.gov.vn", "--selector", "s2024", "--bits", "2048")
    assert r.exit_code == 0, r.output
    selector, domain, value = record_in(r.output)
    assert (selector, domain) == ("s2024", "phuyen.gov.vn")
    assert value.startswith("v=DKIM1; k=rsa; p=MII")
    sel, pem, audit = stored("phuyen.gov.vn")
    assert sel == "s2024" and pem and pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    # The audit log records the change, never the key.
    assert len(audit) == 1
    before, after = audit[0]
    assert before["dkim_selector"] is None and after["dkim_selector"] == "s2024"
    assert after["dkim_key"] == "set"
    text = json.dumps(audit)
    assert "PRIVATE" not in text and pem.splitlines()[1] not in text
    assert "dkim_private_key" not in text


def test_show_prints_the_same_record(home: Settings) -> None:
    generated = dkim("generate", "phuyen.gov.vn", "--selector", "s1", "--bits", "1024")
    shown = dkim("show", "phuyen.gov.vn")
    assert shown.exit_code == 0, shown.output
    assert record_in(shown.output) == record_in(generated.output)
    as_json = json.loads(dkim("show", "phuyen.gov.vn", "--json").stdout)
    assert as_json["name"] == "s1._domainkey.phuyen.gov.vn" and as_json["type"] == "TXT"
    assert as_json["value"] == record_in(generated.output)[2]
    assert "".join(as_json["strings"]) == as_json["value"]


def test_generate_refuses_to_replace_without_force(home: Settings) -> None:
    assert dkim("generate", "mic.gov.vn", "--selector", "a1", "--bits", "1024").exit_code == 0
    _sel, first, _audit = stored("mic.gov.vn")
    again = dkim("generate", "mic.gov.vn", "--selector", "a2", "--bits", "1024")
    assert again.exit_code == 1 and "--force" in " ".join(again.output.split())
    assert stored("mic.gov.vn")[:2] == ("a1", first)
    forced = dkim("generate", "mic.gov.vn", "--selector", "a2", "--bits", "1024", "--force")
    assert forced.exit_code == 0, forced.output
    sel, second, audit = stored("mic.gov.vn")
    assert sel == "a2" and second != first
    assert audit[0][1]["dkim_key"] == "replaced"


def test_default_selector_is_dated(home: Settings) -> None:
    r = dkim("generate", "phuyen.gov.vn", "--bits", "1024")
    assert r.exit_code == 0, r.output
    assert re.fullmatch(r"gm20\d\d(0[1-9]|1[0-2])", record_in(r.output)[0])


def test_bad_input(home: Settings) -> None:
    assert dkim("generate", "phuyen.gov.vn", "--selector", "bad_selector").exit_code == 2
    assert dkim("generate", "phuyen.gov.vn", "--bits", "1000").exit_code == 2
    assert stored("phuyen.gov.vn")[1] is None
    no_key = dkim("show", "phuyen.gov.vn")
    assert no_key.exit_code == 1
    assert "dkim generate phuyen.gov.vn" in " ".join(no_key.output.split())  # Rich wraps
    unknown = dkim("generate", "daklak.gov.vn", "--bits", "1024")
    assert isinstance(unknown.exception, DirectoryError)
    assert unknown.exception.key == "domain.not_found"


def test_published_record_verifies_mail_signed_with_the_stored_key(home: Settings) -> None:
    r = dkim("generate", "phuyen.gov.vn", "--selector", "s1", "--bits", "1024")
    selector, domain, value = record_in(r.output)
    _sel, pem, _audit = stored("phuyen.gov.vn")
    assert pem
    raw = b"From: vanthu@phuyen.gov.vn\r\nTo: a@mic.gov.vn\r\nSubject: x\r\n\r\nbody\r\n"
    raw = sign(raw, "phuyen.gov.vn", "s1", pem) + raw
    zone = {
        (f"{selector}._domainkey.{domain}", "TXT"): [value],
        ("_dmarc.phuyen.gov.vn", "TXT"): ["v=DMARC1; p=reject"],
    }
    with running(zone) as srv:
        check = SenderAuthCheck(Resolver(["127.0.0.1"], srv.port, timeout=2), "mx.mic.gov.vn")
        env = Envelope("vanthu@phuyen.gov.vn", ["a@mic.gov.vn"], "mx", client_ip="192.0.2.1")
        v = asyncio.run(check.check(MessageContext(env, raw, cast(Any, None))))
    assert (v.facts["dkim"], v.facts["dmarc"]) == ("pass", "pass")
