"""Celery tasks of the gateway: draining recorded calls from Redis into the database."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from attribution_site.redis_outage import redis_client

from .services import gateway_events_drain


@shared_task(name="gateway.drain_events")
def drain_events() -> int:
    if not settings.GATEWAY_REDIS_URL:
        return 0
    client = redis_client(settings.GATEWAY_REDIS_URL)
    try:
        return gateway_events_drain(client=client, batch=settings.GATEWAY_DRAIN_BATCH)
    finally:
        client.close()
