"""The two promises off the happy path: the data is right (and says when it is
provisional), and no export is ever spent twice.

Each test reproduces a path that once broke one of them: a finality decided at download
time, a provisional day whose job is gone, a replayed job that still serves its previous
file, a short or empty body, a damaged day file, a replay right after an export, a lost
ClickExport answer, a result past retention, several processes racing for the quota, a
lost cache index and an unwritable cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from helpers import NOW, exports

import clickkit as ck
from clickkit.errors import ProvisionalDataWarning
from clickkit.plan import quota_day
from clickkit.sandbox import Faults, Sandbox, generate_day

DAY = "2026-11-17"


def _rows(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["event_date", "id"]).reset_index(drop=True)


def _full_day(client: ck.Client, day: str | dt.date) -> int:
    """Rows of the complete day as the sandbox generates them (with every late click)."""
    return generate_day(
        dt.date.fromisoformat(str(day)), seed=1, clicks_per_day=300,
        account_sid=client.account_sid, timezone=client.settings.timezone,
    ).num_rows  # fmt: skip


def _client_on(sb: Sandbox, cache_dir: Path, **options) -> ck.Client:
    """A client for an explicitly made sandbox (one that a test can restart)."""
    options.setdefault("progress", False)
    options.setdefault("poll_interval", 0.02)
    options.setdefault("poll_max", 0.2)
    return ck.Client(
        sb.account_sid, sb.auth_token, base_url=sb.url, clock=sb.now, cache_dir=cache_dir,
        timezone=sb.timezone, **options,
    )  # fmt: skip


@contextlib.contextmanager
def _no_provisional_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProvisionalDataWarning)
        yield


# -- silent wrong data ------------------------------------------------------------------


def test_finality_follows_the_run_not_the_download(make_client) -> None:
    client = make_client(job_duration=dt.timedelta(seconds=2))
    today = client.today()
    with pytest.raises(ck.WaitTimeout):
        client.clicks(today, timeout=0.3)  # exported while the day is open, then interrupted
    client.sandbox_server.advance(dt.timedelta(days=1, hours=4))
    df = client.clicks(today)  # resumed after the day closed: its result is provisional...
    day = df.attrs["clickkit"]["days"][0]
    # ...so it is replayed at once, and only the replayed (complete) day is called final.
    assert day["final"] is True and day["source"] == "replay"
    assert len(df) == _full_day(client, today)
    stats = client.sandbox_server.stats()["requests"]
    assert (stats["ClickExport"], stats["Replay"]) == (1, 1)


def test_a_provisional_day_whose_job_is_gone_warns_then_is_exported_again(tmp_path) -> None:
    cache_dir = tmp_path / "cache"
    options = {"seed": 1, "clicks_per_day": 300, "job_duration": 0, "auth_token": "t0k"}
    with Sandbox(now=NOW, **options) as first:
        client = _client_on(first, cache_dir)
        with pytest.warns(ProvisionalDataWarning):
            early = client.clicks(client.today())
        client.close()
    today = dt.date.fromisoformat(early.attrs["clickkit"]["days"][0]["date"])
    # impact.com no longer knows the job when the day's final replay is due.
    with Sandbox(now=NOW + dt.timedelta(days=1, hours=4), **options) as second:
        client = _client_on(second, cache_dir)
        spent = quota_day(client.now(), "UTC")
        client.cache.count_call(client.account_sid, spent, "ClickExport", 10)  # no quota left
        for _ in range(2):  # served, and warned about, every time until it can be exported
            with pytest.warns(ProvisionalDataWarning, match=today.isoformat()):
                stale = client.clicks(today)
            assert len(stale) == len(early)
            assert stale.attrs["clickkit"]["days"][0]["final"] is False
        assert second.stats()["requests"]["ClickExport"] == 0
        second.advance(dt.timedelta(days=1))  # a new quota day
        with _no_provisional_warning():
            full = client.clicks(today)
        assert second.stats()["requests"]["ClickExport"] == 1
        assert full.attrs["clickkit"]["days"][0]["final"] is True
        assert len(full) == _full_day(client, today) > len(early)
        with _no_provisional_warning():
            again = client.clicks(today)
        assert again.attrs["clickkit"]["api_calls"] == {}
        client.close()


def test_a_replay_is_accepted_only_once_a_new_run_completed(make_client) -> None:
    # The replayed job keeps answering COMPLETED and serving its previous file for a while.
    client = make_client(replay_lag=1.5, clicks_per_day=2000)
    today = client.today()
    with pytest.warns(ProvisionalDataWarning):
        early = client.clicks(today)
    client.sandbox_server.advance(dt.timedelta(days=1, hours=4))
    with _no_provisional_warning():
        late = client.clicks(today)
    assert late.attrs["clickkit"]["days"][0]["source"] == "replay"
    assert len(late) == _full_day_for(client, today, 2000) > len(early)


def _full_day_for(client: ck.Client, day: dt.date, per_day: int) -> int:
    return generate_day(
        day, seed=1, clicks_per_day=per_day, account_sid=client.account_sid,
        timezone=client.settings.timezone,
    ).num_rows  # fmt: skip


@pytest.mark.parametrize("fault", ["short_downloads", "empty_downloads"])
def test_short_or_empty_bodies_are_never_stored(make_client, fault) -> None:
    client = make_client(faults={fault: True})
    with pytest.raises(ck.DownloadError):
        client.clicks(DAY)
    assert not list((client.cache.root / "days").glob("*.parquet"))
    client.sandbox_server.set_faults(Faults())
    df = client.clicks(DAY)
    assert exports(client) == 1
    assert len(df) == _full_day(client, DAY)


def test_short_bodies_now_and_then_still_give_the_whole_day(make_client) -> None:
    client = make_client(faults={"short_downloads": 0.5})
    try:
        df = client.clicks("2026-11-15", DAY)
    except ck.DownloadError:  # allowed: a clear error, and the next call completes
        df = client.clicks("2026-11-15", DAY)
    assert exports(client) == 3
    assert len(df) == sum(_full_day(client, d) for d in ("2026-11-15", "2026-11-16", DAY))


def test_a_renamed_column_in_a_damaged_footer_is_caught(make_client) -> None:
    client = make_client()
    first = client.clicks(DAY)
    (path,) = (client.cache.root / "days").glob("*.parquet")
    data = path.read_bytes()
    assert b"program_name" in data
    path.write_bytes(data.replace(b"program_name", b"program_4ame"))  # same size
    again = client.clicks(DAY)
    assert exports(client) == 1
    pd.testing.assert_frame_equal(first, again)


def test_the_automatic_final_replay_waits_for_the_guard(make_client) -> None:
    # Exported two minutes before the day turns final, asked for again just after.
    client = make_client(now=dt.datetime(2026, 11, 28, 2, 58, tzinfo=dt.UTC), timezone="UTC")
    with pytest.warns(ProvisionalDataWarning):
        client.clicks("2026-11-27")
    client.sandbox_server.advance(dt.timedelta(minutes=3))
    plan = client.plan("2026-11-27")
    assert plan.replays == 0 and "next replay may run from" in plan.days[0].note
    with pytest.warns(ProvisionalDataWarning):
        client.clicks("2026-11-27")
    assert client.sandbox_server.stats()["requests"]["Replay"] == 0
    client.sandbox_server.advance(dt.timedelta(hours=1))
    with _no_provisional_warning():
        df = client.clicks("2026-11-27")
    assert df.attrs["clickkit"]["days"][0]["final"] is True
    assert client.sandbox_server.stats()["requests"]["Replay"] == 1


# -- quota spent twice ------------------------------------------------------------------


def test_a_lost_clickexport_answer_is_found_in_the_jobs_list(make_client) -> None:
    client = make_client(faults={"lose_export_answer": True})
    df = client.clicks(DAY)
    assert exports(client) == 1  # found through the (free) Jobs list, not sent again
    assert client.sandbox_server.stats()["requests"]["JobList"] == 1
    assert client.quota().used == 1  # the lost call counted all the same
    assert len(df) == _full_day(client, DAY)
    client.sandbox_server.set_faults(Faults())
    again = client.clicks(DAY)
    assert again.attrs["clickkit"]["api_calls"] == {} and exports(client) == 1


def test_failed_clickexport_calls_count_toward_the_quota(make_client) -> None:
    client = make_client(faults={"error_rate": {"ClickExport": 1.0}})
    with pytest.raises(ck.ServerError):
        client.clicks(DAY)
    used = client.quota().used
    assert used == exports(client) >= 1  # every call that reached the server counted
    assert used <= 2  # sent at most once more after an unknown outcome


def test_a_result_past_retention_is_replayed_never_exported_again(make_client) -> None:
    client = make_client(retention=dt.timedelta(days=1))
    first = client.clicks(DAY)
    for path in (client.cache.root / "days").glob("*.parquet"):
        path.unlink()  # the day file is lost...
    client.sandbox_server.advance(dt.timedelta(days=2))  # ...and the result is past retention
    again = client.clicks(DAY)
    stats = client.sandbox_server.stats()["requests"]
    assert (stats["ClickExport"], stats["Replay"]) == (1, 1)
    pd.testing.assert_frame_equal(_rows(first), _rows(again))


def _racer(args: tuple[str, str, str, str, str, str]) -> str:
    url, sid, token, cache_dir, start, end = args
    client = ck.Client(sid, token, base_url=url, cache_dir=cache_dir, progress=False,
                       poll_interval=0.05, timezone="America/New_York")  # fmt: skip
    try:
        client.clicks(start, end)
        return "ok"
    except ck.ClickkitError as exc:
        return type(exc).__name__
    finally:
        client.close()


def test_processes_reserve_the_quota_before_spending(make_client, tmp_path) -> None:
    client = make_client(now=None, job_duration=dt.timedelta(seconds=0.3))
    sb = client.sandbox_server
    first = dt.date(2026, 10, 1)
    work = [
        (sb.url, sb.account_sid, sb.auth_token, str(tmp_path / "shared"),
         (first + dt.timedelta(days=2 * i)).isoformat(),
         (first + dt.timedelta(days=2 * i + 1)).isoformat())
        for i in range(8)
    ]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        outcomes = pool.map(_racer, work)
    assert exports(client) == 10
    assert sorted(outcomes) == ["QuotaExhausted"] * 3 + ["ok"] * 5


def test_a_deleted_cache_index_is_rebuilt_from_the_day_files(make_client) -> None:
    client = make_client()
    first = client.clicks("2026-11-15", DAY)
    client.cache.close()
    shutil.rmtree(client.cache.root / "index")
    restarted = _client_on(client.sandbox_server, client.cache.root)
    again = restarted.clicks("2026-11-15", DAY)
    assert exports(client) == 3 and again.attrs["clickkit"]["api_calls"] == {}
    pd.testing.assert_frame_equal(first, again)
    restarted.close()


def test_an_unwritable_cache_fails_before_any_export(make_client) -> None:
    client = make_client()
    days = client.cache.root / "days"
    shutil.rmtree(days)
    days.write_text("not a folder")
    with pytest.raises(ck.CacheError, match="cache_dir"):
        client.clicks(DAY)
    assert exports(client) == 0


def test_refresh_refuses_final_days_unless_forced_and_caps_replays(make_client) -> None:
    client = make_client(min_refresh_interval=dt.timedelta(0), max_replays_per_day=2)
    client.clicks(DAY)
    with pytest.raises(ck.RefreshRefused, match="force=True"):
        client.refresh(DAY)
    client.refresh(DAY, force=True)
    client.refresh(DAY, force=True)
    with pytest.raises(ck.RefreshRefused, match="2 times today"):
        client.refresh(DAY, force=True)
    assert client.sandbox_server.stats()["requests"]["Replay"] == 2
    assert exports(client) == 1
