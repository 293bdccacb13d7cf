"""Synthetic usage events for the benchmarks, and the totals the database must hold once stored.

The events carry what production traffic carries: team aliases, unknown and missing teams, dated
model snapshots, an unpriced model, long-context prompts, cache reads and writes, batch tier, late
arrivals. Expected money comes from the product's own rating function.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from apps.org.models import Product, TagAlias, Team
from apps.pricing.fields import to_nanos
from apps.pricing.rating import TOKEN_FIELDS, TokenCounts, catalog, event_rate
from apps.usage.services import api_key_create

TEAMS = {"search": "Search", "checkout": "Checkout", "support": "Support", "platform": "Platform"}
PRODUCTS = {"search-web": "search", "checkout-api": "checkout", "support-bot": "support", "retrieval": "platform"}
# Team tags as services send them, with the team each should land on (None: unattributed).
TEAM_TAGS = {
    "search": "search",
    "Search Team": "search",  # an alias created below
    "checkout": "checkout",
    "support": "support",
    "platform": "platform",
    "growth": None,  # unknown team
    "": None,  # missing team tag
}
ENVIRONMENT_TAGS = ("production", "prod", "staging", "development")
# (provider, model as sent): dated snapshots and Bedrock ids exercise model resolution, and one
# in-house model is unpriced on purpose.
MODELS = (
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-opus-4-5"),
    ("openai", "gpt-4o"),
    ("openai", "gpt-5-mini"),
    ("gcp.vertex_ai", "gemini-2.5-pro"),
    ("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
)
UNPRICED_MODEL = ("openai", "in-house-distilled-7b")


def registry_create() -> None:
    """Teams, products and a team alias; environments and their aliases come from migrations."""
    for slug, name in TEAMS.items():
        Team.objects.get_or_create(slug=slug, defaults={"name": name, "is_shared": slug == "platform"})
    for slug, team in PRODUCTS.items():
        Product.objects.get_or_create(slug=slug, defaults={"name": slug.title(), "team": Team.objects.get(slug=team)})
    TagAlias.objects.get_or_create(dimension="team", alias="search-team", defaults={"target": "search"})


def api_key_new(name: str) -> tuple[int, str]:
    """A fresh key of the search team that may charge every team (a shared service forwarding the
    whole company's calls); (its id, the secret to send)."""
    key, raw = api_key_create(team=Team.objects.get(slug="search"), name=name)
    key.chargeable_teams.set(Team.objects.all())
    return key.id, raw


def models_check() -> None:
    """Fail before measuring anything if the price table does not price what the events use."""
    prices = catalog.get()
    unpriced = [f"{p}/{m}" for p, m in MODELS if prices.resolve(p, m) is None]
    if unpriced:
        raise SystemExit(f"The price table does not price {', '.join(unpriced)}: the events would be unpriced.")
    if prices.resolve(*UNPRICED_MODEL) is not None:
        raise SystemExit(f"{UNPRICED_MODEL} is priced now; pick another unpriced model for the benchmark.")


def events_generate(count: int, *, seed: int, now: datetime, days: int = 3) -> list[dict[str, Any]]:
    """`count` distinct events, deterministic for a seed; late ones go back up to `days` days."""
    rng = random.Random(seed)
    team_tags = list(TEAM_TAGS)
    span = days * 86400
    events = []
    for i in range(count):
        provider, model = UNPRICED_MODEL if i % 50 == 0 else rng.choice(MODELS)
        # Mostly short prompts; one in twenty above 200k tokens hits long-context tiers.
        input_tokens = rng.randint(210_000, 400_000) if i % 20 == 0 else rng.randint(50, 30_000)
        cache_read = rng.randint(0, input_tokens // 2) if i % 3 else 0
        cache_write = rng.randint(0, (input_tokens - cache_read) // 4) if i % 5 == 0 else 0
        output_tokens = rng.randint(1, 4_000)
        # Live traffic: nearly every event from the last ten minutes; one in fifty arrives late.
        timestamp = now - timedelta(seconds=rng.randint(60, span) if i % 50 == 7 else rng.randint(1, 600))
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "provider": provider,
            "model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
            "cache_write_1h_tokens": cache_write // 3,
            "reasoning_tokens": output_tokens // 4 if model.startswith("gpt-5") else 0,
            "feature": f"feature-{rng.randint(1, 12)}",
            "environment": rng.choice(ENVIRONMENT_TAGS),
            "customer": f"cus_{rng.randint(1, 400):04d}",
            "trace_id": f"trace-{seed}-{i // 4}",
            "service_tier": "batch" if i % 10 == 0 else "standard",
            "latency_ms": rng.randint(200, 20_000),
            "attributes": {"region": rng.choice(("eu-west-1", "us-east-1")), "sdk": "python/1.4.2"},
        }
        team = rng.choice(team_tags)
        if team:
            event["team"] = team
        # A product of the team charged (any, for an unknown or missing team): a product of another
        # team is refused, as a key may charge a team only for its own products.
        products = [p for p, owner in PRODUCTS.items() if TEAM_TAGS[team] in (None, owner)]
        event["product"] = rng.choice(products)
        if i % 7 == 0:
            event["agent"] = f"agent-{rng.randint(1, 5)}"
        events.append(event)
    return events


@dataclass
class Totals:
    """What the database must hold for a set of events: counts, tokens and nano-dollar sums."""

    events: int = 0
    attributed: int = 0
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    list_cost: int = 0
    billed_cost: int = 0
    cache_savings: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True)))

    @classmethod
    def of(cls, rows: list[tuple[int, ...]]) -> Totals:
        """Sum per-event rows (as `events_rate` returns them)."""
        return cls(*(sum(column) for column in zip(*rows, strict=True))) if rows else cls()


def events_rate(events: list[dict[str, Any]]) -> list[tuple[int, ...]]:
    """Each event's contribution to `Totals`, priced with the product's rating function as
    ingestion must price it."""
    prices = catalog.get()
    rows = []
    for e in events:
        rating = event_rate(
            provider=e["provider"],
            model=e["model"],
            timestamp=datetime.fromisoformat(e["timestamp"]).astimezone(UTC),
            tokens=TokenCounts(**{name: e[name] for name in TOKEN_FIELDS}),
            service_tier=e["service_tier"],
            prices=prices,
        )
        rows.append(
            (
                1,
                int(TEAM_TAGS[e.get("team", "")] is not None),
                int(rating.unpriced),
                e["input_tokens"],
                e["output_tokens"],
                e["cache_read_tokens"],
                to_nanos(rating.list_cost),
                to_nanos(rating.billed_cost),
                to_nanos(rating.cache_savings),
            )
        )
    return rows


TOTALS_SQL = """
    SELECT COUNT(*), COUNT(team_id), COUNT(*) FILTER (WHERE unpriced),
           COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read_tokens), 0),
           COALESCE(SUM(list_cost), 0), COALESCE(SUM(billed_cost), 0), COALESCE(SUM(cache_savings), 0)
    FROM usage_usageevent WHERE api_key_id = %s
"""


def totals_stored(api_key_id: int) -> Totals:
    with connection.cursor() as cursor:
        cursor.execute(TOTALS_SQL, [api_key_id])
        return Totals(*(int(v) for v in cursor.fetchone()))
