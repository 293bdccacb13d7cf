"""Reads of usage events and of the months closed over them."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q, QuerySet

from .keys import ApiKeyInfo
from .models import ClosedMonth, UsageEvent


def events_visible(request) -> QuerySet[UsageEvent]:
    """Events the caller may read: a key sees its team's (sent by the team's keys or attributed
    to the team); staff and finance see all. Permissions have already refused everyone else."""
    events = UsageEvent.objects.select_related("api_key", "team", "product", "environment", "price")
    if isinstance(request.auth, ApiKeyInfo):
        team_id = request.auth.team_id
        return events.filter(Q(api_key__team_id=team_id) | Q(team_id=team_id))
    return events


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def closed_months() -> list[date]:
    """First days of the closed months, oldest first."""
    return list(ClosedMonth.objects.order_by("month").values_list("month", flat=True))


def month_is_closed(day: date) -> bool:
    return ClosedMonth.objects.filter(month=month_start(day)).exists()


def open_days(field: str = "day", *, closed: list[date] | None = None) -> Q:
    """A filter keeping only rows whose `field` (a date) falls in an open month."""
    q = Q()
    for month in closed_months() if closed is None else closed:
        q &= ~Q(**{f"{field}__gte": month, f"{field}__lt": next_month(month)})
    return q


def first_open_month(day: date, *, closed: list[date] | None = None) -> date:
    """The first day of the first open month from `day`'s month on: where a late event is booked."""
    closed = set(closed_months() if closed is None else closed)
    month = month_start(day)
    while month in closed:
        month = next_month(month)
    return month


def open_from() -> date | None:
    """The first day after the last closed month (None while no month is closed): edits that keep
    closed months as they were apply from here on (apps.allocation.services.rule_keep_closed_months)."""
    last = ClosedMonth.objects.order_by("-month").values_list("month", flat=True).first()
    return next_month(last) if last else None
