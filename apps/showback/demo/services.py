"""Building the demo company: its registry, 90 days of usage through the ingestion service, then
rollups and allocations for every day, and the logins people use to look at it."""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.allocation.models import RuleTarget, SharedCostRule
from apps.allocation.selectors import costs_report
from apps.allocation.services import day_refresh, days_in_range
from apps.billing.models import BillingLine, ProviderAccount, ProviderReport, ScopeMapping
from apps.budgets.models import Budget
from apps.budgets.services import spend_check
from apps.insights.detectors.routing import routing_detect
from apps.insights.models import Opportunity, SavingsSettings
from apps.insights.services import MEASURE_DAYS, opportunities_measure, opportunities_refresh
from apps.org.models import CustomerAccount, Person, Product, TagAlias, Team, TeamMembership
from apps.org.selectors import FINANCE_GROUP
from apps.pricing.models import ModelPrice
from apps.pricing.rating import catalog
from apps.pricing.services import prices_load_from_package
from apps.rollups.models import DailyRollup
from apps.usage.keys import ApiKeyInfo
from apps.usage.models import ApiKey, UsageEvent
from apps.usage.selectors import month_start
from apps.usage.services import api_key_create, events_ingest

from . import company
from .events import CustomerPicker, day_events

DEFAULT_SEED = 20240917
CUSTOMER_COUNT = 300
BATCH_SIZE = 1000  # the ingestion API's own batch limit (INGEST_MAX_BATCH)
MEMBER_USERNAME = "member-search"


class DemoDataError(Exception):
    """The demo could not be built as designed (a model without a price, an event refused)."""


@dataclass(frozen=True)
class DemoSummary:
    first_day: date
    last_day: date
    events_accepted: int
    events_duplicate: int
    billed_cost: Decimal
    unattributed_cost: Decimal


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    access: str


def demo_company_build(
    *, days: int = 90, seed: int = DEFAULT_SEED, scale: float = 1.0, now: datetime | None = None
) -> DemoSummary:
    """Build (or top up) the demo company: `days` days of usage ending `now`, rolled up and allocated."""
    if not 1 <= days < settings.INGEST_MAX_EVENT_AGE_DAYS:
        raise ValueError(f"days must be between 1 and {settings.INGEST_MAX_EVENT_AGE_DAYS - 1}.")
    if scale <= 0:
        raise ValueError("scale must be positive.")
    now = now or timezone.now()
    first_day = (now - timedelta(days=days - 1)).date()
    _prices_ensure(now - timedelta(days=days))
    customers = company.customer_specs(count=CUSTOMER_COUNT, rng=random.Random(seed))
    keys = _registry_build(customers=customers, first_day=first_day)
    picker = CustomerPicker.of(customers)

    accepted = duplicates = 0
    pending: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def send(key_name: str, *, whole_batches_only: bool) -> None:
        nonlocal accepted, duplicates
        events = pending[key_name]
        while events and (len(events) >= BATCH_SIZE or not whole_batches_only):
            batch, events = events[:BATCH_SIZE], events[BATCH_SIZE:]
            result = events_ingest(key=keys[key_name], events=batch, refresh_days=False)
            if result.rejected:
                raise DemoDataError(f"Ingestion refused demo events: {result.rejected[:3]}")
            accepted += result.accepted
            duplicates += result.duplicates
        pending[key_name] = events

    # Each batch commits on its own; refreshing the day after every batch would rebuild each day
    # dozens of times, so the days are refreshed once each at the end instead.
    for day in days_in_range(first_day, now.date()):
        for workload in company.WORKLOADS:
            pending[workload.key] += day_events(
                workload, day=day, first_day=first_day, now=now, seed=seed, scale=scale, customers=picker
            )
            send(workload.key, whole_batches_only=True)
    for key_name in pending:
        send(key_name, whole_batches_only=False)
    _provider_bills_plant(first_day=first_day, now=now)
    for day in days_in_range(first_day, now.date()):
        day_refresh(day=day)
    _budgets_ensure(today=now.date())
    spend_check(now=now)
    opportunities_refresh(today=now.date())
    _fixed_saving_plant(now=now, first_day=first_day)

    rollups = DailyRollup.objects.filter(day__gte=first_day, day__lte=now.date())
    return DemoSummary(
        first_day=first_day,
        last_day=now.date(),
        events_accepted=accepted,
        events_duplicate=duplicates,
        billed_cost=rollups.aggregate(total=Sum("billed_cost"))["total"] or Decimal(0),
        unattributed_cost=rollups.filter(team__isnull=True).aggregate(total=Sum("billed_cost"))["total"] or Decimal(0),
    )


def _provider_bills_plant(*, first_day: date, now: datetime) -> None:
    """The providers' bills for the demo's past months, stored as an admin API pull stores them: each
    team's workspace or project billed exactly what its events recorded (untagged spend on a default
    workspace nobody mapped), plus the Console day (`company.CONSOLE_SCOPE`) that only the bill knows.
    Days billed already (a top-up) are left alone."""
    last_day = month_start(now.date()) - timedelta(days=1)
    if first_day > last_day:
        return
    billed = set(BillingLine.objects.filter(day__gte=first_day, day__lte=last_day).values_list("day", flat=True))
    events = UsageEvent.objects.filter(day__gte=first_day, day__lte=last_day, provider__in=company.BILL_SCOPE_PREFIX)
    rows = events.values("provider", "team__slug", "day").annotate(cost=Sum("billed_cost"))
    lines: list[BillingLine] = []
    for row in rows:
        if row["day"] in billed:
            continue
        prefix = company.BILL_SCOPE_PREFIX[row["provider"]]
        scope = f"{prefix}{row['team__slug'] or 'default'}"
        lines.append(_bill_line(row["provider"], row["day"], scope, row["cost"]))
    console_day = max(first_day, last_day - timedelta(days=company.CONSOLE_DAYS_BEFORE_MONTH_END))
    if console_day not in billed:
        lines.append(_bill_line("anthropic", console_day, company.CONSOLE_SCOPE, company.CONSOLE_SPEND))
    for provider, prefix in company.BILL_SCOPE_PREFIX.items():
        account, _ = ProviderAccount.objects.get_or_create(
            provider=provider, name="Demo organisation", defaults={"is_active": False}
        )
        account.last_synced_at = now
        account.save(update_fields=["last_synced_at"])
        ProviderReport.objects.create(account=account, endpoint="demo", start=first_day, end=last_day)
        for team in Team.objects.all():
            ScopeMapping.objects.get_or_create(provider=provider, scope=f"{prefix}{team.slug}", defaults={"team": team})
        for line in lines:
            if line.provider == provider:
                line.account = account
    BillingLine.objects.bulk_create(lines)


def _bill_line(provider: str, day: date, scope: str, cost: Decimal) -> BillingLine:
    return BillingLine(
        source=BillingLine.Source.API,
        provider=provider,
        day=day,
        scope=scope,
        billed_cost=cost,
        effective_cost=cost,
        description="Demo provider bill",
    )


def _fixed_saving_plant(*, now: datetime, first_day: date) -> None:
    """The routing saving support made FIXED_DAYS_AGO: found as the detector found it that day,
    marked done then, and measured over the 14 days either side."""
    done_day = now.date() - timedelta(days=company.FIXED_DAYS_AGO)
    if first_day > done_day - timedelta(days=MEASURE_DAYS):
        return  # too little history for a before and an after
    found = [f for f in routing_detect(done_day, SavingsSettings.current()) if f.scope.feature == company.FIXED_FEATURE]
    if not found or Opportunity.objects.filter(fingerprint=found[0].fingerprint).exists():
        return
    finding, done_at = found[0], datetime.combine(done_day, time(9), tzinfo=UTC)
    Opportunity.objects.create(
        fingerprint=finding.fingerprint,
        **finding.opportunity_fields(),
        status=Opportunity.Status.DONE,
        first_found=done_day,
        last_found=done_day,
        accepted_at=done_at,
        done_at=done_at,
    )
    opportunities_measure(today=now.date())


def _budgets_ensure(*, today: date) -> None:
    """A monthly budget per product team and one for the organisation: last month's spend plus
    15%, rounded up to $50 — so this month's growth and anomalies press against them."""
    month_start = today.replace(day=1)
    last_month = (month_start - timedelta(days=1)).replace(day=1)
    report = costs_report(
        start=last_month, end=month_start - timedelta(days=1), group_by=["team"], filters={}, team_ids=None
    )
    teams = Team.objects.in_bulk(field_name="slug")

    def rounded(amount: Decimal) -> Decimal:
        return max(Decimal(50), (amount * Decimal("1.15") / 50).to_integral_value(rounding=ROUND_CEILING) * 50)

    for row in report.rows:
        team = teams.get(row.key["team"])
        if team is not None and not team.is_shared:
            Budget.objects.get_or_create(
                team=team, product=None, effective_from=last_month, defaults={"monthly_amount": rounded(row.total)}
            )
    Budget.objects.get_or_create(
        team=None, product=None, effective_from=last_month, defaults={"monthly_amount": rounded(report.total.total)}
    )


def _prices_ensure(since: datetime) -> None:
    if not ModelPrice.objects.exists():
        prices_load_from_package()
        catalog.invalidate()  # the loader invalidates on commit; the caller may hold a transaction open
    prices = catalog.get()
    unpriced = [f"{p}/{m}" for p, m in company.MODELS if prices.price_at(p, m, since) is None]
    if unpriced:
        raise DemoDataError(f"No price for {', '.join(unpriced)}: load prices (manage.py load_prices) first.")


@transaction.atomic
def _registry_build(*, customers: list[company.CustomerSpec], first_day: date) -> dict[str, ApiKeyInfo]:
    """Teams, products, customers, an alias, API keys and shared-cost rules; rows that exist are kept."""
    teams = {
        spec.slug: Team.objects.get_or_create(
            slug=spec.slug,
            defaults={"name": spec.name, "business_unit": spec.business_unit, "is_shared": spec.is_shared},
        )[0]
        for spec in company.TEAMS
    }
    for slug, name, team in company.PRODUCTS:
        Product.objects.get_or_create(slug=slug, defaults={"name": name, "team": teams[team]})
    CustomerAccount.objects.bulk_create(
        [CustomerAccount(external_id=c.external_id, name=c.name, tier=c.tier, monthly_revenue=c.monthly_revenue)
         for c in customers],
        ignore_conflicts=True,
    )  # fmt: skip
    for alias, target in company.TEAM_ALIASES:
        TagAlias.objects.get_or_create(dimension=TagAlias.Dimension.TEAM, alias=alias, defaults={"target": target})
    for identifier, name, team in company.PEOPLE:  # the developers without a demo login
        Person.objects.get_or_create(identifier=identifier, defaults={"display_name": name, "team": teams[team]})
    _rules_ensure(teams=teams, first_day=first_day)
    return {spec.name: _key_ensure(spec, teams[spec.team]) for spec in company.KEYS}


def _key_ensure(spec: company.KeySpec, team: Team) -> ApiKeyInfo:
    key = ApiKey.objects.filter(team=team, name=spec.name, revoked_at__isnull=True).first()
    if key is None:
        # The secret is not kept: the demo ingests in-process, and an admin can issue a real key.
        key, _ = api_key_create(
            team=team,
            name=spec.name,
            pinned_tags={"team": team.slug} if spec.pin_team else {},
            default_tags={"environment": spec.environment},
        )
        key.chargeable_teams.set(Team.objects.filter(slug__in=spec.may_charge))
    return ApiKeyInfo.of(key)


def _rule_ensure(name: str, targets: tuple[tuple[Team, Decimal | None], ...] = (), **fields) -> None:
    if SharedCostRule.objects.filter(name=name).exists():
        return
    rule = SharedCostRule(name=name, **fields)
    rule.full_clean()
    rule.save()
    for team, percent in targets:
        target = RuleTarget(rule=rule, team=team, percent=percent)
        target.full_clean()
        target.save()


def _rules_ensure(*, teams: dict[str, Team], first_day: date) -> None:
    Source, Method = SharedCostRule.Source, SharedCostRule.Method
    _rule_ensure(
        company.PLATFORM_RULE,
        source=Source.SHARED_TEAM,
        source_team=teams["platform"],
        method=Method.BILLED_COST,
        effective_from=first_day,
    )
    _rule_ensure(
        company.UNATTRIBUTED_RULE, source=Source.UNATTRIBUTED, method=Method.REQUESTS, effective_from=first_day
    )
    _rule_ensure(
        company.VECTOR_DB_RULE,
        targets=tuple((teams[slug], percent) for slug, percent in company.VECTOR_DB_SPLIT),
        source=Source.FIXED,
        monthly_amount=company.VECTOR_DB_MONTHLY,
        method=Method.FIXED_PERCENT,
        all_teams=False,
        effective_from=first_day,
    )


def var_password(name: str) -> str:
    """A password generated once and kept under var/, so printed logins stay valid between runs."""
    path = settings.VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
    return path.read_text().strip()


def _demo_users() -> list[tuple[str, str]]:
    """(username, access) of every demo login, in the order they are printed."""
    users = [("admin", "superuser: everything, and the admin"), ("finance", "finance group: every team, overview")]
    users += [(f"lead-{spec.slug}", f"lead of {spec.slug}") for spec in company.TEAMS]
    return [*users, (MEMBER_USERNAME, "member of search (read-only)")]


@transaction.atomic
def demo_logins_ensure(*, password: str, admin_password: str) -> list[DemoLogin]:
    """Create or refresh the demo logins: admin, finance, a lead per team and one team member.

    `admin_password` is dev_login's (var/admin_password), so both commands print the same login.
    """
    User = get_user_model()
    finance_group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    teams = {team.slug: team for team in Team.objects.filter(slug__in=[spec.slug for spec in company.TEAMS])}
    memberships = {f"lead-{slug}": (team, TeamMembership.Role.LEAD) for slug, team in teams.items()}
    memberships[MEMBER_USERNAME] = (teams["search"], TeamMembership.Role.MEMBER)
    # Hashing is slow on purpose; the demo users share one password, so it is hashed once.
    hashed = {password: make_password(password), admin_password: make_password(admin_password)}
    logins = []
    for username, access in _demo_users():
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = user.is_superuser = username == "admin"
        user.password = hashed[admin_password if username == "admin" else password]
        user.save()
        if username == "finance":
            user.groups.add(finance_group)
        if username in memberships:
            team, role = memberships[username]
            TeamMembership.objects.update_or_create(user=user, team=team, defaults={"role": role})
        logins.append(DemoLogin(username, admin_password if username == "admin" else password, access))
    return logins


def demo_logins_existing(*, password: str, admin_password: str) -> list[DemoLogin]:
    """The demo logins that exist, as `demo_logins_ensure` made them (passwords are not checked)."""
    existing = set(
        get_user_model().objects.filter(username__in=[u for u, _ in _demo_users()]).values_list("username", flat=True)
    )
    return [
        DemoLogin(username, admin_password if username == "admin" else password, access)
        for username, access in _demo_users()
        if username in existing
    ]
