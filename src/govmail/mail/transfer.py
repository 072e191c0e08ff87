"""Content-Transfer-Encoding decoding that tolerates what real mail contains.

Bad base64 (stray characters, missing padding, padding in the middle of concatenated
chunks) and bad quoted-printable (``=ZZ``, soft breaks with bare LF) decode to the bytes
that can be recovered; nothing here raises except for an *unknown* encoding in strict mode
(IMAP ``BINARY`` must answer ``UNKNOWN-CTE`` for those).
"""

from __future__ import annotations

import binascii
import re

__all__ = [
    "IDENTITY_ENCODINGS",
    "UnknownTransferEncoding",
    "decode_base64",
    "decode_transfer",
    "decoded_size_estimate",
]

IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})
_UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_B64_DELETE = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_PADDING_RUN = re.compile(rb"=+")


class UnknownTransferEncoding(ValueError):
    """The part declares a Content-Transfer-Encoding this module cannot decode."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"unknown Content-Transfer-Encoding: {encoding!r}")
        self.encoding = encoding


def _b64_chunk(chunk: bytes) -> bytes:
    rem = len(chunk) % 4
    if rem == 1:
        chunk = chunk[:-1]
    elif rem:
        chunk += b"=" * (4 - rem)
    if not chunk:
        return b""
    try:
        return binascii.a2b_base64(chunk)
    except binascii.Error:  # pragma: no cover - input is cleaned and padded above
        return b""


def decode_base64(data: bytes) -> bytes:
    """Decode base64, ignoring junk characters and repairing padding."""
    cleaned = data.translate(None, _B64_DELETE)
    body = cleaned.rstrip(b"=")
    if b"=" not in body:
        return _b64_chunk(body)
    # Padding inside the data: several base64 streams were concatenated.
    return b"".join(_b64_chunk(c) for c in _PADDING_RUN.split(body))


def _decode_uu(data: bytes) -> bytes:
    out: list[bytes] = []
    started = False
    for line in data.splitlines():
        if not started:
            if line.startswith(b"begin "):
                started = True
            continue
        if line.strip() in (b"end", b"`", b""):
            if line.strip() == b"end":
                break
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # Some encoders emit lines longer than the length byte says; trust the byte.
            n = (line[0] - 32) & 63
            try:
                out.append(binascii.a2b_uu(line[: 1 + (n + 2) // 3 * 4])[:n])
            except binascii.Error:
                continue
    return b"".join(out)


def decode_transfer(data: bytes, encoding: str | None, *, strict: bool = False) -> bytes:
    """Undo ``encoding`` (a Content-Transfer-Encoding token, any case) on ``data``.

    Unknown encodings return ``data`` unchanged, or raise ``UnknownTransferEncoding`` when
    ``strict`` is true.
    """
    enc = (encoding or "").strip().lower()
    if enc in IDENTITY_ENCODINGS:
        return data
    if enc == "base64":
        return decode_base64(data)
    if enc == "quoted-printable":
        return binascii.a2b_qp(data)
    if enc in _UU_ENCODINGS:
        return _decode_uu(data)
    if strict:
        raise UnknownTransferEncoding(enc)
    return data


def decoded_size_estimate(raw: bytes, start: int, end: int, encoding: str | None) -> int:
    """Size of the decoded content of ``raw[start:end]`` without decoding it.

    Exact for well-formed base64 (consistent line ends, no blanks) and identity encodings;
    for quoted-printable it is the size after decoding (small parts) or the encoded size
    (parts over 1 MiB).
    """
    enc = (encoding or "").strip().lower()
    size = end - start
    if enc == "base64":
        lf = raw.count(b"\n", start, end)
        first_lf = raw.find(b"\n", start, end)
        crlf = first_lf > start and raw[first_lf - 1] == 0x0D
        chars = size - lf - (lf if crlf else raw.count(b"\r", start, end))
        tail = raw[max(start, end - 8) : end].rstrip(b"\r\n \t")
        pad = len(tail) - len(tail.rstrip(b"="))
        return max(0, chars * 3 // 4 - pad)
    if enc == "quoted-printable" and size <= 1 << 20:
        return len(binascii.a2b_qp(raw[start:end]))
    return size
