"""The embedded spam check: rules, thresholds, X-Spam headers, Junk filing, SMTP-time
refusal, allow/block lists and the Bayesian classifier trained from moves into and out of
Junk through MailStore (as IMAP MOVE and the webmail do)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.ops import support
from tests.ops.support import (
    Rig,
    folder_of,
    make_message,
    make_rig,
    messages_in,
    raw_of,
)

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.mail.parsed import parse_message
from govmail.policy.base import Action, MessageContext
from govmail.policy.bayes import BayesClassifier, combine, token_probability, tokens_of
from govmail.policy.spam import SenderLists, SpamCheck, matches
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo

sqlite_store = support.sqlite_store  # fixture

SPAMMY = make_message(
    "TRÚNG THƯỞNG LỚN!!! NHẬN QUÀ NGAY",
    "Chúc mừng bạn đã trúng thưởng 500 triệu. Nhận quà tặng miễn phí, vay tiền lãi suất thấp, "
    "giải ngân trong ngày. Click here: http://203.0.113.9/nhan-thuong và http://bit.ly/abc",
    sender="khuyenmai@spam.example",
)
HAM = make_message()


def env(rcpt: str = "hangntm@mic.gov.vn", sender: str = "nguoigui@example.org") -> Envelope:
    return Envelope(sender, [rcpt], "mx", client_ip="192.0.2.10", helo="mail.example.org")


@pytest.fixture
async def rig(sqlite_store: Store, settings: Settings) -> AsyncIterator[tuple[Rig, SpamCheck]]:
    check = SpamCheck(settings.spam, sqlite_store)
    async for r in make_rig(sqlite_store, settings, [check]):
        r.mailstore.observers.append(check.bayes.observe)
        yield r, check


def ctx_of(raw: bytes, facts: dict | None = None) -> MessageContext:
    return MessageContext(env(), raw, parse_message(raw), facts=dict(facts or {}))


async def test_clean_message_is_tagged_and_stays_in_inbox(rig: tuple[Rig, SpamCheck]) -> None:
    r, check = rig
    v = await check.check(ctx_of(HAM, {"spf": "pass", "dkim": "pass", "dmarc": "pass"}))
    assert v.action == Action.TAG and v.facts["spam"] == "ham"
    h = dict(v.headers)
    assert h["X-Spam-Flag"] == "NO" and float(h["X-Spam-Score"]) < 0
    assert h["X-Spam-Status"].startswith("No, score=")
    await r.pipeline.deliver(env(), HAM)
    [m] = await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")
    stored = await raw_of(r.store, m)
    assert b"X-Spam-Flag: NO" in stored and b"X-Spam-Score:" in stored


async def test_spammy_message_goes_to_junk_with_headers(rig: tuple[Rig, SpamCheck]) -> None:
    r, check = rig
    v = await check.check(ctx_of(SPAMMY))
    assert v.action == Action.JUNK, v.headers
    status = dict(v.headers)["X-Spam-Status"]
    for rule in ("SUBJECT_ALL_CAPS", "SUBJECT_EXCLAIM", "SPAM_PHRASES", "URL_IP_ADDRESS",
                 "URL_SHORTENER"):
        assert rule in status
    await r.pipeline.deliver(env(), SPAMMY)
    assert await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX") == []
    [m] = await messages_in(r.store, "hangntm@mic.gov.vn", "Junk")
    assert b"X-Spam-Flag: YES" in await raw_of(r.store, m)


async def test_score_over_reject_threshold_is_refused_at_smtp_time(
    rig: tuple[Rig, SpamCheck],
) -> None:
    r, check = rig
    facts = {"spf": "fail", "dkim": "fail", "dmarc": "fail"}
    v = await check.check(ctx_of(SPAMMY, facts))
    assert v.action == Action.REFUSE and (v.code, v.enhanced) == (550, "5.7.1")
    assert "thư rác" in v.reason and "spam" in v.reason
    check.settings.reject_score = 6.0  # the same message through the pipeline
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(), SPAMMY)
    assert exc.value.code == 550 and exc.value.check == "spam"
    assert await messages_in(r.store, "hangntm@mic.gov.vn", "Junk") == []


def test_header_rules_for_missing_fields_and_odd_dates() -> None:
    from govmail.policy.spam import Score, header_rules

    raw = (b"From: \"support@bank.example\" <x@evil.example>\r\nSubject: hi\r\n"
           b"Reply-To: other@elsewhere.example\r\n\r\nbody\r\n")
    s = Score()
    header_rules(ctx_of(raw), s, datetime.now(UTC))
    names = {n for n, _p in s.rules}
    assert {"MISSING_DATE", "MISSING_MID", "MISSING_TO", "FROM_NAME_OTHER_ADDRESS",
            "REPLYTO_OTHER_DOMAIN"} <= names
    future = make_message(date=datetime.now(UTC) + timedelta(days=3))
    s = Score()
    header_rules(ctx_of(future), s, datetime.now(UTC))
    assert [n for n, _ in s.rules] == ["DATE_IN_FUTURE"]


def test_internal_and_authenticated_mail_is_not_scored(settings: Settings) -> None:
    check = SpamCheck(settings.spam, None)  # type: ignore[arg-type]
    raw = make_message()
    sub = MessageContext(Envelope("hangntm@mic.gov.vn", ["x@y.example"], "submission",
                                  auth_user="hangntm@mic.gov.vn"), raw, parse_message(raw))
    assert not check.applies(sub)
    assert check.applies(ctx_of(raw))
    settings.spam.enabled = False
    assert not check.applies(ctx_of(raw))


def test_list_patterns() -> None:
    assert matches("@example.org", "a@example.org")
    assert matches("@example.org", "a@mail.example.org")
    assert not matches("@example.org", "a@badexample.org")
    assert matches("Boss@Example.org", "boss@example.org")
    assert not matches("boss@example.org", "other@example.org")


async def test_agency_block_and_allow_lists(rig: tuple[Rig, SpamCheck]) -> None:
    r, check = rig
    async with r.store.write() as tx:
        repo = OpsRepo(tx.session, r.store.dialect)
        mic = await repo.agency_by_code("000.00.00.G14")
        phuyen = await repo.agency_by_code("000.00.00.H45")
        assert mic is not None and phuyen is not None
        await repo.add_spam_entry(mic.id, "block", "@spam.example")
        await repo.add_spam_entry(phuyen.id, "allow", "@spam.example")
    check.lists.invalidate()
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(sender="khuyenmai@spam.example"), SPAMMY)
    assert exc.value.code == 550 and "khuyenmai@spam.example" in exc.value.reason
    # Phú Yên allows the same sender: scoring is skipped, the message reaches the INBOX.
    await r.pipeline.deliver(env("tamlv@phuyen.gov.vn", "khuyenmai@spam.example"), SPAMMY)
    [m] = await messages_in(r.store, "tamlv@phuyen.gov.vn", "INBOX")
    assert b"X-Spam-Status: No, allowlisted" in await raw_of(r.store, m)


def test_bayes_math() -> None:
    assert combine([]) == 0.5
    assert combine([0.99] * 20) > 0.99
    assert combine([0.01] * 20) < 0.01
    assert 0.45 < combine([0.99, 0.01]) < 0.55
    assert token_probability(10, 0, 10, 10) > 0.9
    assert token_probability(0, 10, 10, 10) < 0.1
    assert token_probability(0, 0, 10, 10) == 0.5


def _spam(i: int) -> bytes:
    return make_message(f"Ưu đãi cực sốc số {i}", f"Cơ hội đầu tư bitcoin lợi nhuận cao {i}, "
                        "cam kết lợi nhuận, casino nhà cái uy tín, đăng ký ngay",
                        sender=f"promo{i}@casino.example")


def _ham(i: int) -> bytes:
    return make_message(f"Giấy mời họp giao ban số {i}", f"Kính mời đồng chí dự họp giao ban "
                        f"tuần {i} tại phòng họp tầng 3, chuẩn bị báo cáo công tác.",
                        sender=f"vanthu{i}@mic.gov.vn")


async def test_bayes_learns_from_moves_into_and_out_of_junk(
    rig: tuple[Rig, SpamCheck], settings: Settings
) -> None:
    r, check = rig
    bayes = check.bayes
    bayes.min_messages = 3
    inbox = await folder_of(r.store, "hangntm@mic.gov.vn", "INBOX")
    junk = await folder_of(r.store, "hangntm@mic.gov.vn", "Junk")
    for i in range(4):
        await r.pipeline.deliver(env(), _spam(i))
        await r.pipeline.deliver(env(), _ham(i))
    assert await bayes.probability(["x"]) is None  # nothing learnt yet
    uids = [m.uid for m in await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")]
    spam_uids = uids[0::2]
    await r.mailstore.copy(inbox.id, spam_uids, junk, move=True)
    async with r.store.read() as tx:
        assert await OpsRepo(tx.session, "sqlite").bayes_counts() == (4, 0)
    # A user marks a ham message as spam by mistake, then takes it back out of Junk.
    await r.mailstore.copy(inbox.id, [uids[1]], junk, move=True)
    junk_msgs = await messages_in(r.store, "hangntm@mic.gov.vn", "Junk")
    await r.mailstore.copy(junk.id, [junk_msgs[-1].uid], inbox, move=True)
    for i in range(4, 7):
        await bayes.learn_raw(_ham(i), "ham")
    async with r.store.read() as tx:
        assert await OpsRepo(tx.session, "sqlite").bayes_counts() == (4, 4)
    assert await bayes.ready()
    p_spam = await bayes.probability(tokens_of(parse_message(_spam(99)), _spam(99)))
    p_ham = await bayes.probability(tokens_of(parse_message(_ham(99)), _ham(99)))
    assert p_spam is not None and p_ham is not None
    assert p_spam > 0.9 and p_ham < 0.1, (p_spam, p_ham)
    # Moving a message within the same kind of folder (or to Trash) teaches nothing.
    trash = await folder_of(r.store, "hangntm@mic.gov.vn", "Trash")
    junk_uid = (await messages_in(r.store, "hangntm@mic.gov.vn", "Junk"))[0].uid
    await r.mailstore.copy(junk.id, [junk_uid], trash, move=True)
    async with r.store.read() as tx:
        assert await OpsRepo(tx.session, "sqlite").bayes_counts() == (4, 4)
    # The trained classifier now adds its opinion to the score.
    v = await check.check(ctx_of(_spam(123)))
    assert "BAYES=4.5" in dict(v.headers)["X-Spam-Status"]


async def test_learning_the_same_message_twice_counts_once(
    sqlite_store: Store, settings: Settings
) -> None:
    bayes = BayesClassifier(sqlite_store, 1)
    raw = _spam(1)
    assert await bayes.learn_raw(raw, "spam")
    assert not await bayes.learn_raw(raw, "spam")
    assert await bayes.learn_raw(raw, "ham")  # relabelled: spam counts undone
    async with sqlite_store.read() as tx:
        repo = OpsRepo(tx.session, "sqlite")
        assert await repo.bayes_counts() == (0, 1)
        toks = tokens_of(parse_message(raw), raw)
        counts = await repo.bayes_tokens(toks)
    assert counts and all(sp == 0 and hm == 1 for sp, hm in counts.values())


async def test_sender_lists_cache_is_per_agency_set(sqlite_store: Store) -> None:
    lists = SenderLists(sqlite_store)
    async with sqlite_store.write() as tx:
        await OpsRepo(tx.session, "sqlite").add_spam_entry(None, "block", "bad@x.example")
    assert await lists.entries([]) == [("block", "bad@x.example")]


async def test_in_memory_token_table_follows_learning(sqlite_store: Store) -> None:
    bayes = BayesClassifier(sqlite_store, 1)
    spam, ham = _spam(7), _ham(7)
    await bayes.learn_raw(spam, "spam")
    await bayes.learn_raw(_spam(8), "spam")
    await bayes.learn_raw(ham, "ham")
    toks = tokens_of(parse_message(spam), spam)
    p1 = await bayes.probability(toks)
    assert bayes._full is not None and p1 is not None and p1 > 0.9
    await bayes.learn_raw(spam, "ham")  # relabelled in memory and in the store alike
    in_memory = [bayes._full.get(t, (0, 0)) for t in toks]
    fresh = BayesClassifier(sqlite_store, 1)
    await fresh.probability(toks)
    assert fresh._full is not None
    assert in_memory == [fresh._full.get(t, (0, 0)) for t in toks]
