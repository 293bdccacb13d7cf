"""Webhook delivery over real HTTP to receivers started by the test: good, failing and slow."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail

from apps.budgets import services
from apps.budgets.models import Alert, Delivery
from apps.budgets.services import alert_raise, deliveries_resend_stalled, delivery_send
from apps.budgets.tasks import deliver
from tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db

MESSAGE = "Search has used 80% of its 2026-11 budget: $85.00 of $100.00."


@pytest.fixture
def raise_alert(django_capture_on_commit_callbacks, team):
    """Raise a team alert and run the deliveries it queues on commit (eagerly, one task each)."""

    def run(*, team=team, period: str = "2026-11@80%") -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            return alert_raise(
                kind=Alert.Kind.THRESHOLD, subject=f"team:{team.slug}", period=period, team=team, message=MESSAGE
            )

    return run


def _webhook_delivery(alert: Alert) -> Delivery:
    return alert.deliveries.get(channel=Delivery.Channel.WEBHOOK)


def test_a_webhook_receives_the_alert_as_slack_compatible_json(receiver, raise_alert):
    good = receiver()
    WebhookFactory(url=good.url)

    raise_alert()

    assert good.requests == [{"path": "/hook", "content_type": "application/json", "body": {"text": MESSAGE}}]


def test_a_delivered_webhook_is_recorded_as_sent(receiver, raise_alert):
    WebhookFactory(url=receiver().url)

    delivery = _webhook_delivery(raise_alert())

    assert (delivery.status, delivery.attempts, delivery.last_error) == (Delivery.Status.SENT, 1, "")
    assert delivery.sent_at is not None


def test_an_organisation_webhook_gets_every_teams_alerts_and_a_team_webhook_only_its_own(
    receiver, raise_alert, team, other_team
):
    everything, search_only, billing_only = receiver(), receiver(), receiver()
    WebhookFactory(url=everything.url)
    WebhookFactory(url=search_only.url, team=team)
    WebhookFactory(url=billing_only.url, team=other_team)

    raise_alert()

    assert (len(everything.requests), len(search_only.requests), len(billing_only.requests)) == (1, 1, 0)


def test_an_inactive_webhook_gets_nothing(receiver, raise_alert):
    paused = receiver()
    WebhookFactory(url=paused.url, is_active=False)

    alert = raise_alert()

    assert paused.requests == []
    assert not alert.deliveries.filter(channel=Delivery.Channel.WEBHOOK).exists()


def test_a_failing_receivers_attempt_is_recorded_with_its_error(receiver, raise_alert):
    WebhookFactory(url=receiver(500).url)

    delivery = _webhook_delivery(raise_alert())

    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.last_error == "HTTPError: HTTP Error 500: Internal Server Error"


def test_a_delivery_fails_after_the_last_allowed_attempt(settings, receiver, raise_alert):
    settings.ALERT_DELIVERY_ATTEMPTS = 3
    failing = receiver(500)
    WebhookFactory(url=failing.url)
    delivery = _webhook_delivery(raise_alert())

    # The first attempt ran on commit; each further task run is one retry.
    assert deliver.delay(delivery.pk).get() == Delivery.Status.PENDING
    assert deliver.delay(delivery.pk).get() == Delivery.Status.FAILED

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(failing.requests)) == (Delivery.Status.FAILED, 3, 3)
    assert "HTTP Error 500" in delivery.last_error


def test_a_failed_delivery_is_not_tried_again(settings, receiver, raise_alert):
    settings.ALERT_DELIVERY_ATTEMPTS = 1
    failing = receiver(500)
    WebhookFactory(url=failing.url)
    delivery = _webhook_delivery(raise_alert())

    assert deliver.delay(delivery.pk).get() == Delivery.Status.FAILED
    assert len(failing.requests) == 1


def test_a_sent_delivery_is_not_sent_again(receiver, raise_alert):
    good = receiver()
    WebhookFactory(url=good.url)
    delivery = _webhook_delivery(raise_alert())

    assert deliver.delay(delivery.pk).get() == Delivery.Status.SENT
    assert len(good.requests) == 1


def test_a_slow_receiver_times_out_quickly_and_is_recorded_as_a_failed_attempt(settings, receiver, raise_alert, lead):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    WebhookFactory(url=receiver(delay=10).url)

    started = time.monotonic()
    delivery = _webhook_delivery(raise_alert())

    assert time.monotonic() - started < 3
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert "timed out" in delivery.last_error


def test_a_webhook_that_times_out_does_not_block_anything_else(settings, receiver, raise_alert, lead):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    WebhookFactory(url=receiver(delay=10).url)
    good = receiver()
    WebhookFactory(url=good.url)

    alert = raise_alert()

    statuses = {(d.channel, d.target): d.status for d in alert.deliveries.all()}
    assert statuses[("email", lead.email)] == Delivery.Status.SENT
    assert statuses[("webhook", good.url)] == Delivery.Status.SENT
    assert sorted(statuses.values()) == [Delivery.Status.PENDING, Delivery.Status.SENT, Delivery.Status.SENT]
    assert [m.body for m in mail.outbox] == [MESSAGE]
    assert len(good.requests) == 1


def test_an_unreachable_webhook_is_recorded_as_a_failed_attempt(raise_alert):
    WebhookFactory(url="http://127.0.0.1:9/hook")  # the discard port: nothing listens

    delivery = _webhook_delivery(raise_alert())

    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert "Connection refused" in delivery.last_error


def test_a_receiver_answering_garbage_is_recorded_as_a_failed_attempt(receiver, raise_alert, lead):
    WebhookFactory(url=receiver(garbage=True).url)

    alert = raise_alert()

    delivery = _webhook_delivery(alert)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.last_error.startswith("BadStatusLine")
    assert alert.deliveries.get(channel=Delivery.Channel.EMAIL).status == Delivery.Status.SENT


def test_tag_values_reach_slack_as_text_not_as_mentions_or_links(receiver, django_capture_on_commit_callbacks, team):
    hook = receiver()
    WebhookFactory(url=hook.url)

    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(
            kind=Alert.Kind.ANOMALY,
            subject="agent:x",
            period="2026-11-30",
            team=team,
            message="agent `<!channel>` & co",
        )

    assert hook.requests[0]["body"] == {"text": "agent `&lt;!channel&gt;` &amp; co"}


def test_a_delivery_whose_task_was_lost_is_sent_by_the_next_check(receiver, team):
    hook = receiver()
    WebhookFactory(url=hook.url)
    alert = alert_raise(  # its on-commit tasks never run: the broker was down
        kind=Alert.Kind.THRESHOLD, subject="team:search", period="2026-11@80%", team=team, message=MESSAGE
    )

    assert deliveries_resend_stalled(now=alert.created_at + timedelta(seconds=30)) == []
    deliveries_resend_stalled(now=alert.created_at + timedelta(minutes=2))

    assert _webhook_delivery(alert).status == Delivery.Status.SENT
    assert len(hook.requests) == 1


def test_a_failed_attempt_is_resent_once_its_backoff_has_run_out(settings, receiver, raise_alert):
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    flaky = receiver(500, 200)
    WebhookFactory(url=flaky.url)
    delivery = _webhook_delivery(raise_alert())
    assert delivery.status == Delivery.Status.PENDING

    assert deliveries_resend_stalled(now=delivery.last_attempt_at + timedelta(seconds=60)) == []
    deliveries_resend_stalled(now=delivery.last_attempt_at + timedelta(seconds=91))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(flaky.requests)) == (Delivery.Status.SENT, 2, 2)


def test_of_two_tasks_holding_the_same_pending_delivery_only_the_first_to_claim_it_sends(
    receiver, django_capture_on_commit_callbacks, team, monkeypatch
):
    """A retry and a resend may both load a delivery before either attempts it: the attempt is
    claimed by a conditional update, so the later task finds its copy stale and sends nothing."""
    good = receiver()
    WebhookFactory(url=good.url)
    with django_capture_on_commit_callbacks(execute=False):  # the deliveries are not sent yet
        alert = alert_raise(kind=Alert.Kind.THRESHOLD, subject="team:search", period="p", team=team, message=MESSAGE)
    delivery = _webhook_delivery(alert)
    held_by_second_task = Delivery.objects.select_related("alert").get(pk=delivery.pk)

    assert delivery_send(delivery_id=delivery.pk) == Delivery.Status.SENT
    monkeypatch.setattr(
        services.Delivery.objects, "select_related", lambda *fields: SimpleNamespace(get=lambda pk: held_by_second_task)
    )
    assert delivery_send(delivery_id=delivery.pk) == Delivery.Status.PENDING  # it lost the claim

    assert len(good.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 1)
