"""Backups into a real S3-compatible server: moto's server on loopback, run as its own
process with IAM authentication on, so every request's Signature V4 is checked by an
implementation that is not ours (the fake of test_backup_s3.py checks with our own
signer, and so could not see a query signed twice-encoded). Back up, write more mail,
restore into an empty installation from the bucket, find exactly the backed-up state;
the second backup uploads only the new bodies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import botocore.auth
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from govmail.config import Settings, load_settings
from govmail.delivery.envelope import Envelope
from govmail.ops.backup import Backups, message_digest
from govmail.ops.backup_target import S3Target, TargetError, sigv4_headers
from govmail.store.db import Store
from tests.ops import support
from tests.ops.support import make_message, make_rig
from tests.ops.test_backup import listing, restored_state
from tests.support.ports import free_port

sqlite_store = support.sqlite_store  # fixture
BUCKET = "govmail-backups"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )

    def objects(self, prefix: str = "") -> list[str]:
        out: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=prefix
        ):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)


def _moto_server() -> str:
    exe = Path(sys.executable).with_name("moto_server")
    found = str(exe) if exe.exists() else shutil.which("moto_server")
    assert found, "moto_server is missing: pip install -e '.[test]' (moto[server])"
    return found


@pytest.fixture
def moto_s3() -> Iterator[S3Server]:
    port = free_port()
    # Three unauthenticated calls make the IAM user; from then on moto checks signatures.
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    proc = subprocess.Popen(
        [_moto_server(), "-H", "127.0.0.1", "-p", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("moto_server did not start") from None
                time.sleep(0.1)
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="govmail")
        key = iam.create_access_key(UserName="govmail")["AccessKey"]
        iam.put_user_policy(UserName="govmail", PolicyName="backups", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        server = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def s3_settings(s: Settings, server: S3Server) -> None:
    s.backup.target = f"s3://{BUCKET}/tinh-phu-yen"
    s.backup.s3_endpoint = server.endpoint
    s.backup.s3_region = REGION
    s.backup.s3_access_key = server.access_key
    s.backup.s3_secret_key = server.secret_key


def env(rcpt: str = "hangntm@mic.gov.vn") -> Envelope:
    return Envelope("nguoigui@example.org", [rcpt], "mx", client_ip="192.0.2.1")


async def test_backup_into_moto_then_restore_exactly_the_backed_up_state(
    sqlite_store: Store, settings: Settings, tmp_path: Path, moto_s3: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_settings(settings, moto_s3)
    put_keys: list[str] = []
    real_put = S3Target.put

    def counting_put(self: S3Target, key: str, data: bytes) -> None:
        put_keys.append(key)
        real_put(self, key, data)

    monkeypatch.setattr(S3Target, "put", counting_put)
    async for r in make_rig(sqlite_store, settings, []):
        for i in range(12):
            await r.pipeline.deliver(env(), make_message(f"Thư số {i}", f"Nội dung {i}"))
        await r.pipeline.deliver(env("tamlv@phuyen.gov.vn"), make_message("Phú Yên", "Tệp"))
        inbox = await support.folder_of(r.store, "hangntm@mic.gov.vn", "INBOX")
        await r.mailstore.set_flags(inbox.id, [1, 2], "add", ["\\Seen", "\\Flagged"])
        backups = Backups(settings, r.store)
        first = await backups.backup()
        assert (first.kind, first.messages, first.blobs_copied) == ("full", 13, 13)
        at_backup = await listing(r.store)
        digest_at_backup = await message_digest(r.store)
        blobs_after_first = moto_s3.objects("tinh-phu-yen/blobs/")
        assert len(blobs_after_first) == 13

        # More mail, then an incremental backup: only the new bodies are uploaded.
        for i in range(3):
            await r.pipeline.deliver(env("ductv@mic.gov.vn"), make_message(f"Sau {i}", "y"))
        await r.mailstore.set_flags(inbox.id, [3], "add", ["\\Deleted"])
        await r.mailstore.expunge(inbox.id)
        put_keys.clear()
        second = await backups.backup()
        assert (second.kind, second.blobs_copied, second.blobs_total) == ("incremental", 3, 16)
        new_blobs = sorted(set(moto_s3.objects("tinh-phu-yen/blobs/")) - set(blobs_after_first))
        assert len(new_blobs) == 3
        assert sorted(k for k in put_keys if k.startswith("blobs/")) == [
            k.removeprefix("tinh-phu-yen/") for k in new_blobs
        ]
        assert await listing(r.store) != at_backup
        assert (await backups.verify(snapshot=second.snapshot)).ok

    assert all(k.startswith("tinh-phu-yen/") for k in moto_s3.objects())
    new = load_settings(general={"data_dir": tmp_path / "restored"})
    s3_settings(new, moto_s3)
    name, messages = await Backups(new).restore(snapshot=first.snapshot)
    assert (name, messages) == (first.snapshot, 13)
    assert await restored_state(new) == (at_backup, digest_at_backup)


def test_moto_checks_our_signatures(moto_s3: S3Server) -> None:
    good = S3Target(BUCKET, "p", moto_s3.endpoint, REGION, moto_s3.access_key,
                    moto_s3.secret_key)
    good.put("tên có dấu/and spaces.txt", "Nội dung".encode())
    assert good.get("tên có dấu/and spaces.txt") == "Nội dung".encode()
    assert good.list("tên có dấu/") == ["tên có dấu/and spaces.txt"]  # a signed query
    assert good.exists("tên có dấu/and spaces.txt") and not good.exists("nothing")
    good.delete("tên có dấu/and spaces.txt")
    assert good.list("") == []
    bad = S3Target(BUCKET, "p", moto_s3.endpoint, REGION, moto_s3.access_key, "wrong")
    with pytest.raises(TargetError, match="403"):
        bad.put("x", b"data")
    with pytest.raises(TargetError, match="403"):
        bad.list("")
    assert moto_s3.objects() == []


def test_a_large_file_goes_up_in_parts_and_a_failed_upload_is_aborted(
    moto_s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database dump over the threshold goes up as a multipart upload (S3 refuses one
    PUT over 5 GiB); it comes back byte for byte. A part refused midway aborts the upload:
    no object, no parts left in the bucket."""
    target = S3Target(BUCKET, "p", moto_s3.endpoint, REGION, moto_s3.access_key,
                      moto_s3.secret_key)
    target.multipart_threshold = 6 * 1024 * 1024
    target.part_size = 5 * 1024 * 1024  # S3's smallest part (all but the last)
    src = tmp_path / "database.sqlite.gz"
    src.write_bytes(os.urandom(12 * 1024 * 1024 + 123))
    sent: list[str] = []
    real = target._request

    def spy(method: str, url: str, body: bytes = b"") -> httpx.Response:
        sent.append(f"{method} {url.split('?', 1)[-1] if '?' in url else ''}")
        return real(method, url, body)

    monkeypatch.setattr(target, "_request", spy)
    target.put_file("snap/database.sqlite.gz", src)
    assert [x.split("=")[0] for x in sent] == ["POST uploads", "PUT partNumber",
                                               "PUT partNumber", "PUT partNumber",
                                               "POST uploadId"]
    back = tmp_path / "back"
    target.get_file("snap/database.sqlite.gz", back)
    assert back.read_bytes() == src.read_bytes()

    def refuse_part_two(method: str, url: str, body: bytes = b"") -> httpx.Response:
        if "partNumber=2" in url:
            return httpx.Response(500)
        return real(method, url, body)

    monkeypatch.setattr(target, "_request", refuse_part_two)
    with pytest.raises(TargetError, match="part 2 answered 500"):
        target.put_file("snap2/database.sqlite.gz", src)
    assert moto_s3.objects("p/snap2") == []
    uploads = moto_s3.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert uploads == []


def test_signature_matches_botocore_for_a_query_with_reserved_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = ("http://127.0.0.1:9000/govmail-backups?list-type=2&prefix=t%E1%BB%89nh%2Fblobs%2F"
           "&continuation-token=a%2Bb%3D%3D")
    when = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    creds = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    ours = sigv4_headers("GET", url, region=REGION, access_key=creds[0],
                         secret_key=creds[1], now=when)
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: when.replace(tzinfo=None))
    req = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(*creds), "s3", REGION).add_auth(req)
    assert ours["authorization"] == req.headers["Authorization"]
