"""POST /otlp/v1/traces: the OTLP/HTTP traces endpoint, answered in the request's own encoding."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from apps.usage.keys import api_key_lookup
from attribution_site.exceptions import DATABASE_RETRY_AFTER_SECONDS

from .decoding import (
    JSON,
    PROTOBUF,
    BodyTooLarge,
    BodyUnreadable,
    EncodingUnsupported,
    body_decompress,
    media_type,
    request_parse,
)
from .services import spans_ingest

# The partial_success message names this many unusable spans, then counts the rest.
MESSAGE_PROBLEMS = 10


def _reply(message: Message, *, media: str, status: int = 200) -> HttpResponse:
    if media == PROTOBUF:
        return HttpResponse(message.SerializeToString(), status=status, content_type=PROTOBUF)
    return HttpResponse(json_format.MessageToJson(message, indent=None), status=status, content_type=JSON)


def _error(text: str, *, media: str, status: int) -> HttpResponse:
    """OTLP answers failures with a google.rpc.Status whose message says what went wrong."""
    response = _reply(Status(code=status, message=text), media=media, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _problems_message(problems: list[str]) -> str:
    text = "; ".join(problems[:MESSAGE_PROBLEMS])
    if len(problems) > MESSAGE_PROBLEMS:
        text += f"; and {len(problems) - MESSAGE_PROBLEMS} more unusable spans"
    return text


@csrf_exempt
@require_POST
def traces_export(request: HttpRequest) -> HttpResponse:
    content_type = request.headers.get("Content-Type", "")
    try:
        media, unsupported = media_type(content_type), None
    except EncodingUnsupported as exc:
        media, unsupported = JSON, exc
    try:
        return _export(request, media=media, unsupported=unsupported)
    except (OperationalError, InterfaceError):
        # OTLP exporters retry a 503 (not a 500): the spans come again once the database is back.
        response = _error("The database is unavailable; nothing was stored. Retry shortly.", media=media, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response


def _export(request: HttpRequest, *, media: str, unsupported: EncodingUnsupported | None) -> HttpResponse:
    scheme, _, raw_key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not raw_key.strip():
        return _error("Use 'Authorization: Bearer <api key>'.", media=media, status=401)
    key = api_key_lookup(raw_key.strip())
    if key is None:
        return _error("Unknown API key.", media=media, status=401)
    if key.revoked:
        return _error("This API key has been revoked.", media=media, status=403)
    if unsupported is not None:
        return _error(str(unsupported), media=media, status=415)

    limit = settings.INGEST_MAX_BODY_BYTES
    too_big = f"The body is larger than {limit} bytes; send smaller batches."
    try:
        if int(request.headers.get("Content-Length") or 0) > limit:
            return _error(too_big, media=media, status=413)
        body = request.body
    except RequestDataTooBig:
        return _error(too_big, media=media, status=413)
    except ValueError:
        return _error("Content-Length is not a number.", media=media, status=400)

    try:
        data = body_decompress(body, content_encoding=request.headers.get("Content-Encoding", ""), limit=limit)
        export = request_parse(data, media=media)
    except BodyTooLarge as exc:
        return _error(str(exc), media=media, status=413)
    except EncodingUnsupported as exc:
        return _error(str(exc), media=media, status=415)
    except BodyUnreadable as exc:
        return _error(str(exc), media=media, status=400)

    spans = sum(len(scope.spans) for resource in export.resource_spans for scope in resource.scope_spans)
    if spans > settings.OTLP_MAX_SPANS:
        return _error(
            f"{spans} spans in one request; at most {settings.OTLP_MAX_SPANS} (OTLP_MAX_SPANS). Export smaller "
            "batches (the batch span processor's max_export_batch_size, the Collector's send_batch_max_size).",
            media=media,
            status=413,
        )
    try:
        result = spans_ingest(key=key, request=export)
    except (OperationalError, InterfaceError):
        # OTLP exporters retry a 503 (not a 500): the spans come again once the database is back.
        response = _error("The database is unavailable; nothing was stored. Retry shortly.", media=media, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    response = ExportTraceServiceResponse()
    if result.rejected_spans:
        response.partial_success.rejected_spans = result.rejected_spans
        response.partial_success.error_message = _problems_message(result.problems)
    return _reply(response, media=media)
