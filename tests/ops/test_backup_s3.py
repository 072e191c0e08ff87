"""Backups into an S3-compatible bucket: a small S3 server on loopback (path-style URLs,
ListObjectsV2 paged two keys at a time, so continuation tokens are followed) that checks
every request's Signature V4 with our own signer. test_backup_s3_moto.py runs the same
round trip against moto's S3 server, whose signature check is independent of ours."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest

from govmail.config import Settings, load_settings
from govmail.delivery.envelope import Envelope
from govmail.ops.backup import Backups
from govmail.ops.backup_target import S3Target, TargetError, sigv4_headers
from govmail.store.db import Store
from tests.ops import support
from tests.ops.support import make_message, make_rig

sqlite_store = support.sqlite_store  # fixture
ACCESS, SECRET = "GOVMAILTEST", "bi-mat-s3"


class FakeS3(BaseHTTPRequestHandler):
    objects: dict[str, bytes] = {}
    bad_signatures = 0

    def log_message(self, *args: object) -> None:
        pass

    def _verify(self, body: bytes) -> bool:
        auth = self.headers.get("authorization", "")
        date = self.headers.get("x-amz-date", "")
        url = f"http://{self.headers['host']}{self.path}"
        expected = sigv4_headers(
            self.command, url, region="us-east-1", access_key=ACCESS, secret_key=SECRET,
            payload=body, now=datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=__import__("datetime").UTC),
        )["authorization"]
        if auth != expected:
            type(self).bad_signatures += 1
            self.send_response(403)
            self.end_headers()
            return False
        return True

    def _key(self) -> str:
        return unquote(urlsplit(self.path).path).split("/", 2)[2]

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self._verify(body):
            self.objects[self._key()] = body
            self.send_response(200)
            self.end_headers()

    def do_GET(self) -> None:
        if not self._verify(b""):
            return
        parts = urlsplit(self.path)
        if parts.path.count("/") == 1:  # the bucket: ListObjectsV2, two keys a page
            q = parse_qs(parts.query)
            prefix = q.get("prefix", [""])[0]
            keys = sorted(k for k in self.objects if k.startswith(prefix))
            start = int(q.get("continuation-token", ["0"])[0])
            page = keys[start : start + 2]
            more = start + 2 < len(keys)
            xml = ("<?xml version='1.0'?><ListBucketResult xmlns="
                   "'http://s3.amazonaws.com/doc/2006-03-01/'>"
                   + "".join(f"<Contents><Key>{escape(k)}</Key></Contents>" for k in page)
                   + f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
                   + (f"<NextContinuationToken>{start + 2}</NextContinuationToken>"
                      if more else "") + "</ListBucketResult>").encode()
            self.send_response(200)
            self.send_header("content-length", str(len(xml)))
            self.end_headers()
            self.wfile.write(xml)
            return
        data = self.objects.get(self._key())
        if data is None:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self) -> None:
        if self._verify(b""):
            self.send_response(200 if self._key() in self.objects else 404)
            self.end_headers()

    def do_DELETE(self) -> None:
        if self._verify(b""):
            self.objects.pop(self._key(), None)
            self.send_response(204)
            self.end_headers()


@pytest.fixture
def s3() -> Iterator[str]:
    FakeS3.objects = {}
    FakeS3.bad_signatures = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def s3_settings(s: Settings, endpoint: str) -> None:
    s.backup.target = "s3://govmail-backups/tinh-phu-yen"
    s.backup.s3_endpoint = endpoint
    s.backup.s3_access_key = ACCESS
    s.backup.s3_secret_key = SECRET


async def test_backup_to_s3_restore_and_verify(
    sqlite_store: Store, settings: Settings, tmp_path: Path, s3: str
) -> None:
    s3_settings(settings, s3)
    async for r in make_rig(sqlite_store, settings, []):
        for i in range(5):
            await r.pipeline.deliver(
                Envelope("a@example.org", ["hangntm@mic.gov.vn"], "mx", client_ip="192.0.2.1"),
                make_message(f"Thư số {i}"))
        backups = Backups(settings, r.store)
        first = await backups.backup()
        await r.pipeline.deliver(
            Envelope("a@example.org", ["hangntm@mic.gov.vn"], "mx", client_ip="192.0.2.1"),
            make_message("Thư thêm"))
        second = await backups.backup()
        assert (first.blobs_copied, second.blobs_copied) == (5, 1)
        assert (await backups.verify()).ok
    assert all(k.startswith("tinh-phu-yen/") for k in FakeS3.objects)
    assert FakeS3.bad_signatures == 0
    new = load_settings(general={"data_dir": tmp_path / "restored"})
    s3_settings(new, s3)
    _name, messages = await Backups(new).restore()
    assert messages == 6


def test_wrong_secret_is_refused(s3: str) -> None:
    t = S3Target("b", "p", s3, "us-east-1", ACCESS, "wrong")
    with pytest.raises(TargetError, match="403"):
        t.put("x", b"data")
    assert FakeS3.bad_signatures == 1
    good = S3Target("b", "p", s3, "us-east-1", ACCESS, SECRET)
    good.put("tên có dấu/and spaces.txt", b"ok")
    assert good.get("tên có dấu/and spaces.txt") == b"ok"
    assert good.list("") == ["tên có dấu/and spaces.txt"]
    with pytest.raises(TargetError, match="missing"):
        good.get("nothing")
