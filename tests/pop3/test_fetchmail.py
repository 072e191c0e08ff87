"""A real POP3 client against govmail: fetchmail (Debian package) in batch mode.

fetchmail logs in, lists with UIDL, retrieves every message, hands each one to an MDA
(a small script writing it to a file) and deletes it; the files must hold exactly the
stored bytes and the INBOX must then be empty.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import sys
from pathlib import Path

import pytest
from tests.pop3.conftest import PASSWORD, USER, inbox, port, put
from tests.pop3.samples import simple, vietnamese_message_with_pdf

from govmail.app import App
from govmail.tlscert import ensure_certificate

pytestmark = pytest.mark.skipif(shutil.which("fetchmail") is None, reason="needs fetchmail")

SAVE = """
import sys, pathlib
d = pathlib.Path(sys.argv[1])
n = len(list(d.iterdir()))
(d / f"{n:04d}.eml").write_bytes(sys.stdin.buffer.read())
"""


def rcfile(tmp: Path, app: App, *, implicit_tls: bool, keep: bool) -> Path:
    out = tmp / "mail"
    out.mkdir(exist_ok=True)
    (tmp / "save.py").write_text(SAVE)
    # The server's self-signed certificate is the trust anchor, and "localhost" is one of
    # its names: fetchmail verifies the chain and the host name.
    cert, _key = ensure_certificate(app.settings)
    check = f'sslcertck sslcertfile "{cert}"'
    if implicit_tls:
        tls = f"port {port(app, 'pop3s')}"
        tls_opts = f"ssl {check}"
    else:  # STLS on the plain port: sslproto without ssl makes fetchmail require STLS
        tls = f"port {port(app, 'pop3')}"
        tls_opts = f"sslproto 'tls1.2+' {check}"
    rc = tmp / "fetchmailrc"
    rc.write_text(
        f"""set no bouncemail
set no syslog
set invisible
set idfile "{tmp}/fetchids"
set pidfile "{tmp}/fetchmail.pid"
poll localhost with proto POP3 {tls} uidl timeout 30
    user "{USER}" there with password "{PASSWORD}" is "{getpass.getuser()}" here
    options {tls_opts} fetchall {"keep" if keep else "no keep"} no rewrite no stripcr
    mda "{sys.executable} {tmp}/save.py {out}"
"""
    )
    rc.chmod(0o600)
    return rc


async def fetch(tmp: Path, rc: Path) -> tuple[int, str]:
    env = {**os.environ, "FETCHMAILHOME": str(tmp), "HOME": str(tmp)}
    proc = await asyncio.create_subprocess_exec(
        "fetchmail",
        "-f",
        str(rc),
        "--nodetach",
        "-v",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(errors="replace")


def saved(tmp: Path) -> list[bytes]:
    return [f.read_bytes() for f in sorted((tmp / "mail").iterdir())]


@pytest.mark.parametrize("implicit_tls", [True, False], ids=["pop3s", "stls"])
async def test_fetchmail_downloads_and_deletes(
    server: App, tmp_path: Path, implicit_tls: bool
) -> None:
    server.settings.listeners.allow_plaintext_auth_on_loopback = False  # TLS for real
    pdf_message, _pdf = vietnamese_message_with_pdf()
    dotted = (
        b"From: <a@example.org>\r\nTo: <hangntm@mic.gov.vn>\r\nSubject: dots\r\n\r\n"
        b".\r\n..\r\n.leading dot\r\nend\r\n"
    )
    messages = [simple(1), pdf_message, dotted]
    for raw in messages:
        await put(server, raw)
    code, log = await fetch(
        tmp_path, rcfile(tmp_path, server, implicit_tls=implicit_tls, keep=False)
    )
    assert code == 0, log
    if not implicit_tls:
        assert "upgrade to TLS succeeded" in log, log
    assert "insecure" not in log and "verification error" not in log, log
    assert saved(tmp_path) == messages, log
    assert await inbox(server) == []  # fetchmail deleted them; QUIT expunged


async def test_fetchmail_keep_uses_uidl(server: App, tmp_path: Path) -> None:
    await put(server, simple(1))
    rc = rcfile(tmp_path, server, implicit_tls=True, keep=True)
    code, log = await fetch(tmp_path, rc)
    assert code == 0, log
    assert saved(tmp_path) == [simple(1)]
    assert [m.seen for m in await inbox(server)] == [True]  # RETR marked it \\Seen
    # second run, one new message: "fetchall" off, so UIDL decides what is new
    rc.write_text(rc.read_text().replace(" fetchall", ""))
    await put(server, simple(2))
    code, log = await fetch(tmp_path, rc)
    assert code == 0, log
    assert saved(tmp_path) == [simple(1), simple(2)], log
    assert len(await inbox(server)) == 2
