"""The weekly KPI report PNG and its text (charts/kpi_report.py)."""

from __future__ import annotations

import ast
import dataclasses
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text

from charts.kpi_report import (
    CampaignScore,
    KpiSeries,
    LoopTrend,
    ReportData,
    alt_text,
    build_figure,
    render_report,
    summary_of_moves,
)
from domain.kpis.metrics import kpi_status

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[2]
REPORT_WEEK = "2026-W45"
PREVIOUS_WEEK = "2026-W44"
TWELVE_WEEKS = tuple(f"2026-W{week:02d}" for week in range(34, 46))
NO_LOOP = LoopTrend(weeks=(), response_rate=(), median_hours_to_answer=())
KPI_NAMES = ("conv", "cac", "rev", "ret", "roi")


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk, which always comes first."""
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def rendered(data: ReportData, *, dpi: int = 100) -> bytes:
    """The PNG of ``data``; fails if constrained layout gave up (squeezed or overlapping text)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_report(data, dpi=dpi)
    layout_problems = [str(w.message) for w in caught if "constrained_layout" in str(w.message)]
    assert not layout_problems
    return png


def series(
    key: str,
    label: str,
    unit: str,
    actual: tuple[float | None, ...],
    *,
    target: float | None,
    higher_is_better: bool = True,
    weeks: tuple[str, ...] | None = None,
) -> KpiSeries:
    """A KPI series ending in the report week unless ``weeks`` says otherwise."""
    if weeks is None:
        weeks = TWELVE_WEEKS[len(TWELVE_WEEKS) - len(actual) :]
    return KpiSeries(
        key=key,
        label=label,
        unit=unit,  # type: ignore[arg-type]
        weeks=weeks,
        actual=actual,
        target=target,
        higher_is_better=higher_is_better,
        # The last week given is the report week, judged as the domain judges it.
        status=kpi_status(actual[-1] if actual else None, target, higher_is_better),
    )


def five_kpis(actuals: dict[str, tuple[float | None, ...]]) -> tuple[KpiSeries, ...]:
    """The five business KPIs with the given actual values and typical targets."""
    return (
        series("conversion_rate", "Lead conversion rate", "percent", actuals["conv"], target=14.4),
        series(
            "cac",
            "Customer acquisition cost",
            "currency",
            actuals["cac"],
            target=1020.0,
            higher_is_better=False,
        ),
        series("revenue", "Revenue", "currency", actuals["rev"], target=1_380_000.0),
        series("retention_rate", "Customer retention rate", "percent", actuals["ret"], target=93.5),
        series("roi", "Marketing ROI", "percent", actuals["roi"], target=200.0),
    )


def empty_report() -> ReportData:
    """Five KPIs, no campaigns, no loop: nothing recorded yet."""
    nothing: dict[str, tuple[float | None, ...]] = dict.fromkeys(KPI_NAMES, ())
    business = tuple(
        KpiSeries(s.key, s.label, s.unit, (), (), None, s.higher_is_better, "no data")
        for s in five_kpis(nothing)
    )
    return ReportData(week=REPORT_WEEK, business=business, campaigns=(), loop=NO_LOOP)


def one_week_report() -> ReportData:
    """The first week with data: one value per KPI, two campaigns, one loop point."""
    business = five_kpis(
        {"conv": (12.0,), "cac": (1200.0,), "rev": (1_150_000.0,), "ret": (85.0,), "roi": (180.0,)}
    )
    campaigns = (
        CampaignScore("Webinar Q4", this_week=2.4, previous_week=None, ratings=5),
        CampaignScore("Spring ebook", this_week=3.8, previous_week=None, ratings=9),
    )
    loop = LoopTrend(weeks=(REPORT_WEEK,), response_rate=(75.0,), median_hours_to_answer=(6.5,))
    return ReportData(week=REPORT_WEEK, business=business, campaigns=campaigns, loop=loop)


def full_report(campaign_count: int = 8) -> ReportData:
    """Twelve weeks of all five KPIs with gaps, ``campaign_count`` campaigns, the loop trend."""
    business = five_kpis(
        {
            "conv": (10.2, 10.8, None, 11.5, 11.1, 12.0, 12.4, None, 12.9, 13.1, 12.7, 13.5),
            "cac": (1250, 1230, 1240, 1210, 1190, None, 1150, 1140, 1160, 1100, 1090, 1070),
            "rev": tuple(
                None if m is None else m * 1e6
                for m in (1.1, 1.12, 1.08, 1.15, 1.19, 1.21, None, None, 1.25, 1.3, 1.28, 1.41)
            ),
            "ret": (88.0, 88.5, 89.1, 88.7, 89.5, 90.2, 90.0, 90.8, 91.0, 91.3, None, 91.9),
            "roi": (150, 158, 162, 171, None, 176, 181, 185, 190, 188, 195, 204),
        }
    )
    names = [
        "Webinar: Pipeline Acceleration Masterclass Q4",
        "Spring ebook",
        "LinkedIn ABM — enterprise",
        "Partner referrals",
        "Trade show Berlin",
        "Google Ads brand",
        "Newsletter",
        "Free trial nurture",
        "Retargeting",
        "Podcast sponsorship",
        "Cold outbound",
    ]
    scores = [2.1, 3.9, 3.2, 4.6, None, 3.0, 4.1, 2.8, 3.5, 4.4, 1.6]
    previous = [2.6, 3.7, 3.4, 4.5, 3.1, None, 4.0, 2.5, 3.6, 4.2, 1.9]
    campaigns = tuple(
        CampaignScore(name, this_week=score, previous_week=before, ratings=3 + index * 2)
        for index, (name, score, before) in enumerate(zip(names, scores, previous, strict=True))
    )[:campaign_count]
    loop = LoopTrend(
        weeks=TWELVE_WEEKS,
        response_rate=(40, 45, 52, None, 58, 63, 61, 70, 72, 78, 81, 85),
        median_hours_to_answer=(30, 26.5, 22, None, 19, 15.5, 16, 12, 10.5, 9, 7.5, 6),
    )
    return ReportData(week=REPORT_WEEK, business=business, campaigns=campaigns, loop=loop)


def cross_year_report() -> ReportData:
    """Twelve weeks across New Year, into a 53-week year."""
    weeks = (*(f"2020-W{week:02d}" for week in range(46, 54)), "2021-W01", "2021-W02", "2021-W03")
    conversion = (9.0, 9.4, 9.9, 10.1, None, 10.6, 10.3, 11.0, 11.2, 11.5, 11.9)
    business = (
        series(
            "conversion_rate",
            "Lead conversion rate",
            "percent",
            conversion,
            target=None,
            weeks=weeks,
        ),
    )
    loop = LoopTrend(weeks, (50.0,) * len(weeks), (None,) * len(weeks))
    return ReportData(week="2021-W03", business=business, campaigns=(), loop=loop)


# --- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        empty_report(),
        ReportData(week=REPORT_WEEK, business=(), campaigns=(), loop=NO_LOOP),
        one_week_report(),
        full_report(),
        full_report(campaign_count=11),
        cross_year_report(),
    ],
    ids=["empty", "no-kpis", "one-week", "full", "more-campaigns-than-fit", "cross-year"],
)
def test_report_is_a_png_of_slack_preview_size(data: ReportData) -> None:
    assert png_size(rendered(data)) == (1600, 1000)


def test_dpi_scales_the_pixel_size() -> None:
    assert png_size(rendered(one_week_report(), dpi=50)) == (800, 500)


def test_panels_with_all_weeks_missing_render_as_empty_states() -> None:
    gaps = five_kpis(dict.fromkeys(KPI_NAMES, (None,) * 12))
    campaigns = (CampaignScore("Newsletter", this_week=None, previous_week=None, ratings=0),)
    loop = LoopTrend(TWELVE_WEEKS, (None,) * 12, (None,) * 12)
    data = ReportData(week=REPORT_WEEK, business=gaps, campaigns=campaigns, loop=loop)

    assert png_size(rendered(data)) == (1600, 1000)


def test_long_and_multi_line_names_do_not_squeeze_the_layout() -> None:
    long_label = "A very long KPI label\nthat somebody typed\non several lines " * 3
    business = tuple(dataclasses.replace(s, label=long_label) for s in full_report().business)
    campaigns = tuple(
        CampaignScore("Campaign\n" * 20 + str(index), 3.0, 2.0, ratings=10**6)
        for index in range(12)
    )
    data = ReportData(
        week=REPORT_WEEK,
        business=business,
        campaigns=campaigns,
        loop=full_report().loop,
        title="Title\n" * 30,
    )
    assert png_size(rendered(data)) == (1600, 1000)


def test_dollar_signs_in_names_are_drawn_literally() -> None:
    # Two "$" in one label would start matplotlib's math mode and can fail to parse.
    campaigns = (CampaignScore("Save $50 on $^{200 orders", 2.0, 3.0, ratings=4),)
    data = ReportData(
        week=REPORT_WEEK,
        business=one_week_report().business,
        campaigns=campaigns,
        loop=NO_LOOP,
        title="$$ pipeline $_",
    )
    assert png_size(rendered(data)) == (1600, 1000)


def test_rendering_never_imports_pyplot() -> None:
    script = (
        "import sys\n"
        "from charts.kpi_report import render_report\n"
        "from tests.charts.test_kpi_report import full_report\n"
        "render_report(full_report())\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_chart_module_source_does_not_import_pyplot() -> None:
    tree = ast.parse((ROOT / "charts" / "kpi_report.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any("pyplot" in name for name in imported)
    forbidden = ("slack", "sqlalchemy", "sqlmodel", "storage", "bot", "handlers")
    assert not any(name.startswith(forbidden) for name in imported)


def test_rendering_leaves_no_figure_managed_by_matplotlib() -> None:
    from matplotlib import _pylab_helpers

    render_report(full_report())

    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_mismatched_weeks_and_values_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        series("roi", "Marketing ROI", "percent", (1.0, 2.0), target=None, weeks=(REPORT_WEEK,))
    with pytest.raises(ValueError, match="differ in length"):
        LoopTrend(weeks=(REPORT_WEEK,), response_rate=(), median_hours_to_answer=(1.0,))


# --- what the chart says ---------------------------------------------------------------

OKABE_ITO_BLUE = "#0072b2"
OKABE_ITO_VERMILLION = "#d55e00"


def all_text(figure: Figure) -> list[str]:
    """Every piece of text drawn in the figure, as drawn (wrapped lines and all)."""
    return [text.get_text() for text in figure.findobj(Text) if text.get_text()]


def badges(figure: Figure) -> list[tuple[str, str]]:
    """The status badges, left to right: their word and the colour behind it."""
    found = []
    for ax in figure.axes:
        for text in ax.texts:
            box = text.get_bbox_patch()
            if box is not None:
                found.append((text.get_text(), to_hex(box.get_facecolor())))
    return found


def test_each_kpi_states_its_status_in_words_and_in_a_colour_blind_safe_colour() -> None:
    figure = build_figure(full_report())

    assert badges(figure) == [
        ("✗ BEHIND TARGET", OKABE_ITO_VERMILLION),  # conversion 13.5% vs 14.4%
        ("✗ BEHIND TARGET", OKABE_ITO_VERMILLION),  # CAC $1,070 vs $1,020, lower is better
        ("✓ ON TRACK", OKABE_ITO_BLUE),  # revenue $1.41M vs $1.38M
        ("✗ BEHIND TARGET", OKABE_ITO_VERMILLION),  # retention 91.9% vs 93.5%
        ("✓ ON TRACK", OKABE_ITO_BLUE),  # ROI 204% vs 200%
    ]
    assert "13.5% vs target 14.4%" in all_text(figure)


def test_each_kpis_line_is_drawn_in_its_status_colour() -> None:
    figure = build_figure(full_report())

    kpi_axes = figure.axes[:5]
    line_colours = [to_hex(ax.get_lines()[0].get_color()) for ax in kpi_axes]
    assert line_colours == [OKABE_ITO_VERMILLION] * 2 + [OKABE_ITO_BLUE] + [
        OKABE_ITO_VERMILLION,
        OKABE_ITO_BLUE,
    ]


def test_the_title_counts_the_kpis_on_track() -> None:
    figure = build_figure(full_report())

    assert figure.get_suptitle() == (
        "Sales & marketing alignment · week 2026-W45 · 2 of 5 KPIs on track"
    )


def test_a_kpi_without_target_says_so_in_grey_instead_of_a_status() -> None:
    figure = build_figure(cross_year_report())

    [(word, colour)] = badges(figure)
    assert word == "NO TARGET SET"
    assert colour not in (OKABE_ITO_BLUE, OKABE_ITO_VERMILLION)
    assert "Sales & marketing alignment · week 2021-W03" == figure.get_suptitle()


def test_kpis_without_data_show_no_status_at_all() -> None:
    figure = build_figure(empty_report())

    assert badges(figure) == []
    assert all_text(figure).count("No data yet") == 7


def test_campaign_names_are_drawn_whole_with_their_ratings() -> None:
    figure = build_figure(full_report())

    drawn = [" ".join(text.split()) for text in all_text(figure)]
    assert "Webinar: Pipeline Acceleration Masterclass Q4 · 3 ratings" in drawn
    assert "LinkedIn ABM — enterprise · 7 ratings" in drawn
    assert not any("…" in text for text in drawn)


def test_a_campaign_name_of_the_longest_allowed_length_is_wrapped_never_cut() -> None:
    name = " ".join(f"word{index:03d}" for index in range(25))[:200]  # storage allows 200
    campaigns = (CampaignScore(name, this_week=3.0, previous_week=2.0, ratings=4),)
    data = ReportData(
        week=REPORT_WEEK, business=one_week_report().business, campaigns=campaigns, loop=NO_LOOP
    )

    [drawn] = [text for text in all_text(build_figure(data)) if text.startswith("word000")]
    assert "\n" in drawn
    assert " ".join(drawn.split()) == f"{name} · 4 ratings"
    assert png_size(rendered(data)) == (1600, 1000)


def test_campaigns_that_do_not_fit_are_counted_not_squeezed() -> None:
    figure = build_figure(full_report(campaign_count=11))

    assert any(text.endswith("· 3 more not shown") for text in all_text(figure))


def test_each_campaign_row_gives_this_week_and_the_week_before() -> None:
    drawn = all_text(build_figure(full_report()))

    assert "2.1 (was 2.6)" in drawn  # the Webinar, lowest first
    assert "3.0" in drawn  # Google Ads brand: no score the week before


def test_the_answers_panel_uses_two_small_panels_not_a_second_y_axis() -> None:
    figure = build_figure(full_report())

    positions = [tuple(ax.get_position().bounds) for ax in figure.axes]
    assert len(set(positions)) == len(positions)  # a twin axis would sit on its host
    labels = [ax.get_ylabel() for ax in figure.axes if ax.get_ylabel()]
    assert labels == ["Answered", "Median hours\nto answer"]
    drawn = all_text(figure)
    assert "85%" in drawn and "6.0 h" in drawn  # the latest values, labelled on the lines
    assert "85% of ratings answered · median 6.0 h to answer" in drawn


def test_the_answer_share_is_shown_as_given_to_one_decimal() -> None:
    loop = LoopTrend((REPORT_WEEK,), response_rate=(66.7,), median_hours_to_answer=(0.5,))
    data = ReportData(week=REPORT_WEEK, business=(), campaigns=(), loop=loop)

    drawn = all_text(build_figure(data))

    assert "66.7% of ratings answered · median 30 min to answer" in drawn
    assert "66.7%" in drawn


def test_the_share_answered_within_the_answer_time_is_a_dashed_line_in_the_same_panel() -> None:
    loop = LoopTrend(
        (PREVIOUS_WEEK, REPORT_WEEK),
        response_rate=(80.0, 90.0),
        median_hours_to_answer=(3.0, 2.0),
        within_answer_time=(50.0, 62.5),
    )
    figure = build_figure(ReportData(week=REPORT_WEEK, business=(), campaigns=(), loop=loop))

    drawn = all_text(figure)
    assert "90% answered, 62.5% in time · median 2.0 h to answer" in drawn
    assert "in time" in drawn
    [answered] = [ax for ax in figure.axes if ax.get_ylabel() == "Answered"]
    assert [line.get_linestyle() for line in answered.get_lines()] == ["-", "--"]


def test_answer_times_must_cover_the_same_weeks() -> None:
    with pytest.raises(ValueError):
        LoopTrend(
            (REPORT_WEEK,),
            response_rate=(80.0,),
            median_hours_to_answer=(3.0,),
            within_answer_time=(50.0, 60.0),
        )


def test_the_chart_can_be_written_as_svg_and_pdf() -> None:
    assert render_report(one_week_report(), format="svg").lstrip().startswith(b"<?xml")
    assert render_report(one_week_report(), format="pdf").startswith(b"%PDF")


# --- alt text -----------------------------------------------------------------------------


def test_alt_text_gives_each_kpi_its_latest_value_target_and_status() -> None:
    text = alt_text(full_report())

    assert "Sales & marketing alignment, week 2026-W45." in text
    assert "weekly from 2026-W34 to 2026-W45" in text
    assert "Lead conversion rate: 13.5% in 2026-W45, target 14.4%, behind." in text
    assert "Customer acquisition cost: $1,070 in 2026-W45, target $1,020, behind." in text
    assert "Revenue: $1.41M in 2026-W45, target $1.38M, on track." in text
    assert "Customer retention rate: 91.9% in 2026-W45, target 93.5%, behind." in text
    assert "Marketing ROI: 204% in 2026-W45, target 200%, on track." in text


def test_alt_text_lists_campaigns_lowest_first_and_the_answer_trend() -> None:
    text = alt_text(full_report())

    assert text.index("Webinar: Pipeline Acceleration Masterclass Q4 2.1 (week before 2.6)") < (
        text.index("Free trial nurture 2.8")
    )
    assert "Trade show Berlin not rated this week (week before 3.1)" in text
    assert "85% of ratings answered · median 6.0 h to answer" in text


def test_alt_text_says_which_panels_have_no_data() -> None:
    text = alt_text(empty_report())

    assert "Lead conversion rate: no data yet." in text
    assert "Lead score by campaign: no ratings yet." in text
    assert "Marketing answers: no data yet." in text


def test_alt_text_names_the_week_of_an_older_latest_value() -> None:
    data = ReportData(
        week=REPORT_WEEK,
        business=(series("roi", "Marketing ROI", "percent", (150.0, None), target=None),),
        campaigns=(),
        loop=NO_LOOP,
    )
    assert "Marketing ROI: 150% in 2026-W44, no value for 2026-W45." in alt_text(data)


def test_a_kpi_without_a_value_in_the_report_week_is_not_judged_on_an_older_one() -> None:
    data = ReportData(
        week=REPORT_WEEK,
        business=(series("roi", "Marketing ROI", "percent", (250.0, None), target=200.0),),
        campaigns=(),
        loop=NO_LOOP,
    )

    figure = build_figure(data)

    [(word, colour)] = badges(figure)
    assert word == "NO VALUE THIS WEEK"
    assert colour not in (OKABE_ITO_BLUE, OKABE_ITO_VERMILLION)
    assert figure.get_suptitle() == "Sales & marketing alignment · week 2026-W45"


# --- summary of moves ---------------------------------------------------------------------


def test_summary_names_the_kpi_with_the_biggest_relative_move_and_the_weakest_campaign() -> None:
    business = five_kpis(
        {
            "conv": (10.0, 10.5),  # +5%
            "cac": (1000.0, 1400.0),  # +40%: the biggest move, and a bad one
            "rev": (1.0e6, 1.3e6),  # +30%
            "ret": (90.0, 88.0),
            "roi": (200.0, 210.0),
        }
    )
    campaigns = (
        CampaignScore("Newsletter", this_week=3.5, previous_week=3.0, ratings=8),
        CampaignScore("Cold outbound", this_week=1.8, previous_week=2.2, ratings=6),
        CampaignScore("Trade show", this_week=None, previous_week=1.0, ratings=0),
    )
    data = ReportData(week=REPORT_WEEK, business=business, campaigns=campaigns, loop=NO_LOOP)

    assert summary_of_moves(data) == (
        "Customer acquisition cost moved most: it rose 40% from 2026-W44 to 2026-W45, "
        "a setback. Lowest-scoring campaign this week: Cold outbound (1.8 of 5 from 6 ratings)."
    )


def test_summary_calls_a_falling_cost_an_improvement() -> None:
    business = (
        series(
            "cac",
            "Customer acquisition cost",
            "currency",
            (1000.0, 750.0),
            target=None,
            higher_is_better=False,
        ),
        series("revenue", "Revenue", "currency", (1.0e6, 1.1e6), target=None),
    )
    data = ReportData(week=REPORT_WEEK, business=business, campaigns=(), loop=NO_LOOP)

    assert summary_of_moves(data).startswith(
        "Customer acquisition cost moved most: it fell 25% from 2026-W44 to 2026-W45, "
        "an improvement."
    )


def test_summary_skips_kpis_missing_either_of_the_last_two_weeks() -> None:
    business = (
        series("revenue", "Revenue", "currency", (1.0e6, None, 5.0e6), target=None),
        series("roi", "Marketing ROI", "percent", (100.0, 110.0, None), target=None),
        series("retention_rate", "Customer retention rate", "percent", (80.0, 84.0), target=None),
    )
    data = ReportData(week=REPORT_WEEK, business=business, campaigns=(), loop=NO_LOOP)

    assert summary_of_moves(data).startswith("Customer retention rate moved most: it rose 5%")


def test_summary_shows_small_moves_with_one_decimal() -> None:
    business = (series("roi", "Marketing ROI", "percent", (200.0, 200.8), target=None),)
    data = ReportData(week=REPORT_WEEK, business=business, campaigns=(), loop=NO_LOOP)

    assert summary_of_moves(data).startswith("Marketing ROI moved most: it rose 0.4% from")


def test_summary_says_when_nothing_moved() -> None:
    business = (series("roi", "Marketing ROI", "percent", (200.0, 200.0), target=None),)
    data = ReportData(week=REPORT_WEEK, business=business, campaigns=(), loop=NO_LOOP)

    assert summary_of_moves(data).startswith("No KPI moved week over week.")


def test_summary_of_an_empty_report_says_there_is_nothing_to_compare() -> None:
    assert summary_of_moves(empty_report()) == (
        "No KPI has data for two weeks in a row yet. No campaign was rated this week."
    )


# --- properties ---------------------------------------------------------------------------

WEEK_LABELS = st.builds(
    lambda year, week: f"{year}-W{week:02d}", st.integers(2019, 2027), st.integers(1, 52)
)
VALUES = st.none() | st.floats(-1e7, 1e13, allow_nan=False, allow_infinity=False)


@st.composite
def kpi_series(draw: st.DrawFn) -> KpiSeries:
    """A KPI series with a few weeks of random values, gaps and targets."""
    weeks = tuple(draw(st.lists(WEEK_LABELS, max_size=5)))
    return KpiSeries(
        key="kpi",
        label=draw(st.text(max_size=30)),
        unit=draw(st.sampled_from(["percent", "currency"])),
        weeks=weeks,
        actual=tuple(draw(st.lists(VALUES, min_size=len(weeks), max_size=len(weeks)))),
        target=draw(VALUES),
        higher_is_better=draw(st.booleans()),
        status=draw(st.sampled_from(["on track", "behind", "no data", "no target"])),
    )


@st.composite
def loop_trends(draw: st.DrawFn) -> LoopTrend:
    """A loop trend with a few weeks of random rates and hours."""
    weeks = tuple(draw(st.lists(WEEK_LABELS, max_size=5)))
    size = {"min_size": len(weeks), "max_size": len(weeks)}
    rates = st.none() | st.floats(0, 100)
    hours = st.none() | st.floats(0, 1000)
    return LoopTrend(
        weeks=weeks,
        response_rate=tuple(draw(st.lists(rates, **size))),
        median_hours_to_answer=tuple(draw(st.lists(hours, **size))),
    )


SCORES = st.none() | st.floats(1, 5)
REPORTS = st.builds(
    ReportData,
    week=WEEK_LABELS,
    business=st.lists(kpi_series(), max_size=5).map(tuple),
    campaigns=st.lists(
        st.builds(CampaignScore, st.text(max_size=60), SCORES, SCORES, st.integers(0, 500)),
        max_size=12,
    ).map(tuple),
    loop=loop_trends(),
)


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
@settings(max_examples=15, deadline=None)
@given(REPORTS)
def test_rendering_never_fails_on_small_random_reports(data: ReportData) -> None:
    assert rendered(data).startswith(PNG_SIGNATURE)


@given(REPORTS)
def test_text_descriptions_never_fail_on_random_reports(data: ReportData) -> None:
    assert alt_text(data).startswith(data.title)
    assert summary_of_moves(data)
