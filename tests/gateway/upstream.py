"""A fake OpenAI and Anthropic API on loopback: real HTTP, SSE streams in chunked encoding.

It answers as the providers do (ids, models, usage in their own shapes) and keeps every request
it saw, so a test can check what the provider received, or that it received nothing.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAI_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 200},
    "completion_tokens_details": {"reasoning_tokens": 100},
}
ANTHROPIC_USAGE = {
    "input_tokens": 1000,
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 3000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 500,
    "service_tier": "standard",
}
IMAGE_USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
    "output_tokens": 4160,
    "total_tokens": 4210,
}
TRANSCRIPTION_USAGE = {"type": "tokens", "input_tokens": 120, "output_tokens": 30, "total_tokens": 150}
COMPLETIONS_USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
SPEECH_AUDIO = b"ID3fake-mp3-bytes" * 1000
RESPONSES_USAGE = {
    "input_tokens": 800,
    "input_tokens_details": {"cached_tokens": 300},
    "output_tokens": 400,
    "output_tokens_details": {"reasoning_tokens": 150},
    "total_tokens": 1200,
}


class FakeProvider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests: list[dict] = []
        self.ids = itertools.count(1)
        self.error: tuple[int, dict] | None = None  # answer the next calls with this error
        self.raw_error: tuple[int, bytes, str] | None = None  # (status, body, content type), e.g. an HTML 502
        self.delay = 0.0  # seconds to wait before answering
        self.drop = False  # close the connection instead of answering
        self.cut = False  # close the connection halfway through a JSON answer's body
        self.keep_bodies = True  # False: keep only each body's size (large uploads)
        self.response_id: str | None = None  # answer with this id instead of a fresh one
        self.chunks = 5  # content chunks per stream
        self.chunk_delay = 0.0
        # Set by the test to let the stream's last chunks go; until then the stream waits.
        self.release = threading.Event()
        self.release.set()
        self.last_chunk_sent = threading.Event()

    def next_id(self, prefix: str) -> str:
        return self.response_id or f"{prefix}{next(self.ids):04d}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeProvider

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._record(b"")
        self._json(200, {"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]})

    def do_DELETE(self) -> None:
        self._record(self._body())
        self._json(200, {"deleted": True})

    do_PUT = do_PATCH = do_DELETE

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        if self.server.delay:
            time.sleep(self.server.delay)
        if self.server.drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if self.server.raw_error is not None:
            status, data, content_type = self.server.raw_error
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.server.error is not None:
            status, error = self.server.error
            self._json(status, error)
            return
        if "multipart/form-data" in self.headers.get("content-type", ""):
            found = re.search(rb'name="model"\r\n\r\n([^\r]*)\r\n', body)
            payload = {"model": found.group(1).decode() if found else ""}
        else:
            payload = json.loads(body or b"{}") if path_of(self.path) not in UPLOADS else {}
        path = path_of(self.path)
        if path == "/v1/chat/completions":
            self._chat(payload)
        elif path == "/v1/messages":
            self._messages(payload)
        elif path == "/v1/responses":
            self._responses(payload)
        elif path == "/v1/embeddings":
            self._json(
                200,
                {
                    "object": "list",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                    "model": payload["model"],
                    "usage": {"prompt_tokens": 50, "total_tokens": 50},
                },
            )
        elif path in OTHER_ENDPOINTS:
            getattr(self, OTHER_ENDPOINTS[path])(payload)
        else:
            # What the gateway must never let through: answered as the provider would, and kept.
            self._json(200, {"id": "leaked", "object": "unknown"})

    def _record(self, body: bytes) -> None:
        kept = body if self.server.keep_bodies else len(body)
        self.server.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": kept}
        )

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if self.headers.get("openai-project"):  # as OpenAI does: the project the call billed to
            self.send_header("openai-project", self.headers["openai-project"])
        self.end_headers()
        if self.server.cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data)

    def _stream(self, events: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.server.last_chunk_sent.clear()
        for index, event in enumerate(events):
            if index == len(events) - 2:
                self.server.release.wait(timeout=10)
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
            if self.server.chunk_delay:
                time.sleep(self.server.chunk_delay)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.server.last_chunk_sent.set()

    def _chat(self, payload: dict) -> None:
        response_id = self.server.next_id("chatcmpl-")
        model = payload["model"] + "-2024-08-06"
        if not payload.get("stream"):
            self._json(
                200,
                {
                    "id": response_id,
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "service_tier": "default",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Hello"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": OPENAI_USAGE,
                },
            )
            return
        include_usage = (payload.get("stream_options") or {}).get("include_usage")
        base = {"id": response_id, "object": "chat.completion.chunk", "created": 1, "model": model}
        if include_usage:
            base["usage"] = None

        def chunk(delta: dict, finish=None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": f"word{i} "}) for i in range(self.server.chunks)]
        events.append(chunk({}, "stop"))
        if include_usage:
            events.append(b"data: " + json.dumps({**base, "choices": [], "usage": OPENAI_USAGE}).encode() + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        self._stream(events)

    def _messages(self, payload: dict) -> None:
        response_id = self.server.next_id("msg_")
        model = payload["model"]
        if not payload.get("stream"):
            self._json(
                200,
                {
                    "id": response_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": "Hello"}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": ANTHROPIC_USAGE,
                },
            )
            return

        def event(kind: str, data: dict) -> bytes:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

        start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
        message = {
            "id": response_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        events = [event("message_start", {"message": message})]
        events.append(event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}))
        events += [
            event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": f"word{i} "}})
            for i in range(self.server.chunks)
        ]
        events.append(event("content_block_stop", {"index": 0}))
        events.append(
            event(
                "message_delta",
                {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 500}},
            )
        )
        events.append(event("message_stop", {}))
        self._stream(events)

    def _responses(self, payload: dict) -> None:
        response = {
            "id": self.server.next_id("resp_"),
            "object": "response",
            "created_at": 1,
            "status": "completed",
            "model": payload["model"] + "-2025-04-14",
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
                }
            ],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": RESPONSES_USAGE,
        }
        if not payload.get("stream"):
            self._json(200, response)
            return

        def event(kind: str, data: dict, number: int) -> bytes:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': number, **data})}\n\n".encode()

        created = {**response, "status": "in_progress", "output": [], "usage": None}
        events = [event("response.created", {"response": created}, 0)]
        events += [
            event(
                "response.output_text.delta",
                {"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": f"word{i} ", "logprobs": []},
                i + 1,
            )
            for i in range(self.server.chunks)
        ]
        events.append(event("response.completed", {"response": response}, self.server.chunks + 1))
        self._stream(events)

    def _completions(self, payload: dict) -> None:
        response_id = self.server.next_id("cmpl-")
        base = {"id": response_id, "object": "text_completion", "created": 1, "model": payload["model"]}
        if not payload.get("stream"):
            choice = {"index": 0, "text": "Hello", "finish_reason": "stop", "logprobs": None}
            self._json(200, {**base, "choices": [choice], "usage": COMPLETIONS_USAGE})
            return
        events = [
            b"data: "
            + json.dumps({**base, "choices": [{"index": 0, "text": f"w{i} ", "finish_reason": None}]}).encode()
            for i in range(self.server.chunks)
        ]
        if (payload.get("stream_options") or {}).get("include_usage"):
            events.append(b"data: " + json.dumps({**base, "choices": [], "usage": COMPLETIONS_USAGE}).encode())
        self._stream([event + b"\n\n" for event in events] + [b"data: [DONE]\n\n"])

    def _images(self, payload: dict) -> None:
        usage = {"usage": IMAGE_USAGE} if payload.get("model", "").startswith("gpt-image") else {}
        if payload.get("stream"):
            partial = {"type": "image_generation.partial_image", "b64_json": "aGk=", "partial_image_index": 0}
            done = {
                "type": "image_generation.completed",
                "b64_json": "aGk=",
                "created_at": 1,
                "background": "opaque",
                "output_format": "png",
                "quality": "low",
                "size": "1024x1024",
                **usage,
            }
            self._stream([f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in (partial, done)])
            return
        self._json(200, {"created": 1, "data": [{"b64_json": "aGk="}], **usage})

    def _speech(self, payload: dict) -> None:
        self.send_response(200)
        self.send_header("content-type", "audio/mpeg")
        self.send_header("content-length", str(len(SPEECH_AUDIO)))
        self.end_headers()
        self.wfile.write(SPEECH_AUDIO)

    def _transcription(self, payload: dict) -> None:
        if payload["model"] == "whisper-1":
            self._json(200, {"text": "Hello", "usage": {"type": "duration", "seconds": 7}})
        else:
            self._json(200, {"text": "Hello", "usage": TRANSCRIPTION_USAGE})

    def _moderation(self, payload: dict) -> None:
        result = {"flagged": False, "categories": {}, "category_scores": {}, "category_applied_input_types": {}}
        self._json(
            200, {"id": self.server.next_id("modr-"), "model": "omni-moderation-2024-09-26", "results": [result]}
        )

    def _count_tokens(self, payload: dict) -> None:
        self._json(200, {"input_tokens": 42})


UPLOADS = {"/v1/files", "/v1/uploads"}


def path_of(target: str) -> str:
    return target.split("?")[0]


# The recorded endpoints beyond chat, messages, responses and embeddings → their handler.
OTHER_ENDPOINTS = {
    "/v1/completions": "_completions",
    "/v1/images/generations": "_images",
    "/v1/images/edits": "_images",
    "/v1/images/variations": "_images",
    "/v1/audio/speech": "_speech",
    "/v1/audio/transcriptions": "_transcription",
    "/v1/audio/translations": "_transcription",
    "/v1/moderations": "_moderation",
    "/v1/messages/count_tokens": "_count_tokens",
}


def fake_provider_start() -> FakeProvider:
    server = FakeProvider()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
