"""DKIM keys and signing: what we sign verifies, what we publish parses, bad keys fail clearly."""

from __future__ import annotations

import asyncio
import base64
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from govmail.delivery.dkim_sign import (
    DkimKeyError,
    DkimSignError,
    dns_txt_record,
    generate_key,
    public_key_b64,
    sign,
    sign_async,
    txt_strings,
    valid_selector,
    zone_line,
)

MESSAGE = (
    b"From: =?utf-8?b?VsSDbiB0aMawIFVCTkQ=?= <vanthu@phuyen.gov.vn>\r\n"
    b"To: ketoan@mic.gov.vn\r\n"
    b"Cc: giamdoc@mic.gov.vn\r\n"
    b"Subject: Bao cao quy II\r\n"
    b"Date: Mon, 6 May 2024 10:00:00 +0700\r\n"
    b"Message-ID: <r1@phuyen.gov.vn>\r\n"
    b"In-Reply-To: <q1@mic.gov.vn>\r\n"
    b"References: <q1@mic.gov.vn>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-Mailer: test\r\n"
    b"\r\n" + "Kính gửi Bộ Thông tin và Truyền thông.\r\n".encode()
)


@pytest.fixture(scope="module")
def key() -> tuple[str, str]:
    return generate_key(1024)


def verify(raw: bytes, public_b64: str) -> bool:
    record = dns_txt_record(public_b64).encode()
    return bool(dkim.verify(raw, dnsfunc=lambda name, timeout=5: record))


def tags(field: bytes) -> dict[str, str]:
    value = field.split(b":", 1)[1].decode()
    out = {}
    for part in re.sub(r"\s+", "", value).split(";"):
        if part:
            k, _, v = part.partition("=")
            out[k] = v
    return out


def test_signature_verifies_and_covers_the_usual_headers(key: tuple[str, str]) -> None:
    field = sign(MESSAGE, "phuyen.gov.vn", "s1", key[0])
    assert field.startswith(b"DKIM-Signature: ") and field.endswith(b"\r\n")
    assert verify(field + MESSAGE, key[1])
    t = tags(field)
    assert (t["a"], t["c"], t["d"], t["s"]) == (
        "rsa-sha256",
        "relaxed/relaxed",
        "phuyen.gov.vn",
        "s1",
    )
    assert "l" not in t  # the whole body is signed
    signed = t["h"].split(":")
    assert signed.count("from") == 2  # once more than present: no second From can be added
    for h in ("to", "cc", "subject", "date", "message-id", "mime-version", "content-type",
              "in-reply-to", "references"):  # fmt: skip
        assert h in signed
    assert "x-mailer" not in signed


def test_relaxed_canonicalisation_survives_rewrapping(key: tuple[str, str]) -> None:
    raw = sign(MESSAGE, "phuyen.gov.vn", "s1", key[0]) + MESSAGE
    rewrapped = raw.replace(b"Subject: Bao cao quy II", b"Subject:  Bao cao\r\n quy II")
    assert verify(rewrapped, key[1])


def test_changes_after_signing_break_the_signature(key: tuple[str, str]) -> None:
    raw = sign(MESSAGE, "phuyen.gov.vn", "s1", key[0]) + MESSAGE
    assert not verify(raw.replace(b"Bao cao quy II", b"Bao cao quy III"), key[1])
    with pytest.raises(dkim.ValidationError):  # body hash mismatch
        dkim.DKIM(raw + b"PS\r\n").verify(
            dnsfunc=lambda n, timeout=5: dns_txt_record(key[1]).encode()
        )
    other = generate_key(1024)
    assert not verify(raw, other[1])


def test_bare_lf_message_is_signed_with_lf(key: tuple[str, str]) -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    field = sign(lf, "phuyen.gov.vn", "s1", key[0])
    assert b"\r" not in field and field.endswith(b"\n")
    assert verify(field + lf, key[1])


async def test_sign_async_does_not_block_the_loop(key: tuple[str, str]) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    big = generate_key(2048)
    task = asyncio.create_task(ticker())
    # Signed in a thread, the loop keeps running the ticker meanwhile; signed on the
    # loop, the ticker would not get a single turn before the result.
    field = await sign_async(MESSAGE, "phuyen.gov.vn", "s1", big[0])
    task.cancel()
    assert ticks > 0
    assert verify(field + MESSAGE, big[1])


def test_generated_key_and_record(key: tuple[str, str]) -> None:
    private_pem, public = key
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    pub = serialization.load_der_public_key(base64.b64decode(public))
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 1024
    assert public_key_b64(private_pem) == public
    assert dns_txt_record(public) == f"v=DKIM1; k=rsa; p={public}"
    with pytest.raises(ValueError):
        generate_key(512)


def test_zone_line_splits_into_255_octet_strings() -> None:
    _pem, public = generate_key(2048)
    value = dns_txt_record(public)
    parts = txt_strings(value)
    assert len(parts) == 2 and all(len(p) <= 255 for p in parts) and "".join(parts) == value
    line = zone_line("gm202405", "phuyen.gov.vn", public)
    assert line.startswith('gm202405._domainkey.phuyen.gov.vn. IN TXT "v=DKIM1; k=rsa; p=')
    assert re.findall(r'"([^"]*)"', line) == parts


def test_pkcs8_keys_from_other_tools_are_accepted(key: tuple[str, str]) -> None:
    k = serialization.load_pem_private_key(key[0].encode(), None)
    pkcs8 = k.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert verify(sign(MESSAGE, "phuyen.gov.vn", "s1", pkcs8) + MESSAGE, key[1])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a key",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
        rsa.generate_private_key(65537, 2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        .decode(),
    ],
    ids=["empty", "garbage", "truncated", "not-rsa", "encrypted"],
)
def test_invalid_key_raises_dkim_key_error(bad: str) -> None:
    with pytest.raises(DkimKeyError):
        sign(MESSAGE, "phuyen.gov.vn", "s1", bad)


async def test_invalid_key_raises_from_sign_async_too() -> None:
    with pytest.raises(DkimKeyError):
        await sign_async(MESSAGE, "phuyen.gov.vn", "s1", "not a key")


def test_message_without_from_cannot_be_signed(key: tuple[str, str]) -> None:
    with pytest.raises(DkimSignError) as e:
        sign(b"To: a@b.vn\r\nSubject: x\r\n\r\nbody\r\n", "phuyen.gov.vn", "s1", key[0])
    assert not isinstance(e.value, DkimKeyError)


def test_selector_syntax() -> None:
    assert valid_selector("gm202405") and valid_selector("s1.hcm") and valid_selector("a-b")
    for bad in ("", "-a", "a_b", "Sel", "a..b", "x" * 64, "tỉnh"):
        assert not valid_selector(bad)
