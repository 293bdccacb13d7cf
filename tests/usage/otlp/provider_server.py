"""A fake OpenAI and Anthropic API on loopback: fixed usage, a new response id per call, streaming too."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
# OpenAI counts cached tokens inside prompt_tokens.
OPENAI_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 200},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
# Anthropic's input_tokens leaves out the cache reads and writes; the writes are split by lifetime.
ANTHROPIC_USAGE = {
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_read_input_tokens": 1000,
    "cache_creation_input_tokens": 200,
    "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150},
}


class ProviderHandler(BaseHTTPRequestHandler):
    ids = itertools.count(1)
    # The output count of a stream's message_start, which message_delta's replaces (the API sends 1).
    start_output_tokens = 0

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        number = next(self.ids)
        if self.path.endswith("/chat/completions"):
            self._openai(request, f"chatcmpl-{number}")
        elif self.path.endswith("/messages"):
            self._anthropic(request, f"msg_{number:04d}")
        else:
            self.send_error(404)

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, dict | str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            self.wfile.write((f"event: {name}\n" if name else "").encode() + f"data: {text}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _openai(self, request: dict, response_id: str) -> None:
        base = {"id": response_id, "created": 1764000000, "model": OPENAI_MODEL, "system_fingerprint": "fp_1"}
        if not request.get("stream"):
            message = {"role": "assistant", "content": "Hello."}
            choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
            self._json({**base, "object": "chat.completion", "choices": [choice], "usage": OPENAI_USAGE})
            return
        chunk = {**base, "object": "chat.completion.chunk"}
        delta = {"index": 0, "delta": {"role": "assistant", "content": "Hello."}, "finish_reason": None}
        done = {"index": 0, "delta": {}, "finish_reason": "stop"}
        events = [(None, {**chunk, "choices": [delta]}), (None, {**chunk, "choices": [done]})]
        if (request.get("stream_options") or {}).get("include_usage"):
            events.append((None, {**chunk, "choices": [], "usage": OPENAI_USAGE}))
        self._sse([*events, (None, "[DONE]")])

    def _anthropic(self, request: dict, response_id: str) -> None:
        message = {
            "id": response_id,
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "stop_reason": "end_turn",
            "stop_sequence": None,
        }
        if not request.get("stream"):
            content = [{"type": "text", "text": "Hello."}]
            self._json({**message, "content": content, "usage": ANTHROPIC_USAGE})
            return
        usage = {**ANTHROPIC_USAGE, "output_tokens": self.start_output_tokens}
        start = {**message, "stop_reason": None, "content": [], "usage": usage}
        text = {"type": "text_delta", "text": "Hello."}
        end = {"stop_reason": "end_turn", "stop_sequence": None}
        events = [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": text},
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": end, "usage": {"output_tokens": ANTHROPIC_USAGE["output_tokens"]}},
            {"type": "message_stop"},
        ]
        self._sse([(event["type"], event) for event in events])


class ProviderServer:
    """Serves on 127.0.0.1 at a free port until stopped; `url` is its base URL."""

    def __init__(self, *, start_output_tokens: int = 0):
        # Response ids count from 1 for each server.
        handler = type(
            "Handler", (ProviderHandler,), {"ids": itertools.count(1), "start_output_tokens": start_output_tokens}
        )
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ProviderServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
