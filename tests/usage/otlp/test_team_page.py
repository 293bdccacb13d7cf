"""OTLP calls on their team's page: exact spend, and the cost of each agent task (trace)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.allocation.services import day_refresh

from .spans import END, chat, export_request, span

pytestmark = pytest.mark.django_db

RESOURCE = {"attribution.team": "search", "service.name": "support-bot", "deployment.environment.name": "dev"}


def test_a_teams_page_shows_its_otlp_spend_per_agent_task(export, gpt_price, client, lead, settings):
    settings.ROLLUP_REFRESH_ON_INGEST = False
    first, second = "0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736"
    request = export_request(
        span(chat(**{"gen_ai.response.id": "c1"}), trace_id=first, span_id="00000000000000e1"),
        span(chat(**{"gen_ai.response.id": "c2"}), trace_id=first, span_id="00000000000000e2"),
        span(chat(**{"gen_ai.response.id": "c3"}), trace_id=second, span_id="00000000000000e3"),
        resource=RESOURCE,
    )
    assert export(request).status_code == 200
    day_refresh(day=END.date())
    client.force_login(lead)

    [agent] = client.get(f"/teams/search/?month={END:%Y-%m}").context["page"].agents

    # Three calls of 1,000 × $0.15 + 200 × $0.60 per million, in two traces.
    assert (agent.label, agent.cost, agent.requests, agent.traces) == ("support-bot", Decimal("0.000810000"), 3, 2)
    assert agent.cost_per_trace == Decimal("0.000405")
