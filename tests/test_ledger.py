"""The quota ledger: its pure arithmetic, and its books on a real cache in tmp_path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import clickkit as ck
from clickkit.api import CallRecord, RateLimitState
from clickkit.ledger import Ledger, call_name, counts_toward_quota, remaining_exports
from clickkit.plan import DayPlan, Filters, Plan, QuotaStatus, make_plan
from clickkit.settings import resolve
from clickkit.shared import open_cache

NOW = dt.datetime(2026, 11, 27, 15, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("ClickExport", True),
        ("ClickExport (no answer)", True),  # it may have reached the server
        ("ClickExport (500)", True),
        ("ClickExport (429)", False),  # refused by the rate limiter
        ("ClickExport (401)", False),
        ("ClickExport (403)", False),
        ("Replay", False),
        ("Download", False),
    ],
)
def test_which_calls_spend_an_export(name: str, counts: bool) -> None:
    assert counts_toward_quota(name) is counts


def test_call_names_carry_refusals() -> None:
    assert call_name("ClickExport", 202) == "ClickExport"
    assert call_name("ClickExport", 503) == "ClickExport (503)"
    assert call_name("Download", None) == "Download (no answer)"


@pytest.mark.parametrize(
    ("calls", "server", "expected"),
    [
        ({}, None, (0, 10)),
        ({"ClickExport": 4, "Download": 9, "ClickExport (429)": 3}, None, (4, 6)),
        ({"ClickExport": 12}, None, (12, 0)),  # never below zero
        ({"ClickExport": 2}, 5, (5, 5)),  # the server knows of calls made elsewhere
        ({"ClickExport": 2}, 9, (2, 8)),  # ...but never gives back what was counted
        ({"ClickExport": 2}, -1, (10, 0)),
    ],
)
def test_remaining_exports(calls: dict[str, int], server: int | None, expected) -> None:
    assert remaining_exports(calls, 10, server) == expected


def _ledger(tmp_path: Path, rate: RateLimitState | None = None) -> Ledger:
    settings = resolve({"cache_dir": tmp_path, "daily_export_limit": 3}, {})
    cache = open_cache(tmp_path)
    return Ledger(cache, "IRabc", settings, now=lambda: NOW, rate_limit=rate or RateLimitState())


def _call(endpoint: str, status: int | None) -> CallRecord:
    return CallRecord(endpoint, status, 0.1, NOW)


def test_recorded_calls_make_the_status(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    for status in (202, 429, None):
        ledger.record(_call("ClickExport", status))
    ledger.record(_call("Download", 200))
    status = ledger.status()
    assert (status.limit, status.used, status.remaining) == (3, 2, 1)
    assert status.quota_day == TODAY
    assert ledger.calls()["ClickExport (429)"] == 1
    # Another ledger on the same cache (another process) sees the same books.
    assert _ledger(tmp_path).status().used == 2


def test_a_429_with_hours_left_means_the_day_is_spent(tmp_path: Path) -> None:
    rate = RateLimitState(remaining_hour=5)
    ledger = _ledger(tmp_path, rate)
    ledger.record(_call("ClickExport", 429))
    assert ledger.server_remaining(TODAY) == 0
    assert ledger.status().remaining == 0


def _plan(exports: int, prefix: str = "k") -> Plan:
    days = [
        DayPlan(TODAY - dt.timedelta(days=i + 1), "export", f"{prefix}{i}", None, True, True)
        for i in range(exports)
    ]
    quota = QuotaStatus(limit=3, used=0, remaining=3, quota_day=TODAY, resets_at=NOW)
    start = min(d.date for d in days)
    return make_plan(start, TODAY, scope="day", filters=Filters(), day_plans=days, quota=quota)


def test_reservations_are_seen_by_others_and_released(tmp_path: Path) -> None:
    mine, theirs = _ledger(tmp_path), _ledger(tmp_path)
    with mine.reserved(_plan(2), "all") as plan:
        assert plan.exports == 2
        assert theirs.status().remaining == 1 and theirs.status().reserved == 2
        mine.spend("k0")  # sent: now in the ledger, no longer a reservation
    assert theirs.status().reserved == 0


def test_a_plan_beyond_what_others_left_raises_or_shrinks(tmp_path: Path) -> None:
    mine, theirs = _ledger(tmp_path), _ledger(tmp_path)
    with theirs.reserved(_plan(2), "all"):
        with (
            pytest.raises(ck.QuotaExhausted, match="Nothing was spent"),
            mine.reserved(_plan(2, "m"), "all"),
        ):
            pass
        with mine.reserved(_plan(2, "m"), "fits") as plan:
            assert plan.exports == 1
            assert plan.deferred == (TODAY - dt.timedelta(days=2),)


def test_a_day_exported_since_the_plan_was_made_needs_no_reservation(tmp_path: Path) -> None:
    # Another process exported k0 and k1 after this plan was made (its plan still says
    # "export"): the ledger counts those two exports, and reserving them again on top
    # would leave 3 - 2 = 1 export for 2 keys and refuse a plan that costs nothing more.
    theirs, mine = _ledger(tmp_path), _ledger(tmp_path)
    stale = _plan(2)
    for key in ("k0", "k1"):
        theirs.record(_call("ClickExport", 202))
        theirs.cache.put_job(key, {"key": key, "job_id": f"job-{key}", "status": "QUEUED"})
    with mine.reserved(stale, "all") as plan:
        assert plan.exports == 2  # the executor finds their jobs and waits for them
        assert theirs.status().reserved == 0
    # A job that is gone is exported again, and that one does need the quota.
    theirs.cache.put_job("k1", {"key": "k1", "job_id": "job-k1", "job_gone": True})
    with mine.reserved(stale, "all"):
        assert theirs.status().reserved == 1
