"""Real IMAP clients against govmail: imapclient, mbsync (isync) and mutt in batch mode.

Each one syncs a mailbox holding attachments and Vietnamese subjects (and a Vietnamese
folder name); what lands on disk is compared byte for byte with what was stored (line
ends aside: Maildir files use LF).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from imapclient import IMAPClient
from tests.imap.conftest import PASSWORD, USERS, RunningServer, message, with_attachment

from govmail.imap.protocol import mutf7

FOLDER = "Văn bản đến"


def corpus() -> list[bytes]:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 16
    return [
        message(subject="Công văn số 12/BC-BTTTT về việc báo cáo"),
        with_attachment("Giấy mời họp Hội đồng thi đua", "Giấy mời.pdf", pdf),
        message(subject="Thông báo lịch công tác tuần 20", body="Đặng Văn Lâm\r\n" * 200),
        with_attachment("Quyết định khen thưởng", "Quyết định 1234.pdf", pdf[::-1]),
    ]


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def same_messages(got: list[bytes], expected: list[bytes]) -> None:
    """Equal as sets of messages; on a difference, show the first differing lines."""
    if sorted(got) == sorted(expected):
        return
    import difflib

    def key(m: bytes) -> bytes:
        i = m.find(b"Message-ID:")
        return m[i : m.find(b"\n", i)]

    by_id = {key(m): m for m in expected}
    for m in got:
        want = by_id.get(key(m), b"")
        if m != want:
            diff = difflib.unified_diff(
                want.decode("utf-8", "replace").splitlines(),
                m.decode("utf-8", "replace").splitlines(),
                lineterm="",
            )
            raise AssertionError("\n".join(list(diff)[:40]))
    raise AssertionError(f"{len(got)} messages, expected {len(expected)}")


def fill(server: RunningServer, user: str, folder: str) -> list[bytes]:
    msgs = corpus()
    with IMAPClient("127.0.0.1", port=server.port("imap"), ssl=False) as c:
        c.login(USERS[user], PASSWORD)
        c.create_folder(folder)
        for raw in msgs:
            c.append(folder, raw, flags=[b"\\Seen"])
        c.append("INBOX", msgs[0])
    return msgs


def test_imapclient_round_trip(server: RunningServer) -> None:
    msgs = fill(server, "an", FOLDER)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with IMAPClient("127.0.0.1", port=server.port("imaps"), ssl=True, ssl_context=ctx) as c:
        c.login(USERS["an"], PASSWORD)
        assert b"CONDSTORE" in c.capabilities() and b"MOVE" in c.capabilities()
        folders = {name for _flags, _delim, name in c.list_folders()}
        assert FOLDER in folders and "INBOX" in folders
        info = c.select_folder(FOLDER)
        assert info[b"EXISTS"] == len(msgs)
        uids = c.search(["ALL"])
        data = c.fetch(uids, ["BODY.PEEK[]", "ENVELOPE", "BODYSTRUCTURE", "FLAGS", "RFC822.SIZE"])
        for uid, raw in zip(uids, msgs, strict=True):
            got = data[uid]
            assert got[b"BODY[]"] == raw
            assert got[b"RFC822.SIZE"] == len(raw)
            assert b"\\Seen" in got[b"FLAGS"]
            subject = email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
            assert str(email.header.make_header(email.header.decode_header(
                got[b"ENVELOPE"].subject.decode()))) == subject  # fmt: skip
        assert c.search(["SUBJECT", "giay moi"], charset="UTF-8") == [uids[1]]
        assert c.search(["TEXT", "tuan 20"]) == [uids[2]]
        assert c.search(["SUBJECT", "Quyết định"], charset="UTF-8") == [uids[3]]
        c.add_flags(uids[:2], [b"$Registered"])
        assert b"$Registered" in c.get_flags(uids[0])[uids[0]]
        c.create_folder("Lưu trữ")
        c.move(uids[3:], "Lưu trữ")
        assert len(c.search(["ALL"])) == 3
        assert c.folder_status("Lưu trữ", ["MESSAGES"])[b"MESSAGES"] == 1
        c.select_folder("INBOX")
        c.idle()
        server.run(_append_elsewhere(server))
        responses = c.idle_check(timeout=10)
        c.idle_done()
        assert any(r[1] == b"EXISTS" for r in responses)


async def _append_elsewhere(server: RunningServer) -> None:
    async with server.app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(USERS["an"])
        assert mb is not None
        inbox = await tx.mail.folder(mb.id, "INBOX")
    assert inbox is not None
    await server.app.mailstore.append(inbox, message(subject="Có thư mới"))


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync not installed")
def test_mbsync_syncs_byte_for_byte(server: RunningServer, tmp_path: Path) -> None:
    msgs = fill(server, "binh", FOLDER)
    cert = server.settings.data_dir / "tls" / "selfsigned.crt"
    maildir = tmp_path / "mail"
    maildir.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        f"""IMAPAccount govmail
Host 127.0.0.1
Port {server.port("imaps")}
User {USERS["binh"]}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account govmail

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
SyncState *
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout
    folder_dir = maildir / mutf7.encode(FOLDER)  # isync 1.4 keeps the wire name
    assert folder_dir.is_dir(), repr(sorted(p.name for p in maildir.iterdir()))
    files = sorted((folder_dir / "cur").iterdir()) + sorted((folder_dir / "new").iterdir())
    # isync marks what it stores with an X-TUID header of its own; the rest is ours.
    got = sorted(lf(_strip_headers(f.read_bytes(), (b"X-TUID:",))) for f in files)
    same_messages(got, [lf(m) for m in msgs])
    # \Seen came along as the maildir "S" flag.
    assert all(f.name.endswith("S") for f in files)
    assert (maildir / "INBOX" / "new").exists() or (maildir / "INBOX" / "cur").exists()
    # A second run changes nothing.
    again = subprocess.run(
        ["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    again_files = (folder_dir / "cur").iterdir()
    assert sorted(lf(_strip_headers(f.read_bytes(), (b"X-TUID:",))) for f in again_files) == got


@pytest.mark.skipif(shutil.which("mutt") is None, reason="mutt not installed")
def test_mutt_batch_copies_byte_for_byte(server: RunningServer, tmp_path: Path) -> None:
    msgs = fill(server, "duc", "Mutt")
    out = tmp_path / "out"
    rc = tmp_path / "muttrc"
    user = USERS["duc"].replace("@", "%40")
    rc.write_text(
        f"""set imap_user="{USERS["duc"]}"
set imap_pass="{PASSWORD}"
set ssl_starttls=no
set ssl_force_tls=no
set mbox_type=Maildir
set confirmcreate=no
set confirmappend=no
set mail_check=0
set imap_passive=yes
set header_cache=""
set message_cachedir=""
set timeout=1
set sort=date
set auto_tag=yes
set folder="{tmp_path}"
""",
        encoding="utf-8",
    )
    keys = f"<tag-pattern>~A<enter><copy-message>{out}<enter><sync-mailbox><quit>"
    env = {**os.environ, "TERM": "xterm", "HOME": str(tmp_path)}
    cmd = [
        "mutt", "-n", "-F", str(rc),
        "-f", f"imap://{user}@127.0.0.1:{server.port('imap')}/Mutt",
        "-e", f"push '{keys}'",
    ]  # fmt: skip
    # mutt needs a terminal; script(1) gives it one.
    result = subprocess.run(
        ["script", "-qec", " ".join(_quote(a) for a in cmd), "/dev/null"],
        capture_output=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    files = sorted((out / "cur").iterdir()) + sorted((out / "new").iterdir())
    # mutt adds Content-Length, Lines and Status headers of its own to what it saves.
    added = (b"Status:", b"X-Status:", b"Content-Length:", b"Lines:")
    got = [lf(_strip_headers(f.read_bytes(), added)) for f in files]
    screen = re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", result.stdout)[-1500:]
    assert len(got) == len(msgs), screen
    same_messages(got, [lf(m) for m in msgs])


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _strip_headers(data: bytes, names: tuple[bytes, ...]) -> bytes:
    """``data`` without the header lines a client adds for itself."""
    sep = b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n"
    nl = sep[: len(sep) // 2]
    head, _, body = data.partition(sep)
    lines = [ln for ln in head.split(nl) if not ln.startswith(names)]
    return nl.join(lines) + sep + body
