"""Sequence sets (RFC 3501 ``sequence-set``, RFC 5182 ``$``), evaluated as ranges.

``SequenceSet.parse("2,4:7,9,12:*")`` keeps the set as written; nothing is expanded.
Evaluation needs the value ``*`` stands for (the number of messages, or the highest UID):

* :meth:`SequenceSet.ranges` -- sorted, merged, inclusive ``(first, last)`` ranges within
  ``1..largest``; ``4:2`` equals ``2:4`` and ``559:*`` includes ``largest`` even when
  559 is larger (RFC 3501 section 6.4.8);
* :meth:`SequenceSet.iter_numbers`, :meth:`count`, :meth:`contains` -- lazy helpers;
* :meth:`SequenceSet.select` -- the members of a sorted list of UIDs (bisect per range).

``$`` (:attr:`SequenceSet.saved`) stands for the result saved by ``SEARCH RETURN (SAVE)``;
the session substitutes it before evaluating. :meth:`SequenceSet.from_numbers` builds a
compact set for responses (``COPYUID``, ``ESEARCH ALL``, ``VANISHED``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from govmail.imap.protocol.errors import SequenceSetError

MAX_NUMBER = 0xFFFFFFFF
DEFAULT_MAX_ITEMS = 65536

_NUM = r"(?:[1-9][0-9]{0,9}|\*)"
_SET = re.compile(rf"{_NUM}(?::{_NUM})?(?:,{_NUM}(?::{_NUM})?)*")

Bound = int | None
"""A number, or ``None`` for ``*``."""


def _bound(text: str) -> Bound:
    if text == "*":
        return None
    value = int(text)
    if value > MAX_NUMBER:
        raise SequenceSetError(f"number {text} is larger than 4294967295")
    return value


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A parsed sequence set: ``(start, end)`` items as written (``None`` is ``*``)."""

    items: tuple[tuple[Bound, Bound], ...] = ()
    saved: bool = False

    @classmethod
    def parse(cls, text: str, *, max_items: int = DEFAULT_MAX_ITEMS) -> SequenceSet:
        """Parse ``text``; raise :class:`SequenceSetError` if it is not a sequence set."""
        if text == "$":
            return cls(saved=True)
        if not _SET.fullmatch(text):
            raise SequenceSetError(f"{text[:40]!r} is not a sequence set")
        parts = text.split(",")
        if len(parts) > max_items:
            raise SequenceSetError(f"sequence set has more than {max_items} items")
        items: list[tuple[Bound, Bound]] = []
        for part in parts:
            first, _, last = part.partition(":")
            start = _bound(first)
            items.append((start, _bound(last) if last else start))
        return cls(tuple(items))

    @classmethod
    def from_numbers(cls, numbers: Iterable[int]) -> SequenceSet:
        """Compact set of the given positive numbers (``1,2,3,7`` -> ``1:3,7``)."""
        return cls.from_ranges((n, n) for n in numbers)

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int]]) -> SequenceSet:
        """Compact set of inclusive ranges, merged and sorted."""
        return cls(tuple(_merge(ranges)))

    @property
    def uses_star(self) -> bool:
        return any(s is None or e is None for s, e in self.items)

    @property
    def largest_number(self) -> int:
        """The largest number written explicitly (0 if only ``*``); to check MSN validity."""
        best = 0
        for start, end in self.items:
            for value in (start, end):
                if value is not None and value > best:
                    best = value
        return best

    def ranges(self, largest: int) -> list[tuple[int, int]]:
        """Sorted, disjoint, inclusive ranges within ``1..largest`` (``*`` is ``largest``)."""
        if self.saved:
            raise SequenceSetError("'$' must be replaced by the saved search result first")
        if largest <= 0:
            return []
        resolved: list[tuple[int, int]] = []
        for start, end in self.items:
            a = largest if start is None else start
            b = largest if end is None else end
            if a > b:
                a, b = b, a
            if a > largest:
                continue
            resolved.append((a, min(b, largest)))
        return _merge(resolved)

    def iter_numbers(self, largest: int) -> Iterator[int]:
        """Members within ``1..largest`` in ascending order, generated lazily."""
        for a, b in self.ranges(largest):
            yield from range(a, b + 1)

    def count(self, largest: int) -> int:
        return sum(b - a + 1 for a, b in self.ranges(largest))

    def contains(self, number: int, largest: int) -> bool:
        ranges = self.ranges(largest)
        i = bisect.bisect_right(ranges, (number, MAX_NUMBER + 1)) - 1
        return i >= 0 and ranges[i][0] <= number <= ranges[i][1]

    def select(self, sorted_values: Sequence[int]) -> list[int]:
        """Members of ``sorted_values`` (ascending, e.g. the mailbox's UIDs) in this set.

        ``*`` stands for the last value, as for UID sets.
        """
        if not sorted_values:
            return []
        out: list[int] = []
        count = len(sorted_values)
        lo = 0
        for a, b in self.ranges(sorted_values[-1]):  # ascending and disjoint
            lo = bisect.bisect_left(sorted_values, a, lo)
            if a == b:  # a single number (a client naming messages one by one)
                if lo < count and sorted_values[lo] == a:
                    out.append(a)
                continue
            hi = bisect.bisect_right(sorted_values, b, lo)
            out.extend(sorted_values[lo:hi])
            lo = hi
        return out

    def __str__(self) -> str:
        if self.saved:
            return "$"
        parts = []
        for start, end in self.items:
            a = "*" if start is None else str(start)
            if start == end:
                parts.append(a)
            else:
                parts.append(f"{a}:{'*' if end is None else end}")
        return ",".join(parts)


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if a < 1 or b < a:
            raise SequenceSetError(f"invalid range {a}:{b}")
        if merged and a <= merged[-1][1] + 1:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged
