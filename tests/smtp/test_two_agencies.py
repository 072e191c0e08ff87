"""Two real agencies talking: two govmail instances on loopback, each with its own data
directory and domain, a loopback DNS server answering their MX/TXT records. Mail sent by
submission on one arrives DKIM-signed and verified in the other's INBOX; while the second
is down the message waits in the queue and arrives once it is back."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.support.dns_server import DnsServer
from tests.support.ports import free_port

from govmail.app import App
from govmail.config import Settings, load_settings
from govmail.delivery.dkim_sign import dns_txt_record, generate_key

PASSWORD = "mat-khau-hai-co-quan"
A_IP, B_IP = "127.0.0.2", "127.0.0.3"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer({}).start()
    yield server
    server.stop()


def make_settings(home: Path, ip: str, hostname: str, smtp_port: int, dns: DnsServer) -> Settings:
    ports = {
        k: 0
        for k in (
            "submission_port",
            "submissions_port",
            "http_port",
            "imap_port",
            "imaps_port",
            "pop3_port",
            "pop3s_port",
        )
    }
    return load_settings(
        general={"data_dir": home, "hostname": hostname},
        listeners={"bind": [ip], "smtp_port": smtp_port, **ports},
        queue={
            "dns_servers": ["127.0.0.1"],
            "dns_port": dns.port,
            "remote_smtp_port": smtp_port,
            "source_address": ip,
        },
    )


async def make_org(app: App, domain: str, agency: str, code: str, person: str) -> str:
    async with app.directory.ops() as ops:
        await ops.add_domain(domain)
        await ops.add_agency(
            name=agency,
            short_name="X",
            kind="province" if "phuyen" in domain else "ministry",
            code=code,
            domain=domain,
        )
        m = await ops.add_mailbox(full_name=person, agency=code, password=PASSWORD)
    await app.pipeline.local_domains(refresh=True)
    return m.address


@pytest.fixture
async def agencies(tmp_path: Path, dns: DnsServer) -> AsyncIterator[tuple[App, App, Path, int]]:
    port = free_port(B_IP)
    a = App(make_settings(tmp_path / "a", A_IP, "mail.mic.gov.vn", port, dns))
    b = App(make_settings(tmp_path / "b", B_IP, "mail.phuyen.gov.vn", port, dns))
    await a.start()
    await b.start()
    await make_org(
        a, "mic.gov.vn", "Bộ Thông tin và Truyền thông", "000.00.00.G14", "Nguyễn Thị Minh Hằng"
    )
    await make_org(
        b, "phuyen.gov.vn", "Ủy ban nhân dân tỉnh Phú Yên", "000.00.00.H45", "Lê Văn Tám"
    )
    private, public = generate_key(1024)
    async with a.directory.ops() as ops:
        await ops.set_dkim_key("mic.gov.vn", "gm2026", private)
    for name, ip in (("mic.gov.vn", A_IP), ("phuyen.gov.vn", B_IP)):
        dns.set(name, "MX", [f"10 mx.{name}."])
        dns.set(f"mx.{name}", "A", [ip])
        dns.set(name, "TXT", [f"v=spf1 ip4:{ip} -all"])
        dns.set(f"_dmarc.{name}", "TXT", ["v=DMARC1; p=reject"])
    dns.set("gm2026._domainkey.mic.gov.vn", "TXT", [dns_txt_record(public)])
    try:
        yield a, b, tmp_path, port
    finally:
        await a.stop()
        await b.stop()


def submit(app: App, subject: str) -> None:
    msg = (
        "From: Nguyễn Thị Minh Hằng <hangntm@mic.gov.vn>\r\nTo: <tamlv@phuyen.gov.vn>\r\n"
        f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nKính gửi UBND tỉnh Phú Yên.\r\n"
    ).encode()
    with smtplib.SMTP(A_IP, app.service("submission").port, timeout=20) as s:  # type: ignore[attr-defined]
        s.login("hangntm@mic.gov.vn", PASSWORD)
        s.sendmail("hangntm@mic.gov.vn", ["tamlv@phuyen.gov.vn"], msg)


async def inbox_raw(app: App, address: str) -> list[bytes]:
    async with app.store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
        f = await tx.mail.folder(m.id, "INBOX")
        msgs = await tx.mail.messages(f.id)
        return [app.store.blobs.get_sync(await tx.mail.blob_sha_of(x)) for x in msgs]


async def wait_for(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_mail_between_two_instances_signed_verified_and_queued(
    agencies: tuple[App, App, Path, int], dns: DnsServer
) -> None:
    a, b, home, port = agencies
    await asyncio.to_thread(submit, a, "Công văn số 1")

    async def arrived_once() -> bool:
        return len(await inbox_raw(b, "tamlv@phuyen.gov.vn")) == 1

    await wait_for(arrived_once)
    (raw,) = await inbox_raw(b, "tamlv@phuyen.gov.vn")
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "DKIM-Signature: v=1; a=rsa-sha256" in head and "d=mic.gov.vn" in head
    auth = [
        line
        for line in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
        if line.startswith("Authentication-Results: mail.phuyen.gov.vn")
    ]
    assert auth and "dkim=pass" in auth[0] and "spf=pass" in auth[0] and "dmarc=pass" in auth[0]
    assert "by mail.phuyen.gov.vn (govmail) with ESMTPS id" in head  # opportunistic TLS
    assert "(using TLSv1.3 with cipher" in head

    # The other agency goes down: the message waits in the queue.
    await b.stop()
    await asyncio.to_thread(submit, a, "Công văn số 2")

    async def deferred() -> bool:
        stats = await a.queue.admin.stats()
        return stats.counts.get("deferred", 0) == 1

    await wait_for(deferred)
    # It comes back (same data directory, same address): the queue delivers.
    b2 = App(make_settings(home / "b", B_IP, "mail.phuyen.gov.vn", port, dns))
    await b2.start()
    try:
        await a.queue.admin.flush()
        a.queue.wake()

        async def both_arrived() -> bool:
            return len(await inbox_raw(b2, "tamlv@phuyen.gov.vn")) == 2

        await wait_for(both_arrived)

        async def queue_empty() -> bool:  # the sender records the 250 after it was given
            return (await a.queue.admin.stats()).pending == 0

        await wait_for(queue_empty)
    finally:
        await b2.stop()
