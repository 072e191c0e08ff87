"""Start clamd and rspamd from the Debian binaries, on loopback, with our own configuration
in a temporary directory (no signature download: clamd gets a one-line database with the
EICAR test signature)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"


class Daemon:
    def __init__(self, proc: subprocess.Popen[bytes], home: Path, log: Path) -> None:
        self.proc = proc
        self.home = home
        self.log = log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def start_clamd(home: Path, timeout: float = 60.0) -> tuple[Daemon, Path]:
    """clamd on a Unix socket in ``home``; returns (daemon, socket path)."""
    db = home / "db"
    db.mkdir(parents=True)
    (db / "govmail-test.ndb").write_text(f"Govmail-Test-EICAR:0:*:{EICAR.hex()}\n")
    sock = home / "clamd.sock"
    conf = home / "clamd.conf"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {db}\nForeground yes\n"
        f"LogFile {home / 'clamd.log'}\nPidFile {home / 'clamd.pid'}\nUser root\n"
    )
    log = home / "clamd.out"
    proc = subprocess.Popen([CLAMD, "-c", str(conf)], stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)
    daemon = Daemon(proc, home, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("clamd exited: " + daemon.log_tail())
        if sock.exists():
            return daemon, sock
        time.sleep(0.1)
    daemon.stop()
    raise RuntimeError("clamd did not open its socket: " + daemon.log_tail())


def start_rspamd(home: Path, port: int, controller_port: int, timeout: float = 90.0) -> Daemon:
    """rspamd's stock configuration with workers on loopback ports, state in ``home``, no
    DNS (a dead resolver on 127.0.0.1:1, so nothing leaves the machine)."""
    for sub in ("override.d", "local.d", "db", "run", "log"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "override.d" / "worker-normal.inc").write_text(
        f'bind_socket = "127.0.0.1:{port}";\ncount = 1;\n')
    (home / "override.d" / "worker-controller.inc").write_text(
        f'bind_socket = "127.0.0.1:{controller_port}";\ncount = 1;\n')
    (home / "override.d" / "worker-proxy.inc").write_text("count = 0;\n")
    (home / "override.d" / "logging.inc").write_text('type = "console";\nlevel = "error";\n')
    (home / "local.d" / "options.inc").write_text(
        'disable_hyperscan = true;\n'
        'dns { nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }\n')
    log = home / "rspamd.out"
    proc = subprocess.Popen(
        [RSPAMD, "-f", "-i", "-c", "/etc/rspamd/rspamd.conf",
         f"--var=LOCAL_CONFDIR={home}", f"--var=DBDIR={home / 'db'}",
         f"--var=RUNDIR={home / 'run'}", f"--var=LOGDIR={home / 'log'}"],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=home,  # noqa: SIM115
    )
    daemon = Daemon(proc, home, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("rspamd exited: " + daemon.log_tail())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                if r.status == 200:
                    return daemon
        except OSError:
            time.sleep(0.3)
    daemon.stop()
    raise RuntimeError("rspamd did not answer: " + daemon.log_tail())
