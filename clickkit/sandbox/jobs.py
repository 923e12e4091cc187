"""Export jobs: parameters, runs and the state machine on the sandbox clock.

A job is created by ClickExport and re-run by Replay; each run has an *outcome* chosen
when it is queued. A run moves through attempts, each spending the first 20% of
``duration`` QUEUED and the rest RUNNING::

    COMPLETED              QUEUED -> RUNNING -> COMPLETED
    CANCELLED              QUEUED -> RUNNING -> CANCELLED
    ERROR_THEN_COMPLETED   QUEUED -> RUNNING -> ERROR ...(retry_interval)... -> COMPLETED
    FAILED                 like ERROR_THEN_COMPLETED, but all 1 + retries attempts fail

State is a pure function of the run and the time, so jumping the clock is exact.

Examples
--------
>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 11, 27, tzinfo=UTC)
>>> timing = Timing(timedelta(seconds=10), timedelta(minutes=15), 5)
>>> run = Run(1, t0, "ERROR_THEN_COMPLETED")
>>> [run_state(run, t0 + timedelta(seconds=s), timing).status for s in (1, 5, 11, 921)]
['QUEUED', 'RUNNING', 'ERROR', 'COMPLETED']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

__all__ = [
    "OUTCOMES",
    "TERMINAL",
    "ExportParams",
    "Job",
    "Run",
    "RunState",
    "Timing",
    "run_end",
    "run_state",
]

OUTCOMES = ("COMPLETED", "FAILED", "ERROR_THEN_COMPLETED", "CANCELLED")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
_QUEUED_SHARE = 0.2

_MESSAGES = {
    "QUEUED": "Job is queued for processing.",
    "RUNNING": "Job is being processed.",
    "COMPLETED": "Job processing completed successfully.",
    "ERROR": "Job processing raised an error; it will be retried automatically.",
    "FAILED": "Job processing failed on every attempt. Contact impact.com support.",
    "CANCELLED": "Job was cancelled by an administrator. Contact impact.com support.",
}


@dataclass(frozen=True)
class ExportParams:
    """The normalised parameters of one ClickExport call (the duplicate-detection key)."""

    date: date
    program_ids: tuple[str, ...] = ()
    ad_ids: tuple[str, ...] = ()
    sub_ids: tuple[str, ...] = ()
    unique_click: str | None = None  # "TRUE", "FALSE" or not given
    result_format: str = "CSV"

    def as_dict(self) -> dict[str, Any]:
        """The parameters with their API names, e.g. for ``Sandbox.jobs()``."""
        return {
            "Date": self.date.isoformat(),
            "ProgramId": list(self.program_ids),
            "AdId": list(self.ad_ids),
            "SubId": list(self.sub_ids),
            "UniqueClick": self.unique_click,
            "ResultFormat": self.result_format,
        }


@dataclass(frozen=True)
class Timing:
    """How long runs take on the sandbox clock."""

    duration: timedelta
    retry_interval: timedelta
    retries: int

    def attempts(self, outcome: str) -> int:
        """Number of attempts a run with ``outcome`` makes."""
        return {"FAILED": 1 + self.retries, "ERROR_THEN_COMPLETED": 2}.get(outcome, 1)


@dataclass
class Run:
    """One execution of a job: the first, or one per Replay."""

    number: int
    queued_at: datetime
    outcome: str
    notified: bool = False  # postback already dispatched


@dataclass
class Job:
    """A ClickExport job and its runs."""

    id: str
    params: ExportParams
    created: datetime
    runs: list[Run] = field(default_factory=list)
    abandoned: datetime | None = None

    @property
    def run(self) -> Run:
        """The latest run."""
        return self.runs[-1]


class RunState(NamedTuple):
    """A run's state at one instant; unset dates are None."""

    status: str
    message: str
    started: datetime | None
    completed: datetime | None
    failed: datetime | None
    cancelled: datetime | None
    last_update: datetime
    progress: float  # share of the current attempt done, 0..1


def _attempt_start(run: Run, k: int, timing: Timing) -> datetime:
    return run.queued_at + k * (timing.duration + timing.retry_interval)


def run_end(run: Run, timing: Timing) -> datetime:
    """When the run reaches its terminal state (its result's as-of time if COMPLETED)."""
    last = timing.attempts(run.outcome) - 1
    return _attempt_start(run, last, timing) + timing.duration


def run_state(run: Run, now: datetime, timing: Timing) -> RunState:
    """Compute the state of ``run`` at ``now``."""
    d = timing.duration
    queued_for = d * _QUEUED_SHARE
    attempts = timing.attempts(run.outcome)
    period = d + timing.retry_interval
    elapsed = now - run.queued_at
    k = attempts - 1 if period <= timedelta(0) else int(elapsed // period)
    k = max(0, min(attempts - 1, k))
    start = _attempt_start(run, k, timing)
    failed_before = _attempt_start(run, k - 1, timing) + d if k else None
    started_before = _attempt_start(run, k - 1, timing) + queued_for if k else None

    if now < start + queued_for:
        return RunState(
            "QUEUED", _MESSAGES["QUEUED"], started_before, None, failed_before, None,
            failed_before or run.queued_at, 0.0,
        )  # fmt: skip
    started = start + queued_for
    end = start + d
    if now < end:
        share = (now - started) / (end - started)
        return RunState(
            "RUNNING", _MESSAGES["RUNNING"], started, None, failed_before, None, now, share
        )
    if k < attempts - 1 or run.outcome == "FAILED":
        status = "ERROR" if k < attempts - 1 else "FAILED"
        return RunState(status, _MESSAGES[status], started, None, end, None, end, 0.0)
    if run.outcome == "CANCELLED":
        return RunState("CANCELLED", _MESSAGES["CANCELLED"], started, None, None, end, end, 0.0)
    return RunState(
        "COMPLETED", _MESSAGES["COMPLETED"], started, end, failed_before, None, end, 1.0
    )
