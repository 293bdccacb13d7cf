"""The benchmark's own PostgreSQL database, recreated each run, and the environment pointing at it."""

from __future__ import annotations

import os
import sys

import psycopg
import redis
from psycopg import sql

from .config import Config

# Settings read these; a broker, Redis or a shared cache from the caller's shell must not leak in.
_CLEARED = ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "DJANGO_ALLOWED_HOSTS")


def bench_environment(config: Config) -> dict[str, str]:
    """Environment for this process and gunicorn: the bench database, the shared Redis cache of
    production (each request checks its snapshots' versions there), tasks in-process and no
    rollup refresh inside requests (ingestion only marks days dirty), DEBUG off as in production."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        DJANGO_SETTINGS_MODULE="attribution_site.settings",
        DJANGO_ENV="development",
        DJANGO_DEBUG="0",
        DATABASE_URL=config.database_url,
        CACHE_URL=config.redis_url,
        CELERY_TASK_ALWAYS_EAGER="1",
        ROLLUP_REFRESH_ON_INGEST="0",
        LOG_LEVEL="WARNING",
    )
    return env


def database_recreate(config: Config) -> None:
    with psycopg.connect(f"{config.pg_server_url}/postgres", autocommit=True) as conn:
        name = sql.Identifier(config.database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    redis.Redis.from_url(config.redis_url).flushdb()  # snapshot versions of an earlier run


def django_start(config: Config, *, fresh: bool) -> None:
    """Point Django at the bench database (recreated when `fresh`), migrate, load prices and collect
    the static files the pages name by their hashed names, as a deployment does."""
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ.update(bench_environment(config))
    if fresh:
        database_recreate(config)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_prices", stdout=sys.stderr)
    call_command("collectstatic", verbosity=0, interactive=False)


def parts_clear() -> None:
    """Give the next part the database as migrations and prices left it: the teams, products, keys,
    customers and discounts an earlier part registered go, and with them (CASCADE) its events,
    rollups, rules and budgets. The page benchmark's teams include `growth`, which the other parts
    send as an unknown team; its discount would change every price."""
    from django.db import connection

    from apps.org.models import CustomerAccount, Team
    from apps.pricing.models import NegotiatedDiscount
    from apps.usage.models import DirtyMark
    from attribution_site.snapshots import invalidate_all

    tables = ", ".join(m._meta.db_table for m in (Team, CustomerAccount, NegotiatedDiscount, DirtyMark))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    invalidate_all()  # TRUNCATE sends no signals: the registry, key and price snapshots are stale
