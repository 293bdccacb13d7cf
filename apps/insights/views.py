"""Savings pages: the team page's section, the organisation-wide list, and the lifecycle actions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.org.selectors import user_sees_all_teams

from .models import Opportunity
from .selectors import can_act, opportunities_visible, savings_summary
from .services import LifecycleError, opportunity_accept, opportunity_dismiss, opportunity_done


@login_required
def savings_overview(request):
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("The organisation's savings are for finance and admins.")
    return render(
        request,
        "insights/overview.html",
        {"summary": savings_summary(), "opportunities": opportunities_visible(team_ids=None)[:100]},
    )


@login_required
@require_POST
def opportunity_action(request, pk: int, action: str):
    opportunity = get_object_or_404(Opportunity, pk=pk)
    if not can_act(request.user, opportunity.team):
        raise PermissionDenied("Only the team's leads act on its savings; members read them.")
    try:
        if action == "accept":
            opportunity_accept(opportunity=opportunity, owner=request.user)
        elif action == "dismiss":
            opportunity_dismiss(opportunity=opportunity, reason=request.POST.get("reason", ""))
        elif action == "done":
            opportunity_done(opportunity=opportunity)
        else:
            return HttpResponseBadRequest("action must be accept, dismiss or done.")
    except LifecycleError as exc:
        return HttpResponseBadRequest(str(exc))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("showback:team", args=[opportunity.team.slug])
    return HttpResponseRedirect(target + "#savings" if "#" not in target else target)
