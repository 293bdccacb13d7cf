"""Usage events (immutable facts), the API keys that send them, and the days they made dirty."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.org.models import Environment, Product, Team
from apps.org.tags import EVENT_TAGS, PLAIN_TAGS, TAGS, raw_tags_sent, tag_column
from apps.pricing.fields import MoneyField
from apps.pricing.models import ModelPrice
from apps.pricing.rating import TOKEN_FIELDS, TokenCounts

from .event import SERVICE_TIERS

KEY_PREFIX = "lca_"


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A service's credential. Only the hash is stored; the key itself is shown once, at creation."""

    name = models.CharField(max_length=100)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="api_keys")
    chargeable_teams = models.ManyToManyField(
        Team,
        blank=True,
        related_name="chargeable_by_api_keys",
        help_text="Other teams this key may charge with a team tag (X-Attribution-Team, an event's team). "
        "Empty: its own team only. A key with a pinned team charges that team only.",
    )
    prefix = models.CharField(max_length=16, editable=False, help_text="The key's first characters, to recognise it.")
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    pinned_tags = models.JSONField(
        default=dict, blank=True, help_text='Tags forced on every event, e.g. {"team": "search"}.'
    )
    default_tags = models.JSONField(
        default=dict,
        blank=True,
        help_text='Tags used when an event leaves them out, e.g. {"environment": "production"}.',
    )
    provider_scopes = models.JSONField(
        default=dict,
        blank=True,
        help_text="The provider scope this key's traffic bills to, per provider, e.g. "
        '{"anthropic": "wrkspc_01…"}: an event without a provider_scope of its own gets its provider\'s.',
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Who created the key; blank for create_api_key run without --created-by.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Refused from this moment on.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Blank: never expires.")

    class Meta:
        ordering = ["team", "name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        for name in ("pinned_tags", "default_tags"):
            tags = getattr(self, name)
            if not isinstance(tags, dict) or not all(isinstance(v, str) and v for v in tags.values()):
                raise ValidationError(
                    {name: 'Give an object of tag names to non-empty strings, e.g. {"team": "search"}.'}
                )
            unknown = sorted(set(tags) - set(EVENT_TAGS))
            if unknown:
                raise ValidationError(
                    {name: f"Unknown tags: {', '.join(unknown)}. Choose from {', '.join(EVENT_TAGS)}."}
                )
        scopes = self.provider_scopes
        limit = TAGS["provider_scope"].max_length
        if not isinstance(scopes, dict) or not all(
            isinstance(p, str) and p and isinstance(v, str) and v.strip() and len(v) <= limit for p, v in scopes.items()
        ):
            raise ValidationError(
                {
                    "provider_scopes": f"Give an object of providers to scope ids (at most {limit} characters), "
                    'e.g. {"anthropic": "wrkspc_01"}.'
                }
            )

    def set_new_key(self) -> str:
        """Give this key a fresh secret and return it; the caller shows it once."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix = raw[:12]
        self.hashed_key = api_key_hash(raw)
        return raw


class UsageEvent(models.Model):
    """One LLM call as a service reported it, with its normalized tags and exact cost.

    Token counts follow the canonical event (DESIGN.md): cache reads and writes are subsets of
    input_tokens, 1h cache writes a subset of cache writes, reasoning a subset of output.
    """

    ServiceTier = models.TextChoices("ServiceTier", [(tier.upper(), tier) for tier in SERVICE_TIERS])

    class Source(models.TextChoices):
        """The door an event came in by; all three store through apps.usage.services.events_ingest."""

        API = "api", "Events API"
        GATEWAY = "gateway", "Gateway"
        OTLP = "otlp", "OpenTelemetry"

    # Foreign keys without an index of their own: no query reads events by key, price, product or
    # environment alone, and each index costs every event its bytes (docs/scaling.md, "Indexes").
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="events", db_index=False)
    event_id = models.CharField(max_length=128)
    timestamp = models.DateTimeField()
    day = models.DateField(
        help_text="UTC day of the timestamp (the rollup grain); for a late event of a closed month, the "
        "first day of the first open month, where it is booked as an adjustment."
    )
    adjusts_month = models.CharField(
        max_length=7, blank=True, help_text="YYYY-MM of the closed month this late event adjusts; blank for most."
    )
    received_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)

    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)
    service_tier = models.CharField(max_length=16, choices=ServiceTier.choices, default=ServiceTier.STANDARD)
    outcome = models.CharField(max_length=32, default="success")
    latency_ms = models.PositiveIntegerField(null=True)

    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_1h_tokens = models.PositiveBigIntegerField(default=0)
    reasoning_tokens = models.PositiveBigIntegerField(default=0)

    price = models.ForeignKey(ModelPrice, on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    list_cost = MoneyField(default=0)
    billed_cost = MoneyField(default=0)
    cache_savings = MoneyField(default=0)
    unpriced = models.BooleanField(default=False)
    usage_missing = models.BooleanField(
        default=False, help_text="The call was reported without token counts: its cost is unknown, not $0."
    )

    # Normalized tags. team/product/environment keep the normalized value as sent (`*_tag`) next
    # to the registry row it resolved to; a NULL row with a tag is an unknown value, which a later
    # registration or alias re-attributes (apps.usage.services.events_reattribute).
    team_tag = models.CharField(max_length=128, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    product_tag = models.CharField(max_length=128, blank=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    environment_tag = models.CharField(max_length=64, blank=True)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    # The other tags (feature, customer, agent, trace_id, …) have a column each, added below from TAGS.
    missing_tags = models.CharField(max_length=128, blank=True, help_text="Required tags the event lacked.")
    raw_tags = models.JSONField(
        null=True,
        default=None,
        help_text="Where the tags the event sent differ from the stored ones: [tag, value sent] pairs "
        "(apps.org.tags.raw_tags_stored); empty for most events. `tags_sent` gives the tags as sent.",
    )
    attributes = models.JSONField(default=dict)

    class Meta:
        # Idempotency is EventKey's unique primary key: on PostgreSQL this table is partitioned by
        # month of `day` (apps.usage.partitions), and a unique constraint there would have to
        # include the day, so a resend in another month would not collide.
        indexes = [
            models.Index(fields=["day"], name="usage_event_day"),
            models.Index(fields=["team", "id"], name="usage_event_team_id"),
            # Most events carry no trace id: the empty ones stay out of the index.
            models.Index(fields=["trace_id"], name="usage_event_trace", condition=~models.Q(trace_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.provider}/{self.model})"

    @property
    def tokens(self) -> TokenCounts:
        return TokenCounts(**{name: getattr(self, name) for name in TOKEN_FIELDS})

    @property
    def tags_sent(self) -> dict[str, str]:
        """The tags exactly as the event sent them."""
        return raw_tags_sent(self.raw_tags, {name: getattr(self, tag_column(name)) for name in TAGS})

    @property
    def unattributed_reason(self) -> str:
        """Why the event has no team: empty when it has one."""
        if self.team_id is not None:
            return ""
        return f"unknown team '{self.team_tag}'" if self.team_tag else "missing team tag"


for _name in PLAIN_TAGS:
    UsageEvent.add_to_class(_name, models.CharField(max_length=TAGS[_name].max_length, blank=True))


class EventKey(models.Model):
    """The idempotency key of a stored event, (API key, event_id), with where the event is.

    One small table for all months, so a resend months later is still found (the events table is
    partitioned by month on PostgreSQL). Kept when a month is archived: a resend of an archived
    event stays a duplicate, and restoring the month finds its keys in place.
    """

    pk = models.CompositePrimaryKey("api_key_id", "event_id")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="+", db_index=False)
    event_id = models.CharField(max_length=128)
    day = models.DateField(help_text="The stored event's day (its partition).")
    event_pk = models.BigIntegerField(null=True, help_text="The stored event's id.")

    def __str__(self) -> str:
        return self.event_id


class DirtyMark(models.Model):
    """A note that a UTC day's events changed after its rollup was built: the day is dirty while
    it has any mark.

    Marks are only ever inserted (in the transaction that changed the events), never updated, so
    concurrent ingestions into one day do not queue on a shared row. A rebuild deletes the day's
    marks it can see and rebuilds in the same transaction; a mark committed after that delete
    survives it, and the day is rebuilt again.
    """

    day = models.DateField(db_index=True)
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} (marked {self.marked_at:%Y-%m-%d %H:%M:%S})"


class RerateRun(models.Model):
    """A re-pricing of stored events after a price or discount changed, visible in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    reason = models.CharField(max_length=300)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128, blank=True, help_text="Blank: every model of the provider.")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    events_total = models.PositiveBigIntegerField(default=0, help_text="Events to check, counted when it began.")
    events_checked = models.PositiveBigIntegerField(default=0)
    events_changed = models.PositiveBigIntegerField(default=0)
    days_marked_dirty = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "re-rating run"

    def __str__(self) -> str:
        return f"{self.reason} ({self.status})"

    @property
    def progress(self) -> str:
        """The line the price's admin page shows while it runs and after."""
        what = f"{self.provider}{'/' + self.model if self.model else ''} from {self.start:%Y-%m-%d}"
        if self.status == self.Status.PENDING:
            return f"Re-rating {what}: queued."
        counts = f"{self.events_checked:,} of {self.events_total:,} event(s) checked, {self.events_changed:,} re-priced"
        if self.status == self.Status.FAILED:
            return f"Re-rating {what} failed after {counts}: {self.error[:200]}"
        return f"Re-rating {what}: {counts}{' (running)' if self.status == self.Status.RUNNING else ', done'}."


class ClosedMonth(models.Model):
    """A month whose figures are frozen: its events are not re-rated or re-attributed, its days are
    not rebuilt or re-allocated, and its late events are booked in the first open month.

    A row exists while the month is closed; reopening deletes it (apps.closing.services.months_reopen).
    """

    month = models.DateField(unique=True, help_text="The month's first day.")
    closed_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class ArchivedMonth(models.Model):
    """A closed month whose raw events were written to Parquet and removed from the database
    (apps.usage.archive). Its rollups and allocations stay; re-deriving it needs the events back
    first (`manage.py restore_events FILE`), which deletes this row."""

    month = models.DateField(unique=True, help_text="The month's first day.")
    location = models.CharField(max_length=1000, help_text="Where the Parquet file is (folder path or URL).")
    rows = models.PositiveBigIntegerField()
    billed_cost = MoneyField()
    sha256 = models.CharField(max_length=64)
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.rows} events)"
