"""IMAP dates: ``date-time`` (``"17-Jul-1996 02:44:25 -0700"``) and ``date`` (``1-Feb-1994``).

Month names are English abbreviations, case-insensitive on input. Parsing raises
``ValueError`` with a readable message; the command parser turns it into a ProtocolError.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name.upper(): i for i, name in enumerate(MONTHS, start=1)}

_DATE_TIME = re.compile(
    r" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
_DATE = re.compile(r"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")


def format_datetime(value: datetime) -> str:
    """``"17-Jul-1996 02:44:25 -0700"`` (without quotes). Naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{value.day:02d}-{MONTHS[value.month - 1]}-{value.year:04d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} "
        f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


def parse_datetime(text: str) -> datetime:
    """Parse an IMAP ``date-time`` (without the quotes) into an aware datetime.

    A one-digit day is accepted with or without the leading space.
    """
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"{text[:40]!r} is not an IMAP date-time (17-Jul-1996 02:44:25 -0700)")
    day, month, year, hh, mm, ss, sign, zh, zm = m.groups()
    if int(zh) > 23 or int(zm) > 59:
        raise ValueError(f"invalid time zone {sign}{zh}{zm}")
    offset = timedelta(hours=int(zh), minutes=int(zm))
    tz = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(int(year), _month(month), int(day), int(hh), int(mm), int(ss), tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"invalid date-time {text[:40]!r}: {exc}") from None


def format_date(value: date) -> str:
    """``1-Feb-1994``."""
    return f"{value.day}-{MONTHS[value.month - 1]}-{value.year:04d}"


def parse_date(text: str) -> date:
    """Parse an IMAP ``date-text`` (``1-Feb-1994``)."""
    m = _DATE.fullmatch(text)
    if m is None:
        raise ValueError(f"{text[:40]!r} is not an IMAP date (1-Feb-1994)")
    day, month, year = m.groups()
    try:
        return date(int(year), _month(month), int(day))
    except ValueError as exc:
        raise ValueError(f"invalid date {text[:40]!r}: {exc}") from None


def _month(name: str) -> int:
    number = _MONTH_NUMBER.get(name.upper())
    if number is None:
        raise ValueError(f"unknown month {name!r}")
    return number
