"""The four standard environments, their common spellings, provider spellings and the default tag policy."""

from django.db import migrations

ENVIRONMENTS = [
    ("production", "Production", True, ["prod", "prd", "live"]),
    ("staging", "Staging", False, ["stg", "stage", "preprod"]),
    ("development", "Development", False, ["dev", "develop", "local"]),
    ("test", "Test", False, ["testing", "ci", "qa"]),
]
PROVIDERS = {
    "aws.bedrock": ["aws", "bedrock", "aws-bedrock"],
    "gcp.vertex_ai": ["google", "vertex", "vertex_ai", "vertexai", "gcp"],
    "azure.ai.openai": ["azure", "azure_openai", "azure-openai"],
}


def forwards(apps, schema_editor):
    Environment = apps.get_model("org", "Environment")
    TagAlias = apps.get_model("org", "TagAlias")
    TagPolicy = apps.get_model("org", "TagPolicy")
    for slug, name, is_production, aliases in ENVIRONMENTS:
        env, _ = Environment.objects.get_or_create(slug=slug, defaults={"name": name, "is_production": is_production})
        for alias in aliases:
            TagAlias.objects.get_or_create(dimension="environment", alias=alias, defaults={"target": slug})
        if is_production:
            TagPolicy.objects.get_or_create(
                environment=env, defaults={"required_tags": ["team", "product", "environment"]}
            )
    for target, aliases in PROVIDERS.items():
        for alias in aliases:
            TagAlias.objects.get_or_create(dimension="provider", alias=alias, defaults={"target": target})


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
