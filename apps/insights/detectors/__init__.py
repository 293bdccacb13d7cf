"""Savings detectors: pure functions of a day and the thresholds, each returning findings built by
`finding`, which holds what they share (the scope's wording, the month, the minimum saving)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from apps.pricing.money import usd

from ..models import SavingsSettings
from ..repricing import monthly
from ..selectors import WINDOW_DAYS

# Where a finding's sentence states the monthly saving: `finding` puts it there as money.
SAVING = "{saving}"
# The scope fields an opportunity is stored with.
SCOPE_FIELDS = ("team_id", "product_id", "feature", "agent", "api_key_id", "provider", "model")


@dataclass(frozen=True)
class Scope:
    """Whose spend a finding is about. `extra_key` tells apart two findings of one lever on one scope."""

    team_id: int
    product_id: int | None = None
    feature: str = ""
    agent: str = ""
    api_key_id: int | None = None
    provider: str = ""
    model: str = ""
    extra_key: str = ""

    @property
    def words(self) -> str:
        """ "feature 'summarise' and agent 'triage'", or "untagged calls"."""
        parts = [f"{name} '{value}'" for name, value in (("feature", self.feature), ("agent", self.agent)) if value]
        return " and ".join(parts) or "untagged calls"

    @property
    def subject(self) -> str:
        """The words starting a sentence (names keep their case)."""
        return self.words[0].upper() + self.words[1:]


@dataclass(frozen=True)
class Finding:
    """One opportunity as a detector sees it; apps.insights.services stores and tracks it."""

    lever: str
    scope: Scope
    monthly_saving: Decimal
    sentence: str
    evidence: dict

    @property
    def fingerprint(self) -> str:
        parts = (self.lever, *(getattr(self.scope, name) for name in SCOPE_FIELDS), self.scope.extra_key)
        return "|".join(str(p or "") for p in parts)

    def opportunity_fields(self) -> dict:
        """What an Opportunity stores of this finding."""
        return {
            "lever": self.lever,
            **{name: getattr(self.scope, name) for name in SCOPE_FIELDS},
            "monthly_saving": self.monthly_saving,
            "sentence": self.sentence,
            "evidence": self.evidence,
        }


def finding(
    *,
    lever: str,
    scope: Scope,
    saving: Decimal,
    config: SavingsSettings,
    sentence: str,
    evidence: dict,
) -> Finding | None:
    """The finding for a saving seen over the detectors' window (WINDOW_DAYS), stated per month; None
    when that is under the minimum worth a team's time. `sentence` names the monthly saving as SAVING."""
    monthly_saving = monthly(saving, days=WINDOW_DAYS)
    if monthly_saving < config.min_monthly_saving:
        return None
    text = sentence.replace(SAVING, usd(monthly_saving))
    return Finding(lever, scope, monthly_saving, text, {"days": WINDOW_DAYS, **evidence})


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


def money_text(amount: Decimal) -> str:
    """Evidence is JSON: money as an exact string."""
    return str(amount)
