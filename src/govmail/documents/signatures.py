"""Digital signatures on PDF documents (PAdES, with pyHanko).

Decree 30/2020 (Điều 5, Phụ lục I) wants two signatures on an outgoing electronic
document: the competent person signs first, then the clerk (Văn thư) applies the
agency's signature. Each signature here is an *incremental update*: the bytes signed
before stay untouched, so the first signature remains valid after the second, and a
verifier sees that the later revision only added a signature.

- ``sign_pdf`` adds one PAdES baseline B-B signature (SubFilter ETSI.CAdES.detached,
  SHA-256, signing certificate v2 attribute); with a ``timestamp_url`` it is B-T.
- ``verify_pdf`` checks every signature: integrity of the signed byte range, the chain
  to the given trust roots at signing time, and what was appended afterwards.

pyHanko's work is blocking (hashing, RSA, difference analysis): the ``*_async``
variants run it in a worker thread so that the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Literal

from asn1crypto import pem, x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
)
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfSigner
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

Coverage = Literal["entire", "partial"]


class SignatureError(Exception):
    """The PDF could not be signed or read (not a PDF, truncated, bad key or certificate).
    ``key`` names a message in the i18n catalogues; ``detail`` is the technical cause."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The verdict on one signature of a PDF, in document order."""

    field_name: str
    signer_name: str  # the signing certificate's CN, NFC ("" if it has none)
    signer_org: str | None  # its O
    signing_time: datetime | None  # trusted timestamp if any, else the signer's claim
    intact: bool  # the signed bytes hash to the signed digest and the CMS signature verifies
    trusted: bool  # chain to one of the roots, valid at signing_time
    coverage: Coverage  # "entire": nothing but further signatures appended after it
    error: str | None = None  # why it is not intact / trusted, when known

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and self.coverage == "entire" and self.error is None


# -- signing ------------------------------------------------------------------------------


def _certs(pem_blobs: Sequence[bytes]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for blob in pem_blobs:
        if pem.detect(blob):
            out.extend(x509.Certificate.load(der) for _, _, der in pem.unarmor(blob, True))
        else:
            out.append(x509.Certificate.load(blob))
    return out


def _signer(key_pem: bytes, cert_pem: bytes, chain_pem: Sequence[bytes]) -> signers.SimpleSigner:
    try:
        certs = _certs([cert_pem])
        if len(certs) != 1:
            raise ValueError(f"expected one signing certificate, got {len(certs)}")
        key = load_private_key_from_pemder_data(key_pem, passphrase=None)
        chain = _certs(chain_pem)
        # Force parsing now: asn1crypto is lazy and would fail later, mid-signing.
        for c in (*certs, *chain):
            _ = c.subject.native
        public = load_der_private_key(key.dump(), password=None).public_key()
        matches = (
            public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            == certs[0].public_key.dump()
        )
    except Exception as exc:  # asn1crypto and cryptography raise many types on bad input
        raise SignatureError("documents.signature.bad_credentials", str(exc)) from exc
    if not matches:
        raise SignatureError(
            "documents.signature.bad_credentials", "the key does not match the certificate"
        )
    return signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )


def _open_for_update(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    except Exception as exc:
        raise SignatureError("documents.signature.not_pdf", str(exc)) from exc


async def _sign(
    pdf: bytes,
    signer: signers.SimpleSigner,
    meta: signers.PdfSignatureMetadata,
    field_name: str,
    signing_time: datetime | None,
    timestamp_url: str | None,
) -> bytes:
    writer = _open_for_update(pdf)
    timestamper = HTTPTimeStamper(timestamp_url) if timestamp_url else None
    pdf_signer = PdfSigner(
        meta,
        signer,
        timestamper=timestamper,
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name),
    )
    # The steps of PdfSigner.async_sign_pdf, with the claimed signing time set.
    session = pdf_signer.init_signing_session(writer, existing_fields_only=False)
    if signing_time is not None:
        session.system_time = signing_time
    validation_info = await session.perform_presign_validation(writer)
    reserved = await session.estimate_signature_container_size(validation_info, tight=False)
    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=reserved)
    digest, output = tbs.digest_tbs_document(in_place=False, output=None)
    post = await tbs.perform_signature(
        document_digest=digest.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=session.system_time,
            adobe_revinfo_attr=(
                None if validation_info is None else validation_info.adobe_revinfo_attr
            ),
            cades_signed_attrs=meta.cades_signed_attr_spec,
        ),
    )
    await post.post_signature_processing(output)
    output.seek(0)
    return bytes(output.read())


def sign_pdf(
    pdf: bytes,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    chain_pem: Sequence[bytes] = (),
    reason: str,
    field_name: str,
    location: str | None = None,
    timestamp: datetime | None = None,
    timestamp_url: str | None = None,
) -> bytes:
    """Add a PAdES signature to ``pdf`` as an incremental update and return the new file.

    ``field_name`` is the new signature field (one per signer, e.g. "nguoi_ky" then
    "co_quan"); signing into an existing signed field is refused. ``timestamp`` is the
    signing time the signature claims (default: now); ``timestamp_url`` an RFC 3161
    time-stamping authority, for PAdES B-T. Raises ``SignatureError`` on a PDF that
    cannot be read, bad key/certificate material, or a field that is already signed.
    Blocking (it runs its own event loop): from async code call ``sign_pdf_async``.
    """
    if timestamp is not None and timestamp.tzinfo is None:
        raise SignatureError("documents.signature.naive_time")
    if not field_name or len(field_name) > 100 or any(c in field_name for c in ".()\r\n"):
        # "." separates the levels of a fully qualified PDF field name.
        raise SignatureError("documents.signature.bad_field", field_name)
    signer = _signer(key_pem, cert_pem, chain_pem)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=unicodedata.normalize("NFC", reason),
        location=unicodedata.normalize("NFC", location) if location else None,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        use_pades_lta=False,
    )
    try:
        return asyncio.run(_sign(pdf, signer, meta, field_name, timestamp, timestamp_url))
    except SignatureError:
        raise
    except TimestampRequestError as exc:
        raise SignatureError("documents.signature.tsa_failed", str(exc)) from exc
    except (PdfError, SigningError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise SignatureError("documents.signature.sign_failed", str(exc)) from exc


async def sign_pdf_async(
    pdf: bytes,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    chain_pem: Sequence[bytes] = (),
    reason: str,
    field_name: str,
    location: str | None = None,
    timestamp: datetime | None = None,
    timestamp_url: str | None = None,
) -> bytes:
    """``sign_pdf`` in a worker thread."""
    return await asyncio.to_thread(
        sign_pdf,
        pdf,
        key_pem=key_pem,
        cert_pem=cert_pem,
        chain_pem=chain_pem,
        reason=reason,
        field_name=field_name,
        location=location,
        timestamp=timestamp,
        timestamp_url=timestamp_url,
    )


# -- verifying ----------------------------------------------------------------------------


def _name_parts(cert: x509.Certificate) -> tuple[str, str | None]:
    subject = cert.subject.native
    cn = subject.get("common_name") or ""
    org = subject.get("organization_name")
    if isinstance(cn, list):
        cn = cn[0] if cn else ""
    if isinstance(org, list):
        org = org[0] if org else None
    return (
        unicodedata.normalize("NFC", str(cn)),
        unicodedata.normalize("NFC", str(org)) if org else None,
    )


def _timestamp_time(embedded: object) -> datetime | None:
    """The genTime of a signature timestamp token in the unsigned attributes, if any."""
    try:
        signer_info = embedded.signer_info  # type: ignore[attr-defined]
        for attr in signer_info["unsigned_attrs"] or ():
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]
                tst_info = token["content"]["encap_content_info"]["content"].parsed
                gen_time: datetime = tst_info["gen_time"].native
                return gen_time
    except (KeyError, ValueError, TypeError, AttributeError, IndexError):
        return None
    return None


def _only_signatures_after(status: object, final: PdfFileReader) -> bool:
    """Whether the revisions after a signed one only add or fill signature fields."""
    diff = getattr(status, "diff_result", None)
    if not isinstance(diff, DiffResult):
        return False
    if diff.modification_level > ModificationLevel.FORM_FILLING:
        return False
    signature_fields = {
        name for name, _value, _ref in fields.enumerate_sig_fields(final, filled_status=None)
    }
    return set(diff.changed_form_fields) <= signature_fields


def _coverage(status: object, final: PdfFileReader) -> Coverage:
    level = getattr(status, "coverage", None)
    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return "entire"
    if level == SignatureCoverageLevel.ENTIRE_REVISION and _only_signatures_after(status, final):
        return "entire"
    return "partial"


def _problem(status: object) -> str | None:
    if not getattr(status, "intact", False):
        return "digest mismatch: the signed bytes were changed"
    if not getattr(status, "valid", False):
        return "the CMS signature value does not verify"
    indic = getattr(status, "trust_problem_indic", None)
    if indic is not None:
        return f"certificate: {getattr(indic, 'name', indic)}"
    if getattr(status, "revoked", False):
        return "certificate revoked"
    return None


def _modified(coverage: Coverage, status: object) -> str | None:
    if coverage == "entire":
        return None
    level = getattr(status, "modification_level", None)
    return "the document was changed after this signature" + (
        f" ({level.name})" if level is not None else ""
    )


async def _check(
    embedded: object, reader: PdfFileReader, roots: list[x509.Certificate]
) -> SignatureCheck:
    field_name = str(getattr(embedded, "field_name", "") or "")
    try:
        cert = embedded.signer_cert  # type: ignore[attr-defined]
        signer_name, signer_org = _name_parts(cert)
    except Exception as exc:
        return SignatureCheck(field_name, "", None, None, False, False, "partial", str(exc))
    tst_time = _timestamp_time(embedded)
    try:
        claimed = embedded.self_reported_timestamp  # type: ignore[attr-defined]
    except Exception:
        claimed = None
    moment = tst_time or claimed
    context = ValidationContext(
        trust_roots=roots,
        other_certs=list(getattr(embedded, "other_embedded_certs", [])),
        moment=moment,
        best_signature_time=moment,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    try:
        status = await async_validate_pdf_signature(
            embedded,  # type: ignore[arg-type]
            signer_validation_context=context,
        )
    except Exception as exc:  # pyHanko raises many types on malformed signatures
        return SignatureCheck(
            field_name,
            signer_name,
            signer_org,
            moment,
            False,
            False,
            "partial",
            f"{type(exc).__name__}: {exc}",
        )
    signing_time = tst_time or status.signer_reported_dt or claimed
    if signing_time is not None and signing_time.tzinfo is None:
        signing_time = signing_time.replace(tzinfo=UTC)
    intact = bool(status.intact and status.valid)
    coverage = _coverage(status, reader)
    return SignatureCheck(
        field_name=field_name,
        signer_name=signer_name,
        signer_org=signer_org,
        signing_time=signing_time,
        intact=intact,
        trusted=bool(intact and status.trusted and not status.revoked),
        coverage=coverage,
        error=_problem(status) or _modified(coverage, status),
    )


async def _verify(pdf: bytes, trust_roots_pem: Sequence[bytes]) -> list[SignatureCheck]:
    try:
        roots = _certs(trust_roots_pem)
        for root in roots:
            _ = root.subject.native
    except Exception as exc:
        raise SignatureError("documents.signature.bad_roots", str(exc)) from exc
    if not pdf.lstrip()[:5] == b"%PDF-":
        raise SignatureError("documents.signature.not_pdf", "no %PDF- header")
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except Exception as exc:  # truncated or garbage structure: no xref, bad objects
        raise SignatureError("documents.signature.not_pdf", f"{type(exc).__name__}: {exc}") from exc
    return [await _check(sig, reader, roots) for sig in embedded]


def verify_pdf(pdf: bytes, trust_roots_pem: Sequence[bytes]) -> list[SignatureCheck]:
    """One ``SignatureCheck`` per signature of ``pdf`` (an unsigned PDF gives ``[]``).

    Trust: the signer's chain must lead to one of ``trust_roots_pem`` and be valid at the
    signing time (the trusted timestamp when the signature has one, otherwise the time
    the signer claims, as Acrobat does by default); revocation is checked only with the
    information embedded in the file (no network). Raises ``SignatureError`` when
    ``pdf`` is not a readable PDF. Blocking: from async code call ``verify_pdf_async``.
    """
    return asyncio.run(_verify(pdf, trust_roots_pem))


async def verify_pdf_async(pdf: bytes, trust_roots_pem: Sequence[bytes]) -> list[SignatureCheck]:
    """``verify_pdf`` in a worker thread."""
    return await asyncio.to_thread(verify_pdf, pdf, trust_roots_pem)
