"""The weekly KPI report: business KPIs against targets, lead scores by campaign and how fast
marketing answers, drawn as one picture sized for Slack's preview.

Colour means one thing only: a KPI's status, in the Okabe–Ito blue (on track) and
vermillion (behind target) that stay apart with the common colour-vision deficiencies; every
status is also written out, with a tick or a cross, so nobody needs the colour at all.
Everything else is drawn in greys.

Pure: data in, PNG (or SVG, PDF) bytes out. Figures are built with ``Figure()`` and rendered
by ``FigureCanvasAgg``; pyplot is never imported because it keeps every figure alive.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, MaxNLocator

from charts.report_data import (
    CampaignScore,
    ChartFormat,
    KpiSeries,
    LoopTrend,
    ReportData,
    Unit,
)

FIGURE_INCHES = (16.0, 10.0)
MAX_CAMPAIGNS = 8
MIN_SCORE = 1.0
MAX_SCORE = 5.0
NO_DATA = "No data yet"

# Okabe–Ito, for status only.
ON_TRACK = "#0072B2"
BEHIND = "#D55E00"
NO_STATUS = "#777777"
ON_TRACK_TINT = "#E6F1F8"
BEHIND_TINT = "#FBEEE6"
# Everything that is not a status.
INK = "#333333"
GREY = "#555555"
LIGHT_GREY = "#B8B8B8"
GRID = "#DDDDDD"
EMPTY_BACKGROUND = "#F3F3F3"

SUPTITLE_SIZE = 22
TITLE_SIZE = 15
BADGE_SIZE = 16
HEADLINE_SIZE = 12.5
LABEL_SIZE = 11
TEXT_SIZE = 11
TICK_SIZE = 10.5

# Campaign rows, in data units of the campaign panel: one bar, its name above it.
NAME_LINE = 0.6
BAR_HEIGHT = 0.45
ROW_GAP = 0.4
CAMPAIGN_BUDGET = MAX_CAMPAIGNS * (NAME_LINE + BAR_HEIGHT + ROW_GAP)
NAME_WIDTH = 105  # characters per line of a campaign's name

_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class StatusStyle:
    """How a KPI's status is shown: the word, its colour and the panel's tint."""

    word: str
    color: str
    tint: str


STATUS_STYLES = {
    "on track": StatusStyle("✓ ON TRACK", ON_TRACK, ON_TRACK_TINT),
    "behind": StatusStyle("✗ BEHIND TARGET", BEHIND, BEHIND_TINT),
    "no target": StatusStyle("NO TARGET SET", NO_STATUS, "white"),
    # Earlier weeks have values, the report week has none: nothing to judge this week.
    "no data": StatusStyle("NO VALUE THIS WEEK", NO_STATUS, "white"),
}


# --- rendering ----------------------------------------------------------------------------


def render_report(data: ReportData, *, dpi: int = 100, format: ChartFormat = "png") -> bytes:
    """The report as a 16×10 inch PNG (1600×1000 pixels at the default dpi), SVG or PDF."""
    figure = build_figure(data, dpi=dpi)
    buffer = BytesIO()
    figure.savefig(buffer, format=format, dpi=dpi)
    return buffer.getvalue()


def build_figure(data: ReportData, *, dpi: int = 100) -> Figure:
    """The report's figure, drawn but not saved: its texts and colours can be inspected."""
    layout = ConstrainedLayoutEngine(h_pad=0.1, w_pad=0.1, hspace=0.07, wspace=0.04)
    figure = Figure(figsize=FIGURE_INCHES, dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    figure.suptitle(_plain(_headline(data)), fontsize=SUPTITLE_SIZE, fontweight="bold")
    rows = figure.add_gridspec(2, 1, height_ratios=(1.0, 1.0))
    _draw_business(figure, rows[0], data)
    bottom = rows[1].subgridspec(1, 2, width_ratios=(3, 2))
    _draw_campaigns(figure.add_subplot(bottom[0, 0]), data.campaigns)
    _draw_loop(figure, bottom[0, 1], data.loop, data.week)
    return figure


def _headline(data: ReportData) -> str:
    title = f"{_shortened(data.title, 80)} · week {_shortened(data.week, 20)}"
    statuses = [_kpi_status(series) for series in data.business]
    judged = [status for status in statuses if status in ("on track", "behind")]
    if not judged:
        return title
    return f"{title} · {judged.count('on track')} of {len(judged)} KPIs on track"


def _draw_business(figure: Figure, spec: SubplotSpec, data: ReportData) -> None:
    if not data.business:
        _empty(figure.add_subplot(spec), "Business KPIs", "No KPIs set up yet")
        return
    cells = spec.subgridspec(1, len(data.business))
    for index, series in enumerate(data.business):
        _draw_kpi(figure.add_subplot(cells[0, index]), series, data)


def _draw_kpi(ax: Axes, series: KpiSeries, data: ReportData) -> None:
    values = _finite(series.actual)
    symbol = data.currency_symbol
    title = _shortened(series.label, 30)
    if all(value is None for value in values):
        target = "" if series.target is None else f"\nTarget {_fmt(series.target, series, symbol)}"
        _empty(ax, title, NO_DATA + target)
        return
    style = STATUS_STYLES[_kpi_status(series)]
    _titled(ax, title, _kpi_subtitle(series, data.week, symbol), badge=style)
    ax.set_facecolor(style.tint)
    positions = list(range(len(values)))
    ax.plot(positions, _nan_for_none(values), color=style.color, marker="o", linewidth=2.5)
    latest, latest_value = [(i, value) for i, value in enumerate(values) if value is not None][-1]
    ax.plot([latest], [latest_value], color=style.color, marker="o", markersize=10)
    if series.target is not None:
        _goal_line(ax, series.target, _fmt(series.target, series, symbol))
    ax.yaxis.set_major_formatter(FuncFormatter(_tick_formatter(series.unit, symbol)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.margins(y=0.2)
    _week_axis(ax, series.weeks, max_labels=4)


def _kpi_status(series: KpiSeries) -> str:
    """The report week's status, as the domain judged it; a target that can't be drawn is
    no target."""
    if series.status in ("on track", "behind") and (
        series.target is None or not math.isfinite(series.target)
    ):
        return "no target"
    return series.status


def _kpi_subtitle(series: KpiSeries, report_week: str, symbol: str) -> str:
    latest = _latest(series.weeks, series.actual)
    if latest is None:
        return NO_DATA
    week, value = latest
    when = "" if week == report_week else f" ({_short_week(week)})"
    shown = f"{_fmt(value, series, symbol)}{when}"
    if series.target is None:
        return shown
    return f"{shown} vs target {_fmt(series.target, series, symbol)}"


def _goal_line(ax: Axes, target: float, shown: str) -> None:
    ax.axhline(target, color=INK, linestyle="--", linewidth=1.5)
    # Labelled outside the plot area, at the right edge, so it never covers a data point.
    ax.annotate(
        _plain(f"target\n{shown}"),
        xy=(1.0, target),
        xycoords=ax.get_yaxis_transform(),
        xytext=(4, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=TICK_SIZE,
        color=INK,
        annotation_clip=False,
    )


def _draw_campaigns(ax: Axes, campaigns: Sequence[CampaignScore]) -> None:
    title = "Lead score by campaign"
    rated = sorted((c for c in campaigns if _is_rated(c)), key=_campaign_order)
    if not rated:
        _empty(ax, title, NO_DATA)
        return
    rows = _campaign_rows(rated)
    hidden = len(rated) - len(rows)
    note = f" · {hidden} more not shown" if hidden > 0 else ""
    _titled(ax, title, f"Average score this week (bar) vs the week before (◆), lowest first{note}")
    for top, campaign, name in rows:
        _campaign_row(ax, top, campaign, name)
    bottom = rows[-1][0] + _row_height(rows[-1][2])
    ax.set_ylim(max(bottom, CAMPAIGN_BUDGET * 0.6), 0)
    ax.set_yticks([])
    ax.set_xlim(MIN_SCORE, MAX_SCORE + 1.0)
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.set_xlabel("Average lead score (1 = poor, 5 = great)", fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    # No legend: the subtitle names both marks, and every row says "(was …)".
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def _campaign_rows(rated: Sequence[CampaignScore]) -> list[tuple[float, CampaignScore, str]]:
    """Where each campaign's row starts, and its whole name wrapped: as many as fit."""
    rows: list[tuple[float, CampaignScore, str]] = []
    top = 0.0
    for campaign in rated[:MAX_CAMPAIGNS]:
        name = _campaign_name(campaign)
        if rows and top + _row_height(name) > CAMPAIGN_BUDGET:
            break
        rows.append((top, campaign, name))
        top += _row_height(name)
    return rows


def _campaign_name(campaign: CampaignScore) -> str:
    """The campaign's full name and its ratings, wrapped; never shortened."""
    text = f"{_one_line(campaign.campaign) or '(no name)'} · {_ratings(campaign.ratings)}"
    return "\n".join(textwrap.wrap(text, NAME_WIDTH, break_on_hyphens=False))


def _row_height(name: str) -> float:
    return (name.count("\n") + 1) * NAME_LINE + BAR_HEIGHT + ROW_GAP


def _campaign_row(ax: Axes, top: float, campaign: CampaignScore, name: str) -> None:
    ax.text(
        0.0,
        top,
        _plain(name),
        transform=ax.get_yaxis_transform(),
        va="top",
        ha="left",
        fontsize=TEXT_SIZE,
        color=INK,
        linespacing=1.15,
    )
    middle = top + (name.count("\n") + 1) * NAME_LINE + BAR_HEIGHT / 2
    this_week, before = _score(campaign.this_week), _score(campaign.previous_week)
    if this_week is not None:
        ax.barh(middle, this_week - MIN_SCORE, height=BAR_HEIGHT, left=MIN_SCORE, color=GREY)
    if before is not None:
        ax.plot([before], [middle], color=INK, marker="D", markersize=7, markeredgecolor="white")
    ax.annotate(
        _plain(_scores_label(this_week, before)),
        xy=(max(s for s in (this_week, before, MIN_SCORE) if s is not None), middle),
        xytext=(8, 0),
        textcoords="offset points",
        va="center",
        fontsize=TICK_SIZE,
        color=INK,
    )


def _scores_label(this_week: float | None, before: float | None) -> str:
    now = "not rated" if this_week is None else f"{this_week:.1f}"
    return now if before is None else f"{now} (was {before:.1f})"


def _is_rated(campaign: CampaignScore) -> bool:
    return _score(campaign.this_week) is not None or _score(campaign.previous_week) is not None


def _campaign_order(campaign: CampaignScore) -> tuple[bool, float, str]:
    this_week = _score(campaign.this_week)
    return this_week is None, this_week or 0.0, campaign.campaign.casefold()


def _draw_loop(figure: Figure, spec: SubplotSpec, loop: LoopTrend, report_week: str) -> None:
    """Two small panels over the same weeks: the share answered, then the hours it took."""
    title = "Marketing answers"
    rates = _finite(loop.response_rate)
    hours = _finite(loop.median_hours_to_answer)
    if all(value is None for value in (*rates, *hours)):
        _empty(figure.add_subplot(spec), title, NO_DATA)
        return
    cells = spec.subgridspec(2, 1, hspace=0.08)
    top = figure.add_subplot(cells[0, 0])
    bottom = figure.add_subplot(cells[1, 0], sharex=top)
    _titled(top, title, _loop_subtitle(loop, report_week))
    _small_trend(top, rates, "Answered", _percent_label, ceiling=100.0)
    if loop.within_answer_time:
        _within_answer_time(top, _finite(loop.within_answer_time))
    _small_trend(bottom, hours, "Median hours\nto answer", _hours, ceiling=None)
    _week_axis(top, loop.weeks, max_labels=6)
    _week_axis(bottom, loop.weeks, max_labels=6)
    top.tick_params(labelbottom=False)
    top.set_xlabel("")


def _small_trend(
    ax: Axes,
    values: list[float | None],
    label: str,
    shown: Callable[[float], str],
    *,
    ceiling: float | None,
) -> None:
    ax.set_ylabel(_plain(label), fontsize=LABEL_SIZE)
    known = [value for value in values if value is not None]
    if not known:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "No answers yet", transform=ax.transAxes, ha="center", color=GREY)
        return
    positions = list(range(len(values)))
    ax.plot(positions, _nan_for_none(values), color=INK, marker="o", markersize=4, linewidth=2)
    latest = max(i for i, value in enumerate(values) if value is not None)
    ax.annotate(
        _plain(shown(known[-1])),
        xy=(latest, known[-1]),
        xytext=(0, 8),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=TEXT_SIZE,
        fontweight="bold",
        color=INK,
    )
    top = ceiling if ceiling is not None else max(1.0, *known)
    ax.set_ylim(0, top * 1.35)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    if ceiling is not None:
        ax.set_yticks([0, 50, 100])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0f}%"))


def _within_answer_time(ax: Axes, values: list[float | None]) -> None:
    """The share answered within the agreed answer time, dashed, over the share answered."""
    if all(value is None for value in values):
        return
    positions = list(range(len(values)))
    ax.plot(
        positions,
        _nan_for_none(values),
        color=GREY,
        linestyle="--",
        marker="s",
        markersize=3,
        linewidth=1.5,
    )
    latest = max(i for i, value in enumerate(values) if value is not None)
    ax.annotate(
        "in time",
        xy=(latest, values[latest] or 0.0),
        xytext=(0, -6),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=LABEL_SIZE,
        color=GREY,
    )


def _percent_label(value: float) -> str:
    return f"{_trimmed(value, 1)}%"


def _loop_subtitle(loop: LoopTrend, report_week: str) -> str:
    rate = _latest(loop.weeks, loop.response_rate)
    hours = _latest(loop.weeks, loop.median_hours_to_answer)
    parts = []
    within = _latest(loop.weeks, loop.within_answer_time) if loop.within_answer_time else None
    if rate is not None and within is not None:
        # Short, to fit the panel: the dashed line is labelled "in time".
        parts.append(
            f"{_percent_label(rate[1])} answered{_when(rate[0], report_week)}, "
            f"{_percent_label(within[1])} in time{_when(within[0], report_week)}"
        )
    elif rate is not None:
        parts.append(f"{_percent_label(rate[1])} of ratings answered{_when(rate[0], report_week)}")
    if hours is not None:
        parts.append(f"median {_hours(hours[1])} to answer{_when(hours[0], report_week)}")
    elif rate is not None:
        parts.append("no answer times yet")
    return " · ".join(parts)


def _when(week: str, report_week: str) -> str:
    return "" if week == report_week else f" ({_short_week(week)})"


# --- shared drawing helpers ---------------------------------------------------------------


def _titled(ax: Axes, title: str, subtitle: str, *, badge: StatusStyle | None = None) -> None:
    """A bold title above the axes, then the status badge if any, then a grey subtitle."""
    ax.set_title(
        _plain(title),
        loc="left",
        fontsize=TITLE_SIZE,
        fontweight="bold",
        pad=58 if badge else 24,
    )
    ax.annotate(
        _plain(subtitle),
        xy=(0.0, 1.0),
        xycoords="axes fraction",
        xytext=(0, 6),
        textcoords="offset points",
        va="bottom",
        fontsize=HEADLINE_SIZE if badge else TEXT_SIZE,
        color=INK if badge else GREY,
    )
    if badge is None:
        return
    ax.annotate(
        badge.word,
        xy=(0.0, 1.0),
        xycoords="axes fraction",
        xytext=(4, 31),
        textcoords="offset points",
        va="bottom",
        fontsize=BADGE_SIZE,
        fontweight="bold",
        color="white",
        bbox={"boxstyle": "round,pad=0.3", "facecolor": badge.color, "edgecolor": "none"},
    )


def _empty(ax: Axes, title: str, note: str) -> None:
    # An empty subtitle keeps the title level with its neighbours' titles.
    _titled(ax, title, "")
    ax.set_facecolor(EMPTY_BACKGROUND)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(
        0.5,
        0.5,
        _plain(note),
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=14,
        color=GREY,
        linespacing=1.6,
    )


def _week_axis(ax: Axes, weeks: Sequence[str], *, max_labels: int) -> None:
    ax.set_xlim(-0.5, max(len(weeks), 1) - 0.5)
    step = max(1, math.ceil(len(weeks) / max_labels))
    # Count back from the latest week so that it always has a label.
    shown = [i for i in range(len(weeks)) if (len(weeks) - 1 - i) % step == 0]
    labels, previous_year = [], None
    for index in shown:
        year, short = _split_week(weeks[index])
        labels.append(short if year is None or year == previous_year else f"{short}\n{year}")
        previous_year = year
    ax.set_xticks(shown, [_plain(label) for label in labels])
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _split_week(week: str) -> tuple[str | None, str]:
    match = _ISO_WEEK.fullmatch(week)
    if match is None:
        return None, _shortened(week, 10)
    return match[1], f"W{match[2]}"


def _short_week(week: str) -> str:
    return _split_week(week)[1]


def _tick_formatter(unit: Unit, symbol: str) -> Callable[[float, int], str]:
    def tick(value: float, _position: int) -> str:
        return _plain(_format_unit(value, unit, symbol, tick=True))

    return tick


# --- plain-language text ------------------------------------------------------------------


def alt_text(data: ReportData) -> str:
    """A description of the chart for screen readers: each panel and its latest values."""
    symbol = data.currency_symbol
    parts = [f"{_one_line(data.title)}, week {_one_line(data.week)}."]
    if data.business:
        parts.append(
            f"Top row: one line chart per business KPI {_week_span(data.business)}, "
            "with its target as a dashed line."
        )
        parts.extend(_kpi_sentence(series, data.week, symbol) for series in data.business)
    else:
        parts.append("Business KPIs: no KPIs set up yet.")
    parts.append(_campaigns_sentence(data.campaigns))
    parts.append(_loop_sentence(data.loop, data.week))
    return " ".join(parts)


def _week_span(business: Sequence[KpiSeries]) -> str:
    weeks = sorted({week for series in business for week in series.weeks})
    if not weeks:
        return "with no weeks yet"
    if len(weeks) == 1:
        return f"for {_one_line(weeks[0])}"
    return f"weekly from {_one_line(weeks[0])} to {_one_line(weeks[-1])}"


def _kpi_sentence(series: KpiSeries, report_week: str, symbol: str) -> str:
    latest = _latest(series.weeks, series.actual)
    if latest is None:
        return f"{_one_line(series.label)}: no data yet."
    week, value = latest
    sentence = f"{_one_line(series.label)}: {_fmt(value, series, symbol)} in {_one_line(week)}"
    status = _kpi_status(series)
    if status == "no data":
        return f"{sentence}, no value for {_one_line(report_week)}."
    if status == "no target" or series.target is None:
        return sentence + ", no target set."
    return f"{sentence}, target {_fmt(series.target, series, symbol)}, {status}."


def _campaigns_sentence(campaigns: Sequence[CampaignScore]) -> str:
    rated = sorted((c for c in campaigns if _is_rated(c)), key=_campaign_order)
    if not rated:
        return "Lead score by campaign: no ratings yet."
    shown = rated[:MAX_CAMPAIGNS]
    listed = "; ".join(_campaign_phrase(c) for c in shown)
    hidden = len(rated) - len(shown)
    more = f" {hidden} more campaigns are not shown." if hidden else ""
    return (
        "Lead score by campaign, the average score from 1 to 5 this week (bars) and the "
        f"week before (diamonds), lowest first: {listed}.{more}"
    )


def _campaign_phrase(campaign: CampaignScore) -> str:
    this_week, previous = _score(campaign.this_week), _score(campaign.previous_week)
    now = "not rated this week" if this_week is None else f"{this_week:.1f}"
    before = "" if previous is None else f" (week before {previous:.1f})"
    return f"{_one_line(campaign.campaign)} {now}{before}"


def _loop_sentence(loop: LoopTrend, report_week: str) -> str:
    subtitle = _loop_subtitle(loop, report_week)
    if not subtitle:
        return "Marketing answers: no data yet."
    return (
        "Marketing answers, percent of ratings answered by marketing and median hours to the "
        f"first answer per week: {subtitle}."
    )


def summary_of_moves(data: ReportData) -> str:
    """One or two sentences: the KPI that moved most week over week and the weakest campaign."""
    return f"{_biggest_move(data)} {_weakest_campaign(data.campaigns)}"


def _biggest_move(data: ReportData) -> str:
    moves = [(move, series) for series in data.business if (move := _move(series, data.week))]
    if not moves:
        return "No KPI has data for two weeks in a row yet."
    (change, week, before), series = max(moves, key=lambda item: abs(item[0][0]))
    if change == 0:
        return "No KPI moved week over week."
    direction = "rose" if change > 0 else "fell"
    better = (change > 0) == series.higher_is_better
    verdict = "an improvement" if better else "a setback"
    return (
        f"{_one_line(series.label)} moved most: it {direction} {_relative(change)} "
        f"from {_one_line(before)} to {_one_line(week)}, {verdict}."
    )


def _relative(change: float) -> str:
    points = abs(change) * 100
    return f"{_trimmed(points, 1 if points < 10 else 0)}%"


def _move(series: KpiSeries, report_week: str) -> tuple[float, str, str] | None:
    """Relative change into the report week (or the latest week) from the week before."""
    if not series.weeks:
        return None
    index = series.weeks.index(report_week) if report_week in series.weeks else -1
    index %= len(series.weeks)
    if index == 0:
        return None
    now, before = _finite(series.actual[index - 1 : index + 1])[::-1]
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before), series.weeks[index], series.weeks[index - 1]


def _weakest_campaign(campaigns: Sequence[CampaignScore]) -> str:
    scored = [c for c in campaigns if _score(c.this_week) is not None]
    if not scored:
        return "No campaign was rated this week."
    weakest = min(scored, key=_campaign_order)
    return (
        f"Lowest-scoring campaign this week: {_one_line(weakest.campaign)} "
        f"({_score(weakest.this_week):.1f} of 5 from {_ratings(weakest.ratings)})."
    )


# --- values -------------------------------------------------------------------------------


def _latest(weeks: Sequence[str], values: Sequence[float | None]) -> tuple[str, float] | None:
    for week, value in zip(reversed(weeks), reversed(_finite(values)), strict=True):
        if value is not None:
            return week, value
    return None


def _finite(values: Sequence[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _nan_for_none(values: Sequence[float | None]) -> list[float]:
    # NaN breaks the line, so a week without data shows as a gap rather than a zero.
    return [math.nan if v is None else v for v in values]


def _score(score: float | None) -> float | None:
    if score is None or not math.isfinite(score):
        return None
    return min(max(score, MIN_SCORE), MAX_SCORE)


def _fmt(value: float, series: KpiSeries, symbol: str) -> str:
    return _format_unit(value, series.unit, symbol)


def _format_unit(value: float, unit: Unit, symbol: str, *, tick: bool = False) -> str:
    """``12.5%``, ``$1,200``, ``$1.41M``; big numbers are shortened so labels stay narrow."""
    magnitude = abs(value)
    if unit == "percent":
        number = _compact(magnitude) if magnitude >= 1e4 else _trimmed(magnitude, 2 if tick else 1)
    elif magnitude >= (1e4 if tick else 1e6):
        number = _compact(magnitude)
    elif round(magnitude, 2) == round(magnitude) or magnitude >= 1000:
        number = f"{magnitude:,.0f}"
    else:
        number = f"{magnitude:,.2f}"
    sign = "-" if value < 0 and number.strip("0.,") else ""
    return f"{sign}{number}%" if unit == "percent" else f"{sign}{symbol}{number}"


def _compact(magnitude: float) -> str:
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= size:
            scaled = magnitude / size
            return _trimmed(scaled, 2 if scaled < 10 else 1 if scaled < 100 else 0) + suffix
    return _trimmed(magnitude, 2)


def _trimmed(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", "0"} else text


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h"


def _ratings(count: int) -> str:
    return f"{count:,} rating" + ("" if count == 1 else "s")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shortened(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> str:
    """Text drawn literally: a ``$`` pair would otherwise start matplotlib's math mode."""
    printable = "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in text)
    return printable.replace("$", r"\$")
