"""An existing plain events table converts in place, in batches, to the month-partitioned one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite keeps one events table")


def test_every_event_and_its_key_come_through_the_conversion_unchanged():
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}_convert"
    done = subprocess.run(
        [sys.executable, "-m", "bench.partition_migration", url, "3000", "700"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["events"] == 3000
