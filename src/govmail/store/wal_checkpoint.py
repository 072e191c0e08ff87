"""SQLite WAL checkpoints in a thread of their own, off the delivery writer's path.

By default the connection whose commit pushes the write-ahead log past 1,000 pages copies
the log back into the database file and fsyncs it, inside that commit: every few dozen
deliveries one SMTP client would wait for it. The delivery writer's connection turns that
off (``wal_autocheckpoint=0``) and this thread checkpoints every :data:`INTERVAL` seconds
instead, in PASSIVE mode (it never waits for readers or blocks writers). Other connections
keep the default, so the log stays bounded even without this thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("govmail.store")
INTERVAL = 0.25


class WalCheckpointer:
    def __init__(self, path: str, interval: float = INTERVAL) -> None:
        self.path = path
        self.interval = interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stop.wait(self.interval):
            try:
                if conn is None:
                    conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
                    conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
            except sqlite3.Error as exc:
                log.warning("WAL checkpoint failed: %s", exc)
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
