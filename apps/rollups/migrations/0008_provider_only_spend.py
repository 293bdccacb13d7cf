"""Provider-only spend: rollup rows without an API key, and their unattributed reason."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0007_rollup_usage_missing"),
        ("usage", "__first__"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dailyrollup",
            name="api_key",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="usage.apikey"
            ),
        ),
        migrations.AlterField(
            model_name="dailyrollup",
            name="unattributed_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Attributed"),
                    ("missing", "Missing team tag"),
                    ("unknown", "Unknown team"),
                    ("provider", "Reported by provider only, scope not mapped"),
                ],
                max_length=8,
            ),
        ),
    ]
