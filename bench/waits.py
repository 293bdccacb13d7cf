"""What the bench database's backends waited on during a phase, sampled from pg_stat_activity.

Lock waits on a hot row and WAL flushes show up here, not in CPU time.
"""

from __future__ import annotations

import threading
from collections import Counter

import psycopg

SAMPLE_EVERY_S = 0.05

_SQL = """
SELECT COALESCE(wait_event_type || ':' || wait_event, 'running')
FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
"""


class WaitSampler:
    def __init__(self, database_url: str):
        self.database_url = database_url
        self.samples = 0
        self.states: Counter[str] = Counter()
        self._stop = threading.Event()

    def _run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop.wait(SAMPLE_EVERY_S):
                self.samples += 1
                self.states.update(state for (state,) in conn.execute(_SQL).fetchall())

    def __enter__(self) -> WaitSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def describe(self, top: int = 4) -> str:
        """Average number of backends in each state, e.g. `running 1.2, Lock:transactionid 2.9`."""
        if not self.samples:
            return "no samples"
        return ", ".join(f"{state} {n / self.samples:.2f}" for state, n in self.states.most_common(top))
