"""The benchmarks' event loaders write the columns ingestion stores, so a new column cannot stop them."""

from __future__ import annotations

import re

import pytest

from apps.usage.services.storage import COLUMNS
from bench import rollup
from bench.event_rows import default_sql, event_expressions, events_insert_sql
from bench.pages import load as pages_load

LOADERS = {"rollup": rollup._LOAD_VALUES, "pages": pages_load._LOAD_VALUES}


def _inserted_columns(sql: str) -> tuple[str, ...]:
    listed = re.match(r"INSERT INTO usage_usageevent \(([^)]*)\)", sql)
    return tuple(listed.group(1).split(", "))


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_each_loader_inserts_exactly_the_stored_columns_in_storage_order(loader):
    sql = events_insert_sql(LOADERS[loader], source="generated")

    assert _inserted_columns(sql) == COLUMNS
    assert len(event_expressions(LOADERS[loader])) == len(COLUMNS)


def test_a_column_a_loader_leaves_out_takes_the_models_default():
    expressions = dict(zip(COLUMNS, event_expressions(rollup._LOAD_VALUES), strict=True))

    assert expressions["source"] == "'api'"
    assert expressions["adjusts_month"] == "''"
    assert expressions["usage_missing"] == "FALSE"
    assert expressions["raw_tags"] == "NULL"
    assert expressions["attributes"] == "'{}'::jsonb"


def test_a_required_column_left_out_is_named_in_the_error():
    values = {column: sql for column, sql in rollup._LOAD_VALUES.items() if column != "event_id"}

    with pytest.raises(ValueError, match=r"usage_usageevent\.event_id has no default"):
        events_insert_sql(values, source="generated")


def test_a_column_the_events_table_does_not_store_is_refused():
    with pytest.raises(ValueError, match="stores no column team_slug"):
        event_expressions({**rollup._LOAD_VALUES, "team_slug": "'search'"})


def test_a_nullable_column_without_a_default_is_null():
    assert default_sql("latency_ms") == "NULL"
