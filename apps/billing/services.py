"""Writes: pulling provider reports, mapping scopes, and reconciling a day against the bill."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.org.models import Person, Product, Team
from apps.pricing.money import ZERO, usd_exact
from apps.pricing.rating import event_rate
from apps.usage.models import DirtyMark
from apps.usage.selectors import closed_months, first_open_month, month_start

from .key_split import report_costs_split_by_key
from .models import BillingLine, ProviderAccount, ProviderReport, Reconciliation, ScopeMapping, UsageLine
from .pulls import PULLS, ProviderPullError, Report, anthropic_analytics_pull
from .selectors import day_billed_providers, line_mapping
from .splitting import split_largest_remainder


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
        report, note = _report_pull(account=account, api_key=api_key, start=start, end=end + timedelta(days=1))
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
                list_cost=r.list_amount,
                api_key_id=r.api_key_id[:255],
                service_tier=r.service_tier[:16],
                person=r.person[:255],
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
        _people_name(report)
        account.last_synced_at, account.last_error, account.last_error_at = timezone.now(), "", None
        account.cost_api_note = note
        account.save(update_fields=["last_synced_at", "last_error", "last_error_at", "cost_api_note"])
        days_mark_dirty(days=old_days | {r.day for r in report.costs if start <= r.day <= end})
    return len(report.costs), len(report.usage)


def _people_name(report: Report) -> None:
    """Give the people the analytics API named a display name, where none is set yet (emails
    compare case-insensitively, as apps.org.people does)."""
    names = {r.person[:255]: r.person_name[:255] for r in report.costs if r.person and r.person_name}
    for identifier, name in names.items():
        person = Person.objects.filter(identifier__iexact=identifier).first() or Person(identifier=identifier)
        if not person.display_name:
            person.display_name = name
            person.save()


# The analytics API answers these when the organisation or key may not use it (yet).
_ANALYTICS_UNAVAILABLE = (400, 403, 404)


def _report_pull(*, account: ProviderAccount, api_key: str, start: date, end: date) -> tuple[Report, str]:
    """The account's report for `start`..`end` (exclusive), and a note when another report than
    the chosen one had to be pulled: Anthropic's analytics API, falling back to the legacy cost
    report when the API refuses (400, 403, 404)."""
    if account.provider == ProviderAccount.Provider.ANTHROPIC and account.cost_api == ProviderAccount.CostApi.ANALYTICS:
        try:
            return anthropic_analytics_pull(base_url=account.base_url, api_key=api_key, start=start, end=end), ""
        except ProviderPullError as exc:
            if exc.status not in _ANALYTICS_UNAVAILABLE:
                raise
            note = (
                f"The Usage and Cost Analytics API refused this organisation's key (HTTP {exc.status}), so the "
                f"legacy cost report was pulled instead ({timezone.now():%Y-%m-%d %H:%M} UTC): cost per API key, "
                "person and list price is not available until it is."
            )
            return PULLS[account.provider](base_url=account.base_url, api_key=api_key, start=start, end=end), note
    report = PULLS[account.provider](base_url=account.base_url, api_key=api_key, start=start, end=end)
    if account.provider == ProviderAccount.Provider.OPENAI:  # its costs come per project, its usage per key
        report.costs = report_costs_split_by_key(provider=account.provider, report=report)
    return report, ""


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


def _cause(
    *,
    over: Decimal,
    partial: bool,
    billed: Decimal,
    recorded: Decimal,
    usage_priced: Decimal | None,
    unbilled_scope: str,
) -> str:
    if not over:
        return ""
    if partial:
        return (
            "The provider's day was not over when pulled: its bill is still growing, so the events stand as "
            "recorded until it is pulled again tomorrow."
        )
    if unbilled_scope:
        return (
            f"The bill has no line for scope {unbilled_scope} this day: events named a workspace or project the "
            "provider did not bill (check the provider scope of the keys or credentials that sent them)."
        )
    return over_recorded_cause(billed=billed, recorded=recorded, usage_priced=usage_priced)


def _compare(
    *,
    day: date,
    provider: str,
    billed: Decimal,
    recorded_by_team: dict[int | None, Decimal],
    target: ScopeMapping | None,
    scopes: set[str],
    partial: bool,
    basis: str,
    unbilled_scope: str = "",
) -> list[Reconciliation]:
    """One comparison of a bill with the events recorded against it. Billed beyond the recorded is a
    remainder for the target (the mapped team, or unattributed); recorded beyond the bill is split
    over the teams that recorded it, each with its share of the bill, so every team's negative
    "recorded, not billed" line is its own over-recording."""
    recorded = sum(recorded_by_team.values(), ZERO)
    if not billed and not recorded:
        return []
    scopes = {s for s in scopes if s}
    priced = _usage_priced(provider, day, scopes)
    over = max(recorded - billed, ZERO)
    cause = _cause(
        over=over,
        partial=partial,
        billed=billed,
        recorded=recorded,
        usage_priced=priced,
        unbilled_scope=unbilled_scope,
    )
    common = {
        "day": day,
        "provider": provider,
        "scopes": ", ".join(sorted(scopes))[:1024],
        "basis": basis,
        "usage_priced": priced,
        "is_partial": partial,
        "cause": cause,
    }
    target_team = target.team_id if target else None
    target_product = target.product_id if target else None
    if not over:
        return [
            Reconciliation(
                **common,
                team_id=target_team,
                product_id=target_product,
                billed=billed,
                recorded=recorded,
                remainder=billed - recorded,
                over_recorded=ZERO,
                not_billed=ZERO,
            )
        ]
    recording = {team: amount for team, amount in recorded_by_team.items() if amount} or {target_team: ZERO}
    shares = split_largest_remainder(billed, recording)
    return [
        Reconciliation(
            **common,
            team_id=team,
            product_id=target_product if team == target_team else None,
            billed=shares[team],
            recorded=amount,
            remainder=ZERO,
            over_recorded=amount - shares[team],
            # A day still running keeps its events as recorded: its bill has not caught up yet.
            not_billed=ZERO if partial else amount - shares[team],
        )
        for team, amount in sorted(recording.items(), key=lambda item: (item[0] is None, item[0] or 0))
    ]


def day_reconcile(*, day: date, recorded: dict[tuple[str, str, int | None], Decimal]) -> list[Reconciliation]:
    """Compare each provider's bill for the day with what events recorded; replace the day's rows.

    `recorded` is the events' billed cost per (provider, provider scope, team id) from the day's
    rollup rows. A scope that events named is compared on its own: its bill lines against its
    events, whatever team sent them. The bill's other lines are grouped by target (a mapped team,
    or the unmapped rest) and compared with the events that named no scope: a mapped team's with
    its own, the unmapped rest's with every other team's. Each recorded cent and each billed cent
    is in exactly one comparison, so the rollups (events, remainders, "recorded, not billed"
    lines) add up to the bill. Only providers billed that day (`day_billed_providers`) are
    reconciled. Returns the rows, whose `remainder` and `not_billed` the rollup rebuild adds.
    """
    Reconciliation.objects.filter(day=day).delete()
    by_provider: dict[str, list[BillingLine]] = {p: [] for p in day_billed_providers(day=day)}
    for line in BillingLine.objects.filter(day=day):
        by_provider[line.provider].append(line)
    mappings: dict[str, dict[str, ScopeMapping]] = defaultdict(dict)
    for m in ScopeMapping.objects.filter(provider__in=by_provider):
        mappings[m.provider][m.scope] = m
    running = day >= timezone.now().date()
    rows: list[Reconciliation] = []
    for provider, provider_lines in sorted(by_provider.items()):
        scoped: dict[str, dict[int | None, Decimal]] = defaultdict(dict)
        unscoped: dict[int | None, Decimal] = {}
        for (p, scope, team_id), amount in recorded.items():
            if p == provider:
                (scoped[scope] if scope else unscoped)[team_id] = amount
        # Scopes events named: bill and events compared per scope.
        for scope in sorted(scoped):
            lines = [line for line in provider_lines if line.scope == scope]
            target = mappings[provider].get(scope) or next(
                (t for t in (line_mapping(line, mappings[provider]) for line in lines) if t), None
            )
            rows += _compare(
                day=day,
                provider=provider,
                billed=sum((line.billed_cost for line in lines), ZERO),
                recorded_by_team=scoped[scope],
                target=target,
                scopes={scope},
                partial=any(line.is_partial for line in lines) or (not lines and running),
                basis=Reconciliation.Basis.SCOPE,
                unbilled_scope="" if lines else scope,
            )
        # The rest of the bill: per mapped team, against the events without a scope.
        groups: dict[int | None, dict] = {}
        for line in provider_lines:
            if line.scope and line.scope in scoped:
                continue
            mapping = line_mapping(line, mappings[provider])
            team_id = mapping.team_id if mapping else None
            group = groups.setdefault(team_id, {"billed": ZERO, "scopes": set(), "targets": [], "partial": False})
            group["billed"] += line.billed_cost
            group["scopes"].add(line.scope)
            group["targets"].append(mapping)
            group["partial"] |= line.is_partial
        mapped = {t for t in groups if t is not None}
        if None not in groups and any(t not in mapped for t in unscoped):
            # Events without a scope, on teams no billed line maps to: the bill has nothing for them.
            groups[None] = {"billed": ZERO, "scopes": set(), "targets": [None], "partial": running}
        for team_id, group in groups.items():
            if team_id is None:
                by_team = {t: v for t, v in unscoped.items() if t not in mapped}
            else:
                by_team = {team_id: unscoped.get(team_id, ZERO)}
            products = {m.product_id if m else None for m in group["targets"]}
            target = group["targets"][0] if len(products) == 1 else None
            if target is None and team_id is not None:
                target = ScopeMapping(provider=provider, team_id=team_id)  # the team, no single product
            rows += _compare(
                day=day,
                provider=provider,
                billed=group["billed"],
                recorded_by_team=by_team,
                target=target,
                scopes=group["scopes"],
                partial=group["partial"],
                basis=Reconciliation.Basis.TEAM,
            )
    return Reconciliation.objects.bulk_create(rows)
