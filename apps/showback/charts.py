"""Plotly figures from plain rows. Pure: no ORM here; the selectors fetch, these only draw.

Figures are plain dicts in Plotly's JSON schema rather than `graph_objects`, whose validation
cost ~45 ms per team page (docs/benchmarks.md, "Pages profile"); plotly.js draws them the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import plotly.io
from django.utils.html import format_html

Figure = dict
GRAINS = ("daily", "weekly", "monthly")
_GRID = {"gridcolor": "#edf2f7", "zerolinecolor": "#e2e8f0"}
_LAYOUT = {
    "margin": {"l": 50, "r": 10, "t": 30, "b": 40},
    "height": 320,
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"color": "#2a3f5f"},
    "legend": {"orientation": "h", "y": -0.2},
    "xaxis": _GRID,
    "yaxis": _GRID,
}
BLUE, ORANGE, GREY = "#2b6cb0", "#d9822b", "#999999"
_MONEY_AXIS = {"tickprefix": "$", "tickformat": ",.2~f"}
_MONEY_HOVER = "%{y:$,.2f}<extra>%{fullData.name}</extra>"


def _money(values: Sequence[Decimal]) -> list[float]:
    # Plotly draws floats; the exact figures are in the tables next to every chart.
    return [float(v) for v in values]


def _figure(data: list[dict], **layout) -> Figure:
    merged = {**_LAYOUT, **layout}
    for axis in ("xaxis", "yaxis"):
        merged[axis] = {**_GRID, **layout.get(axis, {})}
    return {"data": data, "layout": merged}


def bucket_start(day: date, grain: str) -> date:
    if grain == "weekly":
        return day - timedelta(days=day.weekday())
    if grain == "monthly":
        return day.replace(day=1)
    return day


def bucket_end(start: date, grain: str) -> date:
    if grain == "weekly":
        return start + timedelta(days=6)
    if grain == "monthly":
        return (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return start


def bucket_label(start: date, grain: str, *, partial: bool = False) -> str:
    """`Nov 2026`, `Week of 24 Nov`, `24 Nov 2026`: a bucket named by what it covers."""
    label = {"monthly": f"{start:%b %Y}", "weekly": f"Week of {start.day} {start:%b}"}.get(
        grain, f"{start.day} {start:%b %Y}"
    )
    return f"{label} (partial)" if partial else label


def stacked_trend(
    points: Sequence[tuple[date, str, Decimal]],
    *,
    grain: str = "daily",
    start: date | None = None,
    end: date | None = None,
    running: bool = False,
) -> Figure:
    """Spend over time stacked by series (product, or shared costs), summed to the grain.

    A bucket the window `start`..`end` only partly covers (or the running day at its end) is
    hatched and labelled partial: a half week is not a quiet week."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    totals: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for day, series, cost in points:
        totals[series][bucket_start(day, grain)] += cost
    buckets = sorted({b for series in totals.values() for b in series})

    def partial(bucket: date) -> bool:
        cut_at_start = start is not None and bucket < start
        cut_at_end = (
            end is not None
            and bucket <= end <= bucket_end(bucket, grain)
            and (running or end < bucket_end(bucket, grain))
        )
        return cut_at_start or cut_at_end

    labels = [bucket_label(b, grain, partial=partial(b)) for b in buckets]
    hatch = ["/" if partial(b) else "" for b in buckets]
    data = [
        {
            "type": "bar",
            "name": series,
            "x": buckets,
            "y": _money([totals[series].get(b, Decimal(0)) for b in buckets]),
            "customdata": labels,
            "hovertemplate": "%{customdata}<br>%{fullData.name}: %{y:$,.2f}<extra></extra>",
            "marker": {"pattern": {"shape": hatch}},
            # A bar opens the team's spend in its days (apps.showback.selectors.drilldown).
            "meta": {"links": [f"?start={b}&end={min(bucket_end(b, grain), end or b)}" for b in buckets]},
        }
        for series in sorted(totals, key=lambda s: -sum(totals[s].values()))
    ]
    # Ticks at the buckets themselves: automatic date ticks put a month's bar under "Oct 31".
    xaxis = {"type": "date", "tickmode": "array", "tickvals": buckets, "ticktext": labels} if grain != "daily" else {}
    return _figure(data, barmode="stack", yaxis=_MONEY_AXIS, xaxis=xaxis)


def bar(
    labels: Sequence[str],
    costs: Sequence[Decimal],
    *,
    highlight: Sequence[bool] | None = None,
    links: Sequence[str] | None = None,
) -> Figure:
    """Horizontal bars, largest on top; `highlight` marks bars to draw in the warning colour;
    `links`, one a bar, are where static/js/charts.js goes when a bar is clicked."""
    colours = [ORANGE if h else BLUE for h in highlight] if highlight else BLUE
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": _money(costs),
            "y": list(labels),
            "marker": {"color": colours},
            "hovertemplate": "%{y}: %{x:$,.2f}<extra></extra>",
            **({"meta": {"links": list(links)}} if links else {}),
        }
    ]
    return _figure(data, xaxis=_MONEY_AXIS, yaxis={"autorange": "reversed", "automargin": True})


def daily_trend(days: Sequence[tuple[date, Decimal]]) -> Figure:
    """A bar per day of a drill-down's range."""
    data = [
        {
            "type": "bar",
            "x": [d.isoformat() for d, _ in days],
            "y": _money([c for _, c in days]),
            "marker": {"color": BLUE},
            "hovertemplate": "%{x|%-d %b}: %{y:$,.2f}<extra></extra>",
        }
    ]
    return _figure(data, yaxis=_MONEY_AXIS, xaxis={"type": "date"})


def monthly_totals(months: Sequence[date], totals: Sequence[Decimal], *, running: bool = False) -> Figure:
    """A bar per month; the running month, last, is hatched and labelled partial."""
    last = len(months) - 1
    labels = [bucket_label(m, "monthly", partial=running and i == last) for i, m in enumerate(months)]
    data = [
        {
            "type": "bar",
            "name": "Total",
            "x": labels,
            "y": _money(totals),
            "marker": {"color": BLUE, "pattern": {"shape": ["/" if "(partial)" in x else "" for x in labels]}},
            "hovertemplate": "%{x}: %{y:$,.2f}<extra></extra>",
        }
    ]
    return _figure(data, yaxis=_MONEY_AXIS)


def share_pie(labels: Sequence[str], costs: Sequence[Decimal], *, links: Sequence[str] | None = None) -> Figure:
    data = [
        {
            "type": "pie",
            "labels": list(labels),
            "values": _money(costs),
            "hole": 0.4,
            "sort": False,
            # Names go in the legend; a slice carries only its share, level and inside it.
            "textinfo": "percent",
            "textposition": "inside",
            "insidetextorientation": "horizontal",
            "hovertemplate": "%{label}: %{value:$,.2f} (%{percent})<extra></extra>",
            **({"meta": {"links": list(links)}} if links else {}),
        }
    ]
    return _figure(data, height=340, uniformtext={"minsize": 11, "mode": "hide"})


def burn(
    actual: Sequence[tuple[date, Decimal]],
    forecast: Sequence[tuple[date, Decimal]],
    *,
    budget: Decimal | None,
    band: tuple[Decimal, Decimal] | None = None,
) -> Figure:
    """Cumulative spend through the month: actual to date, the forecast to month end, the budget."""
    running, actual_x, actual_y = Decimal(0), [], []
    for day, cost in actual:
        running += cost
        actual_x.append(day)
        actual_y.append(running)
    data = [{"type": "scatter", "name": "Actual", "x": actual_x, "y": _money(actual_y), "mode": "lines",
             "line": {"width": 3, "color": BLUE}, "hovertemplate": _MONEY_HOVER}]  # fmt: skip
    if forecast:
        # The forecast covers today, which the actual line holds half-spent: it starts from the
        # last complete day, so today is counted once and the line ends at the forecast total.
        complete = [(d, y) for d, y in zip(actual_x, actual_y, strict=True) if d < forecast[0][0]]
        forecast_x, forecast_y = ([complete[-1][0]], [complete[-1][1]]) if complete else ([], [])
        running = forecast_y[0] if complete else Decimal(0)
        for day, cost in forecast:
            running += cost
            forecast_x.append(day)
            forecast_y.append(running)
        data.append({"type": "scatter", "name": "Forecast", "x": forecast_x, "y": _money(forecast_y),
                     "mode": "lines", "line": {"dash": "dash", "color": BLUE},
                     "hovertemplate": _MONEY_HOVER})  # fmt: skip
        if band:
            data.append({"type": "scatter", "name": "Forecast range", "x": [forecast_x[-1]] * 2, "y": _money(band),
                         "mode": "markers+lines", "line": {"color": GREY},
                         "marker": {"symbol": "line-ew-open", "size": 12}})  # fmt: skip
    days = [d for d, _ in actual] + [d for d, _ in forecast]
    if budget is not None and days:
        data.append({"type": "scatter", "name": "Budget", "x": [min(days), max(days)],
                     "y": _money([budget, budget]), "mode": "lines", "line": {"color": ORANGE},
                     "hovertemplate": _MONEY_HOVER})  # fmt: skip
    return _figure(data, yaxis=_MONEY_AXIS)


def outlook_burn(outlook, budget) -> Figure:
    """The burn chart of a month's outlook, against its budget when it has one."""
    forecast = outlook.forecast
    return burn(
        outlook.daily,
        forecast.daily if forecast else [],
        budget=budget.amount if budget else None,
        band=(forecast.low, forecast.high) if forecast else None,
    )


def breakdown_bar(rows, *, dimension: str, limit: int = 15, drill=None) -> Figure:
    rows = rows[:limit]
    highlight = [not r.is_production for r in rows] if dimension == "environment" else None
    links = [drill.link(**{dimension: r.value}) for r in rows] if drill else None
    return bar([r.label for r in rows], [r.cost for r in rows], highlight=highlight, links=links)


def drill_bar(rows) -> Figure:
    """A drill-down's breakdown (apps.showback.selectors.drilldown.DrillRow), each bar a link deeper."""
    return bar([r.label for r in rows], [r.cost for r in rows], links=[r.link for r in rows])


def team_charts(page, *, grain: str, drill=None) -> dict[str, Figure]:
    """Every chart of a team's page, from the page's rows (apps.showback.selectors.team_page);
    with `drill` (the month's DrillQuery) every bar links to the view it summarises."""
    customers, agents = page.customers, page.agents
    return {
        "burn": outlook_burn(page.outlook, page.budget),
        "customers": bar(
            [c.name or c.customer for c in customers],
            [c.cost for c in customers],
            links=[drill.link(customer=c.customer) for c in customers] if drill else None,
        ),
        "agents": bar(
            [a.label for a in agents],
            [a.cost for a in agents],
            links=[drill.link(agent=a.value) for a in agents] if drill else None,
        ),
        "trend": stacked_trend(
            [(p.day, p.series, p.cost) for p in page.trend],
            grain=grain,
            start=page.trend_start,
            end=page.period.end,
            running=page.period.is_running,
        ),
        "monthly": monthly_totals(
            [r.key["month"] for r in page.monthly], [r.total for r in page.monthly], running=page.period.is_running
        ),
        **{d: breakdown_bar(rows, dimension=d, drill=drill) for d, rows in page.breakdowns.items() if rows},
    }


def is_empty(figure: Figure) -> bool:
    """Nothing to draw: no trace has a non-zero value (plotly.js would draw bare −1…1 axes)."""
    for trace in figure["data"]:
        values = trace.get("values") or (trace.get("x") if trace.get("orientation") == "h" else trace.get("y")) or []
        if any(values):
            return False
    return True


def to_html(figure: Figure, *, empty: str = "No spend to chart for this period.") -> str:
    """A <div> carrying its figure as JSON; static/js/charts.js draws it with plotly.js, so the
    pages need no inline script (the Content-Security-Policy allows none). An empty figure is
    said in words instead."""
    if is_empty(figure):
        return format_html('<p class="chart-empty muted">{}</p>', empty)
    return format_html('<div class="plot" data-figure="{}"></div>', plotly.io.to_json(figure, validate=False))
