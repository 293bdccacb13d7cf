"""Load from Debian's `wrk` (C, epoll): a POST body from a Lua script, percentiles and counts out as JSON.

`wrk` keeps each connection busy back to back. Paced runs use its Lua `delay()`: each connection
waits connections / rate seconds after every response, so the offered rate is at most `rate`
(a little under it, by the response time) rather than a fixed schedule (wrk2 is not packaged).

`WrkPool` sends a different prepared body with every request (the ingestion benchmark's single
events): a client that costs microseconds a request, as pgbench's does, where the Python clients
cost a third of a millisecond of the same two cores.
"""

from __future__ import annotations

import json
import resource
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


def _lua_headers(headers: dict[str, str]) -> str:
    return "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())


def wrk_run(
    url: str, *, body: bytes, headers: dict[str, str], connections: int, seconds: float, rate: int | None = None
) -> WrkResult:
    """POST `body` to `url` on `connections` connections (one wrk thread each, at most 2) for `seconds`."""
    pause_ms = round(connections * 1000 / rate) if rate else 0
    script = _SCRIPT.format(body=_lua_string(body.decode()), headers=_lua_headers(headers), pause_ms=pause_ms)
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


_BODIES_SCRIPT = """
wrk.method = "POST"
wrk.path = {path}
{headers}
local threads = {{}}
local count = 0
function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  bodies, sent, accepted, duplicates, rejected, failed, sample = {{}}, 0, 0, 0, 0, 0, ""
  local line = 0
  for body in io.lines({bodies_file}) do
    if line % {threads} == index then bodies[#bodies + 1] = body end
    line = line + 1
  end
end
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[math.min(sent, #bodies)])
end
function response(status, headers, body)
  if status ~= {status} then
    failed = failed + 1
    if sample == "" then sample = status .. " " .. body:sub(1, 200) end
    return
  end
  accepted = accepted + tonumber(body:match('"accepted":%s*(%d+)') or 0)
  duplicates = duplicates + tonumber(body:match('"duplicates":%s*(%d+)') or 0)
  if not body:match('"rejected":%s*%[%]') then rejected = rejected + 1 end
end
function done(summary, latency, requests)
  local t = {{accepted = 0, duplicates = 0, rejected = 0, failed = 0, sent = 0}}
  local samples = {{}}
  for _, thread in ipairs(threads) do
    for name in pairs(t) do t[name] = t[name] + thread:get(name) end
    if thread:get("sample") ~= "" then samples[#samples + 1] = thread:get("sample") end
  end
  local e = summary.errors
  io.write("WRK_JSON " .. string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "errors": %d, ' ..
    '"accepted": %d, "duplicates": %d, "rejected": %d, "failed": %d, "sent": %d}}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, t.accepted, t.duplicates, t.rejected, t.failed, t.sent) .. "\\n")
  io.write("WRK_SAMPLES " .. table.concat(samples, " | ") .. "\\n")
end
"""


class WrkPool:
    """`ClientPool`'s interface on wrk: each request POSTs the next of `bodies` (one JSON line
    each), `clients` connections over two threads, for `stop_after_s`. Which bodies the server
    stored is for the caller to read from the database: wrk stops mid-request at its deadline,
    and a request it abandoned may still be stored. `processes` is ignored (wrk is one process)."""

    def __init__(self, *, port: int, api_key: str, bodies: list[bytes], clients: int, stop_after_s, path: str, **_):
        self.url = f"http://127.0.0.1:{port}{path}"
        self.path, self.api_key, self.bodies = path, api_key, bodies
        self.clients, self.seconds = clients, stop_after_s

    def run(self):
        from .client import LoadResult

        threads = min(self.clients, 2)
        with tempfile.TemporaryDirectory() as folder:
            bodies_file = Path(folder) / "bodies.jsonl"
            bodies_file.write_bytes(b"\n".join(self.bodies) + b"\n")
            script = Path(folder) / "bodies.lua"
            headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
            script.write_text(
                _BODIES_SCRIPT.format(
                    path=_lua_string(self.path),
                    headers=_lua_headers(headers),
                    bodies_file=_lua_string(str(bodies_file)),
                    threads=threads,
                    status=202,
                )
            )
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            completed = subprocess.run(
                [
                    WRK,
                    f"-t{threads}",
                    f"-c{self.clients}",
                    f"-d{max(1, round(self.seconds))}s",
                    "--timeout=10s",
                    "-s",
                    str(script),
                    self.url,
                ],
                capture_output=True,
                text=True,
                timeout=self.seconds + 60,
                check=False,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if line.startswith("WRK_"))
        if "WRK_JSON" not in lines:
            raise SystemExit(f"wrk gave no result for {self.url}:\n{completed.stdout}\n{completed.stderr}")
        raw = json.loads(lines["WRK_JSON"])
        if raw["sent"] > len(self.bodies):
            raise SystemExit(f"wrk sent {raw['sent']} requests with {len(self.bodies)} bodies: give it more bodies")
        samples = lines.get("WRK_SAMPLES", "").strip()
        return LoadResult(
            requests=raw["requests"],
            accepted=raw["accepted"],
            duplicates=raw["duplicates"],
            rejected=raw["rejected"],
            errors=[samples] if samples else [],
            error_count=raw["errors"] + raw["failed"],
            started=0.0,
            finished=raw["duration_us"] / 1e6,
            client_cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            quantiles_ms={p: raw[f"p{p}_us"] / 1000 for p in (50, 95, 99)},
        )
