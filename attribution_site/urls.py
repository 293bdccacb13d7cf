"""Top-level URLs: admin, API v1, schema and docs, sign-in, health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from attribution_site import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.usage.urls")),
    path("api/v1/", include("apps.allocation.urls")),
    path("api/v1/", include("apps.budgets.urls")),
    path("api/v1/", include("apps.insights.urls")),
    path("api/v1/", include("apps.billing.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's script as a file: the pages allow no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Login, logout and the identity provider's round trip (/oidc/authenticate/, /oidc/callback/).
    path("", include("apps.accounts.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("otlp/", include("apps.usage.otlp.urls")),
    path("savings/", include("apps.insights.page_urls")),
    path("", include("apps.showback.urls")),
]
