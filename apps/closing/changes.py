"""Changes to what history is derived from: prices, discounts, model aliases, the registry and
shared-cost rules.

Each re-derives the open months; closed months only when the caller asks to rewrite them, which
reopens them on record first. The admin, the commands and the shell call these; a plain `.save()`
of a price or a team changes the row only (`manage.py rerate --since` re-prices after a hand edit).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.allocation.models import SharedCostRule
from apps.allocation.services import days_allocate_on_commit
from apps.pricing.models import ModelAlias, ModelPrice, NegotiatedDiscount
from apps.pricing.services import EPOCH
from apps.usage.models import RerateRun
from apps.usage.selectors import closed_months
from apps.usage.services.history import rerate_run_create
from apps.usage.tasks import reattribute, rerate

from .services import months_reopen

logger = logging.getLogger(__name__)


def _closed_reopen(*, first_month: date, last_month: date | None, by, reason: str, change: str) -> list[date]:
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason closed months are rewritten."})
    months = [m for m in closed_months() if m >= first_month and (last_month is None or m <= last_month)]
    return months_reopen(months=months, by=by, reason=reason.strip(), change=change)


@transaction.atomic
def history_rerate(
    *,
    change: str,
    provider: str,
    model: str,
    start: datetime,
    rewrite_closed_months: bool = False,
    by=None,
    reason: str = "",
) -> RerateRun:
    """Record a re-rating run of the provider's (and model's, "" for all) events from `start`, and
    queue it for when the caller commits. Closed months are left as they were unless rewritten."""
    if rewrite_closed_months:
        first = start.astimezone(UTC).date().replace(day=1)
        _closed_reopen(first_month=first, last_month=None, by=by, reason=reason, change=change)
    run = rerate_run_create(reason=change[:300], provider=provider, model=model, start=start, end=None)
    if not settings.RERATE_IN_PERIODIC:  # else run_periodic's rerate_pending takes it within seconds
        transaction.on_commit(lambda: rerate.delay(run.pk))
    return run


def price_change(
    *,
    price: ModelPrice | NegotiatedDiscount,
    previous_start: datetime | None = None,
    deleted: bool = False,
    rewrite_closed_months: bool = False,
    by=None,
    reason: str = "",
) -> RerateRun:
    """A price row or negotiated discount was saved or deleted: re-price its model's events from
    its start, or from where it used to start (`previous_start`) when that was earlier."""
    kind = "price" if isinstance(price, ModelPrice) else "discount"
    return history_rerate(
        change=f"{kind} {price} {'deleted' if deleted else 'saved'}",
        provider=price.provider,
        model=price.model,
        start=min(filter(None, [price.effective_from, previous_start])),
        rewrite_closed_months=rewrite_closed_months,
        by=by,
        reason=reason,
    )


def alias_change(
    *, alias: ModelAlias, deleted: bool = False, rewrite_closed_months: bool = False, by=None, reason: str = ""
) -> RerateRun:
    """A model alias changes which prices some model names get: re-price the provider's events that
    are unpriced or priced by the alias's target, over all time."""
    return history_rerate(
        change=f"model alias {alias} {'deleted' if deleted else 'saved'}",
        provider=alias.provider,
        model=alias.model,
        start=EPOCH,
        rewrite_closed_months=rewrite_closed_months,
        by=by,
        reason=reason,
    )


def registry_change(*, reason: str) -> None:
    """A team, product, environment or tag alias was saved or deleted: re-attribute the open months'
    events once the caller commits (only the tag values whose resolution changed are updated)."""
    logger.info("Re-attributing open months: %s", reason)
    transaction.on_commit(reattribute.delay)


@transaction.atomic
def rule_history_rewrite(*, rule: SharedCostRule, today: date, by=None, reason: str = "") -> list[date]:
    """Reopen the closed months the rule covers (recorded with `by` and `reason`), and re-apply the
    rule to every day since it took effect. Returns the months reopened."""
    end = min(rule.effective_until or today, today)
    reopened = _closed_reopen(
        first_month=rule.effective_from.replace(day=1),
        last_month=end,
        by=by,
        reason=reason,
        change=f"shared-cost rule {rule}",
    )
    days_allocate_on_commit(start=rule.effective_from, end=end)
    return reopened
