"""Adding a tag is one line in apps/org/tags.py and its migration: in a copy of the project with a
throwaway tag added there and nowhere else, the migration adds one column, and the input schema,
the stored row, the output and its schema all carry the tag."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

NEW_TAG = '    "x_ticket": Tag(64, kind="id", help="A throwaway tag."),\n'
ANCHOR = '    "trace_id": Tag(128, kind="opaque", help="Groups the calls of one request or agent task."),\n'

# Run in the copy: migrate a fresh SQLite database, send one event with the tag, read it back.
PROBE = """
import json, django
django.setup()
from datetime import UTC, datetime, timedelta
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from apps.org.models import Team
from apps.usage.services import api_key_create
from apps.usage.models import UsageEvent
team = Team.objects.create(slug="search", name="Search")
_, raw = api_key_create(team=team, name="probe")
auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
client = Client()
event = {"event_id": "e1", "timestamp": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
         "provider": "anthropic", "model": "m", "input_tokens": 10, "x_ticket": "  TCK-42 "}
sent = client.post("/api/v1/events", event, content_type="application/json", **auth)
listed = client.get("/api/v1/events", **auth).json()["results"][0]
schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
print(json.dumps({
    "status": sent.status_code,
    "stored": UsageEvent.objects.values_list("x_ticket", flat=True).get(),
    "output": listed["tags"]["x_ticket"],
    "raw": listed["raw_tags"]["x_ticket"],
    "input_schema": schema["EventIn"]["properties"]["x_ticket"],
    "output_schema": sorted(schema["EventTags"]["properties"]),
}))
"""


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(
        settings.BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv*", "var", "node_modules", "*.pyc", ".pytest_cache", "mutants"),
    )
    tags = copy / "apps" / "org" / "tags.py"
    text = tags.read_text()
    assert ANCHOR in text
    tags.write_text(text.replace(ANCHOR, ANCHOR + NEW_TAG))
    return copy


def _run(copy: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "attribution_site.settings", "VAR_DIR": str(copy / "var")}
    result = subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_new_tag_takes_its_line_and_a_migration_and_follows_everywhere(tmp_path):
    copy = _copy(tmp_path)

    made = _run(copy, "manage.py", "makemigrations", "usage", "--name", "x_ticket")
    migration = next((copy / "apps" / "usage" / "migrations").glob("*_x_ticket.py")).read_text()
    probe = json.loads(_run(copy, "-c", PROBE).splitlines()[-1])

    assert "Add field x_ticket to usageevent" in made
    assert migration.count("migrations.AddField(") == 1 and migration.count("migrations.") == 2
    assert (probe["status"], probe["stored"], probe["output"], probe["raw"]) == (202, "TCK-42", "TCK-42", "TCK-42")
    assert probe["input_schema"]["maxLength"] == 64
    assert "x_ticket" in probe["output_schema"]
