"""Savings detectors: pure functions of a day and the thresholds, each returning findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..models import SavingsSettings


@dataclass(frozen=True)
class Finding:
    """One opportunity as a detector sees it; apps.insights.services stores and tracks it."""

    lever: str
    team_id: int
    monthly_saving: Decimal
    sentence: str
    evidence: dict
    product_id: int | None = None
    feature: str = ""
    agent: str = ""
    api_key_id: int | None = None
    provider: str = ""
    model: str = ""
    extra_key: str = field(default="")

    @property
    def fingerprint(self) -> str:
        parts = (self.lever, self.team_id, self.product_id, self.feature, self.agent, self.api_key_id)
        return "|".join(str(p or "") for p in (*parts, self.provider, self.model, self.extra_key))


Detector = Callable[[date, SavingsSettings], list[Finding]]


def all_detectors() -> list[Detector]:
    from . import batch, caching, drift, failures, nonprod, routing, tails

    return [
        routing.routing_detect,
        caching.caching_detect,
        batch.batch_detect,
        nonprod.nonprod_detect,
        tails.tails_detect,
        failures.failures_detect,
        drift.drift_detect,
        drift.customer_drift_detect,
    ]


def scope_words(key: dict) -> str:
    """'feature summarise (agent triage)' for a sentence."""
    words = []
    if key.get("feature"):
        words.append(f"feature '{key['feature']}'")
    if key.get("agent"):
        words.append(f"agent '{key['agent']}'")
    return " and ".join(words) or "untagged calls"


def money_text(amount: Decimal) -> str:
    """Evidence is JSON: money as an exact string."""
    return str(amount)
