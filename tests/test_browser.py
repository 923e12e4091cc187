"""The explorer notebook served by Voila and used in a real headless Chromium.

Voila runs ``notebooks/02-explorer.ipynb`` on a loopback port with no credentials, so the
notebook falls back to the sandbox. The browser may only reach 127.0.0.1/localhost:
every other request is aborted. The test picks a date range, presses Load, and waits for
the chart image and the summary that the kernel sends back over the widget protocol.
The screenshot is kept in ``artifacts/`` (git-ignored) for a human look.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "02-explorer.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"voila exited with {proc.returncode}:\n{log.read_text()}")
        # A static file: asking for the notebook itself would start a kernel.
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url + "voila/static/voila.js", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"voila did not start within 60 s:\n{log.read_text()}")


def _missing(what: str) -> None:
    """Skip when a browser-test tool is missing, but fail on CI where it must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing on CI")
    pytest.skip(f"{what} is missing")


@pytest.fixture
def tools() -> None:
    """Chromium, Playwright and Voila, or a skip (a failure on CI)."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} (apt-get install -y chromium)")
    for module in ("playwright", "voila"):
        if importlib.util.find_spec(module) is None:
            _missing(f"the {module} package (pip install {module})")


@pytest.fixture
def voila(tools: None, tmp_path: Path) -> Iterator[str]:
    """Serve the explorer notebook; yield its URL; stop Voila and its kernels after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPACT_", "CLICKKIT_"))}
    env["CLICKKIT_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    port = _free_port()
    log = tmp_path / "voila.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voila",
                "--no-browser",
                f"--port={port}",
                "--Voila.ip=127.0.0.1",
                "--VoilaConfiguration.show_tracebacks=True",
                str(NOTEBOOK),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one group to signal; Voila shuts its kernels down on TERM
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def test_explorer_loads_and_draws_in_a_real_browser(voila: str, tmp_path: Path) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    page_errors: list[str] = []
    blocked: list[str] = []

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1400})
            context.route("**/*", local_only)
            page = context.new_page()
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(voila, wait_until="domcontentloaded", timeout=60_000)

            explorer = page.locator(".clickkit-explorer")
            expect(explorer).to_be_visible(timeout=60_000)
            cost = explorer.locator(".clickkit-cost")
            expect(cost).to_contain_text("7 days: 0 cached", timeout=30_000)
            expect(cost).to_contain_text("exports left today: 10 of 10")

            # A three-day range ending on the default (last complete) day.
            dates = explorer.locator("input[type=date]")
            end = dt.date.fromisoformat(dates.nth(1).input_value())
            dates.nth(0).fill((end - dt.timedelta(days=2)).isoformat())
            expect(cost).to_contain_text("3 days: 0 cached, 3 exports needed", timeout=30_000)

            explorer.get_by_role("button", name="Load").click()
            output = explorer.locator(".clickkit-output")
            chart = output.locator("img")
            expect(chart).to_be_visible(timeout=60_000)
            summary = output.locator(".clickkit-summary")
            expect(summary).to_be_visible(timeout=30_000)
            expect(summary).to_contain_text("API calls spent")
            expect(summary).to_contain_text("ClickExport 3")
            expect(summary).to_contain_text(f"3 ({end - dt.timedelta(days=2)} to {end})")
            expect(cost).to_contain_text("3 days: 3 cached, 0 exports needed", timeout=30_000)
            size = chart.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert size[0] > 600 and size[1] > 300, size
            # The linked quota meter was refreshed by the load.
            expect(page.locator(".clickkit-quota")).to_contain_text("3 of 10 exports used")

            # A redraw of loaded data: another chart, same summary, no error.
            first = chart.get_attribute("src")
            chart_menu = explorer.locator("select").nth(1)
            chart_menu.select_option("hourly heatmap")
            expect(output.locator("img")).not_to_have_attribute("src", first or "", timeout=30_000)
            expect(output.locator(".clickkit-error")).to_have_count(0)

            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)
        finally:
            browser.close()

    # Voila asks a CDN for Font Awesome CSS; it is blocked and the page works without it.
    assert page_errors == [], (page_errors, blocked)
