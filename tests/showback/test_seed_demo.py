"""The demo company: built through ingestion, rolled up exactly, with its planted anomalies, gaps and logins."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Sum
from django.test import RequestFactory
from django.utils import timezone

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.billing.models import PROVIDER_ONLY
from apps.billing.selectors import month_reconciliation, unmapped_scopes
from apps.insights.models import Opportunity
from apps.org.models import CustomerAccount, Product, Team, TeamMembership
from apps.org.selectors import FINANCE_GROUP, user_sees_all_teams
from apps.rollups.models import DailyRollup
from apps.showback.demo import demo_company_build, demo_logins_ensure
from apps.showback.demo import services as demo_services
from apps.showback.demo.company import (
    CONSOLE_SCOPE,
    CONSOLE_SPEND,
    LEFT_RUNNING_FEATURE,
    RUNAWAY_AGENT,
    SEARCH_DEVELOPERS,
)
from apps.showback.selectors.people import team_coding_agents
from apps.usage.models import UsageEvent
from apps.usage.services import events_ingest
from attribution_site.periods import MonthPeriod
from tests.factories import UserFactory

DAYS = 14
SCALE = 0.1


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def demo(db, settings, now):
    settings.ROLLUP_REFRESH_ON_INGEST = True  # as embedded; the builder refreshes each day once itself
    return demo_company_build(days=DAYS, scale=SCALE, now=now)


def _daily_spend(**filters) -> dict:
    rows = DailyRollup.objects.filter(**filters).values("day").annotate(spend=Sum("billed_cost"))
    return {row["day"]: row["spend"] for row in rows}


def test_it_registers_teams_products_and_customers(demo):
    assert Team.objects.filter(is_shared=True).values_list("slug", flat=True).get() == "platform"
    assert Team.objects.filter(is_shared=False).count() == 5
    assert Product.objects.count() == 12
    assert CustomerAccount.objects.count() >= 300
    assert set(CustomerAccount.objects.values_list("tier", flat=True)) == {"free", "pro", "enterprise"}
    assert CustomerAccount.objects.filter(monthly_revenue__isnull=False).count() > 250


def test_it_stores_priced_events_in_three_environments(demo):
    events = UsageEvent.objects.all()
    assert demo.events_accepted == events.count() > 1000
    assert not events.filter(unpriced=True).exists()
    assert events.aggregate(total=Sum("billed_cost"))["total"] > Decimal(0)
    environments = set(events.values_list("environment__slug", flat=True))
    assert {"production", "staging", "development"} <= environments
    assert events.exclude(trace_id="").exists()
    assert events.exclude(customer="").exists()
    assert events.filter(cache_read_tokens__gt=0).exists()


def test_rollups_equal_raw_events_to_the_nano_and_the_bill_adds_only_its_console_day(demo, now):
    raw = UsageEvent.objects.values("day").annotate(spend=Sum("billed_cost"), list_cost=Sum("list_cost"))
    events = DailyRollup.objects.exclude(model=PROVIDER_ONLY)
    rolled = events.values("day").annotate(spend=Sum("billed_cost"), list_cost=Sum("list_cost"))
    assert {r["day"]: (r["spend"], r["list_cost"]) for r in raw} == {
        r["day"]: (r["spend"], r["list_cost"]) for r in rolled
    }
    # The demo's days before this month are billed: the Console day is the one provider-only amount.
    billed_month = demo.first_day < now.date().replace(day=1)
    provider_only = DailyRollup.objects.filter(model=PROVIDER_ONLY).aggregate(total=Sum("billed_cost"))["total"]
    assert (provider_only or Decimal(0)) == (CONSOLE_SPEND if billed_month else Decimal(0))
    raw_total = UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"]
    assert demo.billed_cost == raw_total + (provider_only or Decimal(0))


def test_the_runaway_agent_spends_far_above_its_usual_days(demo, now):
    spend = _daily_spend(agent=RUNAWAY_AGENT, environment__slug="production")
    yesterday = now.date() - timedelta(days=1)
    earlier = [amount for day, amount in spend.items() if day < now.date() - timedelta(days=3)]
    assert spend[yesterday] > 5 * statistics.median(earlier)
    assert spend[yesterday] > 5 * statistics.mean(earlier)
    opus = _daily_spend(agent=RUNAWAY_AGENT, day=yesterday, model="claude-opus-4-1")[yesterday]
    assert opus > Decimal("0.8") * spend[yesterday]


def test_the_left_running_dev_workload_runs_nights_and_weekends(demo, now):
    backfill = UsageEvent.objects.filter(feature=LEFT_RUNNING_FEATURE, environment__slug="development")
    last_days = {now.date() - timedelta(days=n) for n in range(1, 9)}
    assert last_days <= set(backfill.values_list("day", flat=True))
    weekend_nights = [ts for ts in backfill.values_list("timestamp", flat=True) if ts.weekday() >= 5 and ts.hour < 6]
    assert weekend_nights
    spend = _daily_spend(team__slug="growth", environment__slug="development")
    before = [spend.get(now.date() - timedelta(days=n), Decimal(0)) for n in range(11, DAYS)]
    assert spend[now.date() - timedelta(days=1)] > 10 * max(before)


def test_some_spend_is_unattributed_or_missing_tags(demo):
    events = UsageEvent.objects.all()
    assert events.filter(team__isnull=True, team_tag="").exists()
    assert events.filter(team__isnull=True, team_tag="search-team-old").exists()
    assert events.filter(environment__slug="production", missing_tags__contains="product").exists()
    assert demo.unattributed_cost > Decimal(0)
    # The alias `search-team` repairs a spelling the legacy batch key still sends.
    assert events.filter(team_tag="search-team", team__slug="search").exists()


def test_allocations_split_each_source_exactly(demo):
    amounts: dict = defaultdict(Decimal)
    sources: dict = defaultdict(set)
    for result in AllocationResult.objects.all():
        amounts[(result.rule_id, result.day)] += result.amount
        sources[(result.rule_id, result.day)].add(result.source_amount)
    assert {key: {amount} for key, amount in amounts.items()} == sources
    rules = set(AllocationResult.objects.values_list("rule__source", flat=True))
    assert rules == {SharedCostRule.Source.SHARED_TEAM, SharedCostRule.Source.UNATTRIBUTED, SharedCostRule.Source.FIXED}


def test_a_second_build_stores_nothing_new(demo, now):
    again = demo_company_build(days=DAYS, scale=SCALE, now=now)
    assert (again.events_accepted, again.events_duplicate) == (0, demo.events_accepted)
    assert again.billed_cost == demo.billed_cost


def test_it_sends_no_batch_larger_than_the_api_accepts(db, settings, monkeypatch, now):
    settings.ROLLUP_REFRESH_ON_INGEST = True
    sizes = []

    refreshes = set()

    def recording_ingest(*, key, events, refresh_days):
        sizes.append(len(events))
        refreshes.add(refresh_days)
        return events_ingest(key=key, events=events, refresh_days=refresh_days)

    monkeypatch.setattr(demo_services, "BATCH_SIZE", 40)
    monkeypatch.setattr(demo_services, "events_ingest", recording_ingest)

    summary = demo_company_build(days=3, scale=SCALE, now=now)

    assert max(sizes) == 40
    assert sum(sizes) == summary.events_accepted == UsageEvent.objects.count()
    assert refreshes == {False}  # each day is refreshed once at the end, not after every batch


def test_the_logins_have_their_roles(demo):
    demo_logins_ensure(password="demo-password-1", admin_password="admin-password-1")
    admin = authenticate(RequestFactory().post("/accounts/login/"), username="admin", password="admin-password-1")
    assert admin.is_superuser and admin.is_staff
    finance = authenticate(RequestFactory().post("/accounts/login/"), username="finance", password="demo-password-1")
    assert finance.groups.filter(name=FINANCE_GROUP).exists() and user_sees_all_teams(finance)
    for team in Team.objects.all():
        lead = TeamMembership.objects.get(user__username=f"lead-{team.slug}")
        assert (lead.team, lead.role) == (team, TeamMembership.Role.LEAD)
        assert not user_sees_all_teams(lead.user)
    member = TeamMembership.objects.get(user__username="member-search")
    assert (member.team.slug, member.role) == ("search", TeamMembership.Role.MEMBER)


@time_machine.travel(datetime(2026, 11, 20, 10, 30, tzinfo=UTC), tick=False)
def test_the_search_teams_coding_agents_show_spend_per_person(db, settings):
    # Mid-month, so this month has days of sessions whatever today is.
    settings.ROLLUP_REFRESH_ON_INGEST = True
    now = timezone.now()
    demo_company_build(days=DAYS, scale=SCALE, now=now)
    search = Team.objects.get(slug="search")
    period = MonthPeriod.parse(None, today=now.date())

    rows = team_coding_agents(team=search, period=period, user=UserFactory(is_staff=True))

    # At the tests' small scale not every developer has a session: those who do are the team's.
    assert len(rows) >= 2 and {p.identifier for p in rows} <= set(SEARCH_DEVELOPERS)
    # Without the demo logins (not built here) only the mapped developers have a team.
    assert all(p.spend > 0 and p.active_days > 0 and p.team in ("search", None) for p in rows)


@time_machine.travel(datetime(2026, 11, 20, 10, 30, tzinfo=UTC), tick=False)
def test_if_empty_builds_nothing_the_second_time(db, settings, tmp_path):
    settings.ROLLUP_REFRESH_ON_INGEST = True
    settings.VAR_DIR = tmp_path  # the demo and admin passwords are written here
    first = StringIO()
    call_command("seed_demo", "--if-empty", "--days", "3", "--scale", "0.05", stdout=first)
    stored = UsageEvent.objects.count()
    assert stored == 345  # three days at 5% scale, to 10:30 on the last
    assert "Demo company: 345 events stored (0 already" in first.getvalue()

    out = StringIO()
    call_command("seed_demo", "--if-empty", "--days", "3", "--scale", "0.05", stdout=out)

    assert UsageEvent.objects.count() == stored
    assert "not built" in out.getvalue()
    assert "lead-search" in out.getvalue()
    assert (tmp_path / "demo_password").read_text().strip() in out.getvalue()


def test_each_planted_saving_is_found_on_the_demo(demo):
    found = {(o.lever, o.team.slug, o.feature) for o in Opportunity.objects.select_related("team")}

    # Unit-cost drift needs two months of history: tests/insights/test_demo.py builds them.
    assert {
        ("routing", "support", "intent-detection"),
        ("caching", "billing", "pdf-extraction"),
        ("batch", "insights", "nightly-report"),
        ("nonprod", "growth", ""),
        ("unbounded_output", "growth", "reply-draft"),
        ("bloated_context", "support", "kb-lookup"),
        ("paid_failures", "billing", "pdf-extraction"),
    } <= found, sorted(found)


def test_make_runs_commands_print_the_served_url_and_each_login_once(db):
    quiet = StringIO()
    call_command("dev_login", "--quiet", stdout=quiet)
    out = StringIO()
    call_command("seed_demo", "--days", "3", "--scale", "0.05", "--url", "http://127.0.0.1:8765/", stdout=out)
    printed = quiet.getvalue() + out.getvalue()
    assert quiet.getvalue() == ""
    assert "Demo logins (http://127.0.0.1:8765/):" in printed
    assert "127.0.0.1:8000" not in printed
    assert sum(line.split()[:1] == ["admin"] for line in printed.splitlines()) == 1


def test_dev_login_prints_the_admin_url_it_is_given(db):
    out = StringIO()
    call_command("dev_login", "--url", "http://127.0.0.1:8765/", stdout=out)
    assert "(http://127.0.0.1:8765/admin/)" in out.getvalue()


def test_the_past_months_have_provider_bills_with_one_planted_difference(db, settings):
    # Ten days into November: the demo's last four days of October are billed, November is not yet.
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    settings.ROLLUP_REFRESH_ON_INGEST = True
    with time_machine.travel(now, tick=False):
        demo_company_build(days=DAYS, scale=SCALE, now=now)
        october = {p.provider: p for p in month_reconciliation(start=date(2026, 10, 1), end=date(2026, 10, 31))}
        november = {p.provider: p for p in month_reconciliation(start=date(2026, 11, 1), end=date(2026, 11, 30))}

    # Each team's workspace billed what its events recorded; the Console day is the only difference.
    anthropic = october["anthropic"]
    assert anthropic.remainder == CONSOLE_SPEND
    assert anthropic.billed == anthropic.recorded + CONSOLE_SPEND
    assert anthropic.remainder_by_team == {"unattributed": CONSOLE_SPEND}
    assert (october["openai"].billed, october["openai"].remainder) == (october["openai"].recorded, Decimal(0))
    assert all(p.balances and not p.over_recorded for p in october.values())
    unmapped = unmapped_scopes(start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert [(u.scope, u.billed) for u in unmapped if u.scope == CONSOLE_SCOPE] == [(CONSOLE_SCOPE, CONSOLE_SPEND)]
    # November has spend and no bill yet, pulled at the build.
    assert {p: (r.has_bill, r.last_pulled) for p, r in november.items()} == {
        "anthropic": (False, now),
        "openai": (False, now),
    }
