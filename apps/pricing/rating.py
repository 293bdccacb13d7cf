"""The rating function: exact list and billed cost of one usage event, at the event's timestamp."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from attribution_site.snapshots import VersionedSnapshot

from .fields import NANO
from .models import ModelAlias, ModelPrice, NegotiatedDiscount
from .money import ZERO

MILLION = Decimal(1_000_000)
MAX_RESOLVED = 10_000  # remembered model-name resolutions per process
_DATED_SNAPSHOT = re.compile(r"[-@](\d{8}|\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Price:
    """One ModelPrice row, per-token prices resolved (blank cache prices fall back as documented)."""

    id: int
    base: tuple[Decimal, Decimal, Decimal, Decimal, Decimal]  # input, cache read, write 5m, write 1h, output
    long_threshold: int | None
    long: tuple[Decimal, Decimal, Decimal, Decimal, Decimal] | None
    batch_factor: Decimal

    @classmethod
    def from_row(cls, row: ModelPrice) -> Price:
        def resolved(inp, read, write, write_1h, out):
            read = inp if read is None else read
            write = inp if write is None else write
            write_1h = write if write_1h is None else write_1h
            return (inp, read, write, write_1h, out)

        base = resolved(
            row.input_per_mtok,
            row.cache_read_per_mtok,
            row.cache_write_per_mtok,
            row.cache_write_1h_per_mtok,
            row.output_per_mtok,
        )
        long = None
        if row.long_context_threshold is not None:
            long = resolved(
                row.long_input_per_mtok,
                row.long_cache_read_per_mtok,
                row.long_cache_write_per_mtok,
                row.long_cache_write_1h_per_mtok,
                row.long_output_per_mtok,
            )
        return cls(
            id=row.id,
            base=base,
            long_threshold=row.long_context_threshold,
            long=long,
            batch_factor=1 - row.batch_discount_percent / 100,
        )


@dataclass(frozen=True)
class Discount:
    effective_from: datetime
    effective_until: datetime | None
    factor: Decimal  # billed = list × factor


@dataclass
class Catalog:
    prices: dict[tuple[str, str], tuple[list[datetime], list[Price]]]
    exact_aliases: dict[tuple[str, str], str]
    prefix_aliases: dict[str, list[tuple[str, str]]]  # longest prefix first
    discounts: dict[tuple[str, str], list[Discount]]  # model "" = every model
    _resolved: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def resolve(self, provider: str, model: str) -> str | None:
        """The priced model name `model` stands for, or None when nothing prices it."""
        key = (provider, model)
        if key not in self._resolved:
            if len(self._resolved) >= MAX_RESOLVED:
                self._resolved.clear()  # names come from clients: a process must not keep them all
            self._resolved[key] = self._resolve(provider, model)
        return self._resolved[key]

    def _resolve(self, provider: str, model: str) -> str | None:
        if (provider, model) in self.prices:
            return model
        if (provider, model) in self.exact_aliases:
            return self.exact_aliases[(provider, model)]
        undated = _DATED_SNAPSHOT.sub("", model)
        if undated != model:
            return self._resolve(provider, undated)
        for prefix, target in self.prefix_aliases.get(provider, ()):
            if model.startswith(prefix):
                return target
        return None

    def price_at(self, provider: str, model: str, at: datetime) -> Price | None:
        resolved = self.resolve(provider, model)
        if resolved is None:
            return None
        starts, rows = self.prices[(provider, resolved)]
        i = bisect.bisect_right(starts, at) - 1
        return rows[i] if i >= 0 else None

    def discount_factor(self, provider: str, model: str, at: datetime) -> Decimal:
        """The most specific negotiated discount in force: a model's own beats the provider-wide one."""
        for key in ((provider, model), (provider, "")):
            for d in self.discounts.get(key, ()):
                if d.effective_from <= at and (d.effective_until is None or at < d.effective_until):
                    return d.factor
        return Decimal(1)


def _build() -> Catalog:
    prices: dict[tuple[str, str], tuple[list[datetime], list[Price]]] = {}
    for row in ModelPrice.objects.order_by("provider", "model", "effective_from"):
        starts, rows = prices.setdefault((row.provider, row.model), ([], []))
        starts.append(row.effective_from)
        rows.append(Price.from_row(row))
    exact: dict[tuple[str, str], str] = {}
    prefix: dict[str, list[tuple[str, str]]] = {}
    for a in ModelAlias.objects.all():
        if a.match == ModelAlias.Match.EXACT:
            exact[(a.provider, a.alias)] = a.model
        else:
            prefix.setdefault(a.provider, []).append((a.alias, a.model))
    for entries in prefix.values():
        entries.sort(key=lambda e: len(e[0]), reverse=True)
    discounts: dict[tuple[str, str], list[Discount]] = {}
    for d in NegotiatedDiscount.objects.order_by("-effective_from"):
        discounts.setdefault((d.provider, d.model), []).append(
            Discount(d.effective_from, d.effective_until, 1 - d.percent_off / 100)
        )
    return Catalog(prices=prices, exact_aliases=exact, prefix_aliases=prefix, discounts=discounts)


catalog = VersionedSnapshot("pricing-catalog", _build)
catalog.invalidate_on_change(ModelPrice, ModelAlias, NegotiatedDiscount)


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """One call's tokens, as the canonical event counts them: cache reads and writes are parts of
    input_tokens, 1-hour writes part of the cache writes, reasoning part of output_tokens."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        # By hand: dataclasses.asdict deep-copies and costs ~10 µs on the ingestion hot path.
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }


TOKEN_FIELDS = tuple(f.name for f in fields(TokenCounts))


@dataclass(frozen=True)
class Rating:
    list_cost: Decimal
    billed_cost: Decimal
    price_id: int | None
    cache_savings: Decimal = ZERO  # billed cost avoided by caching: reads save, writes cost extra

    @property
    def unpriced(self) -> bool:
        return self.price_id is None


UNPRICED = Rating(ZERO.quantize(NANO), ZERO.quantize(NANO), None, ZERO.quantize(NANO))


def event_rate(
    *,
    provider: str,
    model: str,
    timestamp: datetime,
    tokens: TokenCounts,
    service_tier: str = "standard",
    prices: Catalog | None = None,
) -> Rating:
    """Price one event's tokens.

    Above a long-context threshold the higher prices apply to the whole request (as Anthropic and
    Google bill). Batch requests get the row's batch discount; the negotiated discount in force
    turns list cost into billed cost. Both are rounded half-even to 1e-9. Cache savings are what
    the cached input would have cost at the full input price minus what it cost, on the billed
    basis: cache reads save, cache writes (dearer than input) count against them.
    """
    prices = prices or catalog.get()
    price = prices.price_at(provider, model, timestamp)
    if price is None:
        return UNPRICED
    per_token = price.base
    if price.long is not None and tokens.input_tokens > price.long_threshold:
        per_token = price.long
    p_input, p_read, p_write, p_write_1h, p_output = per_token
    t = tokens
    writes_5m = t.cache_write_tokens - t.cache_write_1h_tokens
    list_cost = (
        (t.input_tokens - t.cache_read_tokens - t.cache_write_tokens) * p_input
        + t.cache_read_tokens * p_read
        + writes_5m * p_write
        + t.cache_write_1h_tokens * p_write_1h
        + t.output_tokens * p_output
    ) / MILLION
    savings = (
        t.cache_read_tokens * (p_input - p_read)
        + writes_5m * (p_input - p_write)
        + t.cache_write_1h_tokens * (p_input - p_write_1h)
    ) / MILLION
    factor = prices.discount_factor(provider, prices.resolve(provider, model), timestamp)
    if service_tier == "batch":
        list_cost *= price.batch_factor
        savings *= price.batch_factor
    return Rating(
        list_cost.quantize(NANO, rounding=ROUND_HALF_EVEN),
        (list_cost * factor).quantize(NANO, rounding=ROUND_HALF_EVEN),
        price.id,
        (savings * factor).quantize(NANO, rounding=ROUND_HALF_EVEN),
    )
