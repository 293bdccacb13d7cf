"""Anomalies grouped into incidents: one spike seen on several dimensions reads as one row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.html import format_html, format_html_join

from apps.budgets.anomalies import Driver
from apps.budgets.models import Anomaly
from apps.budgets.selectors import anomalies_for
from apps.org.models import Team

# A dimension whose anomaly belongs to the whole organisation: spend of every team runs in it.
ORGANISATION_WIDE = {Anomaly.Dimension.ENVIRONMENT}
# A driver behind at least this share of an anomaly's increase ties its subject to the same incident.
SAME_CAUSE = Decimal("0.5")
MAX_DRIVERS = 4


@dataclass(frozen=True)
class Incident:
    anomalies: list[Anomaly]  # the broadest (largest) first

    @property
    def lead(self) -> Anomaly:
        return self.anomalies[0]

    @property
    def day(self) -> date:
        return self.lead.day

    @property
    def hour(self) -> int | None:
        return self.lead.hour

    @property
    def amount(self) -> Decimal:
        return self.lead.amount

    @property
    def baseline(self) -> Decimal:
        return self.lead.baseline

    @property
    def subjects(self) -> list[tuple[str, str]]:
        return [(a.dimension, a.subject) for a in self.anomalies]

    @property
    def also(self) -> list[tuple[str, str]]:
        """The other dimensions the same spike showed on."""
        return self.subjects[1:]

    @property
    def drivers(self) -> list[Driver]:
        """What grew, over all the incident's anomalies, without its own subjects: largest share first."""
        own = set(self.subjects)
        best: dict[tuple[str, str], Driver] = {}
        for anomaly in self.anomalies:
            for d in anomaly.driver_list:
                key = (d.dimension, d.value)
                if key not in own and (key not in best or d.share > best[key].share):
                    best[key] = d
        return sorted(best.values(), key=lambda d: (-d.share, d.dimension, d.value))[:MAX_DRIVERS]

    @property
    def summary(self):
        """The lead anomaly's explanation, its backticked names shown as names (escaped: tags are
        clients' text)."""
        parts = self.lead.explanation.split("`")
        return format_html_join(
            "", "{}", ((format_html("<strong>{}</strong>", p) if i % 2 else p,) for i, p in enumerate(parts))
        )

    @property
    def is_organisation_wide(self) -> bool:
        return any(a.dimension in ORGANISATION_WIDE or a.team_id is None for a in self.anomalies)

    @property
    def acknowledged(self) -> bool:
        return all(a.acknowledged_at for a in self.anomalies)

    @property
    def open_anomalies(self) -> list[Anomaly]:
        return [a for a in self.anomalies if not a.acknowledged_at]

    def concerns(self, team: Team) -> bool:
        """The team's own subject spiked: not merely a team named as a driver of an
        organisation-wide spike."""
        return any(a.team_id == team.id and a.dimension not in ORGANISATION_WIDE for a in self.anomalies)


def _linked(a: Anomaly, b: Anomaly) -> bool:
    def drives(driver_of: Anomaly, subject: Anomaly) -> bool:
        return any(
            d.dimension == subject.dimension and d.value == subject.subject and d.share >= SAME_CAUSE
            for d in driver_of.driver_list
        )

    return drives(a, b) or drives(b, a)


def incidents_group(anomalies: list[Anomaly]) -> list[Incident]:
    """Anomalies of one period whose subjects drive each other's increase, as one incident each."""
    by_period: dict[str, list[Anomaly]] = {}
    for anomaly in anomalies:
        by_period.setdefault(anomaly.period, []).append(anomaly)
    incidents = []
    for members in by_period.values():
        groups: list[list[Anomaly]] = []
        for anomaly in members:
            joined = [g for g in groups if any(_linked(anomaly, other) for other in g)]
            merged = [anomaly] + [a for g in joined for a in g]
            groups = [g for g in groups if g not in joined] + [merged]
        incidents += [Incident(sorted(g, key=lambda a: (-a.amount, a.dimension, a.subject))) for g in groups]
    return sorted(incidents, key=lambda i: (i.day, i.hour or 0, i.amount), reverse=True)


def incidents_for(*, team: Team | None, since: date, until: date) -> list[Incident]:
    """A team's incidents (those its own subjects spiked in), or the organisation's (team None)."""
    incidents = incidents_group(anomalies_for(team=None, since=since, until=until))
    return incidents if team is None else [i for i in incidents if i.concerns(team)]
