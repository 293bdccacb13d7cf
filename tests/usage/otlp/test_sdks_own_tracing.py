"""Which provider SDKs trace their own calls: the anthropic SDK does, the openai SDK does not (a new
release that starts to would need its spans read here; `make compat` runs this against the newest)."""

from __future__ import annotations

import subprocess
import sys


def imports_opentelemetry(module: str) -> bool:
    """Whether importing `module` alone, in a fresh interpreter, loads OpenTelemetry."""
    code = f"import sys, {module}; print(any(m.split('.')[0] == 'opentelemetry' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip() == "True"


def test_the_anthropic_sdk_loads_opentelemetry_for_its_own_spans():
    assert imports_opentelemetry("anthropic")


def test_the_openai_sdk_has_no_tracing_of_its_own():
    assert not imports_opentelemetry("openai")
