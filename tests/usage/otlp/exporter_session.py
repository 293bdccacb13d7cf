"""The real OTLP exporter's HTTP session, keeping the server's answer to each export."""

from __future__ import annotations

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse


class AnswersSession(requests.Session):
    """A requests session that parses every export answer, so a test can read its partial success."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[ExportTraceServiceResponse] = []
        self.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args, **kwargs) -> None:
        assert response.status_code == 200, response.content
        answer = ExportTraceServiceResponse()
        answer.ParseFromString(response.content)
        self.answers.append(answer)

    @property
    def rejected_spans(self) -> int:
        return sum(answer.partial_success.rejected_spans for answer in self.answers)

    @property
    def error_messages(self) -> list[str]:
        return [answer.partial_success.error_message for answer in self.answers if answer.partial_success.error_message]
