"""Long ranges under the daily quota: plans that say when, backfill, and the daily sync.

Everything runs against the sandbox over real loopback HTTP with a 10-export daily quota.
The sandbox clock is moved instead of sleeping: ``backfill(..., sleep=server.advance)``.
The account lives in America/New_York (conftest); the quota resets at midnight UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from helpers import exports

import clickkit as ck
from clickkit.backfill import BackfillReport, sync
from clickkit.plan import final_at, quota_schedule
from clickkit.sandbox import Sandbox

#: conftest's clock starts at Fri 2026-11-27 12:00 UTC (07:00 in New York): 2026-11-26 is
#: final (since 08:00 UTC), 2026-11-27 is today.
TODAY = dt.date(2026, 11, 27)
LAST = dt.date(2026, 11, 26)
MONTH = (LAST - dt.timedelta(days=30), LAST)  # 31 complete days
RESET = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)  # the first quota reset


def replays(client: ck.Client) -> int:
    return client.sandbox_server.stats()["requests"].get("Replay", 0)


# ---------------------------------------------------------------------------------------
# Plans that say when


def test_31_days_need_4_quota_days_and_say_when_all_is_loaded(make_client) -> None:
    client = make_client()
    plan = client.plan(*MONTH)
    assert plan.quota.resets_at == RESET
    assert (plan.exports, plan.quota.remaining) == (31, 10)
    assert plan.quota_days == 4  # 10 today + 10 + 10 + 1
    # The fourth quota day (today's is the first) starts at the third reset from now.
    assert plan.finishes_at == RESET + dt.timedelta(days=2)
    assert plan.finishes_at.tzinfo is not None
    text = str(plan)
    assert "exports left after: 0 of 10" in text and "-21" not in text
    assert "quota days needed: 4 (31 exports: 10 left today, then 10 a day)" in text
    assert "all loaded by: Mon 30 Nov 00:00 UTC" in text
    # One summary line for 31 days with the same action; the frame keeps every day.
    assert "2026-10-27 to 2026-11-26 (31 days)  export  final" in text
    assert len(text.splitlines()) < 15
    assert len(plan.to_frame()) == 31
    markup = plan._repr_html_()
    assert "quota days needed" in markup and "(31 days)" in markup
    assert "needs 4 quota days" in repr(plan) and "0 exports left after" in repr(plan)
    assert exports(client) == 0


def test_a_plan_that_fits_needs_no_later_day(make_client) -> None:
    plan = make_client().plan(LAST - dt.timedelta(days=6), LAST)
    assert (plan.quota_days, plan.finishes_at) == (1, None)
    assert "quota days needed" not in str(plan)


def test_quota_schedule_counts_what_is_left_today() -> None:
    def schedule(n: int, left: int, reserve: int = 0) -> tuple[int, dt.datetime | None]:
        return quota_schedule(n, remaining=left, limit=10, resets_at=RESET, reserve=reserve)

    assert schedule(0, 10) == (0, None)
    assert schedule(10, 10) == (1, None)
    assert schedule(11, 10) == (2, RESET)
    assert schedule(31, 5) == (4, RESET + dt.timedelta(days=2))  # 5 + 10 + 10 + 6
    assert schedule(31, 0) == (4, RESET + dt.timedelta(days=3))  # nothing today
    assert schedule(31, 10, reserve=2) == (4, RESET + dt.timedelta(days=2))  # 8 + 8 + 8 + 7
    assert schedule(33, 10, reserve=2) == (5, RESET + dt.timedelta(days=3))


def test_fetch_fits_leaves_out_todays_day_unless_asked(make_client) -> None:
    client = make_client()
    fits = client.plan(LAST, TODAY, fetch="fits")
    assert fits.held_back == (TODAY,) and [d.date for d in fits.days] == [LAST]
    with pytest.warns(UserWarning, match="not final yet"):
        df = client.clicks(LAST, TODAY, fetch="fits")
    assert exports(client) == 1
    assert df.attrs["clickkit"]["held_back"] == [TODAY.isoformat()]
    with pytest.warns(ck.ProvisionalDataWarning):
        df = client.clicks(LAST, TODAY, fetch="fits", include_today=True)
    assert exports(client) == 2 and df.attrs["clickkit"]["held_back"] == []
    # Once cached, the provisional day is served by fetch="fits" too (it costs nothing).
    assert client.plan(LAST, TODAY, fetch="fits").held_back == ()
    with pytest.raises(ck.InvalidRequestError, match="include_today"):
        client.plan(LAST, TODAY, fetch="fits", include_today="yes")


# ---------------------------------------------------------------------------------------
# Backfill


def test_backfill_with_wait_finishes_on_the_fourth_quota_day_with_31_exports(
    make_client,
) -> None:
    client = make_client()
    server = client.sandbox_server
    finishes_at = client.plan(*MONTH).finishes_at
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        server.advance(seconds)

    report = client.backfill(*MONTH, wait=True, sleep=sleep)
    assert exports(client) == 31 and report.exports == 31
    assert len(slept) == 3  # one wait per reset
    assert finishes_at <= client.now() < finishes_at + dt.timedelta(minutes=5)
    assert (report.days_done, report.days_left, report.next_run) == (31, 0, None)
    assert report.complete and report.replays == 0
    # Everything is final in the cache: loading the month is free.
    df = client.clicks(*MONTH)
    assert exports(client) == 31 and df.attrs["clickkit"]["api_calls"] == {}
    assert {d["final"] for d in df.attrs["clickkit"]["days"]} == {True}


def test_backfill_spends_newest_days_first_and_says_when_to_run_again(make_client) -> None:
    client = make_client()
    report = client.backfill(*MONTH)
    assert report.exports == 10 and exports(client) == 10
    assert (report.days_done, report.days_left) == (10, 21)
    assert report.next_run == RESET and report.next_reason == "quota reset"
    assert report.left[-1] == LAST - dt.timedelta(days=10)  # the 10 newest were done
    assert report.left[0] == MONTH[0]
    line = str(report)
    assert line == (
        "backfill 2026-10-27 to 2026-11-26: 10 exports, 0 replays; 10 of 31 days done, "
        "21 left; next run from Sat 28 Nov 00:00 UTC (quota reset)"
    )
    assert "<table>" in report._repr_html_() and "Backfill" in report._repr_html_()
    data = json.loads(json.dumps(report.to_dict()))
    assert data["next_run"] == RESET.isoformat() and data["days_left"] == 21
    assert {"exports", "replays", "days_done", "days_left", "next_run"} <= set(data)
    # Nothing is left today: a second call spends nothing.
    again = client.backfill(*MONTH)
    assert (again.exports, exports(client), again.days_done) == (0, 10, 10)


def test_interrupted_backfill_resumes_without_spending_twice(make_client) -> None:
    client = make_client()
    server = client.sandbox_server

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.backfill(*MONTH, wait=True, sleep=interrupt)
    assert exports(client) == 10
    server.advance(dt.timedelta(hours=13))  # past the reset
    calls = 0

    def interrupt_later(seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        server.advance(seconds)

    with pytest.raises(KeyboardInterrupt):
        client.backfill(*MONTH, wait=True, sleep=interrupt_later)
    assert exports(client) == 30  # 10 + 10 after the reset + 10 after the next one
    report = client.backfill(*MONTH, wait=True, sleep=server.advance)
    assert exports(client) == 31 and report.exports == 1 and report.complete


def test_a_backfill_whose_jobs_time_out_resumes_them(make_client) -> None:
    client = make_client(job_duration=dt.timedelta(hours=1))
    with pytest.raises(ck.WaitTimeout):
        client.backfill(LAST - dt.timedelta(days=2), LAST, timeout=0.3)
    assert exports(client) == 3
    client.sandbox_server.advance(dt.timedelta(hours=1, minutes=1))
    report = client.backfill(LAST - dt.timedelta(days=2), LAST)
    assert exports(client) == 3 and report.exports == 0
    assert (report.days_done, report.days_left) == (3, 0)


def test_backfill_never_exports_today_and_replays_a_provisional_day_once(make_client) -> None:
    client = make_client(clicks_per_day=2000)
    report = client.backfill(LAST - dt.timedelta(days=1), TODAY)
    assert exports(client) == 2 and report.exports == 2
    closes = final_at(TODAY, "America/New_York", client.settings.settle_delay)
    assert (report.days_done, report.left) == (2, (TODAY,))
    assert report.next_run == closes and report.next_reason == "2026-11-27 becomes final"

    with pytest.warns(ck.ProvisionalDataWarning):
        early = client.clicks(TODAY)  # interactive: today, provisional
    assert exports(client) == 3
    client.sandbox_server.advance(closes - client.now() + dt.timedelta(minutes=1))
    report = client.backfill(LAST - dt.timedelta(days=1), TODAY)
    assert (report.exports, report.replays, replays(client)) == (0, 1, 1)
    assert report.complete
    again = client.backfill(LAST - dt.timedelta(days=1), TODAY)
    assert (again.exports, again.replays, replays(client), exports(client)) == (0, 0, 1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ck.ProvisionalDataWarning)
        final = client.clicks(TODAY)
    assert len(final) > len(early)


def test_backfill_leaves_the_reserve_for_interactive_calls(make_client, tmp_path) -> None:
    client = make_client(reserve=3)
    assert client.quota().reserve == 3 and "kept for interactive use" in str(client.quota())
    report = client.backfill(*MONTH)
    assert report.exports == 7 and report.exports_left == 3 and report.reserve == 3
    # Interactive calls may spend the reserve.
    client.clicks(MONTH[0])
    assert exports(client) == 8
    # An explicit reserve wins over the setting; a backfill never goes below it.
    assert client.backfill(*MONTH, reserve=0).exports == 2
    assert client.quota().remaining == 0
    with pytest.raises(ck.InvalidRequestError, match="reserve=10"):
        client.backfill(*MONTH, reserve=10)
    from_env = make_client(env={"CLICKKIT_RESERVE": "4"}, cache_dir=tmp_path / "env")
    assert from_env.settings.reserve == 4
    assert from_env.backfill(*MONTH).exports == 6
    with pytest.raises(ck.ConfigurationError, match="CLICKKIT_RESERVE"):
        make_client(env={"CLICKKIT_RESERVE": "10"}, cache_dir=tmp_path / "bad")


def test_explorer_cost_line_says_when_and_loads_what_fits(make_client) -> None:
    from clickkit import widgets

    client = make_client(daily_export_limit=3)
    explorer = widgets.explorer(client)  # the last 7 complete days: 7 exports, 3 left
    cost = explorer.cost.value
    assert "Not enough exports left: this needs 7, 3 remain" in cost
    assert "Needs <b>3 quota days</b>; all loaded by <b>Sun 29 Nov 00:00 UTC</b>" in cost
    assert "loads 3 of 7 days (3 exports)" in cost
    assert explorer.fits_button.layout.display is None  # shown
    assert exports(client) == 0
    explorer.fits_button.click()
    assert explorer.data is not None and exports(client) == 3
    assert explorer.data.attrs["clickkit"]["deferred"] != []
    assert "Not enough exports left: this needs 4, 0 remain" in explorer.cost.value
    assert explorer.fits_button.layout.display == "none"  # nothing fits any more today


# ---------------------------------------------------------------------------------------
# The daily sync


def test_a_daily_sync_for_a_week_keeps_the_cache_complete(make_client) -> None:
    client = make_client(clicks_per_day=200)
    server = client.sandbox_server
    since = "2026-11-20"
    with pytest.warns(ck.ProvisionalDataWarning):
        client.clicks(TODAY)  # someone looks at today: provisional, replayed once later
    first = sync(client, since)
    assert (first.start, first.end) == (dt.date(2026, 11, 20), LAST)
    assert (first.exports, first.replays, first.days_left) == (7, 0, 0)
    assert sync(client, since).exports == 0  # twice the same day: nothing spent
    provisional = {TODAY}
    for day in range(1, 8):
        server.advance(dt.timedelta(days=1))
        before_exports, before_replays = exports(client), replays(client)
        if day == 3:
            with pytest.warns(ck.ProvisionalDataWarning):
                client.clicks(client.today())
            provisional.add(client.today())
            before_exports += 1
        report = sync(client, since)
        new_day = client.today() - dt.timedelta(days=1)  # final since 03:00 New York time
        expected_replays = 1 if new_day in provisional else 0
        expected_exports = 1 - expected_replays  # a provisional day is replayed, not exported
        assert (report.exports, report.replays) == (expected_exports, expected_replays), day
        assert exports(client) - before_exports == expected_exports
        assert replays(client) - before_replays == expected_replays
        assert report.complete and report.end == new_day
        rerun = sync(client, since)
        assert (rerun.exports, rerun.replays) == (0, 0)
    plan = client.plan(since, client.today() - dt.timedelta(days=1))
    assert plan.cached == len(plan.days) == 14 and not plan.provisional
    assert exports(client) == 7 + 1 + 5 + 1  # first run, today's look, 5 new days, day 3's look
    assert replays(client) == 2


@pytest.fixture
def account(tmp_path: Path):
    """A sandbox on the real clock, reached the way a real account is (environment)."""
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


def _clickkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clickkit", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip


def test_sync_command_spends_once_and_prints_one_line_or_json(account) -> None:
    sb, env = account
    since = (sb.now().date() - dt.timedelta(days=4)).isoformat()
    first = _clickkit("sync", "--since", since, "--json", env=env)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["days_left"] == 0 and data["next_run"] is None and data["kind"] == "sync"
    assert data["exports"] == data["days_done"] >= 3
    assert sb.stats()["requests"]["ClickExport"] == data["exports"]
    second = _clickkit("sync", "--since", since, env=env)
    assert second.returncode == 0, second.stderr
    assert len(second.stdout.splitlines()) == 1 and second.stdout.startswith("sync ")
    assert ": 0 exports, 0 replays;" in second.stdout and "0 left" in second.stdout
    assert sb.stats()["requests"]["ClickExport"] == data["exports"]
    refused = _clickkit("sync", "--since", since, "--reserve", "10", env=env)
    assert refused.returncode == 1 and "reserve=10" in refused.stderr


def test_report_fields() -> None:
    report = BackfillReport(dt.date(2026, 1, 1), dt.date(2026, 1, 2), 1, 0, 1, 1, None)
    assert report.to_dict()["left"] == [] and not report.complete
    assert "no run can change the rest" in str(report)
