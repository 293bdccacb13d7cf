"""Importing FOCUS cloud bills: CSV, gzip CSV and Parquet, AI rows kept, a re-import replacing its period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from apps.billing.models import BillingImport, BillingLine
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild

from .focus_files import focus_row, write_csv, write_parquet

ROWS = [
    focus_row(),
    focus_row(ChargePeriodStart="2026-10-02T00:00:00Z", BilledCost="2.5"),
    focus_row(ServiceCategory="Compute", ServiceName="Amazon EC2", BilledCost="999"),
    focus_row(
        ProviderName="Google Cloud", ServiceName="Vertex AI", SubAccountId="proj-ml", BilledCost="0.000000004", Tags=""
    ),
]


def _billed() -> dict[str, Decimal]:
    return dict(BillingLine.objects.values_list("provider").annotate(s=Sum("billed_cost")))


@pytest.mark.parametrize(
    "write",
    [
        lambda p: write_csv(p / "bill.csv", ROWS),
        lambda p: write_csv(p / "bill.csv.gz", ROWS, gzipped=True),
        lambda p: write_parquet(p / "bill.parquet", ROWS),
    ],
    ids=["csv", "gzip-csv", "parquet"],
)
def test_it_keeps_the_ai_rows_exactly_in_each_format(db, tmp_path, write):
    call_command("import_billing", str(write(tmp_path)))

    assert _billed() == {"aws.bedrock": Decimal("3.500000001"), "gcp.vertex_ai": Decimal("0.000000004")}
    line = BillingLine.objects.get(provider="aws.bedrock", day=date(2026, 10, 1))
    assert (line.scope, line.tags, line.effective_cost) == ("210987654321", {"team": "search"}, Decimal("0.9"))


def test_reimporting_a_period_replaces_it(db, tmp_path):
    call_command("import_billing", str(write_csv(tmp_path / "a.csv", ROWS)))

    call_command("import_billing", str(write_csv(tmp_path / "b.csv", [focus_row(BilledCost="4")])))

    assert sorted(BillingLine.objects.values_list("provider", "day", "billed_cost")) == [
        ("aws.bedrock", date(2026, 10, 1), Decimal("4.000000000")),
        ("aws.bedrock", date(2026, 10, 2), Decimal("2.500000000")),
        ("gcp.vertex_ai", date(2026, 10, 1), Decimal("0.000000004")),
    ]


def test_a_file_with_a_bad_amount_is_refused_whole_naming_the_row(db, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [focus_row(), focus_row(BilledCost="lots")])

    with pytest.raises(CommandError, match=r"row 3: BilledCost: 'lots' is not a number"):
        call_command("import_billing", str(path))

    assert not BillingLine.objects.exists()


def test_a_file_that_is_not_focus_names_the_missing_columns(db, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("date,cost\n2026-10-01,1\n")

    with pytest.raises(CommandError, match="missing column\\(s\\) BilledCost, EffectiveCost, ChargePeriodStart"):
        call_command("import_billing", str(path))


def test_a_tag_mapping_attributes_the_cloud_remainder(db, tmp_path, team):
    call_command("import_billing", str(write_csv(tmp_path / "a.csv", ROWS[:1])))
    call_command("map_provider_scope", "aws.bedrock", "team=search", "--team", "search")

    day_rebuild(day=date(2026, 10, 1))

    row = DailyRollup.objects.get(provider="aws.bedrock")
    assert (row.team_id, row.billed_cost) == (team.id, Decimal("1.000000001"))


def test_mapping_to_an_unknown_team_names_the_option(db):
    with pytest.raises(CommandError, match="--team: no team with slug 'nobody'"):
        call_command("map_provider_scope", "openai", "proj_a", "--team", "nobody")


def test_finance_staff_upload_a_file_in_the_admin(client, admin_user, tmp_path):
    client.force_login(admin_user)
    path = write_csv(tmp_path / "bill.csv", ROWS)

    with path.open("rb") as f:
        response = client.post("/admin/billing/billingimport/upload/", {"file": f})

    assert response.status_code == 302
    assert _billed()["aws.bedrock"] == Decimal("3.500000001")


def test_an_upload_that_is_not_focus_shows_why(client, admin_user, tmp_path):
    client.force_login(admin_user)
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")

    with path.open("rb") as f:
        response = client.post("/admin/billing/billingimport/upload/", {"file": f})

    assert response.status_code == 200
    assert b"Not a FOCUS file: missing column(s) BilledCost" in response.content


def _upload(client, path):
    with path.open("rb") as f:
        return client.post("/admin/billing/billingimport/upload/", {"file": f})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Tags": 7}, "row 2: Tags: must be a JSON object or a map, not int &#x27;7&#x27;"),
        ({"BilledCost": 1e30}, "row 2: BilledCost: 1e+30 is beyond any one line of a bill (at most $1,000,000,000)"),
        ({"BilledCost": True}, "row 2: BilledCost: &#x27;True&#x27; is not a number"),
    ],
    ids=["integer-tags", "huge-cost", "boolean-cost"],
)
def test_a_parquet_value_of_the_wrong_type_is_a_form_error_naming_the_row(
    client, admin_user, tmp_path, values, message
):
    client.force_login(admin_user)
    path = write_parquet(tmp_path / "bill.parquet", [focus_row(**values)])

    response = _upload(client, path)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BillingImport.objects.exists() and not BillingLine.objects.exists()


def test_an_upload_over_the_size_cap_is_refused_before_it_is_read(client, admin_user, tmp_path, settings):
    settings.BILLING_UPLOAD_MAX_BYTES = 100
    client.force_login(admin_user)

    response = _upload(client, write_csv(tmp_path / "bill.csv", ROWS))

    assert response.status_code == 200
    assert "files up to 100 bytes are taken (BILLING_UPLOAD_MAX_BYTES)" in response.content.decode()
    assert not BillingLine.objects.exists()


def test_a_gzip_file_that_decompresses_beyond_the_cap_is_refused(client, admin_user, tmp_path, settings):
    settings.BILLING_UPLOAD_MAX_UNCOMPRESSED_BYTES = 50_000
    client.force_login(admin_user)
    path = write_csv(tmp_path / "bomb.csv.gz", [focus_row(ChargeDescription="x" * 200)] * 1000, gzipped=True)
    assert path.stat().st_size < 10_000  # it compresses well: only the decompressed size gives it away

    response = _upload(client, path)

    assert response.status_code == 200
    assert "The file decompresses to more than 50,000 bytes." in response.content.decode()
    assert not BillingLine.objects.exists()


def test_a_file_larger_than_one_chunk_is_kept_whole(db, tmp_path):
    rows = [focus_row(SubAccountId=f"acct-{n}", BilledCost="0.000000001") for n in range(5001)]

    call_command("import_billing", str(write_csv(tmp_path / "big.csv", rows)))

    assert BillingLine.objects.count() == 5001
    assert _billed() == {"aws.bedrock": Decimal("0.000005001")}
    assert BillingImport.objects.get().rows_kept == 5001
