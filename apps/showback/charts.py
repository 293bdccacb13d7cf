"""Plotly figures from plain rows. Pure: no ORM here; the selectors fetch, these only draw."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import plotly.graph_objects as go

GRAINS = ("daily", "weekly", "monthly")
_LAYOUT = {
    "margin": {"l": 50, "r": 10, "t": 30, "b": 40},
    "height": 320,
    "template": "plotly_white",
    "legend": {"orientation": "h", "y": -0.2},
}


def _money(values: Sequence[Decimal]) -> list[float]:
    # Plotly draws floats; the exact figures are in the tables next to every chart.
    return [float(v) for v in values]


def bucket_start(day: date, grain: str) -> date:
    if grain == "weekly":
        return day - timedelta(days=day.weekday())
    if grain == "monthly":
        return day.replace(day=1)
    return day


def stacked_trend(points: Sequence[tuple[date, str, Decimal]], *, grain: str = "daily") -> go.Figure:
    """Spend over time stacked by series (product, or shared costs), summed to the grain."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    totals: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for day, series, cost in points:
        totals[series][bucket_start(day, grain)] += cost
    buckets = sorted({b for series in totals.values() for b in series})
    figure = go.Figure(layout={**_LAYOUT, "barmode": "stack", "yaxis": {"tickprefix": "$"}})
    for series in sorted(totals, key=lambda s: -sum(totals[s].values())):
        figure.add_bar(name=series, x=buckets, y=_money([totals[series].get(b, Decimal(0)) for b in buckets]))
    return figure


def bar(labels: Sequence[str], costs: Sequence[Decimal], *, highlight: Sequence[bool] | None = None) -> go.Figure:
    """Horizontal bars, largest on top; `highlight` marks bars to draw in the warning colour."""
    colours = ["#d9822b" if h else "#2b6cb0" for h in highlight] if highlight else "#2b6cb0"
    figure = go.Figure(layout={**_LAYOUT, "xaxis": {"tickprefix": "$"}, "yaxis": {"autorange": "reversed"}})
    figure.add_bar(x=_money(costs), y=list(labels), orientation="h", marker={"color": colours})
    return figure


def monthly_totals(months: Sequence[date], totals: Sequence[Decimal]) -> go.Figure:
    figure = go.Figure(layout={**_LAYOUT, "yaxis": {"tickprefix": "$"}})
    figure.add_bar(x=[m.strftime("%b %Y") for m in months], y=_money(totals))
    return figure


def share_pie(labels: Sequence[str], costs: Sequence[Decimal]) -> go.Figure:
    figure = go.Figure(layout={**_LAYOUT, "height": 300})
    figure.add_pie(labels=list(labels), values=_money(costs), hole=0.4, sort=False)
    return figure


def to_html(figure: go.Figure) -> str:
    """A <div> for the page; plotly.js itself is served once from static files."""
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displayModeBar": False, "responsive": True})


def burn(
    actual: Sequence[tuple[date, Decimal]],
    forecast: Sequence[tuple[date, Decimal]],
    *,
    budget: Decimal | None,
    band: tuple[Decimal, Decimal] | None = None,
) -> go.Figure:
    """Cumulative spend through the month: actual to date, the forecast to month end, the budget."""
    figure = go.Figure(layout={**_LAYOUT, "yaxis": {"tickprefix": "$"}})
    running, actual_x, actual_y = Decimal(0), [], []
    for day, cost in actual:
        running += cost
        actual_x.append(day)
        actual_y.append(running)
    figure.add_scatter(name="Actual", x=actual_x, y=_money(actual_y), mode="lines", line={"width": 3})
    if forecast:
        forecast_x, forecast_y = ([actual_x[-1]], [actual_y[-1]]) if actual_x else ([], [])
        for day, cost in forecast:
            running += cost
            forecast_x.append(day)
            forecast_y.append(running)
        figure.add_scatter(name="Forecast", x=forecast_x, y=_money(forecast_y), mode="lines", line={"dash": "dash"})
        if band:
            figure.add_scatter(
                name="Forecast range",
                x=[forecast_x[-1]] * 2,
                y=_money(band),
                mode="markers+lines",
                line={"color": "#999"},
                marker={"symbol": "line-ew-open", "size": 12},
            )
    if budget is not None:
        days = [d for d, _ in actual] + [d for d, _ in forecast]
        if days:
            figure.add_scatter(
                name="Budget",
                x=[min(days), max(days)],
                y=_money([budget, budget]),
                mode="lines",
                line={"color": "#c05621"},
            )
    return figure
