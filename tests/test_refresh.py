"""The refresh guard (pure logic); refreshes end to end are in test_client/test_promises."""

from __future__ import annotations

import datetime as dt

import pytest

from clickkit.refresh import refresh_refusal

DAY = dt.date(2026, 11, 17)
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
GUARDS = {"min_interval": dt.timedelta(hours=1), "max_per_day": 3}


@pytest.mark.parametrize("status", ["QUEUED", "RUNNING", "ERROR"])
def test_an_unfinished_job_is_not_replayed(status: str) -> None:
    refusal = refresh_refusal(DAY, {"pending": True}, status, NOW, force=True, **GUARDS)
    assert refusal is not None
    assert refusal.startswith(f"the job for 2026-11-17 is {status}")
    assert "clicks() resumes it" in refusal


def test_a_pending_record_whose_job_finished_may_be_replayed() -> None:
    record = {"pending": True, "requested_at": "2026-11-20T09:00:00+00:00"}
    assert refresh_refusal(DAY, record, "COMPLETED", NOW, **GUARDS) is None
    assert record["pending"] is True  # the caller's record is left as it was


def test_a_pending_record_without_a_status_waits() -> None:
    refusal = refresh_refusal(DAY, {"pending": True}, None, NOW, **GUARDS)
    assert refusal is not None and "has not finished yet" in refusal


def test_the_replay_guards_apply_and_name_the_settings() -> None:
    recent = {"requested_at": "2026-11-20T11:50:00+00:00"}
    refusal = refresh_refusal(DAY, recent, None, NOW, force=True, **GUARDS)
    assert refusal is not None and refusal.startswith("2026-11-17 is not replayed: ")
    assert "10 min ago" in refusal and "min_refresh_interval" in refusal
    many = {"replays_by_day": {"2026-11-20": 3}}
    refusal = refresh_refusal(DAY, many, None, NOW, force=True, **GUARDS)
    assert refusal is not None and "already replayed 3 times today" in refusal
    # Where the quota day has turned (UTC+14), those replays were yesterday's.
    other_zone = refresh_refusal(
        DAY, many, None, NOW, quota_timezone="Pacific/Kiritimati", **GUARDS
    )
    assert other_zone is None


def test_a_day_final_when_fetched_needs_force() -> None:
    record = {"result": {"final": True}}
    refusal = refresh_refusal(DAY, record, None, NOW, **GUARDS)
    assert refusal is not None and "force=True" in refusal
    assert refresh_refusal(DAY, record, None, NOW, force=True, **GUARDS) is None
    assert refresh_refusal(DAY, {"result": {"final": False}}, None, NOW, **GUARDS) is None
