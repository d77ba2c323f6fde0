"""Deadline rules: hand-off, remote communes, urgency, working days, holidays, extensions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.calendar import VN_TZ, add_months, default_calendar, parse_overrides, working_calendar
from core.categories import Category
from core.errors import ExtensionRefused, InvalidInput
from core.sla import DEFAULT_RULES, DeadlinePolicy, Rule, TipFacts, Unit, deadline_state
from core.stages import Stage

POLICY = DeadlinePolicy(1, DEFAULT_RULES)
CAL = default_calendar()


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)  # type: ignore[misc]


def facts(received: datetime, **kw: object) -> TipFacts:
    base: dict[str, object] = {"category": None, "urgent": False, "remote": False}
    base.update(kw)
    return TipFacts(received_at=received, **base)  # type: ignore[arg-type]


def test_hand_off_is_24_hours_and_48_for_remote_communes() -> None:
    received = vn(2026, 3, 6, 16, 30)  # a Friday afternoon: hours run through the weekend
    assert POLICY.deadlines(facts(received), CAL)[Stage.VERIFIED] == received + timedelta(hours=24)
    remote = POLICY.deadlines(facts(received, remote=True), CAL)
    assert remote[Stage.VERIFIED] == received + timedelta(hours=48)
    assert remote[Stage.CLASSIFIED] == received + timedelta(hours=96)


def test_decision_within_20_days() -> None:
    received = vn(2026, 3, 2, 9, 0)
    assert POLICY.deadlines(facts(received), CAL)[Stage.PROCESSED] == vn(2026, 3, 22, 9, 0)


def test_urgent_wins_over_remote_and_starts_within_two_hours() -> None:
    received = vn(2026, 3, 2, 23, 0)
    due = POLICY.deadlines(facts(received, urgent=True, remote=True), CAL)
    assert due[Stage.VERIFIED] == received + timedelta(hours=2)
    assert due[Stage.CLASSIFIED] == received + timedelta(hours=12)
    # The legal decision window is not shortened by urgency.
    assert due[Stage.PROCESSED] == received + timedelta(days=20)


def test_information_request_is_answered_within_three_working_days() -> None:
    # Thursday 26 Feb 2026 → Fri 27, Mon 2 Mar, Tue 3 Mar: due at the end of Tuesday.
    received = vn(2026, 2, 26, 10, 0)
    due = POLICY.deadlines(facts(received, category=Category.INFO_REQUEST), CAL)
    assert due[Stage.PROCESSED] == vn(2026, 3, 4, 0, 0)
    assert due[Stage.VERIFIED] == vn(2026, 2, 28, 0, 0)  # end of Friday


def test_working_days_skip_weekends_and_tet() -> None:
    # Received Friday 13 Feb 2026; 16-20 Feb is the Tết holiday, then a weekend.
    due = CAL.add_working_days(vn(2026, 2, 13, 15, 0), 3)
    assert due == vn(2026, 2, 26, 0, 0)  # Mon 23, Tue 24, Wed 25 → end of Wednesday


def test_working_days_skip_a_single_holiday() -> None:
    # Wednesday 29 Apr 2026: 30 Apr and 1 May are holidays, then the weekend.
    assert CAL.add_working_days(vn(2026, 4, 29, 8, 0), 1) == vn(2026, 5, 5, 0, 0)


def test_working_days_keep_the_callers_time_zone() -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    due = CAL.add_working_days(start, 1)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)  # midnight Wed in Viet Nam


def test_later_years_have_their_statutory_holidays_without_editing_a_file() -> None:
    # National Day 2030 is Monday 2 and Tuesday 3 September: the working day after Friday
    # 30 August is Wednesday 4, and the deadline is the end of that day.
    assert {date(2030, 9, 2), date(2030, 9, 3)} <= CAL.holidays(2030)
    assert CAL.add_working_days(vn(2030, 8, 30, 9, 0), 1) == vn(2030, 9, 5, 0, 0)


def test_the_deployments_file_adds_a_bridge_day_and_a_saturday_worked(tmp_path: Path) -> None:
    overrides = tmp_path / "holidays.csv"
    overrides.write_text(
        "# moved by the Prime Minister's notice\n"
        "date,kind,name\n2030-03-04,off,Nghỉ bù\n2030-03-09,work,Làm bù\n",
        encoding="utf-8",
    )
    cal = working_calendar(overrides)
    assert not cal.is_working_day(date(2030, 3, 4))  # a Monday off
    assert cal.is_working_day(date(2030, 3, 9))  # a Saturday worked
    # Friday 1 March: Monday 4 is off, so the first working day is Tuesday 5.
    assert cal.add_working_days(vn(2030, 3, 1, 9, 0), 1) == vn(2030, 3, 6, 0, 0)


@pytest.mark.parametrize(
    "row", ["2030-13-01,off,x", "2030-03-04,holiday,x", "not a date,off,x", ",off,x"]
)
def test_a_bad_override_row_is_refused_with_its_line(row: str) -> None:
    with pytest.raises(ValueError, match="row 2"):
        parse_overrides(["date,kind,name", *row.splitlines()])


def test_first_extension_runs_to_two_months_from_receipt() -> None:
    received = vn(2026, 1, 31, 9, 0)
    due = POLICY.deadlines(facts(received), CAL)[Stage.PROCESSED]
    extended = POLICY.extended_deadline(received_at=received, current_due=due, extensions_so_far=0)
    assert extended == vn(2026, 3, 31, 9, 0)


def test_second_extension_adds_up_to_two_months_and_a_third_is_refused() -> None:
    received = vn(2026, 1, 10, 9, 0)
    first = vn(2026, 3, 10, 9, 0)
    second = POLICY.extended_deadline(received_at=received, current_due=first, extensions_so_far=1)
    assert second == vn(2026, 5, 10, 9, 0)
    shorter = POLICY.extended_deadline(received_at=received, current_due=first, extensions_so_far=1, days=10)
    assert shorter == first + timedelta(days=10)
    with pytest.raises(ExtensionRefused, match="limit"):
        POLICY.extended_deadline(received_at=received, current_due=second, extensions_so_far=2)


def test_an_extension_must_move_the_deadline_later() -> None:
    received = vn(2026, 1, 10, 9, 0)
    with pytest.raises(ExtensionRefused):
        POLICY.extended_deadline(received_at=received, current_due=vn(2026, 6, 1, 0, 0), extensions_so_far=0)
    with pytest.raises(ExtensionRefused):
        POLICY.extended_deadline(
            received_at=received, current_due=vn(2026, 2, 1, 0, 0), extensions_so_far=1, days=0
        )


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(vn(2026, 12, 31, 8, 0), 2) == vn(2027, 2, 28, 8, 0)
    assert add_months(vn(2028, 12, 31, 8, 0), 2) == vn(2029, 2, 28, 8, 0)
    assert add_months(vn(2027, 12, 31, 8, 0), 2) == vn(2028, 2, 29, 8, 0)


def test_policy_without_a_default_rule_is_refused() -> None:
    rules = [r for r in DEFAULT_RULES if r.key != "processed.default"]
    with pytest.raises(InvalidInput, match=r"processed\.default"):
        DeadlinePolicy(2, rules)


def test_policy_rules_are_data() -> None:
    rules = [r for r in DEFAULT_RULES if r.key != "verified.default"]
    policy = DeadlinePolicy(2, [*rules, Rule("verified.default", 12, Unit.HOURS)])
    received = vn(2026, 3, 2, 9, 0)
    assert policy.deadlines(facts(received), CAL)[Stage.VERIFIED] == vn(2026, 3, 2, 21, 0)


def test_deadline_state_at_risk_after_three_quarters() -> None:
    received = vn(2026, 3, 2, 0, 0)
    due = received + timedelta(hours=24)
    assert deadline_state(received + timedelta(hours=17), received, due, 0.75) == "on_time"
    assert deadline_state(received + timedelta(hours=18), received, due, 0.75) == "at_risk"
    assert deadline_state(received + timedelta(hours=25), received, due, 0.75) == "overdue"


def test_the_plan_years_know_their_holidays_and_moved_days() -> None:
    assert {date(2026, 2, 17), date(2026, 9, 2), date(2025, 1, 28)} <= CAL.holidays(2026) | CAL.holidays(2025)
    assert date(2026, 1, 2) in CAL.holidays(2026)  # moved by the yearly notice (shipped file)
