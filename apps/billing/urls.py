"""API v1 routes of the billing app."""

from django.urls import path

from .apis import ReconciliationApi

urlpatterns = [
    path("reconciliation", ReconciliationApi.as_view(), name="reconciliation"),
]
