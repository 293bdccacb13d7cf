"""Signals of the usage app."""

from django.dispatch import Signal

# Sent after commit with `days` (a sorted list of dates) whose rollups became stale.
days_dirtied = Signal()
