"""Results a Jobs list showed finished are downloaded one ahead, on their own thread."""

from __future__ import annotations

import threading

import pytest

from clickkit.prefetch import Prefetcher


class Fetches:
    """A fetch that records which job it fetched on which thread; ``gate`` holds it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, job_id: str) -> str:
        self.gate.wait(10)
        self.calls.append((job_id, threading.current_thread().name))
        if job_id == "broken":
            raise OSError("cut short")
        return f"result of {job_id}"


def test_planned_results_are_fetched_in_order_one_ahead_of_the_one_taken() -> None:
    fetches = Fetches()
    fetches.gate.clear()
    with Prefetcher(fetches, ahead=1) as prefetcher:
        prefetcher.plan(["a", "b", "c"])
        fetches.gate.set()
        first = prefetcher.take("a")
        assert first is not None and first.result() == "result of a"
        second = prefetcher.take("b")  # started when "a" was taken
        assert second is not None and second.result() == "result of b"
        third = prefetcher.take("c")
        assert third is not None and third.result() == "result of c"
    assert [job for job, _ in fetches.calls] == ["a", "b", "c"]
    assert {thread for _, thread in fetches.calls} == {"clickkit-download_0"}


def test_nothing_beyond_ahead_is_fetched_until_a_result_is_taken() -> None:
    fetches = Fetches()
    with Prefetcher(fetches, ahead=1) as prefetcher:
        prefetcher.plan(["a", "b", "c"])
        prefetcher._started["a"].result()
        assert [job for job, _ in fetches.calls] == ["a"]  # b waits until a is taken
        assert prefetcher.take("x") is None  # never planned: the caller fetches it itself
        assert [job for job, _ in fetches.calls] == ["a"]
    assert [job for job, _ in fetches.calls] == ["a"]  # closing drops b and c unfetched


def test_a_job_taken_before_its_turn_leaves_the_plan_until_planned_again() -> None:
    fetches = Fetches()
    with Prefetcher(fetches, ahead=1) as prefetcher:
        prefetcher.plan(["a", "b", "c"])
        assert prefetcher.take("c") is None  # the caller fetches c itself
        prefetcher.plan(["a", "b"])  # ids already planned do not join twice
        assert prefetcher.take("a").result() == "result of a"
        assert prefetcher.take("b").result() == "result of b"
        assert [job for job, _ in fetches.calls] == ["a", "b"]
        prefetcher.plan(["c"])  # a later round (say, its result was refused): again
        assert prefetcher.take("c").result() == "result of c"
    assert [job for job, _ in fetches.calls] == ["a", "b", "c"]


def test_a_failed_fetch_raises_where_it_is_taken() -> None:
    with Prefetcher(Fetches()) as prefetcher:
        prefetcher.plan(["broken", "b"])
        with pytest.raises(OSError, match="cut short"):
            prefetcher.take("broken").result()
        assert prefetcher.take("b").result() == "result of b"
