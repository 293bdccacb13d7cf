"""Ten million usage events in SQL: INSERT … SELECT generate_series, priced from the price table.

Skew comes from lookup arrays: a product (and through it a team) is drawn from 100,000 slots
shared out by weight, so a few teams dominate; a day from slots weighted by weekday and growth,
filled in order, so the table is laid out by day as live ingestion lays it out.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg

from apps.org.models import Environment
from apps.pricing.rating import catalog

from ..checks import require, require_equal
from ..config import Config
from ..event_rows import events_insert_sql
from .company import ProductRow, largest_remainder

# Two providers, six priced models. The SQL below knows them by position: 0 sonnet, 1 haiku,
# 2 opus, 3 gpt-4o, 4 gpt-4o-mini, 5 the embedding model (no output, no cache), 6 the unpriced one.
MODELS = (
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-opus-4-1"),
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "text-embedding-3-small"),
)
UNPRICED_MODEL = ("openai", "in-house-distilled-7b")
FEATURES = (
    "chat",
    "summarize",
    "classify",
    "extract",
    "rerank",
    "embed",
    "draft-reply",
    "translate",
    "moderate",
    "qa",
    "code-review",
    "sql-gen",
    "tagging",
    "routing",
    "sentiment",
    "autocomplete",
    "report",
    "enrich",
    "dedupe",
    "triage",
    "plan",
    "tool-use",
    "rewrite",
    "caption",
)
AGENTS = (
    "triage-agent",
    "research-agent",
    "coding-agent",
    "support-agent",
    "ops-agent",
    "sales-agent",
    "data-agent",
    "qa-agent",
)
PRODUCT_SLOTS = 100_000
DAY_SLOTS = 10_000
WEEKEND = 0.35  # weekend traffic against a weekday
GROWTH = 0.30  # over the whole period
LOADERS = 2  # one INSERT per core

_PRODUCTS_TABLE = """
CREATE UNLOGGED TABLE bench_pages_product (
    p int PRIMARY KEY, product_id bigint, product_slug text, team_id bigint, team_slug text, key_id bigint,
    shared boolean, customer_facing boolean, agents boolean, sloppy boolean, model_base int, feature_base int)
"""

# Each event's stored columns (bench.event_rows gives the rest their defaults), over _LOAD_FROM.
_LOAD_VALUES = {
    "api_key_id": "key_id",
    "event_id": "'pg-' || i",
    "timestamp": "ts",
    "day": "(ts AT TIME ZONE 'UTC')::date",
    "received_at": "ts",
    "provider": "(%(providers)s::text[])[m + 1]",
    "model": "(%(models)s::text[])[m + 1]",
    "service_tier": "CASE WHEN i %% 20 = 3 THEN 'batch' ELSE 'standard' END",
    "outcome": "CASE WHEN i %% 97 = 0 THEN 'error' ELSE 'success' END",
    "latency_ms": "150 + i * 37 %% 9000",
    "input_tokens": "inp",
    "output_tokens": "outp",
    "cache_read_tokens": "cr",
    "cache_write_tokens": "cw",
    "cache_write_1h_tokens": "0",
    "reasoning_tokens": "0",
    "price_id": "(%(price_ids)s::bigint[])[m + 1]",
    "list_cost": "list",
    "billed_cost": "(list * (%(billed_pct)s::int[])[m + 1] + 50) / 100",
    "cache_savings": "(saved * (%(billed_pct)s::int[])[m + 1]) / 100",
    "unpriced": "(%(price_ids)s::bigint[])[m + 1] IS NULL",
    "team_tag": "team_tag",
    "team_id": "team_id",
    "product_tag": "product_tag",
    "product_id": "product_id",
    "environment_tag": "(%(env_slugs)s::text[])[env + 1]",
    "environment_id": "(%(env_ids)s::bigint[])[env + 1]",
    "feature": "(%(features)s::text[])[feature + 1]",
    "customer": "customer",
    "agent": "agent",
    "trace_id": "CASE WHEN agent = '' THEN '' ELSE 'tr-' || i / 6 END",
    "missing_tags": "missing",
}
_LOAD_FROM = """(
    SELECT t.*,
        -- pico-dollars per token × tokens; × the batch factor; rounded to nano-dollars
        (((inp - cr - cw) * (%(p_in)s::bigint[])[m + 1] + cr * (%(p_read)s::bigint[])[m + 1]
          + cw * (%(p_write)s::bigint[])[m + 1] + outp * (%(p_out)s::bigint[])[m + 1])
          * (CASE WHEN i %% 20 = 3 THEN (%(batch_pct)s::int[])[m + 1] ELSE 100 END) + 50000) / 100000 AS list,
        ((cr * ((%(p_in)s::bigint[])[m + 1] - (%(p_read)s::bigint[])[m + 1])
          + cw * ((%(p_in)s::bigint[])[m + 1] - (%(p_write)s::bigint[])[m + 1]))
          * (CASE WHEN i %% 20 = 3 THEN (%(batch_pct)s::int[])[m + 1] ELSE 100 END)) / 100000 AS saved
    FROM (
        SELECT u.*,
            CASE WHEN m = 5 OR r14 >= 0.4 THEN 0 ELSE inp * 6 / 10 END AS cr,
            CASE WHEN m <> 5 AND r14 >= 0.4 AND r14 < 0.45 THEN inp / 10 ELSE 0 END AS cw
        FROM (
            SELECT s.i, s.r14, bp.key_id,
                %(start)s::timestamptz + s.d * interval '1 day'
                    + floor(s.r2 * (%(seconds)s::int[])[s.d + 1]) * interval '1 second' AS ts,
                model.m, s.env,
                CASE WHEN model.m = 5 THEN 50 + floor(exp(s.r12 * 7))::bigint
                     ELSE 200 + floor(exp(s.r12 * 10))::bigint END AS inp,
                CASE WHEN model.m = 5 THEN 0 ELSE 10 + floor(exp(s.r13 * 7.5))::bigint END AS outp,
                CASE WHEN bp.sloppy AND s.r9 < 0.15 THEN NULL ELSE bp.team_id END AS team_id,
                CASE WHEN NOT bp.sloppy OR s.r9 >= 0.15 THEN bp.team_slug
                     WHEN s.r9 < 0.10 THEN '' WHEN s.r9 < 0.125 THEN 'growth-labs' ELSE 'ml-research' END AS team_tag,
                CASE WHEN s.r10 < 0.015 THEN NULL ELSE bp.product_id END AS product_id,
                CASE WHEN s.r10 < 0.015 THEN '' ELSE bp.product_slug END AS product_tag,
                CASE WHEN bp.sloppy AND s.r9 < 0.10 THEN 'team' WHEN s.r10 < 0.015 THEN 'product' ELSE '' END
                    AS missing,
                (bp.feature_base + floor(s.r6 * s.r6 * 4)::int) %% 24 AS feature,
                CASE WHEN s.env = 0 AND bp.customer_facing AND s.r7 < 0.75
                     THEN 'cus_' || lpad(floor(%(customers)s * s.r8 * s.r8 * s.r8)::int::text, 5, '0')
                     ELSE '' END AS customer,
                CASE WHEN bp.agents AND s.r11 < 0.35
                     THEN (%(agents)s::text[])[1 + (bp.p + floor(s.r11 * 5)::int) %% 8] ELSE '' END AS agent
            FROM (
                SELECT r.*,
                    CASE WHEN r3 < 0.82 THEN 0 WHEN r3 < 0.94 THEN 1 ELSE 2 END AS env,
                    (%(product_slots)s::int[])[1 + floor(r1 * %(product_slot_count)s)::int] AS p
                FROM (
                    SELECT i, (%(day_slots)s::int[])[1 + i * %(day_slot_count)s / %(count)s] AS d,
                        random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                        random() AS r6, random() AS r7, random() AS r8, random() AS r9, random() AS r10,
                        random() AS r11, random() AS r12, random() AS r13, random() AS r14
                    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
                ) AS r
            ) AS s
            JOIN bench_pages_product AS bp ON bp.p = s.p
            CROSS JOIN LATERAL (
                SELECT CASE WHEN s.r5 < 0.003 THEN 6
                            WHEN s.r4 < 0.60 THEN bp.model_base
                            WHEN s.r4 < 0.80 THEN CASE WHEN bp.model_base < 3 THEN 1 ELSE 4 END
                            WHEN s.r4 < 0.90 THEN 5 WHEN s.r4 < 0.95 THEN 2 ELSE 3 END AS m
            ) AS model
        ) AS u
    ) AS t
) AS priced
"""


def _day_slots(days: list[date], now: datetime) -> tuple[list[int], list[int]]:
    """Slots filled in day order (weekday seasonality, steady growth; today only its hours so far),
    and the seconds of each day that can hold events."""
    elapsed_today = max(60, int((now - datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)).total_seconds()))
    weights, seconds = [], []
    for n, day in enumerate(days):
        span = elapsed_today if day == now.date() else 86400
        growth = 1 + GROWTH * n / max(1, len(days) - 1)
        weights.append(growth * (WEEKEND if day.weekday() >= 5 else 1.0) * span / 86400)
        seconds.append(span)
    counts = largest_remainder(DAY_SLOTS, weights)
    return [n for n, c in enumerate(counts) for _ in range(c)], seconds


def _price_arrays() -> dict[str, list]:
    """Per model (then the unpriced one): price id, pico-dollars per token, batch and billed percent."""
    prices = catalog.get()
    now = datetime.now(UTC)
    arrays: dict[str, list] = {k: [] for k in ("price_ids", "p_in", "p_read", "p_write", "p_out", "batch_pct")}
    for provider, model in MODELS:
        price = prices.price_at(provider, model, now)
        require(price is not None, f"the price table does not price {provider}/{model}")
        inp, read, write, _, out = (Decimal(p) * 1_000_000 for p in price.base)
        for name, value in (("p_in", inp), ("p_read", read), ("p_write", write), ("p_out", out)):
            require(value == int(value), f"{provider}/{model}: a price with more than 6 decimals per million tokens")
            arrays[name].append(int(value))
        arrays["price_ids"].append(price.id)
        arrays["batch_pct"].append(int(price.batch_factor * 100))
    require(prices.resolve(*UNPRICED_MODEL) is None, f"{UNPRICED_MODEL} is priced now; pick another unpriced model")
    for name in ("p_in", "p_read", "p_write", "p_out"):
        arrays[name].append(0)
    arrays["price_ids"].append(None)
    arrays["batch_pct"].append(100)
    return arrays


def _products_table(conn: psycopg.Connection, products: list[ProductRow], team_slugs: dict[int, str]) -> None:
    conn.execute("DROP TABLE IF EXISTS bench_pages_product")
    conn.execute(_PRODUCTS_TABLE)
    with conn.cursor().copy("COPY bench_pages_product FROM STDIN") as copy:
        for p in products:
            copy.write_row(
                (
                    p.index,
                    p.product_id,
                    p.slug,
                    p.team_id,
                    team_slugs[p.team_id],
                    p.key_id,
                    p.shared,
                    not p.shared and p.index % 10 < 7,
                    not p.shared and p.index % 4 == 0,
                    p.index % 5 == 1,
                    (0, 1, 3, 4)[p.index % 4],
                    p.index * 7 % 24,
                )
            )


def events_load(
    config: Config, products: list[ProductRow], team_slugs: dict[int, str], *, billed_pct: dict[str, int]
) -> float:
    """Load `config.pages_events` events over the `config.pages_days` days ending today; the seconds
    it took, index rebuild and ANALYZE included."""
    now = datetime.now(UTC)
    days = [now.date() - timedelta(days=config.pages_days - 1 - n) for n in range(config.pages_days)]
    day_slots, seconds = _day_slots(days, now)
    counts = largest_remainder(PRODUCT_SLOTS, [p.weight for p in products], minimum=1)
    envs = {e.slug: e.id for e in Environment.objects.filter(slug__in=("production", "staging", "development"))}
    params = {
        **_price_arrays(),
        "providers": [p for p, _ in (*MODELS, UNPRICED_MODEL)],
        "models": [m for _, m in (*MODELS, UNPRICED_MODEL)],
        "billed_pct": [billed_pct.get(p, 100) for p, _ in (*MODELS, UNPRICED_MODEL)],
        "env_slugs": ["production", "staging", "development"],
        "env_ids": [envs["production"], envs["staging"], envs["development"]],
        "features": list(FEATURES),
        "agents": list(AGENTS),
        "customers": config.pages_customers,
        "product_slots": [p.index for p, c in zip(products, counts, strict=True) for _ in range(c)],
        "product_slot_count": PRODUCT_SLOTS,
        "day_slots": day_slots,
        "day_slot_count": DAY_SLOTS,
        "seconds": seconds,
        "start": f"{days[0].isoformat()}T00:00:00Z",
        "count": config.pages_events,
    }
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        _products_table(conn, products, team_slugs)
        restore = _indexes_drop(conn)
    load_sql = events_insert_sql(_LOAD_VALUES, source=_LOAD_FROM)
    bounds = [config.pages_events * n // LOADERS for n in range(LOADERS + 1)]
    # The loader's own rows reference only registry rows created above: checking five foreign
    # keys per row would double the load time and prove nothing.
    loads = [
        (
            ["SET session_replication_role = replica", f"SELECT setseed({0.1 + n / 10})", load_sql],
            {**params, "first": bounds[n], "last": bounds[n + 1] - 1},
        )
        for n in range(LOADERS)
    ]
    start = time.perf_counter()
    try:
        inserted = sum(_parallel(config, loads))
    finally:
        # Building an index once over the loaded table is several times faster than updating
        # eleven of them row by row (10.5 s against 2.8 s for a million rows on this machine).
        _parallel(config, [(["SET maintenance_work_mem = '256MB'", *statements], None) for statements in restore])
    require_equal(inserted, config.pages_events, "page events loaded")
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_pages_product")
        conn.execute("ANALYZE usage_usageevent")
    return time.perf_counter() - start


def _indexes_drop(conn: psycopg.Connection) -> list[list[str]]:
    """Drop the events table's indexes (primary key and unique constraint included); return the
    statements that put them back exactly as the migrations made them, largest first. A table
    partitioned by month keeps its primary key: PostgreSQL cannot attach one built separately."""
    (kind,) = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'usage_usageevent'").fetchone()
    constraints = dict(
        conn.execute(
            "SELECT conname, contype FROM pg_constraint "
            "WHERE conrelid = 'usage_usageevent'::regclass AND contype IN ('p', 'u')"
        ).fetchall()
    )
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'usage_usageevent'"
    ).fetchall()
    restore = []
    for name, definition in sorted(indexes, key=lambda row: row[0] not in constraints):
        if kind == "p" and name in constraints:
            continue
        if name in constraints:
            contype = constraints[name]
            conn.execute(f'ALTER TABLE usage_usageevent DROP CONSTRAINT "{name}"')
            keyword = "PRIMARY KEY" if contype == "p" else "UNIQUE"
            # The index first (it shares the table with other index builds), then the constraint on it.
            restore.append(
                [definition, f'ALTER TABLE usage_usageevent ADD CONSTRAINT "{name}" {keyword} USING INDEX "{name}"']
            )
        else:
            conn.execute(f'DROP INDEX "{name}"')
            restore.append([definition])
    require(len(restore) >= 3, f"the events table has {len(restore)} indexes; expected the migrations' set")
    return restore


def _parallel(config: Config, jobs: list[tuple[list[str], dict | None]]) -> list[int]:
    """Run jobs of (statements, params for the last one) on LOADERS connections; each job's last row count."""
    pending = list(enumerate(jobs))
    counts, errors = [0] * len(jobs), []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with psycopg.connect(config.database_url, autocommit=True) as conn:
                while True:
                    with lock:
                        if not pending or errors:
                            return
                        n, (statements, params) = pending.pop(0)
                    for statement in statements[:-1]:
                        conn.execute(statement)
                    counts[n] = conn.execute(statements[-1], params).rowcount
        except Exception as exc:  # re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(LOADERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return counts
