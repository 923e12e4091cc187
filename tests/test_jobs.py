"""The waiter's schedule: polls grow with the log of a job's duration; postbacks replace them."""

from __future__ import annotations

import itertools
import math
import threading
import urllib.request
import warnings

import pytest
import requests

import clickkit as ck
from clickkit.jobs import Check, Waiter, poll_delays
from clickkit.postback import PostbackReceiver


class FakeTime:
    """A clock the waiter sleeps on, so job durations of hours take no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def _polls_until(duration: float, **schedule: float) -> tuple[int, float]:
    """Polls a waiter makes for a job of ``duration`` seconds, and when it noticed the end."""
    clock = FakeTime()
    calls = 0

    def check(job_id: str) -> Check:
        nonlocal calls
        calls += 1
        return Check("done") if clock.now >= duration else Check("pending")

    Waiter(sleep=clock.sleep, monotonic=clock.monotonic, **schedule).wait(["job"], check)
    return calls, clock.now


def test_polls_grow_logarithmically_with_job_duration() -> None:
    uncapped = {"poll_initial": 1.0, "poll_factor": 1.6, "poll_max": 3600.0}
    counts = {d: _polls_until(d, **uncapped)[0] for d in (5, 50, 500, 5000)}
    for duration, count in counts.items():
        assert count <= math.ceil(math.log(duration * 0.6 + 1, 1.6)) + 2, counts
    # Ten times longer jobs cost a constant number of extra polls, not ten times more.
    assert counts[5000] - counts[500] == pytest.approx(counts[500] - counts[50], abs=1)


def test_poll_delays_are_capped() -> None:
    assert list(poll_delays(initial=1, factor=2, maximum=5, count=5)) == [1, 2, 4, 5, 5]


def test_all_jobs_share_one_schedule_and_finish_independently() -> None:
    clock = FakeTime()
    done_at = {"a": 2.0, "b": 30.0}
    seen: list[tuple[str, float]] = []

    def check(job_id: str) -> Check:
        seen.append((job_id, clock.now))
        return Check("done") if clock.now >= done_at[job_id] else Check("pending")

    Waiter(poll_initial=1, poll_factor=2, poll_max=60, sleep=clock.sleep,
           monotonic=clock.monotonic).wait(["a", "b"], check)  # fmt: skip
    times_a = [t for j, t in seen if j == "a"]
    assert times_a[-1] >= 2 and len(times_a) == 2
    assert [t for j, t in seen if j == "b"][-1] >= 30


def test_timeout_keeps_job_ids() -> None:
    clock = FakeTime()
    waiter = Waiter(poll_initial=1, sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(ck.WaitTimeout) as info:
        waiter.wait(["slow"], lambda j: Check("pending"), timeout=10)
    assert info.value.job_ids == ["slow"] and "call again" in str(info.value)


def test_immediate_jobs_are_checked_before_any_sleep() -> None:
    clock = FakeTime()
    first: list[float] = []

    def check(job_id: str) -> Check:
        first.append(clock.now)
        return Check("done")

    Waiter(poll_initial=5, sleep=clock.sleep, monotonic=clock.monotonic).wait(
        ["r"], check, immediate=True
    )
    assert first == [0.0]


def test_postback_receiver_wakes_only_named_jobs_and_refuses_without_secret() -> None:
    with PostbackReceiver() as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        bad = receiver.url.rsplit("/", 1)[0] + "/wrong-secret?JobId=a"
        assert requests.get(bad, timeout=5).status_code == 403
        assert receiver.received == 0
        checked: list[str] = []

        def check(job_id: str) -> Check:
            checked.append(job_id)
            return Check("done")

        def deliver() -> None:
            urllib.request.urlopen(receiver.url_template.format(JobId="b", Status="COMPLETED"))

        timer = threading.Timer(0.2, deliver)
        timer.start()
        waiter = Waiter(waker=receiver, safety_interval=30)
        result = waiter.wait(["b"], check, timeout=10)
        timer.join()
        assert checked == ["b"] and result["b"].state == "done"
        assert receiver.received == 1
        assert "secret" not in repr(receiver) and receiver.url.split("/")[-1] not in repr(receiver)


def test_postback_json_body_is_accepted() -> None:
    with PostbackReceiver() as receiver:
        response = requests.post(
            receiver.url, json={"JobId": "j9", "Status": "COMPLETED"}, timeout=5
        )
        assert response.status_code == 200
        assert receiver.seen("j9") and not receiver.seen("j9")


def test_default_cap_keeps_polls_logarithmic_for_long_jobs() -> None:
    counts = []
    for duration in (100, 1_000, 10_000, 100_000):
        count, noticed = _polls_until(duration)
        assert noticed <= max(duration * 1.25, duration + 30) + 1  # never much later
        counts.append(count)
    steps = [b - a for a, b in itertools.pairwise(counts)]
    assert max(steps) <= 12 and counts[-1] < 60, counts  # a 30 s cap alone: 3,000+ polls


def test_malformed_rows_are_counted_once_when_the_typed_read_falls_back() -> None:
    from clickkit import schema

    data = b"Id,ProgramId\na,1\nb,2,EXTRA\nc,twelve\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = schema.parse_export(data)
    messages = [str(w.message) for w in caught if issubclass(w.category, schema.ParseWarning)]
    assert sum("1 malformed CSV row" in m for m in messages) == 1
    assert any("'program_id': 1 of 2" in m for m in messages)  # kept as text, not fatal
    assert table["program_id"].to_pylist() == ["1", "twelve"]
