"""When recurring meetings happen, in their own time zone (bot/meeting_schedule.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.schedules import (
    MeetingRule,
    next_occurrence,
    occurrence_on,
    occurrences_after,
    occurrences_between,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"
SYDNEY = "Australia/Sydney"
ZONES = ["UTC", NEW_YORK, BERLIN, SYDNEY, "Asia/Kolkata"]


def rule(
    weekdays: set[int],
    at: time,
    timezone: str = "UTC",
    *,
    every_weeks: int = 1,
    anchor_date: date = date(2026, 1, 1),
) -> MeetingRule:
    """A meeting rule, anchored at the start of 2026 unless the test says otherwise."""
    return MeetingRule(
        weekdays=frozenset(weekdays),
        every_weeks=every_weeks,
        anchor_date=anchor_date,
        local_time=at,
        timezone=timezone,
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_times(starts: list[datetime], timezone: str) -> list[datetime]:
    """``starts`` as naive wall-clock times in ``timezone`` (easy to compare with literals)."""
    zone = ZoneInfo(timezone)
    return [start.astimezone(zone).replace(tzinfo=None) for start in starts]


def is_in_gap(day: date, at: time, zone: ZoneInfo) -> bool:
    """Whether ``at`` on ``day`` is skipped by a spring-forward change in ``zone``."""
    earlier = datetime.combine(day, at, tzinfo=zone).utcoffset()
    later = datetime.combine(day, at, tzinfo=zone).replace(fold=1).utcoffset()
    assert earlier is not None and later is not None
    return later > earlier


# --- daylight saving: the wall clock wins --------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "start", "end", "expected_utc"),
    [
        pytest.param(
            NEW_YORK,
            utc(2026, 3, 1),
            utc(2026, 3, 13),
            [utc(2026, 3, 2, 15), utc(2026, 3, 5, 15), utc(2026, 3, 9, 14), utc(2026, 3, 12, 14)],
            id="new-york-march",
        ),
        pytest.param(
            NEW_YORK,
            utc(2026, 10, 25),
            utc(2026, 11, 6),
            [
                utc(2026, 10, 26, 14),
                utc(2026, 10, 29, 14),
                utc(2026, 11, 2, 15),
                utc(2026, 11, 5, 15),
            ],
            id="new-york-november",
        ),
        pytest.param(
            BERLIN,
            utc(2026, 3, 22),
            utc(2026, 4, 3),
            [utc(2026, 3, 23, 9), utc(2026, 3, 26, 9), utc(2026, 3, 30, 8), utc(2026, 4, 2, 8)],
            id="berlin-march",
        ),
        pytest.param(
            BERLIN,
            utc(2026, 10, 18),
            utc(2026, 10, 30),
            [
                utc(2026, 10, 19, 8),
                utc(2026, 10, 22, 8),
                utc(2026, 10, 26, 9),
                utc(2026, 10, 29, 9),
            ],
            id="berlin-october",
        ),
    ],
)
def test_meeting_stays_at_10_local_while_its_utc_instant_moves_an_hour_across_dst(
    timezone: str, start: datetime, end: datetime, expected_utc: list[datetime]
) -> None:
    starts = occurrences_between(rule({MON, THU}, time(10, 0), timezone), start, end)

    assert starts == expected_utc
    assert {local.time() for local in local_times(starts, timezone)} == {time(10, 0)}
    before, after = starts[1], starts[2]  # the Thursday before and the Monday after the change
    assert abs((after - before) - timedelta(days=4)) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("timezone", "day", "expected_utc", "expected_local"),
    [
        pytest.param(
            NEW_YORK,
            date(2026, 3, 8),
            utc(2026, 3, 8, 7, 30),
            datetime(2026, 3, 8, 3, 30),
            id="new-york",
        ),
        pytest.param(
            BERLIN,
            date(2026, 3, 29),
            utc(2026, 3, 29, 1, 30),
            datetime(2026, 3, 29, 3, 30),
            id="berlin",
        ),
    ],
)
def test_a_meeting_in_the_spring_forward_gap_happens_once_an_hour_later_on_the_clock(
    timezone: str, day: date, expected_utc: datetime, expected_local: datetime
) -> None:
    daily = rule(set(range(7)), time(2, 30), timezone)
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))

    starts = occurrences_between(daily, midnight, midnight + timedelta(hours=23))

    assert starts == [expected_utc]
    assert local_times(starts, timezone) == [expected_local]
    assert occurrence_on(daily, day) == expected_utc


@pytest.mark.parametrize(
    ("timezone", "day", "at", "expected_utc"),
    [
        pytest.param(NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30), id="ny"),
        pytest.param(BERLIN, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30), id="ber"),
    ],
)
def test_a_meeting_in_the_fall_back_overlap_happens_once_at_its_first_instance(
    timezone: str, day: date, at: time, expected_utc: datetime
) -> None:
    daily = rule(set(range(7)), at, timezone)
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))

    starts = occurrences_between(daily, midnight, midnight + timedelta(hours=25))

    assert starts == [expected_utc]
    assert local_times(starts, timezone) == [datetime.combine(day, at)]
    assert starts[0].astimezone(ZoneInfo(timezone)).fold == 0


def test_daily_meeting_is_23_then_25_hours_apart_around_the_new_york_changes() -> None:
    daily = rule(set(range(7)), time(10, 0), NEW_YORK)

    spring = occurrences_between(daily, utc(2026, 3, 7), utc(2026, 3, 9))
    autumn = occurrences_between(daily, utc(2026, 10, 31), utc(2026, 11, 2))

    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


# --- every other week ----------------------------------------------------------------------


def biweekly_tuesday() -> MeetingRule:
    """Every other Tuesday at 09:30 UTC, first meeting on 23 December 2025."""
    return rule({TUE}, time(9, 30), every_weeks=2, anchor_date=date(2025, 12, 23))


def test_biweekly_meets_every_14_days_from_its_anchor_across_the_new_year() -> None:
    starts = occurrences_between(biweekly_tuesday(), utc(2025, 12, 1), utc(2026, 2, 28))

    assert [start.date() for start in starts] == [
        date(2025, 12, 23),
        date(2026, 1, 6),
        date(2026, 1, 20),
        date(2026, 2, 3),
        date(2026, 2, 17),
    ]
    assert {later - earlier for earlier, later in pairwise(starts)} == {timedelta(days=14)}


@pytest.mark.parametrize("day", [date(2025, 12, 30), date(2026, 1, 13), date(2026, 1, 27)])
def test_biweekly_does_not_meet_in_the_off_weeks(day: date) -> None:
    assert occurrence_on(biweekly_tuesday(), day) is None


def test_biweekly_parity_counts_weeks_from_the_anchors_week_not_its_weekday() -> None:
    mon_thu = rule({MON, THU}, time(10, 0), every_weeks=2, anchor_date=date(2026, 1, 8))

    starts = occurrences_between(mon_thu, utc(2026, 1, 1), utc(2026, 2, 1))

    # The anchor is a Thursday: that week's Monday is before it, the next week is off.
    assert [start.date() for start in starts] == [
        date(2026, 1, 8),
        date(2026, 1, 19),
        date(2026, 1, 22),
    ]


# --- intervals and "after" -----------------------------------------------------------------


def test_occurrences_between_excludes_the_start_and_includes_the_end() -> None:
    daily = rule(set(range(7)), time(10, 0))

    starts = occurrences_between(daily, utc(2026, 1, 5, 10), utc(2026, 1, 7, 10))

    assert starts == [utc(2026, 1, 6, 10), utc(2026, 1, 7, 10)]


def test_occurrences_between_is_in_order_across_weeks() -> None:
    starts = occurrences_between(
        rule({THU, MON, SAT}, time(8, 0), BERLIN), utc(2026, 1, 1), utc(2026, 3, 1)
    )

    assert len(starts) == 26  # 9 Thursdays, 8 Mondays, 9 Saturdays
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)


def test_occurrences_between_an_empty_or_reversed_interval_is_empty() -> None:
    daily = rule(set(range(7)), time(10, 0))

    assert occurrences_between(daily, utc(2026, 1, 5, 10), utc(2026, 1, 5, 10)) == []
    assert occurrences_between(daily, utc(2026, 1, 9), utc(2026, 1, 5)) == []


def test_next_occurrence_is_strictly_after_the_moment() -> None:
    mon_thu = rule({MON, THU}, time(10, 0), BERLIN)
    thursday_10 = utc(2026, 1, 8, 9)

    assert next_occurrence(mon_thu, thursday_10 - timedelta(microseconds=1)) == thursday_10
    assert next_occurrence(mon_thu, thursday_10) == utc(2026, 1, 12, 9)


def test_next_occurrence_accepts_a_moment_in_another_zone() -> None:
    mon_thu = rule({MON, THU}, time(10, 0), BERLIN)
    # Wednesday 23:30 in New York is already Thursday 05:30 in Berlin.
    moment = datetime(2026, 1, 7, 23, 30, tzinfo=ZoneInfo(NEW_YORK))

    assert next_occurrence(mon_thu, moment) == utc(2026, 1, 8, 9)


def test_meeting_late_on_the_moments_local_day_is_still_found() -> None:
    # 23:00 in Kolkata on Monday is 17:30 UTC, still Monday in UTC as well.
    late = rule({MON}, time(23, 0), "Asia/Kolkata")

    assert next_occurrence(late, utc(2026, 1, 5, 12)) == utc(2026, 1, 5, 17, 30)


def test_occurrences_after_yields_an_ordered_endless_stream() -> None:
    stream = occurrences_after(rule({FRI}, time(16, 0)), utc(2026, 1, 1))

    firsts = [next(stream) for _ in range(3)]

    assert firsts == [utc(2026, 1, 2, 16), utc(2026, 1, 9, 16), utc(2026, 1, 16, 16)]


def test_a_rule_with_no_weekdays_never_meets() -> None:
    never = rule(set(), time(10, 0))

    assert next_occurrence(never, utc(2026, 1, 1)) is None
    assert occurrences_between(never, utc(2026, 1, 1), utc(2027, 1, 1)) == []
    assert occurrence_on(never, date(2026, 1, 5)) is None


def test_nothing_happens_before_a_future_anchor_date() -> None:
    later = rule({MON, THU}, time(10, 0), anchor_date=date(2026, 6, 1))

    assert occurrences_between(later, utc(2026, 1, 1), utc(2026, 6, 1)) == []
    assert occurrence_on(later, date(2026, 5, 28)) is None
    assert next_occurrence(later, utc(2026, 1, 1)) == utc(2026, 6, 1, 10)
    assert occurrences_between(later, utc(2026, 1, 1), utc(2026, 6, 5)) == [
        utc(2026, 6, 1, 10),
        utc(2026, 6, 4, 10),
    ]


def test_occurrence_on_a_day_not_in_the_rule_is_none() -> None:
    assert occurrence_on(rule({MON}, time(10, 0)), date(2026, 1, 6)) is None


# --- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meeting_rule", "text"),
    [
        (rule(set(range(7)), time(10, 0), BERLIN), "Every day at 10:00 (Europe/Berlin)"),
        (rule(set(range(5)), time(9, 0), NEW_YORK), "Weekdays at 09:00 (America/New_York)"),
        (rule({TUE}, time(9, 30), every_weeks=2), "Every other Tue at 09:30 (UTC)"),
        (rule({THU, MON}, time(10, 0), BERLIN), "Mon, Thu at 10:00 (Europe/Berlin)"),
        (rule({SAT, SUN}, time(18, 5)), "Sat, Sun at 18:05 (UTC)"),
    ],
)
def test_describe_reads_like_a_schedule(meeting_rule: MeetingRule, text: str) -> None:
    assert meeting_rule.describe() == text


# --- properties ----------------------------------------------------------------------------

# Sundays on which the clocks change, so generated windows often straddle one.
DST_CHANGES = [
    (NEW_YORK, date(2026, 3, 8)),
    (NEW_YORK, date(2026, 11, 1)),
    (BERLIN, date(2026, 3, 29)),
    (BERLIN, date(2026, 10, 25)),
    (SYDNEY, date(2026, 4, 5)),
    (SYDNEY, date(2026, 10, 4)),
]
ANY_TIME = st.builds(time, st.integers(0, 23), st.integers(0, 59))
# The changes all happen between 01:00 and 03:00, so the small hours get extra draws.
MEETING_TIMES = st.one_of(ANY_TIME, st.builds(time, st.integers(0, 3), st.integers(0, 59)))
WEEKDAY_SETS = st.sets(st.integers(0, 6), min_size=1)


@st.composite
def zones_and_moments(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a UTC moment: anywhere in 2000-2037, or in the days around a DST change."""
    if draw(st.booleans()):
        timezone = draw(st.sampled_from(ZONES))
        moment = draw(
            st.datetimes(
                min_value=datetime(2000, 1, 1),
                max_value=datetime(2037, 12, 1),
                timezones=st.just(UTC),
            )
        )
        return timezone, moment
    timezone, day = draw(st.sampled_from(DST_CHANGES))
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    offset = draw(st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=1)))
    return timezone, midnight + offset


@given(
    zone_and_start=zones_and_moments(),
    weekdays=WEEKDAY_SETS,
    every_weeks=st.sampled_from([1, 2]),
    at=MEETING_TIMES,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=21)),
    anchor_offset=st.integers(-30, 10),
)
def test_every_occurrence_is_on_a_rule_day_at_the_rule_time_in_its_zone(
    zone_and_start: tuple[str, datetime],
    weekdays: set[int],
    every_weeks: int,
    at: time,
    length: timedelta,
    anchor_offset: int,
) -> None:
    timezone, start = zone_and_start
    zone = ZoneInfo(timezone)
    anchor = start.astimezone(zone).date() + timedelta(days=anchor_offset)
    meeting_rule = rule(weekdays, at, timezone, every_weeks=every_weeks, anchor_date=anchor)
    end = start + length

    starts = occurrences_between(meeting_rule, start, end)

    for occurrence in starts:
        assert start < occurrence <= end
        local = occurrence.astimezone(zone)
        assert local.weekday() in weekdays
        assert local.date() >= anchor
        assert local.fold == 0  # an ambiguous time is its first instance
        if every_weeks == 2:
            monday = local.date() - timedelta(days=local.weekday())
            anchor_monday = anchor - timedelta(days=anchor.weekday())
            assert (monday - anchor_monday).days % 14 == 0
        if local.time() != at:
            assert is_in_gap(local.date(), at, zone)
            assert local.time() == (datetime.combine(local.date(), at) + timedelta(hours=1)).time()
    for earlier, later in pairwise(starts):
        assert later - earlier >= timedelta(hours=23)


@given(
    zone_and_start=zones_and_moments(),
    weekdays=WEEKDAY_SETS,
    at=MEETING_TIMES,
    days=st.integers(2, 21),
)
def test_every_rule_day_inside_the_interval_has_exactly_one_occurrence(
    zone_and_start: tuple[str, datetime], weekdays: set[int], at: time, days: int
) -> None:
    timezone, start = zone_and_start
    zone = ZoneInfo(timezone)
    first_day = start.astimezone(zone).date()
    meeting_rule = rule(weekdays, at, timezone, anchor_date=first_day - timedelta(days=7))
    end = start + timedelta(days=days)
    last_day = end.astimezone(zone).date()

    starts = occurrences_between(meeting_rule, start, end)
    meeting_days = [occurrence.astimezone(zone).date() for occurrence in starts]

    assert len(meeting_days) == len(set(meeting_days))
    inside = (first_day + timedelta(days=n) for n in range(1, (last_day - first_day).days))
    assert {day for day in inside if day.weekday() in weekdays} <= set(meeting_days)


@given(zone_and_moment=zones_and_moments(), weekdays=WEEKDAY_SETS, at=MEETING_TIMES)
def test_next_occurrence_is_the_first_start_of_the_coming_week(
    zone_and_moment: tuple[str, datetime], weekdays: set[int], at: time
) -> None:
    timezone, moment = zone_and_moment
    meeting_rule = rule(weekdays, at, timezone, anchor_date=date(1999, 1, 1))

    upcoming = next_occurrence(meeting_rule, moment)

    assert upcoming is not None and upcoming > moment
    assert occurrences_between(meeting_rule, moment, moment + timedelta(days=8))[0] == upcoming
