"""Business KPIs: what ``/kpi`` accepts for metrics, values, targets and weeks, as pure values.

Percent metrics are stored in percent points (12.5 means 12.5%), currency metrics as a plain
amount in the workspace's one currency: symbols and codes are accepted and not converted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.parsing import UsageError, shown
from domain.weeks import IsoWeek, weeks_in_year

MAX_VALUE = 1e12
MAX_TEXT_LENGTH = 60
# A relative or annual target of -100% or less would aim at zero or below.
MIN_RELATIVE = -100.0
MAX_RELATIVE = 10_000.0
# Typed years outside this window around today are almost always typos (2062 for 2026).
YEARS_BACK = 10
YEARS_AHEAD = 1

Unit = Literal["percent", "currency"]
TargetKind = Literal["absolute", "relative", "annual_growth"]
TARGET_KINDS: tuple[TargetKind, ...] = ("absolute", "relative", "annual_growth")


def stored_target(kind: str, value: float) -> Target | None:
    """A target read back from storage; None when its kind is not one leadloop writes."""
    for known in TARGET_KINDS:
        if kind == known:
            return Target(known, value)
    return None


KpiStatus = Literal["on track", "behind", "no data", "no target"]


@dataclass(frozen=True)
class Target:
    """A goal for a metric: a fixed value, a change vs a baseline week, or annual growth.

    ``value`` is the metric's own unit for ``absolute`` and percent change for ``relative``
    and ``annual_growth`` (+20 means 20% more than the baseline / same week a year earlier).
    """

    kind: TargetKind
    value: float


@dataclass(frozen=True)
class Metric:
    """One business KPI the bot tracks per ISO week."""

    key: str
    label: str
    unit: Unit
    aliases: tuple[str, ...]
    higher_is_better: bool
    default_target: Target
    minimum: float
    maximum: float
    example: str


METRICS: tuple[Metric, ...] = (
    Metric(
        key="conversion_rate",
        label="Lead conversion rate",
        unit="percent",
        aliases=("conv", "conversion", "lead-conversion", "conversion-rate"),
        higher_is_better=True,
        default_target=Target("relative", 20.0),
        minimum=0.0,
        maximum=100.0,
        example="12.5%",
    ),
    Metric(
        key="cac",
        label="Customer acquisition cost",
        unit="currency",
        aliases=("cac", "acquisition-cost", "customer-acquisition-cost"),
        higher_is_better=False,
        default_target=Target("relative", -15.0),
        minimum=0.0,
        maximum=MAX_VALUE,
        example="$1,200",
    ),
    Metric(
        key="revenue",
        label="Revenue",
        unit="currency",
        aliases=("rev", "revenue"),
        higher_is_better=True,
        default_target=Target("annual_growth", 20.0),
        minimum=0.0,
        maximum=MAX_VALUE,
        example="$250k",
    ),
    Metric(
        key="retention_rate",
        label="Customer retention rate",
        unit="percent",
        aliases=("ret", "retention", "retention-rate", "customer-retention"),
        higher_is_better=True,
        default_target=Target("relative", 10.0),
        minimum=0.0,
        maximum=100.0,
        example="85%",
    ),
    Metric(
        key="roi",
        label="Marketing ROI",
        unit="percent",
        aliases=("roi", "marketing-roi"),
        higher_is_better=True,
        default_target=Target("absolute", 200.0),
        # ROI = (return - spend) / spend, so losing the whole spend is -100%.
        minimum=-100.0,
        maximum=MAX_VALUE,
        example="200%",
    ),
)

_NAME_SEPARATORS = re.compile(r"[-_\s]+")
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_VALUE = re.compile(
    r"(?P<sign>[+-])?\s*(?P<symbol>[$€£])?\s*(?P<sign2>[+-])?\s*"
    rf"(?P<number>{_NUMBER})\s*(?P<scale>bn|[kmbt])?\s*(?P<percent>%)?\s*(?P<code>[a-z]{{3}})?",
    re.ASCII,
)
_SCALES = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}
_CURRENCY_CODES = {"usd", "eur", "gbp", "cad", "aud", "chf", "nzd", "sek", "nok", "dkk"}
_SIGNED_PERCENT = re.compile(rf"(?P<sign>[+-])\s*(?P<number>{_NUMBER})\s*%", re.ASCII)
_GROWTH = re.compile(rf"(?P<sign>[+-])?\s*(?P<number>{_NUMBER})\s*%\s*(?P<suffix>.+)", re.ASCII)
_ANNUAL_SUFFIXES = {
    "/yr",
    "/year",
    "peryear",
    "ayear",
    "annual",
    "annually",
    "yearly",
    "yoy",
    "y/y",
    "growth",
    "annualgrowth",
    "yearlygrowth",
    "yoygrowth",
    "growthperyear",
    "growthayear",
}
_WEEK_WITH_YEAR = re.compile(r"(?P<year>\d{4})\s*-?\s*w\s*(?P<week>\d{1,2})", re.ASCII)
_WEEK_ONLY = re.compile(r"w(?:eek)?\s*(?P<week>\d{1,2})", re.ASCII)
_THIS_WEEK = {"this", "this week", "current", "now"}
_LAST_WEEK = {"last", "last week", "previous", "prev"}
_WEEK_EXAMPLE = "Examples: `2026-W45`, `W45`, `this`, `last`."


def find_metric(name: str) -> Metric | None:
    """The metric called ``name`` (key or alias, any case, ``-``/``_``/space alike), or None."""
    wanted = _name_key(name)
    for metric in METRICS:
        if wanted in {_name_key(metric.key), *map(_name_key, metric.aliases)}:
            return metric
    return None


def _name_key(name: str) -> str:
    return _NAME_SEPARATORS.sub("-", name.strip().lower()).strip("-")


# --- values -------------------------------------------------------------------------------


def parse_value(text: str, metric: Metric) -> float | UsageError:
    """A metric value from text: ``12.5%``, ``0.125``, ``$1,200``, ``1.2k``, ``900 EUR``.

    Percent metrics return percent points; a bare number of at most 1 is a fraction
    (``0.125`` → 12.5, ``1`` → 100) and a bigger bare number is already in points.
    """
    cleaned = _normalise(text)
    if not cleaned:
        return _value_error(metric, "No value given.")
    if len(cleaned) > MAX_TEXT_LENGTH:
        return _value_error(metric, "That value is too long.")
    match = _VALUE.fullmatch(cleaned)
    if match is None:
        return _value_error(metric, _unreadable(text, cleaned))
    if match["sign"] and match["sign2"]:
        return _value_error(metric, f"`{shown(text, 20)}` has two signs.")
    amount = _amount(match)
    if isinstance(amount, UsageError):
        return _value_error(metric, amount.message)
    if metric.unit == "percent":
        value = _percent_points(match, amount, metric, text)
    else:
        value = _currency_amount(match, amount, metric, text)
    if isinstance(value, UsageError):
        return value
    return _checked_range(value, metric)


def _normalise(text: str) -> str:
    # Slack and phones turn "-" into a Unicode minus or dash; treat them as the ASCII sign.
    for dash in ("\u2212", "\u2013", "\u2014"):
        text = text.replace(dash, "-")
    return " ".join(text.split()).lower()


def _amount(match: re.Match[str]) -> float | UsageError:
    number = float(match["number"].replace(",", ""))
    number *= _SCALES.get(match["scale"] or "", 1.0)
    if not math.isfinite(number) or number > MAX_VALUE:
        return UsageError("That number is too large.")
    negative = "-" in {match["sign"], match["sign2"]}
    return (-number if negative else number) + 0.0  # + 0.0 turns -0.0 into 0.0


def _percent_points(
    match: re.Match[str], amount: float, metric: Metric, text: str
) -> float | UsageError:
    if match["symbol"] or match["code"] or match["scale"]:
        return _value_error(metric, f"{metric.label} is a percentage, not `{shown(text, 20)}`.")
    if match["percent"] or abs(amount) > 1:
        return amount
    # Rounded so that 0.14 is stored as 14, not 14.000000000000002.
    return round(amount * 100, 9) + 0.0


def _currency_amount(
    match: re.Match[str], amount: float, metric: Metric, text: str
) -> float | UsageError:
    if match["percent"]:
        return _value_error(
            metric,
            f"{metric.label} is an amount of money, not a percentage (`{shown(text, 20)}`).",
        )
    if match["code"] and match["code"] not in _CURRENCY_CODES:
        return _value_error(metric, f"`{match['code'].upper()}` is not a currency code I know.")
    return amount


def _checked_range(value: float, metric: Metric) -> float | UsageError:
    if abs(value) > MAX_VALUE:
        return _value_error(metric, "That number is too large.")
    if value < metric.minimum:
        if metric.minimum == 0:
            return _value_error(metric, f"{metric.label} can't be negative.")
        return _value_error(
            metric, f"{metric.label} can't be below {format_value(metric.minimum, metric)}."
        )
    if value > metric.maximum:
        return _value_error(
            metric, f"{metric.label} can't be above {format_value(metric.maximum, metric)}."
        )
    return value


def _unreadable(text: str, cleaned: str) -> str:
    if cleaned.lstrip("+-") in {"nan", "inf", "infinity"}:
        return f"`{shown(text, 20)}` is not a number."
    if re.search(r"\d,\d{1,2}(?!\d)", cleaned):
        return "Use a dot for decimals and commas only between thousands (`1,200.50`)."
    return f"I can't read `{shown(text, 20)}` as a number."


def _value_error(metric: Metric, problem: str) -> UsageError:
    return UsageError(f"{problem} Example: `{metric.example}`.")


def format_value(value: float, metric: Metric, *, currency_symbol: str = "$") -> str:
    """A value as people read it: ``12.5%``, ``$1,200``, ``$45.50``, ``$3.4M``."""
    if not math.isfinite(value):
        return "n/a"
    if metric.unit == "percent":
        return f"{_trimmed(value, 1)}%"
    sign = "-" if value < 0 and round(value, 2) != 0 else ""
    return f"{sign}{currency_symbol}{_short_amount(abs(value))}"


def _short_amount(amount: float) -> str:
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if amount >= size:
            scaled = amount / size
            decimals = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{_trimmed(scaled, decimals)}{suffix}"
    if amount >= 1000:
        return f"{amount:,.0f}"
    return f"{amount:,.2f}" if round(amount, 2) != round(amount) else f"{amount:,.0f}"


def _trimmed(value: float, decimals: int) -> str:
    """``value`` with at most ``decimals`` decimals, no trailing zeros and never ``-0``."""
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", "0"} else text


# --- targets ------------------------------------------------------------------------------


def parse_target(text: str, metric: Metric) -> Target | UsageError:
    """A target from text: ``+20%``/``-15%`` (vs the baseline week), ``200%``/``$50`` (fixed).

    Revenue also takes annual growth, compared with the same ISO week a year earlier:
    ``+20%/yr``, ``20% growth``, ``20% a year``, ``20% yoy``. ``default`` gives the metric's
    default target. A signed number without ``%`` is ambiguous and rejected.
    """
    cleaned = _normalise(text)
    if not cleaned:
        return _target_error(metric, "No target given.")
    if len(cleaned) > MAX_TEXT_LENGTH:
        return _target_error(metric, "That target is too long.")
    if cleaned in {"default", "reset"}:
        return metric.default_target
    growth = _GROWTH.fullmatch(cleaned)
    if growth and growth["suffix"].replace(" ", "") in _ANNUAL_SUFFIXES:
        return _annual_target(growth, metric)
    relative = _SIGNED_PERCENT.fullmatch(cleaned)
    if relative:
        return _percent_target("relative", relative, metric)
    signed = _VALUE.fullmatch(cleaned)
    if signed and (signed["sign"] or signed["sign2"]) and not signed["percent"]:
        return _target_error(
            metric,
            f"`{shown(text, 20)}` is ambiguous: write `{cleaned[0]}20%` for a change from the "
            f"baseline week, or a fixed value like `{metric.example}`.",
        )
    if metric.unit == "currency" and cleaned.endswith("%"):
        return _target_error(
            metric,
            f"{metric.label} is an amount of money: a percentage target needs a sign "
            "(a change from the baseline week).",
        )
    value = parse_value(text, metric)
    if isinstance(value, UsageError):
        return UsageError(f"{value.message} {_TARGET_HINT}")
    return Target("absolute", value)


_TARGET_HINT = "A target may also be a change from the baseline week, like `+20%`."


def _annual_target(match: re.Match[str], metric: Metric) -> Target | UsageError:
    if metric.key != "revenue":
        return _target_error(metric, "Annual growth targets are for revenue only.")
    return _percent_target("annual_growth", match, metric)


def _percent_target(kind: TargetKind, match: re.Match[str], metric: Metric) -> Target | UsageError:
    number = float(match["number"].replace(",", ""))
    value = -number if match["sign"] == "-" else number + 0.0
    if value <= MIN_RELATIVE:
        return _target_error(metric, "A target can't shrink a metric by 100% or more.")
    if value > MAX_RELATIVE:
        return _target_error(metric, f"A change above {MAX_RELATIVE:,.0f}% is not a target.")
    return Target(kind, value)


def _target_error(metric: Metric, problem: str) -> UsageError:
    change = "+20%" if metric.higher_is_better else "-15%"
    examples = f"`{change}` or `{metric.example}`"
    if metric.key == "revenue":
        examples = f"`+20%/yr`, {examples}"
    return UsageError(f"{problem} Examples: {examples}.")


def describe_target(target: Target, metric: Metric) -> str:
    """A target as people read it: ``+20% vs baseline``, ``200%``, ``+20% a year``."""
    if target.kind == "absolute":
        return format_value(target.value, metric)
    change = ("+" if target.value >= 0 else "") + _trimmed(target.value, 1) + "%"
    return f"{change} vs baseline" if target.kind == "relative" else f"{change} a year"


def resolve_target(
    target: Target, *, baseline: float | None, same_week_last_year: float | None
) -> float | None:
    """The target as a value in the metric's unit; None when its reference is unknown."""
    if target.kind == "absolute":
        return target.value
    reference = baseline if target.kind == "relative" else same_week_last_year
    if reference is None:
        return None
    return reference * (1 + target.value / 100)


def kpi_status(
    actual: float | None, target_value: float | None, higher_is_better: bool
) -> KpiStatus:
    """Whether ``actual`` meets ``target_value``; missing data wins over a missing target."""
    if actual is None:
        return "no data"
    if target_value is None:
        return "no target"
    met = actual >= target_value if higher_is_better else actual <= target_value
    return "on track" if met else "behind"


def gap_ratio(
    actual: float | None, target_value: float | None, higher_is_better: bool
) -> float | None:
    """Shortfall as a fraction of the target: positive when behind, negative when ahead.

    A zero target has no relative scale: any shortfall is ``inf`` (and any lead ``-inf``),
    so such a KPI still sorts as furthest from target.
    """
    if actual is None or target_value is None:
        return None
    shortfall = target_value - actual if higher_is_better else actual - target_value
    if target_value == 0:
        return 0.0 if shortfall == 0 else math.copysign(math.inf, shortfall)
    return shortfall / abs(target_value)


# --- weeks --------------------------------------------------------------------------------


def parse_week(text: str, *, today: date) -> IsoWeek | UsageError:
    """A week from text: ``2026-W45``, ``2026W45``, ``W45``/``week 45`` (the ISO year of
    ``today``), ``this`` or ``last``; years more than 10 back or 1 ahead are refused as typos."""
    cleaned = _normalise(text)
    if not cleaned:
        return UsageError(f"Which week? {_WEEK_EXAMPLE}")
    try:
        current = IsoWeek.from_date(today)
        if cleaned in _THIS_WEEK:
            return current
        if cleaned in _LAST_WEEK:
            return current.previous()
    except (ValueError, OverflowError):
        return UsageError(f"That week is out of range. {_WEEK_EXAMPLE}")
    with_year = _WEEK_WITH_YEAR.fullmatch(cleaned)
    if with_year:
        return _checked_week(int(with_year["year"]), int(with_year["week"]), current)
    week_only = _WEEK_ONLY.fullmatch(cleaned)
    if week_only:
        return _checked_week(current.year, int(week_only["week"]), current)
    return UsageError(f"I can't read `{shown(text, 20)}` as a week. {_WEEK_EXAMPLE}")


def _checked_week(year: int, week: int, current: IsoWeek) -> IsoWeek | UsageError:
    first, last = max(1, current.year - YEARS_BACK), min(9999, current.year + YEARS_AHEAD)
    if not first <= year <= last:
        return UsageError(f"Give a year from {first} to {last}, not {year}. {_WEEK_EXAMPLE}")
    if week == 0:
        return UsageError(f"ISO weeks start at W01; there is no W00. {_WEEK_EXAMPLE}")
    if week > weeks_in_year(year):
        return UsageError(
            f"{year} has {weeks_in_year(year)} ISO weeks, so there is no W{week:02d}. "
            f"{_WEEK_EXAMPLE}"
        )
    return IsoWeek(year, week)
