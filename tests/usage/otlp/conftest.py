"""Fixtures of the OTLP tests: posting export requests to /otlp/v1/traces."""

from __future__ import annotations

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.factories import ModelPriceFactory

OTLP_URL = "/otlp/v1/traces"
PROTOBUF = "application/x-protobuf"


@pytest.fixture
def gpt_price(db):
    """openai/gpt-4o-mini: $0.15 in, $0.60 out, $0.075 cache read per million."""
    return ModelPriceFactory(
        provider="openai",
        model="gpt-4o-mini",
        input_per_mtok="0.15",
        output_per_mtok="0.60",
        cache_read_per_mtok="0.075",
        cache_write_per_mtok="0",
        cache_write_1h_per_mtok="0",
    )


@pytest.fixture
def export(api_key):
    """POST an export request as protobuf with the search team's key; the response."""

    def export(request: ExportTraceServiceRequest, *, key: str | None = None, **headers):
        return Client().post(
            OTLP_URL,
            request.SerializeToString(),
            content_type=PROTOBUF,
            headers={"Authorization": f"Bearer {key or api_key.raw_key}", **headers},
        )

    return export
