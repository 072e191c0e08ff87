"""Working days for the reports: Vietnamese public holidays (the default calendar) plus the
days an installation declares itself (the Government's yearly decisions: extra days off,
Saturdays worked in exchange).

Default rules (Bộ luật Lao động 2019, Điều 111–112, applied to civil servants):

- Saturday and Sunday are not working days;
- Tết Dương lịch: 1 January;
- Tết Nguyên Đán: the last day of the lunar year and the first four days of the new year
  (5 days; the Government usually lengthens the break by swapping days: declare those);
- Giỗ Tổ Hùng Vương: the 10th day of the 3rd lunar month;
- Chiến thắng: 30 April; Quốc tế lao động: 1 May;
- Quốc khánh: 2 September, and from 2021 one adjacent day (1 September when the 2nd is a
  Tuesday, Friday or Saturday, otherwise 3 September: the pattern of the 2021–2025
  decisions);
- a holiday falling on Saturday or Sunday gives a day off on the next working day
  (nghỉ bù).

Lunar dates follow Hồ Ngọc Đức's astronomical algorithm for the UTC+7 time zone (the one
used for Vietnamese calendars). Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

_TZ = 7.0  # Vietnamese lunar calendar: UTC+7


# --------------------------------------------------------------------------- lunar calendar


def _jd_from_date(d: int, m: int, y: int) -> int:
    a = (14 - m) // 12
    yy = y + 4800 - a
    mm = m + 12 * a - 3
    jd = d + (153 * mm + 2) // 5 + 365 * yy + yy // 4 - yy // 100 + yy // 400 - 32045
    if jd < 2299161:
        jd = d + (153 * mm + 2) // 5 + 365 * yy + yy // 4 - 32083
    return jd


def _date_from_jd(jd: int) -> date:
    if jd > 2299160:
        a = jd + 32044
        b = (4 * a + 3) // 146097
        c = a - (b * 146097) // 4
    else:
        b = 0
        c = jd + 32082
    d = (4 * c + 3) // 1461
    e = c - (1461 * d) // 4
    m = (5 * e + 2) // 153
    day = e - (153 * m + 2) // 5 + 1
    month = m + 3 - 12 * (m // 10)
    year = b * 100 + d - 4800 + m // 10
    return date(year, month, day)


def _new_moon(k: int) -> float:
    """Julian day (fractional, UT) of the k-th new moon after 1900-01-01."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (
        (0.1734 - 0.000393 * t) * math.sin(m * dr)
        + 0.0021 * math.sin(2 * dr * m)
        - 0.4068 * math.sin(mpr * dr)
        + 0.0161 * math.sin(dr * 2 * mpr)
        - 0.0004 * math.sin(dr * 3 * mpr)
        + 0.0104 * math.sin(dr * 2 * f)
        - 0.0051 * math.sin(dr * (m + mpr))
        - 0.0074 * math.sin(dr * (m - mpr))
        + 0.0004 * math.sin(dr * (2 * f + m))
        - 0.0004 * math.sin(dr * (2 * f - m))
        - 0.0006 * math.sin(dr * (2 * f + mpr))
        + 0.0010 * math.sin(dr * (2 * f - mpr))
        + 0.0005 * math.sin(dr * (2 * mpr + m))
    )
    if t < -11:
        deltat = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        deltat = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - deltat


def _new_moon_day(k: int) -> int:
    return math.floor(_new_moon(k) + 0.5 + _TZ / 24)


def _sun_longitude_sector(jdn: int) -> int:
    """Which of the 12 thirty-degree sectors the sun is in at the start of day ``jdn``."""
    t = (jdn - 0.5 - _TZ / 24 - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    lon = (l0 + dl) * dr
    lon -= math.pi * 2 * math.floor(lon / (math.pi * 2))
    return math.floor(lon / math.pi * 6)


def _lunar_month_11(year: int) -> int:
    off = _jd_from_date(31, 12, year) - 2415021
    k = math.floor(off / 29.530588853)
    nm = _new_moon_day(k)
    if _sun_longitude_sector(nm) >= 9:
        nm = _new_moon_day(k - 1)
    return nm


def _leap_month_offset(a11: int) -> int:
    k = math.floor((a11 - 2415021.076998695) / 29.530588853 + 0.5)
    i = 1
    arc = _sun_longitude_sector(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_longitude_sector(_new_moon_day(k + i))
        if arc == last or i >= 14:
            break
    return i - 1


@cache
def lunar_to_solar(day: int, month: int, year: int, leap: bool = False) -> date:
    """The Gregorian date of a Vietnamese lunar date (``leap``: the intercalary month)."""
    if month < 11:
        a11, b11 = _lunar_month_11(year - 1), _lunar_month_11(year)
    else:
        a11, b11 = _lunar_month_11(year), _lunar_month_11(year + 1)
    k = math.floor(0.5 + (a11 - 2415021.076998695) / 29.530588853)
    off = month - 11
    if off < 0:
        off += 12
    if b11 - a11 > 365:
        leap_off = _leap_month_offset(a11)
        leap_month = leap_off - 2
        if leap_month < 0:
            leap_month += 12
        if leap and month != leap_month:
            raise ValueError(f"lunar year {year} has no leap month {month}")
        if leap or off >= leap_off:
            off += 1
    elif leap:
        raise ValueError(f"lunar year {year} has no leap month")
    return _date_from_jd(_new_moon_day(k + off) + day - 1)


def tet(year: int) -> date:
    """Mùng 1 Tết: the first day of the lunar year that starts in Gregorian ``year``."""
    return lunar_to_solar(1, 1, year)


# --------------------------------------------------------------------------- holidays


def default_holidays(year: int) -> dict[date, str]:
    """The public holidays of ``year`` under the default rules, with their names (Vietnamese),
    compensatory days off included."""
    days: dict[date, str] = {date(year, 1, 1): "Tết Dương lịch"}
    first = tet(year)
    for i in range(-1, 4):
        days[first + timedelta(days=i)] = "Tết Nguyên Đán"
    days[lunar_to_solar(10, 3, year)] = "Giỗ Tổ Hùng Vương"
    days[date(year, 4, 30)] = "Ngày Chiến thắng"
    days[date(year, 5, 1)] = "Ngày Quốc tế lao động"
    national = date(year, 9, 2)
    days[national] = "Quốc khánh"
    if year >= 2021:
        extra = (
            national - timedelta(days=1)
            if national.weekday() in (1, 4, 5)
            else (national + timedelta(days=1))
        )
        days[extra] = "Quốc khánh"
    # Nghỉ bù: each holiday on a weekend moves to the next day that is neither a weekend
    # day nor already a holiday.
    taken = set(days)
    for d in sorted(days):
        if d.weekday() >= 5:
            c = d + timedelta(days=1)
            while c.weekday() >= 5 or c in taken:
                c += timedelta(days=1)
            taken.add(c)
            days.setdefault(c, f"Nghỉ bù {days[d]}")
    return days


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    day: date
    working: bool
    note: str = ""


@dataclass
class WorkCalendar:
    """Which days are working days: the default rules corrected by ``overrides``
    (day -> working or not, e.g. a Saturday worked in exchange for a bridge day)."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    use_default_holidays: bool = True
    _holidays: dict[int, dict[date, str]] = field(default_factory=dict, repr=False)

    def holidays(self, year: int) -> dict[date, str]:
        if not self.use_default_holidays:
            return {}
        if year not in self._holidays:
            self._holidays[year] = default_holidays(year)
        return self._holidays[year]

    def is_working_day(self, d: date) -> bool:
        if d in self.overrides:
            return bool(self.overrides[d])
        return d.weekday() < 5 and d not in self.holidays(d.year)

    def working_days(self, start: date, end: date) -> list[date]:
        """Working days from ``start`` to ``end``, both included."""
        return [d for d in _days(start, end) if self.is_working_day(d)]

    def last_working_days(self, end: date, count: int) -> list[date]:
        """The ``count`` working days ending at ``end`` (included), oldest first."""
        out: list[date] = []
        d = end
        limit = end - timedelta(days=count * 3 + 60)  # never loop forever on odd overrides
        while len(out) < count and d > limit:
            if self.is_working_day(d):
                out.append(d)
            d -= timedelta(days=1)
        out.reverse()
        return out

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        c = d + timedelta(days=1)
        for _ in range(400):
            if self.is_working_day(c):
                return c
            c += timedelta(days=1)
        return c

    def within_working_days(self, start: date, end: date, n: int = 1) -> bool:
        """True when ``end`` is no later than the n-th working day after ``start``: a document
        arriving on ``start`` and registered on ``end`` was registered "within n working
        days" (arrival on a day off counts from the next working day)."""
        if end <= start:
            return True
        limit = start
        for _ in range(n):
            limit = self.next_working_day(limit)
        return end <= limit


def _days(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def calendar_with(overrides: Iterable[CalendarOverride]) -> WorkCalendar:
    return WorkCalendar({o.day: o.working for o in overrides})
