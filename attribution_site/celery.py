"""Celery application: tasks come from each app's tasks.py, configured from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attribution_site.settings")

app = Celery("attribution_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
