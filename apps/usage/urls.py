"""API v1 routes of the usage app."""

from django.urls import path

from .apis import EventDetailApi, EventsApi

urlpatterns = [
    path("events", EventsApi.as_view(), name="events"),
    path("events/<path:event_id>", EventDetailApi.as_view(), name="event-detail"),
]
