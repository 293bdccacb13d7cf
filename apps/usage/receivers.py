"""Re-derive history when what it was derived from changes: prices re-rate, registry re-attributes."""

from __future__ import annotations

from datetime import UTC

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from apps.org.models import Environment, Product, TagAlias, Team
from apps.pricing.models import ModelAlias, ModelPrice, NegotiatedDiscount
from apps.pricing.services import EPOCH

from .selectors import closed_months
from .services.closing import months_reopen
from .services.history import rerate_run_create
from .tasks import reattribute, rerate


@receiver(pre_save, sender=ModelPrice)
@receiver(pre_save, sender=NegotiatedDiscount)
def _remember_old_start(sender, instance, **kwargs):
    # An edit that moves effective_from later must still re-rate from where it used to start.
    old = (
        sender.objects.filter(pk=instance.pk).values_list("effective_from", flat=True).first() if instance.pk else None
    )
    instance._previous_effective_from = old


@receiver(post_save, sender=ModelPrice)
@receiver(post_delete, sender=ModelPrice)
@receiver(post_save, sender=NegotiatedDiscount)
@receiver(post_delete, sender=NegotiatedDiscount)
def _rerate_after_price_change(sender, instance, **kwargs):
    previous = getattr(instance, "_previous_effective_from", None)
    kind = "price" if sender is ModelPrice else "discount"
    _rerate(f"{kind} {instance}", instance, start=min(filter(None, [instance.effective_from, previous])), **kwargs)


@receiver(post_save, sender=ModelAlias)
@receiver(post_delete, sender=ModelAlias)
def _rerate_after_alias_change(sender, instance, **kwargs):
    """An alias changes which prices some model names get: re-rate the provider's events that are
    unpriced or priced by the alias's target (the rows an alias can affect)."""
    _rerate(f"model alias {instance}", instance, start=EPOCH, **kwargs)


def _rerate(what: str, instance, *, start, **kwargs) -> None:
    """Record a re-rating run of the instance's provider and model from `start`, and queue it.

    The run leaves closed months as they were, unless the edit asked to rewrite them: the pricing
    admin's "rewrite closed months" sets `_rewrite_closed_months` ({"by", "reason"}) on the
    instance, and the closed months from `start` on are reopened first."""
    rewrite = instance.__dict__.pop("_rewrite_closed_months", None)  # for this save only
    if rewrite:
        months_reopen(
            months=[m for m in closed_months() if m >= start.astimezone(UTC).date().replace(day=1)],
            by=rewrite.get("by"),
            reason=rewrite.get("reason", ""),
            change=what,
        )
    run = rerate_run_create(
        reason=f"{what} {'saved' if 'created' in kwargs else 'deleted'}",
        provider=instance.provider,
        model=instance.model,
        start=start,
        end=None,
    )
    transaction.on_commit(lambda: rerate.delay(run.pk))


@receiver(post_save, sender=Team)
@receiver(post_save, sender=Product)
@receiver(post_save, sender=Environment)
@receiver(post_save, sender=TagAlias)
@receiver(post_delete, sender=TagAlias)
def _reattribute_after_registry_change(sender, **kwargs):
    transaction.on_commit(reattribute.delay)
