"""Report periods: a year, a half, a quarter, a month, or any range of days.

Written forms (``parse_period``): ``2025``, ``2025-H1``, ``2025-Q3`` (also ``Q3/2025``),
``2025-07``, ``2025-07-01..2025-09-30``. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    """A period that cannot be read; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # included
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def end_instant(self, timezone: str) -> datetime:
        """The end of the last day, local time, as an aware datetime (snapshots are taken
        at this instant: mailboxes existing then)."""
        nxt = datetime.combine(self.end + timedelta(days=1), time(0), ZoneInfo(timezone))
        return nxt - timedelta(microseconds=1)

    def start_instant(self, timezone: str) -> datetime:
        return datetime.combine(self.start, time(0), ZoneInfo(timezone))

    def title_vi(self) -> str:
        return _title(self, "vi")

    def title_en(self) -> str:
        return _title(self, "en")

    def title(self, lang: str) -> str:
        return _title(self, lang)


_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})-?H([12])$", re.I)
_QUARTER = re.compile(r"^(?:(\d{4})-?Q([1-4])|Q([1-4])[/-](\d{4}))$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31), f"{y}")


def quarter(y: int, q: int) -> Period:
    start = date(y, 3 * q - 2, 1)
    end = _month_end(y, 3 * q)
    return Period(start, end, f"{y}-Q{q}")


def month(y: int, m: int) -> Period:
    return Period(date(y, m, 1), _month_end(y, m), f"{y}-{m:02d}")


def _month_end(y: int, m: int) -> date:
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return nxt - timedelta(days=1)


def parse_period(text: str) -> Period:
    s = text.strip()
    try:
        if m := _YEAR.match(s):
            return year(int(m.group(1)))
        if m := _HALF.match(s):
            y, h = int(m.group(1)), int(m.group(2))
            return Period(date(y, 6 * h - 5, 1), _month_end(y, 6 * h), f"{y}-H{h}")
        if m := _QUARTER.match(s):
            if m.group(1):
                return quarter(int(m.group(1)), int(m.group(2)))
            return quarter(int(m.group(4)), int(m.group(3)))
        if m := _MONTH.match(s):
            mo = int(m.group(2))
            if not 1 <= mo <= 12:
                raise PeriodError(f"tháng không hợp lệ / bad month: {text!r}")
            return month(int(m.group(1)), mo)
        if m := _RANGE.match(s):
            a, b = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if b < a:
                raise PeriodError(f"ngày kết thúc trước ngày bắt đầu / end before start: {text!r}")
            return Period(a, b, f"{a.isoformat()}..{b.isoformat()}")
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"kỳ báo cáo không hợp lệ / bad period {text!r}: {exc}") from None
    raise PeriodError(
        f"kỳ báo cáo không đọc được / unreadable period {text!r} "
        "(2025, 2025-H1, 2025-Q3, 2025-07, 2025-07-01..2025-09-30)"
    )


def last_complete_quarter(today: date) -> Period:
    q = (today.month - 1) // 3 + 1
    return quarter(today.year - 1, 4) if q == 1 else quarter(today.year, q - 1)


def current_quarter(today: date) -> Period:
    return quarter(today.year, (today.month - 1) // 3 + 1)


def _title(p: Period, lang: str) -> str:
    vi = lang == "vi"
    if m := _YEAR.match(p.label):
        return f"Năm {m.group(1)}" if vi else f"Year {m.group(1)}"
    if m := _QUARTER.match(p.label):
        return f"Quý {m.group(2)} năm {m.group(1)}" if vi else f"Q{m.group(2)} {m.group(1)}"
    if m := _HALF.match(p.label):
        h = int(m.group(2))
        if vi:
            return f"{'6 tháng đầu' if h == 1 else '6 tháng cuối'} năm {m.group(1)}"
        return f"H{h} {m.group(1)}"
    if m := _MONTH.match(p.label):
        return f"Tháng {int(m.group(2))} năm {m.group(1)}" if vi else f"{p.label}"
    a, b = p.start, p.end
    if vi:
        return f"Từ {a:%d/%m/%Y} đến {b:%d/%m/%Y}"
    return f"{a.isoformat()} to {b.isoformat()}"
