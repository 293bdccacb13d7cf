"""Celery beat's schedule, run in-process: the embedded default has no broker and no beat, but its
budget checks, anomaly detection and refreshes must run all the same (`manage.py run_periodic`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery.schedules import schedule as interval

from attribution_site.celery import app

log = logging.getLogger(__name__)


class PeriodicRunner:
    """Runs each entry of a beat schedule when it is due. Interval entries run at once on start
    (so a fresh `make run` checks spend straight away), calendar ones (crontab) at their time."""

    def __init__(self, beat_schedule: dict, *, now: datetime):
        app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them
        self.entries = {}
        self.last_run: dict[str, datetime] = {}
        for name, entry in beat_schedule.items():
            when = entry["schedule"]
            if isinstance(when, int | float | timedelta):
                when = interval(when if isinstance(when, timedelta) else timedelta(seconds=when), app=app)
                self.last_run[name] = now - when.run_every
            else:
                self.last_run[name] = now
            self.entries[name] = (entry["task"], when)

    def due(self, *, now: datetime) -> list[str]:
        return [name for name, (_task, when) in self.entries.items() if self._is_due(when, self.last_run[name], now)]

    @staticmethod
    def _is_due(when, last_run: datetime, now: datetime) -> bool:
        if isinstance(when, interval):
            return now - last_run >= when.run_every
        return when.is_due(last_run).is_due  # a crontab knows its own calendar (on the real clock)

    def run_due(self, *, now: datetime) -> list[str]:
        """Run every entry due at `now`, in this process; a failing task is logged, not fatal."""
        ran = self.due(now=now)
        for name in ran:
            task, _ = self.entries[name]
            self.last_run[name] = now
            result = app.tasks[task].apply()
            if result.failed():
                log.error("periodic task %s failed: %s", task, result.result)
        return ran
