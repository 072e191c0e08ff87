"""DKIM signing of outgoing mail (RFC 6376, RSA-SHA256, relaxed/relaxed) and DKIM keys.

``sign`` returns the ``DKIM-Signature`` header field to prepend to the message; the
pipeline sends unsigned (and logs it) when it raises ``DkimKeyError``.  ``generate_key``
makes a key pair: the private key in PEM (stored on the domain) and the public key as
base64 DER, published as ``<selector>._domainkey.<domain> TXT "v=DKIM1; k=rsa; p=..."``.
"""

from __future__ import annotations

import asyncio
import base64
import re

import dkim
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_SIZES = (1024, 2048, 3072, 4096)

# Signed when present, top to bottom as in RFC 6376 5.4.1's list of what to sign.
SIGNED_HEADERS = (
    "from",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "to",
    "cc",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "in-reply-to",
    "references",
)

_SELECTOR_RE = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_HEADER_NAME_RE = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)


class DkimSignError(Exception):
    """The message could not be signed (e.g. it has no From header field)."""


class DkimKeyError(DkimSignError):
    """The private key is missing, unreadable, not RSA or too small."""


def generate_key(bits: int = 2048) -> tuple[str, str]:
    """A new RSA key: (private key PEM, public key as base64 DER for the TXT record)."""
    if bits not in KEY_SIZES:
        raise ValueError(f"DKIM key size must be one of {KEY_SIZES}, not {bits}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _private_pem(key), _public_b64(key)


def public_key_b64(private_pem: str) -> str:
    """The base64 DER public key belonging to a stored private key."""
    return _public_b64(_load_key(private_pem))


def dns_txt_record(public_b64: str) -> str:
    return f"v=DKIM1; k=rsa; p={public_b64}"


def txt_strings(value: str) -> list[str]:
    """A TXT value cut into character-strings of at most 255 octets (RFC 1035 3.3.14)."""
    raw = value.encode("ascii")
    return [raw[i : i + 255].decode("ascii") for i in range(0, len(raw), 255)] or [""]


def dns_record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}."


def zone_line(selector: str, domain: str, public_b64: str) -> str:
    """The record to publish, in zone-file syntax."""
    quoted = " ".join(f'"{s}"' for s in txt_strings(dns_txt_record(public_b64)))
    return f"{dns_record_name(selector, domain)} IN TXT {quoted}"


def valid_selector(selector: str) -> bool:
    return bool(_SELECTOR_RE.match(selector)) and len(selector) <= 63


def sign(raw: bytes, domain: str, selector: str, private_pem: str) -> bytes:
    """The ``DKIM-Signature`` header field (with its line break) to prepend to ``raw``."""
    pem = _private_pem(_load_key(private_pem)).encode("ascii")
    present = {m.group(1).lower() for m in _HEADER_NAME_RE.finditer(_header_block(raw))}
    if b"from" not in present:
        raise DkimSignError("the message has no From header field")
    # From is listed once more than it occurs, so a second From cannot be added later.
    include = [h.encode() for h in SIGNED_HEADERS if h.encode() in present] + [b"from"]
    linesep = b"\r\n" if b"\r\n" in raw[:1000] else b"\n"
    try:
        signer = dkim.DKIM(raw, linesep=linesep)
        return bytes(
            signer.sign(
                selector.encode("ascii"),
                domain.encode("ascii"),
                pem,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=include,
            )
        )
    except dkim.KeyFormatError as exc:
        raise DkimKeyError(str(exc)) from exc
    except (dkim.DKIMException, UnicodeEncodeError) as exc:
        raise DkimSignError(str(exc)) from exc


async def sign_async(raw: bytes, domain: str, selector: str, private_pem: str) -> bytes:
    """``sign`` in a worker thread: RSA signing must not stall the event loop."""
    return await asyncio.to_thread(sign, raw, domain, selector, private_pem)


def _header_block(raw: bytes) -> bytes:
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i != -1:
            end = min(end, i)
    return raw[:end]


def _load_key(private_pem: str) -> rsa.RSAPrivateKey:
    if not private_pem or not private_pem.strip():
        raise DkimKeyError("no DKIM private key")
    try:
        key = serialization.load_pem_private_key(private_pem.strip().encode("ascii"), None)
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise DkimKeyError(f"unreadable DKIM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError("the DKIM private key is not an RSA key")
    if key.key_size < 1024:
        raise DkimKeyError(f"the DKIM key has {key.key_size} bits; at least 1024 are needed")
    return key


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    # PKCS#1 ("BEGIN RSA PRIVATE KEY"): the form dkimpy reads.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def _public_b64(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")
