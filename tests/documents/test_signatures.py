"""PAdES signatures: the person signs, then the agency seal (Decree 30), both stay valid;
trust follows the given roots; tampering, later edits and bad input are reported."""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, datetime
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from tests.documents.pki import AGENCY, PERSON_CN, Identity, make_pki, vietnamese_pdf

from govmail.documents.signatures import (
    SignatureError,
    sign_pdf,
    sign_pdf_async,
    verify_pdf,
    verify_pdf_async,
)

SIGNED_AT = datetime(2025, 3, 5, 9, 30, tzinfo=UTC)


def _sign(pdf: bytes, who: Identity, field: str, **kw: object) -> bytes:
    pki = make_pki()
    args: dict[str, object] = {"reason": "Ký ban hành", "timestamp": SIGNED_AT, **kw}
    return sign_pdf(
        pdf,
        key_pem=who.key_pem,
        cert_pem=who.cert_pem,
        chain_pem=[pki.root_pem],
        field_name=field,
        **args,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def person_signed() -> bytes:
    return _sign(vietnamese_pdf(), make_pki().person, "nguoi_ky", location="Hà Nội")


@pytest.fixture(scope="module")
def both_signed(person_signed: bytes) -> bytes:
    return _sign(person_signed, make_pki().seal, "co_quan", reason="Văn thư đóng dấu")


def test_the_test_pdf_is_valid_and_unsigned() -> None:
    pdf = vietnamese_pdf()
    assert pdf.startswith(b"%PDF-")
    assert verify_pdf(pdf, [make_pki().root_pem]) == []


def test_one_signature(person_signed: bytes) -> None:
    original = vietnamese_pdf()
    assert person_signed.startswith(original), "a signature is an incremental update"
    [check] = verify_pdf(person_signed, [make_pki().root_pem])
    assert check.field_name == "nguoi_ky"
    assert check.signer_name == PERSON_CN
    assert check.signer_org == AGENCY
    assert check.signing_time == SIGNED_AT
    assert (check.intact, check.trusted, check.coverage, check.error) == (
        True,
        True,
        "entire",
        None,
    )
    assert check.ok


def test_the_agency_seal_keeps_the_person_signature_valid(
    person_signed: bytes, both_signed: bytes
) -> None:
    assert both_signed.startswith(person_signed)
    first, second = verify_pdf(both_signed, [make_pki().root_pem])
    assert (first.field_name, second.field_name) == ("nguoi_ky", "co_quan")
    assert first.ok and second.ok
    # The person's signature covers a revision followed only by another signature.
    assert first.coverage == "entire"
    assert second.signer_name == AGENCY
    assert second.signing_time == SIGNED_AT


def test_vietnamese_names_round_trip_in_nfc(both_signed: bytes) -> None:
    for check in verify_pdf(both_signed, [make_pki().root_pem]):
        for text in (check.signer_name, check.signer_org or ""):
            assert text == unicodedata.normalize("NFC", text)
    assert "Hồng" in verify_pdf(both_signed, [make_pki().root_pem])[0].signer_name


def test_trust_needs_the_root(both_signed: bytes) -> None:
    checks = verify_pdf(both_signed, [])
    assert [c.intact for c in checks] == [True, True]
    assert [c.trusted for c in checks] == [False, False]
    assert all(c.error for c in checks)
    # Another root (the stranger's self-signed certificate) does not help either.
    assert not any(c.trusted for c in verify_pdf(both_signed, [make_pki().stranger.cert_pem]))


def test_a_self_signed_signer_is_not_trusted() -> None:
    pki = make_pki()
    signed = sign_pdf(
        vietnamese_pdf(),
        key_pem=pki.stranger.key_pem,
        cert_pem=pki.stranger.cert_pem,
        reason="Tự ký",
        field_name="la",
    )
    [check] = verify_pdf(signed, [pki.root_pem])
    assert check.intact and not check.trusted
    assert check.signer_name == "Người lạ tự ký"


def test_the_certificate_must_be_valid_at_signing_time() -> None:
    pki = make_pki()
    before = _sign(vietnamese_pdf(), pki.person, "som", timestamp=datetime(2019, 6, 1, tzinfo=UTC))
    [check] = verify_pdf(before, [pki.root_pem])
    assert check.intact and not check.trusted


def test_a_flipped_byte_in_the_signed_content_is_detected(both_signed: bytes) -> None:
    at = both_signed.index(b"/MediaBox")
    at = both_signed.index(b"595", at)
    tampered = both_signed[:at] + b"6" + both_signed[at + 1 :]
    assert len(tampered) == len(both_signed) and tampered != both_signed
    checks = verify_pdf(tampered, [make_pki().root_pem])
    assert [c.intact for c in checks] == [False, False]
    assert not any(c.trusted for c in checks)
    assert all(c.error for c in checks)


def test_a_later_edit_that_is_not_a_signature_makes_coverage_partial(
    person_signed: bytes,
) -> None:
    w = IncrementalPdfFileWriter(BytesIO(person_signed))
    page = w.root["/Pages"]["/Kids"][0]
    extra = w.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 72 Td (SUA) Tj ET"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), extra])
    w.update_container(page)
    out = BytesIO()
    w.write(out)
    [check] = verify_pdf(out.getvalue(), [make_pki().root_pem])
    assert check.intact and check.trusted  # the signed revision itself is untouched
    assert check.coverage == "partial"
    assert not check.ok and check.error


def test_signing_a_field_twice_is_refused(person_signed: bytes) -> None:
    with pytest.raises(SignatureError) as err:
        _sign(person_signed, make_pki().person, "nguoi_ky")
    assert err.value.key == "documents.signature.sign_failed"


@pytest.mark.parametrize(
    "make",
    [
        lambda signed: signed[: len(signed) // 2],
        lambda signed: signed[:-40],
        lambda signed: b"",
        lambda signed: b"%PDF-1.7\n" + os.urandom(2000),
        lambda signed: os.urandom(2000),
        lambda signed: b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n",
    ],
    ids=["half", "tail-cut", "empty", "header-then-garbage", "garbage", "no-xref"],
)
def test_truncated_or_garbage_input_is_a_signature_error(make, both_signed: bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignatureError) as err:
        verify_pdf(make(both_signed), [make_pki().root_pem])
    assert err.value.key == "documents.signature.not_pdf"


def test_bad_signing_material_is_a_signature_error() -> None:
    pki = make_pki()
    pdf = vietnamese_pdf()
    with pytest.raises(SignatureError) as err:
        sign_pdf(pdf, key_pem=b"nope", cert_pem=pki.person.cert_pem, reason="x", field_name="a")
    assert err.value.key == "documents.signature.bad_credentials"
    with pytest.raises(SignatureError) as err:  # the seal's key with the person's certificate
        sign_pdf(
            pdf, key_pem=pki.seal.key_pem, cert_pem=pki.person.cert_pem, reason="x", field_name="a"
        )
    assert err.value.key == "documents.signature.bad_credentials"
    with pytest.raises(SignatureError) as err:
        sign_pdf(
            b"not a pdf",
            key_pem=pki.person.key_pem,
            cert_pem=pki.person.cert_pem,
            reason="x",
            field_name="a",
        )
    assert err.value.key == "documents.signature.not_pdf"
    with pytest.raises(SignatureError):
        verify_pdf(pdf, [b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
    for field in ("", "a.b", "x" * 101):
        with pytest.raises(SignatureError) as err:
            sign_pdf(
                pdf,
                key_pem=pki.person.key_pem,
                cert_pem=pki.person.cert_pem,
                reason="x",
                field_name=field,
            )
        assert err.value.key == "documents.signature.bad_field"


async def test_async_variants_run_off_the_loop() -> None:
    pki = make_pki()
    signed = await sign_pdf_async(
        vietnamese_pdf(),
        key_pem=pki.seal.key_pem,
        cert_pem=pki.seal.cert_pem,
        chain_pem=[pki.root_pem],
        reason="Sao y bản chính",
        field_name="sao_y",
    )
    [check] = await verify_pdf_async(signed, [pki.root_pem])
    assert check.ok and check.signer_name == AGENCY
    assert check.signing_time is not None
    assert abs((check.signing_time - datetime.now(UTC)).total_seconds()) < 600


class _Tsa:
    """A local RFC 3161 time-stamping authority over HTTP (pyHanko's test signer behind
    http.server), answering at a fixed time."""

    def __init__(self, at: datetime) -> None:
        import http.server
        import threading

        from asn1crypto import pem, tsp, x509
        from pyhanko.keys import load_private_key_from_pemder_data
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        pki = make_pki()
        _, _, der = pem.unarmor(pki.tsa.cert_pem)
        stamper = DummyTimeStamper(
            tsa_cert=x509.Certificate.load(der),
            tsa_key=load_private_key_from_pemder_data(pki.tsa.key_pem, passphrase=None),
            fixed_dt=at,
        )

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_timestamp_authority_makes_it_pades_b_t() -> None:
    stamped_at = datetime(2025, 3, 5, 2, 0, 0, tzinfo=UTC)
    tsa = _Tsa(stamped_at)
    try:
        pki = make_pki()
        signed = sign_pdf(
            vietnamese_pdf(),
            key_pem=pki.person.key_pem,
            cert_pem=pki.person.cert_pem,
            chain_pem=[pki.root_pem],
            reason="Ký ban hành",
            field_name="nguoi_ky",
            timestamp=datetime(2019, 1, 1, tzinfo=UTC),  # a claim the timestamp overrides
            timestamp_url=tsa.url,
        )
    finally:
        tsa.close()
    [check] = verify_pdf(signed, [make_pki().root_pem])
    assert check.signing_time == stamped_at  # the TSA's time, not the signer's claim
    assert check.ok
    with pytest.raises(SignatureError) as err:  # nobody listens there any more
        sign_pdf(
            vietnamese_pdf(),
            key_pem=pki.person.key_pem,
            cert_pem=pki.person.cert_pem,
            reason="x",
            field_name="a",
            timestamp_url=tsa.url,
        )
    assert err.value.key == "documents.signature.tsa_failed"
