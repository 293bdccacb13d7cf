"""The project's ASGI application under cProfile, for `python -m bench profile gateway`: profiling
starts with the first call and the stats go to $BENCH_PROFILE_OUT when the server shuts down."""

from __future__ import annotations

import cProfile
import os

from attribution_site.asgi import application as project

profiler = cProfile.Profile()
_started = False


async def app(scope, receive, send):
    global _started
    if scope["type"] == "lifespan":

        async def receive_until_shutdown():
            message = await receive()
            if message["type"] == "lifespan.shutdown" and _started:
                profiler.disable()
                profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
            return message

        await project(scope, receive_until_shutdown, send)
        return
    if not _started:
        _started = True
        profiler.enable()
    await project(scope, receive, send)
