"""A minimal OpenAI-shaped upstream for the gateway benchmark: answers at once, JSON or a 20-chunk stream.

For the soak (bench.soak), a request header `x-bench-fault` asks for a failure, so each call's
expected outcome is known: `cut` closes the connection halfway through the body (a JSON body
short of its Content-Length, a stream after half its chunks); `hang` stops answering (before the
headers for JSON, after half the chunks for a stream) until the caller gives up and disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
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
FAULT_HEADER = b"x-bench-fault"
# A hung call waits at most this long for the caller to disconnect (the soak's gateway gives up far sooner).
HANG_SECONDS = 60
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
    fault = next((value for name, value in scope["headers"] if name == FAULT_HEADER), b"").decode()
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
        if fault == "hang":
            await _hang(receive)
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if fault == "cut":
            # Returning before the body is complete makes uvicorn close the connection.
            await send({"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True})
            return
        await send({"type": "http.response.body", "body": payload})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    base = {"id": response_id, "object": "chat.completion.chunk", "created": 1, "model": model}
    for index in range(STREAM_CHUNKS):
        if fault and index == STREAM_CHUNKS // 2:
            if fault == "hang":
                await _hang(receive)
            return  # the chunked body is left unterminated: uvicorn closes the connection
        chunk = {**base, "choices": [{"index": 0, "delta": {"content": f"w{index} "}, "finish_reason": None}]}
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n", "more_body": True})
    if (request.get("stream_options") or {}).get("include_usage"):
        chunk = {**base, "choices": [], "usage": USAGE}
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


async def _hang(receive) -> None:
    """Answer nothing more until the caller disconnects (or HANG_SECONDS pass)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(HANG_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
