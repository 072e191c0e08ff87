"""Attachment-type policy and mail bombs: executables (by name and by content), scripts,
macro-enabled Office files, per-agency policies, zip bombs, deeply nested MIME, 10,000
recipients."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator

import pytest
from tests.ops import support
from tests.ops.support import (
    Rig,
    make_message,
    make_rig,
    messages_in,
)

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.mail.parsed import parse_message
from govmail.policy.attachments import AttachmentCheck, Limits, inspect_content, mime_depth
from govmail.policy.base import Action, MessageContext
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo

sqlite_store = support.sqlite_store  # fixture

LIMITS = Limits(100, 500 * 1024 * 1024)


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
async def rig(
    sqlite_store: Store, settings: Settings
) -> AsyncIterator[tuple[Rig, AttachmentCheck]]:
    check = AttachmentCheck(settings.attachments, sqlite_store)
    async for r in make_rig(sqlite_store, settings, [check]):
        yield r, check


def env(rcpt: str = "hangntm@mic.gov.vn") -> Envelope:
    return Envelope("someone@example.org", [rcpt], "mx", client_ip="192.0.2.7")


def with_file(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    return make_message("Tệp", "Xem tệp.", attachments=[(name, data, ctype)])


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("setup.exe", b"not really", "executable"),
        ("baocao.pdf", b"MZ\x90\x00 renamed program", "executable"),
        ("run.sh", b"#!/bin/sh\n", "script"),
        ("invoice.JS", b"alert(1)", "script"),
        ("bang-luong.xlsm", b"PK", "macro"),
        ("tailieu.docx", zip_of({"word/document.xml": b"<w/>", "word/vbaProject.bin": b"x"}),
         "macro"),
        ("bao-cao.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64
         + "_VBA_PROJECT".encode("utf-16-le"), "macro"),
        ("hoso.zip", zip_of({"hoso/thu-moi.pdf.exe": b"MZ"}), "executable"),
        ("hoso.zip", zip_of({"inner.zip": zip_of({"a.vbs": b"x"})}), "script"),
    ],
)
async def test_forbidden_kinds_are_refused(
    rig: tuple[Rig, AttachmentCheck], name: str, data: bytes, kind: str
) -> None:
    r, _check = rig
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(), with_file(name, data))
    assert exc.value.code == 550 and exc.value.check == "attachments"
    assert f"({kind})" in exc.value.reason
    assert await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX") == []


async def test_ordinary_documents_pass(rig: tuple[Rig, AttachmentCheck]) -> None:
    r, _check = rig
    docx = zip_of({"word/document.xml": b"<w:document/>" * 50})
    for name, data in (("to-trinh.pdf", b"%PDF-1.7\n"), ("du-thao.docx", docx),
                       ("hoso.zip", zip_of({"a.pdf": b"%PDF", "b.txt": b"hello"}))):
        await r.pipeline.deliver(env(), with_file(name, data))
    assert len(await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")) == 3


async def test_per_agency_policy_replaces_the_default(rig: tuple[Rig, AttachmentCheck]) -> None:
    r, check = rig
    async with r.store.write() as tx:
        repo = OpsRepo(tx.session, r.store.dialect)
        phuyen = await repo.agency_by_code("000.00.00.H45")
        assert phuyen is not None
        # Phú Yên refuses every archive and .iso files, but lets scripts through.
        await repo.set_attachment_policy(phuyen.id, ["executable", "macro", "archive"], ["rar"])
    check.invalidate()
    await r.pipeline.deliver(env("tamlv@phuyen.gov.vn"), with_file("build.sh", b"#!/bin/sh"))
    with pytest.raises(DeliveryRefused, match="archive"):
        await r.pipeline.deliver(env("tamlv@phuyen.gov.vn"),
                                 with_file("hoso.zip", zip_of({"a.pdf": b"%PDF"})))
    with pytest.raises(DeliveryRefused, match=r"scan\.rar"):
        await r.pipeline.deliver(env("tamlv@phuyen.gov.vn"), with_file("scan.rar", b"Rar!"))
    # The ministry keeps the installation default: scripts refused, zips of PDFs accepted.
    with pytest.raises(DeliveryRefused, match="script"):
        await r.pipeline.deliver(env(), with_file("build.sh", b"#!/bin/sh"))
    await r.pipeline.deliver(env(), with_file("hoso.zip", zip_of({"a.pdf": b"%PDF"})))


def test_zip_bomb_is_found_from_the_central_directory() -> None:
    bomb = zip_of({f"f{i}.txt": b"\0" * (4 * 1024 * 1024) for i in range(4)})
    assert len(bomb) < 200_000
    kinds = {f.kind for f in inspect_content("bomb.zip", bomb, LIMITS)}
    assert "zip_bomb" in kinds
    small = Limits(1000, 1024 * 1024)
    kinds = {f.kind for f in inspect_content("big.zip", zip_of({"a.bin": b"\0" * 2_000_000},
                                                                zipfile.ZIP_STORED), small)}
    assert "zip_bomb" in kinds
    nested = zip_of({"a.zip": zip_of({"b.zip": zip_of({"c.zip": zip_of({"d.zip": b"PK"})})})})
    assert "zip_bomb" in {f.kind for f in inspect_content("n.zip", nested, LIMITS)}


async def test_zip_bomb_and_broken_archive_are_refused(rig: tuple[Rig, AttachmentCheck]) -> None:
    r, _check = rig
    bomb = zip_of({f"f{i}.txt": b"\0" * (4 * 1024 * 1024) for i in range(4)})
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(), with_file("bomb.zip", bomb))
    assert exc.value.code == 552 and "bom" in exc.value.reason
    with pytest.raises(DeliveryRefused, match="damaged"):
        await r.pipeline.deliver(env(), with_file("hong.zip", b"PK\x03\x04 truncated"))


def nested_mime(depth: int) -> bytes:
    head = "From: a@example.org\r\nTo: hangntm@mic.gov.vn\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = "Content-Type: text/plain\r\n\r\ncore\r\n"
    for i in range(depth):
        body = (f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n{body}"
                f"\r\n--b{i}--\r\n")
    return (head + body).encode()


async def test_deeply_nested_mime_is_refused(
    rig: tuple[Rig, AttachmentCheck], settings: Settings
) -> None:
    r, check = rig
    raw = nested_mime(40)
    assert mime_depth(parse_message(raw).body) > settings.attachments.max_mime_depth
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(), raw)
    assert "MIME" in exc.value.reason and exc.value.code == 550
    v = await check.check(MessageContext(env(), nested_mime(5), parse_message(nested_mime(5))))
    assert v.action == Action.ACCEPT
    # Absurd depths (thousands of levels) are cut by the parser and still refused here.
    raw = nested_mime(3000)
    with pytest.raises(DeliveryRefused):
        await r.pipeline.deliver(env(), raw)
