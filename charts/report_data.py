"""What the weekly KPI report shows, as plain data: no matplotlib here.

Kept apart from the drawing code so that reading and assembling a report (the bot, the
App Home, meeting agendas) never loads matplotlib and numpy into a server process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Unit = Literal["percent", "currency"]
# Judged by the domain (domain/kpis/metrics.py: kpi_status) on the report week's own value;
# the chart only shows it.
KpiStatus = Literal["on track", "behind", "no data", "no target"]
ChartFormat = Literal["png", "svg", "pdf"]
# The file formats the chart can be written in, named by their usual file extension.
CHART_FORMATS: tuple[ChartFormat, ...] = ("png", "svg", "pdf")


@dataclass(frozen=True)
class KpiSeries:
    """One business KPI over recent ISO weeks; None marks a week without data.

    ``status`` is the report week's: "no data" when that week has no value, even if an
    earlier week has one.
    """

    key: str
    label: str
    unit: Unit
    weeks: tuple[str, ...]
    actual: tuple[float | None, ...]
    target: float | None
    higher_is_better: bool
    status: KpiStatus

    def __post_init__(self) -> None:
        _same_length(self.weeks, self.actual, what=f"{self.key} weeks and actual values")


@dataclass(frozen=True)
class CampaignScore:
    """A campaign's average lead score (1–5) this week and the week before."""

    campaign: str
    this_week: float | None
    previous_week: float | None
    ratings: int


@dataclass(frozen=True)
class LoopTrend:
    """How marketing answers sales, per week: percent of ratings answered (and within the
    agreed answer time), median hours."""

    weeks: tuple[str, ...]
    response_rate: tuple[float | None, ...]
    median_hours_to_answer: tuple[float | None, ...]
    # Percent of the ratings due each week answered within the agreed answer time; empty
    # when the workspace has no answer time.
    within_answer_time: tuple[float | None, ...] = ()

    def __post_init__(self) -> None:
        _same_length(self.weeks, self.response_rate, what="loop weeks and response rates")
        _same_length(self.weeks, self.median_hours_to_answer, what="loop weeks and hours")
        if self.within_answer_time:
            _same_length(self.weeks, self.within_answer_time, what="loop weeks and answer times")


@dataclass(frozen=True)
class ReportData:
    """Everything one weekly report shows."""

    week: str
    business: tuple[KpiSeries, ...]
    campaigns: tuple[CampaignScore, ...]
    loop: LoopTrend
    title: str = "Sales & marketing alignment"
    currency_symbol: str = "$"


def _same_length(weeks: Sequence[str], values: Sequence[float | None], *, what: str) -> None:
    if len(weeks) != len(values):
        raise ValueError(f"{what} differ in length: {len(weeks)} and {len(values)}")
