"""Whole messages by FETCH (the fast path: rows without flags, blobs read from the page
cache on the event loop, hashes checked once per file state), byte for byte, and a damaged
blob refused even after it was read and checked once (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import re
import time

from tests.imap.conftest import RawClient, RunningServer, message


def _bodies(lines: list[bytes]) -> dict[int, bytes]:
    """UID -> the literal of BODY[] in ``* n FETCH (UID u BODY[] {..}`` lines."""
    out = {}
    for line in lines:
        m = re.match(rb"\* \d+ FETCH \(UID (\d+) BODY\[\] \{(\d+)\}\r\n", line)
        if m:
            start = m.end()
            out[int(m.group(1))] = line[start : start + int(m.group(2))]
    return out


def test_whole_messages_byte_for_byte(server: RunningServer) -> None:
    c = RawClient(server.port("imap"))
    c.login("binh")
    assert c.cmd("C", "CREATE Bodies")[-1].startswith(b"C OK")
    sent = {}
    for i in range(1, 13):
        raw = message(subject=f"Văn bản {i}", body=f"Nội dung {i}\r\n" * i)
        lit = b"A APPEND Bodies {%d+}\r\n" % len(raw) + raw + b"\r\n"
        c.send(lit)
        assert c.until("A")[-1].startswith(b"A OK")
        sent[i] = raw
    assert c.cmd("S", "SELECT Bodies")[-1].startswith(b"S OK")

    # Scattered UIDs (more than a few ranges), asked out of order.
    wanted = [11, 1, 3, 5, 7, 9]
    lines = c.cmd("F", f"UID FETCH {','.join(map(str, wanted))} BODY.PEEK[]")
    assert lines[-1].startswith(b"F OK")
    assert _bodies(lines) == {u: sent[u] for u in wanted}
    numbers = [int(line.split()[1]) for line in lines[:-1]]
    assert numbers == sorted(wanted)  # message numbers are the UIDs here

    # Ranges, with other items around two whole-message items and a partial one.
    lines = c.cmd("G", "UID FETCH 2:4 (RFC822.SIZE BODY.PEEK[] UID BODY.PEEK[]<3.7> MODSEQ)")
    assert lines[-1].startswith(b"G OK")
    for uid, line in zip((2, 3, 4), lines[:-1], strict=True):
        raw = sent[uid]
        assert line == (
            b"* %d FETCH (RFC822.SIZE %d BODY[] {%d}\r\n%s UID %d BODY[]<3> {7}\r\n%s"
            b" MODSEQ (%d))" % (uid, len(raw), len(raw), raw, uid, raw[3:10], _modseq(line))
        )
    # No \Seen was set by BODY.PEEK.
    assert b"\\Seen" not in b"".join(c.cmd("H", "UID FETCH 1:* (FLAGS)"))

    # RFC822 on a read-only mailbox is the message too (and sets nothing).
    assert c.cmd("E", "EXAMINE Bodies")[-1].startswith(b"E OK")
    lines = c.cmd("R", "FETCH 12 (RFC822 FLAGS)")
    assert lines[0] == b"* 12 FETCH (RFC822 {%d}\r\n%s FLAGS ())" % (len(sent[12]), sent[12])
    # BODY[] (not PEEK) on a read-write mailbox sets \Seen and says so.
    assert c.cmd("S2", "SELECT Bodies")[-1].startswith(b"S2 OK")
    lines = c.cmd("B", "UID FETCH 6 BODY[]")
    assert sent[6] in lines[0] and b"\\Seen" in lines[0]
    c.close()


def _modseq(line: bytes) -> int:
    m = re.search(rb"MODSEQ \((\d+)\)\)$", line)
    assert m is not None
    return int(m.group(1))


def test_damaged_blob_refused_after_it_was_checked(server: RunningServer) -> None:
    blobs = server.app.store.blobs
    settle = blobs.verified.settle
    blobs.verified.settle = 0  # remember files just written, as if they were older
    try:
        c = RawClient(server.port("imap"))
        c.login("binh")
        assert c.cmd("C", "CREATE Damaged")[-1].startswith(b"C OK")
        for text in ("Bản gốc còn nguyên", "Bản thứ hai"):
            raw = message(subject=text, body=text + "\r\n")
            c.send(b"A APPEND Damaged {%d+}\r\n" % len(raw) + raw + b"\r\n")
            assert c.until("A")[-1].startswith(b"A OK")
            # Small bodies reach their files just after the answer (the blob journal);
            # the check below is about files.
            sha = hashlib.sha256(raw).hexdigest()
            for _ in range(200):
                if blobs.has_file(sha):
                    break
                time.sleep(0.02)
            assert blobs.has_file(sha)
        assert c.cmd("S", "SELECT Damaged")[-1].startswith(b"S OK")
        first = _bodies(c.cmd("F", "UID FETCH 1:2 BODY.PEEK[]"))
        sha = hashlib.sha256(first[1]).hexdigest()
        assert blobs.verified.trusts(sha, blobs._read(sha, wait=True)[1])  # checked once

        # Damage the file in place: same size, same mtime (only its ctime moves).
        path = blobs.path_for(sha)
        st = path.stat()
        damaged = first[1].replace("Bản gốc".encode(), "Bản giả".encode())
        assert len(damaged) == len(first[1]) and damaged != first[1]
        path.chmod(0o640)
        path.write_bytes(damaged)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

        lines = c.cmd("G", "UID FETCH 1 BODY.PEEK[]")
        assert lines[-1].startswith(b"G NO")
        assert not any("Bản giả".encode() in line for line in lines)
        lines = c.cmd("H", "UID FETCH 1:2 BODY.PEEK[]")
        assert lines[-1].startswith(b"H NO")  # the whole FETCH: nothing of the damaged one
        assert not any("Bản giả".encode() in line for line in lines)
        # The other message is still served.
        assert _bodies(c.cmd("I", "UID FETCH 2 BODY.PEEK[]")) == {2: first[2]}
        c.close()
    finally:
        blobs.verified.settle = settle
