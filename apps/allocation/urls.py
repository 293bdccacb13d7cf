"""API v1 routes of the allocation app."""

from django.urls import path

from .apis import AllocationsApi, CostsApi

urlpatterns = [
    path("costs", CostsApi.as_view(), name="costs"),
    path("allocations", AllocationsApi.as_view(), name="allocations"),
]
