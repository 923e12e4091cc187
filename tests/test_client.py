"""client.clicks(): planned, cached, resumable exports against the sandbox over loopback."""

from __future__ import annotations

import _thread
import datetime as dt
import multiprocessing
import threading
import warnings
from pathlib import Path

import pandas as pd
import pytest
from helpers import exports

import clickkit as ck
from clickkit.cache import request_key
from clickkit.client import ProvisionalDataWarning

WEEK = ("2026-11-16", "2026-11-18")  # complete days relative to NOW


def _same_job_client(client: ck.Client, cache_dir: Path, **options) -> ck.Client:
    """A second client (a restarted kernel) on the same sandbox and cache."""
    sb = client.sandbox_server
    options.setdefault("progress", False)
    options.setdefault("poll_interval", 0.02)
    return ck.Client(
        sb.account_sid, sb.auth_token, base_url=sb.url, clock=sb.now, cache_dir=cache_dir,
        timezone=sb.timezone, **options,
    )  # fmt: skip


def test_clicks_returns_typed_frame_with_provenance(make_client) -> None:
    client = make_client()
    df = client.clicks(*WEEK)
    assert exports(client) == 3
    assert len(df) > 0 and list(df.columns[:3]) == ["id", "program_id", "program_name"]
    assert str(df["event_date"].dtype) == "datetime64[ms, America/New_York]"
    assert set(df["event_date"].dt.date.astype(str)) == {"2026-11-16", "2026-11-17", "2026-11-18"}
    info = df.attrs["clickkit"]
    assert [d["source"] for d in info["days"]] == ["export"] * 3
    assert all(d["final"] for d in info["days"]) and all(d["job_id"] for d in info["days"])
    assert info["api_calls"]["ClickExport"] == 3
    assert sum(d["rows"] for d in info["days"]) == len(df)


def test_provenance_is_enough_to_make_the_call_again(make_client) -> None:
    client = make_client()
    whole = client.clicks(*WEEK)
    df = client.clicks(*WEEK, unique=True, sub_id=["no-such-sub-id"])
    info = df.attrs["clickkit"]
    assert info["clickkit_version"] == ck.__version__
    assert info["request"] == {
        "start": WEEK[0], "end": WEEK[1], "sub_id": ["no-such-sub-id"], "unique": True,
        "scope": "day", "result_format": "CSV", "fetch": "all", "include_today": False,
    }  # fmt: skip
    records = {r["date"]: r for r in client.cache.jobs()}
    for day in info["days"]:
        # The rows this frame has for the day, not the whole day's count.
        assert day["rows"] == 0 and len(df) == 0
        assert day["rows_in_day"] == len(whole[whole["event_date"].dt.date.astype(str)
                                                == day["date"]])  # fmt: skip
        assert day["content_hash"] == records[day["date"]]["result"]["content_hash"]
        assert day["replays"] == 0 and day["result_format"] == "CSV"
    unique = client.clicks(*WEEK, unique=True)
    per_day = unique.groupby(unique["event_date"].dt.date.astype(str)).size()
    assert {d["date"]: d["rows"] for d in unique.attrs["clickkit"]["days"]} == per_day.to_dict()
    again = client.clicks(**unique.attrs["clickkit"]["request"])  # the same call, from it
    pd.testing.assert_frame_equal(again, unique)


def test_second_identical_call_spends_nothing(make_client) -> None:
    client = make_client()
    first = client.clicks(*WEEK)
    before = client.sandbox_server.stats()["requests"]
    second = client.clicks(*WEEK)
    assert client.sandbox_server.stats()["requests"] == before
    assert second.attrs["clickkit"]["api_calls"] == {}
    assert [d["source"] for d in second.attrs["clickkit"]["days"]] == ["cache"] * 3
    pd.testing.assert_frame_equal(first, second)


def test_sub_range_and_filters_of_cached_days_spend_nothing(make_client) -> None:
    client = make_client()
    full = client.clicks(*WEEK)
    before = client.sandbox_server.stats()["requests"]
    program = int(full["program_id"].mode()[0])
    sub = str(full["sub_id1"].dropna().mode()[0])
    narrow = client.clicks("2026-11-17", program_id=[program], sub_id=sub, unique=True)
    assert client.sandbox_server.stats()["requests"] == before
    expected = full[
        (full["event_date"].dt.date == dt.date(2026, 11, 17))
        & (full["program_id"] == program)
        & full[["sub_id1", "sub_id2", "sub_id3"]].eq(sub).any(axis=1)
        & full["unique_click"].fillna(False)
    ]
    assert len(narrow) == len(expected) > 0
    assert narrow["id"].tolist() == expected["id"].tolist()


def test_local_filters_equal_the_api_filters(make_client, tmp_path) -> None:
    local = make_client()
    whole = local.clicks(
        "2026-11-17", program_id=[local.clicks("2026-11-17")["program_id"].iloc[0]]
    )
    program = int(whole["program_id"].iloc[0])
    exact = make_client(cache_dir=tmp_path / "other")
    at_api = exact.clicks("2026-11-17", program_id=[program], scope="exact")
    assert exports(exact) == 1
    assert at_api.attrs["clickkit"]["days"][0]["whole_day"] is False
    assert sorted(at_api["id"]) == sorted(whole["id"])


def test_exact_scope_is_answered_locally_by_a_cached_whole_day(make_client) -> None:
    client = make_client()
    client.clicks("2026-11-17")
    before = exports(client)
    df = client.clicks("2026-11-17", unique=True, scope="exact")
    assert exports(client) == before and df["unique_click"].all()


def test_quota_exhaustion_raises_before_spending(make_client) -> None:
    client = make_client(daily_export_limit=2)
    with pytest.raises(ck.QuotaExhausted) as info:
        client.clicks(*WEEK)
    assert exports(client) == 0
    err = info.value
    assert (err.needed, err.remaining) == (3, 2) and err.resets_at is not None
    assert "fetch='fits'" in str(err) and "Nothing was spent" in str(err)


def test_fetch_what_fits_takes_the_most_recent_days(make_client) -> None:
    client = make_client(daily_export_limit=2)
    with pytest.warns(UserWarning, match="not fetched for lack of quota"):
        df = client.clicks(*WEEK, fetch="fits")
    assert exports(client) == 2
    assert set(df["event_date"].dt.date.astype(str)) == {"2026-11-17", "2026-11-18"}
    assert df.attrs["clickkit"]["deferred"] == ["2026-11-16"]
    assert client.quota().remaining == 0


def test_quota_ledger_counts_every_export(make_client) -> None:
    client = make_client()
    client.clicks(*WEEK)
    quota = client.quota()
    assert (quota.used, quota.remaining, quota.limit) == (3, 7, 10)
    assert quota.calls_today["ClickExport"] == 3
    assert "3 of 10" in str(quota)


def test_provisional_day_then_one_replay_after_it_closes(make_client) -> None:
    client = make_client(clicks_per_day=2000)
    today = client.today().isoformat()
    with pytest.warns(ProvisionalDataWarning, match=today):
        early = client.clicks(today)
    assert early.attrs["clickkit"]["days"][0]["final"] is False
    with pytest.warns(ProvisionalDataWarning):
        again = client.clicks(today)  # still open: served from the cache, no replay
    assert again.attrs["clickkit"]["api_calls"] == {}
    client.sandbox_server.advance(dt.timedelta(days=1, hours=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProvisionalDataWarning)
        late = client.clicks(today)
    day = late.attrs["clickkit"]["days"][0]
    assert day["source"] == "replay" and day["final"] is True
    assert day["job_id"] == early.attrs["clickkit"]["days"][0]["job_id"]
    assert len(late) > len(early)
    stats = client.sandbox_server.stats()["requests"]
    assert stats["ClickExport"] == 1 and stats["Replay"] == 1
    final = client.clicks(today)
    assert final.attrs["clickkit"]["api_calls"] == {}
    assert len(final) == len(late)


def test_timeout_mid_wait_then_resume_without_new_export(make_client, tmp_path) -> None:
    client = make_client(job_duration=dt.timedelta(seconds=30))
    with pytest.raises(ck.WaitTimeout) as info:
        client.clicks("2026-11-17", timeout=0.3)
    job_id = info.value.job_ids[0]
    assert exports(client) == 1
    client.sandbox_server.advance(dt.timedelta(minutes=1))
    restarted = _same_job_client(client, tmp_path / "cache")
    df = restarted.clicks("2026-11-17")
    assert exports(client) == 1
    assert df.attrs["clickkit"]["days"][0]["job_id"] == job_id
    assert df.attrs["clickkit"]["days"][0]["source"] == "resume"


def test_ctrl_c_mid_wait_loses_no_job(make_client, tmp_path) -> None:
    client = make_client(job_duration=dt.timedelta(seconds=30))
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        client.clicks("2026-11-17")
    timer.join()
    assert exports(client) == 1
    record = next(iter(client.cache.jobs()))
    assert record["pending"] and record["job_id"]
    client.sandbox_server.advance(dt.timedelta(minutes=1))
    df = _same_job_client(client, tmp_path / "cache").clicks("2026-11-17")
    assert exports(client) == 1 and len(df) > 0


def test_failed_job_is_replayed_then_completes(make_client) -> None:
    client = make_client(outcomes={"2026-11-17": ["CANCELLED"]})
    df = client.clicks("2026-11-17")
    stats = client.sandbox_server.stats()["requests"]
    assert stats["ClickExport"] == 1 and stats["Replay"] == 1
    assert len(df) > 0


def test_job_failing_past_the_bound_raises_with_ids(make_client) -> None:
    client = make_client(outcomes={"2026-11-17": ["CANCELLED"] * 5}, max_failed_replays=2)
    with pytest.raises(ck.JobFailed) as info:
        client.clicks("2026-11-17")
    assert len(info.value.job_ids) == 1 and info.value.job_ids[0] in str(info.value)
    assert client.sandbox_server.stats()["requests"]["Replay"] == 2


def test_damaged_cached_file_is_fetched_again_without_export(make_client) -> None:
    client = make_client()
    first = client.clicks("2026-11-17")
    (path,) = list((client.cache.root / "days").glob("*.parquet"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    again = client.clicks("2026-11-17")
    stats = client.sandbox_server.stats()["requests"]
    assert stats["ClickExport"] == 1 and stats["Download"] >= 2
    pd.testing.assert_frame_equal(first, again, check_like=False)


def test_pinned_cache_key() -> None:
    key = request_key("IRsandbox0001", dt.date(2026, 10, 1))
    assert key == "94a91e7355f18cdb3d3608fa53d3be9a"
    assert request_key("IRsandbox0001", dt.date(2026, 10, 1), program_ids=[2, 1]) == request_key(
        "IRsandbox0001", dt.date(2026, 10, 1), program_ids=["1", "2"]
    )


def test_cache_never_holds_the_token(make_client, tmp_path) -> None:
    client = make_client()
    client.clicks(*WEEK)
    token = client.sandbox_server.auth_token.encode()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert token not in path.read_bytes(), path
    assert client.sandbox_server.auth_token not in repr(client)
    assert "cache_dir" in repr(client) and client.account_sid in repr(client)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("2026-13-01",), {}, "not a date"),
        (("2026-11-18", "2026-11-10"), {}, "reversed"),
        (("2027-01-01",), {}, "future"),
        (("2024-01-01", "2026-11-01"), {}, "max_days"),
        (("2026-11-17",), {"program_id": "abc"}, "not a numeric id"),
        (("2026-11-17",), {"result_format": "XLS"}, "result_format"),
        (("2026-11-17",), {"scope": "week"}, "scope"),
    ],
)
def test_bad_input_is_refused_before_any_call(make_client, args, kwargs, match) -> None:
    client = make_client()
    with pytest.raises(ck.InvalidRequestError, match=match):
        client.clicks(*args, **kwargs)
    assert sum(client.sandbox_server.stats()["requests"].values()) == 0


def test_plan_is_a_dry_run(make_client) -> None:
    client = make_client()
    client.clicks("2026-11-17")
    before = client.sandbox_server.stats()
    plan = client.plan(*WEEK)
    assert (plan.cached, plan.exports, plan.quota_after) == (1, 2, 7)
    assert client.sandbox_server.stats() == before
    assert "new exports" in str(plan) and "<table>" in plan._repr_html_()


def test_jobs_table_and_refresh_guards(make_client) -> None:
    client = make_client()
    client.clicks("2026-11-17")
    jobs = client.jobs()
    assert jobs[["date", "status", "pending"]].values.tolist() == [
        ["2026-11-17", "COMPLETED", False]
    ]
    with pytest.raises(ck.RefreshRefused, match="min_refresh_interval"):
        client.refresh("2026-11-17")
    with pytest.raises(ck.RefreshRefused, match="nothing is cached"):
        client.refresh("2026-11-10")
    client.sandbox_server.advance(dt.timedelta(hours=2))
    with pytest.raises(ck.RefreshRefused, match="force=True"):
        client.refresh("2026-11-17")  # final when fetched: a replay cannot change it
    refreshed = client.refresh("2026-11-17", force=True)
    assert client.sandbox_server.stats()["requests"]["Replay"] == 1
    assert exports(client) == 1 and len(refreshed) > 0
    assert refreshed.attrs["clickkit"]["days"][0]["source"] == "replay"
    info = refreshed.attrs["clickkit"]
    assert info["api_calls"].get("Replay") == 1 and info["request"]["start"] == "2026-11-17"
    assert info["days"][0]["rows"] == len(refreshed) and info["days"][0]["content_hash"]


def _worker(args: tuple[str, str, str, str, str]) -> str:
    url, sid, token, cache_dir, out = args
    client = ck.Client(sid, token, base_url=url, cache_dir=cache_dir, progress=False,
                       poll_interval=0.05, timezone="America/New_York")  # fmt: skip
    df = client.clicks("2026-11-16", "2026-11-18")
    df.attrs = {}
    df.to_parquet(out)
    client.close()
    return out


def test_several_processes_cause_one_export_per_day(make_client, tmp_path) -> None:
    client = make_client(now=None, job_duration=dt.timedelta(seconds=1))
    sb = client.sandbox_server
    jobs = [
        (sb.url, sb.account_sid, sb.auth_token, str(tmp_path / "shared"), str(tmp_path / f"{i}.pq"))
        for i in range(4)
    ]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outs = pool.map(_worker, jobs)
    assert exports(client) == 3
    frames = [pd.read_parquet(o) for o in outs]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], frame)


def _until(condition, seconds: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; return whether it held."""
    deadline = dt.datetime.now() + dt.timedelta(seconds=seconds)
    while not condition():
        if dt.datetime.now() > deadline:
            return False
        threading.Event().wait(0.02)
    return True


def test_a_day_another_process_exported_first_frees_its_reservation(make_client) -> None:
    # Process A reserves two days; B exports the second while A is held up before its
    # first ClickExport. A then finds B's job: its reservation of that day must go at
    # once, or every other process would count that export twice (once in the ledger,
    # once as A's reservation) for as long as A waits for its jobs.
    mine = make_client(job_duration=dt.timedelta(minutes=10))  # jobs end when told to
    theirs = _same_job_client(mine, mine.cache.root, poll_max=0.2)
    first, second = "2026-11-16", "2026-11-17"
    key1, key2 = (mine.plan(day, day).days[0].key for day in (first, second))
    results: dict[str, object] = {}

    def run(name: str, client: ck.Client, start: str, end: str) -> None:
        try:
            results[name] = client.clicks(start, end)
        except Exception as exc:  # reported by the assertions below
            results[name] = exc

    a = threading.Thread(target=run, args=("a", mine, first, second))
    b = threading.Thread(target=run, args=("b", theirs, second, second))
    with theirs.cache.lock(key1):  # A waits here before its first export
        a.start()
        assert _until(lambda: theirs.quota().reserved == 2)
        b.start()  # B's plan exports the second day (A's reservation covers it)
        assert _until(lambda: (theirs.cache.job(key2) or {}).get("job_id"))
    # A exports the first day and finds B's job for the second.
    assert _until(lambda: (mine.cache.job(key1) or {}).get("job_id"))
    assert _until(lambda: theirs.quota().reserved == 0), "A still holds the day B exported"
    assert theirs.quota().used == 2
    mine.sandbox_server.advance(dt.timedelta(minutes=11))
    a.join(30)
    b.join(30)
    assert exports(mine) == 2
    frame_a, frame_b = results["a"], results["b"]
    assert isinstance(frame_a, pd.DataFrame) and isinstance(frame_b, pd.DataFrame)
    day_b = frame_a[frame_a["event_date"].dt.date.astype(str) == second].reset_index(drop=True)
    pd.testing.assert_frame_equal(day_b, frame_b.reset_index(drop=True), check_like=True)


def test_client_from_env_and_missing_credentials(tmp_path, monkeypatch) -> None:
    with pytest.raises(ck.ConfigurationError, match="IMPACT_ACCOUNT_SID"):
        ck.Client.from_env(cache_dir=tmp_path)
    monkeypatch.setenv("IMPACT_ACCOUNT_SID", "IRenv")
    monkeypatch.setenv("IMPACT_AUTH_TOKEN", "tok-env")
    monkeypatch.setenv("CLICKKIT_TIMEZONE", "Europe/Paris")
    client = ck.Client.from_env(cache_dir=tmp_path)
    assert client.account_sid == "IRenv" and client.settings.timezone == "Europe/Paris"
    assert "tok-env" not in repr(client)
    with pytest.raises(ck.ConfigurationError, match="time zone"):
        ck.Client.from_env(cache_dir=tmp_path, timezone="Mars/Olympus")


def test_from_env_takes_credentials_only_from_the_environment(tmp_path) -> None:
    env = {"IMPACT_ACCOUNT_SID": "IRenv", "IMPACT_AUTH_TOKEN": "tok-env"}
    with pytest.raises(ck.ConfigurationError, match="IMPACT_AUTH_TOKEN not set"):
        ck.Client.from_env({"IMPACT_ACCOUNT_SID": "IRenv"}, cache_dir=tmp_path)
    with pytest.raises(ck.ConfigurationError, match="auth_token to Client"):
        ck.Client.from_env(env, auth_token="tok-arg", cache_dir=tmp_path)
    with ck.Client.from_env(env, cache_dir=tmp_path) as client:
        assert client.account_sid == "IRenv"
    # Client() takes them as arguments.
    with ck.Client("IRarg", "tok-arg", cache_dir=tmp_path, env={}) as client:
        assert client.account_sid == "IRarg"


def test_unwritable_cache_dir_is_named(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ck.CacheError, match="cache_dir"):
        ck.Client("IRx", "tok", cache_dir=blocker / "cache")


def test_job_unknown_to_a_new_server_is_exported_again(make_client, tmp_path) -> None:
    first = make_client(job_duration=dt.timedelta(hours=1))
    with pytest.raises(ck.WaitTimeout, match=r"0\.2 s"):
        first.clicks("2026-11-17", timeout=0.2)
    first.close()  # the server and its jobs are gone; the cache still names the job
    second = make_client()
    df = second.clicks("2026-11-17")
    assert exports(second) == 1 and len(df) > 0
    assert df.attrs["clickkit"]["days"][0]["source"] == "export"
    assert "Storage" not in df.attrs["clickkit"]["api_calls"]
    assert df.attrs["clickkit"]["storage_downloads"] == 1


@pytest.mark.parametrize("fmt", ["JSON", "XML"])
def test_json_and_xml_exports_give_the_csv_frame(make_client, tmp_path, fmt) -> None:
    csv = make_client(cache_dir=tmp_path / "csv").clicks("2026-11-17")
    other = make_client(cache_dir=tmp_path / fmt, result_format=fmt).clicks("2026-11-17")
    pd.testing.assert_frame_equal(csv, other)


def test_a_persisted_sandbox_is_the_same_account_in_the_next_client(make_client, tmp_path) -> None:
    first = make_client(persist=True)
    first.clicks(*WEEK)
    job_ids = {j["id"] for j in first.sandbox_server.jobs()}
    first.sandbox_server.advance(dt.timedelta(hours=5))
    moved = first.now()
    first.close()
    second = make_client(persist=True)  # a new process would do the same
    assert {j["id"] for j in second.sandbox_server.jobs()} == job_ids
    assert second.now() - moved < dt.timedelta(minutes=1)  # the clock went on from there
    assert second.sandbox_server.stats()["requests"]["ClickExport"] == 3
    assert second.quota().used == 3 and second.clicks(*WEEK).attrs["clickkit"]["api_calls"] == {}
    state = (tmp_path / "cache" / "sandbox-state.json").read_text()
    assert second.sandbox_server.auth_token not in state
    with pytest.raises(ck.ConfigurationError, match="seed=2 \\(remembered: 1\\)"):
        make_client(persist=True, seed=2)
