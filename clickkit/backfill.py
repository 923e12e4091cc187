"""Long ranges under the daily quota: a backfill that fills the cache, and a daily sync.

impact.com allows 10 ClickExport calls a day, one day per export, so a quarter takes
nine quota days. :func:`backfill` (``client.backfill()``) spends what the quota allows
now on the most recent complete days, replays provisional days that became final, and
says what is left and when to run again; with ``wait=True`` it sleeps until the quota
resets and carries on. :func:`sync` is one run of it without waiting, for cron
(``clickkit sync``).

A backfill never builds a DataFrame and never exports a day that is not final yet: a
day exported before it is over costs an export now and a replay later. Everything it
does goes through the same plans, job records and quota reservations as
``client.clicks()``, so an interrupted backfill continues where it stopped and never
spends an export twice.

Examples
--------
>>> report = client.backfill("2026-08-01", "2026-10-31")  # doctest: +SKIP
>>> print(report)  # doctest: +SKIP
backfill 2026-08-01 to 2026-10-31: 10 exports, 0 replays; 10 of 92 days done, 82 left; ...
>>> client.backfill("2026-08-01", "2026-10-31", wait=True)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from clickkit.errors import InvalidRequestError
from clickkit.ledger import counts_toward_quota
from clickkit.plan import DayPlan, Plan, Request, describe_when, final_at, is_final
from clickkit.records import JobRecord

if TYPE_CHECKING:
    from clickkit.loader import Loader
    from clickkit.settings import Settings

__all__ = ["BackfillReport", "backfill", "last_final_day", "sync"]

log = logging.getLogger("clickkit")


class Clocked(Protocol):
    """A clock and the settings that say when a day is final (a Client or a Loader)."""

    settings: Settings

    def now(self) -> dt.datetime: ...
    def today(self) -> dt.date: ...


class Client(Protocol):
    """What :func:`sync` needs from :class:`clickkit.Client` (named here, not imported)."""

    def backfill(self, start: Any, end: Any = None, **options: Any) -> BackfillReport: ...


#: Slept past the moment a run becomes useful, so the quota day has surely turned.
_MARGIN = dt.timedelta(seconds=1)
#: Least pause between two rounds that changed nothing (a job still running, say).
_IDLE_PAUSE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class BackfillReport:
    """What a backfill (or sync) did, and what is left.

    Attributes
    ----------
    start, end : datetime.date
        The range.
    exports : int
        ClickExport calls spent by this run.
    replays : int
        Replays made by this run (provisional days that became final, failed jobs).
    days_done : int
        Days of the range whose final data is in the cache.
    days_left : int
        Days still to export, replay or wait for.
    next_run : datetime.datetime or None
        When running again can make progress (aware), or ``None`` when nothing is left.
    next_reason : str
        Why then: ``"quota reset"``, ``"2026-11-27 becomes final"``...
    left : tuple of datetime.date
        The days left.
    reserve : int
        Exports of each quota day the run left for interactive use.
    exports_left : int
        Exports left in the current quota day after the run (reserve included).
    kind : {"backfill", "sync"}
        Which of the two ran (the report's text starts with it).

    Examples
    --------
    >>> report = client.backfill("2026-10-27", "2026-11-26")  # doctest: +SKIP
    >>> report.exports, report.days_done, report.days_left  # doctest: +SKIP
    (10, 10, 21)
    """

    start: dt.date
    end: dt.date
    exports: int
    replays: int
    days_done: int
    days_left: int
    next_run: dt.datetime | None
    next_reason: str = ""
    left: tuple[dt.date, ...] = ()
    reserve: int = 0
    exports_left: int = 0
    kind: str = "backfill"

    @property
    def complete(self) -> bool:
        """True when every day of the range is final in the cache."""
        return self.days_left == 0

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-able values (dates and datetimes in ISO 8601)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dt.date):  # datetime is a date too
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = [v.isoformat() for v in value]
            out[f.name] = value
        return out

    def _next_text(self) -> str:
        if self.next_run is None:
            return "nothing left to do" if self.complete else "no run can change the rest"
        reason = f" ({self.next_reason})" if self.next_reason else ""
        return f"next run from {describe_when(self.next_run)}{reason}"

    def __str__(self) -> str:
        total = self.days_done + self.days_left
        return (
            f"{self.kind} {self.start} to {self.end}: {self.exports} export"
            f"{'s' if self.exports != 1 else ''}, {self.replays} replay"
            f"{'s' if self.replays != 1 else ''}; {self.days_done} of {total} days done, "
            f"{self.days_left} left; {self._next_text()}"
        )

    def __repr__(self) -> str:
        return f"<BackfillReport {self}>"

    def _repr_html_(self) -> str:
        rows = [
            ("range", f"{self.start} to {self.end}"),
            ("exports spent", str(self.exports)),
            ("replays", str(self.replays)),
            ("days done", f"{self.days_done} of {self.days_done + self.days_left}"),
            ("days left", str(self.days_left)),
            ("next run", self._next_text().removeprefix("next run from ")),
            ("exports left today", f"{self.exports_left} ({self.reserve} kept back)"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>Backfill</caption>{body}</table>"


def last_final_day(client: Clocked) -> dt.date:
    """The most recent day that is final (over, plus the settle delay) on the client's clock."""
    settings = client.settings
    now = client.now()
    day = client.today()
    while not is_final(day, now, settings.timezone, settings.settle_delay):
        day -= dt.timedelta(days=1)
    return day


def check_reserve(value: Any, limit: int) -> int:
    """``value`` as a number of exports kept back: a whole number from 0 to ``limit - 1``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise InvalidRequestError(
            f"reserve={value!r} must be a whole number from 0 to {limit - 1}: the exports of "
            f"each quota day (of {limit}) that the backfill leaves for interactive use."
        )
    return value


def backfill(
    loader: Loader,
    req: Request,
    *,
    reserve: int,
    wait: bool = False,
    progress: bool = False,
    timeout: float | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> BackfillReport:
    """Fill the cache for ``req`` through ``loader`` (``client.loader``).

    See :meth:`clickkit.Client.backfill`.

    Each round plans the range, keeps the new exports of final days that fit in the
    exports left minus ``reserve`` (most recent first), the replays and the resumed
    jobs, and carries them out; then it looks at what is left. With ``wait`` it sleeps
    (``sleep``, seconds; :func:`time.sleep` by default) until the next round can make
    progress and goes on until every day is final in the cache.
    """
    sleep = time.sleep if sleep is None else sleep
    before = loader.ledger.calls()
    bar = _Bar(len(_days(req)), progress and wait)
    try:
        while True:
            done_before = bar.n
            loader.carry_out(req, "fits", progress, timeout, reserve=reserve)
            state = _state(loader, req, reserve)
            bar.show(state)
            if not wait or not state.left or state.next_run is None:
                break
            now = loader.now()
            until = max(state.next_run, now) + _MARGIN
            if len(state.done) == done_before and state.next_run <= now:
                until = now + _IDLE_PAUSE  # nothing changed and nothing to wait for: pace
            log.info("backfill: %s; sleeping until %s", state.reason, until.isoformat())
            sleep((until - now).total_seconds())
    finally:
        bar.close()
    spent = loader.ledger.calls() - before
    quota = loader.ledger.status()
    return BackfillReport(
        start=req.start,
        end=req.end,
        exports=sum(n for name, n in spent.items() if counts_toward_quota(name)),
        replays=spent.get("Replay", 0),
        days_done=len(state.done),
        days_left=len(state.left),
        next_run=state.next_run,
        next_reason=state.reason,
        left=tuple(state.left),
        reserve=reserve,
        exports_left=quota.remaining,
    )


def sync(
    client: Client,
    since: Any,
    until: Any = None,
    *,
    reserve: int | None = None,
    **filters: Any,
) -> BackfillReport:
    """One idempotent run for cron: a backfill of ``since``..``until`` without waiting.

    Exports the newest missing complete days that fit in the exports left minus
    ``reserve``, replays provisional days that became final, and returns the report.
    Run twice, the second run spends nothing. ``until`` defaults to the last final day.
    This is what ``clickkit sync`` runs.

    Examples
    --------
    >>> print(sync(client, "2026-09-01"))  # doctest: +SKIP
    sync 2026-09-01 to 2026-11-26: 10 exports, 1 replay; 40 of 87 days done, ...
    """
    report = client.backfill(since, until, reserve=reserve, wait=False, **filters)
    return dataclasses.replace(report, kind="sync")


# -- internals -------------------------------------------------------------------------


@dataclass
class _State:
    done: list[dt.date]
    left: list[dt.date]
    next_run: dt.datetime | None
    reason: str


def _days(req: Request) -> list[dt.date]:
    return [req.start + dt.timedelta(days=i) for i in range((req.end - req.start).days + 1)]


def _state(loader: Loader, req: Request, reserve: int) -> _State:
    """Which days are done, which are left, and when a run can next make progress."""
    plan = loader.plan(req, "all")  # free: a dry run of the whole range
    now = loader.now()
    budget = plan.quota.remaining - reserve
    done: list[dt.date] = []
    left: list[dt.date] = []
    options: list[tuple[dt.datetime, str]] = []
    for day_plan in plan.days:
        if day_plan.action == "cache" and not day_plan.provisional:
            done.append(day_plan.date)
            continue
        when = _next_chance(loader, plan, day_plan, now, budget)
        if when is None:  # replayed after it closed, still provisional: nothing to do
            done.append(day_plan.date)
            continue
        left.append(day_plan.date)
        options.append(when)
    if not options:
        return _State(done, left, None, "")
    at, reason = min(options)
    return _State(done, left, at, reason)


def _next_chance(
    loader: Loader, plan: Plan, day_plan: DayPlan, now: dt.datetime, budget: int
) -> tuple[dt.datetime, str] | None:
    """When a run can next make progress on one day that is not done, and why."""
    settings = loader.settings
    closes = final_at(day_plan.date, settings.timezone, settings.settle_delay)
    reset = plan.quota.resets_at
    if day_plan.action in ("resume", "replay"):
        return now, "jobs in progress"
    if day_plan.action == "export":
        if not day_plan.final:
            if budget <= 0 and reset > closes:
                return reset, "quota reset"
            return closes, f"{day_plan.date} becomes final"
        if budget > 0:
            return now, "exports left now"
        return reset, "quota reset"
    # Served from the cache but provisional.
    if not day_plan.final:
        return closes, f"{day_plan.date} becomes final"
    record = JobRecord.of(loader.cache.job(day_plan.key)) or JobRecord(day_plan.key)
    if record.final_replay:
        return None
    last = record.last_run_at  # the replay guard's clock
    if last:
        ready = last + loader.options.min_refresh_interval
        if ready > now:
            return ready, f"{day_plan.date} may be replayed"
    return reset, "replay limit resets"


class _Bar:
    """Days done out of the range, with the next reset, while a backfill waits."""

    def __init__(self, total: int, show: bool) -> None:
        self.n = 0
        self._bar: Any = None
        if show:
            from tqdm.auto import tqdm

            # No rate: days arrive in bursts, one quota day apart.
            self._bar = tqdm(
                total=total,
                desc="backfill",
                bar_format="{desc}: {n}/{total} days |{bar}| {elapsed}{postfix}",
            )

    def show(self, state: _State) -> None:
        self.n = len(state.done)
        if self._bar is None:
            return
        self._bar.n = self.n
        if state.next_run is not None and state.left:
            self._bar.set_postfix_str(f"next: {describe_when(state.next_run)} ({state.reason})")
        else:
            self._bar.set_postfix_str("complete")
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
