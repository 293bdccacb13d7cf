from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.caching import cached_tokens, caching_detect
from apps.insights.repricing import Tokens

from .usage import TODAY, at


def test_uncached_large_inputs_are_priced_as_half_cache_reads_plus_the_writes(usage, team, config):
    usage.add(team, at(2), times=100, feature="rag", input_tokens=10_000, output_tokens=0)
    usage.flush()

    [finding] = caching_detect(TODAY, config)

    # 1,000,000 input on Opus = $15. Cached: 450,000 × $15 + 500,000 reads × $1.50
    # + 50,000 writes × $18.75 (per million) = $8.4375. Saving $6.5625 in 28 days, × 30/28.
    assert finding.evidence["cost"] == "15.000000000"
    assert finding.evidence["cost_cached"] == "8.437500000"
    assert finding.monthly_saving == Decimal("7.031250000")
    assert (finding.lever, finding.scope.feature) == ("caching", "rag")


def test_inputs_already_read_from_cache_are_left_alone(usage, team, config):
    usage.add(team, at(2), times=100, feature="rag", input_tokens=10_000, cache_read_tokens=5_000, output_tokens=0)
    usage.flush()

    assert caching_detect(TODAY, config) == []


def test_small_inputs_are_left_alone(usage, team, config):
    usage.add(team, at(2), times=100, feature="rag", input_tokens=1_000, output_tokens=0)
    usage.flush()

    assert caching_detect(TODAY, config) == []


def test_cached_tokens_never_exceed_the_uncached_input():
    tokens = cached_tokens(Tokens(input=1000, cache_read=0, cache_write=900), share=Decimal("0.5"), reads_per_write=10)

    assert tokens.cache_read + tokens.cache_write <= tokens.input
    assert tokens == Tokens(input=1000, cache_read=90, cache_write=910)
