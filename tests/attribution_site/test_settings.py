"""Settings read the environment in one place: embedded defaults, and a production mode that refuses
to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

SHOW = (
    "from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
)


def _settings_process(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_", "CACHE_"))
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "attribution_site.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_no_environment_it_runs_embedded():
    result = _settings_process(SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "True"]


def test_a_database_url_and_a_broker_switch_to_the_real_stack():
    result = _settings_process(
        SHOW, DATABASE_URL="postgres://u@db.example:5432/x", CELERY_BROKER_URL="redis://cache.example:6379/0"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "False", "True"]


def test_a_redis_broker_alone_is_also_the_shared_cache():
    result = _settings_process(
        "from django.conf import settings as s; print(s.CACHES['default']['LOCATION'])",
        CELERY_BROKER_URL="redis://cache.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["redis://cache.example:6379/0"]


def test_production_refuses_a_cache_each_process_keeps_to_itself():
    result = _settings_process(
        "",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY="s" * 50,
        DJANGO_ALLOWED_HOSTS="x.example",
        CELERY_BROKER_URL="amqp://mq.example//",
    )
    assert result.returncode != 0
    assert "Set CACHE_URL or REDIS_URL in production" in result.stderr


def test_a_misspelt_boolean_is_an_error_not_false():
    result = _settings_process("", DJANGO_DEBUG="ture")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_process("", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="x.example", REDIS_URL="redis://r:1/0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _settings_process("", DJANGO_ENV="production", DJANGO_SECRET_KEY="s" * 50, REDIS_URL="redis://r:1/0")
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_its_settings_and_debug_off():
    result = _settings_process(
        "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY="s" * 50,
        DJANGO_ALLOWED_HOSTS="x.example",
        REDIS_URL="redis://r:1/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_a_malformed_value_is_an_error_not_a_default():
    result = _settings_process("", DJANGO_ENV="staging")
    assert result.returncode != 0
    assert "DJANGO_ENV must be development, test or production" in result.stderr
