"""KPI metrics, values, targets and weeks from ``/kpi`` text (bot/kpi_input.py)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.kpis.metrics import (
    METRICS,
    IsoWeek,
    Metric,
    Target,
    describe_target,
    find_metric,
    format_value,
    gap_ratio,
    kpi_status,
    parse_target,
    parse_value,
    parse_week,
    resolve_target,
    weeks_in_year,
)
from domain.parsing import UsageError

TODAY = date(2026, 11, 4)  # a Wednesday in 2026-W45
BY_KEY = {metric.key: metric for metric in METRICS}
CONVERSION = BY_KEY["conversion_rate"]
CAC = BY_KEY["cac"]
REVENUE = BY_KEY["revenue"]
RETENTION = BY_KEY["retention_rate"]
ROI = BY_KEY["roi"]


def error_message(result: object) -> str:
    """The message of ``result``, which the test expects to be an UsageError."""
    assert isinstance(result, UsageError), result
    return result.message


# --- metrics ------------------------------------------------------------------------------


def test_metrics_are_the_five_alignment_kpis_in_order() -> None:
    assert [m.key for m in METRICS] == [
        "conversion_rate",
        "cac",
        "revenue",
        "retention_rate",
        "roi",
    ]
    assert [m.label for m in METRICS] == [
        "Lead conversion rate",
        "Customer acquisition cost",
        "Revenue",
        "Customer retention rate",
        "Marketing ROI",
    ]
    assert [m.unit for m in METRICS] == ["percent", "currency", "currency", "percent", "percent"]
    assert [m.higher_is_better for m in METRICS] == [True, False, True, True, True]


def test_default_targets_follow_the_usual_alignment_goals() -> None:
    assert [m.default_target for m in METRICS] == [
        Target("relative", 20.0),
        Target("relative", -15.0),
        Target("annual_growth", 20.0),
        Target("relative", 10.0),
        Target("absolute", 200.0),
    ]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("conv", "conversion_rate"),
        ("conversion", "conversion_rate"),
        ("lead-conversion", "conversion_rate"),
        ("Lead Conversion", "conversion_rate"),
        ("lead_conversion", "conversion_rate"),
        ("conversion_rate", "conversion_rate"),
        ("CAC", "cac"),
        ("acquisition cost", "cac"),
        ("Acquisition_Cost", "cac"),
        ("rev", "revenue"),
        ("REVENUE", "revenue"),
        ("ret", "retention_rate"),
        ("retention", "retention_rate"),
        ("retention-rate", "retention_rate"),
        ("roi", "roi"),
        ("marketing roi", "roi"),
        ("  marketing--ROI ", "roi"),
    ],
)
def test_metrics_are_found_by_key_or_alias_in_any_spelling(name: str, key: str) -> None:
    metric = find_metric(name)
    assert metric is not None
    assert metric.key == key


@pytest.mark.parametrize("name", ["", "conversions", "cost", "r", "-", "roi!"])
def test_unknown_metric_names_find_nothing(name: str) -> None:
    assert find_metric(name) is None


def test_no_alias_names_two_metrics() -> None:
    names = [name for m in METRICS for name in {m.key.replace("_", "-"), *m.aliases}]
    assert len(names) == len(set(names))


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric", "value"),
    [
        ("12.5%", CONVERSION, 12.5),
        ("0.125", CONVERSION, 12.5),
        ("12.5", CONVERSION, 12.5),
        ("1", CONVERSION, 100.0),
        ("0", CONVERSION, 0.0),
        (".5", RETENTION, 50.0),
        ("85 %", RETENTION, 85.0),
        ("100%", RETENTION, 100.0),
        ("0.5%", CONVERSION, 0.5),
        ("200%", ROI, 200.0),
        ("1,250%", ROI, 1250.0),
        ("-20%", ROI, -20.0),
        ("-0.5", ROI, -50.0),
        ("\u221230%", ROI, -30.0),
        ("-100%", ROI, -100.0),
        ("$1,200", CAC, 1200.0),
        ("1200", CAC, 1200.0),
        ("$45.50", CAC, 45.5),
        ("0", CAC, 0.0),
        ("1.2k", CAC, 1200.0),
        ("$1.2K", CAC, 1200.0),
        ("3.4m", REVENUE, 3_400_000.0),
        ("3.4M", REVENUE, 3_400_000.0),
        ("$1.5bn", REVENUE, 1.5e9),
        ("2B", REVENUE, 2e9),
        ("€900", REVENUE, 900.0),
        ("£900", REVENUE, 900.0),
        ("900 USD", REVENUE, 900.0),
        ("900 EUR", REVENUE, 900.0),
        ("900eur", REVENUE, 900.0),
        ("$ 1,234,567.89", REVENUE, 1_234_567.89),
        ("  $1,200 ", CAC, 1200.0),
        ("1t", REVENUE, 1e12),
    ],
)
def test_values_are_parsed_in_the_metric_unit(text: str, metric: Metric, value: float) -> None:
    assert parse_value(text, metric) == pytest.approx(value)


@pytest.mark.parametrize("metric", [ROI, CAC], ids=["percent", "currency"])
def test_minus_zero_is_stored_as_plain_zero(metric: Metric) -> None:
    assert str(parse_value("-0", metric)) == "0.0"


@pytest.mark.parametrize(
    ("text", "metric", "problem"),
    [
        ("", CONVERSION, "No value given."),
        ("   ", CAC, "No value given."),
        ("abc", CAC, "I can't read `abc` as a number."),
        ("12.5.3", CONVERSION, "I can't read `12.5.3` as a number."),
        ("1e5", CAC, "I can't read `1e5` as a number."),
        ("nan", CAC, "`nan` is not a number."),
        ("-inf", ROI, "`-inf` is not a number."),
        ("Infinity", REVENUE, "`Infinity` is not a number."),
        ("1,2", CAC, "Use a dot for decimals and commas only between thousands"),
        ("12,50", CAC, "Use a dot for decimals"),
        ("-5", CAC, "Customer acquisition cost can't be negative."),
        ("-$5", REVENUE, "Revenue can't be negative."),
        ("$-5", REVENUE, "Revenue can't be negative."),
        ("-12%", CONVERSION, "Lead conversion rate can't be negative."),
        ("-0.1", RETENTION, "Customer retention rate can't be negative."),
        ("-150%", ROI, "Marketing ROI can't be below -100%."),
        ("120%", CONVERSION, "Lead conversion rate can't be above 100%."),
        ("12%", CAC, "Customer acquisition cost is an amount of money, not a percentage"),
        ("$12", CONVERSION, "Lead conversion rate is a percentage, not `$12`."),
        ("12 usd", ROI, "Marketing ROI is a percentage"),
        ("1.2k", CONVERSION, "Lead conversion rate is a percentage"),
        ("900 xyz", REVENUE, "`XYZ` is not a currency code I know."),
        ("2t", REVENUE, "That number is too large."),
        ("1000000000001", CAC, "That number is too large."),
        ("9" * 50, CAC, "That number is too large."),
        ("1" * 61, CAC, "That value is too long."),
        ("+-5", ROI, "`+-5` has two signs."),
        ("12 500", CAC, "I can't read `12 500` as a number."),
    ],
)
def test_bad_values_say_what_is_wrong(text: str, metric: Metric, problem: str) -> None:
    message = error_message(parse_value(text, metric))
    assert message.startswith(problem)


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.key)
def test_value_errors_show_an_example_for_the_metric(metric: Metric) -> None:
    message = error_message(parse_value("lots", metric))
    assert message.endswith(f"Example: `{metric.example}`.")
    assert isinstance(parse_value(metric.example, metric), float)


def test_user_text_repeated_in_an_error_is_short_and_printable() -> None:
    message = error_message(parse_value("`oops`\x00" + "x" * 30, CAC))
    assert "\x00" not in message
    assert "?oops??" in message
    assert "…" in message


# --- formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "metric", "text"),
    [
        (12.5, CONVERSION, "12.5%"),
        (12.0, CONVERSION, "12%"),
        (12.34, CONVERSION, "12.3%"),
        (0.04, ROI, "0%"),
        (-0.04, ROI, "0%"),
        (-35.0, ROI, "-35%"),
        (200.0, ROI, "200%"),
        (123456.7, ROI, "123,456.7%"),
        (1200.0, CAC, "$1,200"),
        (45.5, CAC, "$45.50"),
        (900.0, CAC, "$900"),
        (0.0, CAC, "$0"),
        (999_999.6, REVENUE, "$1,000,000"),
        (3_400_000.0, REVENUE, "$3.4M"),
        (12_345_678.0, REVENUE, "$12.3M"),
        (2.5e9, REVENUE, "$2.5B"),
        (1e12, REVENUE, "$1T"),
        (math.nan, REVENUE, "n/a"),
    ],
)
def test_values_are_formatted_for_people(value: float, metric: Metric, text: str) -> None:
    assert format_value(value, metric) == text


def test_currency_symbol_can_be_changed() -> None:
    assert format_value(1200.0, CAC, currency_symbol="€") == "€1,200"


# --- targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric", "target"),
    [
        ("+20%", CONVERSION, Target("relative", 20.0)),
        ("-15%", CAC, Target("relative", -15.0)),
        ("+10 %", RETENTION, Target("relative", 10.0)),
        ("+0%", ROI, Target("relative", 0.0)),
        ("-15%", REVENUE, Target("relative", -15.0)),
        ("200%", ROI, Target("absolute", 200.0)),
        ("15%", CONVERSION, Target("absolute", 15.0)),
        ("0.15", CONVERSION, Target("absolute", 15.0)),
        ("1.2k", CAC, Target("absolute", 1200.0)),
        ("$50", CAC, Target("absolute", 50.0)),
        ("$1.5M", REVENUE, Target("absolute", 1_500_000.0)),
        ("+20%/yr", REVENUE, Target("annual_growth", 20.0)),
        ("20% / year", REVENUE, Target("annual_growth", 20.0)),
        ("20% growth", REVENUE, Target("annual_growth", 20.0)),
        ("20% a year", REVENUE, Target("annual_growth", 20.0)),
        ("25% per year", REVENUE, Target("annual_growth", 25.0)),
        ("20% YoY", REVENUE, Target("annual_growth", 20.0)),
        ("+20% annual growth", REVENUE, Target("annual_growth", 20.0)),
        ("-5%/yr", REVENUE, Target("annual_growth", -5.0)),
        ("default", REVENUE, Target("annual_growth", 20.0)),
        ("Reset", CAC, Target("relative", -15.0)),
    ],
)
def test_targets_are_parsed(text: str, metric: Metric, target: Target) -> None:
    assert parse_target(text, metric) == target


@pytest.mark.parametrize(
    ("text", "metric", "problem"),
    [
        ("", ROI, "No target given."),
        ("x" * 61, ROI, "That target is too long."),
        ("+20", CONVERSION, "`+20` is ambiguous"),
        ("-15", CAC, "`-15` is ambiguous"),
        ("+$200", CAC, "`+$200` is ambiguous"),
        ("20%", REVENUE, "Revenue is an amount of money: a percentage target needs a sign"),
        ("20%/yr", CAC, "Annual growth targets are for revenue only."),
        ("+20% growth", CONVERSION, "Annual growth targets are for revenue only."),
        ("-100%", CAC, "A target can't shrink a metric by 100% or more."),
        ("-250%/yr", REVENUE, "A target can't shrink a metric by 100% or more."),
        ("+20000%", ROI, "A change above 10,000% is not a target."),
        ("-300%", ROI, "A target can't shrink a metric by 100% or more."),
        ("120%", RETENTION, "Customer retention rate can't be above 100%."),
        ("soon", CAC, "I can't read `soon` as a number."),
        ("+20% blah", CONVERSION, "I can't read `+20% blah` as a number."),
    ],
)
def test_bad_targets_say_what_is_wrong(text: str, metric: Metric, problem: str) -> None:
    message = error_message(parse_target(text, metric))
    assert message.startswith(problem)
    assert "`+20%`" in message or "`-15%`" in message


@pytest.mark.parametrize(
    ("metric", "text"),
    [
        (CONVERSION, "+20% vs baseline"),
        (CAC, "-15% vs baseline"),
        (REVENUE, "+20% a year"),
        (RETENTION, "+10% vs baseline"),
        (ROI, "200%"),
    ],
)
def test_default_targets_are_described_for_people(metric: Metric, text: str) -> None:
    assert describe_target(metric.default_target, metric) == text


@pytest.mark.parametrize(
    ("target", "baseline", "last_year", "value"),
    [
        (Target("relative", 20.0), 10.0, None, 12.0),
        (Target("relative", -15.0), 1000.0, 5.0, 850.0),
        (Target("relative", 20.0), None, 10.0, None),
        (Target("absolute", 200.0), None, None, 200.0),
        (Target("annual_growth", 20.0), 5.0, 1_000_000.0, 1_200_000.0),
        (Target("annual_growth", 20.0), 5.0, None, None),
    ],
)
def test_targets_resolve_against_their_reference(
    target: Target, baseline: float | None, last_year: float | None, value: float | None
) -> None:
    resolved = resolve_target(target, baseline=baseline, same_week_last_year=last_year)
    assert resolved == (None if value is None else pytest.approx(value))


# --- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "target", "higher_is_better", "status"),
    [
        (12.0, 14.4, True, "behind"),
        (14.4, 14.4, True, "on track"),
        (15.0, 14.4, True, "on track"),
        (1100.0, 1020.0, False, "behind"),
        (1020.0, 1020.0, False, "on track"),
        (900.0, 1020.0, False, "on track"),
        (None, 14.4, True, "no data"),
        (None, None, True, "no data"),
        (12.0, None, True, "no target"),
    ],
)
def test_kpi_status_compares_with_the_target_in_the_right_direction(
    actual: float | None, target: float | None, higher_is_better: bool, status: str
) -> None:
    assert kpi_status(actual, target, higher_is_better) == status


@pytest.mark.parametrize(
    ("actual", "target", "higher_is_better", "ratio"),
    [
        (12.0, 15.0, True, 0.2),
        (18.0, 15.0, True, -0.2),
        (1200.0, 1000.0, False, 0.2),
        (800.0, 1000.0, False, -0.2),
        (-50.0, -25.0, True, 1.0),
        (-10.0, 0.0, True, math.inf),
        (10.0, 0.0, True, -math.inf),
        (0.0, 0.0, True, 0.0),
        (None, 15.0, True, None),
        (12.0, None, True, None),
    ],
)
def test_gap_ratio_is_the_shortfall_relative_to_the_target(
    actual: float | None, target: float | None, higher_is_better: bool, ratio: float | None
) -> None:
    assert gap_ratio(actual, target, higher_is_better) == (
        ratio if ratio is None or math.isinf(ratio) else pytest.approx(ratio)
    )


def test_gap_ratio_orders_kpis_by_how_far_behind_they_are() -> None:
    gaps = {
        "conversion": gap_ratio(12.0, 14.4, True),  # 16.7% behind
        "cac": gap_ratio(1100.0, 1020.0, False),  # 7.8% behind
        "roi": gap_ratio(210.0, 200.0, True),  # ahead
    }
    assert sorted(gaps, key=lambda key: -(gaps[key] or 0)) == ["conversion", "cac", "roi"]


# --- weeks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "week"),
    [
        ("2026-W45", IsoWeek(2026, 45)),
        ("2026W45", IsoWeek(2026, 45)),
        ("2026-w05", IsoWeek(2026, 5)),
        ("2026 W5", IsoWeek(2026, 5)),
        ("W45", IsoWeek(2026, 45)),
        ("w1", IsoWeek(2026, 1)),
        ("week 12", IsoWeek(2026, 12)),
        ("this", IsoWeek(2026, 45)),
        ("This week", IsoWeek(2026, 45)),
        ("last", IsoWeek(2026, 44)),
        ("last week", IsoWeek(2026, 44)),
        ("previous", IsoWeek(2026, 44)),
        ("2026-W53", IsoWeek(2026, 53)),
        ("2020-W53", IsoWeek(2020, 53)),
        ("2016-W01", IsoWeek(2016, 1)),
        ("2027-W10", IsoWeek(2027, 10)),
    ],
)
def test_weeks_are_parsed(text: str, week: IsoWeek) -> None:
    assert parse_week(text, today=TODAY) == week


def test_a_bare_week_number_uses_the_iso_year_of_today() -> None:
    # 1 January 2027 is a Friday in 2026-W53.
    assert parse_week("W53", today=date(2027, 1, 1)) == IsoWeek(2026, 53)
    assert parse_week("last", today=date(2027, 1, 1)) == IsoWeek(2026, 52)
    assert parse_week("this", today=date(2027, 1, 4)) == IsoWeek(2027, 1)
    assert parse_week("last", today=date(2027, 1, 4)) == IsoWeek(2026, 53)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which week?"),
        ("2026-W00", "ISO weeks start at W01; there is no W00."),
        ("W0", "ISO weeks start at W01"),
        ("2025-W53", "2025 has 52 ISO weeks, so there is no W53."),
        ("2026-W54", "2026 has 53 ISO weeks, so there is no W54."),
        ("W99", "2026 has 53 ISO weeks, so there is no W99."),
        ("2062-W01", "Give a year from 2016 to 2027, not 2062."),
        ("2015-W52", "Give a year from 2016 to 2027, not 2015."),
        ("next", "I can't read `next` as a week."),
        ("2026-45", "I can't read `2026-45` as a week."),
        ("W123", "I can't read `W123` as a week."),
        ("2026-W45-1", "I can't read `2026-W45-1` as a week."),
    ],
)
def test_bad_weeks_say_what_is_wrong(text: str, problem: str) -> None:
    message = error_message(parse_week(text, today=TODAY))
    assert message.startswith(problem)
    assert "`2026-W45`" in message


def test_iso_week_label_monday_and_order() -> None:
    week = IsoWeek(2026, 5)
    assert week.label == "2026-W05"
    assert str(week) == "2026-W05"
    assert week.monday() == date(2026, 1, 26)
    assert IsoWeek(2025, 52) < IsoWeek(2026, 1) < IsoWeek(2026, 2)
    assert max(IsoWeek(2020, 53), IsoWeek(2021, 1)) == IsoWeek(2021, 1)


@pytest.mark.parametrize(
    ("week", "previous"),
    [
        (IsoWeek(2021, 1), IsoWeek(2020, 53)),
        (IsoWeek(2026, 1), IsoWeek(2025, 52)),
        (IsoWeek(2027, 1), IsoWeek(2026, 53)),
        (IsoWeek(2026, 45), IsoWeek(2026, 44)),
    ],
)
def test_previous_week_crosses_year_boundaries(week: IsoWeek, previous: IsoWeek) -> None:
    assert week.previous() == previous
    assert previous.shifted(1) == week


def test_shifted_by_a_year_of_weeks_lands_on_the_same_week_number_mostly() -> None:
    assert IsoWeek(2026, 45).shifted(-52) == IsoWeek(2025, 45)
    assert IsoWeek(2021, 1).shifted(-53) == IsoWeek(2020, 1)


@pytest.mark.parametrize(("year", "week"), [(2025, 53), (2026, 0), (2026, 54), (0, 1)])
def test_invalid_iso_weeks_cannot_be_built(year: int, week: int) -> None:
    with pytest.raises(ValueError, match="no ISO week"):
        IsoWeek(year, week)


def test_weeks_in_year() -> None:
    assert [weeks_in_year(year) for year in (2020, 2021, 2025, 2026, 2032)] == [53, 52, 52, 53, 53]


# --- properties ---------------------------------------------------------------------------

METRIC_CHOICES = st.sampled_from(METRICS)
WEEKS = st.dates(min_value=date(1000, 1, 1), max_value=date(9000, 12, 31)).map(IsoWeek.from_date)


@given(st.text(), METRIC_CHOICES)
@example("9" * 40, CAC)
@example("-0.0", ROI)
@example("$", CAC)
def test_parse_value_never_raises(text: str, metric: Metric) -> None:
    result = parse_value(text, metric)
    if isinstance(result, float):
        assert math.isfinite(result)
        assert metric.minimum <= result <= metric.maximum
    else:
        assert isinstance(result, UsageError)
        assert result.message


@given(st.text(), METRIC_CHOICES)
@example("+99999999999999999999999%/yr", REVENUE)
@example("default", ROI)
def test_parse_target_never_raises(text: str, metric: Metric) -> None:
    result = parse_target(text, metric)
    assert isinstance(result, Target | UsageError)
    if isinstance(result, Target):
        assert math.isfinite(result.value)


@given(st.text(), st.dates())
@example("last", date.min)
@example("W52", date.max)
@example("9999-W52", date.max)
def test_parse_week_never_raises(text: str, today: date) -> None:
    result = parse_week(text, today=today)
    assert isinstance(result, IsoWeek | UsageError)


@st.composite
def metric_and_value(draw: st.DrawFn) -> tuple[Metric, float]:
    """A metric and a value it can hold."""
    metric = draw(METRIC_CHOICES)
    value = draw(st.floats(metric.minimum, metric.maximum, allow_nan=False))
    return metric, value


@given(metric_and_value())
@example((CAC, 999.996))
@example((REVENUE, 9_999_999.0))
@example((ROI, -0.04))
def test_formatted_values_parse_back_within_rounding(case: tuple[Metric, float]) -> None:
    metric, value = case
    parsed = parse_value(format_value(value, metric), metric)
    assert isinstance(parsed, float), parsed
    # Percent shows one decimal; money shows cents, whole units, or 3 significant digits.
    tolerance = 0.05 if metric.unit == "percent" else max(0.5, abs(value) * 0.005)
    assert abs(parsed - value) <= tolerance * (1 + 1e-9)


@given(WEEKS)
def test_a_week_is_the_week_of_its_monday(week: IsoWeek) -> None:
    assert IsoWeek.from_date(week.monday()) == week
    assert parse_week(week.label, today=week.monday()) == week


@given(WEEKS, st.integers(-300, 300))
def test_shifting_is_consistent_with_previous_and_dates(week: IsoWeek, weeks: int) -> None:
    shifted = week.shifted(weeks)
    assert shifted.monday() == week.monday() + timedelta(weeks=weeks)
    assert shifted.shifted(-weeks) == week
    assert week.shifted(-1) == week.previous()
    assert (shifted > week) == (weeks > 0)
    assert week.previous() < week


@given(st.sampled_from([IsoWeek(2020, 53), IsoWeek(2021, 1), IsoWeek(2026, 1)]), st.integers(1, 60))
def test_stepping_back_week_by_week_matches_one_shift(start: IsoWeek, steps: int) -> None:
    week = start
    for _ in range(steps):
        week = week.previous()
    assert week == start.shifted(-steps)
