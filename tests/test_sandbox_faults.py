"""Sandbox fault injection, Job Completion postbacks and the ``serve`` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from clickkit.sandbox import Faults, Sandbox

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
YESTERDAY = "2026-11-26"


def _session(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.auth = (sb.account_sid, sb.auth_token)
    session.headers["Accept"] = "application/json"
    return session


@pytest.fixture
def make() -> Iterator[Callable[..., Sandbox]]:
    made: list[Sandbox] = []

    def build(**options: Any) -> Sandbox:
        options = {"now": NOW, "frozen": True, "seed": 3, "clicks_per_day": 300, **options}
        options.setdefault("job_duration", 0)
        made.append(Sandbox(**options))
        return made[-1]

    yield build
    for sb in made:
        sb.close()


def _export(sb: Sandbox, day: str = YESTERDAY, **params: Any) -> requests.Response:
    url = f"{sb.url}/Mediapartners/{sb.account_sid}/ClickExport"
    return _session(sb).get(url, params={"Date": day, **params}, timeout=10)


def _finished_job(sb: Sandbox) -> str:
    response = _export(sb)
    assert response.status_code == 200
    return sb.url + response.json()["QueuedUri"]


class Receiver:
    """A loopback postback receiver answering with scripted status codes."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.calls: list[dict[str, list[str]]] = []
        self.times: list[float] = []
        self.statuses = list(statuses or [])
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cb"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.calls.append(parse_qs(urlsplit(request.url).query, keep_blank_values=True))
        self.times.append(time.monotonic())
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("ok", status)(environ, start_response)

    def wait_for(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n:
            assert time.monotonic() < deadline, f"only {len(self.calls)} of {n} postbacks"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


TEMPLATE = "?JobId={JobId}&Status={Status}&Type={Type}&Uri={ResultUri}&Done={CompletedDate}"


def test_error_rate_answers_5xx_from_a_seeded_dice(make: Callable[..., Sandbox]) -> None:
    always = make(faults={"error_rate": {"ClickExport": 1.0}})
    answers = [_export(always) for _ in range(5)]
    assert {r.status_code for r in answers} <= {500, 502, 503}
    assert all(r.json()["Status"] == "ERROR" for r in answers)
    assert always.jobs() == []

    def pattern() -> list[int]:
        sb = make(faults=Faults(error_rate={"*": 0.5}))
        return [_export(sb, f"2026-11-{d:02d}").status_code for d in range(1, 11)]

    first = pattern()
    assert first == pattern()  # same seed, same failures
    assert 200 in first and set(first) - {200}


def test_drop_rate_closes_the_connection(make: Callable[..., Sandbox]) -> None:
    sb = make(faults={"drop_rate": {"ClickExport": 1.0}})
    with pytest.raises(requests.ConnectionError):
        _export(sb)
    assert sb.stats()["requests"]["ClickExport"] == 1 and sb.jobs() == []
    sb.set_faults(drop_rate={})
    assert _export(sb).status_code == 200


def test_stall_delays_the_answer(make: Callable[..., Sandbox]) -> None:
    sb = make(faults={"stall": {"Job": 0.3}})
    job = _finished_job(sb)
    start = time.perf_counter()
    assert _session(sb).get(job, timeout=10).status_code == 200
    assert time.perf_counter() - start >= 0.3
    with pytest.raises(requests.Timeout):
        _session(sb).get(job, timeout=0.1)


def test_truncated_downloads_announce_more_than_they_send(make: Callable[..., Sandbox]) -> None:
    sb = make(faults={"truncate_downloads": True})
    job = _finished_job(sb)
    session = _session(sb)
    location = session.get(job + "/Download", allow_redirects=False, timeout=10).headers["Location"]
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.get(location, timeout=10)
    raw = requests.get(location, stream=True, timeout=10)
    announced = int(raw.headers["Content-Length"])
    received = b""
    with pytest.raises(urllib3.exceptions.ProtocolError):  # the body ends early
        for chunk in raw.raw.stream(4096, decode_content=False):
            received += chunk
    assert 0 < len(received) < announced
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        session.get(job + "/Download", params={"Mode": "Stream"}, timeout=10)
    sb.set_faults(truncate_downloads=False)
    whole = requests.get(location, timeout=10, stream=True)
    assert len(whole.raw.read(decode_content=False)) == announced  # the gzip bytes


def test_expired_signed_urls(make: Callable[..., Sandbox]) -> None:
    sb = make(faults={"expire_signed_urls": True})
    job = _finished_job(sb)
    location = _session(sb).get(job + "/Download", allow_redirects=False, timeout=10)
    expired = requests.get(location.headers["Location"], timeout=10)
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_hourly_429_fault_and_runtime_switch(make: Callable[..., Sandbox]) -> None:
    sb = make()
    sb.set_faults(hourly_429=True)
    refused = _export(sb)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"
    assert refused.headers["X-RateLimit-Remaining-hour"] == "0"
    assert refused.json()["Status"] == "ERROR"
    assert sb.faults.hourly_429
    sb.set_faults(Faults())
    assert _export(sb).status_code == 200


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        Faults(error_rate={"Jobs": 1.0})
    with pytest.raises(ValueError, match="postback_mode"):
        Faults(postback_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown fault"):
        Sandbox(faults={"explode": True}, frozen=True)


def test_postback_on_completion(make: Callable[..., Sandbox], receiver: Receiver) -> None:
    sb = make(postback_url=receiver.url + TEMPLATE, job_duration=timedelta(seconds=10))
    response = _export(sb)
    job_id = response.json()["QueuedUri"].rsplit("/", 1)[1]
    time.sleep(0.2)
    assert receiver.calls == []  # still queued on the frozen clock
    sb.advance(timedelta(seconds=10))
    receiver.wait_for(1)
    call = receiver.calls[0]
    assert call["JobId"] == [job_id] and call["Status"] == ["COMPLETED"]
    assert call["Type"] == ["ClickExport"]
    assert call["Uri"] == [f"/Mediapartners/{sb.account_sid}/Jobs/{job_id}/Download"]
    assert call["Done"] == ["2026-11-27T09:00:10+00:00"]
    assert sb.postbacks()[0]["http_status"] == 200


def test_postbacks_for_failed_and_cancelled_runs(
    make: Callable[..., Sandbox], receiver: Receiver
) -> None:
    sb = make(
        postback_url=receiver.url + TEMPLATE,
        outcomes={YESTERDAY: ["CANCELLED", "FAILED"]},
        error_retries=1,
    )
    _export(sb)
    _export(sb, UniqueClick="TRUE")
    receiver.wait_for(1)
    sb.advance(timedelta(minutes=15))
    receiver.wait_for(2)
    assert [c["Status"] for c in receiver.calls] == [["CANCELLED"], ["FAILED"]]
    assert receiver.calls[0]["Done"] == [""]


def test_postback_retries_non_2xx(make: Callable[..., Sandbox]) -> None:
    receiver = Receiver([500, 503])
    try:
        sb = make(postback_url=receiver.url + TEMPLATE, postback_retry_delay=0.05)
        _export(sb)
        receiver.wait_for(3)
        time.sleep(0.2)
        assert len(receiver.calls) == 3
        assert [p["http_status"] for p in sb.postbacks()] == [500, 503, 200]
    finally:
        receiver.close()


def test_postback_modes(make: Callable[..., Sandbox], receiver: Receiver) -> None:
    twice = make(postback_url=receiver.url + TEMPLATE, faults={"postback_mode": "twice"})
    _export(twice)
    receiver.wait_for(2)
    assert receiver.calls[0] == receiver.calls[1]

    never = make(postback_url=receiver.url + TEMPLATE, faults={"postback_mode": "never"})
    _export(never)
    deadline = time.monotonic() + 2
    while not never.postbacks():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert len(receiver.calls) == 2 and never.postbacks()[0]["http_status"] is None

    late = make(
        postback_url=receiver.url + TEMPLATE,
        faults={"postback_mode": "late", "postback_delay": 0.5},
    )
    start = time.monotonic()
    _export(late)
    receiver.wait_for(3)
    assert receiver.times[-1] - start >= 0.5


def test_serve_json_command(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "clickkit.sandbox", "serve", "--json", "--port", "0",
         "--now", "2026-11-27T09:00:00+00:00", "--job-seconds", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert set(info) == {"base_url", "account_sid", "auth_token"}
        assert info["base_url"].startswith("http://127.0.0.1:")
        response = requests.get(
            f"{info['base_url']}/Mediapartners/{info['account_sid']}/ClickExport.json",
            params={"Date": YESTERDAY},
            auth=(info["account_sid"], info["auth_token"]),
            timeout=10,
        )
        assert response.status_code == 200 and response.json()["Status"] == "COMPLETED"
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert out == ""  # exactly one line on stdout, already read


def test_serve_prints_credentials_readably_and_rejects_bad_options(tmp_path: Path) -> None:
    from clickkit.sandbox.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--error-rate", "Nowhere=1"])
    assert main(["serve", "--timezone", "Mars/Olympus"]) == 2
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "clickkit.sandbox", "serve", "--auth-token", "tok"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
    finally:
        process.send_signal(2)  # SIGINT, like Ctrl+C
        process.communicate(timeout=10)
    assert "base URL:" in lines[1] and "http://127.0.0.1:" in lines[1]
    assert "IRsandbox0001" in lines[2] and "tok" in lines[3]
    assert process.returncode == 0
