"""The weekly KPI report: business KPIs against targets, lead scores by campaign and how fast
marketing answers, drawn as one PNG sized for Slack's preview.

Pure: data in, PNG bytes out. Figures are built with ``Figure()`` and rendered by
``FigureCanvasAgg``; pyplot is never imported because it keeps every figure alive.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
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
MIN_CAMPAIGN_ROWS = 5
MIN_SCORE = 1.0
MAX_SCORE = 5.0
NO_DATA = "No data yet"

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
BLUE = "#0072B2"
SKY_BLUE = "#56B4E9"
VERMILLION = "#D55E00"
GREEN = "#009E73"
PURPLE = "#CC79A7"
GREY = "#555555"
EMPTY_BACKGROUND = "#F3F3F3"

SUPTITLE_SIZE = 18
TITLE_SIZE = 13
LABEL_SIZE = 11
TEXT_SIZE = 10.5
TICK_SIZE = 10

_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


# --- rendering ----------------------------------------------------------------------------


def render_report(data: ReportData, *, dpi: int = 100, format: ChartFormat = "png") -> bytes:
    """The report as a 16×10 inch PNG (1600×1000 pixels at the default dpi), SVG or PDF."""
    layout = ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08, hspace=0.06, wspace=0.04)
    figure = Figure(figsize=FIGURE_INCHES, dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    figure.suptitle(
        _plain(f"{_shortened(data.title, 80)} · week {_shortened(data.week, 20)}"),
        fontsize=SUPTITLE_SIZE,
        fontweight="bold",
    )
    rows = figure.add_gridspec(2, 1, height_ratios=(1.0, 1.05))
    _draw_business(figure, rows[0], data)
    bottom = rows[1].subgridspec(1, 2, width_ratios=(3, 2))
    _draw_campaigns(figure.add_subplot(bottom[0, 0]), data.campaigns)
    _draw_loop(figure.add_subplot(bottom[0, 1]), data.loop, data.week)
    buffer = BytesIO()
    figure.savefig(buffer, format=format, dpi=dpi)
    return buffer.getvalue()


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
    _titled(ax, title, _kpi_subtitle(series, data.week, symbol))
    positions = list(range(len(values)))
    ax.plot(positions, _nan_for_none(values), color=BLUE, marker="o", linewidth=2, markersize=5)
    if series.target is not None:
        _goal_line(ax, series.target, _fmt(series.target, series, symbol))
    ax.yaxis.set_major_formatter(FuncFormatter(_tick_formatter(series.unit, symbol)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_ylabel(_plain(_unit_label(series.unit, symbol)), fontsize=LABEL_SIZE)
    ax.margins(y=0.2)
    _week_axis(ax, series.weeks, max_labels=4)


def _kpi_subtitle(series: KpiSeries, report_week: str, symbol: str) -> str:
    latest = _latest(series.weeks, series.actual)
    if latest is None:
        return NO_DATA
    week, value = latest
    when = "" if week == report_week else f" ({_short_week(week)})"
    shown = f"{_fmt(value, series, symbol)}{when}"
    if series.target is None:
        return f"{shown} · no target"
    status = _status(value, series.target, series.higher_is_better)
    return f"{shown} vs {_fmt(series.target, series, symbol)} · {status}"


def _goal_line(ax: Axes, target: float, shown: str) -> None:
    ax.axhline(target, color=VERMILLION, linestyle="--", linewidth=1.8)
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
        color=VERMILLION,
        annotation_clip=False,
    )


def _draw_campaigns(ax: Axes, campaigns: Sequence[CampaignScore]) -> None:
    title = "Lead score by campaign"
    rated = [c for c in campaigns if _is_rated(c)]
    if not rated:
        _empty(ax, title, NO_DATA)
        return
    ordered = sorted(rated, key=_campaign_order)
    shown, hidden = ordered[:MAX_CAMPAIGNS], len(ordered) - MAX_CAMPAIGNS
    note = f" · {hidden} more not shown" if hidden > 0 else ""
    _titled(ax, title, f"Average score this week vs the week before, lowest first{note}")
    _campaign_bars(ax, shown)
    ax.set_yticks(range(len(shown)), [_campaign_tick(c) for c in shown], fontsize=TICK_SIZE)
    # Lowest first, at the top; a few campaigns keep the bar thickness of many.
    ax.set_ylim(max(len(shown), MIN_CAMPAIGN_ROWS) - 0.5, -0.5)
    ax.set_xlim(MIN_SCORE, MAX_SCORE + 0.45)
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.set_xlabel("Average lead score (1 = poor, 5 = great)", fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=TICK_SIZE, frameon=False)


def _campaign_bars(ax: Axes, shown: Sequence[CampaignScore]) -> None:
    height = 0.38
    for offset, label, color, attribute in (
        (-height / 2, "This week", BLUE, "this_week"),
        (height / 2, "Week before", SKY_BLUE, "previous_week"),
    ):
        scores = [_score(getattr(c, attribute)) for c in shown]
        positions = [index + offset for index in range(len(shown))]
        widths = [0.0 if s is None else s - MIN_SCORE for s in scores]
        ax.barh(positions, widths, height=height, left=MIN_SCORE, color=color, label=label)
        for y, score in zip(positions, scores, strict=True):
            text = "not rated" if score is None else f"{score:.1f}"
            x = MIN_SCORE if score is None else score
            ax.annotate(
                text,
                xy=(x, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=TICK_SIZE,
                color=GREY,
            )


def _is_rated(campaign: CampaignScore) -> bool:
    return _score(campaign.this_week) is not None or _score(campaign.previous_week) is not None


def _campaign_order(campaign: CampaignScore) -> tuple[bool, float, str]:
    this_week = _score(campaign.this_week)
    return this_week is None, this_week or 0.0, campaign.campaign.casefold()


def _campaign_tick(campaign: CampaignScore) -> str:
    return _plain(f"{_shortened(campaign.campaign, 26)}\n{_ratings(campaign.ratings)}")


def _draw_loop(ax: Axes, loop: LoopTrend, report_week: str) -> None:
    title = "Marketing answers"
    rates = _finite(loop.response_rate)
    hours = _finite(loop.median_hours_to_answer)
    if all(value is None for value in (*rates, *hours)):
        _empty(ax, title, NO_DATA)
        return
    _titled(ax, title, _loop_subtitle(loop, report_week))
    positions = list(range(len(loop.weeks)))
    rate_line = _plot_response_rate(ax, positions, rates)
    handles = [rate_line] if any(value is not None for value in rates) else []
    if any(value is not None for value in hours):
        handles.append(_plot_hours(ax.twinx(), positions, hours))
        rate_line.set_label("Answered (%, left)")
    _week_axis(ax, loop.weeks, max_labels=6)
    ax.legend(handles=handles, loc="upper center", ncol=2, fontsize=TICK_SIZE, frameon=False)


def _plot_response_rate(ax: Axes, positions: list[int], rates: list[float | None]) -> Line2D:
    (line,) = ax.plot(
        positions,
        _nan_for_none(rates),
        color=GREEN,
        marker="o",
        linewidth=2,
        label="Answered (%)",
    )
    # Headroom above 100% (and above the longest wait) keeps the legend clear of the lines.
    ax.set_ylim(0, 130)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0f}%"))
    ax.set_ylabel("Ratings answered (%)", fontsize=LABEL_SIZE)
    return line


def _plot_hours(twin: Axes, positions: list[int], hours: list[float | None]) -> Line2D:
    (line,) = twin.plot(
        positions,
        _nan_for_none(hours),
        color=PURPLE,
        marker="s",
        linestyle="--",
        linewidth=2,
        label="Hours to answer (right)",
    )
    twin.set_ylim(0, max([1.0, *(h * 1.3 for h in hours if h is not None)]))
    twin.yaxis.set_major_locator(MaxNLocator(nbins=5))
    twin.set_ylabel("Median hours to first answer", fontsize=LABEL_SIZE)
    twin.tick_params(labelsize=TICK_SIZE)
    return line


def _loop_subtitle(loop: LoopTrend, report_week: str) -> str:
    rate = _latest(loop.weeks, loop.response_rate)
    hours = _latest(loop.weeks, loop.median_hours_to_answer)
    parts = []
    if rate is not None:
        parts.append(f"{rate[1]:.0f}% of ratings answered{_when(rate[0], report_week)}")
    if hours is not None:
        parts.append(f"median {_hours(hours[1])} to answer{_when(hours[0], report_week)}")
    elif rate is not None:
        parts.append("no answer times yet")
    return " · ".join(parts)


def _when(week: str, report_week: str) -> str:
    return "" if week == report_week else f" ({_short_week(week)})"


# --- shared drawing helpers ---------------------------------------------------------------


def _titled(ax: Axes, title: str, subtitle: str) -> None:
    ax.set_title(_plain(title), loc="left", fontsize=TITLE_SIZE, fontweight="bold", pad=22)
    ax.annotate(
        _plain(subtitle),
        xy=(0.0, 1.0),
        xycoords="axes fraction",
        xytext=(0, 6),
        textcoords="offset points",
        va="bottom",
        fontsize=TEXT_SIZE,
        color=GREY,
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
    ax.set_xlabel("ISO week", fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.8)
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


def _unit_label(unit: Unit, symbol: str) -> str:
    return "Percent (%)" if unit == "percent" else f"Amount ({symbol})"


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
    if series.target is None:
        return sentence + ", no target set."
    status = _status(value, series.target, series.higher_is_better)
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
        "Lead score by campaign, bars of the average score from 1 to 5 this week and the "
        f"week before, lowest first: {listed}.{more}"
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


def _status(actual: float, target: float, higher_is_better: bool) -> str:
    met = actual >= target if higher_is_better else actual <= target
    return "on track" if met else "behind"


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
