"""A small test PKI (built with ``cryptography``) and a one-page Vietnamese PDF.

- a root CA "CA thử nghiệm govmail";
- a person certificate "Nguyễn Minh Hồng" (Thứ trưởng, Bộ Thông tin và Truyền thông);
- an agency seal certificate "Bộ Thông tin và Truyền thông";
- a time-stamping authority "TSA thử nghiệm govmail" (for PAdES B-T);
- a self-signed "stranger" certificate that chains to nothing.

Everything is made once per test run (RSA key generation is the slow part) and returned
as PEM bytes, the form ``govmail.documents.signatures`` takes.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_CN = "CA thử nghiệm govmail"
PERSON_CN = "Nguyễn Minh Hồng"
PERSON_TITLE = "Thứ trưởng"
AGENCY = "Bộ Thông tin và Truyền thông"
NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2045, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Identity:
    key_pem: bytes
    cert_pem: bytes


@dataclass(frozen=True)
class Pki:
    root_pem: bytes
    person: Identity
    seal: Identity
    tsa: Identity  # extended key usage timeStamping (critical)
    stranger: Identity  # self-signed, chains to no root


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


def _signer_cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    tsa: bool = False,
) -> x509.Certificate:
    usage = ExtendedKeyUsageOID.TIME_STAMPING if tsa else ExtendedKeyUsageOID.EMAIL_PROTECTION
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=tsa)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


@functools.cache
def make_pki() -> Pki:
    root_key = _key()
    root_name = _name((NameOID.COMMON_NAME, ROOT_CN), (NameOID.ORGANIZATION_NAME, "govmail"))
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )

    def issued(subject: x509.Name, tsa: bool = False) -> Identity:
        key = _key()
        cert = _signer_cert(subject, key, root_name, root_key, tsa=tsa)
        return Identity(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))

    person = issued(
        _name(
            (NameOID.COMMON_NAME, PERSON_CN),
            (NameOID.TITLE, PERSON_TITLE),
            (NameOID.ORGANIZATION_NAME, AGENCY),
            (NameOID.COUNTRY_NAME, "VN"),
        )
    )
    seal = issued(
        _name(
            (NameOID.COMMON_NAME, AGENCY),
            (NameOID.ORGANIZATION_NAME, AGENCY),
            (NameOID.COUNTRY_NAME, "VN"),
        )
    )
    tsa = issued(
        _name(
            (NameOID.COMMON_NAME, "TSA thử nghiệm govmail"), (NameOID.ORGANIZATION_NAME, "govmail")
        ),
        tsa=True,
    )
    stranger_key = _key()
    stranger_name = _name(
        (NameOID.COMMON_NAME, "Người lạ tự ký"), (NameOID.ORGANIZATION_NAME, "Không rõ")
    )
    stranger_cert = _signer_cert(stranger_name, stranger_key, stranger_name, stranger_key)
    return Pki(
        root_pem=root.public_bytes(serialization.Encoding.PEM),
        person=person,
        seal=seal,
        tsa=tsa,
        stranger=Identity(
            _key_pem(stranger_key), stranger_cert.public_bytes(serialization.Encoding.PEM)
        ),
    )


@functools.cache
def vietnamese_pdf() -> bytes:
    """A valid one-page A4 PDF with Vietnamese text (DejaVu Sans, embedded as TrueType)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    lines = [
        (0.45, 0.93, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11),
        (0.52, 0.91, "Độc lập - Tự do - Hạnh phúc", 11),
        (0.06, 0.93, "BỘ THÔNG TIN VÀ TRUYỀN THÔNG", 11),
        (0.10, 0.89, "Số: 22/BC-BTTTT", 11),
        (0.58, 0.87, "Hà Nội, ngày 05 tháng 3 năm 2020", 11),
        (0.40, 0.80, "BÁO CÁO", 13),
        (0.22, 0.78, "Về việc ứng dụng chữ ký số trong cơ quan nhà nước", 12),
        (0.10, 0.72, "Nội dung thử nghiệm: tiếng Việt có dấu, các thanh ạ ả ã ặ ờ ữ ỵ.", 11),
        (0.62, 0.40, "KT. BỘ TRƯỞNG", 11),
        (0.64, 0.38, "THỨ TRƯỞNG", 11),
        (0.62, 0.30, "Nguyễn Minh Hồng", 11),
    ]
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        fig = Figure(figsize=(8.27, 11.69))
        for x, y, text, size in lines:
            fig.text(x, y, text, fontsize=size)
        out = io.BytesIO()
        fig.savefig(
            out,
            format="pdf",
            metadata={"Title": "Báo cáo thử nghiệm chữ ký số", "Author": AGENCY},
        )
    return out.getvalue()
