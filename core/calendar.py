"""Viet Nam's clock and working days.

Deadlines are set in Viet Nam's time (UTC+7, no daylight saving); working-day deadlines
skip weekends and the public holidays listed in `data/holidays_vn.csv`.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

log = logging.getLogger(__name__)


class WorkingCalendar:
    """Weekends plus a set of holidays; knows which years its holiday list covers."""

    def __init__(self, holidays: Iterable[date]) -> None:
        self.holidays = frozenset(holidays)
        self.covered_years = frozenset(d.year for d in self.holidays)
        self._warned: set[int] = set()

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.covered_years and day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("holiday list does not cover %s; counting weekends only", day.year)
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End of the `days`-th working day after the local date of `start`.

        "Within 3 working days" in Vietnamese administrative practice runs to the end of the
        third working day after the day of receipt; the result is midnight local time,
        returned in the time zone of `start`.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        local = start.astimezone(VN_TZ)
        day = local.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=VN_TZ)
        return end.astimezone(start.tzinfo)


def parse_holidays(lines: Iterable[str]) -> list[date]:
    """Read `date,name` rows, skipping comments and the header."""
    rows = (line for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return [date.fromisoformat(row["date"]) for row in csv.DictReader(rows)]


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The calendar shipped with the package (cached: the file is read once)."""
    text = resources.files("core").joinpath("data/holidays_vn.csv").read_text(encoding="utf-8")
    return WorkingCalendar(parse_holidays(text.splitlines()))


def add_months(moment: datetime, months: int) -> datetime:
    """Same local wall-clock time `months` later, clamped to the month's last day."""
    local = moment.astimezone(VN_TZ)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    for day in range(local.day, 27, -1):
        try:
            return local.replace(year=year, month=month, day=day).astimezone(moment.tzinfo)
        except ValueError:
            continue
    return local.replace(year=year, month=month, day=min(local.day, 28)).astimezone(moment.tzinfo)
