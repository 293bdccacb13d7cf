"""Reconciliation anomalies raised before drivers had one shape are given it by the migration."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.budgets.anomalies import Driver
from apps.budgets.models import Anomaly

BEFORE = [("budgets", "0005_budget_hard_limit")]
AFTER = [("budgets", "0006_reconciliation_drivers_typed")]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture
def back_to_the_latest_migration():
    """Later migrations of budgets must be applied again for the tests that follow."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("budgets"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_old_reconciliation_anomaly_gets_a_scope_driver(back_to_the_latest_migration):
    old_apps = _migrate(BEFORE)
    old_apps.get_model("budgets", "Anomaly").objects.create(
        dimension="reconciliation",
        subject="aws.bedrock:unmapped",
        period="2026-11-18",
        day="2026-11-18",
        amount=Decimal("41.25"),
        baseline=Decimal("41.25"),
        drivers=[{"scopes": "999988887777", "billed": "41.250000000", "recorded": "0E-9"}],
        explanation="aws.bedrock on 2026-11-18 …",
    )

    _migrate(AFTER)

    anomaly = Anomaly.objects.get(subject="aws.bedrock:unmapped")
    assert anomaly.driver_list == [Driver("scope", "999988887777", Decimal("41.250000000"), Decimal(1))]
