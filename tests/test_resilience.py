"""Guarantees under faults: exact rows or a clear error, nothing lost, no quota spent twice."""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import NOW, exports

import clickkit as ck
from clickkit.cache import Cache
from clickkit.postback import PostbackReceiver
from clickkit.sandbox import Faults

RANGE = ("2026-11-16", "2026-11-18")
DAYS = 3


def _rows(df: pd.DataFrame) -> pd.DataFrame:
    """A frame's rows in a canonical order, for comparing runs."""
    return df.sort_values(["event_date", "id"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """What a fault-free run returns for RANGE (same seed and volume as make_client)."""
    client = ck.Client.sandbox(
        cache_dir=tmp_path_factory.mktemp("reference"), now=NOW, seed=1, clicks_per_day=300,
        job_duration=dt.timedelta(0), progress=False, poll_interval=0.02,
        timezone="America/New_York",
    )  # fmt: skip
    try:
        return _rows(client.clicks(*RANGE))
    finally:
        client.close()


FAULTS = {
    "5xx on every endpoint": {"error_rate": {"*": 0.3}},
    "dropped connections": {"drop_rate": {"*": 0.2}},
    "stalled downloads": {"stall": {"Download": 0.3, "Storage": 0.3}},
    "downloads cut short": {"truncate_downloads": 0.5},
}


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_transient_faults_give_exact_rows(make_client, reference, faults) -> None:
    client = make_client(faults=faults, job_duration=dt.timedelta(seconds=0.3))
    try:
        df = client.clicks(*RANGE)
    except ck.ClickkitError as exc:  # allowed: a clear error, and the next call completes
        assert str(exc)
        client.sandbox_server.set_faults(Faults())
        spent = exports(client)
        df = client.clicks(*RANGE)
        assert exports(client) == spent
    pd.testing.assert_frame_equal(_rows(df), reference)


@pytest.mark.parametrize("outcome", ["ERROR_THEN_COMPLETED", "FAILED", "CANCELLED"], ids=str.lower)
def test_job_outcomes_are_survived(make_client, reference, outcome) -> None:
    client = make_client(
        outcomes={"2026-11-17": [outcome]},
        error_retry_interval=dt.timedelta(seconds=0.2),
        error_retries=2,
    )
    df = client.clicks(*RANGE)
    pd.testing.assert_frame_equal(_rows(df), reference)
    stats = client.sandbox_server.stats()["requests"]
    assert stats["ClickExport"] == DAYS
    assert stats["Replay"] == (0 if outcome == "ERROR_THEN_COMPLETED" else 1)


def test_persistent_expired_links_raise_then_a_later_call_completes(make_client, reference):
    client = make_client(faults={"expire_signed_urls": True})
    with pytest.raises(ck.DownloadError, match="signed result link"):
        client.clicks(*RANGE)
    client.sandbox_server.set_faults(Faults())
    df = client.clicks(*RANGE)
    assert exports(client) == DAYS
    pd.testing.assert_frame_equal(_rows(df), reference)


def test_hourly_limit_raises_rate_limited_then_completes(make_client, reference) -> None:
    client = make_client(faults={"hourly_429": True})
    with pytest.raises(ck.RateLimited) as info:
        client.clicks(*RANGE)
    assert info.value.retry_after > 0 and "Try again in" in str(info.value)
    client.sandbox_server.set_faults(Faults())
    df = client.clicks(*RANGE)
    assert exports(client) == DAYS + 1  # the refused call, then one per day
    assert client.quota().used == DAYS  # a refused call spends no quota
    pd.testing.assert_frame_equal(_rows(df), reference)


@pytest.mark.parametrize("mode", ["normal", "late", "twice", "never"])
def test_postbacks_replace_polling_and_safety_net_covers_lost_ones(make_client, reference, mode):
    with PostbackReceiver() as receiver:
        client = make_client(
            postback_url=receiver.url_template, postback=receiver,
            faults={"postback_mode": mode, "postback_delay": 0.5},
            job_duration=dt.timedelta(seconds=0.3), postback_safety_interval=1.5,
        )  # fmt: skip
        df = client.clicks(*RANGE)
    pd.testing.assert_frame_equal(_rows(df), reference)
    status = client.sandbox_server.stats()["status"]
    requests = client.sandbox_server.stats()["requests"]
    assert requests["Job"] == 0
    if mode != "never":
        assert status.get(202, 0) == 0  # no status polls at all: each Download was the file


def test_damaged_or_missing_day_files_are_fetched_again_through_the_job(make_client) -> None:
    client = make_client()
    first = client.clicks(*RANGE)
    files = sorted((client.cache.root / "days").glob("*.parquet"))
    files[0].unlink()
    data = bytearray(files[1].read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the size matches, the checksum does not
    files[1].write_bytes(bytes(data))
    again = client.clicks(*RANGE)
    assert exports(client) == DAYS
    pd.testing.assert_frame_equal(first, again)


def _overlap_worker(args: tuple[str, str, str, str, str, str, str]) -> str:
    url, sid, token, cache_dir, start, end, out = args
    client = ck.Client(sid, token, base_url=url, cache_dir=cache_dir, progress=False,
                       poll_interval=0.05, timezone="America/New_York")  # fmt: skip
    frame = client.clicks(start, end)
    frame.attrs = {}
    frame.to_parquet(out)
    client.close()
    return out


def test_eight_processes_with_overlapping_ranges_export_each_day_once(make_client, tmp_path):
    client = make_client(now=None, job_duration=dt.timedelta(seconds=0.5))
    sb = client.sandbox_server
    ranges = [("2026-11-10", "2026-11-13"), ("2026-11-12", "2026-11-15"),
              ("2026-11-11", "2026-11-14"), ("2026-11-13", "2026-11-16")] * 2  # fmt: skip
    work = [
        (sb.url, sb.account_sid, sb.auth_token, str(tmp_path / "shared"), a, b,
         str(tmp_path / f"{i}.parquet"))
        for i, (a, b) in enumerate(ranges)
    ]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        outs = pool.map(_overlap_worker, work)
    assert exports(client) == 7  # 2026-11-10 .. 2026-11-16
    by_day: dict[str, pd.DataFrame] = {}
    for out in outs:
        frame = pd.read_parquet(out)
        for day, part in frame.groupby(frame["event_date"].dt.date.astype(str)):
            part = part.reset_index(drop=True)
            if day in by_day:
                pd.testing.assert_frame_equal(by_day[day], part)
            by_day[day] = part
    assert len(by_day) == 7


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, clickkit as ck
    url, sid, token, cache = sys.argv[1:5]
    client = ck.Client(sid, token, base_url=url, cache_dir=cache, progress=False,
                       poll_interval=0.05, timezone="America/New_York")
    print("start", flush=True)
    client.clicks("2026-11-10", "2026-11-16")
    print("done", flush=True)
    """
)


def _cache_is_consistent(cache_dir: Path) -> None:
    """Every day file a record points at is whole and readable; no record is half written."""
    cache = Cache(cache_dir)
    try:
        for record in cache.jobs():
            assert record["job_id"] and record["key"]
            if record.get("result") and not record.get("pending"):
                path = cache.day_path(record["key"])
                if path.exists():
                    assert cache.read_day(record["key"], record) is not None
    finally:
        cache.close()


def test_sigkill_at_any_moment_loses_nothing_and_spends_no_export_twice(make_client, tmp_path):
    client = make_client(now=None, clicks_per_day=20_000, job_duration=dt.timedelta(seconds=0.3),
                         faults={"stall": {"Storage": 0.1}})  # fmt: skip
    sb = client.sandbox_server
    cache_dir = tmp_path / "killed"
    args = [
        sys.executable,
        "-c",
        KILL_SCRIPT,
        sb.url,
        sb.account_sid,
        sb.auth_token,
        str(cache_dir),
    ]
    for delay in (0.4, 0.7, 1.0, 1.3, 1.6, 2.0):
        process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "start"
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        _cache_is_consistent(cache_dir)
    finished = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert exports(client) == 7  # each day exported once across all the killed runs
    leftovers = [p for p in (cache_dir / "days").iterdir() if not p.name.endswith(".parquet")]
    assert len(list((cache_dir / "days").glob("*.parquet"))) == 7
    assert all(p.name.startswith(".") for p in leftovers)  # only temp names, never read


def test_cache_is_private_and_never_pickled(make_client, tmp_path) -> None:
    client = make_client()
    client.clicks(*RANGE)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    db = sqlite3.connect(tmp_path / "cache" / "index" / "cache.db")
    modes = {row[0] for row in db.execute("SELECT mode FROM Cache")}
    db.close()
    assert modes and 4 not in modes  # diskcache's MODE_PICKLE is 4


def test_the_token_appears_nowhere(make_client, tmp_path, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(faults={"error_rate": {"Job": 0.2}})
    token = client.sandbox_server.auth_token
    seen: list[str] = [repr(client), repr(client.api), repr(client.cache)]
    df = client.clicks(*RANGE)
    plan = client.plan("2026-11-10", "2026-11-18")
    quota = client.quota()
    seen += [str(plan), plan._repr_html_(), str(quota), quota._repr_html_(), repr(df.attrs)]
    seen += [client.jobs().to_string()]
    bad = ck.Client(client.account_sid, token + "x", base_url=client.settings.base_url,
                    cache_dir=tmp_path / "bad", progress=False)  # fmt: skip
    for call in (lambda: bad.clicks("2026-11-17"), lambda: client.clicks("2030-01-01")):
        with pytest.raises(ck.ClickkitError) as info:
            call()
        seen += [str(info.value), repr(info.value)]
    bad.close()
    env = {**os.environ, "IMPACT_ACCOUNT_SID": client.account_sid, "IMPACT_AUTH_TOKEN": token,
           "CLICKKIT_BASE_URL": client.settings.base_url}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "clickkit", "fetch", "2026-11-10", "--cache-dir",
         str(tmp_path / "cli"), "-o", str(tmp_path / "x.csv"), "-v"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    seen += [out.stdout, out.stderr, caplog.text, *capsys.readouterr()]
    for text in seen:
        assert token not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
