"""Writes: storing what the detectors find, the lifecycle, realised savings and the weekly digest."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.org.models import Team, TeamMembership
from apps.pricing.fields import NANO
from apps.pricing.money import CENT, usd

from .detectors import Finding, all_detectors
from .models import Opportunity, SavingsSettings
from .repricing import MONTH_DAYS
from .selectors import scope_unit_cost

MEASURE_DAYS = 14


class LifecycleError(Exception):
    """A status change the opportunity's current status does not allow."""


@transaction.atomic
def opportunities_refresh(*, today: date | None = None) -> list[Opportunity]:
    """Run every detector over the 28 days before `today` and store what they find.

    A finding updates its row (one per lever and scope), except a done one, whose estimate stays
    beside its realised saving. An open row not found again is deleted;
    accepted, done and dismissed rows are kept. A dismissed row stays dismissed unless its
    saving has at least doubled since it was dismissed, when it is opened again.
    """
    today = today or timezone.now().date()
    SavingsSettings.current()
    # Two runs at once (beat and the command) would insert the same fingerprints: the second
    # waits on the settings row and then updates what the first stored.
    config = SavingsSettings.objects.select_for_update().get(pk=1)
    findings: list[Finding] = [f for detect in all_detectors() for f in detect(today, config)]
    existing = {o.fingerprint: o for o in Opportunity.objects.filter(fingerprint__in=[f.fingerprint for f in findings])}
    stored = []
    for f in findings:
        row = existing.get(f.fingerprint) or Opportunity(fingerprint=f.fingerprint, first_found=today)
        if row.status == Opportunity.Status.DONE:
            continue  # its estimate stays the one the fix was made on, beside the realised saving
        for name, value in f.opportunity_fields().items():
            setattr(row, name, value)
        row.last_found = today
        if row.status == Opportunity.Status.DISMISSED and _cents(f.monthly_saving) >= _cents(2 * row.dismissed_saving):
            row.status = Opportunity.Status.OPEN
        row.save()
        stored.append(row)
    Opportunity.objects.filter(status=Opportunity.Status.OPEN).exclude(
        fingerprint__in=[f.fingerprint for f in findings]
    ).delete()
    opportunities_measure(today=today)
    return stored


def _cents(amount: Decimal) -> Decimal:
    # Monthly figures are rounded to the nano: twice a saving may differ from the doubled one there.
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


ACCEPT_DAYS = 30  # the due date an acceptance gets when the lead names none


def opportunity_accept(*, opportunity: Opportunity, owner, due_on: date | None = None) -> Opportunity:
    """The lead who accepts owns it, until `due_on` (30 days from today unless given)."""
    if opportunity.lever == Opportunity.Lever.UNIT_COST_DRIFT:
        raise LifecycleError("Unit-cost drift is an alert to look into, not a saving: dismiss it once explained.")
    if opportunity.status not in (Opportunity.Status.OPEN, Opportunity.Status.ACCEPTED):
        raise LifecycleError(f"A {opportunity.status} opportunity cannot be accepted.")
    today = timezone.now().date()
    if due_on is not None and due_on < today:
        raise LifecycleError(f"due_on: {due_on} has passed; give a day from today on.")
    opportunity.status, opportunity.owner, opportunity.accepted_at = Opportunity.Status.ACCEPTED, owner, timezone.now()
    opportunity.due_on = due_on or today + timedelta(days=ACCEPT_DAYS)
    opportunity.save(update_fields=["status", "owner", "accepted_at", "due_on"])
    return opportunity


def opportunity_dismiss(*, opportunity: Opportunity, reason: str) -> Opportunity:
    if not reason.strip():
        raise LifecycleError("Give a reason for dismissing it.")
    if opportunity.status == Opportunity.Status.DONE:
        raise LifecycleError("A done opportunity cannot be dismissed.")
    opportunity.status, opportunity.dismissed_reason = Opportunity.Status.DISMISSED, reason.strip()
    opportunity.dismissed_saving = opportunity.monthly_saving
    opportunity.save(update_fields=["status", "dismissed_reason", "dismissed_saving"])
    return opportunity


def opportunity_undismiss(*, opportunity: Opportunity) -> Opportunity:
    """Undo a dismissal: the opportunity is open again, its reason cleared."""
    if opportunity.status != Opportunity.Status.DISMISSED:
        raise LifecycleError(f"A {opportunity.status} opportunity is not dismissed.")
    opportunity.status, opportunity.dismissed_reason, opportunity.dismissed_saving = Opportunity.Status.OPEN, "", None
    opportunity.save(update_fields=["status", "dismissed_reason", "dismissed_saving"])
    return opportunity


def opportunity_done(*, opportunity: Opportunity, at=None) -> Opportunity:
    if opportunity.status != Opportunity.Status.ACCEPTED:
        raise LifecycleError("Accept an opportunity (give it an owner) before marking it done.")
    opportunity.status, opportunity.done_at = Opportunity.Status.DONE, at or timezone.now()
    opportunity.save(update_fields=["status", "done_at"])
    return opportunity


def opportunity_measure(*, opportunity: Opportunity) -> Opportunity:
    """Unit cost (billed cost per request) of the scope over the 14 days before it was done against
    the 14 days after; the realised monthly saving is the difference at the after-period's volume."""
    done_day = opportunity.done_at.date()
    cost_before, requests_before = scope_unit_cost(
        opportunity=opportunity, start=done_day - timedelta(days=MEASURE_DAYS), end=done_day - timedelta(days=1)
    )
    cost_after, requests_after = scope_unit_cost(
        opportunity=opportunity, start=done_day + timedelta(days=1), end=done_day + timedelta(days=MEASURE_DAYS)
    )
    if not requests_before or not requests_after:
        return opportunity
    before, after = cost_before / requests_before, cost_after / requests_after
    opportunity.before_unit_cost = before.quantize(NANO, rounding=ROUND_HALF_EVEN)
    opportunity.after_unit_cost = after.quantize(NANO, rounding=ROUND_HALF_EVEN)
    opportunity.realised_monthly_saving = ((before - after) * requests_after * MONTH_DAYS / MEASURE_DAYS).quantize(
        NANO, rounding=ROUND_HALF_EVEN
    )
    opportunity.measured_on = done_day + timedelta(days=MEASURE_DAYS + 1)
    opportunity.save(update_fields=["before_unit_cost", "after_unit_cost", "realised_monthly_saving", "measured_on"])
    return opportunity


def opportunities_measure(*, today: date) -> int:
    """Measure every done opportunity whose 14 days after are complete and not yet measured."""
    due = Opportunity.objects.filter(
        status=Opportunity.Status.DONE,
        measured_on__isnull=True,
        done_at__date__lte=today - timedelta(days=MEASURE_DAYS + 1),
    )
    return sum(1 for o in due if opportunity_measure(opportunity=o).measured_on)


def savings_digest_send() -> int:
    """Email each team's leads their three largest open or accepted opportunities; returns emails sent."""
    sent = 0
    live = [Opportunity.Status.OPEN, Opportunity.Status.ACCEPTED]
    for team in Team.objects.order_by("slug"):
        found = Opportunity.objects.filter(team=team, status__in=live).exclude(lever=Opportunity.Lever.UNIT_COST_DRIFT)
        top = list(found.order_by("-monthly_saving")[:3])
        leads = (
            get_user_model()
            .objects.exclude(email="")
            .filter(team_memberships__team=team, team_memberships__role=TeamMembership.Role.LEAD)
        )
        recipients = sorted(set(leads.values_list("email", flat=True)))
        if not top or not recipients:
            continue
        lines = [f"{i}. {usd(o.monthly_saving)} a month — {o.sentence}" for i, o in enumerate(top, 1)]
        send_mail(
            subject=f"[LLM spend] {team.name}: top savings this week",
            message="Your team's largest savings opportunities:\n\n" + "\n".join(lines),
            from_email=None,
            recipient_list=recipients,
        )
        sent += 1
    return sent
