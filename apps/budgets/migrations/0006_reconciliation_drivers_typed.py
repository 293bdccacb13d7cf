"""Reconciliation anomalies raised before drivers had one shape get the shape every page reads."""

from django.db import migrations


def drivers_typed(apps, schema_editor):
    Anomaly = apps.get_model("budgets", "Anomaly")
    for anomaly in Anomaly.objects.filter(dimension="reconciliation").iterator():
        if all("dimension" in d for d in anomaly.drivers):
            continue
        scopes = ", ".join(d.get("scopes", "") for d in anomaly.drivers if d.get("scopes"))
        anomaly.drivers = [
            {"dimension": "scope", "value": scopes or "(unscoped lines)", "delta": str(anomaly.amount), "share": "1"}
        ]
        anomaly.save(update_fields=["drivers"])


class Migration(migrations.Migration):
    dependencies = [("budgets", "0005_budget_hard_limit")]

    operations = [migrations.RunPython(drivers_typed, migrations.RunPython.noop)]
