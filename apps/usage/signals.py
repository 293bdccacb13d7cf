"""Signals of the usage app."""

from django.dispatch import Signal

# Sent after commit with `days` (a sorted list of dates) whose rollups became stale.
days_dirtied = Signal()

# Sent inside the reopening transaction, before the months open, with `months` (first days),
# `by` (a user or None), `reason` and `change` (what is being applied): the month-close app
# records each reopening with the month's frozen totals.
months_reopened = Signal()
