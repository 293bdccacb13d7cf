"""Server-rendered showback pages: a team's spend, the organisation overview, the statement CSV."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.billing.selectors import month_reconciliation
from apps.budgets.models import Alert, Anomaly
from apps.budgets.selectors import (
    BudgetStatus,
    Outlook,
    anomalies_for,
    organisation_budget_status,
    outlook,
    product_budget_statuses,
    provider_projection,
    team_budget_status,
)
from apps.budgets.services import anomaly_acknowledge
from apps.org.models import Team, TeamMembership
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


def _burn_chart(outlook: Outlook, budget: BudgetStatus | None) -> str:
    forecast = outlook.forecast
    return charts.to_html(
        charts.burn(
            outlook.daily,
            forecast.daily if forecast else [],
            budget=budget.amount if budget else None,
            band=(forecast.low, forecast.high) if forecast else None,
        )
    )


def _can_acknowledge(user, team: Team | None) -> bool:
    """Leads own their team's anomalies; finance and admins any. Members only read."""
    return user_sees_all_teams(user) or (
        team is not None and team.memberships.filter(user=user, role=TeamMembership.Role.LEAD).exists()
    )


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
    customer_spend = selectors.team_customer_spend(team=team, period=period)
    agents = [r for r in selectors.team_breakdown(team=team, period=period, dimension="agent") if r.value]
    customers = selectors.team_customers(spend=customer_spend, period=period)
    trend = selectors.team_trend(team=team, end=period.end)
    monthly = selectors.team_monthly(team=team, period=period)
    today = timezone.now().date()
    headline = selectors.team_headline(team=team, period=period, today=today)
    budget = team_budget_status(team=team, month_start=period.start, month_end=period.month_end, today=today)
    context = {
        "team": team,
        "period": period,
        "grain": grain,
        "grains": charts.GRAINS,
        "headline": headline,
        "budget": budget,
        "outlook": headline.outlook,
        "product_budgets": product_budget_statuses(
            team=team, month_start=period.start, month_end=period.month_end, today=today
        ),
        "anomalies": anomalies_for(team=team, since=period.start, until=period.month_end),
        "can_acknowledge": _can_acknowledge(request.user, team),
        "breakdowns": breakdowns,
        "customers": customers,
        "agents": agents,
        "unit": selectors.team_unit_economics(team=team, period=period, customers=customer_spend),
        "allocations": selectors.team_allocations(team=team, period=period),
        "monthly": monthly,
        "charts": {
            "burn": _burn_chart(budget.outlook if budget else headline.outlook, budget),
            "customers": charts.to_html(
                charts.bar([c.name or c.customer for c in customers], [c.cost for c in customers])
            ),
            "agents": charts.to_html(charts.bar([a.label for a in agents], [a.cost for a in agents])),
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


def _text_cell(text: str) -> str:
    """Model names and tags come from clients: one starting like a formula is quoted, so a
    spreadsheet opening the statement shows it rather than evaluating it."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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
                _text_cell(line.product),
                _text_cell(line.model),
                _text_cell(line.environment),
                _text_cell(line.rule),
                line.requests,
                line.input_tokens,
                line.output_tokens,
                "" if line.list_cost is None else f"{line.list_cost:f}",
                f"{line.amount:f}",
            ]
        )
    total = sum((line.amount for line in lines), selectors.ZERO)
    writer.writerow(["total", "", "", "", "", "", "", "", "", f"{total:f}"])
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
    today = timezone.now().date()
    budget = organisation_budget_status(month_start=period.start, month_end=period.month_end, today=today)
    org_outlook = (
        budget.outlook if budget else outlook(month_start=period.start, month_end=period.month_end, today=today)
    )
    projection = provider_projection(today=today) if period.is_running else {}
    model_mix = org.overview_model_mix(period=period)
    ranked = [t for t in ranks if t.total]
    context = {
        "period": period,
        "budget": budget,
        "outlook": org_outlook,
        "ranks": ranks,
        "reconciliation": reconciliation,
        "concentration": org.overview_concentration(ranks=ranks, period=period),
        "gaps": org.overview_unattributed(period=period),
        "model_mix": model_mix,
        "movers": org.overview_movers(end=period.end),
        "unpriced": org.overview_unpriced(period=period),
        "anomalies": anomalies_for(team=None, since=period.start, until=period.month_end),
        "can_acknowledge": True,
        "projection": projection,
        "invoice": month_reconciliation(start=period.start, end=period.month_end),
        "projection_months": [month for month, _ in next(iter(projection.values()), [])],
        "charts": {
            "burn": _burn_chart(org_outlook, budget),
            "teams": charts.to_html(charts.bar([t.name for t in ranked], [t.total for t in ranked])),
            "models": charts.to_html(charts.share_pie([m for m, _ in model_mix[:10]], [c for _, c in model_mix[:10]])),
        },
    }
    return render(request, "showback/overview.html", context)


@login_required
def team_alerts(request, slug: str):
    team = _team_for(request, slug)
    alerts = Alert.objects.filter(team=team).prefetch_related("deliveries")[:200]
    return render(request, "showback/alerts.html", {"team": team, "alerts": alerts})


@require_POST
@login_required
def anomaly_acknowledge_view(request, pk: int):
    anomaly = get_object_or_404(Anomaly, pk=pk)
    if not _can_acknowledge(request.user, anomaly.team):
        raise PermissionDenied("Only the team's leads, finance and admins can acknowledge an anomaly.")
    anomaly_acknowledge(anomaly=anomaly, user=request.user)
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(back)
    return redirect("showback:home")
