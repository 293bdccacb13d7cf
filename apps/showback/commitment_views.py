"""The negotiation brief before a provider commitment: the page and its CSV, for finance."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from apps.org.selectors import user_sees_all_teams

from . import exports
from .selectors.commitment import negotiation_brief, providers_with_spend
from .views import error_page


def _brief(request):
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("The negotiation brief is for finance and admins.")
    today = timezone.now().date()
    providers = providers_with_spend(today=today)
    provider = request.GET.get("provider", "")
    if provider not in providers:
        listed = ", ".join(providers) or "none has spend in the last twelve months"
        return None, error_page(request, f"provider: give one of the providers with spend ({listed}).")
    return negotiation_brief(provider=provider, today=today), None


@login_required
def commitment_brief(request):
    brief, error = _brief(request)
    if error:
        return error
    return render(request, "showback/commitment.html", {"brief": brief})


CSV_COLUMNS = ["provider", "section", "month", "model_family", "amount"]


@login_required
def commitment_csv(request):
    brief, error = _brief(request)
    if error:
        return error
    rows = [
        [brief.provider, "consumption", f"{m:%Y-%m}", f.family, f"{f.months[i]:f}"]
        for f in brief.families
        for i, m in enumerate(brief.months)
    ]
    for m in brief.forecast_months:
        rows += [
            [brief.provider, "forecast", f"{m:%Y-%m}", "", f"{brief.forecast:f}"],
            [brief.provider, "forecast_low", f"{m:%Y-%m}", "", f"{brief.low:f}"],
            [brief.provider, "forecast_high", f"{m:%Y-%m}", "", f"{brief.high:f}"],
            [brief.provider, "savings", f"{m:%Y-%m}", "", f"{brief.savings:f}"],
        ]
    rows += [
        [brief.provider, "recommended_commitment", "", "", f"{brief.commitment:f}"],
        [brief.provider, "outside_commitment_at_forecast", "", "", f"{brief.outside:f}"],
    ]
    return exports.csv_response(f"commitment-{brief.provider}.csv", CSV_COLUMNS, rows)
