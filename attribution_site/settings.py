"""Settings: the one place that reads the environment.

With no environment at all the project runs embedded: SQLite under var/, Celery tasks
in-process, DEBUG on and a generated secret kept in var/. DATABASE_URL and
CELERY_BROKER_URL (or REDIS_URL) switch to the real stack; DJANGO_ENV=production refuses
to start without a secret key and allowed hosts.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
import plotly
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from attribution_site.redis_outage import OutageAwareConnection

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()


def env_bool(name: str, *, default: bool) -> bool:
    """django-environ reads any word it does not know as False: a typo (`ture`) must not switch
    DEBUG or eager tasks off without a word."""
    value = env.str(name, default=str(default)).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {value!r}")


DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"


def _dev_secret_key() -> str:
    """A secret generated once per checkout, so logins survive a restart of `make run`."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set DJANGO_ALLOWED_HOSTS in production.")
    DEBUG = env_bool("DJANGO_DEBUG", default=False)
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _dev_secret_key()
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DEBUG = env_bool("DJANGO_DEBUG", default=True)

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
# Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto: plain HTTP is
# redirected and browsers told to use HTTPS only. The probes stay on plain HTTP for healthchecks.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=PRODUCTION)
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere (charts are drawn by static/js/charts.js from JSON in the page).
# plotly.js sets element styles and adds <style> rules as it draws, hence inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.org",
    "apps.accounts",
    "apps.pricing",
    "apps.usage",
    "apps.rollups",
    "apps.allocation",
    "apps.budgets",
    "apps.showback",
    "apps.closing",
    "apps.insights",
    "apps.billing",
    "axes",
    "apps.gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "attribution_site.replica.ReplicaReadMiddleware",
]

ROOT_URLCONF = "attribution_site.urls"
WSGI_APPLICATION = "attribution_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.showback.context_processors.navigation",
                "attribution_site.replica.replica_lag",
            ],
        },
    },
]

# Database: SQLite file by default, anything dj-database-url understands otherwise.
if "DATABASE_URL" in env:
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Page and rollup queries are short aggregations; JIT compilation costs more than it saves.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # An unreachable server fails a connection in seconds, not after the OS's TCP timeout: the
    # gateway then answers 503 instead of holding its calls (apps.gateway.recording).
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=5)
    )
DATABASES["default"].setdefault("TEST", {})
# A streaming replica of the primary: pages, read APIs and exports read from it (attribution_site.replica).
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["attribution_site.replica.ReplicaRouter"]
# A page read from the replica says how far behind it is past this many seconds.
REPLICA_LAG_WARNING_SECONDS = env.int("REPLICA_LAG_WARNING_SECONDS", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; SQLite builds the same index without those columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Redis serves as Celery broker and shared cache when configured.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
if PRODUCTION and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("Set CELERY_BROKER_URL or REDIS_URL in production.")
# The snapshots of API keys, prices and the registry (attribution_site.snapshots) are invalidated
# through this cache: every process must share it, or a revoked key keeps working elsewhere.
CACHE_URL = env.str(
    "CACHE_URL", default=REDIS_URL or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
)
if PRODUCTION and not CACHE_URL:
    raise ImproperlyConfigured("Set CACHE_URL or REDIS_URL in production: every process must share one cache.")
# Redis is an optimisation and a buffer, never a dependency of storing an event: a Redis that
# fails is left alone for this long (attribution_site.redis_outage) while the cache reads
# through to the database and the gateway writes events to it directly.
REDIS_OUTAGE_RETRY_SECONDS = env.float("REDIS_OUTAGE_RETRY_SECONDS", default=2.0)
# Connect and command timeouts of the cache and the gateway's Redis clients: a hung Redis costs
# a call at most this long before the database is used instead.
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=0.5)
# django-redis keeps one client per connection pool (Django's own Redis cache builds one per
# operation, 0.2 ms each) and reads many keys in one MGET: ingestion checks every snapshot
# version in one round trip (attribution_site.snapshots). A cache error is a cache miss
# (IGNORE_EXCEPTIONS): the snapshots then read the database, and a throttle lets reads pass.
CACHE_REDIS_OPTIONS = {
    "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
    "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
    "IGNORE_EXCEPTIONS": True,
    "CONNECTION_POOL_KWARGS": {"connection_class": OutageAwareConnection},
}
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": CACHE_URL, "OPTIONS": CACHE_REDIS_OPTIONS}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"  # embedded: tasks run in-process, nothing is sent
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Workers and beat outlive a broker restart: they reconnect for as long as it takes, and a lost
# connection is noticed (socket timeouts, health checks) instead of waiting on a dead socket.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 5,
    "socket_timeout": 30,  # longer than the transport's 1 s BRPOP
    "socket_keepalive": True,
    "health_check_interval": 10,
}
ROLLUP_INTERVAL_SECONDS = env.int("ROLLUP_INTERVAL_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "refresh-dirty-days": {"task": "allocation.refresh_dirty_days", "schedule": ROLLUP_INTERVAL_SECONDS},
    # Fixed monthly amounts accrue on days without events too.
    "allocate-recent-days": {"task": "allocation.allocate_recent_days", "schedule": 3600},
    "check-spend": {"task": "budgets.check_spend", "schedule": env.int("SPEND_CHECK_INTERVAL_SECONDS", default=900)},
    # Months due under the admin's auto-close setting (apps.closing); nothing while it is blank.
    "close-due-months": {"task": "closing.close_due_months", "schedule": 86400},
    "find-savings": {"task": "insights.find_savings", "schedule": crontab(hour=3, minute=30)},
    "savings-digest": {"task": "insights.send_savings_digest", "schedule": crontab(hour=7, minute=0, day_of_week=1)},
    # Providers finish a day's cost report hours after midnight UTC: pull the last days again daily.
    "sync-provider-costs": {"task": "billing.sync_provider_costs", "schedule": crontab(hour=6, minute=15)},
}
# Re-rating runs still pending (none are, where each is queued on commit) are taken every few seconds.
CELERY_BEAT_SCHEDULE["rerate-pending"] = {"task": "usage.rerate_pending", "schedule": 5.0}
# In-process only: a price saved in the admin leaves its re-rating to run_periodic (`make run` sets
# this), so the save answers at once instead of re-pricing every event inside the request.
RERATE_IN_PERIODIC = env_bool("RERATE_IN_PERIODIC", default=False)
if RERATE_IN_PERIODIC and not CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured("RERATE_IN_PERIODIC is for the in-process mode: with a broker a worker re-rates.")
# PostgreSQL: months of events partitions are created ahead of (apps.usage.partitions), daily by beat.
EVENT_PARTITIONS_AHEAD = env.int("EVENT_PARTITIONS_AHEAD", default=3)
CELERY_BEAT_SCHEDULE["create-event-partitions"] = {"task": "usage.create_partitions_ahead", "schedule": 86400}
# Archived months of raw events (manage.py archive_events): Parquet files in ARCHIVE_DIR, or under
# ARCHIVE_URL when set (any URI pyarrow.fs opens, e.g. s3://bucket/prefix?endpoint_override=host:9000).
ARCHIVE_DIR = Path(env.str("ARCHIVE_DIR", default=str(VAR_DIR / "archive")))
ARCHIVE_URL = env.str("ARCHIVE_URL", default="")
CELERY_BEAT_SCHEDULE["archive-old-months"] = {"task": "closing.archive_old_months", "schedule": 86400}
# Embedded (tasks in-process, no beat): refresh a day's rollups as soon as ingestion dirties it.
ROLLUP_REFRESH_ON_INGEST = env_bool("ROLLUP_REFRESH_ON_INGEST", default=CELERY_TASK_ALWAYS_EAGER)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login lockout (django-axes): an account, and separately an address, is refused for a cool-off
# after repeated failures; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Answers only the provider's callback, and only while OIDC_ISSUER is set (apps.accounts).
    "apps.accounts.backend.DirectorySignInBackend",
]
AXES_VERBOSE = False  # no banner on every command
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# X-Forwarded-For is only believed behind that many proxies of our own (attribution_site.proxies).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "attribution_site.proxies.client_address"
AXES_WHITELIST_CALLABLE = "apps.accounts.backend.is_sign_in_callback"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "showback:home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in with the company's OpenID Connect provider (apps.accounts, docs/sso.md). Unset: local
# passwords only, as before. The endpoints and keys come from the issuer's discovery document.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_SCOPES = env.str("OIDC_SCOPES", default="openid email profile groups")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_SESSION_HOURS = env.int("OIDC_SESSION_HOURS", default=12)
if OIDC_ISSUER:
    if not OIDC_ISSUER.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"OIDC_ISSUER must be the provider's https:// URL, not {OIDC_ISSUER!r}.")
    if PRODUCTION and not OIDC_ISSUER.startswith("https://"):
        raise ImproperlyConfigured("OIDC_ISSUER must use https:// in production.")
    if _missing := [name for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET") if not globals()[name]]:
        raise ImproperlyConfigured(f"OIDC_ISSUER is set but {' and '.join(_missing)} is not: set both.")
    if "openid" not in OIDC_SCOPES.split():
        raise ImproperlyConfigured(f"OIDC_SCOPES must include openid, not {OIDC_SCOPES!r}.")
    # Signing out posts a form whose redirect ends at the provider's end_session_endpoint.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        urlsplit(OIDC_ISSUER)._replace(path="", query="", fragment="").geturl()
    )
if OIDC_SESSION_HOURS < 1:
    raise ImproperlyConfigured("OIDC_SESSION_HOURS must be at least 1.")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# plotly.js is served from the copy bundled in the plotly package: no CDN, no build step.
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", Path(plotly.__file__).parent / "package_data")]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names and gzip copies, made by collectstatic (`make run`, the test session and the
        # image run it): WhiteNoise serves them compressed and, hashed, cached for a year.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.usage.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "attribution_site.exceptions.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Reads per API key and per person (attribution_site.reads.ReadRateThrottle); ingestion is not throttled.
    "DEFAULT_THROTTLE_RATES": {"reads": env.str("API_READ_THROTTLE_RATE", default="120/minute") or None},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM cost attribution API",
    "DESCRIPTION": "Ingest tagged LLM usage events and read back exactly priced, attributed costs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "attribution_site.api_schema.events_refuse_unknown_fields",
    ],
}

# How stale a process's copy of the API keys may get when a key changes without a signal
# (apps.usage.keys): a revocation by bulk update or SQL holds within this many seconds.
API_KEY_SNAPSHOT_SECONDS = env.int("API_KEY_SNAPSHOT_SECONDS", default=30)

# Ingestion limits (apps.usage.validation and apps.usage.apis read these).
INGEST_MAX_BATCH = env.int("INGEST_MAX_BATCH", default=1000)
# Spans in one OTLP export request: the Collector's batch processor sends 8,192 at most by default.
OTLP_MAX_SPANS = env.int("OTLP_MAX_SPANS", default=8192)
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=5 * 1024 * 1024)
INGEST_MAX_EVENT_AGE_DAYS = env.int("INGEST_MAX_EVENT_AGE_DAYS", default=180)
INGEST_MAX_FUTURE_SECONDS = env.int("INGEST_MAX_FUTURE_SECONDS", default=300)
# PostgreSQL: small ingests arriving together in one web process (threads) share one transaction
# and one WAL flush (apps.usage.services.group_commit); off, each request commits on its own.
INGEST_GROUP_COMMIT = env_bool("INGEST_GROUP_COMMIT", default=True)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES

# Bounded reads (attribution_site.reads, apps.allocation.apis): a report's statements are cancelled
# after this long on PostgreSQL, and the costs API answers at most this many rows per page.
API_READ_STATEMENT_TIMEOUT_MS = env.int("API_READ_STATEMENT_TIMEOUT_MS", default=10_000)
# Reports running at once across all web processes (PostgreSQL); keep it below the web workers.
API_READ_CONCURRENCY = env.int("API_READ_CONCURRENCY", default=2)
COSTS_MAX_PAGE_SIZE = env.int("COSTS_MAX_PAGE_SIZE", default=1000)
# A report of more rows is refused (400) rather than built: every page costs the whole report.
COSTS_MAX_ROWS = env.int("COSTS_MAX_ROWS", default=10_000)

# Budgets, anomalies and alerts (apps.budgets).
ANOMALY_MIN_INCREASE = Decimal(env.str("ANOMALY_MIN_INCREASE", default="20"))
ANOMALY_MIN_HOURLY_INCREASE = Decimal(env.str("ANOMALY_MIN_HOURLY_INCREASE", default="5"))
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5)
ALERT_DELIVERY_ATTEMPTS = env.int("ALERT_DELIVERY_ATTEMPTS", default=5)
ALERT_RETRY_BACKOFF_SECONDS = env.int("ALERT_RETRY_BACKOFF_SECONDS", default=30)
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="llm-spend@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # One line per successful task is noise, above all with tasks running in-process.
    "loggers": {"celery.app.trace": {"level": "WARNING"}},
}


def _fernet_key(name: str) -> str:
    """A Fernet key from the environment; in development one generated once per checkout under
    var/, like the secret key. Production has no default: storing a credential without the key
    then fails loudly (apps.billing.crypto, apps.gateway.credentials), while a deployment that
    stores none needs none. A malformed key stops the settings loading."""
    from cryptography.fernet import Fernet

    key = env.str(name, default="")
    if not key and not PRODUCTION:
        path = VAR_DIR / name.lower()
        if not path.exists():
            path.write_text(Fernet.generate_key().decode())
        key = path.read_text().strip()
    if key:
        try:
            Fernet(key.encode())
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be a Fernet key (32 url-safe base64 bytes).") from exc
    return key


# Provider bills and reconciliation (apps.billing).
BILLING_CREDENTIALS_KEY = _fernet_key("BILLING_CREDENTIALS_KEY")
BILLING_ENV_ACCOUNTS = {
    "anthropic": (env.str("ANTHROPIC_ADMIN_API_KEY", default=""), env.str("ANTHROPIC_ADMIN_API_BASE", default="")),
    "openai": (env.str("OPENAI_ADMIN_API_KEY", default=""), env.str("OPENAI_ADMIN_API_BASE", default="")),
}
BILLING_PULL_ATTEMPTS = env.int("BILLING_PULL_ATTEMPTS", default=5)
BILLING_PULL_BACKOFF_SECONDS = env.float("BILLING_PULL_BACKOFF_SECONDS", default=2)
BILLING_PULL_MAX_WAIT_SECONDS = env.float("BILLING_PULL_MAX_WAIT_SECONDS", default=60)
BILLING_PULL_TIMEOUT_SECONDS = env.float("BILLING_PULL_TIMEOUT_SECONDS", default=30)
BILLING_SYNC_DAYS = env.int("BILLING_SYNC_DAYS", default=3)
# A FOCUS file as uploaded, and what it may decompress to (gzip CSV, Parquet pages).
BILLING_UPLOAD_MAX_BYTES = env.int("BILLING_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
BILLING_UPLOAD_MAX_UNCOMPRESSED_BYTES = env.int("BILLING_UPLOAD_MAX_UNCOMPRESSED_BYTES", default=1024 * 1024 * 1024)
FOCUS_BILLING_ACCOUNT_ID = env.str("FOCUS_BILLING_ACCOUNT_ID", default="llm-showback")
FOCUS_BILLING_ACCOUNT_NAME = env.str("FOCUS_BILLING_ACCOUNT_NAME", default="LLM showback")

# Gateway (apps.gateway): the providers' APIs passed through, attributed and recorded.
GATEWAY_OPENAI_UPSTREAM = env.str("GATEWAY_OPENAI_UPSTREAM", default="https://api.openai.com").rstrip("/")
GATEWAY_ANTHROPIC_UPSTREAM = env.str("GATEWAY_ANTHROPIC_UPSTREAM", default="https://api.anthropic.com").rstrip("/")
GATEWAY_OPENAI_API_KEY = env.str("GATEWAY_OPENAI_API_KEY", default="")
GATEWAY_ANTHROPIC_API_KEY = env.str("GATEWAY_ANTHROPIC_API_KEY", default="")
GATEWAY_TAG_POLICY = env.str("GATEWAY_TAG_POLICY", default="enforce")
GATEWAY_BUDGET_POLICY = env.str("GATEWAY_BUDGET_POLICY", default="enforce")
for _name, _value in (("GATEWAY_TAG_POLICY", GATEWAY_TAG_POLICY), ("GATEWAY_BUDGET_POLICY", GATEWAY_BUDGET_POLICY)):
    if _value not in {"enforce", "warn"}:
        raise ImproperlyConfigured(f"{_name} must be enforce or warn, not {_value!r}")

GATEWAY_CREDENTIALS_KEY = _fernet_key("GATEWAY_CREDENTIALS_KEY")
# Where calls are made durable before their response ends: a Redis list, else the database directly.
GATEWAY_REDIS_URL = env.str(
    "GATEWAY_REDIS_URL", default=REDIS_URL or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
)
GATEWAY_REFRESH_SECONDS = env.float("GATEWAY_REFRESH_SECONDS", default=1.0)
GATEWAY_BUDGET_REFRESH_SECONDS = env.float("GATEWAY_BUDGET_REFRESH_SECONDS", default=30.0)
# How often each gateway process reads every process's counted spend of the hard limits.
GATEWAY_SPEND_POLL_SECONDS = env.float("GATEWAY_SPEND_POLL_SECONDS", default=0.2)
GATEWAY_DRAIN_INTERVAL_SECONDS = env.float("GATEWAY_DRAIN_INTERVAL_SECONDS", default=1.0)
GATEWAY_DRAIN_BATCH = env.int("GATEWAY_DRAIN_BATCH", default=500)
# A drainer that dies holding the drain lock holds the list back for at most this long.
GATEWAY_DRAIN_LOCK_SECONDS = env.float("GATEWAY_DRAIN_LOCK_SECONDS", default=10.0)
GATEWAY_UPSTREAM_TIMEOUT_SECONDS = env.float("GATEWAY_UPSTREAM_TIMEOUT_SECONDS", default=600.0)
GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=32 * 1024 * 1024)
# A request body must have arrived whole within this long (a slow drip is answered 408).
GATEWAY_BODY_TIMEOUT_SECONDS = env.float("GATEWAY_BODY_TIMEOUT_SECONDS", default=30.0)
# Gateway path prefixes (e.g. /gateway/openai/v1/files) whose POST, PUT, PATCH and DELETE calls are
# forwarded unrecorded; any other unrecorded one is refused with 403. Empty: none.
GATEWAY_PASSTHROUGH = tuple(p.strip().rstrip("/") for p in env.list("GATEWAY_PASSTHROUGH", default=[]) if p.strip())
for _prefix in GATEWAY_PASSTHROUGH:
    if not re.fullmatch(r"/gateway/(openai|anthropic)/v1(/[A-Za-z0-9_~:@-][A-Za-z0-9._~:@-]*)+", _prefix):
        raise ImproperlyConfigured(
            f"GATEWAY_PASSTHROUGH: {_prefix!r} is not a gateway path prefix such as /gateway/openai/v1/files"
        )
CELERY_BEAT_SCHEDULE["gateway-drain-events"] = {"task": "gateway.drain_events", "schedule": 5.0}
