"""Reading an OTLP/HTTP export body: gzip or deflate, then protobuf or OTLP/JSON."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# zlib's window bits: 16 + 15 reads a gzip member, 15 a zlib stream (HTTP's "deflate").
WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ID_FIELDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


class BodyUnreadable(Exception):
    """A body that is not an export request (answered 400)."""


class BodyTooLarge(Exception):
    """A body over the limit once decompressed (answered 413)."""


class EncodingUnsupported(Exception):
    """A content type or content encoding OTLP/HTTP does not use (answered 415)."""


def media_type(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in (PROTOBUF, JSON):
        raise EncodingUnsupported(f"Content-Type must be {PROTOBUF} or {JSON}, not {content_type[:60]!r}.")
    return media


def body_decompress(body: bytes, *, content_encoding: str, limit: int) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in WINDOW_BITS:
        raise EncodingUnsupported(f"Content-Encoding must be gzip, deflate or identity, not {encoding[:40]!r}.")
    # Bounded output: a small compressed body must not expand past the limit in memory.
    decompressor = zlib.decompressobj(WINDOW_BITS[encoding])
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BodyUnreadable(f"The body is not valid {encoding} data: {exc}.") from None
    if len(data) > limit:
        raise BodyTooLarge(f"The body is larger than {limit} bytes once decompressed; send smaller batches.")
    if not decompressor.eof:
        raise BodyUnreadable(f"The {encoding} body is truncated.")
    return data


def _hex_ids_to_base64(node: Any, path: str) -> None:
    """OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _hex_ids_to_base64(item, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ID_FIELDS and isinstance(value, str):
            try:
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise BodyUnreadable(f"{path}.{key} must be a hex string, not {value[:40]!r}.") from None
        elif isinstance(value, dict | list):
            _hex_ids_to_base64(value, f"{path}.{key}")


def request_parse(data: bytes, *, media: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if media == PROTOBUF:
        try:
            request.ParseFromString(data)
        except DecodeError as exc:
            raise BodyUnreadable(f"The body is not an ExportTraceServiceRequest in protobuf: {exc}.") from None
        return request
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BodyUnreadable(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise BodyUnreadable("The body must be a JSON object with a resourceSpans list.")
    try:
        _hex_ids_to_base64(payload, "$")
        # Unknown fields are ignored, as OTLP/JSON receivers must.
        json_format.ParseDict(payload, request, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error) as exc:
        raise BodyUnreadable(f"The body is not an OTLP/JSON export request: {exc}.") from None
    except RecursionError:
        raise BodyUnreadable("The body is nested too deeply to be an export request.") from None
    return request
