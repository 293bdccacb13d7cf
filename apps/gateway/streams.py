"""Server-sent events relayed as they arrive: split, read for usage, forwarded (or held back)."""

from __future__ import annotations

import orjson

from .usage import CallUsage

# The event that ends each stream: the call's event is made durable before the client receives it.
TERMINAL_TYPES = {
    "message_stop",
    "response.completed",
    "response.failed",
    "response.incomplete",
    "image_generation.completed",
    "image_edit.completed",
    "transcript.text.done",
    "speech.audio.done",
}


def sse_next(buffer: bytes) -> tuple[bytes, bytes] | None:
    """(first complete event with its blank line, rest), or None while the event is incomplete."""
    ends = [(i, len(sep)) for sep in (b"\n\n", b"\r\n\r\n") if (i := buffer.find(sep)) >= 0]
    if not ends:
        return None
    index, length = min(ends)
    return buffer[: index + length], buffer[index + length :]


def sse_data(event: bytes) -> bytes:
    lines = [line[5:].removeprefix(b" ") for line in event.splitlines() if line.startswith(b"data:")]
    return b"\n".join(lines)


class StreamReader:
    """Reads each event's data into `call`; says which to hide and which one ends the stream."""

    def __init__(self, call: CallUsage, *, hide_usage: bool) -> None:
        self.call = call
        self.hide_usage = hide_usage

    def read(self, event: bytes) -> tuple[bool, bool]:
        """(hide it from the client, it is the terminal event)."""
        data = sse_data(event)
        if not data:
            return False, False
        if data == b"[DONE]":
            return False, True
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return False, False
        self.call.stream_event_read(parsed)
        if not isinstance(parsed, dict):
            return False, False
        # The usage chunk the gateway asked for on the client's behalf: `choices` empty, usage set.
        hide = self.hide_usage and parsed.get("choices") == [] and isinstance(parsed.get("usage"), dict)
        return hide, parsed.get("type") in TERMINAL_TYPES
