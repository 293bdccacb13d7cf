from __future__ import annotations

from django.conf import settings
from django.core import mail

from apps.insights.models import Opportunity
from apps.insights.tasks import find_savings, send_savings_digest
from attribution_site.celery import app as celery_app
from tests.factories import OpportunityFactory

from .usage import weekday_noon


def test_beat_runs_the_detectors_daily_and_the_digest_weekly():
    tasks = {settings.CELERY_BEAT_SCHEDULE[name]["task"] for name in ("find-savings", "savings-digest")}

    celery_app.loader.import_default_modules()
    assert tasks == {"insights.find_savings", "insights.send_savings_digest"}
    assert tasks <= set(celery_app.tasks)


def test_the_daily_task_stores_what_the_detectors_find(usage, team):
    # Working hours on a weekday, so only the routing lever applies (a weekend day adds batch).
    usage.add(team, weekday_noon(3), times=100, feature="classify")
    usage.flush()

    assert find_savings.delay().get() == 1
    assert list(Opportunity.objects.values_list("lever", "team", "feature")) == [("routing", team.pk, "classify")]


def test_the_weekly_task_sends_the_digests(team, lead):
    OpportunityFactory(team=team)

    assert send_savings_digest.delay().get() == 1
    assert mail.outbox[0].to == [lead.email]
