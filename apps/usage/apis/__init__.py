"""The events API: ingestion and reading are two views that share the collection's URL."""

from __future__ import annotations

from .ingest import EventsIngestApi
from .listing import EventDetailApi, EventsListApi


class EventsApi(EventsIngestApi, EventsListApi):
    """/events: POST ingests (an API key), GET lists (a key or staff). One URL, so one view class
    routes each method to its own view's handler and permissions."""

    def get_permissions(self):
        view = EventsIngestApi if self.request.method == "POST" else EventsListApi
        return [permission() for permission in view.permission_classes]


__all__ = ["EventDetailApi", "EventsApi", "EventsIngestApi", "EventsListApi"]
