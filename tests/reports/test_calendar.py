"""Working days: Vietnamese public holidays (lunar dates), corrections, periods."""

from __future__ import annotations

from datetime import date

import pytest

from govmail.reports.calendar import WorkCalendar, default_holidays, lunar_to_solar, tet
from govmail.reports.periods import PeriodError, last_complete_quarter, parse_period

# Mùng 1 Tết, from published Vietnamese calendars.
TET = {
    2008: date(2008, 2, 7),
    2009: date(2009, 1, 26),
    2010: date(2010, 2, 14),
    2011: date(2011, 2, 3),
    2012: date(2012, 1, 23),
    2013: date(2013, 2, 10),
    2014: date(2014, 1, 31),
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
}


@pytest.mark.parametrize("year", sorted(TET))
def test_tet(year: int) -> None:
    assert tet(year) == TET[year]


def test_hung_kings_and_leap_months() -> None:
    assert lunar_to_solar(10, 3, 2023) == date(2023, 4, 29)
    assert lunar_to_solar(10, 3, 2024) == date(2024, 4, 18)
    assert lunar_to_solar(10, 3, 2025) == date(2025, 4, 7)
    # 2023 had a leap second month (tháng 2 nhuận) starting 22 March 2023.
    assert lunar_to_solar(1, 2, 2023, leap=True) == date(2023, 3, 22)
    assert lunar_to_solar(1, 3, 2023) == date(2023, 4, 20)
    assert lunar_to_solar(1, 4, 2020, leap=True) == date(2020, 5, 23)
    assert lunar_to_solar(1, 6, 2025, leap=True) == date(2025, 7, 25)
    with pytest.raises(ValueError):
        lunar_to_solar(1, 5, 2023, leap=True)


def test_default_holidays_2025() -> None:
    h = default_holidays(2025)
    assert set(h) == {
        date(2025, 1, 1),
        *(date(2025, 1, d) for d in (28, 29, 30, 31)),
        date(2025, 2, 1),
        date(2025, 2, 3),  # Tết's fifth day was a Saturday: Monday off
        date(2025, 4, 7),
        date(2025, 4, 30),
        date(2025, 5, 1),
        date(2025, 9, 1),  # 2 September 2025 was a Tuesday
        date(2025, 9, 2),
    }
    assert h[date(2025, 2, 3)] == "Nghỉ bù Tết Nguyên Đán"


def test_compensation_does_not_land_on_another_holiday() -> None:
    h = default_holidays(2023)  # Giỗ Tổ on Saturday 29/4, 30/4 Sunday, 1/5 Monday
    assert {date(2023, 5, 2), date(2023, 5, 3)} <= set(h)


def test_working_days_and_corrections() -> None:
    cal = WorkCalendar()
    assert not cal.is_working_day(date(2025, 9, 2))
    assert cal.last_working_days(date(2025, 3, 31), 20)[0] == date(2025, 3, 4)
    # Arrived Friday, registered Monday: within one working day; Tuesday: late.
    assert cal.within_working_days(date(2025, 3, 7), date(2025, 3, 10))
    assert not cal.within_working_days(date(2025, 3, 7), date(2025, 3, 11))
    # Arrived on Tết, registered on the first working day after it.
    assert cal.within_working_days(date(2025, 1, 29), date(2025, 2, 4))
    declared = WorkCalendar({date(2025, 1, 27): False, date(2025, 2, 8): True})
    assert not declared.is_working_day(date(2025, 1, 27))
    assert declared.is_working_day(date(2025, 2, 8))  # a Saturday worked in exchange


def test_periods() -> None:
    assert parse_period("2025-Q3").start == date(2025, 7, 1)
    assert parse_period("Q3/2025").end == date(2025, 9, 30)
    assert parse_period("2024-02").end == date(2024, 2, 29)
    assert parse_period("2025-H2").title("vi") == "6 tháng cuối năm 2025"
    assert parse_period("2025-01-15..2025-02-15").days == 32
    assert last_complete_quarter(date(2025, 2, 1)).label == "2024-Q4"
    for bad in ("2025-Q5", "2025-13", "2025-02-30..2025-03-01", "2025-03-01..2025-02-01", "quý 3"):
        with pytest.raises(PeriodError):
            parse_period(bad)
