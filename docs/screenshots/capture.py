"""Capture the README's screenshots: the demo company in headless Chromium (`make screenshots`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
PORT = 8123
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    workdir = Path(tempfile.mkdtemp())
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}"}
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL"):  # embedded: tasks run in-process
        env.pop(name, None)
    manage("migrate", "--no-input", env=env)
    manage("seed_demo", env=env)
    password = (ROOT / "var" / "demo_password").read_text().strip()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{PORT}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz")
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"],
            )
            for username, path, name, width in (
                ("lead-insights", "/teams/insights/", "team.png", 1360),
                ("finance", "/overview/", "overview.png", 1360),
                ("lead-insights", "/teams/insights/", "team-phone.png", 390),
            ):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(f"http://127.0.0.1:{PORT}/accounts/login/")
                page.fill("#id_username", username)
                page.fill("#id_password", password)
                page.click("button[type=submit]")
                page.goto(f"http://127.0.0.1:{PORT}{path}")
                page.wait_for_selector(".js-plotly-plot .main-svg")
                page.wait_for_timeout(1000)  # the charts are resized once the page has loaded
                page.screenshot(path=str(OUT / name), full_page=True)
                page.close()
            browser.close()
    finally:
        server.terminate()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Wrote {OUT / 'team.png'}, {OUT / 'overview.png'} and {OUT / 'team-phone.png'}")


if __name__ == "__main__":
    main()
