"""API v1 routes of the budgets app."""

from django.urls import path

from .apis import AlertsApi, AnomaliesApi

urlpatterns = [
    path("anomalies", AnomaliesApi.as_view(), name="anomalies"),
    path("alerts", AlertsApi.as_view(), name="alerts"),
]
