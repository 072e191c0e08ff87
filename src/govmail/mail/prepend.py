"""Trace and result header fields prepended to a parsed message without parsing it again.

The pipeline parses a message once, then adds ``Received``, ``Authentication-Results``,
``DKIM-Signature``… on top. ``prepend_fields`` shifts every stored offset by the length of
the added block and indexes the new fields, so the stored metadata matches the stored bytes.
"""

from __future__ import annotations

from typing import Any

from govmail.mail.headers import encode_header_value

_OFFSET_KEYS = ("header_start", "header_end", "body_start", "body_end")


def format_fields(fields: list[tuple[str, str]]) -> bytes:
    """Header fields as CRLF-terminated lines; values that are not ASCII are RFC 2047-encoded,
    long values are expected to be folded by their producer."""
    out = bytearray()
    for name, value in fields:
        if not value.isascii():
            value = encode_header_value(value)
        out += f"{name}: {value}\r\n".encode("ascii")
    return bytes(out)


def _shifted(part: dict[str, Any], n: int, top: bool) -> dict[str, Any]:
    """A copy of ``part`` with its offsets moved by ``n`` (only what changes is copied)."""
    out = dict(part)
    for k in _OFFSET_KEYS:
        if k in out and not (top and k == "header_start"):
            out[k] += n
    if "parts" in out:
        out["parts"] = [_shifted(sub, n, False) for sub in out["parts"]]
    msg = out.get("message")
    if msg:
        msg = dict(msg)
        msg["headers"] = [[name, off + n, length] for name, off, length in msg["headers"]]
        msg["body"] = _shifted(msg["body"], n, False)
        out["message"] = msg
    return out


def prepend_fields(meta: dict[str, Any], block: bytes) -> dict[str, Any]:
    """Metadata (``ParsedMessage.to_dict()`` form) of ``block + raw`` given that of ``raw``.

    ``block`` must be complete CRLF-terminated header fields. Returns a new dict; what it
    does not change is shared with ``meta``.
    """
    if not block:
        return meta
    n = len(block)
    out = dict(meta)
    new_index: list[list[Any]] = []
    pos = 0
    for line in block.split(b"\r\n")[:-1]:
        length = len(line) + 2
        if line[:1] in (b" ", b"\t") and new_index:
            new_index[-1][2] += length
        else:
            name = line.split(b":", 1)[0].decode("ascii", "replace").strip().lower()
            new_index.append([name, pos, length])
        pos += length
    out["headers"] = new_index + [[name, off + n, length] for name, off, length in out["headers"]]
    out["body"] = _shifted(out["body"], n, True)
    out["size"] = out["size"] + n
    out["lines"] = out["lines"] + block.count(b"\n")
    return out
