"""Load from Debian's `wrk` (C, epoll): a POST body from a Lua script, percentiles and counts out as JSON.

`wrk` keeps each connection busy back to back. Paced runs use its Lua `delay()`: each connection
waits connections / rate seconds after every response, so the offered rate is at most `rate`
(a little under it, by the response time) rather than a fixed schedule (wrk2 is not packaged).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WRK = shutil.which("wrk") or "/usr/bin/wrk"

_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
local pause = {pause_ms}
if pause > 0 then
  function delay()
    return pause
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write("WRK_JSON " .. string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %f, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout) .. "\\n")
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect, read, write, timeouts and non-2xx answers

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for this ASCII text


def wrk_run(
    url: str, *, body: bytes, headers: dict[str, str], connections: int, seconds: float, rate: int | None = None
) -> WrkResult:
    """POST `body` to `url` on `connections` connections (one wrk thread each, at most 2) for `seconds`."""
    lines = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    pause_ms = round(connections * 1000 / rate) if rate else 0
    script = _SCRIPT.format(body=_lua_string(body.decode()), headers=lines, pause_ms=pause_ms)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        completed = subprocess.run(
            [
                WRK,
                f"-t{min(connections, 2)}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout=10s",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        Path(handle.name).unlink()
    line = next((x for x in completed.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result for {url}:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=sum(raw[k] for k in ("connect", "read", "write", "status", "timeout")),
    )
