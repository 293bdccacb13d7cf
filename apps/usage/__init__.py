"""Usage events: ingestion API, API keys, idempotent storage."""
