"""The company the page benchmark measures: ~100 teams (two shared platform teams), ~300 products,
thousands of customers, one API key per team, and the weights that make a few teams dominate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from apps.allocation.models import SharedCostRule
from apps.budgets.models import Budget
from apps.org.models import CustomerAccount, Product, Team
from apps.pricing.models import NegotiatedDiscount
from apps.usage.models import ApiKey

from ..checks import require
from ..config import Config

# (slug, name) of the shared platform teams, and the share of all events each sends.
SHARED_TEAMS = (("platform", "Platform", Decimal("0.07")), ("data-platform", "Data Platform", Decimal("0.03")))
SHARED_PRODUCTS = {
    "platform": ("retrieval", "embeddings-gateway", "eval-harness", "guardrails"),
    "data-platform": ("doc-ingest", "warehouse-sql", "labeling", "feature-store"),
}
TEAM_WORDS = (
    "search",
    "checkout",
    "support",
    "growth",
    "billing",
    "onboarding",
    "recommendations",
    "fraud",
    "ads",
    "pricing",
    "catalog",
    "logistics",
    "identity",
    "messaging",
    "analytics",
    "marketing",
    "docs",
    "mobile",
    "payments",
    "risk",
    "trust",
    "sales",
    "crm",
    "people",
    "legal",
    "finance",
    "security",
    "content",
    "localization",
    "voice",
    "vision",
    "insights",
    "forecasting",
    "experiments",
    "notifications",
    "community",
    "partners",
    "marketplace",
    "reviews",
    "inventory",
    "shipping",
    "returns",
    "loyalty",
    "travel",
    "maps",
    "music",
    "video",
    "news",
    "education",
    "health",
)
REGIONS = ("emea", "apac", "latam", "labs")
PRODUCT_SUFFIXES = ("api", "web", "assistant", "copilot", "batch", "bot", "insights", "studio")
# Zipf exponent of the product teams' spend, and how fast a team's products fall off after its first.
TEAM_SKEW = 1.1
PRODUCT_DECAY = 0.55
TIERS = (("enterprise", Decimal(40_000)), ("business", Decimal(4_000)), ("startup", Decimal(400)), ("free", None))


@dataclass(frozen=True)
class ProductRow:
    """One product as the event loader sees it (bench_pages_product)."""

    index: int
    product_id: int
    slug: str
    team_id: int
    key_id: int
    weight: float  # share of all events
    shared: bool


def _team_slugs(count: int) -> list[str]:
    slugs = [slug for slug, _, _ in SHARED_TEAMS]
    n = 0
    while len(slugs) < count:
        word = TEAM_WORDS[n % len(TEAM_WORDS)]
        region = n // len(TEAM_WORDS)
        slugs.append(word if region == 0 else f"{word}-{REGIONS[(region - 1) % len(REGIONS)]}")
        n += 1
    return slugs


def largest_remainder(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Whole shares of `total` in proportion to `weights`, each at least `minimum`."""
    free = total - minimum * len(weights)
    exact = [free * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])[: free - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def registry_create(config: Config) -> list[ProductRow]:
    """Teams, products, API keys and customer accounts (bench.database.parts_clear emptied the
    registry before this part)."""
    slugs = _team_slugs(config.pages_teams)
    shared = {slug: share for slug, _, share in SHARED_TEAMS}
    names = {slug: name for slug, name, _ in SHARED_TEAMS}
    # bulk_create: saving a Team one by one would queue a re-attribution of all events each time.
    teams = Team.objects.bulk_create(
        Team(
            slug=slug,
            name=names.get(slug, slug.replace("-", " ").title()),
            business_unit="Platform" if slug in shared else f"Unit {i % 7 + 1}",
            is_shared=slug in shared,
        )
        for i, slug in enumerate(slugs)
    )
    product_teams = [t for t in teams if not t.is_shared]
    zipf = [1 / (rank + 1) ** TEAM_SKEW for rank in range(len(product_teams))]
    rest = 1 - float(sum(shared.values()))
    team_weight = {t.slug: rest * z / sum(zipf) for t, z in zip(product_teams, zipf, strict=True)}
    team_weight.update({slug: float(share) for slug, share in shared.items()})

    keys = []
    for team in teams:
        key = ApiKey(team=team, name=f"{team.slug}-prod")
        key.set_new_key()
        keys.append(key)
    key_of = {k.team_id: k.id for k in ApiKey.objects.bulk_create(keys)}

    per_team = {t.slug: len(SHARED_PRODUCTS[t.slug]) for t in teams if t.is_shared}
    left = config.pages_products - sum(per_team.values())
    require(left >= 2 * len(product_teams), "BENCH_PAGES_PRODUCTS is too small for two products per team")
    counts = largest_remainder(left, [team_weight[t.slug] ** 0.5 for t in product_teams], minimum=2)
    per_team.update({t.slug: n for t, n in zip(product_teams, counts, strict=True)})
    specs = []  # (team, slug, weight)
    for team in teams:
        decay = [PRODUCT_DECAY**k for k in range(per_team[team.slug])]
        for k, d in enumerate(decay):
            if team.is_shared:
                slug = SHARED_PRODUCTS[team.slug][k]
            else:
                slug = f"{team.slug}-{PRODUCT_SUFFIXES[k % len(PRODUCT_SUFFIXES)]}{'' if k < 8 else k // 8 + 1}"
            specs.append((team, slug, team_weight[team.slug] * d / sum(decay)))
    products = Product.objects.bulk_create(
        Product(slug=slug, name=slug.replace("-", " ").title(), team=team) for team, slug, _ in specs
    )
    CustomerAccount.objects.bulk_create(
        CustomerAccount(
            external_id=customer_id(n),
            name=f"Customer {n:05d}",
            tier=TIERS[_tier(n)][0],
            monthly_revenue=TIERS[_tier(n)][1],
        )
        for n in range(config.pages_customers)
    )
    return [
        ProductRow(i, p.id, p.slug, team.id, key_of[team.id], weight, team.is_shared)
        for i, (p, (team, _, weight)) in enumerate(zip(products, specs, strict=True))
    ]


def customer_id(n: int) -> str:
    return f"cus_{n:05d}"  # the loader builds the same id in SQL: 'cus_' || lpad(n, 5, '0')


def _tier(n: int) -> int:
    """Low customer numbers are the busiest (the loader skews towards them): the big accounts."""
    return 0 if n < 50 else 1 if n < 500 else 2 if n < 2500 else 3


def discount_create(start: date) -> Decimal:
    """A negotiated discount with one provider, so billed cost differs from list cost; its percent."""
    discount = NegotiatedDiscount.objects.create(
        provider="anthropic",
        percent_off=Decimal(10),
        effective_from=datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC),
        note="bench: enterprise agreement",
    )
    return discount.percent_off


def rules_create(start: date) -> list[SharedCostRule]:
    """Shared-cost rules, validated as the admin validates them, in force from the first day."""
    teams = {t.slug: t for t in Team.objects.filter(is_shared=True)}
    specs = [
        {
            "name": "Platform (by billed cost)",
            "source": SharedCostRule.Source.SHARED_TEAM,
            "source_team": teams["platform"],
            "method": SharedCostRule.Method.BILLED_COST,
        },
        {
            "name": "Data platform (by tokens)",
            "source": SharedCostRule.Source.SHARED_TEAM,
            "source_team": teams["data-platform"],
            "method": SharedCostRule.Method.TOKENS,
        },
        {
            "name": "Unattributed spend (by requests)",
            "source": SharedCostRule.Source.UNATTRIBUTED,
            "method": SharedCostRule.Method.REQUESTS,
        },
        {
            "name": "Provider support contract",
            "source": SharedCostRule.Source.FIXED,
            "monthly_amount": Decimal("12000.00"),
            "method": SharedCostRule.Method.EVEN,
        },
    ]
    rules = []
    for spec in specs:
        rule = SharedCostRule(effective_from=start, all_teams=True, **spec)
        rule.full_clean()
        rule.save()
        rules.append(rule)
    return rules


def budget_create(*, team: Team, month_start: date, amount: Decimal) -> Budget:
    budget = Budget(team=team, monthly_amount=amount, effective_from=month_start)
    budget.full_clean()
    budget.save()
    return budget


def staff_user():
    user, _ = get_user_model().objects.get_or_create(
        username="bench-finance", defaults={"is_staff": True, "email": "finance@bench.invalid"}
    )
    return user
