"""Helpers to run govmail as a real process in tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.ports import free_ports

PORT_KEYS = ("smtp_port", "submission_port", "submissions_port", "imap_port", "imaps_port",
             "pop3_port", "pop3s_port", "http_port")


def write_config(home: Path, *, hostname: str = "localhost", extra: str = "") -> dict[str, int]:
    ports = dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS)), strict=True))
    lines = [f'[general]\ndata_dir = "{home / "data"}"\nhostname = "{hostname}"\n', "[listeners]"]
    lines += [f"{k} = {v}" for k, v in ports.items()]
    (home / "govmail.toml").write_text("\n".join(lines) + "\n" + extra)
    return ports


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVMAIL_")}
    env["GOVMAIL_CONFIG"] = str(home / "govmail.toml")
    return env


def govmail(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "govmail.cli.main", *args], cwd=home,
                       env=env_for(home), input=stdin, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"govmail {' '.join(args)}: {p.stdout}\n{p.stderr}")
    return p


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    log = open(home / "server.log", "ab")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen([sys.executable, "-m", "govmail.cli.main", "serve"], cwd=home,
                            env=env_for(home), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError((home / "server.log").read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start: " + (home / "server.log").read_text())
