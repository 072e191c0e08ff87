"""The SMTP DATA reader alone: govmail's reader in pieces (``govmail.smtp.data_reader``)
against aiosmtpd 1.4.6's line-by-line loop (reproduced without its socket), on a 4 KB
letter and on a 1 MB message with a base64 attachment. Prints ms per message.

    .venv/bin/python bench/smtp_throughput/data_reader.py
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time

from govmail.smtp.data_reader import read_data

log = logging.getLogger("mail.log")
log.setLevel(logging.ERROR)


async def ref(reader):  # aiosmtpd 1.4.6's DATA loop, without the socket
    data = []
    num_bytes = 0
    frags = []
    state = 0
    limit = 10**8
    while True:
        line = await reader.readuntil(b"\r\n")
        log.debug("DATA readline: %s", line)
        if not frags and line == b".\r\n":
            break
        num_bytes += len(line)
        if state == 0 and limit and num_bytes > limit:
            state = 1
        frags.append(line)
        if line.endswith(b"\r\n"):
            if state == 0:
                joined = b"".join(frags)
                if len(joined) > 65536:
                    state = 2
                else:
                    data.append(bytearray(b"".join(frags)))
            frags *= 0
    for t in data:
        if t.startswith(b"."):
            del t[0]
    return b"".join(data)


letter = b"".join(
    b"Dong %d cua mot cong van thong thuong, co vai chu o day%s\r\n"
    % (i, b"." if i % 6 == 0 else b",")
    for i in range(62)
)
att = letter + base64.encodebytes(os.urandom(750_000)).replace(b"\n", b"\r\n")


async def main():
    for label, msg in (("4 KB letter", letter), ("1 MB with a base64 attachment", att)):
        for name, fn in (
            ("in pieces", lambda r: read_data(r, 10**8, 65536)),
            ("line by line", ref),
        ):
            n = 2000 if len(msg) < 10000 else 30
            t = time.perf_counter()
            for _ in range(n):
                r = asyncio.StreamReader(limit=65536)
                r.feed_data(msg + b".\r\n")
                await fn(r)
            print(f"{label:32} {name:13} {(time.perf_counter() - t) / n * 1e3:8.3f} ms")


asyncio.run(main())
