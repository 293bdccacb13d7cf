"""Rebuilding daily rollups from raw events, in SQL, one day per transaction."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum

from apps.billing.models import NOT_BILLED, PROVIDER_ONLY, BillingLine
from apps.billing.selectors import day_billed_providers
from apps.billing.services import day_reconcile
from apps.org.models import Environment, Product
from apps.pricing.models import ModelPrice
from apps.usage.models import DirtyMark, UsageEvent
from apps.usage.selectors import closed_months, first_open_month, month_is_closed, next_month

from .models import DailyBreakdown, DailyRollup

# Namespace of the PostgreSQL advisory lock that serialises rebuilds of one day.
_LOCK_NAMESPACE = 0x524F4C4C  # "ROLL"

_GRAIN = (
    "day",
    "api_key_id",
    "team_id",
    "product_id",
    "feature",
    "environment_id",
    "provider",
    "model",
    "customer",
    "agent",
    "missing_tags",
    "adjusts_month",
    "provider_scope",
    "person",
)
_SUMS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "list_cost",
    "billed_cost",
    "cache_savings",
)
_TEAM_TAG = "CASE WHEN team_id IS NULL THEN team_tag ELSE '' END"
# Built on the grouped _TEAM_TAG expression, not on team_tag: PostgreSQL rejects ungrouped columns.
_REASON = f"CASE WHEN team_id IS NOT NULL THEN '' WHEN {_TEAM_TAG} = '' THEN 'missing' ELSE 'unknown' END"


# The day's events, each with its model family: breakdowns and charts group dated snapshots under
# the model their price row names (the event keeps the exact name).
_EVENTS_WITH_FAMILY = (
    "(SELECT e.*, COALESCE(p.model, e.model) AS model_family FROM {events} e "
    "LEFT JOIN {prices} p ON p.id = e.price_id WHERE e.day = %s) events"
)


def _rebuild_sql() -> str:
    rollups = DailyRollup._meta.db_table
    events = UsageEvent._meta.db_table
    columns = (
        *_GRAIN,
        "model_family",
        "team_tag",
        "unattributed_reason",
        "requests",
        "errors",
        "traces",
        *_SUMS,
        "unpriced",
        "usage_missing",
    )
    selects = (
        *_GRAIN,
        "model_family",
        _TEAM_TAG,
        _REASON,
        "COUNT(*)",
        "SUM(CASE WHEN outcome = 'success' THEN 0 ELSE 1 END)",
        "COUNT(DISTINCT NULLIF(trace_id, ''))",
        *(f"SUM({c})" for c in _SUMS),
        "SUM(CASE WHEN unpriced THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN usage_missing THEN 1 ELSE 0 END)",
    )
    source = _EVENTS_WITH_FAMILY.format(events=events, prices=ModelPrice._meta.db_table)
    return (
        f"INSERT INTO {rollups} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM {source} "
        f"GROUP BY {', '.join(_GRAIN)}, model_family, {_TEAM_TAG}"
    )


def day_lock(day: date) -> None:
    """Hold the day until the transaction ends: rebuilds and allocations of one day never overlap.

    PostgreSQL takes an advisory lock; SQLite serialises all writers with its database lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, day.toordinal()])


# Breakdown dimension → the rollup expression it groups by (and the join it needs).
_BREAKDOWNS = {
    "total": ("''", ""),
    "product": ("COALESCE(p.slug, '')", "LEFT JOIN {products} p ON p.id = r.product_id"),
    "feature": ("r.feature", ""),
    "model": ("r.model_family", ""),
    "provider": ("r.provider", ""),
    "environment": ("COALESCE(e.slug, '')", "LEFT JOIN {environments} e ON e.id = r.environment_id"),
    "customer": ("r.customer", ""),
    "agent": ("r.agent", ""),
    "adjustment": ("r.adjusts_month", ""),
}
_BREAKDOWN_SUMS = (
    "requests",
    "errors",
    "traces",
    "input_tokens",
    "output_tokens",
    "list_cost",
    "billed_cost",
    "cache_savings",
    "unpriced",
)


def _breakdown_sql(dimension: str) -> str:
    value, join = _BREAKDOWNS[dimension]
    join = join.format(products=Product._meta.db_table, environments=Environment._meta.db_table)
    sums = ", ".join(f"SUM(r.{c})" for c in _BREAKDOWN_SUMS)
    return (
        f"INSERT INTO {DailyBreakdown._meta.db_table} (day, team_id, dimension, value, {', '.join(_BREAKDOWN_SUMS)}) "
        f"SELECT r.day, r.team_id, '{dimension}', {value}, {sums} FROM {DailyRollup._meta.db_table} r {join} "
        f"WHERE r.day = %s GROUP BY r.day, r.team_id{'' if dimension == 'total' else ', ' + value}"
    )


@transaction.atomic
def day_rebuild(*, day: date) -> int:
    """Replace the day's rollup rows with a fresh GROUP BY of its events; return the row count.

    Two rebuilds of one day are serialised by `day_lock`, so they cannot both insert. The day's
    dirty marks are deleted before the events are read, in this transaction: an ingestion that
    commits after that delete leaves its own mark behind, so its events are rebuilt next time.
    A day of a closed month is frozen: its marks go and its rows stay as they were.
    """
    day_lock(day)
    DirtyMark.objects.filter(day=day).delete()
    if month_is_closed(day):
        return 0
    DailyRollup.objects.filter(day=day).delete()
    DailyBreakdown.objects.filter(day=day).delete()
    param = [connection.ops.adapt_datefield_value(day)]
    with connection.cursor() as cursor:
        cursor.execute(_rebuild_sql(), param)
        rows = cursor.rowcount
    _provider_only_add(day)
    with connection.cursor() as cursor:
        for dimension in _BREAKDOWNS:
            cursor.execute(_breakdown_sql(dimension), param)
    return rows


def _provider_only_rows(day: date, amounts: dict[tuple, Decimal], adjusts_month: str = "") -> list[DailyRollup]:
    """Rollup rows (no API key) of what reconciliation adds per (provider, team, product, model): spend
    only the provider reported (`PROVIDER_ONLY`, positive) and spend events recorded beyond the bill
    (`NOT_BILLED`, negative)."""
    zero = {f: 0 for f in ("requests", "errors", "traces", "unpriced", *_SUMS[:5])}
    return [
        DailyRollup(
            day=day,
            api_key=None,
            team_id=team_id,
            unattributed_reason="" if team_id else DailyRollup.Unattributed.PROVIDER,
            product_id=product_id,
            provider=provider,
            model=model,
            model_family=model,
            adjusts_month=adjusts_month,
            list_cost=amount,
            billed_cost=amount,
            cache_savings=0,
            **zero,
        )
        for (provider, team_id, product_id, model), amount in sorted(amounts.items(), key=str)
        if amount
    ]


def _day_remainders(day: date) -> dict[tuple, Decimal]:
    """Reconcile the day's bills with the spend its events recorded (late events booked on it for
    a closed month are that month's, not this day's): what each target's rollups gain (the
    provider-only remainder) or lose (recorded, not billed)."""
    # Most days of most providers have no bill yet: sum only what a bill will be compared with.
    billed = day_billed_providers(day=day)
    rows = DailyRollup.objects.filter(day=day, provider__in=billed, api_key__isnull=False, adjusts_month="")
    recorded = (
        {
            (r["provider"], r["provider_scope"], r["team_id"]): r["cost"]
            for r in rows.values("provider", "provider_scope", "team_id").annotate(cost=Sum("billed_cost"))
        }
        if billed
        else {}
    )
    amounts: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in day_reconcile(day=day, recorded=recorded):
        if r.remainder:
            amounts[(r.provider, r.team_id, r.product_id, PROVIDER_ONLY)] += r.remainder
        if r.not_billed:
            amounts[(r.provider, r.team_id, r.product_id, NOT_BILLED)] -= r.not_billed
    return amounts


def _provider_only_add(day: date) -> None:
    """Add what providers billed beyond the day's events as rows of their own (no API key), on
    the team the billed scope maps to or unattributed, and what events recorded beyond the bill as
    negative rows on the teams that recorded it, so every total equals the bill.

    On the first day of the first open month after closed ones, a closed month's bill that changed
    after the close enters as an adjustment of that month (as a late event does): its remainder now
    less what its days froze and what earlier adjustments already booked."""
    rows = _provider_only_rows(day, _day_remainders(day))
    for month, billed_days in _closed_months_billed_into(day).items():
        delta: dict[tuple, Decimal] = defaultdict(Decimal)
        for billed_day in billed_days:
            for target, amount in _day_remainders(billed_day).items():
                delta[target] += amount
        booked = DailyRollup.objects.filter(api_key__isnull=True).filter(
            Q(day__gte=month, day__lt=next_month(month), adjusts_month="")
            | Q(adjusts_month=f"{month:%Y-%m}", day__lt=day)
        )
        for r in booked.values("provider", "team_id", "product_id", "model").annotate(cost=Sum("billed_cost")):
            delta[(r["provider"], r["team_id"], r["product_id"], r["model"])] -= r["cost"]
        rows += _provider_only_rows(day, delta, adjusts_month=f"{month:%Y-%m}")
    DailyRollup.objects.bulk_create(rows)


def _closed_months_billed_into(day: date) -> dict[date, list[date]]:
    """Closed month → its billed days, for the closed months whose late changes book on `day`."""
    closed = closed_months()
    if day.day != 1 or not closed or month_is_closed(day):
        return {}
    found: dict[date, list[date]] = {}
    for month in closed:
        if month < day and first_open_month(month, closed=closed) == day:
            days = BillingLine.objects.filter(day__gte=month, day__lt=next_month(month)).values_list("day", flat=True)
            found[month] = sorted(set(days))
    return {month: days for month, days in found.items() if days}


def dirty_days() -> list[date]:
    return list(DirtyMark.objects.order_by("day").values_list("day", flat=True).distinct())
