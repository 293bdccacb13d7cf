"""The statement and overview CSVs: exact figures, with the month and display names beside the slugs."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db


def rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_statement_names_the_month_feature_customer_and_display_names(company, as_user, lead):
    CustomerAccountFactory(external_id="acme", name="Acme Corp")
    statement = rows(as_user(lead).get("/teams/search/statement.csv"))
    acme = next(r for r in statement if r["customer"] == "acme")
    month = company["today"].strftime("%Y-%m")
    assert {k: acme[k] for k in ("month", "team", "team_name", "product", "product_name", "customer_name")} == {
        "month": month,
        "team": "search",
        "team_name": "Search",
        "product": "answers",
        "product_name": "Answers",
        "customer_name": "Acme Corp",
    }
    assert "feature" in acme


def test_allocation_rows_leave_the_token_columns_blank(company, as_user, lead):
    allocated = next(r for r in rows(as_user(lead).get("/teams/search/statement.csv")) if r["kind"] == "allocated in")
    assert (
        allocated["requests"],
        allocated["input_tokens"],
        allocated["output_tokens"],
        allocated["list_cost_usd"],
    ) == (
        "",
        "",
        "",
        "",
    )
    assert allocated["amount_usd"] == "3.000000000"


def test_finance_exports_the_overview_exactly(company, as_user, finance):
    overview = rows(as_user(finance).get("/overview.csv"))
    by_team = {r["team"]: r for r in overview}
    assert by_team["search"]["total_usd"] == "9.000000000"
    assert by_team["platform"]["allocated_out_usd"] == "6.000000000"
    assert by_team[""]["team_name"] == "total spend"
    assert Decimal(by_team[""]["total_usd"]) == Decimal("18")


def test_a_lead_cannot_export_the_overview(company, as_user, lead):
    assert as_user(lead).get("/overview.csv").status_code == 403


def test_the_overview_export_refuses_a_month_that_has_not_begun(company, as_user, finance):
    response = as_user(finance).get("/overview.csv", {"month": "2999-01"})
    assert response.status_code == 400
    assert b"2999-01 has not begun yet" in response.content
