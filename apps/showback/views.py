"""Server-rendered showback pages: a team's spend, the organisation overview, the statement CSV."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.billing.selectors import month_reconciliation, unmapped_scopes
from apps.billing.services import scope_map
from apps.billing.tasks import refresh_dirty_days_later
from apps.budgets.changes import team_what_changed
from apps.budgets.models import Alert, Anomaly
from apps.budgets.selectors import organisation_budget_status, outlook, provider_projection
from apps.budgets.services import anomaly_acknowledge
from apps.gateway.selectors import team_model_rule_counts
from apps.insights.selectors import team_savings
from apps.org.models import Team, TeamMembership
from apps.org.selectors import teams_visible_to, user_can_view_team, user_sees_all_teams
from attribution_site.periods import MonthPeriod

from . import charts, display, exports
from .selectors import overview as org
from .selectors import team as selectors
from .selectors.adjustments import month_adjustments
from .selectors.drilldown import FIELDS as DRILL_FIELDS
from .selectors.drilldown import DrillQuery, drill_daily, drill_what_changed, team_drilldown
from .selectors.incidents import incidents_for
from .selectors.people import team_coding_agents, top_spenders
from .selectors.team_page import team_page as team_page_data


def error_page(request, message: str, *, status: int = 400):
    """A styled error page; the message (often repeating the client's input) is escaped."""
    return render(request, "error.html", {"message": message}, status=status)


def month_view(view):
    """A page of one month: `?month=YYYY-MM` is parsed once, and a bad month gets the error page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            period = MonthPeriod.parse(request.GET.get("month"))
        except ValueError as exc:
            return error_page(request, str(exc))
        return view(request, *args, period=period, **kwargs)

    return wrapper


def _team_for(request, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not user_can_view_team(request.user, team):
        raise PermissionDenied("You can see the pages of your own teams only.")
    return team


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
@month_view
def team_page(request, slug: str, period: MonthPeriod):
    team = _team_for(request, slug)
    if _is_drilldown(request):
        return _team_drilldown(request, team, period)
    grain = request.GET.get("grain", "daily")
    if grain not in charts.GRAINS:
        return error_page(request, f"grain must be one of {', '.join(charts.GRAINS)}.")
    page = team_page_data(team=team, period=period)
    context = {
        "page": page,
        "shown": display.team_page_shown(page),
        "team": team,
        "period": period,
        "grain": grain,
        "grains": charts.GRAINS,
        "can_acknowledge": _can_acknowledge(request.user, team),
        "savings": team_savings(user=request.user, team=team),
        "model_rule_counts": team_model_rule_counts(team_id=team.id, start=period.start, end=period.end),
        "coding_agents": team_coding_agents(team=team, period=period, user=request.user),
        "adjustments": month_adjustments(period=period, team=team),
        "changed": team_what_changed(team=team, start=period.start, end=period.end),
        "charts": {
            name: charts.to_html(figure)
            for name, figure in charts.team_charts(page, grain=grain, drill=_month_drill(period)).items()
        },
    }
    return render(request, "showback/team.html", context)


def _month_drill(period: MonthPeriod) -> DrillQuery:
    return DrillQuery(start=period.start, end=period.end, filters={})


def _is_drilldown(request) -> bool:
    return bool({"start", "end", *DRILL_FIELDS} & request.GET.keys())


def _team_drilldown(request, team: Team | None, period: MonthPeriod):
    """The team page (None: the overview) narrowed to `?start=…&end=…` and tags (product, model, …)."""
    try:
        query = DrillQuery.parse(request.GET, today=period.today, default=(period.start, period.end))
    except ValueError as exc:
        return error_page(request, str(exc))
    drill = team_drilldown(team=team, query=query)
    daily = drill_daily(team=team, query=query)
    context = {
        "team": team,
        "period": MonthPeriod(month_start=query.start.replace(day=1), today=period.today),
        "who": team.name if team else "The organisation",
        "drill": drill,
        "shown": display.drilldown_shown(drill),
        "charts": {d: charts.to_html(charts.drill_bar(rows)) for d, rows in drill.breakdowns.items() if rows},
        "trend": charts.to_html(charts.daily_trend(daily)),
        "changed": drill_what_changed(team=team, query=query),
    }
    return render(request, "showback/team_drill.html", context)


@login_required
@month_view
def team_statement_csv(request, slug: str, period: MonthPeriod):
    team = _team_for(request, slug)
    lines = selectors.team_statement(team=team, period=period)
    filename = f"{team.slug}-{period.key}-statement.csv"
    rows = exports.statement_rows(lines, month=period.key, team=team.slug, team_name=team.name)
    return exports.csv_response(filename, exports.STATEMENT_COLUMNS, rows)


@login_required
@month_view
def overview_csv(request, period: MonthPeriod):
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("The organisation overview is for finance and admins.")
    ranks, reconciliation = org.overview_teams(period=period)
    rows = exports.overview_rows(ranks, reconciliation, month=period.key)
    return exports.csv_response(f"overview-{period.key}.csv", exports.OVERVIEW_COLUMNS, rows)


@login_required
@month_view
def overview(request, period: MonthPeriod):
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("The organisation overview is for finance and admins.")
    if _is_drilldown(request):
        return _team_drilldown(request, None, period)
    ranks, reconciliation = org.overview_teams(period=period)
    budget = organisation_budget_status(period=period)
    org_outlook = budget.outlook if budget else outlook(period=period)
    projection = provider_projection(today=period.today) if period.is_running else {}
    model_mix = org.overview_model_mix(period=period)
    ranked = [t for t in ranks if t.total]
    usage_missing = org.overview_usage_missing(period=period)
    context = {
        "period": period,
        "budget": budget,
        "outlook": org_outlook,
        "ranks": ranks,
        "reconciliation": reconciliation,
        "shown": display.overview_shown(ranks=ranks, reconciliation=reconciliation, model_mix=model_mix),
        "concentration": org.overview_concentration(ranks=ranks, period=period),
        "gaps": org.overview_unattributed(period=period),
        "model_mix": model_mix,
        "movers": org.overview_movers(end=period.end),
        "movers_start": period.end - timedelta(days=6),  # the week overview_movers compares
        "unpriced": org.overview_unpriced(period=period),
        "unpriced_models": org.overview_unpriced_models(period=period),
        "adjustments": month_adjustments(period=period),
        "usage_missing": usage_missing,
        "usage_missing_total": sum(k.calls for k in usage_missing),
        "anomalies": incidents_for(team=None, since=period.start, until=period.month_end),
        "can_acknowledge": True,
        "projection": projection,
        "invoice": month_reconciliation(start=period.start, end=period.month_end),
        "unmapped_scopes": unmapped_scopes(start=period.start, end=period.month_end),
        "teams": Team.objects.order_by("name"),
        "mapped": request.GET.get("mapped", "")[:255],
        "top_spenders": top_spenders(period=period),
        "projection_months": [month for month, _ in next(iter(projection.values()), [])],
        "charts": {
            "burn": charts.to_html(charts.outlook_burn(org_outlook, budget)),
            "teams": charts.to_html(
                charts.bar(
                    [t.name for t in ranked],
                    [t.total for t in ranked],
                    links=[
                        f"{reverse('showback:team', args=[t.slug])}?month={period.key}" if t.slug else ""
                        for t in ranked
                    ],
                )
            ),
            "models": charts.to_html(
                charts.share_pie(
                    [m for m, _ in model_mix[:10]],
                    [c for _, c in model_mix[:10]],
                    links=[_month_drill(period).link(model=m) for m, _ in model_mix[:10]],
                )
            ),
        },
    }
    return render(request, "showback/overview.html", context)


class ScopeMapForm(forms.Form):
    provider = forms.CharField(max_length=64)
    scope = forms.CharField(max_length=255)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug")
    month = forms.RegexField(regex=r"^\d{4}-\d{2}$", required=False)


@require_POST
@login_required
def scope_map_view(request):
    """Finance maps a billed scope to a team from the overview; every day the provider billed is
    re-derived, so the scope's remainder moves from unattributed to the team."""
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("Mapping a provider scope is for finance and admins.")
    form = ScopeMapForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return error_page(request, f"The scope was not mapped. {problems}")
    data = form.cleaned_data
    with transaction.atomic():
        scope_map(provider=data["provider"], scope=data["scope"], team=data["team"])
        refresh_dirty_days_later()
    query = urlencode({"month": data["month"], "mapped": data["scope"]} if data["month"] else {"mapped": data["scope"]})
    return redirect(f"{reverse('showback:overview')}?{query}#invoice-reconciliation")


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
    # The other anomalies of the same incident, acknowledged with it where this person may.
    for other in Anomaly.objects.filter(pk__in=[pk for pk in request.POST.getlist("also") if pk.isdigit()]):
        if _can_acknowledge(request.user, other.team):
            anomaly_acknowledge(anomaly=other, user=request.user)
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(back)
    return redirect("showback:home")
