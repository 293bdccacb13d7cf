"""PostgreSQL: the usage events table partitioned by month, converted in place in batches.
SQLite keeps one table, its indexes brought to the model's."""

from django.db import migrations


def forwards(apps, schema_editor):
    from apps.usage import partitions

    if schema_editor.connection.vendor == "postgresql":
        partitions.events_table_partition(log=print)
    else:
        partitions.events_table_slim_sqlite()


class Migration(migrations.Migration):
    # Each batch of the copy commits on its own (apps.usage.partitions.events_table_partition).
    atomic = False

    dependencies = [("usage", "0011_event_keys_and_lean_indexes")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
