"""``/kpi`` text into typed commands, or a usage message saying what to fix (bot/kpi_command.py)."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.kpis.metrics import METRICS, IsoWeek, Target
from domain.kpis.parse import (
    USAGE,
    KpiCommand,
    KpiHelp,
    PostChart,
    SetSchedule,
    SetTarget,
    SetValue,
    ShowKpis,
    parse_kpi_command,
)
from domain.parsing import UsageError

TODAY = date(2026, 11, 4)  # a Wednesday in 2026-W45
THIS_WEEK = IsoWeek(2026, 45)
BY_KEY = {metric.key: metric for metric in METRICS}
CONVERSION = BY_KEY["conversion_rate"]
CAC = BY_KEY["cac"]
REVENUE = BY_KEY["revenue"]
RETENTION = BY_KEY["retention_rate"]
ROI = BY_KEY["roi"]


def parsed(text: str, *, today: date = TODAY) -> KpiCommand | UsageError:
    return parse_kpi_command(text, today=today)


def problem(text: str) -> str:
    """The problem ``text`` is refused for; fails when it is accepted."""
    result = parsed(text)
    assert isinstance(result, UsageError), f"{text!r} was accepted as {result!r}"
    return result.problem


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "-h", "--help", "?"])
def test_nothing_or_help_asks_for_help(text: str) -> None:
    assert parsed(text) == KpiHelp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("show", ShowKpis(THIS_WEEK)),
        ("SHOW", ShowKpis(THIS_WEEK)),
        ("show this", ShowKpis(THIS_WEEK)),
        ("show last", ShowKpis(IsoWeek(2026, 44))),
        ("show last week", ShowKpis(IsoWeek(2026, 44))),
        ("show 2026-W40", ShowKpis(IsoWeek(2026, 40))),
        ("show w40", ShowKpis(IsoWeek(2026, 40))),
        ("show week 3", ShowKpis(IsoWeek(2026, 3))),
        ("show 2025-W52", ShowKpis(IsoWeek(2025, 52))),
        ("chart", PostChart(THIS_WEEK)),
        ("chart W44", PostChart(IsoWeek(2026, 44))),
        ("Chart last", PostChart(IsoWeek(2026, 44))),
    ],
)
def test_show_and_chart_take_an_optional_week(text: str, expected: KpiCommand) -> None:
    assert parsed(text) == expected


def test_last_week_in_the_first_week_of_a_year_is_in_the_year_before() -> None:
    assert parsed("show last", today=date(2026, 1, 1)) == ShowKpis(IsoWeek(2025, 52))
    assert parsed("show", today=date(2021, 1, 1)) == ShowKpis(IsoWeek(2020, 53))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("set conv 12.5%", SetValue(CONVERSION, 12.5, THIS_WEEK)),
        ("set conv 0.125", SetValue(CONVERSION, 12.5, THIS_WEEK)),
        ("set CONV 12.5% W44", SetValue(CONVERSION, 12.5, IsoWeek(2026, 44))),
        ("set conversion-rate 12.5% last week", SetValue(CONVERSION, 12.5, IsoWeek(2026, 44))),
        ("set cac $1,200", SetValue(CAC, 1200.0, THIS_WEEK)),
        ("set cac 900 USD", SetValue(CAC, 900.0, THIS_WEEK)),
        ("set cac 900 eur 2026-W40", SetValue(CAC, 900.0, IsoWeek(2026, 40))),
        ("set rev 1.2k", SetValue(REVENUE, 1200.0, THIS_WEEK)),
        ("set rev $250k week 44", SetValue(REVENUE, 250_000.0, IsoWeek(2026, 44))),
        ("set ret 85% 2025-W52", SetValue(RETENTION, 85.0, IsoWeek(2025, 52))),
        ("set roi -20%", SetValue(ROI, -20.0, THIS_WEEK)),
        ("set marketing_roi 210% this", SetValue(ROI, 210.0, THIS_WEEK)),
    ],
)
def test_set_takes_a_metric_a_value_and_an_optional_trailing_week(
    text: str, expected: SetValue
) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("target conv +20%", SetTarget(CONVERSION, Target("relative", 20.0), None)),
        ("target cac -15%", SetTarget(CAC, Target("relative", -15.0), None)),
        ("target roi 200%", SetTarget(ROI, Target("absolute", 200.0), None)),
        ("target cac $1,000", SetTarget(CAC, Target("absolute", 1000.0), None)),
        ("target rev +20%/yr", SetTarget(REVENUE, Target("annual_growth", 20.0), None)),
        ("target rev 20% growth", SetTarget(REVENUE, Target("annual_growth", 20.0), None)),
        ("target ret default", SetTarget(RETENTION, RETENTION.default_target, None)),
        (
            "target conv +20% from 2026-W01",
            SetTarget(CONVERSION, Target("relative", 20.0), IsoWeek(2026, 1)),
        ),
        (
            "target ret +10% FROM last week",
            SetTarget(RETENTION, Target("relative", 10.0), IsoWeek(2026, 44)),
        ),
    ],
)
def test_target_takes_a_metric_a_target_and_an_optional_baseline_week(
    text: str, expected: SetTarget
) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schedule mon 09:00", SetSchedule(0, time(9, 0))),
        ("schedule fri 16:30", SetSchedule(4, time(16, 30))),
        ("Schedule SUN 7:05", SetSchedule(6, time(7, 5))),
        ("schedule tue 2pm", SetSchedule(1, time(14, 0))),
    ],
)
def test_schedule_takes_one_day_and_a_time(text: str, expected: SetSchedule) -> None:
    assert parsed(text) == expected


def test_slack_escaping_is_undone_before_parsing() -> None:
    assert parsed("target conv &lt;nonsense&gt;") == parsed("target conv <nonsense>")
    assert "`<nonsense>`" in problem("target conv &lt;nonsense&gt;")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("set", "Which KPI?"),
        ("target", "Which KPI?"),
        ("set nps 40", "`nps` is not a KPI I keep"),
        ("target churn -5%", "`churn` is not a KPI I keep"),
        ("set conv", "What value?"),
        ("set cac W44", "I can't read `W44` as a number"),
        ("set conv lots", "I can't read `lots` as a number"),
        ("set conv 150%", "can't be above 100%"),
        ("set cac -5", "can't be negative"),
        ("set cac 12%", "is an amount of money, not a percentage"),
        ("set conv $12", "is a percentage"),
        ("set conv 1,5", "Use a dot for decimals"),
        ("set conv 12.5% W60", "I can't read"),
        ("show 2026-W60", "2026 has 53 ISO weeks, so there is no W60"),
        ("show W00", "there is no W00"),
        ("show 2062-W01", "not 2062"),
        ("chart someday", "I can't read `someday` as a week"),
        ("target conv", "What target?"),
        ("target conv from W40", "What target?"),
        ("target conv +20% from", "Which week?"),
        ("target conv +20% from 2026-W99", "no W99"),
        ("target conv +20", "is ambiguous"),
        ("target conv 20% growth", "Annual growth targets are for revenue only"),
        ("target conv -100%", "can't shrink a metric by 100% or more"),
        ("schedule", "Write the day and the time"),
        ("schedule mon", "Write the day and the time"),
        ("schedule mon 09:00 extra", "Write the day and the time"),
        ("schedule funday 09:00", "`funday` is not one day"),
        ("schedule mon-fri 09:00", "`mon-fri` is not one day"),
        ("schedule mon 25:00", "`25:00` is not a time"),
        ("schedule mon 9", "`9` is not a time"),
        ("frobnicate", "I don't know `/kpi frobnicate`"),
        ("delete conv", "I don't know `/kpi delete`"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(text: str, expected: str) -> None:
    assert expected in problem(text)


def test_a_refusal_shows_the_problem_then_the_usage() -> None:
    error = parsed("frobnicate")

    assert isinstance(error, UsageError)
    assert error.message == f"{error.problem}\n\n{USAGE}"
    for form in ("/kpi show", "/kpi chart", "/kpi set", "/kpi target", "/kpi schedule"):
        assert form in USAGE


def test_a_long_or_unprintable_verb_is_shown_short_and_printable() -> None:
    shown = problem("x" * 200 + "\x00`")

    assert "x" * 30 + "…" in shown
    assert "x" * 31 not in shown


VERBS = st.sampled_from(["show", "chart", "set", "target", "schedule", "help", "SET", "nope"])
WORDS = st.sampled_from(
    [
        "conv",
        "cac",
        "rev",
        "ret",
        "roi",
        "12.5%",
        "+20%",
        "-15%",
        "$1,200",
        "1.2k",
        "900",
        "USD",
        "%",
        "from",
        "W45",
        "2026-W53",
        "9999-W52",
        "0000-W00",
        "last",
        "this",
        "week",
        "mon",
        "09:00",
        "2pm",
        "/yr",
        "growth",
        "default",
        "&lt;",
        "\u2212",
        "nan",
        "1e400",
        "-",
    ]
)
COMMAND_TEXT = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda verb, words: " ".join([verb, *words]),
        VERBS,
        st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=6),
    ),
)


@given(text=COMMAND_TEXT, today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
@example(text="set conv 12.5% 9999-W52", today=TODAY)
@example(text="target rev +20%/yr from last", today=date(2000, 1, 2))
@example(text="show last", today=date(2000, 1, 1))
def test_any_text_gives_a_command_or_a_usage_error_never_an_exception(
    text: str, today: date
) -> None:
    result = parse_kpi_command(text, today=today)

    assert isinstance(
        result, ShowKpis | PostChart | SetValue | SetTarget | SetSchedule | KpiHelp | UsageError
    )
    if isinstance(result, UsageError):
        assert result.problem.strip()
