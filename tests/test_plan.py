"""Planning decisions, finality and quota arithmetic (pure logic)."""

from __future__ import annotations

import datetime as dt

import pytest

from clickkit.plan import (
    Candidate,
    Filters,
    QuotaStatus,
    date_range,
    final_at,
    is_final,
    make_plan,
    plan_day,
    quota_day,
    quota_reset,
    replay_refusal,
)

DAY = dt.date(2026, 10, 1)


def _quota(remaining: int = 10) -> QuotaStatus:
    return QuotaStatus(
        limit=10,
        used=10 - remaining,
        remaining=remaining,
        quota_day=dt.date(2026, 11, 27),
        resets_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
    )


def _candidate(record: dict | None, has_frame: bool = True) -> Candidate:
    return Candidate("k", record, has_frame, True)


def test_finality_uses_account_zone_and_settle_delay() -> None:
    settle = dt.timedelta(hours=3)
    at = final_at(DAY, "America/New_York", settle)
    assert at.isoformat() == "2026-10-02T03:00:00-04:00"
    assert not is_final(DAY, at - dt.timedelta(seconds=1), "America/New_York", settle)
    assert is_final(DAY, at, "America/New_York", settle)
    assert is_final(DAY, dt.datetime(2026, 10, 2, 3, tzinfo=dt.UTC), "UTC", settle)


def test_quota_day_and_reset() -> None:
    now = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
    assert quota_day(now, "UTC") == dt.date(2026, 11, 27)
    assert quota_day(now, "Asia/Tokyo") == dt.date(2026, 11, 28)
    assert quota_reset(now, "UTC") == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def test_no_record_means_export() -> None:
    plan = plan_day(DAY, [_candidate(None, False)], "new", final=True, export_whole_day=True)
    assert (plan.action, plan.key) == ("export", "new")


def test_final_result_is_served_from_cache() -> None:
    record = {"job_id": "j", "result": {"final": True}}
    assert plan_day(DAY, [_candidate(record)], "k", final=True, export_whole_day=True).action == (
        "cache"
    )


def test_provisional_result_served_while_open_then_replayed_once() -> None:
    record = {"job_id": "j", "result": {"final": False}}
    open_day = plan_day(DAY, [_candidate(record)], "k", final=False, export_whole_day=True)
    assert open_day.action == "cache" and "provisional" in open_day.note
    closed = plan_day(DAY, [_candidate(record)], "k", final=True, export_whole_day=True)
    assert closed.action == "replay" and closed.job_id == "j"
    replayed = {**record, "final_replay": True}
    again = plan_day(DAY, [_candidate(replayed)], "k", final=True, export_whole_day=True)
    assert again.action == "cache"


def test_pending_job_or_missing_file_is_resumed_never_reexported() -> None:
    pending = {"job_id": "j", "pending": True}
    assert (
        plan_day(DAY, [_candidate(pending, False)], "k", final=True, export_whole_day=True).action
        == "resume"
    )
    lost_file = {"job_id": "j", "result": {"final": True}}
    plan = plan_day(DAY, [_candidate(lost_file, False)], "k", final=True, export_whole_day=True)
    assert plan.action == "resume" and plan.job_id == "j"


def test_whole_day_candidate_answers_an_exact_request_first() -> None:
    whole = Candidate("whole", {"job_id": "w", "result": {"final": True}}, True, True)
    exact = Candidate("exact", None, False, False)
    plan = plan_day(DAY, [whole, exact], "exact", final=True, export_whole_day=False)
    assert (plan.action, plan.key, plan.whole_day) == ("cache", "whole", True)


def test_fetch_fits_keeps_the_most_recent_days() -> None:
    days = list(date_range(DAY, DAY + dt.timedelta(days=4)))
    plans = [plan_day(d, [], f"k{d}", final=True, export_whole_day=True) for d in days]
    plan = make_plan(days[0], days[-1], scope="day", filters=Filters(), day_plans=plans,
                     quota=_quota(2), fetch="fits")  # fmt: skip
    assert [d.date for d in plan.days] == days[-2:]
    assert list(plan.deferred) == days[:3]
    assert plan.exports == 2 and plan.quota_after == 0
    full = make_plan(days[0], days[-1], scope="day", filters=Filters(), day_plans=plans,
                     quota=_quota(2))  # fmt: skip
    assert full.exports == 5 and full.quota_after == -3 and not full.deferred


def test_plan_displays_as_text_and_html() -> None:
    plans = [plan_day(DAY, [], "k", final=False, export_whole_day=True)]
    plan = make_plan(DAY, DAY, scope="day", filters=Filters(program_ids=(7,)), day_plans=plans,
                     quota=_quota())  # fmt: skip
    text, markup = str(plan), plan._repr_html_()
    assert "new exports" in text and "provisional" in text and "program_id" in text
    assert "<table>" in markup and "2026-10-01" in markup
    assert plan.to_frame()["action"].tolist() == ["export"]
    assert "9 exports left after" in repr(plan)


def test_quota_status_display() -> None:
    q = _quota(4)
    assert "6 of 10" in str(q) and "<table>" in q._repr_html_()


# -- refresh guards ------------------------------------------------------------------------

GUARD_NOW = dt.datetime(2026, 10, 2, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("record", "refusal"),
    [
        ({}, None),
        ({"pending": True}, "has not finished"),
        ({"submitted_at": "2026-10-02T11:30:00+00:00"}, "30 min ago"),
        ({"last_replay_at": "2026-10-02T11:59:00+00:00"}, "1 min ago"),
        # The run asked for last decides, not the first submission.
        (
            {
                "submitted_at": "2026-10-01T00:00:00+00:00",
                "requested_at": "2026-10-02T11:00:01+00:00",
            },
            "the next replay may run from 2026-10-02 12:00 UTC",
        ),
        ({"submitted_at": "2026-10-02T10:00:00+00:00"}, None),
        ({"replays_by_day": {"2026-10-02": 3}}, "already replayed 3 times today"),
        ({"replays_by_day": {"2026-10-01": 3}}, None),  # yesterday's replays
    ],
)
def test_replay_guards(record: dict, refusal: str | None) -> None:
    said = replay_refusal(record, GUARD_NOW, min_interval=dt.timedelta(hours=1), max_per_day=3)
    if refusal is None:
        assert said is None
    else:
        assert said is not None and refusal in said


def test_replays_are_counted_in_the_quota_day_of_the_quota_zone() -> None:
    # 01:00 UTC on Oct 2 is still Oct 1 in New York.
    now = dt.datetime(2026, 10, 2, 1, tzinfo=dt.UTC)
    record = {"replays_by_day": {"2026-10-01": 1}}
    options = {"min_interval": dt.timedelta(hours=1), "max_per_day": 1}
    assert replay_refusal(record, now, quota_timezone="America/New_York", **options)
    assert replay_refusal(record, now, quota_timezone="UTC", **options) is None
