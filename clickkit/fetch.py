"""Carrying out a plan: submit exports and replays, wait for jobs, ingest and load results.

The client decides *what* to do (:mod:`clickkit.plan`); a :class:`Fetcher` does it, with
the rules that make it safe: every job id is recorded the moment the API answers, each
request key is worked on under a cross-process lock, results are parsed and stored as
Parquet before the job record is closed, and a lost or damaged file is fetched again
through the same job, never a new export.

Examples
--------
>>> fetcher = Fetcher(api=api, cache=cache, account_sid="IRabc", settings=settings,
...                   now=clock)                                  # doctest: +SKIP
>>> sources = fetcher.execute(plan, request, NoBar(), timeout=None)  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clickkit import jobs, schema
from clickkit.api import Downloaded, ImpactApi, Job
from clickkit.cache import Cache
from clickkit.errors import CacheError, DownloadError, JobFailed, JobLost, NotFoundError
from clickkit.plan import DayPlan, Filters, Plan, Request, is_final
from clickkit.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("clickkit")


@dataclass
class Fetcher:
    """Executes plans for one account against one API and cache.

    Parameters
    ----------
    api : ImpactApi
        The HTTP layer.
    cache : Cache
        Job records, locks and day frames.
    account_sid : str
        The account the records belong to.
    settings : Settings
        Time zone and settle delay decide whether a fetched day is final.
    now : callable
        The clock.
    waiter_options : dict
        Polling schedule for :class:`clickkit.jobs.Waiter`.
    postback : Waker, optional
        A postback receiver.
    wait_timeout : float, optional
        Default timeout of a wait.
    max_failed_replays : int
        Replays of FAILED/CANCELLED jobs before :class:`~clickkit.JobFailed`.
    """

    api: ImpactApi
    cache: Cache
    account_sid: str
    settings: Settings
    now: Callable[[], dt.datetime]
    waiter_options: dict[str, float] = field(default_factory=dict)
    postback: Any = None
    wait_timeout: float | None = None
    max_failed_replays: int = 2

    def _record(self, day_plan: DayPlan, req: Request, job_id: str, status: str) -> dict:
        filters = Filters() if day_plan.whole_day else req.filters
        return {
            "key": day_plan.key,
            "account": self.account_sid,
            "date": day_plan.date.isoformat(),
            "filters": filters.describe(),
            "result_format": req.result_format,
            "job_id": job_id,
            "status": status,
            "submitted_at": self.now().isoformat(),
            "pending": True,
            "source": "export",
            "replays": 0,
            "failed_replays": 0,
        }

    def _submit(self, day_plan: DayPlan, req: Request) -> None:
        with self.cache.lock(day_plan.key):
            existing = self.cache.job(day_plan.key)
            if existing and existing.get("job_id"):
                return  # another process submitted it meanwhile
            filters = Filters() if day_plan.whole_day else req.filters
            submission = self.api.submit_click_export(
                day_plan.date, **filters.as_api(), result_format=req.result_format
            )
            # The job id is stored before anything else can go wrong.
            self.cache.put_job(
                day_plan.key, self._record(day_plan, req, submission.job_id, submission.status)
            )
            log.info("exported %s as job %s", day_plan.date, submission.job_id)

    def replay(self, key: str, *, final_replay: bool = False, count_failure: bool = False) -> Job:
        record = self.cache.job(key) or {}
        job = jobs.replay(self.api, record["job_id"])
        changes: dict[str, Any] = {
            "pending": True,
            "status": job.status or "QUEUED",
            "last_replay_at": self.now().isoformat(),
            "replays": int(record.get("replays", 0)) + 1,
            "source": "replay",
        }
        if final_replay:
            changes["final_replay"] = True
        if count_failure:
            changes["failed_replays"] = int(record.get("failed_replays", 0)) + 1
        self.cache.update_job(key, **changes)
        log.info("replayed job %s (%s)", record["job_id"], record.get("date"))
        return job

    def execute(self, plan: Plan, req: Request, bar: Any, timeout: float | None) -> dict[str, str]:
        """Spend what the plan needs, then wait for every outstanding job."""
        sources: dict[str, str] = {}
        for day_plan in plan.days:
            if day_plan.action == "export":
                self._submit(day_plan, req)
                sources[day_plan.key] = "export"
            elif day_plan.action == "replay":
                with self.cache.lock(day_plan.key):
                    record = self.cache.job(day_plan.key) or {}
                    if not record.get("pending") and not record.get("final_replay"):
                        try:
                            self.replay(day_plan.key, final_replay=True)
                        except NotFoundError:
                            log.warning(
                                "job %s for %s is gone; serving the cached provisional day",
                                record.get("job_id"), day_plan.date,
                            )  # fmt: skip
                            self.cache.update_job(day_plan.key, final_replay=True)
                sources[day_plan.key] = "replay"
            elif day_plan.action == "resume":
                sources[day_plan.key] = "resume"
            else:
                sources[day_plan.key] = "cache"
                bar.update(1)
        waiting = [d.key for d in plan.days if d.action != "cache"]
        resumed = {d.key for d in plan.days if d.action == "resume"}
        self.wait(waiting, bar, timeout, immediate=resumed)
        return sources

    def wait(
        self,
        keys: Iterable[str],
        bar: Any,
        timeout: float | None,
        *,
        immediate: bool | Iterable[str] = False,
    ) -> None:
        """Wait for the pending jobs of ``keys``; ``immediate`` keys are checked at once."""
        by_job: dict[str, str] = {}
        dates: dict[str, str] = {}
        for key in keys:
            record = self.cache.job(key) or {}
            if record.get("job_id") and (
                record.get("pending") or not self.cache.day_path(key).exists()
            ):
                by_job[record["job_id"]] = key
                dates[record["job_id"]] = str(record.get("date", ""))
            else:
                bar.update(1)
        if not by_job:
            return
        download_failures: collections.Counter[str] = collections.Counter()

        def check(job_id: str) -> jobs.Check:
            outcome = self._check(by_job[job_id], job_id, download_failures)
            if outcome.state != "pending":
                bar.update(1)
            return outcome

        def on_round(results: Mapping[str, jobs.Check]) -> None:
            states = collections.Counter(
                (c.job.status if c.job else c.state.upper()) for c in results.values()
            )
            bar.set_postfix_str(", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())))

        first = (
            immediate
            if isinstance(immediate, bool)
            else {job_id for job_id, key in by_job.items() if key in set(immediate)}
        )
        waiter = jobs.Waiter(waker=self.postback, **self.waiter_options)
        results = waiter.wait(
            by_job,
            check,
            timeout=self.wait_timeout if timeout is None else timeout,
            immediate=first,
            on_round=on_round,
        )
        lost = [job_id for job_id, c in results.items() if c.state == "lost"]
        if lost:
            raise JobLost(
                f"{len(lost)} job(s) are no longer known to the API ({', '.join(lost)}); "
                "results are kept for a limited time. Their records were dropped: the next "
                "call exports those days again.",
                job_ids=lost,
                dates=sorted(dates[j] for j in lost),
            )
        failed = [job_id for job_id, c in results.items() if c.state == "failed"]
        if failed:
            for job_id in failed:
                self.cache.update_job(by_job[job_id], failed_replays=0)
            raise JobFailed(
                f"{len(failed)} job(s) ended FAILED/CANCELLED after {self.max_failed_replays} "
                f"replays: {', '.join(failed)}. impact.com says this should not happen; "
                "contact its support with these job ids, or call again later to retry.",
                job_ids=failed,
            )

    def _check(self, key: str, job_id: str, failures: collections.Counter[str]) -> jobs.Check:
        """Poll one job through its Download; ingest the result once it arrives."""
        with self.cache.lock(key):
            record = self.cache.job(key) or {}
            if record.get("job_id") != job_id:
                return jobs.Check("done")
            if not record.get("pending") and self.cache.day_path(key).exists():
                return jobs.Check("done")  # another process finished it
            try:
                outcome = jobs.fetch_result(self.api, job_id, self.cache.download_path(key))
            except NotFoundError:
                # The API no longer knows the job (past retention, or a restarted
                # sandbox): forget it so the day can be planned as a new export.
                log.warning("job %s for %s is unknown to the API", job_id, record.get("date"))
                self.cache.drop_job(key)
                return jobs.Check("lost")
            except DownloadError:
                failures[job_id] += 1
                if failures[job_id] >= 4:
                    raise
                return jobs.Check("pending")
            if isinstance(outcome, Job):
                return self._not_ready(key, record, outcome)
            self._ingest(key, record, outcome)
            return jobs.Check("done")

    def _not_ready(self, key: str, record: Mapping[str, Any], job: Job) -> jobs.Check:
        if job.status in ("FAILED", "CANCELLED"):
            if int(record.get("failed_replays", 0)) >= self.max_failed_replays:
                self.cache.update_job(key, status=job.status)
                return jobs.Check("failed", job)
            log.warning("job %s ended %s; replaying it", job.id, job.status)
            self.replay(key, count_failure=True)
            return jobs.Check("pending", job)
        if job.status and job.status != record.get("status"):
            self.cache.update_job(key, status=job.status)
        return jobs.Check("pending", job)

    def _ingest(self, key: str, record: Mapping[str, Any], file: Downloaded) -> None:
        """Parse a downloaded result into the day frame and close the job record."""
        table = schema.parse_export(file.path, record.get("result_format"))
        meta = self.cache.write_day(key, table)
        day = dt.date.fromisoformat(record["date"])
        now = self.now()
        self.cache.update_job(
            key,
            pending=False,
            status="COMPLETED",
            result={
                **meta,
                "fetched_at": now.isoformat(),
                "final": is_final(day, now, self.settings.timezone, self.settings.settle_delay),
                "checksum": file.checksum,
            },
        )
        with contextlib.suppress(OSError):
            file.path.unlink()

    def _restore(self, damaged: list[DayPlan], timeout: float | None) -> None:
        """Fetch damaged or missing day files again through their jobs (never an export)."""
        for day_plan in damaged:
            self.cache.update_job(day_plan.key, pending=True)
        self.wait([d.key for d in damaged], NoBar(), timeout, immediate=True)

    def _restored_table(self, day_plan: DayPlan) -> pa.Table:
        table = self.cache.read_day(day_plan.key, self.cache.job(day_plan.key))
        if table is None:
            raise CacheError(
                f"the cached frame for {day_plan.date} could not be restored from job "
                f"{day_plan.job_id}; delete {self.cache.day_path(day_plan.key)} and call again."
            )
        return table

    def load_days(self, plan: Plan, req: Request, timeout: float | None) -> list[pa.Table]:
        """The plan's day tables, filtered, in date order; damaged files are restored."""
        tables: dict[dt.date, pa.Table] = {}
        damaged: list[DayPlan] = []
        for day_plan in plan.days:
            table = self.cache.read_day(day_plan.key, self.cache.job(day_plan.key))
            if table is None:
                damaged.append(day_plan)
            else:
                tables[day_plan.date] = table
        if damaged:
            self._restore(damaged, timeout)
            tables.update({d.date: self._restored_table(d) for d in damaged})
        return [
            schema.filter_table(tables[d.date], **local_filters(req.filters))
            for d in sorted(plan.days, key=lambda d: d.date)
        ]

    def ensure_days(self, plan: Plan, timeout: float | None) -> None:
        """Make sure every day file of the plan is present and whole, without loading it.

        For lazy readers (Dask): a file missing or whose size disagrees with its record is
        fetched again through its job; Parquet checksums are verified when it is read.
        """
        damaged = []
        for day_plan in plan.days:
            record = self.cache.job(day_plan.key) or {}
            expected = (record.get("result") or {}).get("size")
            path = self.cache.day_path(day_plan.key)
            if not path.exists() or (expected is not None and path.stat().st_size != expected):
                self.cache.drop_day(day_plan.key)
                damaged.append(day_plan)
        if damaged:
            self._restore(damaged, timeout)
            for day_plan in damaged:
                self._restored_table(day_plan)


def local_filters(filters: Filters) -> dict[str, Any]:
    """Keyword arguments of :func:`clickkit.schema.filter_table` for ``filters``."""
    return {
        "program_ids": filters.program_ids,
        "ad_ids": filters.ad_ids,
        "sub_ids": filters.sub_ids,
        "unique": filters.unique,
    }


class NoBar:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Ignore progress."""

    def set_postfix_str(self, text: str) -> None:
        """Ignore the state line."""


@contextlib.contextmanager
def progress_bar(total: int, show: bool) -> Iterator[Any]:
    """A tqdm bar over ``total`` days (a widget in notebooks, text in a terminal)."""
    if not show:
        yield NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="clickkit", unit="day", leave=False)
    try:
        yield bar
    finally:
        bar.close()
