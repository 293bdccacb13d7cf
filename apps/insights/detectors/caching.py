"""Caching: large, frequent inputs with a low cache-read share."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from apps.pricing.rating import catalog

from ..models import SavingsSettings
from ..repricing import Tokens, tokens_cost
from ..selectors import SCOPE, TokenGroup, event_token_groups, window
from . import SAVING, Finding, Scope, finding, money_text


def cached_tokens(tokens: Tokens, *, share: Decimal, reads_per_write: int) -> Tokens:
    """The tokens as if `share` of the input were cache reads, plus the 5-minute writes of that
    prefix (one write serves `reads_per_write` calls)."""
    target = int((tokens.input * share).to_integral_value(rounding=ROUND_FLOOR))
    uncached = tokens.input - tokens.cache_read - tokens.cache_write
    reads = max(0, target - tokens.cache_read)
    writes = -(-reads // reads_per_write)
    if reads + writes > uncached:
        writes = -(-uncached // (reads_per_write + 1))
        reads = uncached - writes
    return tokens.with_(cache_read=tokens.cache_read + reads, cache_write=tokens.cache_write + writes)


def caching_detect(today: date, config: SavingsSettings) -> list[Finding]:
    start, end = window(today)
    scopes: dict[tuple, list[TokenGroup]] = defaultdict(list)
    for g in event_token_groups(start=start, end=end):
        scopes[(*(g.key[k] for k in SCOPE), g.provider, g.model)].append(g)
    prices = catalog.get()
    findings = []
    for (team_id, product_id, feature, agent, provider, model), groups in scopes.items():
        calls = sum(g.calls for g in groups)
        input_tokens = sum(g.tokens.input for g in groups)
        reads = sum(g.tokens.cache_read for g in groups)
        if calls < config.min_calls or input_tokens < calls * config.caching_min_input_per_call:
            continue
        if Decimal(reads) / input_tokens >= config.caching_max_read_share:
            continue
        now = then = Decimal(0)
        for g in groups:
            cost = {"prices": prices, "provider": provider, "model": model, "at": g.at, "long": g.long, "tier": g.tier}
            before = tokens_cost(tokens=g.tokens, **cost)
            after = tokens_cost(
                tokens=cached_tokens(
                    g.tokens, share=config.caching_target_read_share, reads_per_write=config.caching_reads_per_write
                ),
                **cost,
            )
            if before is None or after is None:
                break
            now, then = now + before, then + after
        else:
            scope = Scope(team_id, product_id, feature, agent, provider=provider, model=model)
            findings.append(
                finding(
                    lever="caching",
                    scope=scope,
                    saving=now - then,
                    config=config,
                    sentence=(
                        f"{scope.subject} sends {input_tokens // calls} input tokens a call to {model} over {calls} "
                        f"calls, {Decimal(reads * 100 / input_tokens).quantize(Decimal('0.1'))}% read from cache; "
                        f"with {config.caching_target_read_share * 100:.0f}% cached it would cost {SAVING} a month "
                        "less."
                    ),
                    evidence={
                        "calls": calls,
                        "input_tokens": input_tokens,
                        "cache_read_tokens": reads,
                        "target_read_share": str(config.caching_target_read_share),
                        "reads_per_write": config.caching_reads_per_write,
                        "cost": money_text(now),
                        "cost_cached": money_text(then),
                    },
                )
            )
    return [f for f in findings if f]
