"""Deadlines across weekends and holidays, with an injected clock (Asia/Shanghai)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from handlers.calendar import DeadlineRules, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = DeadlineRules()


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


def test_a_complaint_on_friday_is_acknowledged_by_monday() -> None:
    calendar = WorkCalendar()
    friday = local(2026, 11, 27)
    assert RULES.acknowledge_by(calendar, friday) == local(2026, 11, 30).astimezone(UTC)


def test_a_complaint_on_saturday_is_acknowledged_by_monday() -> None:
    calendar = WorkCalendar()
    assert RULES.acknowledge_by(calendar, local(2026, 11, 28, 22)) == local(2026, 11, 30, 22).astimezone(UTC)


def test_a_holiday_monday_moves_the_deadline_to_tuesday() -> None:
    calendar = WorkCalendar(holidays=frozenset({date(2026, 11, 30)}))
    assert RULES.acknowledge_by(calendar, local(2026, 11, 27)) == local(2026, 12, 1).astimezone(UTC)


def test_urgent_is_three_working_days_skipping_the_weekend() -> None:
    calendar = WorkCalendar()
    thursday = local(2026, 11, 26)
    # Fri, Mon, Tue
    assert RULES.resolve_by(calendar, thursday, "urgent") == local(2026, 12, 1).astimezone(UTC)


def test_urgent_over_national_day_week_counts_the_make_up_saturday() -> None:
    golden_week = frozenset(date(2026, 10, d) for d in range(1, 8))
    calendar = WorkCalendar(holidays=golden_week, workdays=frozenset({date(2026, 10, 10)}))
    # lodged Wed 30 Sep: Oct 1–7 off, Thu 8, Fri 9, Sat 10 (worked) → due Sat 10 Oct
    assert RULES.resolve_by(calendar, local(2026, 9, 30), "urgent") == local(2026, 10, 10).astimezone(UTC)


def test_standard_is_fifteen_calendar_days_whatever_the_weekends() -> None:
    calendar = WorkCalendar(holidays=frozenset({date(2026, 12, 1)}))
    assert RULES.resolve_by(calendar, local(2026, 11, 27), "standard") == local(2026, 12, 12).astimezone(UTC)
