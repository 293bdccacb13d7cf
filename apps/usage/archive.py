"""Archiving a closed month's raw events to Parquet and restoring them exactly.

A month is archived once it is closed: its rollups, allocations and reconciliation are frozen, so
nothing reads its raw events any more. The file (zstd) holds every column of every event, the
manifest beside it the row count, the billed total and the file's SHA-256. The file is read back
and checked before the month's events leave the database (its partition dropped on PostgreSQL).
The idempotency keys stay (EventKey): a resend of an archived event is still a duplicate.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from pyarrow import fs as arrow_fs

from apps.pricing.fields import MoneyField, from_nanos, to_nanos
from apps.pricing.money import usd_exact

from .models import ArchivedMonth, ClosedMonth, UsageEvent
from .partitions import forget_known, partition_drop, partitions_ensure
from .selectors import next_month
from .services.closing import close_lock

READ_CHUNK = 50_000
_FIELDS = list(UsageEvent._meta.concrete_fields)
COLUMNS = [f.column for f in _FIELDS]
_MONEY = {f.column for f in _FIELDS if isinstance(f, MoneyField)}
_JSON = {f.column for f in _FIELDS if f.get_internal_type() == "JSONField"}
_ARROW_TYPES = {
    "BigAutoField": pa.int64(),
    "BigIntegerField": pa.int64(),
    "PositiveBigIntegerField": pa.int64(),
    "PositiveIntegerField": pa.int64(),
    "ForeignKey": pa.int64(),
    "CharField": pa.string(),
    "DateTimeField": pa.timestamp("us", tz="UTC"),
    "DateField": pa.date32(),
    "BooleanField": pa.bool_(),
    "JSONField": pa.string(),
}


def _arrow_type(field) -> pa.DataType:
    if field.column in _MONEY:
        return pa.int64()  # nanodollars, exact
    return _ARROW_TYPES[field.get_internal_type()]


SCHEMA = pa.schema([pa.field(f.column, _arrow_type(f), nullable=f.null) for f in _FIELDS])


@dataclass(frozen=True)
class Manifest:
    month: date
    rows: int
    billed_cost: int  # nanodollars
    sha256: str
    file: str

    def as_json(self) -> bytes:
        return orjson.dumps(
            {
                "month": f"{self.month:%Y-%m}",
                "rows": self.rows,
                "billed_cost_usd": f"{from_nanos(self.billed_cost):f}",
                "billed_cost_nanos": self.billed_cost,
                "sha256": self.sha256,
                "file": self.file,
                "columns": COLUMNS,
            },
            option=orjson.OPT_INDENT_2,
        )


class ArchiveError(ValidationError):
    """A month that cannot be archived or restored, and why."""


def _destination(location: str | None = None) -> tuple[arrow_fs.FileSystem, str]:
    """The filesystem and base path of ARCHIVE_URL (S3-compatible and others, through pyarrow.fs)
    or ARCHIVE_DIR; or of one file's `location`: a path, a URL, or a bare file name, which is looked
    for in the destination."""
    if location and "/" not in location:
        location = _in_destination(location)
    target = location or settings.ARCHIVE_URL
    try:
        if target and "://" in target:
            return arrow_fs.FileSystem.from_uri(_with_credentials(target))
        if location:
            return arrow_fs.LocalFileSystem(), str(location)
        filesystem = arrow_fs.LocalFileSystem()
        filesystem.create_dir(str(settings.ARCHIVE_DIR), recursive=True)
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(f"{_shown(target or str(settings.ARCHIVE_DIR))} cannot be opened: {exc}") from exc
    return filesystem, str(settings.ARCHIVE_DIR)


def _in_destination(name: str) -> str:
    """`name` in ARCHIVE_URL (the file name joined to its path, its query kept) or in ARCHIVE_DIR."""
    if not settings.ARCHIVE_URL:
        return str(settings.ARCHIVE_DIR / name)
    url = urlsplit(settings.ARCHIVE_URL)
    return urlunsplit(url._replace(path=f"{url.path.rstrip('/')}/{name}"))


def _shown(location: str) -> str:
    """`location` without the credentials a URL may carry (user:secret@), for the database and messages."""
    url = urlsplit(location)
    if "://" not in location or "@" not in url.netloc:
        return location
    return urlunsplit(url._replace(netloc=url.netloc.rpartition("@")[2]))


def _with_credentials(location: str) -> str:
    """A URL recorded without credentials gets ARCHIVE_URL's back when it is in the same bucket."""
    configured, wanted = urlsplit(settings.ARCHIVE_URL), urlsplit(location)
    bucket = configured.netloc.rpartition("@")[2]
    if "@" in configured.netloc and (wanted.scheme, wanted.netloc) == (configured.scheme, bucket):
        return urlunsplit(wanted._replace(netloc=configured.netloc))
    return location


def _read(filesystem: arrow_fs.FileSystem, path: str, *, what: str) -> tuple[pa.Buffer, str]:
    """The file's bytes and their SHA-256, from one read: the bytes checked against the manifest
    are the bytes restored, wherever the file lives."""
    try:
        with filesystem.open_input_stream(path) as stream:
            data = stream.read_buffer()
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(f"{what} cannot be read: {exc}") from exc
    return data, hashlib.sha256(data).hexdigest()


def _parquet(data: pa.Buffer, *, what: str) -> pa.Table:
    try:
        return pq.read_table(pa.BufferReader(data))
    except pa.ArrowException as exc:
        raise ArchiveError(f"{what} is not a readable Parquet file: {exc}") from exc


def _month_events(month: date):
    return UsageEvent.objects.filter(day__gte=month, day__lt=next_month(month))


def _columns_of(rows: list[tuple]) -> list[pa.Array]:
    """Arrow columns of rows read through the ORM (money as Decimal, JSON as objects)."""
    arrays = []
    for index, field in enumerate(_FIELDS):
        values = [row[index] for row in rows]
        if field.column in _MONEY:
            values = [None if v is None else to_nanos(v) for v in values]
        elif field.column in _JSON:
            values = [orjson.dumps(v).decode() for v in values]
        arrays.append(pa.array(values, type=SCHEMA.field(index).type))
    return arrays


def _month_rows(month: date):
    """The month's rows in id order, in chunks, read through the ORM (SQLite)."""
    query = _month_events(month).order_by("id").values_list(*(f.attname for f in _FIELDS))
    chunk: list[tuple] = []
    for row in query.iterator(chunk_size=READ_CHUNK):
        chunk.append(row)
        if len(chunk) == READ_CHUNK:
            yield chunk
            chunk = []
    yield chunk


# PostgreSQL's CSV as COPY writes it: NULL unquoted and empty, an empty string quoted, booleans t/f.
_CSV_PARSE = pa_csv.ParseOptions(newlines_in_values=True)
_CSV_CONVERT = pa_csv.ConvertOptions(
    column_types=SCHEMA,
    null_values=[""],
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
    true_values=["t"],
    false_values=["f"],
)
_CSV_WRITE = pa_csv.WriteOptions(include_header=False, batch_size=READ_CHUNK)


class _CopyOut(io.RawIOBase):
    """COPY TO STDOUT's chunks as a file, for Arrow's streaming CSV reader."""

    def __init__(self, copy) -> None:
        self._chunks = iter(copy)
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = memoryview(chunk)
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def _month_batches(month: date):
    """The month's events in id order as Arrow batches. On PostgreSQL a COPY of the month in CSV,
    parsed by Arrow in C++ (money is stored in nanodollars, JSON read as its text); elsewhere rows
    through the ORM."""
    if connection.vendor != "postgresql":
        for chunk in _month_rows(month):
            yield pa.RecordBatch.from_arrays(_columns_of(chunk), schema=SCHEMA)
        return
    columns = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    query = (
        f"COPY (SELECT {columns} FROM {UsageEvent._meta.db_table} WHERE day >= %s AND day < %s ORDER BY id) "
        "TO STDOUT (FORMAT csv)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute("SET LOCAL DateStyle = 'ISO'")
        with cursor.copy(query, [month, next_month(month)]) as copy:
            source = io.BufferedReader(_CopyOut(copy), buffer_size=1 << 20)
            reader = pa_csv.open_csv(
                source,
                read_options=pa_csv.ReadOptions(column_names=COLUMNS, block_size=8 << 20),
                parse_options=_CSV_PARSE,
                convert_options=_CSV_CONVERT,
            )
            for batch in reader:
                yield pa.RecordBatch.from_arrays(batch.columns, schema=SCHEMA)


def _write(month: date, filesystem: arrow_fs.FileSystem, path: str) -> tuple[int, int]:
    """Write the month's events to `path` in id order; return (rows, billed nanodollars)."""
    rows = billed = 0
    with filesystem.open_output_stream(path) as sink, pq.ParquetWriter(sink, SCHEMA, compression="zstd") as writer:
        for batch in _month_batches(month):
            writer.write_batch(batch)
            rows += batch.num_rows
            billed += pc.sum(batch.column("billed_cost")).as_py() or 0
        if rows == 0:
            writer.write_table(SCHEMA.empty_table())
    return rows, billed


def _check(table: pa.Table, *, rows: int, billed: int, what: str) -> None:
    read_billed = pc.sum(table.column("billed_cost")).as_py() or 0
    if table.num_rows != rows or read_billed != billed:
        raise ArchiveError(
            f"{what}: {table.num_rows} events billed {usd_exact(from_nanos(read_billed))} read back, "
            f"{rows} billed {usd_exact(from_nanos(billed))} expected"
        )


def month_archive(*, month: date) -> ArchivedMonth:
    """Write a closed month's events to Parquet with its manifest, read the file back to check it,
    then remove the events from the database. A month archived already is left as it is."""
    month = month.replace(day=1)
    done = ArchivedMonth.objects.filter(month=month).first()
    if done:
        return done
    if not ClosedMonth.objects.filter(month=month).exists():
        raise ArchiveError(f"{month:%Y-%m} is open: only a closed month is archived (close it first).")
    partitions_ensure([month])  # events of the month still in the default partition move in
    filesystem, base = _destination()
    name = f"events-{month:%Y-%m}.parquet"
    path = f"{base.rstrip('/')}/{name}"
    location = _shown(_in_destination(name))
    try:
        rows, billed = _write(month, filesystem, path)
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(f"{month:%Y-%m} cannot be written to {location}, nothing was removed: {exc}") from exc
    stored = _month_events(month)
    expected = stored.count(), to_nanos(stored.aggregate(total=Sum("billed_cost"))["total"] or 0)
    if (rows, billed) != expected:
        raise ArchiveError(
            f"{month:%Y-%m} changed while it was being written (events still arriving?): nothing removed."
        )
    data, sha256 = _read(filesystem, path, what=location)
    _check(_parquet(data, what=location), rows=rows, billed=billed, what=f"{location} does not hold the month's events")
    manifest = Manifest(month=month, rows=rows, billed_cost=billed, sha256=sha256, file=name)
    try:
        with filesystem.open_output_stream(_manifest_path(path)) as out:
            out.write(manifest.as_json())
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(f"{month:%Y-%m}: its manifest cannot be written, nothing was removed: {exc}") from exc
    with transaction.atomic():
        close_lock(shared=False)  # no reopening between the check and the drop
        if not ClosedMonth.objects.filter(month=month).exists():
            raise ArchiveError(f"{month:%Y-%m} was reopened while it was being archived: nothing was removed.")
        events = _month_events(month)
        if events.count() != rows:
            raise ArchiveError(f"{month:%Y-%m} changed while it was being archived: nothing was removed.")
        archived = ArchivedMonth.objects.create(
            month=month, location=location, rows=rows, billed_cost=from_nanos(billed), sha256=manifest.sha256
        )
        if connection.vendor == "postgresql":
            partition_drop(month)
        else:
            events._raw_delete(events.db)  # SQLite keeps one table; nothing cascades from events
    return archived


def _manifest_path(path: str) -> str:
    return path.removesuffix(".parquet") + ".manifest.json"


def month_restore(*, location: str) -> ArchivedMonth:
    """Bring an archived month's events back exactly, after checking the file against its
    manifest; the month stays closed and is no longer archived. Returns the archive record removed."""
    filesystem, path = _destination(location)
    location = _shown(location)
    try:
        with filesystem.open_input_stream(_manifest_path(path)) as stream:
            manifest = orjson.loads(stream.read())
    except FileNotFoundError as exc:
        raise ArchiveError(f"{location}: no manifest beside it ({_manifest_path(path)}).") from exc
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(f"{location}: its manifest cannot be read: {exc}") from exc
    data, sha256 = _read(filesystem, path, what=location)
    if sha256 != manifest["sha256"]:
        raise ArchiveError(f"{location}: its SHA-256 is not the manifest's; the file changed since it was archived.")
    month = date.fromisoformat(manifest["month"] + "-01")
    archived = ArchivedMonth.objects.filter(month=month).first()
    if archived is None:
        raise ArchiveError(f"{manifest['month']} is not archived: its events are in the database already.")
    table = _parquet(data, what=location)
    _check(table, rows=manifest["rows"], billed=manifest["billed_cost_nanos"], what=f"{location} is damaged")
    if table.schema.names != COLUMNS:
        raise ArchiveError(f"{location} has columns {table.schema.names}; the events table has {COLUMNS}.")
    forget_known()
    partitions_ensure([month])
    with transaction.atomic():
        _insert(table)
        stored = _month_events(month)
        total = to_nanos(stored.aggregate(total=Sum("billed_cost"))["total"] or 0)
        if stored.count() != manifest["rows"] or total != manifest["billed_cost_nanos"]:
            raise ArchiveError(f"{manifest['month']}: the restored events do not match the manifest; nothing restored.")
        archived.delete()
    return archived


def _insert(table: pa.Table) -> None:
    names = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    events = UsageEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Arrow writes the CSV in C++ (timestamps in UTC with a Z, NULL unquoted and empty, every
            # string quoted), which COPY reads as it reads its own.
            for batch in table.to_batches(max_chunksize=READ_CHUNK):
                buffer = io.BytesIO()
                pa_csv.write_csv(batch, buffer, write_options=_CSV_WRITE)
                with cursor.copy(f"COPY {events} ({names}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(buffer.getbuffer())
            return
        adapt = connection.ops.adapt_datetimefield_value
        kinds = [f.get_internal_type() for f in _FIELDS]
        for batch in table.to_batches(max_chunksize=READ_CHUNK):
            columns = [
                [adapt(v) for v in column.to_pylist()] if kind == "DateTimeField" else column.to_pylist()
                for column, kind in zip(batch.columns, kinds, strict=True)
            ]
            rows = list(zip(*columns, strict=True))
            cursor.executemany(f"INSERT INTO {events} ({names}) VALUES ({', '.join(['%s'] * len(COLUMNS))})", rows)


def archive_due(*, today: date, after_months: int) -> list[date]:
    """The closed, unarchived months that ended more than `after_months` months before `today`'s month."""
    limit = today.replace(day=1)
    for _ in range(after_months):
        limit = (limit - timedelta(days=1)).replace(day=1)
    archived = set(ArchivedMonth.objects.values_list("month", flat=True))
    closed = ClosedMonth.objects.order_by("month").values_list("month", flat=True)
    return [month for month in closed if month < limit and month not in archived]
