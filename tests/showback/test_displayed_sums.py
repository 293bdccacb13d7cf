"""What the pages print adds up: each column of cents sums to the total printed beneath it."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from apps.allocation.models import SharedCostRule
from apps.allocation.services import day_refresh
from apps.usage.keys import api_key_lookup
from apps.usage.services import events_ingest
from tests.factories import ApiKeyFactory, ModelPriceFactory, TeamFactory

from .conftest import page_event

pytestmark = pytest.mark.django_db


class Tables(HTMLParser):
    """The text of each cell of each table with an id, by section: {id: {"tbody": rows, "tfoot": rows}}."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict[str, list[list[str]]]] = {}
        self.spans: dict[str, str] = {}
        self._table = self._section = self._cell = self._span = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], {"tbody": [], "tfoot": []})
        elif tag in ("tbody", "tfoot") and self._table is not None:
            self._section = self._table[tag]
        elif tag == "tr" and self._section is not None:
            self._section.append([])
        elif tag == "td" and self._section is not None:
            self._cell = []
        elif tag == "span" and attrs.get("data-part"):
            self._span = attrs["data-part"]
            self.spans[self._span] = ""

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._section[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("tbody", "tfoot"):
            self._section = None
        elif tag == "table":
            self._table = None
        elif tag == "span":
            self._span = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._span:
            self.spans[self._span] += data


def dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace("−", "-"))


def parsed(response) -> Tables:
    tables = Tables()
    tables.feed(response.content.decode())
    return tables


@pytest.fixture
def half_cents(settings, team, other_team):
    """Search and billing each spend $0.005001 (1,667 input tokens at $3/MTok) and are each
    allocated $0.005001 of the platform team's $0.010002: every figure shown alone rounds up."""
    settings.ROLLUP_REFRESH_ON_INGEST = False
    ModelPriceFactory()
    platform = TeamFactory(slug="platform", name="Platform", is_shared=True)
    today = timezone.now().date()
    midnight = datetime.combine(today, time.min, tzinfo=UTC)
    SharedCostRule.objects.create(
        name="Platform", source="shared_team", source_team=platform, effective_from=today.replace(day=1)
    )
    for owner, tokens in ((team, 1_667), (other_team, 1_667), (platform, 3_334)):
        key = ApiKeyFactory(team=owner, pinned_tags={"team": owner.slug})
        event = page_event(f"{owner.slug}-1", midnight, input_tokens=tokens, product="", feature="f")
        result = events_ingest(key=api_key_lookup(key.raw_key), events=[event])
        assert result.accepted == 1, result.rejected
    day_refresh(day=today)


def test_the_team_pages_headline_parts_add_up_to_its_total(half_cents, as_user, lead):
    response = as_user(lead).get("/teams/search/")
    page = response.context["page"]
    assert page.headline.spend.total == Decimal("0.010002000")
    tables = parsed(response)
    total = Decimal("0.01")
    assert b'data-testid="total">$0.01<' in response.content
    assert dollars(tables.spans["direct"]) + dollars(tables.spans["in"]) == total


def test_each_breakdown_column_on_the_team_page_adds_up_to_its_total_and_the_direct_spend(half_cents, as_user, lead):
    tables = parsed(as_user(lead).get("/teams/search/"))
    direct = dollars(tables.spans["direct"])
    for dimension in ("product", "feature", "model", "environment"):
        table = tables.tables[f"breakdown-{dimension}"]
        shown = sum(dollars(row[1]) for row in table["tbody"])
        assert shown == dollars(table["tfoot"][0][1]) == direct, dimension


def test_each_month_on_the_team_page_adds_up_across(half_cents, as_user, lead):
    table = parsed(as_user(lead).get("/teams/search/")).tables["monthly"]
    for row in table["tbody"]:
        direct, shared_in, shared_out, total = (dollars(cell) for cell in row[1:])
        assert direct + shared_in + shared_out == total


def test_every_column_of_the_overviews_team_table_adds_up_to_its_total_row(half_cents, as_user, finance):
    response = as_user(finance).get("/overview/")
    table = parsed(response).tables["team-table"]
    totals = table["tfoot"][0]
    for column in (1, 2, 3, 4):
        assert sum(dollars(row[column]) for row in table["tbody"]) == dollars(totals[column]), column
    # Alone, the three teams' direct spend rounds to $0.01 each; as printed they sum to the $0.02 metered.
    assert dollars(totals[1]) == Decimal("0.02")
    assert dollars(totals[4]) == Decimal("0.02")
    assert b'data-testid="total">$0.02<' in response.content


def test_the_overviews_reconciliation_line_adds_up_as_printed(half_cents, as_user, finance):
    response = as_user(finance).get("/overview/")
    shown = response.context["shown"]
    assert shown.teams_total + shown.unallocated == shown.total_spend == Decimal("0.02")
    assert "Teams $0.02 + unallocated $0.00 = $0.02 total spend" in response.content.decode()


def test_the_overviews_model_mix_adds_up_to_the_metered_spend(half_cents, as_user, finance):
    table = parsed(as_user(finance).get("/overview/")).tables["model-table"]
    assert sum(dollars(row[1]) for row in table["tbody"]) == dollars(table["tfoot"][0][1]) == Decimal("0.02")
