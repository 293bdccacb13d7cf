"""OTLP benchmark: spans/s over OTLP protobuf against the events API's batch rate, same events, same run.

The same synthetic events go once as events API batches and once as GenAI spans (OpenTelemetry
attributes) to a second key; after each phase the stored rows and money are checked against the
events rated with the product's own rating function.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .checks import require_equal
from .client import OTLP_PATH, PATH
from .config import Config
from .events import Totals, api_key_new, events_generate, events_rate, models_check, registry_create, totals_stored
from .ingest import PHASE_LIMIT_S, Phase, _phase
from .server import WebServer

TARGET = 0.5
TAGS = ("team", "product", "feature", "customer", "agent")
TOKENS = {
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_write_tokens": "gen_ai.usage.cache_creation.input_tokens",
    "cache_write_1h_tokens": "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
    "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens",
}


@dataclass
class OtlpFigures:
    events: int
    batch_size: int
    batch: Phase
    otlp: Phase

    @property
    def batch_rate(self) -> float:
        return self.batch.rate(self.events)

    @property
    def span_rate(self) -> float:
        return self.otlp.rate(self.events)

    @property
    def ratio(self) -> float:
        return self.span_rate / self.batch_rate


def _attribute(key: str, value: Any) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def event_span(event: dict[str, Any], rng: random.Random) -> Span:
    """The span an instrumentation would write for this call, under the current GenAI conventions."""
    end = datetime.fromisoformat(event["timestamp"])
    end_nanos = int(end.timestamp()) * 1_000_000_000 + end.microsecond * 1000
    attributes = [
        _attribute("gen_ai.operation.name", "chat"),
        _attribute("gen_ai.provider.name", event["provider"]),
        _attribute("gen_ai.request.model", event["model"]),
        _attribute("gen_ai.response.id", event["event_id"]),
        *(_attribute(name, event[field]) for field, name in TOKENS.items()),
        _attribute("gen_ai.openai.response.service_tier", event["service_tier"]),
        _attribute("deployment.environment.name", event["environment"]),
        *(_attribute(f"attribution.{tag}", event[tag]) for tag in TAGS if event.get(tag)),
    ]
    return Span(
        trace_id=rng.randbytes(16),
        span_id=rng.randbytes(8),
        name=f"chat {event['model']}",
        start_time_unix_nano=end_nanos - event["latency_ms"] * 1_000_000,
        end_time_unix_nano=end_nanos,
        attributes=attributes,
    )


def spans_body(events: list[dict[str, Any]], rng: random.Random) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_attribute("service.name", "bench"))
    resource_spans.scope_spans.add().spans.extend(event_span(e, rng) for e in events)
    return request.SerializeToString()


def _require_stored(api_key_id: int, expected: Totals, when: str) -> None:
    stored = totals_stored(api_key_id)
    for name, want in vars(expected).items():
        require_equal(getattr(stored, name), want, f"after {when}: stored {name} (vs what was sent, rated)")


def otlp_run(config: Config, env: dict[str, str]) -> OtlpFigures:
    from django.utils import timezone

    count = config.otlp_spans
    size = config.batch_size
    registry_create()
    models_check()
    batch_key_id, batch_key = api_key_new("bench-otlp-batch")
    span_key_id, span_key = api_key_new("bench-otlp-spans")
    _, warmup_key = api_key_new("bench-otlp-warmup")
    print("  generating and rating events …", flush=True)
    events = events_generate(count, seed=5, now=timezone.now())
    expected = Totals.of(events_rate(events))
    rng = random.Random(5)
    chunks = [events[i : i + size] for i in range(0, count, size)]
    batch_bodies = [orjson.dumps({"events": chunk}) for chunk in chunks]
    span_bodies = [spans_body(chunk, rng) for chunk in chunks]
    warmup = events_generate(config.workers * 200, seed=6, now=timezone.now())
    warmup_bodies = [spans_body(warmup[i : i + 100], rng) for i in range(0, len(warmup), 100)]
    del events

    with WebServer(config, env) as server:
        print(f"  gunicorn: {config.workers} {config.worker_class} workers on 127.0.0.1:{server.port}", flush=True)
        common = {"clients": config.batch_clients, "config": config, "stop_after_s": PHASE_LIMIT_S}
        # The first requests build each worker's snapshots and import the protobuf modules: not measured.
        _phase(server, "warm-up (OTLP)", api_key=warmup_key, bodies=warmup_bodies, path=OTLP_PATH, **common)
        batch = _phase(server, "events API batches", api_key=batch_key, bodies=batch_bodies, path=PATH, **common)
        require_equal(batch.load.accepted, count, "events API batches: events accepted")
        _require_stored(batch_key_id, expected, "events API batches")
        otlp = _phase(server, "OTLP protobuf exports", api_key=span_key, bodies=span_bodies, path=OTLP_PATH, **common)
        require_equal(otlp.load.requests, len(span_bodies), "OTLP exports: requests answered in time")
        _require_stored(span_key_id, expected, "OTLP exports")
    return OtlpFigures(events=count, batch_size=size, batch=batch, otlp=otlp)


def otlp_row(f: OtlpFigures, head: list[str]) -> list[str]:
    other = (f.batch.cpu.other + f.otlp.cpu.other) / (f.batch.cpu.wall + f.otlp.cpu.wall)
    return [
        *head,
        f"{other:.2f}",
        f"{f.events:,} / {f.batch_size:,}",
        f"{f.batch_rate:,.0f}",
        f"{f.span_rate:,.0f}",
        f"{f.ratio:.1%} {'✓' if f.ratio >= TARGET else '✗'}",
        f"{f.otlp.load.percentile_ms(50):.0f} / {f.otlp.load.percentile_ms(95):.0f}",
    ]


def otlp_details(f: OtlpFigures, busy_before: float) -> list[str]:
    lines = [
        f"**OpenTelemetry.** {f.events:,} events, sent once as events API batches and once as OTLP protobuf "
        f"exports of {f.batch_size:,} spans. Other load before starting: {busy_before:.2f} cores.",
        "",
        "| Phase | Seconds | Items/s | Web CPU µs / item | PostgreSQL CPU µs / item |",
        "|---|---|---|---|---|",
    ]
    for name, phase in (("events API batches", f.batch), ("OTLP protobuf exports", f.otlp)):
        web, postgres = phase.cpu_us(f.events)
        lines.append(
            f"| {name} | {phase.load.seconds:.1f} | {phase.rate(f.events):,.0f} | {web:.0f} | {postgres:.0f} |"
        )
    return [*lines, ""]
