"""API v1 routes of the usage app."""

from django.urls import path, register_converter
from django.urls.converters import PathConverter

from .apis import EventDetailApi, EventsApi


class EventIdConverter(PathConverter):
    """Any event_id a client could send, line breaks included (`path` stops at one), so that an
    unknown one is the API's JSON 404 rather than the site's HTML one."""

    regex = r"[\s\S]+"


register_converter(EventIdConverter, "event_id")

urlpatterns = [
    path("events", EventsApi.as_view(), name="events"),
    path("events/<event_id:event_id>", EventDetailApi.as_view(), name="event-detail"),
]
