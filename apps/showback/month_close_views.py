"""Finance closes and reopens a month from the overview: the checklist, the confirmation, the record."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.closing.checklist import KINDS, month_open_items, month_total_spend
from apps.closing.models import MonthClose
from apps.closing.selectors import month_status
from apps.closing.services import MonthAlreadyClosed, MonthNotReady, month_close_reviewed, month_reopen
from apps.org.selectors import user_sees_all_teams
from apps.pricing.money import usd
from attribution_site.periods import MonthPeriod

from .views import error_page


def _finance_only(request) -> None:
    if not user_sees_all_teams(request.user):
        raise PermissionDenied("Only finance and admins close and reopen months.")


def _period(request, source) -> MonthPeriod | None:
    try:
        return MonthPeriod.parse(source.get("month") or None)
    except ValueError:
        return None


def _overview(period: MonthPeriod):
    return redirect(f"{reverse('showback:overview')}?month={period.key}")


def _page(request, period: MonthPeriod, *, error: str = "", status: int = 200):
    items = {item.kind: item for item in month_open_items(period.month_start)}
    context = {
        "period": period,
        "status": month_status(period.month_start),
        "checks": [(label, items.get(kind)) for kind, label in KINDS.items()],
        "open_count": len(items),
        "total": month_total_spend(period.month_start),
        "error": error,
        "form": request.POST if request.method == "POST" else {},
    }
    return render(request, "showback/month_close.html", context, status=status)


@login_required
def month_close_view(request):
    """GET: the month's checklist and the confirmation naming its total. POST: close it."""
    _finance_only(request)
    source = request.POST if request.method == "POST" else request.GET
    period = _period(request, source)
    if period is None:
        return error_page(request, "month: give a month that has ended, as YYYY-MM.")
    if period.is_running:
        return error_page(request, f"month: {period.key} has not ended yet: a month closes once it is over.")
    if request.method != "POST":
        return _page(request, period)
    if request.POST.get("confirm") != period.key:
        return _page(request, period, error="Confirm the month to close.", status=400)
    force = request.POST.get("force") == "on"
    try:
        close = month_close_reviewed(
            month=period.month_start,
            by=request.user,
            today=period.today,
            via=MonthClose.Via.PAGE,
            force=force,
            reason=request.POST.get("reason", ""),
        )
    except MonthAlreadyClosed as exc:
        return _page(request, period, error=exc.messages[0], status=409)
    except MonthNotReady as exc:
        return _page(request, period, error=exc.messages[0], status=409)
    except ValidationError as exc:
        return _page(request, period, error=exc.messages[0], status=400)
    forced = " past its open items (recorded)" if close.forced else ""
    messages.success(request, f"Closed {period.month_start:%B %Y} at {usd(close.total)}{forced}.")
    return _overview(period)


@require_POST
@login_required
def month_reopen_view(request):
    _finance_only(request)
    period = _period(request, request.POST)
    if period is None:
        return error_page(request, "month: give a closed month, as YYYY-MM.")
    try:
        month_reopen(month=period.month_start, by=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        return _page(request, period, error=exc.messages[0], status=400)
    messages.success(request, f"Reopened {period.month_start:%B %Y}: {request.POST['reason'].strip()}.")
    return _overview(period)
