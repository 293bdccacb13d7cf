"""Reads: a month's reconciliation per provider, with its days and the remainder's attribution."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db.models import F, Sum

from apps.pricing.money import ZERO
from apps.pricing.rating import catalog

from .models import BillingLine, ProviderReport, Reconciliation, ReconciliationSettings


@dataclass
class ReconciliationDay:
    day: date
    team: str | None
    product: str | None
    scopes: str
    billed: Decimal
    recorded: Decimal
    remainder: Decimal
    over_recorded: Decimal
    not_billed: Decimal
    basis: str
    usage_priced: Decimal | None
    is_partial: bool
    cause: str
    exceeds_threshold: bool

    @property
    def difference(self) -> Decimal:
        return self.billed - self.recorded


@dataclass
class ProviderReconciliation:
    provider: str
    billed: Decimal = ZERO
    recorded: Decimal = ZERO
    remainder: Decimal = ZERO
    over_recorded: Decimal = ZERO
    not_billed: Decimal = ZERO
    remainder_by_team: dict[str, Decimal] = field(default_factory=dict)
    not_billed_by_team: dict[str, Decimal] = field(default_factory=dict)
    days: list[ReconciliationDay] = field(default_factory=list)
    discounts: list[RealisedDiscount] = field(default_factory=list)
    threshold_percent: Decimal = Decimal("2")

    @property
    def difference(self) -> Decimal:
        return self.billed - self.recorded

    @property
    def attributed_total(self) -> Decimal:
        """What the rollups now hold for this provider's reconciled days: events, plus the remainder,
        less what was recorded and not billed. It equals the bill but for days still running."""
        return self.recorded + self.remainder - self.not_billed

    @property
    def balances(self) -> bool:
        return self.attributed_total == self.billed


def day_billed_providers(*, day: date) -> set[str]:
    """The providers with a bill for the day: lines, or an admin API pull that covered the day
    (a covered day without lines was billed nothing). Only they are reconciled."""
    lines = set(BillingLine.objects.filter(day=day).values_list("provider", flat=True).distinct())
    pulled = ProviderReport.objects.filter(start__lte=day, end__gte=day).values_list("account__provider", flat=True)
    return lines | set(pulled.distinct())


def exceeds_threshold(*, difference: Decimal, day_spend: Decimal, percent: Decimal) -> bool:
    """A scope's difference above `percent` of its provider's spend that day."""
    return bool(day_spend) and abs(difference) * 100 > day_spend * percent


def day_spends(rows) -> dict[tuple[str, date], Decimal]:
    """Each provider's spend per day: the larger of what it billed and what events recorded."""
    billed: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    recorded: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for r in rows:
        billed[(r.provider, r.day)] += r.billed
        recorded[(r.provider, r.day)] += r.recorded
    return {key: max(billed[key], recorded[key]) for key in billed}


def month_reconciliation(*, start: date, end: date) -> list[ProviderReconciliation]:
    percent = ReconciliationSettings.current().threshold_percent
    providers: dict[str, ProviderReconciliation] = {}
    remainder_by_team: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    not_billed_by_team: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows = list(
        Reconciliation.objects.filter(day__gte=start, day__lte=end)
        .select_related("team", "product")
        .order_by("provider", "day", "basis", "scopes", F("team__slug").asc(nulls_last=True))
    )
    spends = day_spends(rows)
    for r in rows:
        p = providers.setdefault(r.provider, ProviderReconciliation(provider=r.provider))
        p.billed += r.billed
        p.recorded += r.recorded
        p.remainder += r.remainder
        p.over_recorded += r.over_recorded
        p.not_billed += r.not_billed
        team = r.team.slug if r.team else None
        if r.remainder:
            remainder_by_team[r.provider][team or "unattributed"] += r.remainder
        if r.not_billed:
            not_billed_by_team[r.provider][team or "unattributed"] += r.not_billed
        p.days.append(
            ReconciliationDay(
                day=r.day,
                team=team,
                product=r.product.slug if r.product else None,
                scopes=r.scopes,
                billed=r.billed,
                recorded=r.recorded,
                remainder=r.remainder,
                over_recorded=r.over_recorded,
                not_billed=r.not_billed,
                basis=r.basis,
                usage_priced=r.usage_priced,
                is_partial=r.is_partial,
                cause=r.cause,
                exceeds_threshold=exceeds_threshold(
                    difference=r.billed - r.recorded, day_spend=spends[(r.provider, r.day)], percent=percent
                ),
            )
        )
    for d in realised_discounts(start=start, end=end):
        p = providers.setdefault(d.provider, ProviderReconciliation(provider=d.provider))
        p.discounts.append(d)
    for provider, p in providers.items():
        p.threshold_percent = percent
        p.remainder_by_team = dict(sorted(remainder_by_team[provider].items()))
        p.not_billed_by_team = dict(sorted(not_billed_by_team[provider].items()))
    return list(providers.values())


@dataclass
class RealisedDiscount:
    """What the provider charged a model against its list price (the analytics API gives both),
    beside the discount the price table applies."""

    provider: str
    model: str
    day: date | None  # None: the whole period
    billed: Decimal
    listed: Decimal
    table_percent: Decimal

    @property
    def realised_percent(self) -> Decimal:
        if not self.listed:
            return Decimal("0.00")
        return ((self.listed - self.billed) * 100 / self.listed).quantize(Decimal("0.01"))

    @property
    def gap(self) -> Decimal:
        """Percentage points between the realised discount and the price table's."""
        return abs(self.realised_percent - self.table_percent)


def realised_discounts(*, start: date, end: date, by_day: bool = False) -> list[RealisedDiscount]:
    """Per provider and model (and day, `by_day`), the discount the bill's list prices show, from
    the lines that carry a list price, with the negotiated discount the price table applies then."""
    keys = ("provider", "model", "day") if by_day else ("provider", "model")
    rows = (
        BillingLine.objects.filter(day__gte=start, day__lte=end, list_cost__isnull=False)
        .exclude(model="")
        .values(*keys)
        .annotate(billed=Sum("billed_cost"), listed=Sum("list_cost"))
        .order_by(*keys)
    )
    prices = catalog.get()
    found = []
    for r in rows:
        day = r.get("day")
        at = datetime.combine(day or end, time(12), tzinfo=UTC)
        model = prices.resolve(r["provider"], r["model"]) or r["model"]
        factor = prices.discount_factor(r["provider"], model, at)
        found.append(
            RealisedDiscount(
                provider=r["provider"],
                model=r["model"],
                day=day,
                billed=r["billed"],
                listed=r["listed"],
                table_percent=((1 - factor) * 100).quantize(Decimal("0.01")),
            )
        )
    return found
