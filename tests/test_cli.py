"""The clickkit command: demo, fetch, plan, quota, jobs, sandbox; one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
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


def _state(cache: Path) -> dict:
    """The sandbox account the ``--sandbox`` commands share on ``cache``."""
    return json.loads((cache / "sandbox-state.json").read_text())


def _exports(cache: Path) -> int:
    """ClickExport calls the remembered sandbox has answered, over every process."""
    return _state(cache)["engine"]["requests"].get("ClickExport", 0)


def test_demo_stays_inside_the_real_quota_and_spends_nothing_the_second_time(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "c"
    args = ("demo", "--cache-dir", str(cache), "--charts", "", "--no-progress")
    first = _run(*args)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "10 ClickExport calls a day" in out and "last 7 complete days" in out
    assert "clicks per day" in out and "top countries" in out
    assert "API calls spent: ClickExport 7," in out
    assert "ClickExport calls used: 7 of 10" in out
    # The longer range is planned, not spent: quota days and when it is complete.
    assert re.search(r"the last 30 complete days, \S+ to \S+ \(a plan; nothing spent\)", out)
    assert re.search(r"23 exports: 3 left today, then 10 a day -> 3 quota days, all loaded by "
                     r"\w{3} \d\d \w{3} 00:00 UTC", out), out  # fmt: skip
    assert "clickkit sync --since " in out and f"--cache-dir {cache}" in out
    assert _exports(cache) == 7 <= 10  # the sandbox's own count, kept beside the cache
    second = _run(*args)
    assert second.returncode == 0, second.stderr
    assert "API calls spent: none" in second.stdout
    assert _exports(cache) == 7
    assert (
        first.stdout.split("clicks per day")[1].split("API calls")[0]
        == (second.stdout.split("clicks per day")[1].split("API calls")[0])
    )


def test_demo_never_spends_more_than_a_day_of_quota(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    done = _run("demo", "--cache-dir", str(cache), "--charts", "", "--no-progress",
                "--days", "12")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "API calls spent: ClickExport 10," in done.stdout
    assert "left for after the quota reset: 2 day(s)" in done.stdout
    assert _exports(cache) == 10


def test_sandbox_commands_share_one_account(tmp_path: Path) -> None:
    """A job a fetch left running is checked by the next process, then resumed, not redone."""
    cache = tmp_path / "c"
    sandbox = ("--sandbox", "--cache-dir", str(cache), "--no-progress")
    out = tmp_path / "a.csv"
    stopped = _run("fetch", "2026-11-20", "-o", str(out), "--timeout", "0", *sandbox)
    assert stopped.returncode == 1 and "still running" in stopped.stderr
    [job] = _state(cache)["engine"]["jobs"]
    checked = _run("jobs", "--check", *sandbox)
    assert checked.returncode == 0, checked.stderr
    assert job["id"] in checked.stdout and "2026-11-20" in checked.stdout
    assert re.search(r"(QUEUED|RUNNING|COMPLETED)", checked.stdout)
    assert _state(cache)["engine"]["requests"]["Job"] >= 1  # asked the same account
    resumed = _run("fetch", "2026-11-20", "-o", str(out), *sandbox)
    assert resumed.returncode == 0, resumed.stderr
    assert "ClickExport" not in resumed.stdout and _exports(cache) == 1
    assert (
        json.loads(out.with_name("a.csv.provenance.json").read_text())["days"][0]["job_id"]
        == job["id"]
    )
    quota = _run("quota", *sandbox)
    assert "1 of 10" in quota.stdout
    again = _run("quota", "--sandbox", "--cache-dir", str(cache), "--seed", "5")
    assert again.returncode == 1 and "seed=5 (remembered: 0)" in again.stderr


def test_a_provisional_day_is_replayed_the_next_day_in_a_new_process(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    sandbox = ("--sandbox", "--cache-dir", str(cache), "--no-progress")
    today = dt.datetime.now(dt.UTC).date().isoformat()  # the sandbox account is in UTC
    early = _run("fetch", today, "-o", str(tmp_path / "early.parquet"), *sandbox)
    assert early.returncode == 0, early.stderr
    assert "API calls spent: ClickExport 1" in early.stdout
    assert "provisional data for" in early.stderr
    # Past the day's end plus the settle delay, whatever the time of day now.
    moved = _run("sandbox", "advance", "28", "--cache-dir", str(cache))
    assert moved.returncode == 0 and "sandbox clock is now" in moved.stdout, moved.stderr
    late = _run("fetch", today, "-o", str(tmp_path / "late.parquet"), *sandbox)
    assert late.returncode == 0, late.stderr
    assert "Replay 1" in late.stdout and "ClickExport" not in late.stdout
    assert _exports(cache) == 1
    [job] = _state(cache)["engine"]["jobs"]
    assert len(job["runs"]) == 2
    info = json.loads(pq.read_schema(tmp_path / "late.parquet").metadata[b"clickkit"])
    day = info["days"][0]
    assert (day["source"], day["final"], day["replays"]) == ("replay", True, 1)
    assert len(pd.read_parquet(tmp_path / "late.parquet")) > len(
        pd.read_parquet(tmp_path / "early.parquet")
    )


def test_sandbox_advance_needs_a_remembered_sandbox(tmp_path: Path) -> None:
    done = _run("sandbox", "advance", "5", "--cache-dir", str(tmp_path / "none"))
    assert done.returncode == 1 and "no sandbox is remembered" in done.stderr


def test_fetch_writes_parquet_and_csv_with_filters(account, tmp_path: Path) -> None:
    sb, env = account
    out = tmp_path / "clicks.parquet"
    done = _run("fetch", "2026-11-01", "2026-11-03", "--unique", "-o", str(out), "--no-progress",
                env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    df = pd.read_parquet(out)
    assert len(df) > 0 and df["unique_click"].all()
    assert f"{len(df):,} clicks written" in done.stdout
    assert "API calls spent: ClickExport 3, Download 3" in done.stdout
    info = json.loads(pq.read_schema(out).metadata[b"clickkit"])
    assert info["request"] == {
        "start": "2026-11-01", "end": "2026-11-03", "unique": True, "scope": "day",
        "result_format": "CSV", "fetch": "all", "include_today": False,
    }  # fmt: skip
    assert info["api_calls"]["ClickExport"] == 3 and info["clickkit_version"]
    assert sum(d["rows"] for d in info["days"]) == len(df)
    assert all(d["rows"] < d["rows_in_day"] and d["content_hash"] for d in info["days"])
    csv = tmp_path / "clicks.csv"
    again = _run("fetch", "2026-11-02", "-o", str(csv), "--no-progress", env=env)
    assert again.returncode == 0 and csv.read_text().startswith("id,program_id")
    assert "API calls spent: none" in again.stdout
    sidecar = json.loads((tmp_path / "clicks.csv.provenance.json").read_text())
    assert sidecar["days"][0]["source"] == "cache"
    assert sidecar["days"][0]["rows"] == len(pd.read_csv(csv))
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


def test_quota_errors_and_long_plans_speak_the_command_line(account, tmp_path: Path) -> None:
    sb, env = account
    done = _run("fetch", "2026-10-01", "2026-10-11", "-o", str(tmp_path / "x.csv"), env=env)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "needs 11 new ClickExport calls" in line and "Nothing was spent" in line
    assert "--fits" in line and "fetch=" not in line and "clickkit sync --since 2026-10-01" in line
    assert sb.stats()["requests"]["ClickExport"] == 0
    plan = _run("plan", "2026-07-01", "2026-10-31", env=env)
    assert plan.returncode == 0, plan.stderr
    assert "2026-07-01 to 2026-10-31 (123 days)  export  final" in plan.stdout
    assert "quota days needed: 13" in plan.stdout and "all loaded by" in plan.stdout
    assert len(plan.stdout.splitlines()) < 15  # runs of days, not a line per day
    fits = _run("fetch", "2026-10-01", "2026-10-11", "--fits", "-o", str(tmp_path / "x.csv"),
                "--no-progress", env=env)  # fmt: skip
    assert fits.returncode == 0, fits.stderr
    assert "(--fits): 2026-10-01" in fits.stderr and "fetch=" not in fits.stderr


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
