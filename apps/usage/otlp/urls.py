"""Route of the OTLP/HTTP traces endpoint (mounted at /otlp/)."""

from django.urls import path

from .apis import traces_export

urlpatterns = [
    path("v1/traces", traces_export, name="otlp-traces"),
]
