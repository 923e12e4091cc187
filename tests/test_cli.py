"""The clickkit command: demo, fetch, plan, quota, jobs, sandbox; one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from clickkit.sandbox import Sandbox


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clickkit", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def account(tmp_path: Path) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """A sandbox reached the way a real account is: credentials in the environment."""
    with Sandbox(seed=4, clicks_per_day=200, job_duration=dt.timedelta(0)) as sb:
        yield (
            sb,
            {
                "IMPACT_ACCOUNT_SID": sb.account_sid,
                "IMPACT_AUTH_TOKEN": sb.auth_token,
                "CLICKKIT_BASE_URL": sb.url,
                "CLICKKIT_CACHE_DIR": str(tmp_path / "cache"),
            },
        )


def test_demo_spends_nothing_the_second_time(tmp_path: Path) -> None:
    args = (
        "demo",
        "--cache-dir",
        str(tmp_path / "c"),
        "--charts",
        "",
        "--no-progress",
        "--days",
        "4",
    )
    first = _run(*args)
    assert first.returncode == 0, first.stderr
    assert "clicks per day" in first.stdout and "top countries" in first.stdout
    assert "API calls spent: ClickExport 4" in first.stdout
    second = _run(*args)
    assert second.returncode == 0, second.stderr
    assert "API calls spent: none" in second.stdout
    assert (
        first.stdout.split("clicks per day")[1].split("API calls")[0]
        == (second.stdout.split("clicks per day")[1].split("API calls")[0])
    )


def test_fetch_writes_parquet_and_csv_with_filters(account, tmp_path: Path) -> None:
    sb, env = account
    out = tmp_path / "clicks.parquet"
    done = _run("fetch", "2026-11-01", "2026-11-03", "--unique", "-o", str(out), "--no-progress",
                env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    df = pd.read_parquet(out)
    assert len(df) > 0 and df["unique_click"].all()
    assert f"{len(df):,} clicks written" in done.stdout
    csv = tmp_path / "clicks.csv"
    again = _run("fetch", "2026-11-02", "-o", str(csv), "--no-progress", env=env)
    assert again.returncode == 0 and csv.read_text().startswith("id,program_id")
    assert sb.stats()["requests"]["ClickExport"] == 3  # the second fetch came from the cache


def test_plan_quota_jobs(account, tmp_path: Path) -> None:
    sb, env = account
    plan = _run("plan", "2026-11-01", "2026-11-05", env=env)
    assert plan.returncode == 0, plan.stderr
    assert "new exports: 5" in " ".join(plan.stdout.split())
    fetched = _run("fetch", "2026-11-01", "-o", str(tmp_path / "a.csv"), "--no-progress", env=env)
    assert fetched.returncode == 0, fetched.stderr
    quota = _run("quota", env=env)
    assert quota.returncode == 0 and "1 of 10" in quota.stdout
    jobs = _run("jobs", "--check", env=env)
    assert jobs.returncode == 0 and "2026-11-01" in jobs.stdout and "COMPLETED" in jobs.stdout
    assert sb.auth_token not in plan.stdout + quota.stdout + jobs.stdout + fetched.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fetch", "2026-02-30", "-o", "x.csv"), "not a date"),
        (("fetch", "2026-11-05", "2026-11-01", "-o", "x.csv"), "reversed"),
        (("fetch", "2026-11-01", "-o", "x.xlsx"), ".parquet or .csv"),
        (("plan", "2026-11-01", "--timezone", "Nowhere/Land"), "time zone"),
    ],
)
def test_errors_are_one_line_without_traceback(account, args, message) -> None:
    _, env = account
    done = _run(*args, env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clickkit: error:") and message in lines[0]
    assert "Traceback" not in done.stderr


def test_missing_credentials_name_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_")}
    done = subprocess.run(
        [sys.executable, "-m", "clickkit", "quota", "--cache-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 1 and "IMPACT_ACCOUNT_SID" in done.stderr
    assert "--sandbox" in done.stderr  # and it says how to go without credentials


def test_sandbox_serve_json_serves_a_plain_requests_client(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "clickkit", "sandbox", "serve", "--json", "--port", "0",
         "--job-seconds", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        info = json.loads(server.stdout.readline())
        assert set(info) == {"base_url", "account_sid", "auth_token"}
        auth = (info["account_sid"], info["auth_token"])
        base = f"{info['base_url']}/Mediapartners/{info['account_sid']}"
        headers = {"Accept": "application/json"}
        day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
        queued = requests.get(f"{base}/ClickExport", params={"Date": day}, auth=auth,
                              headers=headers, timeout=10).json()  # fmt: skip
        job = requests.get(info["base_url"] + queued["QueuedUri"], auth=auth, headers=headers,
                           timeout=10).json()  # fmt: skip
        assert job["Status"] in ("QUEUED", "RUNNING", "COMPLETED")
        result = requests.get(info["base_url"] + queued["ResultUri"], auth=auth, timeout=10)
        assert result.status_code == 200 and result.text.startswith("Id,ProgramId")
    finally:
        server.terminate()
        server.wait(timeout=10)
