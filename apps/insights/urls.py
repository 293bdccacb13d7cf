"""API v1 routes of the insights app."""

from django.urls import path

from .apis import OpportunitiesApi

urlpatterns = [
    path("opportunities", OpportunitiesApi.as_view(), name="opportunities"),
]
