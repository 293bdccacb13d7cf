"""Effective-dated prices per (provider, model), model aliases and negotiated discounts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

_PER_MTOK = {"max_digits": 14, "decimal_places": 6}


def _price(label: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(label, **_PER_MTOK, **kwargs)


class ModelPrice(models.Model):
    """List prices per million tokens, in force from `effective_from` until the next row's."""

    class Source(models.TextChoices):
        GENAI_PRICES = "genai-prices", "genai-prices package"
        MANUAL = "manual", "Entered by hand"

    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)
    effective_from = models.DateTimeField()
    currency = models.CharField(max_length=3, default="USD")
    input_per_mtok = _price("input")
    output_per_mtok = _price("output")
    cache_read_per_mtok = _price("cache read", null=True, blank=True, help_text="Blank: the input price.")
    cache_write_per_mtok = _price("cache write (5m)", null=True, blank=True, help_text="Blank: the input price.")
    cache_write_1h_per_mtok = _price(
        "cache write (1h)", null=True, blank=True, help_text="Blank: the 5-minute cache write price."
    )
    long_context_threshold = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Input tokens (cached included). Above it the long-context prices apply to the whole request.",
    )
    long_input_per_mtok = _price("long-context input", null=True, blank=True)
    long_output_per_mtok = _price("long-context output", null=True, blank=True)
    long_cache_read_per_mtok = _price("long-context cache read", null=True, blank=True)
    long_cache_write_per_mtok = _price("long-context cache write (5m)", null=True, blank=True)
    long_cache_write_1h_per_mtok = _price("long-context cache write (1h)", null=True, blank=True)
    batch_discount_percent = models.DecimalField(
        max_digits=7, decimal_places=4, default=50, help_text="Off the list price for service_tier=batch."
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        ordering = ["provider", "model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model", "effective_from"], name="unique_price_effective")
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} from {self.effective_from:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        long_prices = [self.long_input_per_mtok, self.long_output_per_mtok]
        if self.long_context_threshold is not None and None in long_prices:
            raise ValidationError(
                {"long_input_per_mtok": "A long-context threshold needs long-context input and output prices."}
            )
        if self.long_context_threshold is None and any(p is not None for p in long_prices):
            raise ValidationError({"long_context_threshold": "Set the threshold the long-context prices apply above."})
        if not 0 <= self.batch_discount_percent <= 100:
            raise ValidationError({"batch_discount_percent": "Give a percentage between 0 and 100."})


class ModelAlias(models.Model):
    """Names that resolve to a priced model: dated snapshots, vendor spellings, prefixes."""

    class Match(models.TextChoices):
        EXACT = "exact", "Exact name"
        PREFIX = "prefix", "Name starts with"

    provider = models.CharField(max_length=64)
    alias = models.CharField(max_length=128)
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.EXACT)
    model = models.CharField(max_length=128, help_text="The model name of the price rows.")

    class Meta:
        ordering = ["provider", "alias"]
        verbose_name_plural = "model aliases"
        constraints = [
            models.UniqueConstraint(fields=["provider", "alias", "match"], name="unique_model_alias"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.alias} → {self.model}"


class NegotiatedDiscount(models.Model):
    """A contract discount off list price: list cost vs billed cost."""

    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128, blank=True, help_text="Blank: every model of the provider.")
    percent_off = models.DecimalField(max_digits=7, decimal_places=4)
    effective_from = models.DateTimeField()
    effective_until = models.DateTimeField(null=True, blank=True, help_text="Blank: open-ended.")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["provider", "model", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.percent_off}% off {self.provider}/{self.model or '*'} from {self.effective_from:%Y-%m-%d}"

    def clean(self) -> None:
        if self.percent_off is not None and not 0 <= self.percent_off <= 100:
            raise ValidationError({"percent_off": "Give a percentage between 0 and 100."})
        if self.effective_until and self.effective_from and self.effective_until <= self.effective_from:
            raise ValidationError({"effective_until": "Must be after the start."})
