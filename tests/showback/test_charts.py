"""Chart functions are pure: rows in, a Plotly figure out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
    assert figure.layout.barmode == "stack"
    traces = {t.name: (list(t.x), list(t.y)) for t in figure.data}
    assert traces["answers"] == ([date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 9)], [1.5, 2.5, 4.0])
    assert traces["Shared costs (allocated)"] == (
        [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 9)],
        [0.0, 1.0, 0.0],
    )


def test_weekly_trend_sums_days_into_their_monday():
    figure = charts.stacked_trend(POINTS, grain="weekly")
    answers = next(t for t in figure.data if t.name == "answers")
    assert list(answers.x) == [date(2026, 3, 2), date(2026, 3, 9)]
    assert list(answers.y) == [4.0, 4.0]


def test_monthly_trend_sums_the_month():
    figure = charts.stacked_trend(POINTS, grain="monthly")
    assert {t.name: list(t.y) for t in figure.data} == {"answers": [8.0], "Shared costs (allocated)": [1.0]}


def test_trend_puts_the_largest_series_first():
    assert [t.name for t in charts.stacked_trend(POINTS).data] == ["answers", "Shared costs (allocated)"]


def test_trend_refuses_an_unknown_grain():
    with pytest.raises(ValueError, match="grain"):
        charts.stacked_trend(POINTS, grain="hourly")


def test_bar_highlights_the_marked_rows():
    figure = charts.bar(["production", "development"], [Decimal("3"), Decimal("1")], highlight=[False, True])
    (trace,) = figure.data
    assert list(trace.y) == ["production", "development"]
    assert list(trace.x) == [3.0, 1.0]
    assert list(trace.marker.color) == ["#2b6cb0", "#d9822b"]


def test_monthly_totals_label_months():
    figure = charts.monthly_totals([date(2026, 1, 1), date(2026, 2, 1)], [Decimal("10"), Decimal("12.5")])
    assert list(figure.data[0].x) == ["Jan 2026", "Feb 2026"]
    assert list(figure.data[0].y) == [10.0, 12.5]


def test_pie_keeps_the_given_order():
    figure = charts.share_pie(["a", "b"], [Decimal("2"), Decimal("1")])
    assert list(figure.data[0].labels) == ["a", "b"]
    assert list(figure.data[0].values) == [2.0, 1.0]


def test_html_leaves_plotly_js_to_the_static_file():
    html = charts.to_html(charts.bar(["a"], [Decimal("1")]))
    assert html.startswith("<div")
    assert "Plotly.newPlot" in html
    assert "plotly.min.js" not in html and "cdn" not in html.lower()
