"""Helpers of the official-document tests: an installation with the demo organisation
(Bộ TT&TT and Phú Yên, from the national demo data), the document service wired into a
real pipeline (no network listeners), the seed "Nơi nhận" blocks, and test files."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from govmail.config import Settings
from govmail.delivery.committer import GroupCommitter
from govmail.delivery.envelope import Envelope
from govmail.delivery.events import MailEvents
from govmail.delivery.pipeline import Pipeline
from govmail.directory.demo import load_demo
from govmail.directory.service import Directory
from govmail.documents.service import DocumentService
from govmail.policy.identity import SenderIdentityCheck
from govmail.store.db import Store

SEEDS = Path(__file__).parents[3] / "shared" / "seeds"
MIC = "vanthu@mic.gov.vn"
PY = "vanthu@phuyen.gov.vn"
PY_ICT = "stttt@phuyen.gov.vn"
PY_HOME = "snv@phuyen.gov.vn"


@dataclass
class DocEnv:
    store: Store
    directory: Directory
    settings: Settings
    pipeline: Pipeline
    documents: DocumentService

    async def clerk(self, agency_mailbox: str) -> str:
        async with self.store.read() as tx:
            box = await tx.directory.mailbox_by_address(agency_mailbox)
            assert box is not None
            for handler, person in await tx.directory.handlers_of(box.id):
                if handler.is_clerk:
                    return person.address
        raise AssertionError(f"no clerk for {agency_mailbox}")

    async def staff(self, agency_mailbox: str) -> list[str]:
        """People of the agency of ``agency_mailbox`` other than its clerk."""
        clerk = await self.clerk(agency_mailbox)
        async with self.store.read() as tx:
            box = await tx.directory.mailbox_by_address(agency_mailbox)
            assert box is not None and box.agency_id is not None
            people = await tx.directory.mailboxes(agency_ids=[box.agency_id], kind="person")
        return [p.address for p in people if p.address != clerk]

    async def settle(self) -> None:
        """Wait for the after-delivery work (registrations, status messages) to finish."""
        await self.pipeline.wait_background()

    async def inbox(self, address: str) -> list[bytes]:
        async with self.store.read() as tx:
            m = await tx.directory.mailbox_by_address(address)
            assert m is not None
            f = await tx.mail.folder(m.id, "INBOX")
            assert f is not None
            msgs = await tx.mail.messages(f.id)
            shas = [await tx.mail.blob_sha_of(x) for x in msgs]
        return [await self.store.blobs.get(s) for s in shas]

    async def deliver_mx(self, raw: bytes, mail_from: str, rcpts: Sequence[str]) -> None:
        env = Envelope(mail_from, list(rcpts), "mx", client_ip="192.0.2.7")
        await self.pipeline.deliver(env, raw)
        await self.settle()


async def make_docenv(
    store: Store, settings: Settings, only: Sequence[str] = ("000.00.00.H45",)
) -> tuple[DocEnv, GroupCommitter]:
    directory = Directory(store, settings)
    await load_demo(directory, staff_per_agency=4, only=list(only))
    committer = GroupCommitter(store)
    await committer.start()
    holder: dict[str, Pipeline] = {}
    documents = DocumentService(store, directory, settings, lambda: holder["p"])
    pipeline = Pipeline(
        settings,
        directory,
        committer,
        MailEvents(),
        [SenderIdentityCheck(directory), *documents.checks()],
        after_delivery=[documents.after_delivery],
    )
    holder["p"] = pipeline
    return DocEnv(store, directory, settings, pipeline, documents), committer


@pytest.fixture
async def docenv(store: Store, db_settings: Settings) -> AsyncIterator[DocEnv]:
    env, committer = await make_docenv(store, db_settings)
    try:
        yield env
    finally:
        await env.pipeline.wait_background()
        await committer.stop()


# --------------------------------------------------------------------------- seeds


def seed_text(name: str) -> str:
    (path,) = SEEDS.glob(f"{name}_*.txt")
    return path.read_text(encoding="utf-8")


def seed_block(name: str, heading: str = "Nơi nhận") -> str:
    """The entries under a heading of a seed: the lines that follow it while they are
    entries ("- …", or, for Kính gửi, indented lines), up to the first other line."""
    lines = seed_text(name).splitlines()
    start = next(i for i, ln in enumerate(lines) if heading in ln)
    out = [lines[start].split(heading, 1)[1].lstrip("*: \t")]
    started = False
    for ln in lines[start + 1 :]:
        stripped = ln.strip().replace("*", "")
        if not stripped:
            if started and heading == "Nơi nhận":
                continue
            if started:
                break
            continue
        if heading == "Nơi nhận" and not stripped.startswith("-"):
            break
        if heading != "Nơi nhận" and re.match(r"^(Ngày|Thực hiện|Ứng dụng|Căn cứ)", stripped):
            break
        out.append(ln)
        started = True
    return "\n".join(x for x in out if x.strip())


# --------------------------------------------------------------------------- files


def docx(paragraphs: Sequence[str], font: str = ".VnTime") -> bytes:
    """A minimal DOCX whose runs use ``font`` (the legacy fonts keep mojibake text)."""
    from xml.sax.saxutils import escape

    body = "".join(
        f'<w:p><w:r><w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}"/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>'
        for p in paragraphs
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
        ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
        f' mc:Ignorable="w14"><w:body>{body}</w:body></w:document>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", document)
    return out.getvalue()


def pdf() -> bytes:
    from tests.documents.pki import vietnamese_pdf

    return vietnamese_pdf()


@pytest.fixture
async def docenv_sqlite(settings: Settings) -> AsyncIterator[DocEnv]:
    """``docenv`` on SQLite only, for tests whose subject does not touch the backend."""
    store = Store(settings.database_url, settings.blob_dir)
    await store.open()
    env, committer = await make_docenv(store, settings)
    try:
        yield env
    finally:
        await env.pipeline.wait_background()
        await committer.stop()
        await store.close()


@functools.cache
def signed_pdf() -> bytes:
    """The test PDF signed twice, as Decree 30 wants: the person, then the agency seal.
    Blocking: from async code call it through ``asyncio.to_thread``."""
    from tests.documents.pki import make_pki

    from govmail.documents.signatures import sign_pdf

    pki = make_pki()
    once = sign_pdf(
        pdf(),
        key_pem=pki.person.key_pem,
        cert_pem=pki.person.cert_pem,
        reason="Ký ban hành",
        field_name="nguoi_ky",
    )
    return sign_pdf(
        once,
        key_pem=pki.seal.key_pem,
        cert_pem=pki.seal.cert_pem,
        reason="Văn thư đóng dấu",
        field_name="co_quan",
    )


def trust_test_root(settings: Settings) -> None:
    """Install the test CA as a trusted root of the installation."""
    from tests.documents.pki import make_pki

    folder = settings.data_dir / "documents" / "trust"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test-root.pem").write_bytes(make_pki().root_pem)
