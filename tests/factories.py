"""factory_boy factories for the registry, prices, API keys and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.allocation.models import RuleTarget, SharedCostRule
from apps.budgets.models import Alert, Anomaly, Budget, Webhook
from apps.insights.models import Opportunity
from apps.org.models import CustomerAccount, Environment, Product, TagAlias, Team, TeamMembership
from apps.pricing.models import ModelAlias, ModelPrice, NegotiatedDiscount
from apps.rollups.models import DailyRollup
from apps.usage.models import ApiKey, UsageEvent


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.replace("-", " ").title())
    team = factory.SubFactory(TeamFactory)


class EnvironmentFactory(factory.django.DjangoModelFactory):
    """The four standard environments exist from the migrations; this gets or makes others."""

    class Meta:
        model = Environment
        django_get_or_create = ("slug",)

    slug = "production"
    name = factory.LazyAttribute(lambda e: e.slug.title())
    is_production = factory.LazyAttribute(lambda e: e.slug == "production")


class CustomerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAccount
        django_get_or_create = ("external_id",)

    external_id = factory.Sequence(lambda n: f"cust_{n:04d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    tier = "pro"


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = TeamMembership.Role.MEMBER


class TagAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TagAlias

    dimension = TagAlias.Dimension.TEAM
    alias = factory.Sequence(lambda n: f"alias-{n}")
    target = "search"


class ModelPriceFactory(factory.django.DjangoModelFactory):
    """A simple price: $3 in, $15 out, $0.30 cache read, $3.75 / $6 cache writes per million."""

    class Meta:
        model = ModelPrice

    provider = "anthropic"
    model = "test-model"
    effective_from = datetime(2020, 1, 1, tzinfo=UTC)
    input_per_mtok = Decimal("3")
    output_per_mtok = Decimal("15")
    cache_read_per_mtok = Decimal("0.30")
    cache_write_per_mtok = Decimal("3.75")
    cache_write_1h_per_mtok = Decimal("6")


class NegotiatedDiscountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NegotiatedDiscount

    provider = "anthropic"
    model = ""
    percent_off = Decimal("10")
    effective_from = datetime(2020, 1, 1, tzinfo=UTC)


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """`ApiKeyFactory().raw_key` is the secret to send as the bearer token."""

    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"service-{n}")
    team = factory.SubFactory(TeamFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        key = model_class(*args, **kwargs)
        raw = key.set_new_key()
        key.save()
        key.raw_key = raw
        return key


class ModelAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelAlias

    provider = "anthropic"
    alias = factory.Sequence(lambda n: f"alias-model-{n}")
    match = ModelAlias.Match.EXACT
    model = "test-model"


class EventPayloadFactory(factory.DictFactory):
    """A valid canonical event as a service POSTs it, an hour old: $0.0045 at ModelPriceFactory's price."""

    event_id = factory.Sequence(lambda n: f"evt-{n:06d}")
    timestamp = factory.LazyFunction(lambda: (timezone.now() - timedelta(hours=1)).isoformat())
    provider = "anthropic"
    model = "test-model"
    input_tokens = 1000
    output_tokens = 100


class UsageEventFactory(factory.django.DjangoModelFactory):
    """A stored event written directly, bypassing ingestion (no rating, no tag normalization)."""

    class Meta:
        model = UsageEvent

    api_key = factory.SubFactory(ApiKeyFactory)
    event_id = factory.Sequence(lambda n: f"stored-{n:06d}")
    timestamp = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    day = factory.LazyAttribute(lambda e: e.timestamp.astimezone(UTC).date())
    received_at = factory.LazyFunction(timezone.now)
    provider = "anthropic"
    model = "test-model"


class SharedCostRuleFactory(factory.django.DjangoModelFactory):
    """Splits the shared platform team's spend onto every non-shared team by billed cost, for the past year."""

    class Meta:
        model = SharedCostRule

    name = factory.Sequence(lambda n: f"Shared rule {n}")
    source = SharedCostRule.Source.SHARED_TEAM
    source_team = factory.SubFactory(TeamFactory, slug="platform", name="Platform", is_shared=True)
    method = SharedCostRule.Method.BILLED_COST
    all_teams = True
    effective_from = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=365))


class RuleTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleTarget

    rule = factory.SubFactory(SharedCostRuleFactory, all_teams=False)
    team = factory.SubFactory(TeamFactory)
    percent = None


class DailyRollupFactory(factory.django.DjangoModelFactory):
    """A rollup row written directly (no events behind it): for allocation tests that need exact usage."""

    class Meta:
        model = DailyRollup

    day = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=1))
    api_key = factory.SubFactory(ApiKeyFactory)
    team = factory.SubFactory(TeamFactory)
    provider = "anthropic"
    model = "test-model"
    requests = 1
    errors = 0
    traces = 0
    input_tokens = 0
    output_tokens = 0
    cache_read_tokens = 0
    cache_write_tokens = 0
    reasoning_tokens = 0
    list_cost = factory.LazyAttribute(lambda r: r.billed_cost)
    billed_cost = Decimal("0")
    cache_savings = Decimal("0")
    unpriced = 0


class BudgetFactory(factory.django.DjangoModelFactory):
    """A team's $100.00 monthly budget from this month, alerting at 50%, 80% and 100%."""

    class Meta:
        model = Budget

    team = factory.SubFactory(TeamFactory)
    product = None
    monthly_amount = Decimal("100.00")
    effective_from = factory.LazyFunction(lambda: timezone.now().date().replace(day=1))


class WebhookFactory(factory.django.DjangoModelFactory):
    """An organisation-wide webhook (every alert) unless given a team; point `url` at a receiver."""

    class Meta:
        model = Webhook

    name = factory.Sequence(lambda n: f"Webhook {n}")
    url = "http://127.0.0.1:9/hook"
    team = None


class AnomalyFactory(factory.django.DjangoModelFactory):
    """An agent's daily anomaly today: $412 against a typical $38, mostly from one model."""

    class Meta:
        model = Anomaly

    dimension = Anomaly.Dimension.AGENT
    subject = factory.Sequence(lambda n: f"agent-{n}")
    team = factory.SubFactory(TeamFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())
    hour = None
    period = factory.LazyAttribute(lambda a: a.day.isoformat() if a.hour is None else f"{a.day}T{a.hour:02d}")
    amount = Decimal("412.000000000")
    baseline = Decimal("38.000000000")
    drivers = factory.LazyFunction(
        lambda: [{"dimension": "model", "value": "claude-opus-4-1", "delta": "374", "share": "0.91"}]
    )
    explanation = factory.LazyAttribute(
        lambda a: (
            f"agent `{a.subject}`: $412.00 today vs $38.00 typical; 91% of the increase from model claude-opus-4-1"
        )
    )


class AlertFactory(factory.django.DjangoModelFactory):
    """A threshold alert of a team for this month, written directly (no deliveries)."""

    class Meta:
        model = Alert

    kind = Alert.Kind.THRESHOLD
    team = factory.SubFactory(TeamFactory)
    subject = factory.LazyAttribute(lambda a: f"team:{a.team.slug}" if a.team else "organisation")
    period = factory.Sequence(lambda n: f"{timezone.now():%Y-%m}@{n}%")
    message = factory.LazyAttribute(lambda a: f"{a.subject} crossed a threshold ({a.period}).")


class OpportunityFactory(factory.django.DjangoModelFactory):
    """An open routing opportunity of a team's feature, as the detectors would store it."""

    class Meta:
        model = Opportunity

    lever = Opportunity.Lever.ROUTING
    fingerprint = factory.Sequence(lambda n: f"routing|opportunity-{n}")
    team = factory.SubFactory(TeamFactory)
    feature = "classify"
    monthly_saving = Decimal("10")
    sentence = "Feature 'classify' could use a cheaper model."
