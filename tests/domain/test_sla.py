"""Answer SLAs in business hours: parsing the settings, and counting business time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.sla import (
    AnswerSla,
    BusinessHours,
    describe_duration,
    parse_business_hours,
    parse_duration,
)

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessHours(days=frozenset(range(5)), opens=time(9), closes=time(18))


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("4h", 240), ("90m", 90), ("1h30m", 90), ("1h 30min", 90), ("2H", 120), ("45 m", 45)],
)
def test_durations_read_as_minutes(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "4", "h", "0h", "0m", "-1h", "4 hours", "999h", "1d"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    assert parse_duration(text) is None


@given(st.integers(min_value=1, max_value=7 * 24 * 60))
def test_a_described_duration_reads_back_the_same(minutes: int) -> None:
    assert parse_duration(describe_duration(minutes)) == minutes


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("mon-fri 09:00-18:00", "mon-fri 09:00-18:00"),
        ("Mon-Fri 9:00 - 18:00", "mon-fri 09:00-18:00"),
        ("mon,wed,thu-fri 08:30-17:00", "mon,wed-fri 08:30-17:00"),
        ("sat 10:00-14:00", "sat 10:00-14:00"),
    ],
)
def test_business_hours_read_and_describe_canonically(text: str, canonical: str) -> None:
    hours = parse_business_hours(text)

    assert hours is not None and hours.describe() == canonical
    assert parse_business_hours(canonical) == hours


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mon-fri",
        "09:00-18:00",
        "fri-mon 09:00-18:00",
        "mon-fri 18:00-09:00",
        "mon-fri 09:00-09:00",
        "mon-fri 25:00-26:00",
        "monday 09:00-18:00",
        "mon-fri 9-18",
    ],
)
def test_what_is_not_business_hours_is_refused(text: str) -> None:
    assert parse_business_hours(text) is None


def test_a_rating_inside_the_hours_is_due_the_same_day() -> None:
    assert OFFICE.add(berlin(2026, 11, 2, 10), 240, BERLIN) == berlin(2026, 11, 2, 14)


def test_the_clock_stops_overnight_and_over_the_weekend() -> None:
    friday_five = berlin(2026, 11, 6, 17)

    assert OFFICE.add(friday_five, 240, BERLIN) == berlin(2026, 11, 9, 12)  # Monday noon


def test_a_rating_outside_the_hours_starts_its_clock_at_the_next_opening() -> None:
    saturday = berlin(2026, 11, 7, 11)

    assert OFFICE.add(saturday, 60, BERLIN) == berlin(2026, 11, 9, 10)


def test_business_hours_keep_their_wall_clock_across_a_dst_change() -> None:
    # Berlin leaves summer time in the night of Sunday 25 October 2026.
    friday = berlin(2026, 10, 23, 17)

    due = OFFICE.add(friday, 120, BERLIN)

    assert due == berlin(2026, 10, 26, 10)
    assert due is not None and due.astimezone(UTC).hour == 9  # UTC+1 from then on


def test_no_open_day_means_never() -> None:
    never = BusinessHours(days=frozenset(), opens=time(9), closes=time(18))

    assert never.add(berlin(2026, 11, 2, 10), 60, BERLIN) is None


def test_is_open_inside_the_hours_only() -> None:
    assert OFFICE.is_open(berlin(2026, 11, 2, 9), BERLIN)
    assert not OFFICE.is_open(berlin(2026, 11, 2, 18), BERLIN)
    assert not OFFICE.is_open(berlin(2026, 11, 7, 12), BERLIN)


def test_low_scores_get_the_stricter_sla_and_escalation_comes_at_twice_it() -> None:
    sla = AnswerSla(minutes=240, low_score_minutes=120, hours=OFFICE, zone=BERLIN)
    monday_ten = berlin(2026, 11, 2, 10)

    assert sla.answer_due(monday_ten, 4) == berlin(2026, 11, 2, 14)
    assert sla.answer_due(monday_ten, 2) == berlin(2026, 11, 2, 12)
    assert sla.escalation_due(monday_ten, 1) == berlin(2026, 11, 2, 14)
    assert sla.escalation_due(monday_ten, 3) == berlin(2026, 11, 2, 18)  # the closing bell


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=1, max_value=3 * 9 * 60),
)
def test_the_due_time_is_inside_the_hours_and_counts_exactly_that_much_open_time(
    start: datetime, minutes: int
) -> None:
    due = OFFICE.add(start, minutes, BERLIN)

    assert due is not None and due > start
    assert OFFICE.is_open(due - timedelta(microseconds=1), BERLIN)
    assert open_minutes_between(start, due) == minutes


def open_minutes_between(start: datetime, end: datetime) -> int:
    """Open minutes between two instants, minute by minute (slow, obviously right)."""
    count = 0
    moment = start
    while moment < end:
        if OFFICE.is_open(moment, BERLIN):
            count += 1
        moment += timedelta(minutes=1)
    return count


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=1, max_value=5 * 9 * 60),
)
def test_the_open_minutes_up_to_a_due_time_are_the_minutes_it_was_given(
    start: datetime, minutes: int
) -> None:
    due = OFFICE.add(start, minutes, BERLIN)

    assert due is not None
    assert OFFICE.open_minutes(start, due, BERLIN) == pytest.approx(minutes)
    assert OFFICE.open_minutes(due, start, BERLIN) == 0
