"""Job Completion postbacks: GET a URL template when a job run ends.

A background ticker watches the sandbox clock (woken at once by ``advance()`` and new
jobs) and, when a run reaches COMPLETED, FAILED or CANCELLED, fills the template's
``{JobId}``, ``{Status}``, ``{Type}``, ``{ResultUri}`` and ``{CompletedDate}``
placeholders (URL-encoded) and sends a GET, retrying non-2xx answers.

Examples
--------
>>> fill("http://h/cb?job={JobId}&s={Status}", {"JobId": "a b", "Status": "COMPLETED"})
'http://h/cb?job=a%20b&s=COMPLETED'
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from clickkit.sandbox.jobs import TERMINAL

if TYPE_CHECKING:
    from clickkit.sandbox.engine import Engine
    from clickkit.sandbox.jobs import Job, Run

__all__ = ["PostbackNotifier", "fill"]

logger = logging.getLogger("clickkit.sandbox")


def fill(template: str, values: dict[str, str]) -> str:
    """Replace ``{Name}`` placeholders with URL-encoded values (unknown ones are kept)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


class PostbackNotifier:
    """Sends postbacks for one engine from a daemon thread.

    Parameters
    ----------
    engine : Engine
        Jobs, clock, faults (``postback_mode``, ``postback_delay``) and settings
        (``postback_url``, ``postback_retries``, ``postback_retry_delay``).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-postbacks", daemon=True)

    def start(self) -> None:
        """Start the ticker thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the ticker; deliveries in flight give up at their next wait."""
        self._stop.set()
        self.engine.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def log(self) -> list[dict[str, Any]]:
        """Every delivery attempt so far (job_id, status, url, attempt, http_status, error)."""
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.engine.wake.wait(0.05)
            self.engine.wake.clear()
            self._check()

    def _check(self) -> None:
        for job in self.engine.all_jobs():
            for run in job.runs:
                if run.notified:
                    continue
                state = self.engine.state(job, run)
                if state.status not in TERMINAL:
                    continue
                run.notified = True  # only this thread sets it, so no lock is needed
                values = {
                    "JobId": job.id,
                    "Status": state.status,
                    "Type": "ClickExport",
                    "ResultUri": f"/Mediapartners/{self.engine.settings.account_sid}"
                    f"/Jobs/{job.id}/Download",
                    "CompletedDate": self.engine.iso(state.completed),
                }
                threading.Thread(target=self._deliver, args=(job, run, values), daemon=True).start()

    def _deliver(self, job: Job, run: Run, values: dict[str, str]) -> None:
        settings = self.engine.settings
        faults = self.engine.faults.faults
        url = fill(settings.postback_url or "", values)
        if faults.postback_mode == "never":
            self._record(job, values["Status"], url, 0, None, "suppressed by postback_mode")
            return
        if faults.postback_mode == "late" and self._stop.wait(faults.postback_delay):
            return
        for _ in range(2 if faults.postback_mode == "twice" else 1):
            for attempt in range(1, settings.postback_retries + 2):
                status, error = _get(url)
                self._record(job, values["Status"], url, attempt, status, error)
                if status is not None and 200 <= status < 300:
                    break
                if self._stop.wait(settings.postback_retry_delay):
                    return

    def _record(
        self, job: Job, status: str, url: str, attempt: int, http: int | None, error: str | None
    ) -> None:
        with self._log_lock:
            self._log.append(
                {
                    "job_id": job.id,
                    "status": status,
                    "url": url,
                    "attempt": attempt,
                    "http_status": http,
                    "error": error,
                }
            )


# Postbacks go straight to the receiver, never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> tuple[int | None, str | None]:
    request = urllib.request.Request(url, headers={"User-Agent": "clickkit-sandbox-postback"})
    try:
        with _OPENER.open(request, timeout=5) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError) as exc:
        logger.debug("postback to %s failed: %s", url, exc)
        return None, str(exc)
