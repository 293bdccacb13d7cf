"""Server-rendered showback pages: a team's spend, the organisation overview, the statement CSV."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render

from apps.org.models import Team
from apps.org.selectors import teams_visible_to, user_can_view_team, user_sees_all_teams

from . import charts
from .periods import MonthPeriod
from .selectors import overview as org
from .selectors import team as selectors


def _period(request) -> MonthPeriod:
    return MonthPeriod.parse(request.GET.get("month"))


def _team_for(request, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not user_can_view_team(request.user, team):
        raise PermissionDenied("You can see the pages of your own teams only.")
    return team


@login_required
def home(request):
    if user_sees_all_teams(request.user):
        return redirect("showback:overview")
    team = teams_visible_to(request.user).first()
    if team is None:
        raise PermissionDenied("You are not in any team yet; ask an admin to add you.")
    return redirect("showback:team", slug=team.slug)


@login_required
def team_page(request, slug: str):
    team = _team_for(request, slug)
    try:
        period = _period(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    grain = request.GET.get("grain", "daily")
    if grain not in charts.GRAINS:
        return HttpResponseBadRequest(f"grain must be one of {', '.join(charts.GRAINS)}.")

    breakdowns = {
        d: selectors.team_breakdown(team=team, period=period, dimension=d)
        for d in ("product", "feature", "model", "environment")
    }
    agents = [r for r in selectors.team_breakdown(team=team, period=period, dimension="agent") if r.traces or r.label]
    trend = selectors.team_trend(team=team, end=period.end)
    monthly = selectors.team_monthly(team=team, period=period)
    context = {
        "team": team,
        "period": period,
        "grain": grain,
        "grains": charts.GRAINS,
        "headline": selectors.team_headline(team=team, period=period),
        "breakdowns": breakdowns,
        "customers": selectors.team_customers(team=team, period=period),
        "agents": agents,
        "unit": selectors.team_unit_economics(team=team, period=period),
        "allocations": selectors.team_allocations(team=team, period=period),
        "monthly": monthly,
        "charts": {
            "trend": charts.to_html(charts.stacked_trend([(p.day, p.series, p.cost) for p in trend], grain=grain)),
            "monthly": charts.to_html(
                charts.monthly_totals([r.key["month"] for r in monthly], [r.total for r in monthly])
            ),
            **{
                d: charts.to_html(
                    charts.bar(
                        [r.label for r in rows[:15]],
                        [r.cost for r in rows[:15]],
                        highlight=[not r.is_production for r in rows[:15]] if d == "environment" else None,
                    )
                )
                for d, rows in breakdowns.items()
                if rows
            },
        },
    }
    return render(request, "showback/team.html", context)


@login_required
def team_statement_csv(request, slug: str):
    team = _team_for(request, slug)
    try:
        period = _period(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    lines = selectors.team_statement(team=team, period=period)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-{period.key}-statement.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "kind",
            "product",
            "model",
            "environment",
            "rule",
            "requests",
            "input_tokens",
            "output_tokens",
            "list_cost_usd",
            "amount_usd",
        ]
    )
    for line in lines:
        writer.writerow(
            [
                line.kind,
                line.product,
                line.model,
                line.environment,
                line.rule,
                line.requests,
                line.input_tokens,
                line.output_tokens,
                "" if line.list_cost is None else line.list_cost,
                line.amount,
            ]
        )
    writer.writerow(["total", "", "", "", "", "", "", "", "", sum((line.amount for line in lines), selectors.ZERO)])
    return response


@login_required
def overview(request):
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("The organisation overview is for finance and admins.")
    try:
        period = _period(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    ranks, reconciliation = org.overview_teams(period=period)
    model_mix = org.overview_model_mix(period=period)
    ranked = [t for t in ranks if t.total]
    context = {
        "period": period,
        "ranks": ranks,
        "reconciliation": reconciliation,
        "concentration": org.overview_concentration(ranks=ranks, period=period),
        "gaps": org.overview_unattributed(period=period),
        "model_mix": model_mix,
        "movers": org.overview_movers(end=period.end),
        "unpriced": org.overview_unpriced(period=period),
        "charts": {
            "teams": charts.to_html(charts.bar([t.name for t in ranked], [t.total for t in ranked])),
            "models": charts.to_html(charts.share_pie([m for m, _ in model_mix[:10]], [c for _, c in model_mix[:10]])),
        },
    }
    return render(request, "showback/overview.html", context)
