"""Anomaly rules on plain series: robust baseline, flagging, and the drivers of an increase."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal

# A spend is anomalous when it is above median + K × (1.4826 × MAD) of its trailing window and
# the increase is at least a minimum absolute amount (settings.ANOMALY_MIN_INCREASE), so a
# $0.02 → $0.10 jump pages nobody.
K = Decimal(5)
MAD_SCALE = Decimal("1.4826")  # makes the MAD comparable to a standard deviation
MIN_HISTORY = 7


@dataclass(frozen=True)
class Baseline:
    median: Decimal
    spread: Decimal  # 1.4826 × MAD

    @property
    def limit(self) -> Decimal:
        return self.median + K * self.spread

    def is_broken_by(self, value: Decimal, *, min_increase: Decimal) -> bool:
        return value > self.limit and value - self.median >= min_increase


def baseline(history: list[Decimal]) -> Baseline | None:
    """The typical value of a trailing window (zeros included); None with too little history."""
    if len(history) < MIN_HISTORY:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history)
    return Baseline(median=Decimal(median), spread=MAD_SCALE * Decimal(mad))


def is_anomalous(value: Decimal, history: list[Decimal], *, min_increase: Decimal) -> Baseline | None:
    """The baseline `value` broke out of, or None when it is ordinary."""
    typical = baseline(history)
    if typical is None:
        return None
    return typical if typical.is_broken_by(value, min_increase=min_increase) else None


@dataclass(frozen=True)
class Driver:
    """What an anomaly's increase came from: the one shape of `Anomaly.drivers`, whatever raised it
    (the pages and the API read these four fields of every anomaly)."""

    dimension: str
    value: str
    delta: Decimal
    share: Decimal  # of the whole increase

    def as_dict(self) -> dict:
        return {"dimension": self.dimension, "value": self.value, "delta": str(self.delta), "share": str(self.share)}

    @classmethod
    def from_dict(cls, raw: dict) -> Driver:
        return cls(str(raw["dimension"]), str(raw["value"]), Decimal(raw["delta"]), Decimal(raw["share"]))


def drivers(
    today: dict[tuple[str, str], Decimal], typical: dict[tuple[str, str], Decimal], *, increase: Decimal, top: int = 3
) -> list[Driver]:
    """For each dimension, the values whose spend grew most against their typical day.

    `today` and `typical` map (dimension, value) to spend; shares are of `increase`, the
    subject's total increase, so "91% of the increase from model claude-opus-4-1" reads off
    directly. Returns the largest first.
    """
    if increase <= 0:
        return []
    found = []
    for key in today.keys() | typical.keys():
        delta = today.get(key, Decimal(0)) - typical.get(key, Decimal(0))
        if delta > 0:
            found.append(Driver(key[0], key[1] or "(none)", delta, min(delta / increase, Decimal(1))))
    found.sort(key=lambda d: (-d.delta, d.dimension, d.value))
    per_dimension: dict[str, int] = {}
    result = []
    for driver in found:
        if per_dimension.get(driver.dimension, 0) < top:
            per_dimension[driver.dimension] = per_dimension.get(driver.dimension, 0) + 1
            result.append(driver)
    return result
