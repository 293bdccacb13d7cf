from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.routing import routing_detect
from apps.pricing.rating import TokenCounts, event_rate

from .usage import TODAY, at


def test_routine_opus_calls_are_priced_on_sonnet_exactly(usage, team, config):
    usage.add(team, at(3), times=100, feature="classify", input_tokens=1000, output_tokens=100)
    usage.flush()

    [finding] = routing_detect(TODAY, config)

    # 100 calls × (1000 in, 100 out): $2.25 on Opus, $0.45 on Sonnet; $1.80 in 28 days, × 30/28 a month.
    tokens = TokenCounts(input_tokens=100_000, output_tokens=10_000)
    opus = event_rate(provider="anthropic", model="claude-opus-4-1", timestamp=at(3), tokens=tokens)
    sonnet = event_rate(provider="anthropic", model="claude-sonnet-4-5", timestamp=at(3), tokens=tokens)
    assert (opus.billed_cost, sonnet.billed_cost) == (Decimal("2.250000000"), Decimal("0.450000000"))
    assert finding.monthly_saving == Decimal("1.928571429")
    assert (finding.lever, finding.scope.team_id, finding.scope.feature, finding.scope.model) == (
        "routing",
        team.pk,
        "classify",
        "claude-opus-4-1",
    )
    assert finding.evidence["cheaper_model"] == "claude-sonnet-4-5"
    assert finding.evidence["routine_calls"] == 100


def test_long_calls_are_not_routed(usage, team, config):
    usage.add(team, at(3), times=100, feature="draft", input_tokens=5000, output_tokens=100)
    usage.flush()

    assert routing_detect(TODAY, config) == []


def test_a_model_without_a_cheaper_sibling_is_not_routed(usage, team, config):
    usage.add(team, at(3), times=100, model="claude-sonnet-4-5", input_tokens=1000, output_tokens=100)
    usage.flush()

    assert routing_detect(TODAY, config) == []


def test_only_the_routine_calls_are_repriced(usage, team, config):
    usage.add(team, at(3), times=90, feature="classify", input_tokens=1000, output_tokens=100)
    usage.add(team, at(3), times=10, feature="classify", input_tokens=5000, output_tokens=100)
    usage.flush()

    [finding] = routing_detect(TODAY, config)

    # 90 routine calls: $2.025 on Opus against $0.405 on Sonnet; $1.62 × 30/28.
    assert finding.monthly_saving == Decimal("1.735714286")
    assert (finding.evidence["calls"], finding.evidence["routine_calls"]) == (100, 90)
