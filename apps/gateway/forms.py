"""The few small fields of a multipart upload (audio, image edits) read as the body streams past.

The upload itself (up to GATEWAY_MAX_BODY_BYTES) is never held: a push parser sees each chunk on
its way upstream and keeps only the values of the fields named in FIELDS, each cut at VALUE_BYTES.
"""

from __future__ import annotations

import logging

from python_multipart.multipart import MultipartParser, parse_options_header

logger = logging.getLogger(__name__)

FIELDS = {"model", "stream"}
VALUE_BYTES = 256


class FormFields:
    def __init__(self, boundary: bytes) -> None:
        self.values: dict[str, str] = {}
        self._name = ""
        self._header_field = b""
        self._header_value = b""
        self._value = bytearray()
        self._broken = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    @classmethod
    def of(cls, content_type: str) -> FormFields | None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            return None
        try:
            return cls(boundary)
        except Exception:  # a boundary the parser refuses; the provider answers the body itself
            return None

    def write(self, chunk: bytes) -> None:
        if self._broken or not chunk:
            return
        try:
            self._parser.write(chunk)
        except Exception as exc:  # malformed: the provider refuses it; the call is recorded without a model
            logger.info("Multipart body not readable for its model: %r", exc)
            self._broken = True

    def _part_begin(self) -> None:
        self._name, self._value = "", bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            _, options = parse_options_header(self._header_value)
            self._name = options.get(b"name", b"").decode("latin-1")
        self._header_field, self._header_value = b"", b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name in FIELDS and len(self._value) < VALUE_BYTES:
            self._value += data[start : min(end, start + VALUE_BYTES - len(self._value))]

    def _part_end(self) -> None:
        if self._name in FIELDS:
            self.values[self._name] = self._value.decode("utf-8", "replace").strip()
