"""Usage-event rows for the benchmarks' SQL loaders, on the storage layer's own column list.

The loaders generate millions of events in one `INSERT … SELECT`; a column list of their own
would miss every column added later (a NOT NULL column then stops the benchmark). Here the
columns are `apps.usage.services.storage.COLUMNS`, the ones ingestion writes: a loader gives an
SQL expression for the columns it varies, and every other column takes the model's default,
as an event stored without it would.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from apps.usage.models import UsageEvent
from apps.usage.services.storage import COLUMNS

_FIELDS = {f.column: f for f in UsageEvent._meta.concrete_fields if f.column in COLUMNS}


def default_sql(column: str) -> str:
    """The model's default for a stored column as an SQL literal (for a statement run with named
    parameters, so `%` is doubled). A required column (no default, neither nullable nor blank)
    has none: the loader must say what it holds."""
    field = _FIELDS[column]
    if not (field.has_default() or field.null or field.blank):
        raise ValueError(
            f"{UsageEvent._meta.db_table}.{column} has no default and is required: the benchmark's loader "
            "must give it a value"
        )
    value = field.get_default()
    if value is None:
        return "NULL"
    if field.get_internal_type() == "JSONField":
        return _quoted(orjson.dumps(value).decode()) + "::jsonb"
    value = field.get_prep_value(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quoted(value)
    raise ValueError(f"{UsageEvent._meta.db_table}.{column}: no SQL literal for its default {value!r}")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def event_expressions(values: Mapping[str, str]) -> list[str]:
    """One SQL expression per stored column, in `COLUMNS` order: the loader's where it gives one,
    the model's default elsewhere. A column the loader names that is not stored is an error."""
    unknown = sorted(set(values) - set(COLUMNS))
    if unknown:
        raise ValueError(f"{UsageEvent._meta.db_table} stores no column {', '.join(unknown)}")
    return [values[column] if column in values else default_sql(column) for column in COLUMNS]


def events_insert_sql(values: Mapping[str, str], *, source: str) -> str:
    """`INSERT INTO <events> (<COLUMNS>) SELECT <an expression per column> FROM <source>`."""
    expressions = ",\n    ".join(event_expressions(values))
    return f"INSERT INTO {UsageEvent._meta.db_table} ({', '.join(COLUMNS)})\nSELECT {expressions}\nFROM {source}"
