"""Savings pages: the team page's section, the organisation-wide list, and the lifecycle actions."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.org.selectors import user_sees_all_teams

from .combining import combined_savings
from .models import Opportunity
from .selectors import can_act, opportunities_visible, savings_summary
from .services import (
    LifecycleError,
    opportunity_accept,
    opportunity_dismiss,
    opportunity_done,
    opportunity_undismiss,
)


def _due_on(request) -> date | None:
    value = request.POST.get("due_on", "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise LifecycleError(f"due_on: {value!r} is not a date; use YYYY-MM-DD.") from exc


def _finance_only(request) -> None:
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("The organisation's savings are for finance and admins.")


@login_required
def savings_overview(request):
    _finance_only(request)
    combined = combined_savings(today=timezone.now().date())
    savings = opportunities_visible(team_ids=None).exclude(lever=Opportunity.Lever.UNIT_COST_DRIFT)
    return render(
        request,
        "insights/overview.html",
        {
            "summary": savings_summary(),
            "combined": combined,
            "total": sum((r.saving for r in combined), Decimal(0)),
            "opportunities": savings[:100],
        },
    )


CSV_COLUMNS = [
    "team",
    "scope",
    "lever",
    "status",
    "owner",
    "due_on",
    "found_monthly_saving",
    "share_of_scope_spend",
    "monthly_saving_in_turn",
    "scope_monthly_spend",
    "scope_drawn_from",
    "scope_combined_monthly_saving",
]


@login_required
def savings_csv(request):
    """The combined savings, one line per lever of each scope, amounts exact to the nano-dollar."""
    _finance_only(request)
    today = timezone.now().date()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="savings-{today}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in combined_savings(today=today):
        for step in row.steps:
            o = step.opportunity
            writer.writerow(
                [
                    row.team.slug,
                    row.label,
                    o.lever,
                    o.status,
                    o.owner.username if o.owner else "",
                    o.due_on or "",
                    f"{step.found:f}",
                    f"{step.share:.6f}",
                    f"{step.saving:f}",
                    f"{row.spend:f}",
                    f"{row.drawn_from:f}",
                    f"{row.saving:f}",
                ]
            )
    return response


@login_required
@require_POST
def opportunity_action(request, pk: int, action: str):
    opportunity = get_object_or_404(Opportunity, pk=pk)
    if not can_act(request.user, opportunity.team):
        raise PermissionDenied("Only the team's leads act on its savings; members read them.")
    try:
        if action == "accept":
            opportunity_accept(opportunity=opportunity, owner=request.user, due_on=_due_on(request))
        elif action == "dismiss":
            opportunity_dismiss(opportunity=opportunity, reason=request.POST.get("reason", ""))
        elif action == "done":
            opportunity_done(opportunity=opportunity)
        elif action == "undismiss":
            opportunity_undismiss(opportunity=opportunity)
        else:
            return HttpResponseBadRequest("action must be accept, dismiss, undismiss or done.")
    except LifecycleError as exc:
        return HttpResponseBadRequest(str(exc))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("showback:team", args=[opportunity.team.slug])
    return HttpResponseRedirect(target + "#savings" if "#" not in target else target)
