"""A minimal OpenAI-shaped upstream for the gateway benchmark: answers at once, JSON or a 20-chunk stream."""

from __future__ import annotations

import itertools
import os

import orjson

STREAM_CHUNKS = 20
USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 200},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
MODEL = "gpt-4o"
_ids = itertools.count()
_prefix = f"chatcmpl-{os.getpid()}-"


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request = orjson.loads(body) if body else {}
    response_id = f"{_prefix}{next(_ids)}"
    model = request.get("model") or MODEL  # echoed, so the runaway benchmark can price its calls apart
    if not request.get("stream"):
        payload = orjson.dumps(
            {
                "id": response_id,
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": USAGE,
            }
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    base = {"id": response_id, "object": "chat.completion.chunk", "created": 1, "model": model}
    for index in range(STREAM_CHUNKS):
        chunk = {**base, "choices": [{"index": 0, "delta": {"content": f"w{index} "}, "finish_reason": None}]}
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n", "more_body": True})
    if (request.get("stream_options") or {}).get("include_usage"):
        chunk = {**base, "choices": [], "usage": USAGE}
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
