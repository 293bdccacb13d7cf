"""ASGI entry point: /gateway/… goes to the lean gateway application, everything else to Django."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attribution_site.settings")
django_application = get_asgi_application()

from apps.gateway.proxy import gateway  # noqa: E402  (needs the apps loaded by get_asgi_application)


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith("/gateway/"):
        await gateway(scope, receive, send)
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await django_application(scope, receive, send)


async def _lifespan(receive, send) -> None:
    """Start the gateway's pooled client and background loops with the server, stop them with it."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await gateway.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await gateway.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
