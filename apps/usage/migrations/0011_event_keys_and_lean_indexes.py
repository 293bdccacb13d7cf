"""Idempotency keys in a table of their own, and the events table's indexes cut to what queries use."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0004_directory_groups"),
        ("pricing", "0001_initial"),
        ("usage", "0010_rerate_run_progress"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "api_key_id", "event_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "api_key",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="usage.apikey",
                    ),
                ),
                ("event_id", models.CharField(max_length=128)),
                ("day", models.DateField(help_text="The stored event's day (its partition).")),
                ("event_pk", models.BigIntegerField(help_text="The stored event's id.", null=True)),
            ],
        ),
        # The events table's database side follows in 0012_partition_usage_events: on PostgreSQL the
        # old table (with its unique constraint, which ingestion relies on until then) is replaced
        # by a partitioned one; on SQLite its indexes are brought to these.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="usageevent",
                    name="unique_event_per_key",
                ),
                migrations.RemoveIndex(
                    model_name="usageevent",
                    name="usage_event_rating",
                ),
                migrations.RemoveIndex(
                    model_name="usageevent",
                    name="usage_event_trace",
                ),
                migrations.AlterField(
                    model_name="usageevent",
                    name="api_key",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="usage.apikey",
                    ),
                ),
                migrations.AlterField(
                    model_name="usageevent",
                    name="environment",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.environment",
                    ),
                ),
                migrations.AlterField(
                    model_name="usageevent",
                    name="price",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="pricing.modelprice",
                    ),
                ),
                migrations.AlterField(
                    model_name="usageevent",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="usageevent",
                    name="team",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.team",
                    ),
                ),
                migrations.AddIndex(
                    model_name="usageevent",
                    index=models.Index(
                        condition=models.Q(("trace_id", ""), _negated=True),
                        fields=["trace_id"],
                        name="usage_event_trace",
                    ),
                ),
            ],
        ),
    ]
