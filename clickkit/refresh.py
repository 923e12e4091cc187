"""Explicit refreshes: replay a cached day's job, within the guards impact.com asks for.

:func:`refresh_refusal` is the pure decision (why a refresh may not run now, or ``None``);
:func:`refresh` (``client.refresh()``) asks the API about an unfinished job, applies the
decision, replays the job, waits for it and returns the refreshed day with the same
provenance ``clicks()`` gives. A refresh never starts a new export.

Examples
--------
>>> df = client.refresh("2026-11-26")  # doctest: +SKIP
>>> df.attrs["clickkit"]["days"][0]["source"]  # doctest: +SKIP
'replay'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clickkit import frames, schema
from clickkit.errors import RefreshRefused
from clickkit.executor import local_filters, progress_bar
from clickkit.plan import DayPlan, Request, is_final, replay_refusal
from clickkit.records import JobRecord

if TYPE_CHECKING:
    import pandas as pd

    from clickkit.loader import Loader

__all__ = ["refresh", "refresh_refusal"]

#: Job states in which impact.com refuses a replay.
_BUSY = ("QUEUED", "RUNNING", "ERROR")


def refresh_refusal(
    day: dt.date,
    record: JobRecord | Mapping[str, Any],
    status: str | None,
    now: dt.datetime,
    *,
    force: bool = False,
    min_interval: dt.timedelta,
    max_per_day: int,
    quota_timezone: str = "UTC",
) -> str | None:
    """Why an explicit refresh of ``day`` may not run now (the message), or ``None``.

    ``record`` is the day's job record and ``status`` the job's state as the API gives
    it now, for a record still pending (``None`` otherwise). Refused: a job that is
    queued, running or in error; a replay the guards of
    :func:`clickkit.plan.replay_refusal` refuse; a day that was already final when it
    was fetched, unless ``force``.

    Examples
    --------
    >>> now = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    >>> day = dt.date(2026, 10, 1)
    >>> guards = {"min_interval": dt.timedelta(hours=1), "max_per_day": 3}
    >>> refresh_refusal(day, {"result": {"final": False}}, None, now, **guards) is None
    True
    >>> refresh_refusal(day, {"pending": True}, "RUNNING", now, **guards)[:29]
    'the job for 2026-10-01 is RUN'
    >>> refresh_refusal(day, {"result": {"final": True}}, None, now, force=True, **guards)
    """
    if status in _BUSY:
        return (
            f"the job for {day} is {status}; a replay now would be refused. "
            "Wait for it to finish (clicks() resumes it)."
        )
    record = JobRecord.of(record)
    if status is not None:
        # Finished: the next clicks() call ingests it.
        record = dataclasses.replace(record, pending=False)
    refusal = replay_refusal(
        record, now, min_interval=min_interval, max_per_day=max_per_day,
        quota_timezone=quota_timezone,
    )  # fmt: skip
    if refusal:
        return (
            f"{day} is not replayed: {refusal}. impact.com asks not to replay right "
            "after a run, nor many times a day (min_refresh_interval, max_replays_per_day)."
        )
    if record.result is not None and record.result.final and not force:
        return (
            f"{day} was already final when it was fetched, so a replay cannot change "
            "it. Pass force=True to replay it anyway (for example after impact.com "
            "corrected data)."
        )
    return None


def refresh(
    loader: Loader,
    req: Request,
    *,
    force: bool = False,
    timeout: float | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Replay the cached job of ``req.start`` and return the refreshed day.

    See :meth:`clickkit.Client.refresh`.

    Raises
    ------
    RefreshRefused
        Nothing is cached for the day, or :func:`refresh_refusal` gives a reason.
    """
    day = req.start
    candidates = [c for c in loader.candidates(day, req) if c.record and c.record.job_id]
    if not candidates:
        raise RefreshRefused(
            f"nothing is cached for {day}: load it with clicks() first (a refresh "
            "replays an existing job and never starts a new export)."
        )
    before = loader.ledger.calls()
    chosen = candidates[0]
    key, record = chosen.key, chosen.record
    assert record is not None and record.job_id  # the candidates above have one
    status = loader.api.get_job(record.job_id).status if record.pending else None
    refusal = refresh_refusal(
        day, record, status, loader.now(), force=force,
        min_interval=loader.options.min_refresh_interval,
        max_per_day=loader.options.max_replays_per_day,
        quota_timezone=loader.settings.quota_timezone,
    )  # fmt: skip
    if refusal:
        raise RefreshRefused(refusal)
    settings = loader.settings
    with loader.cache.lock(key):
        final = is_final(day, loader.now(), settings.timezone, settings.settle_delay)
        loader.executor().replay(key, final_replay=final)
    with progress_bar(1, progress) as bar:
        loader.executor().wait([key], bar, timeout)
    table = loader.cache.read_day(key, loader.cache.job(key))
    if chosen.whole_day and not req.filters.is_empty:
        table = schema.filter_table(table, **local_filters(req.filters))
    frame = frames.user_frame(table, settings.timezone)
    # The same provenance as clicks() gives, for the one replayed day.
    day_plan = DayPlan(day, "replay", key, record.job_id, True, chosen.whole_day)
    plan = dataclasses.replace(loader.plan(req, "all"), days=(day_plan,))
    spent = loader.ledger.calls() - before
    frame.attrs["clickkit"] = loader.provenance(
        plan, req, {key: "replay"}, spent, returned={day: len(frame)}
    )
    return frame
