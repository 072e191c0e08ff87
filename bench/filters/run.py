#!/usr/bin/env python3
"""What the filters cost: messages/s through the delivery pipeline with the full policy
chain (sender identity, SPF/DKIM/DMARC, attachment policy, ClamAV, embedded spam scoring
with a trained Bayes classifier, and the government checks of the documents layer)
against the same pipeline with no checks at all.

    .venv/bin/python bench/filters/run.py [--messages 5000] [--concurrency 20]

Runs in one process on SQLite (durable commits, as in production): the App's store,
committer and pipeline, but no listeners, so that what is measured is the pipeline and
not SMTP. Mail arrives "from the Internet" (source mx) from 8 sender domains whose SPF and
DMARC records a local DNS server answers; clamd runs from Debian's binary with a one-line
signature database (a production database has millions of signatures: clamd's per-message
time grows with it, see docs/performance.md). The mix: 70% plain letters of 2–8 KB, 10%
HTML newsletters, 10% with a 60 KB PDF attachment, 10% spam (most filed in Junk).
Each configuration runs twice, alternating, and the better run is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.ops.daemons import start_clamd  # noqa: E402
from tests.ops.support import make_message  # noqa: E402
from tests.support.dns_server import DnsServer  # noqa: E402

from govmail.app import App  # noqa: E402
from govmail.config import load_settings  # noqa: E402
from govmail.delivery.envelope import Envelope  # noqa: E402
from govmail.delivery.pipeline import DeliveryRefused  # noqa: E402

DOMAINS = [f"so{i}.example.vn" for i in range(8)]
USERS = 50
WORDS = (  # noqa: SIM905
    "báo cáo công tác tuần kế hoạch triển khai văn bản hướng dẫn thực hiện đề nghị các đơn vị "
    "phối hợp tổng hợp số liệu gửi về trước ngày họp giao ban"
).split(" ")


def letter(rng: random.Random, i: int) -> bytes:
    sender = f"canbo{i % 40}@{DOMAINS[i % len(DOMAINS)]}"
    rcpt = f"user{i % USERS}@bench.gov.vn"
    kind = rng.random()
    if kind < 0.10:  # spam
        return make_message(
            "KHUYẾN MÃI SỐC!!! TRÚNG THƯỞNG", "Chúc mừng bạn trúng thưởng, vay tiền lãi suất "
            "thấp, click here http://bit.ly/x " + " ".join(rng.choices(WORDS, k=60)),
            sender=f"promo{i % 7}@{DOMAINS[i % len(DOMAINS)]}", to=rcpt)
    if kind < 0.20:
        body = "<html><body>" + "".join(f"<p>{' '.join(rng.choices(WORDS, k=40))}</p>"
                                        for _ in range(8)) + "</body></html>"
        return make_message(f"Bản tin số {i}", "", html=body, sender=sender, to=rcpt)
    text = "\n".join(" ".join(rng.choices(WORDS, k=14)) for _ in range(rng.randint(20, 80)))
    if kind < 0.30:
        pdf = b"%PDF-1.7\n" + rng.randbytes(60_000)
        return make_message(f"Văn bản số {i}", text, sender=sender, to=rcpt,
                            attachments=[(f"vanban-{i}.pdf", pdf, "application/pdf")])
    return make_message(f"Công văn số {i}/UBND", text, sender=sender, to=rcpt)


async def run_once(
    app: App, messages: list[bytes], concurrency: int
) -> tuple[float, int, int, float]:
    """(seconds, refused, junk, CPU seconds of this process)."""
    queue = list(enumerate(messages))
    refused = junk = 0

    async def worker() -> None:
        nonlocal refused, junk
        while queue:
            i, raw = queue.pop()
            env = Envelope(f"canbo{i % 40}@{DOMAINS[i % len(DOMAINS)]}",
                           [f"user{i % USERS}@bench.gov.vn"], "mx",
                           client_ip=f"192.0.2.{1 + i % 16}", helo="mail.example.vn")
            try:
                r = await app.pipeline.deliver(env, raw)
                junk += r.junk
            except DeliveryRefused:
                refused += 1

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, refused, junk, time.process_time() - c0


async def main(n: int, concurrency: int) -> None:
    rng = random.Random(8)
    messages = [letter(rng, i) for i in range(n)]
    size = sum(map(len, messages)) / n
    zone: dict[tuple[str, str], list[str]] = {}
    for d in DOMAINS:
        zone[(d, "TXT")] = ["v=spf1 ip4:192.0.2.0/24 -all"]
        zone[(f"_dmarc.{d}", "TXT")] = ["v=DMARC1; p=quarantine"]
    dns = DnsServer(zone).start()
    with tempfile.TemporaryDirectory(prefix="govmail-bench-filters-") as tmp:
        home = Path(tmp)
        clamd, sock = start_clamd(home / "clamd")
        try:
            settings = load_settings(general={"data_dir": home / "data",
                                              "hostname": "mail.bench.gov.vn"})
            settings.queue.dns_servers = ["127.0.0.1"]
            settings.queue.dns_port = dns.port
            settings.antivirus.enabled = True
            settings.antivirus.clamd_socket = str(sock)
            settings.limits.messages_per_minute_per_ip = 100_000
            app = App(settings)
            await app.store.open()
            await app.committer.start()
            async with app.directory.ops() as ops:
                await ops.add_domain("bench.gov.vn")
                await ops.add_agency(name="Sở Thông tin và Truyền thông", short_name="STTTT",
                                     kind="department", code="000.00.00.B01",
                                     domain="bench.gov.vn")
                for u in range(USERS):
                    await ops.add_mailbox(full_name=f"Người Dùng {u}", agency="000.00.00.B01",
                                          local_part=f"user{u}")
            # A trained classifier, as after some weeks of users moving mail to Junk.
            for i in range(60):
                spam = make_message("TRÚNG THƯỞNG LỚN", "vay tiền casino nhà cái khuyến mãi "
                                    * 5 + str(i), sender=f"x{i}@spam.example")
                ham = make_message(f"Công văn {i}",
                                   " ".join(random.Random(i).choices(WORDS, k=80)))
                await app.ops.bayes.learn_raw(spam, "spam")
                await app.ops.bayes.learn_raw(ham, "ham")
            full = app.pipeline.checks
            names = [getattr(c, "name", type(c).__name__) for c in full]
            sender = [c for c in full if c.name in ("sender_identity", "sender_auth")]
            embedded = [c for c in full if c.name != "antivirus"]
            configs = {"none": [], "sender checks": sender, "embedded default": embedded,
                       "+ clamav": full}
            await run_once(app, messages[:200], concurrency)  # warm-up: caches, JIT of paths
            results: dict[str, list[tuple[float, int, int, float]]] = {k: [] for k in configs}
            for _round in range(3):
                for label, checks in configs.items():
                    app.pipeline.checks = list(checks)
                    results[label].append(await run_once(app, messages, concurrency))
            await app.committer.stop()
            await app.store.close()
        finally:
            clamd.stop()
            dns.stop()
    best = {k: min(v) for k, v in results.items()}
    rate = {k: n / v[0] for k, v in best.items()}
    cpu = {k: 1000 * min(r[3] for r in v) / n for k, v in results.items()}
    print(f"{n} messages, mean size {size / 1024:.1f} KiB, {concurrency} concurrent deliveries, "
          "best of 3")
    print(f"checks: {', '.join(names)}")
    for label, (secs, refused, junk, _cpu) in best.items():
        print(f"  {label:17s}: {rate[label]:5.0f} messages/s ({secs:.1f} s), "
              f"{cpu[label]:.2f} ms CPU/message (govmail's process; clamd not counted); "
              f"refused {refused}, junk {junk}")
    for label in ("embedded default", "+ clamav"):
        print(f"  {label}: throughput {100 * (1 - rate[label] / rate['none']):.0f}% below "
              f"'none', {100 * (1 - rate[label] / rate['sender checks']):.0f}% below 'sender "
              f"checks'; CPU per message +{100 * (cpu[label] / cpu['none'] - 1):.0f}% over "
              f"'none', +{100 * (cpu[label] / cpu['sender checks'] - 1):.0f}% over 'sender "
              "checks'")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=20)
    a = ap.parse_args()
    asyncio.run(main(a.messages, a.concurrency))
