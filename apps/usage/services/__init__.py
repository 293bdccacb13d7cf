"""Writes of the usage app: ingestion (ingest.py) and re-deriving stored events (history.py)."""

from .history import events_reattribute, events_rerate
from .ingest import IngestResult, api_key_create, days_mark_dirty, events_ingest

__all__ = ["IngestResult", "api_key_create", "days_mark_dirty", "events_ingest", "events_reattribute", "events_rerate"]
