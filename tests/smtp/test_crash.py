"""Kill the server with SIGKILL during a load: every message acknowledged with 250 is
stored exactly once after a restart; nothing is stored twice."""

from __future__ import annotations

import signal
import smtplib
import sqlite3
import threading
from pathlib import Path

import pytest
from tests.support.procs import govmail, start_server, write_config

pytestmark = pytest.mark.slow


def test_sigkill_during_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    ports = write_config(tmp_path)
    govmail(tmp_path, "domain", "add", "mic.gov.vn")
    govmail(tmp_path, "agency", "add", "Bộ Thông tin và Truyền thông", "--short", "BTTTT",
            "--kind", "ministry", "--code", "000.00.00.G14", "--domain", "mic.gov.vn")
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"):
        govmail(tmp_path, "mailbox", "add", name, "--agency", "000.00.00.G14")
    rcpts = ["annv@mic.gov.vn", "binhtt@mic.gov.vn", "cuonglv@mic.gov.vn"]
    server = start_server(tmp_path, ports["smtp_port"])

    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()

    def sender(worker: int) -> None:
        n = 0
        while not stop.is_set() and n < 200:
            n += 1
            mid = f"<w{worker}-{n}@crash.test>"
            msg = (f"From: a@example.org\r\nTo: {rcpts[n % 3]}\r\nMessage-ID: {mid}\r\n"
                   f"Subject: crash {worker} {n}\r\n\r\n" + "nội dung\r\n" * 40).encode()
            try:
                with smtplib.SMTP("127.0.0.1", ports["smtp_port"], timeout=10) as s:
                    s.sendmail("a@example.org", [rcpts[n % 3], rcpts[(n + 1) % 3]], msg)
            except (OSError, smtplib.SMTPException):
                if killed.is_set():
                    return
                continue
            with lock:
                acked.append(mid)
                if len(acked) == 120:
                    server.send_signal(signal.SIGKILL)
                    killed.set()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    killed.wait(timeout=120)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    server.wait(timeout=10)
    assert server.returncode == -signal.SIGKILL
    assert len(acked) >= 120

    server = start_server(tmp_path, ports["smtp_port"])  # recovery on restart
    try:
        db = sqlite3.connect(tmp_path / "data" / "govmail.db")
        rows = db.execute(
            "SELECT message_id_header, count(*) FROM message GROUP BY message_id_header"
        ).fetchall()
        stored = dict(rows)
        for mid in acked:
            assert stored.get(mid) == 2, f"{mid} acknowledged but stored {stored.get(mid)} times"
        assert all(n == 2 for n in stored.values())  # nothing half-stored or duplicated
        (bad,) = db.execute("PRAGMA integrity_check").fetchone()
        assert bad == "ok"
        # Every blob row has its file, intact; the restart wrote out the blob journal.
        assert db.execute("SELECT count(*) FROM blob_journal").fetchone() == (0,)
        from govmail.store.blobs import BlobStore

        blobs = BlobStore(tmp_path / "data" / "blobs")
        for (sha,) in db.execute("SELECT sha256 FROM blob"):
            blobs.get_sync(sha)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
