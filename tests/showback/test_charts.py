"""Chart functions are pure: rows in, a Plotly figure out."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from html import unescape

import pytest

from apps.showback import charts

POINTS = [
    (date(2026, 3, 2), "answers", Decimal("1.50")),  # a Monday
    (date(2026, 3, 3), "answers", Decimal("2.50")),
    (date(2026, 3, 3), "Shared costs (allocated)", Decimal("1.00")),
    (date(2026, 3, 9), "answers", Decimal("4.00")),  # the next Monday
]


def test_daily_trend_stacks_one_bar_trace_per_series():
    figure = charts.stacked_trend(POINTS)
    assert figure["layout"]["barmode"] == "stack"
    traces = {t["name"]: (list(t["x"]), list(t["y"])) for t in figure["data"]}
    assert traces["answers"] == ([date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 9)], [1.5, 2.5, 4.0])
    assert traces["Shared costs (allocated)"] == (
        [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 9)],
        [0.0, 1.0, 0.0],
    )


def test_weekly_trend_sums_days_into_their_monday():
    figure = charts.stacked_trend(POINTS, grain="weekly")
    answers = next(t for t in figure["data"] if t["name"] == "answers")
    assert answers["x"] == [date(2026, 3, 2), date(2026, 3, 9)]
    assert answers["y"] == [4.0, 4.0]


def test_monthly_trend_sums_the_month():
    figure = charts.stacked_trend(POINTS, grain="monthly")
    assert {t["name"]: t["y"] for t in figure["data"]} == {"answers": [8.0], "Shared costs (allocated)": [1.0]}


def test_trend_puts_the_largest_series_first():
    assert [t["name"] for t in charts.stacked_trend(POINTS)["data"]] == ["answers", "Shared costs (allocated)"]


def test_trend_refuses_an_unknown_grain():
    with pytest.raises(ValueError, match="grain"):
        charts.stacked_trend(POINTS, grain="hourly")


def test_bar_highlights_the_marked_rows():
    figure = charts.bar(["production", "development"], [Decimal("3"), Decimal("1")], highlight=[False, True])
    (trace,) = figure["data"]
    assert trace["y"] == ["production", "development"]
    assert trace["x"] == [3.0, 1.0]
    assert trace["marker"]["color"] == ["#2b6cb0", "#d9822b"]


def test_monthly_totals_label_months():
    figure = charts.monthly_totals([date(2026, 1, 1), date(2026, 2, 1)], [Decimal("10"), Decimal("12.5")])
    assert figure["data"][0]["x"] == ["Jan 2026", "Feb 2026"]
    assert figure["data"][0]["y"] == [10.0, 12.5]


def test_pie_keeps_the_given_order():
    figure = charts.share_pie(["a", "b"], [Decimal("2"), Decimal("1")])
    assert figure["data"][0]["labels"] == ["a", "b"]
    assert figure["data"][0]["values"] == [2.0, 1.0]


def test_html_carries_the_figure_as_escaped_json_and_no_script():
    figure = charts.bar(["<script>alert(1)</script>"], [Decimal("1")])
    html = charts.to_html(figure)
    assert html.startswith('<div class="plot" data-figure="')
    assert "<script" not in html and "plotly.min.js" not in html and "cdn" not in html.lower()
    carried = json.loads(unescape(html.split('data-figure="')[1].split('"></div>')[0]))
    assert carried["data"][0]["y"] == ["<script>alert(1)</script>"]


def test_burn_accumulates_actual_then_forecast_and_draws_the_budget():
    figure = charts.burn(
        [(date(2026, 3, 1), Decimal("10")), (date(2026, 3, 2), Decimal("5"))],
        [(date(2026, 3, 3), Decimal("7")), (date(2026, 3, 4), Decimal("8"))],
        budget=Decimal("40"),
        band=(Decimal("28"), Decimal("32")),
    )
    traces = {t["name"]: (t["x"], t["y"]) for t in figure["data"]}
    assert traces["Actual"] == ([date(2026, 3, 1), date(2026, 3, 2)], [10.0, 15.0])
    assert traces["Forecast"] == ([date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)], [15.0, 22.0, 30.0])
    assert traces["Forecast range"][1] == [28.0, 32.0]
    assert traces["Budget"] == ([date(2026, 3, 1), date(2026, 3, 4)], [40.0, 40.0])


def test_burn_counts_today_once_when_the_forecast_covers_it():
    # Today (2 March) has spent $5 so far and is forecast at $7: the forecast line takes over
    # from the last complete day and ends at 10 + 7 + 8.
    figure = charts.burn(
        [(date(2026, 3, 1), Decimal("10")), (date(2026, 3, 2), Decimal("5"))],
        [(date(2026, 3, 2), Decimal("7")), (date(2026, 3, 3), Decimal("8"))],
        budget=None,
    )
    traces = {t["name"]: (t["x"], t["y"]) for t in figure["data"]}
    assert traces["Actual"] == ([date(2026, 3, 1), date(2026, 3, 2)], [10.0, 15.0])
    assert traces["Forecast"] == ([date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)], [10.0, 17.0, 25.0])


def test_monthly_trend_ticks_name_each_month_and_mark_a_partial_one():
    figure = charts.stacked_trend(POINTS, grain="monthly", start=date(2026, 3, 2), end=date(2026, 3, 31))
    assert figure["layout"]["xaxis"]["tickvals"] == [date(2026, 3, 1)]
    # The window begins on the 2nd: March is not all there.
    assert figure["layout"]["xaxis"]["ticktext"] == ["Mar 2026 (partial)"]


def test_a_whole_week_is_not_partial_but_the_running_one_is():
    figure = charts.stacked_trend(POINTS, grain="weekly", start=date(2026, 3, 2), end=date(2026, 3, 10), running=True)
    assert figure["layout"]["xaxis"]["ticktext"] == ["Week of 2 Mar", "Week of 9 Mar (partial)"]
    assert figure["data"][0]["marker"]["pattern"]["shape"] == ["", "/"]


def test_tooltips_show_money_and_the_series_name():
    trace = charts.stacked_trend(POINTS)["data"][0]
    assert trace["hovertemplate"] == "%{customdata}<br>%{fullData.name}: %{y:$,.2f}<extra></extra>"
    assert charts.bar(["Answers"], [Decimal("1234.5")])["data"][0]["hovertemplate"] == "%{y}: %{x:$,.2f}<extra></extra>"
    assert "%{value:$,.2f}" in charts.share_pie(["a"], [Decimal(1)])["data"][0]["hovertemplate"]


def test_the_running_month_is_labelled_partial():
    figure = charts.monthly_totals([date(2026, 10, 1), date(2026, 11, 1)], [Decimal(1), Decimal(2)], running=True)
    assert figure["data"][0]["x"] == ["Oct 2026", "Nov 2026 (partial)"]


def test_pie_labels_sit_level_inside_their_slices():
    trace = charts.share_pie(["a", "b"], [Decimal(1), Decimal(2)])["data"][0]
    assert (trace["textinfo"], trace["textposition"], trace["insidetextorientation"]) == (
        "percent",
        "inside",
        "horizontal",
    )


def test_an_empty_chart_says_so_instead_of_drawing_axes():
    zero = charts.burn([(date(2026, 3, 2), Decimal(0))], [], budget=None)
    assert charts.to_html(zero) == '<p class="chart-empty muted">No spend to chart for this period.</p>'
    assert charts.to_html(charts.bar([], [])).startswith('<p class="chart-empty')
    assert charts.to_html(charts.bar(["a"], [Decimal(1)])).startswith('<div class="plot"')


def test_each_trend_bar_links_to_the_days_it_covers():
    figure = charts.stacked_trend(POINTS, grain="weekly", end=date(2026, 3, 10))
    assert figure["data"][0]["meta"]["links"] == [
        "?start=2026-03-02&end=2026-03-08",
        "?start=2026-03-09&end=2026-03-10",
    ]
