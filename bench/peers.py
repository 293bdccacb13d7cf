"""The gateways people would pick instead, installed into scratch folders and started in front of
the same loopback upstream: Portkey's open-source gateway (npm) and LiteLLM's proxy (PyPI, no
database). A peer that cannot be installed or started is reported as such and the run goes on."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .server import ROOT, port_free, process_children

PEERS_DIR = ROOT / "var" / "bench-peers"


@dataclass
class Target:
    """Where a benchmark run sends its calls, and the proxy process whose CPU and memory count."""

    name: str
    url: str  # the chat completions URL
    headers: dict[str, str]
    process: subprocess.Popen | None = None
    note: str = ""  # e.g. "not installable: …"

    def pids(self) -> list[int]:
        """The proxy process and its children (LiteLLM's and Portkey's workers), if it runs."""
        if self.process is None:
            return []
        return [self.process.pid, *process_children(self.process.pid)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class Unavailable:
    name: str
    reason: str
    log: list[str] = field(default_factory=list)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(process: subprocess.Popen, port: int, log: Path, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            return f"did not start: {log.read_text()[-400:].strip()}"
        time.sleep(0.2)
    return None


def _install(command: list[str], log: Path, timeout: int, cwd: Path) -> str | None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not installable: {exc}"
    log.write_text(done.stdout + done.stderr)
    return None if done.returncode == 0 else f"not installable: {(done.stdout + done.stderr)[-300:].strip()}"


def portkey_start(upstream_url: str, logs: Path) -> Target | Unavailable:
    folder = PEERS_DIR / "portkey"
    server = folder / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    if not server.exists():
        folder.mkdir(parents=True, exist_ok=True)
        command = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "@portkey-ai/gateway"]
        failed = _install(command, logs / "portkey-install.log", 600, folder)
        if failed:
            return Unavailable("portkey", failed)
    port = port_free()
    log = logs / "portkey.log"
    process = subprocess.Popen(
        ["node", str(server), f"--port={port}"], cwd=folder, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    failed = _wait(process, port, log, 60)
    if failed:
        return Unavailable("portkey", failed)
    headers = {
        "authorization": "Bearer sk-bench",
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": f"{upstream_url}/v1",
    }
    return Target("portkey", f"http://127.0.0.1:{port}/v1/chat/completions", headers, process)


LITELLM_CONFIG = """model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {upstream}/v1
      api_key: sk-bench
"""


def litellm_start(upstream_url: str, logs: Path) -> Target | Unavailable:
    venv = PEERS_DIR / "litellm-venv"
    binary = venv / "bin" / "litellm"
    if not binary.exists():
        PEERS_DIR.mkdir(parents=True, exist_ok=True)
        failed = _install([sys.executable, "-m", "venv", str(venv)], logs / "litellm-venv.log", 120, PEERS_DIR)
        failed = failed or _install(
            [str(venv / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"],
            logs / "litellm-install.log",
            900,
            PEERS_DIR,
        )
        if failed or not binary.exists():
            return Unavailable("litellm", failed or "not installable: no litellm command after pip install")
    config = logs / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(upstream=upstream_url))
    port = port_free()
    log = logs / "litellm.log"
    master_key = f"sk-{secrets.token_hex(32)}"  # the proxy refuses to start without one
    process = subprocess.Popen(
        [str(binary), "--config", str(config), "--port", str(port), "--num_workers", "1"],
        cwd=logs,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(logs),
            "LITELLM_TELEMETRY": "False",
            "LITELLM_MASTER_KEY": master_key,
        },
    )
    failed = _wait(process, port, log, 120)
    if failed:
        return Unavailable("litellm", failed)
    return Target(
        "litellm", f"http://127.0.0.1:{port}/v1/chat/completions", {"authorization": f"Bearer {master_key}"}, process
    )
