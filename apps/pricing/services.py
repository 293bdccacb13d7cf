"""Writes to the price table: loading the `genai-prices` package's bundled data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from django.db import transaction
from genai_prices import data as genai_data
from genai_prices import types as genai_types

from .models import ModelAlias, ModelPrice

# genai-prices provider ids → the canonical provider names events use (DESIGN.md).
PROVIDER_NAMES = {"aws": "aws.bedrock", "azure": "azure.ai.openai", "google": "gcp.vertex_ai"}
# Prices without a start date in the package have applied since before any event we can hold.
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

_COMPONENTS = {
    "input_per_mtok": "input_mtok",
    "output_per_mtok": "output_mtok",
    "cache_read_per_mtok": "cache_read_mtok",
    "cache_write_per_mtok": "cache_write_mtok",
    "cache_write_1h_per_mtok": "cache_write_1h_mtok",
}


@dataclass(frozen=True)
class PriceLoad:
    created: int
    kept: int
    aliases_created: int
    first_tier_only: list[str]  # provider/model priced in several long-context tiers: only the first is kept


def _several_tiers(prices: genai_types.ModelPrice) -> bool:
    return any(
        isinstance(value, genai_types.TieredPrices) and len(value.tiers) > 1
        for value in (getattr(prices, attr, None) for attr in _COMPONENTS.values())
    )


def _price_fields(prices: genai_types.ModelPrice) -> dict | None:
    """Our columns for one genai-prices price set; None for models not priced per token."""
    if getattr(prices, "input_mtok", None) is None:
        return None
    fields: dict = {"output_per_mtok": Decimal(0)}
    for column, attr in _COMPONENTS.items():
        value = getattr(prices, attr, None)
        if isinstance(value, genai_types.TieredPrices):
            # The package allows several tiers; providers publish one, which is what we keep.
            tier = value.tiers[0]
            fields["long_context_threshold"] = tier.start
            fields[f"long_{column}"] = tier.price
            value = value.base
        if value is not None:
            fields[column] = value
    if "long_context_threshold" in fields:
        # A component the package does not tier costs the same above the threshold (left blank,
        # a long-context price would fall back to the long input price).
        for column in _COMPONENTS:
            if column in fields:
                fields.setdefault(f"long_{column}", fields[column])
    return fields


def _price_sets(model: genai_types.ModelInfo):
    """(effective_from, ModelPrice) pairs; time-of-day prices (off-peak) are not modelled."""
    if isinstance(model.prices, genai_types.ModelPrice):
        yield EPOCH, model.prices
        return
    for conditional in model.prices:
        if conditional.constraint is None:
            yield EPOCH, conditional.prices
        elif isinstance(conditional.constraint, genai_types.StartDateConstraint):
            yield datetime.combine(conditional.constraint.start_date, time.min, tzinfo=UTC), conditional.prices


def _match_aliases(clause) -> tuple[list[str], list[str]]:
    """Exact names and prefixes a genai-prices match clause accepts (regex/contains are skipped)."""
    exact: list[str] = []
    prefixes: list[str] = []
    if isinstance(clause, genai_types.ClauseEquals):
        exact.append(clause.equals)
    elif isinstance(clause, genai_types.ClauseStartsWith):
        prefixes.append(clause.starts_with)
    elif isinstance(clause, genai_types.ClauseOr):
        for inner in clause.or_:
            e, p = _match_aliases(inner)
            exact += e
            prefixes += p
    return exact, prefixes


@transaction.atomic
def prices_load_from_package() -> PriceLoad:
    """Fill the price table from genai-prices' bundled data. Rows that exist are kept as they are,
    so prices an admin has edited survive a reload; running it twice creates nothing new."""
    existing = set(ModelPrice.objects.values_list("provider", "model", "effective_from"))
    existing_aliases = set(ModelAlias.objects.values_list("provider", "alias", "match"))
    new_prices: list[ModelPrice] = []
    new_aliases: list[ModelAlias] = []
    kept = 0
    first_tier_only = []
    for genai_provider in genai_data.providers:
        provider = PROVIDER_NAMES.get(genai_provider.id, genai_provider.id)
        for model in genai_provider.models:
            priced = False
            for effective_from, prices in _price_sets(model):
                fields = _price_fields(prices)
                if fields is None:
                    continue
                priced = True
                if _several_tiers(prices):
                    first_tier_only.append(f"{provider}/{model.id}")
                key = (provider, model.id, effective_from)
                if key in existing:
                    kept += 1
                    continue
                existing.add(key)
                new_prices.append(
                    ModelPrice(
                        provider=provider,
                        model=model.id,
                        effective_from=effective_from,
                        source=ModelPrice.Source.GENAI_PRICES,
                        **fields,
                    )
                )
            if not priced:
                continue
            exact, prefixes = _match_aliases(model.match)
            for names, match in ((exact, ModelAlias.Match.EXACT), (prefixes, ModelAlias.Match.PREFIX)):
                for alias in names:
                    key = (provider, alias, match)
                    # A prefix equal to the model's own name still matches longer names (`…-latest`).
                    if (match == ModelAlias.Match.EXACT and alias == model.id) or key in existing_aliases:
                        continue
                    existing_aliases.add(key)
                    new_aliases.append(ModelAlias(provider=provider, alias=alias, match=match, model=model.id))
    ModelPrice.objects.bulk_create(new_prices)
    ModelAlias.objects.bulk_create(new_aliases)
    from .rating import catalog

    transaction.on_commit(catalog.invalidate)  # bulk_create sends no save signals
    return PriceLoad(
        created=len(new_prices),
        kept=kept,
        aliases_created=len(new_aliases),
        first_tier_only=sorted(set(first_tier_only)),
    )
