"""Synthetic usage events of one workload on one day: seasonality, growth, traces, customers, caching.

Pure functions of (workload, day, first day, now, seed, scale): building the demo again with the
same arguments gives the same events with the same ids, which ingestion then counts as duplicates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from .company import ANTHROPIC, CustomerSpec, Workload

WEEKDAY_FACTOR = (0.95, 1.0, 1.0, 1.0, 0.9, 1.0, 0.9)  # Monday first; Saturday and Sunday also get `weekend`
TAIL_FACTOR = 25  # a planted tail call's output or input against the workload's usual
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class CustomerPicker:
    ids: tuple[str, ...]
    cum_weights: tuple[float, ...]

    @classmethod
    def of(cls, customers: list[CustomerSpec]) -> CustomerPicker:
        return cls(tuple(c.external_id for c in customers), tuple(accumulate(c.weight for c in customers)))

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.ids, cum_weights=self.cum_weights)[0]


@dataclass(frozen=True)
class _Task:
    start: datetime
    calls: int
    trace_id: str
    id_prefix: str  # event ids are the prefix plus the call's number within it
    first_number: int = 0
    first_step: int = 0  # a looping agent's task continues across hours


def _stochastic_round(value: float, rng: random.Random) -> int:
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


def _daily_tasks(workload: Workload, day: date, first_day: date, scale: float, rng: random.Random) -> list[_Task]:
    factor = WEEKDAY_FACTOR[day.weekday()] * (workload.weekend if day.weekday() >= 5 else 1.0)
    growth = (1 + workload.growth) ** ((day - first_day).days / 30)
    noise = max(0.5, rng.gauss(1, 0.08))
    low, high = workload.steps
    tasks_expected = workload.calls_per_day * factor * growth * scale * noise / ((low + high) / 2)
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    hours = rng.choices(range(24), weights=workload.hours, k=_stochastic_round(tasks_expected, rng))
    prefix = f"demo-{workload.name}-{day:%Y%m%d}"
    tasks, number = [], 0
    for i, hour in enumerate(sorted(hours)):
        calls = rng.randint(low, high)
        start = midnight + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        tasks.append(_Task(start, calls, f"{prefix}-t{i:04d}" if high > 1 else "", prefix, first_number=number))
        number += calls
    return tasks


def _hourly_calls(workload: Workload, hour_index: int, scale: float) -> int:
    """Calls in the window's nth hour; an escalating loop climbs from half to one and a half times `per_hour`."""
    factor = 0.5 + hour_index / workload.last_hours if workload.escalates else 1.0
    return max(1, round(workload.per_hour * scale * factor))


def _anomaly_tasks(workload: Workload, day: date, now: datetime, scale: float, rng: random.Random) -> list[_Task]:
    """One call after another in every hour of the day inside the anomaly's window: a loop does not sleep."""
    window_start = now.replace(minute=0, second=0, microsecond=0) - workload.last_hours * HOUR
    loop_length = workload.steps[0]
    tasks = []
    for hour in range(24):
        start = datetime.combine(day, time(hour), tzinfo=UTC)
        if not window_start <= start <= now:
            continue
        # Calls are numbered from the window's start, so a looping task runs on across hours and days.
        hour_index = int((start - window_start) / HOUR)
        first_call = sum(_hourly_calls(workload, i, scale) for i in range(hour_index))
        calls = _hourly_calls(workload, hour_index, scale)
        for n in range(calls):
            trace, step = divmod(first_call + n, loop_length)
            tasks.append(
                _Task(
                    start + timedelta(seconds=(n + rng.random()) * 3600 / calls),
                    calls=1,
                    trace_id=f"demo-{workload.name}-{window_start:%Y%m%d%H}-t{trace:04d}" if loop_length > 1 else "",
                    id_prefix=f"demo-{workload.name}-{start:%Y%m%d%H}",
                    first_number=n,
                    first_step=step,
                )
            )
    return tasks


def _call(
    workload: Workload, task: _Task, step: int, at: datetime, rng: random.Random, customer: str
) -> dict[str, Any]:
    ((provider, model),) = rng.choices([m for m, _ in workload.models], weights=[w for _, w in workload.models])
    prefix = workload.cached_prefix
    input_tokens = prefix + int(max(1, workload.input_tokens - prefix) * rng.lognormvariate(0, 0.4))
    input_tokens += step * workload.context_growth
    cache_read = cache_write = 0
    if prefix and rng.random() < workload.cache_hit:
        cache_read = prefix
    elif prefix and provider == ANTHROPIC:
        cache_write = prefix  # OpenAI caches on its own and bills no writes
    outcome = "error" if rng.random() < workload.error_rate else "success"
    output_tokens = int(workload.output_tokens * rng.lognormvariate(0, 0.5)) if outcome == "success" else 0
    # Tails draw only where planted, so every other workload's events stay as they were.
    if workload.output_tail and rng.random() < workload.output_tail and outcome == "success":
        output_tokens *= TAIL_FACTOR
    if workload.input_tail and rng.random() < workload.input_tail:
        input_tokens *= TAIL_FACTOR
    event = {
        "timestamp": at.isoformat(),
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": int(output_tokens * workload.reasoning),
        "service_tier": workload.service_tier,
        "outcome": outcome,
        "latency_ms": int(300 + output_tokens * rng.uniform(8, 20) + input_tokens * rng.uniform(0.005, 0.02)),
    }
    tags = {
        "team": workload.team,
        "product": workload.product,
        "environment": workload.environment,
        "feature": workload.feature,
        "agent": workload.agent,
        "customer": customer,
        "trace_id": task.trace_id,
    }
    event.update((name, value) for name, value in tags.items() if value)
    return event


def day_events(
    workload: Workload,
    *,
    day: date,
    first_day: date,
    now: datetime,
    seed: int,
    scale: float,
    customers: CustomerPicker,
) -> list[dict[str, Any]]:
    """The workload's calls on `day` that happened before `now`, as ingestion events."""
    rng = random.Random(f"{seed}:{workload.key}:{workload.name}:{day.isoformat()}")
    if workload.last_hours:
        tasks = _anomaly_tasks(workload, day, now, scale, rng)
    else:
        tasks = _daily_tasks(workload, day, first_day, scale, rng)
    events = []
    for task in tasks:
        customer = workload.customer or (customers.pick(rng) if workload.customers else "")
        # Drawn only where people are planted, so every other workload's events stay as they were.
        person = rng.choice(workload.people) if workload.people else ""
        at = task.start
        for n in range(task.calls):
            if n:
                at += timedelta(seconds=rng.uniform(2, 30))  # an agent's next step follows the last
            if at > now:
                break
            event = _call(workload, task, task.first_step + n, at, rng, customer)
            if workload.switched_to and at >= now - timedelta(days=workload.switched_days):
                event["provider"], event["model"] = workload.switched_to
            if workload.input_growth:
                growth = (1 + workload.input_growth) ** ((day - first_day).days / 30)
                event["input_tokens"] = int(event["input_tokens"] * growth)
            if person:
                event["person"] = person
            event["event_id"] = f"{task.id_prefix}-{task.first_number + n:05d}"
            events.append(event)
    return events
