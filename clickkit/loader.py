"""Loading days: plan a request against the cache, the quota and the API, then carry it out.

A :class:`Loader` holds everything ``Client.clicks()`` needs between checking its
arguments and handing back a frame. :meth:`~Loader.plan` is the free dry run: what the
cache holds for each day (:meth:`~Loader.candidates`) and what the quota allows, as a
:class:`~clickkit.plan.Plan`. :meth:`~Loader.carry_out` reserves the plan's exports in
the ledger, lets an :class:`~clickkit.executor.Executor` submit, wait and ingest, and plans
again when the answers show work no earlier plan could see; it returns the last plan
and the source of each day. :meth:`~Loader.read` and :meth:`~Loader.dask_frame` then
read the carried-out days, and :meth:`~Loader.provenance` says where each came from.

Examples
--------
>>> loader = client.loader                                                 # doctest: +SKIP
>>> req = loader.request("2026-10-01", "2026-10-07", program_id=[1234])   # doctest: +SKIP
>>> loader.plan(req).exports                                               # doctest: +SKIP
7
>>> plan, sources = loader.carry_out(req, "all", show=False, timeout=None)  # doctest: +SKIP
>>> table, rows = loader.read(plan, req, timeout=None)                      # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clickkit import inputs, schema
from clickkit.cache import request_key
from clickkit.errors import JobLost
from clickkit.executor import Executor, filter_columns, progress_bar
from clickkit.plan import (
    Candidate,
    ExportRequest,
    Filters,
    Plan,
    Request,
    date_range,
    is_final,
    make_plan,
    plan_day,
    replay_refusal,
)
from clickkit.provenance import build_provenance
from clickkit.records import DayResult, JobRecord
from clickkit.settings import ClientOptions, Settings
from clickkit.shared import BucketUnreachable, SharedCache

if TYPE_CHECKING:
    import dask.dataframe
    import pandas as pd
    import pyarrow as pa

    from clickkit.api import ImpactApi
    from clickkit.cache import CacheBackend
    from clickkit.ledger import Ledger

__all__ = ["Loader", "job_table", "missing_columns"]

log = logging.getLogger("clickkit")

#: Rounds of plan-and-execute in one call: a resumed result can show one more round of work.
_ROUNDS = 3

#: The columns of :func:`job_table`, in order.
_JOB_COLUMNS = ("date", "job_id", "status", "pending", "filters", "format",
               "submitted_at", "fetched_at", "final", "rows", "replays")  # fmt: skip


@dataclass
class Loader:
    """Plans requests against the cache, the ledger and the API, and carries plans out.

    Parameters
    ----------
    api : ImpactApi
        The HTTP layer (its calls are counted by ``ledger``).
    cache : CacheBackend
        Job records and day files.
    ledger : Ledger
        The daily quota: counted, reserved, corrected from the server's headers.
    account_sid : str
        The account whose requests are keyed and recorded.
    settings : Settings
        Time zones, settle delay, limits.
    now : callable
        The clock (returns an aware datetime).
    options : ClientOptions
        The default result format, the waiter's schedule, the wait timeout and the
        replay guards (see :func:`clickkit.plan.replay_refusal`).
    postback : PostbackReceiver, optional
        Wakes the waiter when impact.com says a job finished.

    Attributes
    ----------
    waiter_options : dict
        Keyword arguments of each :class:`~clickkit.jobs.Waiter` (from ``options``; a
        test or benchmark may add ``sleep`` and ``monotonic`` here).

    Examples
    --------
    >>> loader = Loader(api, cache, ledger, "IRabc", settings, now=clock)  # doctest: +SKIP
    >>> loader.plan(loader.request("2026-10-01")).days[0].action  # doctest: +SKIP
    'export'
    """

    api: ImpactApi
    cache: CacheBackend
    ledger: Ledger
    account_sid: str
    settings: Settings
    now: Callable[[], dt.datetime]
    options: ClientOptions = field(default_factory=ClientOptions)
    postback: Any = None
    waiter_options: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.waiter_options = self.options.waiter_options()

    def __repr__(self) -> str:
        return f"Loader(account_sid={self.account_sid!r}, cache={self.cache!r})"

    def today(self) -> dt.date:
        """Today in the account's time zone."""
        from zoneinfo import ZoneInfo

        return self.now().astimezone(ZoneInfo(self.settings.timezone)).date()

    def executor(self) -> Executor:
        """An Executor with the current options (cheap; made per call)."""
        return Executor(
            api=self.api,
            cache=self.cache,
            account_sid=self.account_sid,
            settings=self.settings,
            now=self.now,
            waiter_options=self.waiter_options,
            postback=self.postback,
            wait_timeout=self.options.wait_timeout,
            max_failed_replays=self.options.max_failed_replays,
            on_export=self.ledger.spend,
        )

    # -- requests and plans ----------------------------------------------------------

    def request(
        self,
        start: Any,
        end: Any = None,
        *,
        program_id: Any = None,
        ad_id: Any = None,
        sub_id: Any = None,
        unique: Any = None,
        scope: Any = "day",
        result_format: Any = None,
    ) -> Request:
        """The checked :class:`~clickkit.plan.Request` for ``clicks()``-style arguments.

        Raises
        ------
        InvalidRequestError
            An argument is malformed, or the range is reversed, in the future or too long.
        """
        first = inputs.parse_date(start, "start")
        last = first if end is None else inputs.parse_date(end, "end")
        inputs.check_range(first, last, self.today(), self.settings.max_days)
        filters = Filters(
            program_ids=inputs.parse_ids(program_id, "program_id"),
            ad_ids=inputs.parse_ids(ad_id, "ad_id"),
            sub_ids=inputs.parse_sub_ids(sub_id),
            unique=inputs.parse_unique(unique),
        )
        fmt = (
            self.options.result_format if result_format is None
            else inputs.parse_format(result_format)
        )  # fmt: skip
        return Request(first, last, filters, inputs.parse_scope(scope), fmt)

    def key(self, day: dt.date, filters: Filters, result_format: str) -> str:
        """The cache key of one day's export with these filters, in this format."""
        return request_key(
            self.account_sid, day, **ExportRequest(day, filters, result_format).params()
        )

    def candidates(
        self, day: dt.date, req: Request, *, remote_days: bool = False
    ) -> list[Candidate]:
        """What the cache holds that could answer ``day`` of ``req``, best first.

        Whole-day exports in every format (the request's own first), then, for an exact
        request, its own filtered export. With ``remote_days`` (a shared cache read by
        Dask from its bucket) a day the team holds counts without mirroring it here.
        """
        formats = [req.result_format] + [f for f in schema.RESULT_FORMATS if f != req.result_format]
        keys = [(self.key(day, Filters(), f), True) for f in formats]
        if req.scope == "exact" and not req.filters.is_empty:
            keys.append((self.key(day, req.filters, req.result_format), False))
        candidates = []
        for k, whole in keys:
            record = self.cache.job(k)
            if remote_days and isinstance(self.cache, SharedCache):
                present = self.cache.has_day(k, record)
            else:
                present = self.cache.day_path(k).exists()
            candidates.append(Candidate(k, record, present, whole))
        if req.scope == "exact":
            # A whole day that lacks a column the filters read cannot answer locally.
            needed = filter_columns(req.filters)
            candidates = [
                c for c in candidates if not (c.whole_day and needed & missing_columns(c))
            ]
        return candidates

    def plan(
        self,
        req: Request,
        fetch: str = "all",
        *,
        include_today: bool = False,
        reserve: int = 0,
        remote_days: bool = False,
    ) -> Plan:
        """Plan ``req`` against the cache and the quota; spends nothing.

        ``fetch`` is ``"all"`` or ``"fits"`` (see ``Client.clicks``); ``reserve`` exports
        of the quota day are kept back (not planned).
        """
        now = self.now()
        exact = req.scope == "exact" and not req.filters.is_empty
        export_filters = req.filters if exact else Filters()

        def guard(record: JobRecord) -> str | None:
            return replay_refusal(
                record, now, min_interval=self.options.min_refresh_interval,
                max_per_day=self.options.max_replays_per_day,
                quota_timezone=self.settings.quota_timezone,
            )  # fmt: skip

        day_plans = [
            plan_day(
                day,
                self.candidates(day, req, remote_days=remote_days),
                self.key(day, export_filters, req.result_format),
                final=is_final(day, now, self.settings.timezone, self.settings.settle_delay),
                export_whole_day=not exact,
                guard=guard,
            )
            for day in date_range(req.start, req.end)
        ]
        quota = self.ledger.status()
        if reserve:
            quota = dataclasses.replace(quota, remaining=max(quota.remaining - reserve, 0))
        return make_plan(
            req.start,
            req.end,
            scope=req.scope,
            filters=req.filters,
            day_plans=day_plans,
            quota=quota,
            fetch="fits" if fetch == "fits" else "all",
            include_today=include_today,
        )

    # -- carrying plans out ------------------------------------------------------------

    def carry_out(
        self,
        req: Request,
        fetch: str,
        show: bool,
        timeout: float | None,
        *,
        include_today: bool = False,
        reserve: int = 0,
        remote_days: bool = False,
    ) -> tuple[Plan, dict[str, str]]:
        """Plan and execute until nothing is left to do; return the last plan and sources.

        ``sources`` maps each request key worked on to ``"export"``, ``"replay"``,
        ``"resume"`` or ``"cache"``. A second round runs only when the first left work a
        plan can see only now: a resumed result that turned out provisional for a day
        that has closed (replayed now, if the guards allow), or a provisional day whose
        job was gone (exported again). ``reserve`` exports of the quota day are never
        planned nor reserved.

        Raises
        ------
        QuotaExhausted
            With ``fetch="all"``, when the plan needs more exports than are left.
        JobLost
            When the API keeps forgetting jobs after the last round.
        """
        sources: dict[str, str] = {}
        options = {"include_today": include_today, "reserve": reserve, "remote_days": remote_days}
        plan = self.plan(req, fetch, **options)
        for attempt in range(_ROUNDS):
            if attempt and not any(d.action in ("export", "replay") for d in plan.days):
                break
            busy = show and any(d.action != "cache" for d in plan.days)
            try:
                with (
                    self.ledger.reserved(plan, fetch, reserve=reserve) as plan,
                    progress_bar(len(plan.days), busy) as bar,
                ):
                    done = self.executor().execute(plan, req, bar, timeout)
            except JobLost as lost:
                # Jobs the API forgot: their days are planned again (at most twice).
                if attempt == _ROUNDS - 1:
                    raise
                log.warning("%s; planning %s again", lost, ", ".join(lost.dates))
            else:
                sources.update({k: v for k, v in done.items() if v != "cache" or k not in sources})
                if all(d.action == "cache" for d in plan.days):
                    break  # served from the cache: nothing changed that a new plan could see
            plan = self.plan(req, fetch, **options)
        return plan, sources

    def record_export(self, day: dt.date, job_id: str) -> None:
        """Record a whole-day CSV export submitted outside a plan (``doctor(spend_one=)``).

        The record is exactly what ``clicks()`` writes for its own export of the day, so
        a later ``clicks()`` of that day resumes the job instead of exporting again.
        """
        export = ExportRequest(day, Filters(), "CSV")
        key = self.key(day, export.filters, export.result_format)
        self.cache.put_job(
            key, self.executor().export_record(key, export, job_id, "QUEUED", self.now())
        )

    def known_jobs(self, *, check: bool = False) -> list[dict[str, Any]]:
        """The account's job records; with ``check``, unfinished ones asked of the API first."""
        records = [r for r in self.cache.jobs() if r.get("account") == self.account_sid]
        if check:
            for record in records:
                if record.get("pending"):
                    job = self.api.get_job(record["job_id"])
                    record.update(self.cache.update_job(record["key"], status=job.status))
        return records

    # -- reading the days ----------------------------------------------------------------

    def read(
        self, plan: Plan, req: Request, timeout: float | None
    ) -> tuple[pa.Table, dict[dt.date, int]]:
        """The carried-out plan's days as one filtered table, and the rows of each day.

        Damaged day files are fetched again through their jobs first.
        """
        tables = self.executor().load_days(plan, req, timeout)
        # load_days gives one table per day, in date order.
        dates = sorted(d.date for d in plan.days)
        rows = {day: table.num_rows for day, table in zip(dates, tables, strict=True)}
        return schema.concat_tables(tables), rows

    def dask_frame(
        self, plan: Plan, req: Request, timeout: float | None
    ) -> dask.dataframe.DataFrame:
        """The carried-out plan's days as a lazy Dask frame, one partition per day.

        A shared cache's days are read from its bucket; when the bucket is unreachable,
        or the cache is local, from the local files.
        """
        from clickkit.daskframe import dask_frame

        if isinstance(self.cache, SharedCache):
            try:
                self.executor().ensure_days(plan, timeout, remote=True)
                objects = {d.date: self.cache.day_object(d.key) for d in plan.days}
                return dask_frame(
                    objects, req.filters, self.settings.timezone, store=self.cache.arrow_s3()
                )
            except BucketUnreachable as exc:
                log.warning("%s; the Dask frame reads the days from the local mirror %s",
                            str(exc).rstrip("."), self.cache.root)  # fmt: skip
        self.executor().ensure_days(plan, timeout)
        files = {d.date: self.cache.day_path(d.key) for d in plan.days}
        return dask_frame(files, req.filters, self.settings.timezone)

    def provenance(
        self,
        plan: Plan,
        req: Request,
        sources: Mapping[str, str],
        spent: Mapping[str, int],
        **options: Any,
    ) -> dict[str, Any]:
        """``df.attrs["clickkit"]`` from the plan, the days' records as cached now, the sources.

        ``options`` go to :func:`clickkit.provenance.build_provenance` (``fetch``,
        ``include_today``, ``returned``).
        """
        records = {d.key: self.cache.job(d.key) for d in plan.days}
        return build_provenance(
            plan, req, records=records, sources=sources, spent=spent,
            account_sid=self.account_sid, timezone=self.settings.timezone, **options,
        )  # fmt: skip


def missing_columns(candidate: Candidate) -> set[str]:
    """Schema columns the candidate's cached export did not carry.

    Examples
    --------
    >>> record = {"result": {"missing": ["sub_id3"]}}
    >>> missing_columns(Candidate("k", record, True, True))
    {'sub_id3'}
    >>> missing_columns(Candidate("k", None, False, True))
    set()
    """
    result = candidate.record.result if candidate.record is not None else None
    return set(result.missing) if result is not None else set()


def job_table(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Job records as a table: one row per cached request, by date then key.

    Examples
    --------
    >>> job_table([{"date": "2026-10-01", "key": "k", "job_id": "j", "status": "COMPLETED",
    ...             "result": {"rows": 5, "final": True}}])[["date", "rows", "final"]]
             date  rows  final
    0  2026-10-01     5   True
    """
    import pandas as pd

    rows = []
    typed = (JobRecord.from_json(r) for r in records)
    for r in sorted(typed, key=lambda r: (r.date or "", r.key)):
        result = r.result or DayResult()
        rows.append(
            {
                "date": r.date,
                "job_id": r.job_id,
                "status": r.status,
                "pending": r.pending,
                "filters": str(r.filters or "whole day"),
                "format": r.result_format,
                "submitted_at": r.submitted_at,
                "fetched_at": result.fetched_at,
                "final": result.final,
                "rows": result.rows,
                "replays": r.replays,
            }
        )
    return pd.DataFrame(rows, columns=list(_JOB_COLUMNS))
