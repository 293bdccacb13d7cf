"""Daily rollups of usage events, rebuilt in SQL by Celery workers."""
