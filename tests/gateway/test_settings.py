"""GATEWAY_PASSTHROUGH and GATEWAY_BODY_TIMEOUT_SECONDS as the environment gives them."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

SHOW = "from django.conf import settings as s; print(repr(s.GATEWAY_PASSTHROUGH), s.GATEWAY_BODY_TIMEOUT_SECONDS)"


def _settings_process(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GATEWAY_"))}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "attribution_site.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_by_default_nothing_passes_through_and_a_body_has_30_seconds():
    result = _settings_process()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "() 30.0"


def test_passthrough_prefixes_are_read_comma_separated():
    result = _settings_process(
        GATEWAY_PASSTHROUGH="/gateway/openai/v1/files/, /gateway/anthropic/v1/messages/batches",
        GATEWAY_BODY_TIMEOUT_SECONDS="5",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('/gateway/openai/v1/files', '/gateway/anthropic/v1/messages/batches') 5.0"


def test_a_passthrough_prefix_outside_the_gateways_routes_is_refused():
    for prefix in ("/v1/files", "/gateway/openai/v1/../admin", "/gateway/other/v1/x"):
        result = _settings_process(GATEWAY_PASSTHROUGH=prefix)
        assert result.returncode != 0
        assert "GATEWAY_PASSTHROUGH" in result.stderr and "is not a gateway path prefix" in result.stderr
