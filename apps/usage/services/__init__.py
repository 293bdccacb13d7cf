"""Writes of the usage app: ingestion (ingest.py, storage.py), re-deriving events (history.py), closed months."""

from .closing import late_events_store, month_close_record
from .history import events_reattribute, events_rerate
from .ingest import IngestResult, api_key_create, api_keys_revoke, events_ingest
from .storage import days_mark_dirty, events_store

__all__ = [
    "IngestResult",
    "api_key_create",
    "api_keys_revoke",
    "days_mark_dirty",
    "events_ingest",
    "events_reattribute",
    "events_rerate",
    "events_store",
    "late_events_store",
    "month_close_record",
]
