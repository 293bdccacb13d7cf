"""Self-checks: a benchmark whose numbers were not verified fails loudly instead of reporting."""

from __future__ import annotations

import sys


class BenchmarkFailed(SystemExit):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        print(f"\n*** BENCHMARK FAILED: {message}\n", file=sys.stderr)
        raise BenchmarkFailed(1)


def require_equal(actual, expected, what: str) -> None:
    require(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")
