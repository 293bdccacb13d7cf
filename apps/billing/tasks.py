"""Celery tasks of billing: the daily pull of every active provider account."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ProviderAccount
from .pulls import ProviderPullError
from .services import account_sync, accounts_from_environment

logger = logging.getLogger(__name__)


def refresh_dirty_days_later() -> None:
    """Rebuild the days a pull dirtied once it commits. Dispatched by name: the pipeline task
    lives in a layer above billing (apps.allocation)."""
    transaction.on_commit(lambda: current_app.tasks["allocation.refresh_dirty_days"].delay())


@shared_task(name="billing.sync_provider_costs")
def sync_provider_costs() -> int:
    """Beat, daily: pull the last BILLING_SYNC_DAYS days (a provider revises recent days) of every
    active account; one account's failure is recorded on it and does not stop the others."""
    accounts_from_environment()
    today = timezone.now().date()
    start = today - timedelta(days=settings.BILLING_SYNC_DAYS)
    pulled = 0
    for account in ProviderAccount.objects.filter(is_active=True):
        try:
            account_sync(account=account, start=start, end=today)
            pulled += 1
        except ProviderPullError as exc:
            logger.warning("Pull of %s failed: %s", account, exc)
    refresh_dirty_days_later()
    return pulled
