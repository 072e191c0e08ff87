"""The delivery pipeline on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused, Pipeline
from govmail.mail.parsed import ParsedMessage, parse_message, section_bytes
from govmail.store.db import Store

MSG = (
    "From: Nguyễn Thị Minh Hằng <hangntm@mic.gov.vn>\r\n"
    "To: Lãnh đạo <lanhdao@mic.gov.vn>\r\n"
    "Subject: =?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDIy?=\r\n"
    "Message-ID: <abc@mic.gov.vn>\r\n"
    "Date: Tue, 24 Nov 2026 08:00:00 +0700\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Kính gửi các đồng chí lãnh đạo.\r\n"
).encode()


async def folder_messages(store: Store, address: str, folder: str = "INBOX") -> list:
    async with store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
        assert m is not None
        f = await tx.mail.folder(m.id, folder)
        assert f is not None
        return list(await tx.mail.messages(f.id))


async def test_inbound_to_group_stores_one_blob_and_queues_outside_member(
    pipeline: Pipeline, store: Store
) -> None:
    env = Envelope(
        "sender@example.org",
        ["lanhdao@mic.gov.vn", "ductv@mic.gov.vn"],
        "mx",
        client_ip="192.0.2.1",
        helo="mail.example.org",
    )
    result = await pipeline.deliver(env, MSG)
    assert [r.ok for r in result.recipients] == [True, True]
    assert result.stored is not None
    assert len(result.stored.copies) == 2  # Đức is in the group and named directly: once
    assert len(result.stored.outbound_ids) == 1  # the group's outside member
    hang = await folder_messages(store, "hangntm@mic.gov.vn")
    duc = await folder_messages(store, "ductv@mic.gov.vn")
    assert len(hang) == 1 and len(duc) == 1 and hang[0].blob_id == duc[0].blob_id
    async with store.read() as tx:
        blob = await tx.mail.blob_by_id(hang[0].blob_id)
        assert blob is not None and blob.refcount == 3
        raw = store.blobs.get_sync(blob.sha256)
        queued = await tx.queue.get(result.stored.outbound_ids[0])
        assert queued is not None and queued.recipients == ["someone@outside.example"]
    assert raw.startswith(b"Received: from mail.example.org")
    assert raw.endswith(MSG)
    # The stored metadata is exactly the metadata of the stored bytes.
    stored_meta = dict(hang[0].meta)
    fresh = parse_message(raw).to_dict()
    fresh.pop("text_for_search")
    assert stored_meta == fresh
    parsed = ParsedMessage.from_dict({**stored_meta, "text_for_search": ""})
    assert section_bytes(raw, parsed, "HEADER.FIELDS (SUBJECT)") == (
        b"Subject: =?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDIy?=\r\n\r\n"
    )
    assert hang[0].subject == "Công văn số 22"


async def test_unknown_and_remote_recipients_from_the_internet(pipeline: Pipeline) -> None:
    env = Envelope("x@example.org", ["nobody@mic.gov.vn", "a@gmail.com", "ductv@mic.gov.vn"], "mx")
    result = await pipeline.deliver(env, MSG)
    codes = [(r.address, r.code, r.enhanced) for r in result.recipients]
    assert codes == [
        ("nobody@mic.gov.vn", 550, "5.1.1"),
        ("a@gmail.com", 554, "5.7.1"),
        ("ductv@mic.gov.vn", 250, "2.0.0"),
    ]
    with pytest.raises(DeliveryRefused) as exc:
        await pipeline.deliver(Envelope("x@example.org", ["nobody@mic.gov.vn"], "mx"), MSG)
    assert exc.value.code == 550 and "nobody@mic.gov.vn" in exc.value.reason


async def test_submission_identity_sent_copy_and_subaddress(
    pipeline: Pipeline, store: Store
) -> None:
    env = Envelope(
        "hangntm@mic.gov.vn",
        ["tamlv+baocao@phuyen.gov.vn", "x@example.org"],
        "submission",
        auth_user="hangntm@mic.gov.vn",
        client_ip="127.0.0.1",
    )
    result = await pipeline.deliver(env, MSG)
    assert result.stored is not None and len(result.stored.outbound_ids) == 1
    assert len(await folder_messages(store, "tamlv@phuyen.gov.vn")) == 1
    sent = await folder_messages(store, "hangntm@mic.gov.vn", "Sent")
    assert len(sent) == 1 and sent[0].seen
    # As the agency mailbox she handles: allowed. As someone else: refused.
    env2 = Envelope(
        "vanthu@mic.gov.vn", ["ductv@mic.gov.vn"], "submission", auth_user="hangntm@mic.gov.vn"
    )
    agency_msg = MSG.replace(
        b"From: Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Minh H\xe1\xba\xb1ng <hangntm", b"From: <vanthu"
    )
    await pipeline.deliver(env2, agency_msg)
    env3 = Envelope(
        "ductv@mic.gov.vn", ["tamlv@phuyen.gov.vn"], "submission", auth_user="hangntm@mic.gov.vn"
    )
    with pytest.raises(DeliveryRefused) as exc:
        await pipeline.deliver(env3, MSG)
    assert exc.value.code == 550 and "ductv@mic.gov.vn" in exc.value.reason


async def test_concurrent_deliveries_are_group_committed(pipeline: Pipeline, store: Store) -> None:
    async def one(i: int) -> None:
        body = MSG.replace(b"<abc@", f"<m{i}@".encode())
        await pipeline.deliver(Envelope("x@example.org", ["ductv@mic.gov.vn"], "mx"), body)

    await asyncio.gather(*(one(i) for i in range(30)))
    msgs = await folder_messages(store, "ductv@mic.gov.vn")
    assert sorted(m.uid for m in msgs) == list(range(1, 31))
    assert pipeline.committer.jobs == 30 and pipeline.committer.batches < 30


async def test_too_big_is_refused_before_anything_is_stored(
    pipeline: Pipeline, store: Store
) -> None:
    pipeline.settings.limits.max_message_size = 2048
    with pytest.raises(DeliveryRefused) as exc:
        await pipeline.deliver(
            Envelope("x@example.org", ["ductv@mic.gov.vn"], "mx"), MSG + b"x" * 4096
        )
    assert exc.value.code == 552
    assert await folder_messages(store, "ductv@mic.gov.vn") == []


async def test_search_index_is_diacritic_insensitive(pipeline: Pipeline, store: Store) -> None:
    from govmail.mail.textfold import fold

    body = MSG.replace(
        "Kính gửi các đồng chí lãnh đạo.".encode(),
        "Đề nghị Sở Thông tin và Truyền thông báo cáo Đặng Văn Lâm.".encode(),
    )
    await pipeline.deliver(Envelope("x@example.org", ["ductv@mic.gov.vn"], "mx"), body)
    await pipeline.deliver(
        Envelope("x@example.org", ["ductv@mic.gov.vn"], "mx"),
        MSG.replace(b"Subject: =?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDIy?=", b"Subject: other"),
    )
    msgs = await folder_messages(store, "ductv@mic.gov.vn")
    folder_id = msgs[0].folder_id
    async with store.read() as tx:
        assert await tx.search.text(folder_id, fold("thong tin va truyen")) == [1]
        assert await tx.search.text(folder_id, fold("ĐẶNG")) == [1]
        assert await tx.search.text(folder_id, fold("cong van")) == [1]  # the subject
        assert await tx.search.text(folder_id, fold("hang")) == [1, 2]  # From: Hằng
        assert await tx.search.uids(
            folder_id, [tx.search.header_condition("subject", "so 22")]
        ) == [1]
        assert await tx.search.uids(folder_id, [tx.search.body_condition("la")]) == [1, 2]
        assert await tx.search.uids(folder_id, [tx.search.body_condition("100%")]) == []


async def test_nul_characters_in_a_body_are_stored_and_searched_as_spaces(
    pipeline: Pipeline, store: Store
) -> None:
    """A NUL (raw, quoted-printable or base64) cannot stand in PostgreSQL text and stops
    SQLite's trigram tokenizer: the searchable text holds a space in its place."""
    raw_nul = MSG.replace("Kính gửi".encode(), b"Van\x00ban so 7")
    qp = MSG.replace(b"8bit", b"quoted-printable").replace("Kính gửi".encode(), b"Van=00ban so 8")
    for body in (raw_nul, qp):
        await pipeline.deliver(Envelope("x@example.org", ["ductv@mic.gov.vn"], "mx"), body)
    msgs = await folder_messages(store, "ductv@mic.gov.vn")
    assert len(msgs) == 2
    async with store.read() as tx:
        assert await tx.search.text(msgs[0].folder_id, "van ban so") == [1, 2]
    if store.dialect == "sqlite":
        await pipeline.committer.writer.index_pending()
        async with store.read() as tx:
            assert await tx.search.text(msgs[0].folder_id, "ban so 8") == [2]
