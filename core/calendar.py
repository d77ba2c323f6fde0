"""Viet Nam's clock and working days.

Deadlines are set in Viet Nam's time (UTC+7, no daylight saving); working-day deadlines
skip weekends and public holidays. The statutory holidays of any year come from the
`holidays` library (the lunar Tết and Hùng Kings' days included); the days the government
moves each year (bridge days off, and the Saturdays worked in exchange) come from an
override file: the one shipped in `data/holidays_vn.csv`, plus one the deployment edits.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

#: Override kinds: an extra day off, or a day worked although it is a weekend or a holiday.
OFF, WORK = "off", "work"


@dataclass(frozen=True)
class Override:
    """A day the government moved: `off` (a bridge day) or `work` (a Saturday worked)."""

    day: date
    kind: str
    name: str = ""


class WorkingCalendar:
    """Weekends and the holidays of each year (asked once per year), with moved days."""

    def __init__(
        self, holidays_of: Callable[[int], Iterable[date]], overrides: Iterable[Override] = ()
    ) -> None:
        self._holidays_of = holidays_of
        self._years: dict[int, frozenset[date]] = {}
        overrides = list(overrides)
        self.extra_days_off = frozenset(o.day for o in overrides if o.kind == OFF)
        self.working_days = frozenset(o.day for o in overrides if o.kind == WORK)

    def holidays(self, year: int) -> frozenset[date]:
        """The statutory holidays of `year` plus its extra days off."""
        if year not in self._years:
            days = set(self._holidays_of(year)) | {d for d in self.extra_days_off if d.year == year}
            self._years[year] = frozenset(days - self.working_days)
        return self._years[year]

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays(day.year)

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


def parse_overrides(lines: Iterable[str]) -> list[Override]:
    """Read `date,kind,name` rows (kind `off` or `work`; a row without a kind is a day off),
    skipping comments and the header. A bad row raises ValueError naming its line."""
    rows = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    overrides = []
    for number, row in enumerate(csv.DictReader(rows), start=2):
        try:
            kind = (row.get("kind") or OFF).strip()
            if kind not in (OFF, WORK):
                raise ValueError(f"kind must be {OFF!r} or {WORK!r}")
            day = date.fromisoformat(row["date"].strip())
            overrides.append(Override(day, kind, (row.get("name") or "").strip()))
        except (KeyError, AttributeError, ValueError) as exc:
            raise ValueError(f"holiday override row {number}: {exc}") from None
    return overrides


def vietnam_holidays(year: int) -> frozenset[date]:
    """Viet Nam's statutory public holidays in `year`, as the `holidays` library knows them."""
    return frozenset(holidays.country_holidays("VN", years=year).keys())


def shipped_overrides() -> list[Override]:
    text = resources.files("core").joinpath("data/holidays_vn.csv").read_text(encoding="utf-8")
    return parse_overrides(text.splitlines())


def working_calendar(override_file: Path | None = None) -> WorkingCalendar:
    """Statutory holidays, the shipped moved days, and the deployment's own file if given."""
    overrides = shipped_overrides()
    if override_file is not None:
        overrides += parse_overrides(override_file.read_text(encoding="utf-8").splitlines())
    return WorkingCalendar(vietnam_holidays, overrides)


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The calendar without a deployment override file (cached)."""
    return working_calendar()


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
