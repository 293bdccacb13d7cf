"""Seed routing candidates for the Anthropic (Opus → Sonnet → Haiku) and OpenAI (GPT-5 → mini → nano)
families, with model names as the genai-prices data spells them."""

from django.db import migrations

CANDIDATES = [
    ("anthropic", "claude-opus-4-1", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-5", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-0", "claude-sonnet-4-0"),
    ("anthropic", "claude-sonnet-4-5", "claude-haiku-4-5"),
    ("anthropic", "claude-sonnet-4-0", "claude-haiku-4-5"),
    ("openai", "gpt-5", "gpt-5-mini"),
    ("openai", "gpt-5-mini", "gpt-5-nano"),
    ("openai", "gpt-4o", "gpt-4o-mini"),
]


def seed(apps, schema_editor):
    RoutingCandidate = apps.get_model("insights", "RoutingCandidate")
    for provider, model, cheaper in CANDIDATES:
        RoutingCandidate.objects.get_or_create(provider=provider, model=model, defaults={"cheaper_model": cheaper})


def unseed(apps, schema_editor):
    RoutingCandidate = apps.get_model("insights", "RoutingCandidate")
    for provider, model, cheaper in CANDIDATES:
        RoutingCandidate.objects.filter(provider=provider, model=model, cheaper_model=cheaper).delete()


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
