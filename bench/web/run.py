#!/usr/bin/env python3
"""Webmail under load: the inbox page and a message page, 50 concurrent users, loopback.

    .venv/bin/python bench/web/run.py [--users 50] [--seconds 15] [--messages 200]
                                      [--database sqlite|postgres]

Starts govmail in a child process (its own event loop and CPU, as in production: one
process serving HTTP) on a fresh SQLite database (or PostgreSQL with
``--database postgres``, using $GOVMAIL_TEST_PG like the tests) with ``--messages``
messages in the inbox; logs ``--users`` people in; each of them then asks for pages as
fast as the server answers, on its own keep-alive connection (a small asyncio HTTP/1.1
client, gzip accepted as browsers do). Prints requests/s and latency percentiles per
page, and the page weight on the wire (gzip) with the assets it references.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import asyncio, json, sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from govmail.app import App
from govmail.config import load_settings

async def main(data_dir, database_url, users, messages):
    settings = load_settings(general={"data_dir": data_dir})
    if database_url:
        settings.database.url = database_url
    for attr in ("smtp_port", "submission_port", "submissions_port", "http_port",
                 "imap_port", "imaps_port", "pop3_port", "pop3s_port"):
        setattr(settings.listeners, attr, 0)
    settings.auth.max_failures_per_ip = 100000
    app = App(settings)
    await app.start()
    async with app.directory.ops() as ops:
        await ops.add_domain("bench.gov.vn")
        await ops.add_agency(name="Sở Thông tin và Truyền thông", short_name="STTTT",
                             kind="department", code="000.00.00.B01", domain="bench.gov.vn")
        addresses = []
        for i in range(users):
            m = await ops.add_mailbox(full_name=f"Nguyễn Văn Thử {i}", agency="000.00.00.B01",
                                      local_part=f"user{i}", password="mat-khau-bench")
            addresses.append(m.address)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(addresses[0])
        inbox = await tx.mail.folder(mb.id, "INBOX")
    for i in range(messages):
        m = EmailMessage()
        m["From"] = "Trần Văn Đức <duc@mic.gov.vn>"
        m["To"] = addresses[0]
        m["Subject"] = f"Công văn số {i} về việc báo cáo tình hình ứng dụng CNTT quý IV"
        m["Date"] = format_datetime(start + timedelta(minutes=i))
        m.set_content("Kính gửi các đơn vị.\n" + "Nội dung công văn. " * 40)
        if i % 10 == 0:
            m.add_attachment(b"%PDF-1.4\n" + b"0" * 20000, maintype="application",
                             subtype="pdf", filename=f"Công văn {i}.pdf")
        await app.mailstore.append(inbox, m.as_bytes(), internal_date=start + timedelta(minutes=i))
    # Each user reads their own inbox: the others get copies (the blobs are shared).
    async with app.store.read() as tx:
        uids = await tx.mail.uids(inbox.id)
    for address in addresses[1:]:
        async with app.store.read() as tx:
            mb = await tx.directory.mailbox_by_address(address)
            dest = await tx.mail.folder(mb.id, "INBOX")
        await app.mailstore.copy(inbox.id, uids, dest)
    print(json.dumps({"port": app.service("http").port, "addresses": addresses}), flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


async def request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, cookie: str
) -> tuple[int, bytes, dict[str, str]]:
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
        f"Cookie: {cookie}\r\nConnection: keep-alive\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:  # chunked
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(c[:-2] for c in chunks)
    return status, body, headers


def login(port: int, address: str) -> str:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
        page = c.get("/login")
        token = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"_csrf": token, "account": address,
                                   "password": "mat-khau-bench"})  # fmt: skip
        assert r.status_code == 303, r.text
        return f"gm_session={c.cookies['gm_session']}"


async def load(port: int, cookies: list[str], paths: list[str], seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def user(i: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        path = paths[i % len(paths)]
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            status, _body, _h = await request(reader, writer, path, cookies[i])
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors += 1
        writer.close()

    t0 = time.monotonic()
    await asyncio.gather(*(user(i) for i in range(len(cookies))))
    elapsed = time.monotonic() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": errors,
    }


async def weight(port: int, cookie: str, path: str) -> dict[str, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    status, body, headers = await request(reader, writer, path, cookie)
    assert status == 200 and headers.get("content-encoding") == "gzip"
    html = gzip.decompress(body).decode()
    total = len(body)
    assets = 0
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        _s, asset, _h = await request(reader, writer, url, cookie)
        assets += len(asset)
    writer.close()
    return {"html_gzip": total, "assets_gzip": assets, "total": total + assets,
            "html_raw": len(html.encode())}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="govmail-bench-web-")
    url = ""
    dbname = None
    if args.database == "postgres":
        import psycopg

        admin = os.environ.get("GOVMAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
        dbname = f"govmail_bench_{os.getpid()}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url += f"/{dbname}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVMAIL_")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(Path(tmp) / "data"), url, str(args.users),
         str(args.messages)],
        cwd=tmp, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        port = info["port"]
        cookies = [login(port, a) for a in info["addresses"]]
        inbox, message = "/mail", None
        results: dict[str, object] = {}

        async def run() -> None:
            nonlocal inbox, message
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            _s, _b, h = await request(reader, writer, "/mail", cookies[0])
            inbox = h["location"]
            _s, body, _h = await request(reader, writer, inbox, cookies[0])
            html = gzip.decompress(body).decode()
            writer.close()
            first = re.search(r'href="(/mail/f/\d+/m/)(\d+)"', html)
            assert first is not None
            message = first.group(1)  # each user reads their own copy: same UIDs
            uid = first.group(2)
            results["inbox_weight"] = await weight(port, cookies[0], inbox)
            per_user_inbox = []
            per_user_message = []
            for c in cookies:
                r2, w2 = await asyncio.open_connection("127.0.0.1", port)
                _s, _b, h = await request(r2, w2, "/mail", c)
                per_user_inbox.append(h["location"])
                fid = h["location"].rsplit("/", 1)[1]
                per_user_message.append(f"/mail/f/{fid}/m/{uid}")
                w2.close()
            await load(port, cookies, per_user_inbox, 2)  # warm-up
            results["inbox"] = await load(port, cookies, per_user_inbox, args.seconds)
            results["message"] = await load(port, cookies, per_user_message, args.seconds)

        asyncio.run(run())
        w = results["inbox_weight"]
        print(f"govmail webmail, {args.users} users, {args.seconds:.0f} s per page, "
              f"{args.messages} messages per inbox, {args.database}")  # fmt: skip
        print("| page | requests/s | p50 ms | p95 ms | p99 ms | errors |")
        print("|---|---|---|---|---|---|")
        for page in ("inbox", "message"):
            r = results[page]
            assert isinstance(r, dict)
            print(f"| {page} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                  f"{r['p99_ms']:.1f} | {r['errors']} |")  # fmt: skip
        assert isinstance(w, dict)
        print(
            f"inbox page weight on the wire: HTML {w['html_gzip']} B gzip "
            f"({w['html_raw']} B raw) + assets {w['assets_gzip']} B gzip = {w['total']} B"
        )
    finally:
        child.terminate()
        child.wait(timeout=10)
        if dbname:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
