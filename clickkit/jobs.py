"""Job lifecycle: fetch a job's result, replay a job, and wait for many jobs together.

Knows nothing of days or DataFrames. Waiting polls the *Download* endpoint (one call both
asks "ready?" and, once ready, returns the file), for all outstanding jobs on one
schedule whose interval grows geometrically, so the number of polls grows with the log
of a job's duration. With several jobs outstanding, a *survey* (one ``GET Jobs`` list)
reports them all in one call per round, and only the finished ones are checked one by
one: polls then grow with the wait, not with the number of jobs. With a postback
receiver, polling drops to a slow safety net and a postback wakes the waiter, which then
confirms through the API.

Examples
--------
>>> schedule = list(poll_delays(initial=1.0, factor=2.0, maximum=8.0, count=5))
>>> schedule
[1.0, 2.0, 4.0, 8.0, 8.0]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from clickkit.api import Downloaded, ImpactApi, Job, NotReady
from clickkit.errors import ApiError, NotReplayableError, WaitTimeout

log = logging.getLogger("clickkit")

State = Literal["done", "pending", "failed", "lost"]

#: Reports several jobs in one call: the Jobs it shows by id, or ``None`` when the list
#: is not available (the waiter then checks each job on its own for the rest of the wait).
Survey = Callable[[Sequence[str]], Mapping[str, Job] | None]


def poll_delays(
    *, initial: float, factor: float, maximum: float, count: int | None = None
) -> Iterator[float]:
    """Delays between polling rounds: ``initial``, growing by ``factor`` up to ``maximum``."""
    delay = initial
    produced = 0
    while count is None or produced < count:
        yield min(delay, maximum)
        delay *= factor
        produced += 1


class Waker(Protocol):
    """What a postback receiver offers the waiter."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; return early (True) when a postback arrives."""
        ...

    def seen(self, job_id: str) -> bool:
        """Whether a postback for ``job_id`` arrived since it was last taken."""
        ...


@dataclass(frozen=True)
class Check:
    """The outcome of checking one job: ``done``, ``pending``, ``failed`` or ``lost``."""

    state: State
    job: Job | None = None


@dataclass(frozen=True)
class ResultGone:
    """The job exists but its result does not (past retention): replay it, never re-export."""

    job: Job


def fetch_result(
    api: ImpactApi, job_id: str, dest: Path | None = None
) -> Downloaded | Job | ResultGone:
    """Download a job's result (to ``dest``, else into memory), or say why there is none.

    Returns the Job when it has no result yet (queued, running, in error, failed or
    cancelled, however the server signals that: 202, a 200 carrying the Job, 404 or
    409), and :class:`ResultGone` when the job is finished but its result is no longer
    served. Only a job unknown to ``Jobs/{id}`` itself raises
    :class:`~clickkit.errors.NotFoundError`.
    """
    try:
        result = api.download(job_id, dest)
    except ApiError as exc:
        if exc.status not in (404, 409, 410):
            raise
        job = api.get_job(job_id)  # a 404 here means the job itself is gone
        if job.status == "COMPLETED":
            return ResultGone(job)
        return job
    return result.job if isinstance(result, NotReady) else result


def replay(api: ImpactApi, job_id: str) -> Job:
    """Replay a job; if it is already queued or running (someone else replayed), say so."""
    try:
        return api.replay(job_id)
    except NotReplayableError:
        job = api.get_job(job_id)
        if job.status in ("QUEUED", "RUNNING"):
            log.info("job %s is already %s; not replayed again", job_id, job.status)
            return job
        raise


class Waiter:
    """Waits for several jobs at once.

    Parameters
    ----------
    poll_initial, poll_factor, poll_max : float
        The polling schedule (seconds): delays grow by ``poll_factor`` from
        ``poll_initial``, capped at the larger of ``poll_max`` and ``late_fraction`` of
        the time already waited.
    late_fraction : float
        How late, as a share of the wait so far, a finished job may be noticed.
    safety_interval : float
        With a waker, the slow polling interval used in case a postback never comes.
    waker : Waker, optional
        A postback receiver.
    sleep, monotonic : callable
        Clock functions (tests may pass their own).
    min_survey : int
        With a ``survey``, the fewest jobs to check in a round for which the list is
        asked (for one job, its own poll is as cheap and may fetch the file at once).
    """

    def __init__(
        self,
        *,
        poll_initial: float = 1.0,
        poll_factor: float = 1.6,
        poll_max: float = 30.0,
        safety_interval: float = 300.0,
        late_fraction: float = 0.25,
        waker: Waker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        min_survey: int = 2,
    ) -> None:
        self.poll_initial = poll_initial
        self.poll_factor = poll_factor
        self.poll_max = poll_max
        self.safety_interval = safety_interval
        self.late_fraction = late_fraction
        self.waker = waker
        self._sleep = sleep
        self._monotonic = monotonic
        self.min_survey = min_survey

    def wait(
        self,
        job_ids: Iterable[str],
        check: Callable[..., Check],
        *,
        timeout: float | None = None,
        immediate: bool | Iterable[str] = False,
        on_round: Callable[[dict[str, Check]], None] | None = None,
        survey: Survey | None = None,
    ) -> dict[str, Check]:
        """Call ``check`` for each outstanding job until each is done or failed.

        ``check`` is called right away for the jobs in ``immediate`` (all when True):
        resumed jobs may be finished already. The others are first checked after the
        first delay, or when a postback names them. Jobs in ERROR stay outstanding (impact.com
        retries them). Returns the final :class:`Check` of every job.

        With ``survey``, a round that would check several jobs first asks the survey for
        all of them, and ``check`` is called as ``check(job_id, job)``: with the
        :class:`~clickkit.api.Job` the survey showed, or ``None`` for a job it did not
        show. ``check`` decides what a listed job needs (a listed job that is still
        running needs no call of its own). Once the survey answers ``None`` it is not
        asked again during this wait.

        Raises
        ------
        WaitTimeout
            When ``timeout`` seconds pass; the jobs go on and a later call resumes them.

        Examples
        --------
        >>> states = iter(["pending", "done"])
        >>> Waiter(sleep=lambda s: None).wait(["j1"], lambda j: Check(next(states)))
        {'j1': Check(state='done', job=None)}
        """
        outstanding = list(dict.fromkeys(job_ids))
        first_round = set(outstanding) if immediate is True else set(immediate or ())
        results: dict[str, Check] = {}
        deadline = None if timeout is None else self._monotonic() + timeout
        delays = poll_delays(
            initial=self.poll_initial, factor=self.poll_factor, maximum=float("inf")
        )
        started = last_poll = self._monotonic()
        first = True
        while outstanding:
            if first and first_round:
                to_check, named_only = [j for j in outstanding if j in first_round], False
            else:
                woke = self._pause(self._delay(started, delays), outstanding, deadline, timeout)
                to_check, named_only = self._due(outstanding, woke, last_poll)
            first = False
            if to_check:
                last_poll = self._monotonic()
            listed: Mapping[str, Job] | None = None
            if survey is not None and not named_only and len(to_check) >= self.min_survey:
                listed = survey(list(to_check))
                if listed is None:
                    log.info("the Jobs list is not available; each job is polled on its own")
                    survey = None
            if survey is None:
                checked = {job_id: check(job_id) for job_id in to_check}
            else:
                checked = {job_id: check(job_id, (listed or {}).get(job_id)) for job_id in to_check}
            results.update(checked)
            outstanding = [
                j for j in outstanding if checked.get(j, Check("pending")).state == "pending"
            ]
            if on_round is not None:
                on_round(results)
        return results

    def _delay(self, started: float, delays: Iterator[float]) -> float:
        """The pause before the next round, given when the wait started."""
        waited = self._monotonic() - started
        if self.waker is not None:
            # Safety-net polls thin out the same way for very long jobs.
            return max(self.safety_interval, self.late_fraction * waited)
        # The cap grows with the time already waited, so polls stay logarithmic in a job's
        # duration while a result is never fetched much later than ``late_fraction`` of
        # that duration after it is ready.
        return min(next(delays), max(self.poll_max, self.late_fraction * waited))

    def _pause(
        self,
        delay: float,
        outstanding: Sequence[str],
        deadline: float | None,
        timeout: float | None,
    ) -> bool:
        """Sleep ``delay`` (less if the deadline is nearer); True when a postback woke us."""
        if deadline is not None:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise WaitTimeout(
                    f"{len(outstanding)} job(s) still running after {timeout:g} s; "
                    "nothing is lost: call again to resume them.",
                    job_ids=list(outstanding),
                )
            delay = min(delay, remaining)
        if self.waker is not None:
            return self.waker.wait(delay)
        self._sleep(delay)
        return False

    def _due(
        self, outstanding: Sequence[str], woke: bool, last_poll: float
    ) -> tuple[list[str], bool]:
        """The jobs to check this round, and whether they are only the ones postbacks named.

        Jobs a postback named are finished: they need no survey first. A postback that
        names no job we wait for still means "look now", as does a safety poll falling due.
        """
        if self.waker is None:
            return list(outstanding), False
        safety_due = self._monotonic() - last_poll >= self.safety_interval
        named = [j for j in outstanding if self.waker.seen(j)]
        named_only = not (safety_due or (woke and not named))
        return (named if named_only else list(outstanding)), named_only
