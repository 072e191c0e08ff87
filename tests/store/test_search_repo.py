"""Body search: exact substring semantics over folded text, on both databases, for texts
indexed and pending alike; on SQLite the index only proposes candidates (migration 0014)."""

from __future__ import annotations

import random

import pytest
from tests.store.test_delivery_writer import bare_mailbox, write_text

from govmail.store.db import Store
from govmail.store.delivery_writer import DeliveryWriter
from govmail.store.repos.search import MAX_TRIGRAMS, trigram_query

TEXTS = [
    "abca xcab",  # every trigram of "abcab", but not "abcab"
    "so 12/ubnd-vp ve viec abcab",
    'trich dan "nguyen van" va dau nhay',
    "cong van " * 40 + "ket thuc bang mot cau rat dai ve ke hoach chuyen doi so nam 2026",
]


@pytest.mark.parametrize("indexed", [False, True], ids=["pending", "indexed"])
async def test_candidates_holding_every_trigram_are_checked(store: Store, indexed: bool) -> None:
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    try:
        for i, words in enumerate(TEXTS):
            await write_text(writer, mid, words, i)
        if indexed:
            await writer.index_pending()

        async def found(term: str) -> list[int]:
            async with store.read() as tx:
                folder = await tx.mail.folder(mid, "INBOX")
                assert folder is not None
                return await tx.search.uids(folder.id, [tx.search.body_condition(term)])

        assert await found("abcab") == [2]
        assert await found("cab") == [1, 2]  # one trigram: the index answers alone
        assert await found("12/ubnd") == [2]
        assert await found('"nguyen van"') == [3]  # quotes are text, not query syntax
        assert await found("van va") == [] and await found('van" va') == [3]
        long_term = "ket thuc bang mot cau rat dai ve ke hoach chuyen doi so nam 2026"
        assert await found(long_term) == [4]
        assert await found(long_term.replace("2026", "2025")) == []  # a late difference
        assert await found("ab") == [1, 2]  # too short for trigrams: scanned
    finally:
        writer.close()


def test_a_trigram_query_quotes_each_trigram_once_and_spreads_long_terms() -> None:
    assert trigram_query("abcab") == '"abc" AND "bca" AND "cab"'
    assert trigram_query("aaaa") == '"aaa"'
    assert trigram_query('a"b"') == '"a""b" AND """b"""'
    term = "".join(chr(0x3B1 + i) for i in range(20))  # 18 trigrams, all different
    grams = trigram_query(term).split(" AND ")
    assert len(grams) == MAX_TRIGRAMS
    assert grams[0] == f'"{term[:3]}"' and grams[-1] == f'"{term[-3:]}"'


async def test_search_agrees_with_python_on_texts_full_of_shared_trigrams(store: Store) -> None:
    """Texts over a few characters share most trigrams, so the index proposes many texts
    that do not hold the term; query syntax characters are in the alphabet too."""
    rng = random.Random(7)
    alphabet = 'ab "*:^()-+'

    def some(chars: str, longest: int) -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randint(3, longest)))

    texts = [some("ab ", 30) for _ in range(30)] + [some(alphabet, 40) for _ in range(10)]
    texts += ["near and or not", "a AND b", "x NEAR(y z)"]
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    try:
        for i, t in enumerate(texts):
            await write_text(writer, mid, t, i)
            if i == len(texts) - 8:
                await writer.index_pending()  # all indexed but the last eight
        terms = {t[a : a + n] for t in texts for a in (0, len(t) // 2) for n in (3, 5, 9)}
        for _ in range(60):
            terms |= {some("ab ", 9), some(alphabet, 7)}
        async with store.read() as tx:
            folder = await tx.mail.folder(mid, "INBOX")
            assert folder is not None
            for term in sorted(t for t in terms if len(t) >= 3):
                got = await tx.search.uids(folder.id, [tx.search.body_condition(term)])
                assert got == [i + 1 for i, t in enumerate(texts) if term in t], term
    finally:
        writer.close()
