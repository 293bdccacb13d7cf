"""Reads: a month's reconciliation per provider, with its days and the remainder's attribution, the
providers with spend but no bill yet, and the billed scopes no mapping names."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db.models import F, Max, Sum

from apps.pricing.money import ZERO
from apps.pricing.rating import catalog
from apps.rollups.models import DailyRollup

from .models import BillingLine, ProviderAccount, ProviderReport, Reconciliation, ReconciliationSettings, ScopeMapping


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
    has_bill: bool = True
    last_pulled: datetime | None = None
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
    """Every provider with a bill or with recorded spend in the month, by name: a provider without
    a bill yet has a line of its own (`has_bill` false) with what events recorded."""
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
    for provider, recorded in _recorded_by_provider(start=start, end=end).items():
        if provider not in providers:
            providers[provider] = ProviderReconciliation(provider=provider, recorded=recorded, has_bill=False)
    pulls = last_pulls()
    for provider, p in providers.items():
        p.last_pulled = pulls.get(provider)
    return [providers[name] for name in sorted(providers)]


def _recorded_by_provider(*, start: date, end: date) -> dict[str, Decimal]:
    """What events recorded per provider over the days (the rollups' event rows, no remainders)."""
    rows = DailyRollup.objects.filter(day__gte=start, day__lte=end, api_key__isnull=False, adjusts_month="")
    return {r["provider"]: r["cost"] for r in rows.values("provider").annotate(cost=Sum("billed_cost")) if r["cost"]}


def last_pulls() -> dict[str, datetime]:
    """When each provider's bill was last fetched: an admin API pull or a FOCUS import."""
    pulled: dict[str, datetime] = {}
    synced = ProviderAccount.objects.filter(last_synced_at__isnull=False).values("provider")
    imported = BillingLine.objects.filter(billing_import__isnull=False).values("provider")
    for rows in (
        synced.annotate(at=Max("last_synced_at")),
        imported.annotate(at=Max("billing_import__imported_at")),
    ):
        for r in rows:
            pulled[r["provider"]] = max(r["at"], pulled.get(r["provider"], r["at"]))
    return pulled


def line_mapping(line: BillingLine, mappings: dict[str, ScopeMapping]) -> ScopeMapping | None:
    """The mapping a bill line follows: its API key's first (the analytics API's lines name it),
    then its scope's, then the first of its `key=value` tags that is mapped."""
    if line.api_key_id and line.api_key_id in mappings:
        return mappings[line.api_key_id]
    if line.scope in mappings:
        return mappings[line.scope]
    for key, value in sorted(line.tags.items()):
        if f"{key}={value}" in mappings:
            return mappings[f"{key}={value}"]
    return None


@dataclass(frozen=True)
class UnmappedScope:
    provider: str
    scope: str
    billed: Decimal
    days: int


def unmapped_scopes(*, start: date, end: date) -> list[UnmappedScope]:
    """The month's billed scopes that no mapping names (directly or through a tag), largest first:
    their spend is compared with events of no mapped team, and any remainder is unattributed."""
    mappings: dict[str, dict[str, ScopeMapping]] = defaultdict(dict)
    for m in ScopeMapping.objects.all():
        mappings[m.provider][m.scope] = m
    billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    days: dict[tuple[str, str], set[date]] = defaultdict(set)
    lines = BillingLine.objects.filter(day__gte=start, day__lte=end).exclude(scope="")
    for line in lines.only("provider", "scope", "tags", "day", "billed_cost"):
        if line_mapping(line, mappings[line.provider]) is None:
            billed[(line.provider, line.scope)] += line.billed_cost
            days[(line.provider, line.scope)].add(line.day)
    scopes = [UnmappedScope(provider=p, scope=s, billed=b, days=len(days[(p, s)])) for (p, s), b in billed.items()]
    return sorted(scopes, key=lambda u: (-u.billed, u.provider, u.scope))


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
