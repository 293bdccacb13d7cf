"""Every page renders whatever the product has raised: one of every kind of anomaly, alert,
adjustment and opportunity, each made by the product's own code, present in one month at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings

from apps.billing.focus_import import billing_import
from apps.billing.models import PROVIDER_ONLY, ProviderAccount
from apps.billing.services import account_sync, scope_map
from apps.budgets.models import Alert, Anomaly
from apps.budgets.services import spend_check
from apps.closing.services import month_close
from apps.insights.models import Opportunity
from apps.insights.services import opportunity_accept, opportunity_dismiss, opportunity_done
from apps.org.models import Team, TeamMembership
from apps.rollups.models import DailyRollup
from apps.showback.demo import demo_company_build
from apps.usage.keys import api_key_lookup
from apps.usage.models import UsageEvent
from apps.usage.services import api_key_create, events_ingest
from attribution_site import snapshots
from tests.billing.fake_admin_api import FakeAdminApi, anthropic_cost, anthropic_cost_bucket
from tests.billing.focus_files import focus_row, write_csv
from tests.factories import UserFactory
from tests.rollups.events import refresh_dirty_days

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
CLOSED = date(2026, 10, 1)
# A mapped Anthropic workspace billed far below what its team recorded, and two Amazon Bedrock
# rows on a sub-account nobody mapped: the two reconciliation anomalies of a real bill.
BILLED_DAY = date(2026, 11, 18)
WORKSPACE = "wrkspc_search"


def _bedrock_bill(folder) -> None:
    rows = [
        focus_row(SubAccountId="999988887777", ChargePeriodStart=f"{day}T00:00:00Z",
                  ChargePeriodEnd=f"{day + timedelta(days=1)}T00:00:00Z", BilledCost="41.25", Tags="{}")
        for day in (BILLED_DAY, BILLED_DAY - timedelta(days=1))
    ] + [  # a bill for the closed month arrives after its close: an adjustment in November
        focus_row(SubAccountId="999988887777", ChargePeriodStart="2026-10-20T00:00:00Z",
                  ChargePeriodEnd="2026-10-21T00:00:00Z", BilledCost="12.5", Tags="{}")
    ]  # fmt: skip
    path = write_csv(folder / "bedrock.csv", rows)
    with path.open("rb") as stream:
        billing_import(stream=stream, file_name=path.name)


def _anthropic_pull(team: Team) -> None:
    scope_map(provider="anthropic", scope=WORKSPACE, team=team)
    with FakeAdminApi() as api:
        next_day = BILLED_DAY + timedelta(days=1)
        api.pages["/v1/organizations/cost_report"] = [
            {"data": [anthropic_cost_bucket(f"{BILLED_DAY}", f"{next_day}", [anthropic_cost(WORKSPACE, "150")])]}
        ]
        api.pages["/v1/organizations/usage_report/messages"] = [{"data": []}]
        account = ProviderAccount(provider="anthropic", name="main", api_base=api.url)
        account.api_key = "sk-ant-admin-test"
        account.save()
        account_sync(account=account, start=BILLED_DAY, end=BILLED_DAY)


def _late_event(team: Team) -> None:
    _, raw_key = api_key_create(team=team, name="late-batch", pinned_tags={"team": team.slug})
    result = events_ingest(
        key=api_key_lookup(raw_key),
        events=[{"event_id": "late-1", "timestamp": "2026-10-30T12:00:00Z", "provider": "anthropic",
                 "model": "claude-sonnet-4-5", "input_tokens": 1000, "output_tokens": 100}],
    )  # fmt: skip
    assert result.accepted == 1


def _lifecycle() -> None:
    owner = UserFactory(username="owner")
    opportunities = list(Opportunity.objects.exclude(lever=Opportunity.Lever.UNIT_COST_DRIFT).order_by("id")[:3])
    accepted, done, dismissed = opportunities
    opportunity_accept(opportunity=accepted, owner=owner)
    opportunity_done(opportunity=opportunity_accept(opportunity=done, owner=owner), at=NOW - timedelta(days=20))
    opportunity_dismiss(opportunity=dismissed, reason="A contract requires this model.")


@pytest.fixture(scope="module")
def everything(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo company with everything the product can raise, built once for the module."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        time_machine.travel(NOW, tick=False),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], ROLLUP_REFRESH_ON_INGEST=False
        ),
    ):
        snapshots.invalidate_all()
        demo_company_build(days=60, scale=0.5, now=NOW)
        search = Team.objects.get(slug="search")
        month_close(month=CLOSED, today=NOW.date())
        _late_event(search)
        _bedrock_bill(tmp_path_factory.mktemp("bills"))
        _anthropic_pull(search)
        refresh_dirty_days()
        spend_check(now=NOW)
        _lifecycle()
        yield
        transaction.set_rollback(True)
    snapshots.invalidate_all()


@pytest.fixture
def finance_client(everything, finance):
    client = Client()
    client.force_login(finance)
    return client


@pytest.fixture(autouse=True)
def pinned_clock(everything):
    with time_machine.travel(NOW, tick=False):
        yield


def test_one_of_every_kind_is_present(everything):
    assert set(Anomaly.objects.values_list("dimension", flat=True)) == set(Anomaly.Dimension.values)
    assert Anomaly.objects.filter(hour__isnull=False).exists()  # an hourly runaway
    reconciliation = Anomaly.objects.filter(dimension=Anomaly.Dimension.RECONCILIATION)
    assert set(reconciliation.values_list("subject", flat=True)) >= {"aws.bedrock:unmapped", "anthropic:search"}
    assert set(Alert.objects.values_list("kind", flat=True)) == set(Alert.Kind.values)
    assert set(Opportunity.objects.values_list("lever", flat=True)) == set(Opportunity.Lever.values)
    assert set(Opportunity.objects.values_list("status", flat=True)) == set(Opportunity.Status.values)
    assert UsageEvent.objects.filter(adjusts_month="2026-10", day=date(2026, 11, 1)).count() == 1
    assert DailyRollup.objects.filter(adjusts_month="2026-10", model=PROVIDER_ONLY).exists()


def _pages() -> list[str]:
    teams = list(Team.objects.order_by("slug").values_list("slug", flat=True))
    anomaly_days = sorted(set(Anomaly.objects.values_list("day", flat=True)))
    pages = ["/overview/", "/overview/?month=2026-10", "/savings/", "/overview.csv"]
    for slug in teams:
        pages += [
            f"/teams/{slug}/",
            f"/teams/{slug}/?month=2026-10",
            f"/teams/{slug}/alerts/",
            f"/teams/{slug}/statement.csv",
            f"/teams/{slug}/?start={anomaly_days[0]}&end={anomaly_days[-1]}",
            f"/teams/{slug}/?start=2026-11-01&end=2026-11-20&model=claude-sonnet-4-5",
        ]
    return pages


def test_every_page_of_the_month_renders_for_finance(finance_client):
    statuses = {page: finance_client.get(page).status_code for page in _pages()}

    assert {page: status for page, status in statuses.items() if status != 200} == {}


def test_the_overview_names_both_reconciliation_anomalies_in_money(finance_client):
    html = finance_client.get("/overview/").content.decode()

    assert "aws.bedrock on 2026-11-18, scope 999988887777 (no mapped team): billed $41.25, recorded $0.00" in html
    assert "anthropic on 2026-11-18, scope wrkspc_search (team search): billed $1.50, recorded $" in html
    assert "E-9" not in html


def test_a_lead_sees_the_reconciliation_anomaly_of_their_team(everything, client):
    lead = UserFactory(username="search-lead")
    TeamMembership.objects.create(team=Team.objects.get(slug="search"), user=lead, role=TeamMembership.Role.LEAD)
    client.force_login(lead)

    html = client.get("/teams/search/").content.decode()

    assert "scope <strong>wrkspc_search</strong> 100%" in html
