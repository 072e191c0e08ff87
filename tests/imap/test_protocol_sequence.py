"""Sequence sets: parsing, evaluation as ranges, UID selection, compact formatting."""

from __future__ import annotations

import pytest

from govmail.imap.protocol import SequenceSet, SequenceSetError


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("1", ((1, 1),)),
        ("*", ((None, None),)),
        ("1:*", ((1, None),)),
        ("2,4:7,9,12:*", ((2, 2), (4, 7), (9, 9), (12, None))),
        ("*:4", ((None, 4),)),
        ("4294967295", ((4294967295, 4294967295),)),
    ],
)
def test_parse(text: str, items: tuple[tuple[int | None, int | None], ...]) -> None:
    parsed = SequenceSet.parse(text)
    assert parsed.items == items
    assert str(parsed) == text


def test_saved_result_marker() -> None:
    saved = SequenceSet.parse("$")
    assert saved.saved and str(saved) == "$"
    with pytest.raises(SequenceSetError):
        saved.ranges(10)


@pytest.mark.parametrize(
    "text", ["", "0", "01", "1:", ":2", "1,,2", "1:2:3", "a", "1 2", "$,1", "4294967296", "-1"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(SequenceSetError):
        SequenceSet.parse(text)


def test_item_cap() -> None:
    text = ",".join(str(i) for i in range(1, 102))
    with pytest.raises(SequenceSetError):
        SequenceSet.parse(text, max_items=100)
    assert len(SequenceSet.parse(text).items) == 101


def test_ranges_resolve_star_order_and_clamp() -> None:
    s = SequenceSet.parse("2,4:7,9,12:*")
    assert s.ranges(15) == [(2, 2), (4, 7), (9, 9), (12, 15)]
    assert s.ranges(5) == [(2, 2), (4, 5)]
    assert SequenceSet.parse("4:2").ranges(10) == [(2, 4)]
    assert SequenceSet.parse("3:4,1:2,2:3").ranges(10) == [(1, 4)]
    assert SequenceSet.parse("1:*").ranges(0) == []


def test_uid_range_beyond_last_includes_last() -> None:
    # RFC 3501 6.4.8: "559:*" includes the last UID even if that is below 559.
    assert SequenceSet.parse("559:*").ranges(100) == [(100, 100)]
    assert SequenceSet.parse("559:*").select([5, 50, 100]) == [100]


def test_large_sets_stay_lazy() -> None:
    s = SequenceSet.parse("1:4294967295")
    assert s.count(4294967295) == 4294967295
    assert s.contains(3_000_000_000, 4294967295)
    numbers = s.iter_numbers(4294967295)
    assert [next(numbers) for _ in range(3)] == [1, 2, 3]


def test_contains_and_iter() -> None:
    s = SequenceSet.parse("2,4:7,*")
    assert [n for n in range(1, 12) if s.contains(n, 10)] == [2, 4, 5, 6, 7, 10]
    assert list(s.iter_numbers(10)) == [2, 4, 5, 6, 7, 10]
    assert s.count(10) == 6
    assert s.largest_number == 7
    assert s.uses_star and not SequenceSet.parse("1:3").uses_star


def test_select_from_sparse_uids() -> None:
    uids = [3, 5, 8, 13, 21, 34]
    assert SequenceSet.parse("1:10").select(uids) == [3, 5, 8]
    assert SequenceSet.parse("*").select(uids) == [34]
    assert SequenceSet.parse("6:7,21:*").select(uids) == [21, 34]
    assert SequenceSet.parse("1:*").select([]) == []


def test_from_numbers_compacts() -> None:
    assert str(SequenceSet.from_numbers([7, 1, 2, 3, 9, 8, 3, 20])) == "1:3,7:9,20"
    assert str(SequenceSet.from_ranges([(5, 9), (1, 2), (3, 4)])) == "1:9"
    with pytest.raises(SequenceSetError):
        SequenceSet.from_numbers([0])
