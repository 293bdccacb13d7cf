"""Writes: pulling provider reports, mapping scopes, and reconciling a day against the bill."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.org.models import Product, Team
from apps.pricing.money import ZERO, usd_exact
from apps.pricing.rating import event_rate
from apps.usage.models import DirtyMark
from apps.usage.selectors import closed_months, first_open_month, month_start

from .models import BillingLine, ProviderAccount, ProviderReport, Reconciliation, ScopeMapping, UsageLine
from .pulls import PULLS, ProviderPullError
from .selectors import day_billed_providers, line_mapping


def days_mark_dirty(*, days: set[date]) -> None:
    """The rollups of these days must be rebuilt: their bill changed, so their remainder did. A day
    of a closed month stays frozen: its change is booked on the first day of the first open month
    (apps.rollups.services), which is rebuilt instead."""
    now = timezone.now()
    closed = closed_months()
    days = {first_open_month(day, closed=closed) if month_start(day) in closed else day for day in days}
    DirtyMark.objects.bulk_create([DirtyMark(day=day, marked_at=now) for day in sorted(days)])


def accounts_from_environment() -> list[ProviderAccount]:
    """The default account of each provider whose admin key is set in the environment."""
    accounts = []
    for provider, (key, base) in settings.BILLING_ENV_ACCOUNTS.items():
        if not key:
            continue
        account, _ = ProviderAccount.objects.get_or_create(provider=provider, name="default")
        if account.api_key_encrypted == "" or account.api_base != base or account.api_key != key:
            account.api_base = base
            account.api_key = key  # bound to the base just set
            account.save()
        accounts.append(account)
    return accounts


def account_sync(*, account: ProviderAccount, start: date, end: date) -> tuple[int, int]:
    """Pull days `start`..`end` (inclusive) and replace those days' lines; return (cost, usage) rows.

    The pull happens before any write, so a failed pull leaves the previous lines in place and
    records the error on the account for the admin to see.
    """
    try:
        api_key = account.api_key
        if not api_key:
            raise ProviderPullError(
                f"No admin key for {account.base_url}: enter it in the admin (a key is sent only to the API base "
                "it was entered for, so changing the base asks for it again)."
            )
        report = PULLS[account.provider](
            base_url=account.base_url, api_key=api_key, start=start, end=end + timedelta(days=1)
        )
    except (ProviderPullError, ValueError) as exc:
        ProviderAccount.objects.filter(pk=account.pk).update(last_error=str(exc), last_error_at=timezone.now())
        raise ProviderPullError(str(exc)) from exc
    with transaction.atomic():
        old_days = set(
            BillingLine.objects.filter(account=account, day__gte=start, day__lte=end).values_list("day", flat=True)
        )
        BillingLine.objects.filter(account=account, day__gte=start, day__lte=end).delete()
        UsageLine.objects.filter(account=account, day__gte=start, day__lte=end).delete()
        for endpoint, pages in report.pages.items():
            ProviderReport.objects.create(account=account, endpoint=endpoint, start=start, end=end, pages=pages)
        BillingLine.objects.bulk_create(
            BillingLine(
                source=BillingLine.Source.API,
                account=account,
                provider=account.provider,
                day=r.day,
                scope=r.scope,
                description=r.description[:512],
                model=r.model[:128],
                billed_cost=r.amount,
                effective_cost=r.amount,
                is_partial=r.is_partial,
            )
            for r in report.costs
            if start <= r.day <= end
        )
        UsageLine.objects.bulk_create(
            UsageLine(account=account, provider=account.provider, **r.__dict__)
            for r in report.usage
            if start <= r.day <= end
        )
        account.last_synced_at, account.last_error, account.last_error_at = timezone.now(), "", None
        account.save(update_fields=["last_synced_at", "last_error", "last_error_at"])
        days_mark_dirty(days=old_days | {r.day for r in report.costs if start <= r.day <= end})
    return len(report.costs), len(report.usage)


def scope_map(*, provider: str, scope: str, team: Team, product: Product | None = None) -> ScopeMapping:
    """Map (or re-map) a provider scope to a team; the days it was billed on are rebuilt."""
    with transaction.atomic():
        mapping = ScopeMapping.objects.filter(provider=provider, scope=scope).first() or ScopeMapping(
            provider=provider, scope=scope
        )
        mapping.team, mapping.product = team, product
        mapping.full_clean()
        mapping.save()
        provider_days_mark_dirty(provider=provider)
    return mapping


def provider_days_mark_dirty(*, provider: str) -> None:
    """Every day the provider billed is re-derived: a mapping decides whose remainder it is."""
    days_mark_dirty(days=set(BillingLine.objects.filter(provider=provider).values_list("day", flat=True).distinct()))


def _usage_priced(provider: str, day: date, scopes: set[str]) -> Decimal | None:
    """The provider's own token counts for the day priced with the price table (billed basis)."""
    lines = UsageLine.objects.filter(provider=provider, day=day, scope__in=scopes)
    if not lines.exists():
        return None
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return sum(
        (
            event_rate(
                provider=provider,
                model=u.model,
                timestamp=at,
                tokens=u.tokens,
                service_tier=u.service_tier,
            ).billed_cost
            for u in lines
        ),
        ZERO,
    )


def over_recorded_cause(*, billed: Decimal, recorded: Decimal, usage_priced: Decimal | None) -> str:
    """Why events recorded more than the provider billed, judged from the usage report priced."""
    if usage_priced is None:
        return "No usage report for this day: pull it to tell a price difference from double reporting."
    if abs(usage_priced - billed) <= abs(usage_priced - recorded):
        return (
            f"Double reporting likely: the provider's own token counts priced give {usd_exact(usage_priced)}, "
            f"close to the bill ({usd_exact(billed)}); events recorded more usage than the provider saw."
        )
    return (
        f"Price or discount likely: the provider's token counts priced give {usd_exact(usage_priced)}, close to "
        f"what events recorded ({usd_exact(recorded)}); the provider charged less than the price table "
        f"(a discount or a price change not in the table)."
    )


def _cause(*, over: Decimal, partial: bool, billed: Decimal, recorded: Decimal, usage_priced: Decimal | None) -> str:
    if not over:
        return ""
    if partial:
        return "The provider's day was not over when pulled: its bill is still growing. Pull it again tomorrow."
    return over_recorded_cause(billed=billed, recorded=recorded, usage_priced=usage_priced)


def day_reconcile(*, day: date, recorded: dict[tuple[str, int | None], Decimal]) -> list[Reconciliation]:
    """Compare each provider's bill for the day with what events recorded; replace the day's rows.

    `recorded` is the events' billed cost per (provider, team id) from the day's rollup rows. Each
    provider's lines are grouped by target: a mapped team (its scopes), or the unmapped rest,
    which is compared with everything recorded for teams no billed scope maps to. Only providers
    billed that day (`day_billed_providers`) are reconciled. Returns the rows, whose `remainder`
    the rollup rebuild adds as provider-only spend.
    """
    Reconciliation.objects.filter(day=day).delete()
    by_provider: dict[str, list[BillingLine]] = {p: [] for p in day_billed_providers(day=day)}
    for line in BillingLine.objects.filter(day=day):
        by_provider[line.provider].append(line)
    mappings: dict[str, dict[str, ScopeMapping]] = defaultdict(dict)
    for m in ScopeMapping.objects.filter(provider__in=by_provider):
        mappings[m.provider][m.scope] = m
    rows = []
    for provider, provider_lines in sorted(by_provider.items()):
        groups: dict[int | None, dict] = {}
        for line in provider_lines:
            mapping = line_mapping(line, mappings[provider])
            team_id = mapping.team_id if mapping else None
            group = groups.setdefault(team_id, {"billed": ZERO, "scopes": set(), "products": set(), "partial": False})
            group["billed"] += line.billed_cost
            group["scopes"].add(line.scope)
            group["products"].add(mapping.product_id if mapping else None)
            group["partial"] |= line.is_partial
        if not groups:  # pulled, and billed nothing: anything recorded is beyond the bill
            running = day >= timezone.now().date()
            groups[None] = {"billed": ZERO, "scopes": set(), "products": {None}, "partial": running}
        mapped = {t for t in groups if t is not None}
        for team_id, group in groups.items():
            if team_id is None:
                rec = sum((v for (p, t), v in recorded.items() if p == provider and t not in mapped), ZERO)
            else:
                rec = recorded.get((provider, team_id), ZERO)
            billed = group["billed"]
            if not billed and not rec:
                continue
            scopes = {s for s in group["scopes"] if s}
            priced = _usage_priced(provider, day, scopes)
            over = max(rec - billed, ZERO)
            products = group["products"]
            rows.append(
                Reconciliation(
                    day=day,
                    provider=provider,
                    team_id=team_id,
                    product_id=products.pop() if len(products) == 1 else None,
                    scopes=", ".join(sorted(scopes))[:1024],
                    billed=billed,
                    recorded=rec,
                    remainder=max(billed - rec, ZERO),
                    over_recorded=over,
                    usage_priced=priced,
                    is_partial=group["partial"],
                    cause=_cause(over=over, partial=group["partial"], billed=billed, recorded=rec, usage_priced=priced),
                )
            )
    return Reconciliation.objects.bulk_create(rows)
