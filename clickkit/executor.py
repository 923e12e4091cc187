"""Carrying out a plan: submit exports and replays, wait for jobs, ingest and load results.

The client decides *what* to do (:mod:`clickkit.plan`); an :class:`Executor` does it, with
the rules that make it safe: every job id is recorded the moment the API answers, each
request key is worked on under a cross-process lock, results are parsed and stored as
Parquet before the job record is closed, and a lost or damaged file is fetched again
through the same job, never a new export.

Examples
--------
>>> executor = Executor(api=api, cache=cache, account_sid="IRabc", settings=settings,
...                     now=clock)                                # doctest: +SKIP
>>> with progress_bar(len(plan.days), show=False) as bar:           # doctest: +SKIP
...     sources = executor.execute(plan, request, bar, timeout=None)
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import datetime as dt
import functools
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from clickkit import jobs, schema
from clickkit.api import Downloaded, ImpactApi, Job
from clickkit.cache import Cache, CacheBackend
from clickkit.errors import (
    ApiError,
    CacheError,
    DownloadError,
    ExportOutcomeUnknown,
    InvalidRequestError,
    JobFailed,
    JobLost,
    NotFoundError,
    TimezoneMismatchWarning,
)
from clickkit.plan import DayPlan, ExportRequest, Filters, Plan, Request, is_final, quota_day
from clickkit.prefetch import Prefetcher
from clickkit.records import JobRecord
from clickkit.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("clickkit")


@dataclass
class Executor:
    """Executes plans for one account against one API and cache.

    Parameters
    ----------
    api : ImpactApi
        The HTTP layer.
    cache : CacheBackend
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
        Replays of FAILED/CANCELLED jobs (or of jobs whose result is gone) before
        :class:`~clickkit.JobFailed`.
    """

    api: ImpactApi
    cache: CacheBackend
    account_sid: str
    settings: Settings
    now: Callable[[], dt.datetime]
    waiter_options: dict[str, float] = field(default_factory=dict)
    postback: Any = None
    wait_timeout: float | None = None
    max_failed_replays: int = 2
    #: Called with a request key once its export is taken care of: its ClickExport sent
    #: (whatever the answer) and its job, if any, recorded, or found exported by another
    #: process. Its reservation is no longer needed then.
    on_export: Callable[[str], None] | None = None
    #: Set once the offsets the API sends contradict ``settings.timezone``: from then on
    #: no day is marked final.
    zone_conflict: str | None = field(default=None, init=False)
    #: While several jobs are waited for: stores day files in the background (see
    #: :meth:`wait`), so the next result downloads while the previous one is written.
    _writer: concurrent.futures.ThreadPoolExecutor | None = field(default=None, init=False)
    _writes: list[concurrent.futures.Future[None]] = field(default_factory=list, init=False)
    #: Downloads of results a Jobs list showed finished, fetched one ahead (during
    #: :meth:`wait`).
    _prefetcher: Prefetcher | None = field(default=None, init=False)
    #: The run (``_run_of``) each job's record named when its download was planned.
    _planned_runs: dict[str, tuple[Any, ...]] = field(default_factory=dict, init=False)

    def export_record(
        self, key: str, export: ExportRequest, job_id: str, status: str, at: dt.datetime
    ) -> dict[str, Any]:
        """The job record of ``export`` (keyed ``key``) just sent as ``job_id``, as stored."""
        return {
            "key": key,
            "account": self.account_sid,
            **export.to_json(),
            "job_id": job_id,
            "status": status,
            "submitted_at": at.isoformat(),
            # When the run whose result will be downloaded was asked for: finality
            # follows it, never the time of the download.
            "requested_at": at.isoformat(),
            "pending": True,
            "source": "export",
            "replays": 0,
            "failed_replays": 0,
        }

    def _record_of(self, key: str) -> JobRecord:
        """The job record of ``key`` as the cache holds it now (empty when there is none)."""
        return JobRecord.from_json(self.cache.job(key) or {"key": key})

    def _submit(self, day_plan: DayPlan, req: Request) -> None:
        with self.cache.lock(day_plan.key) as claim:
            if self._record_of(day_plan.key).exported:
                # Another process submitted it meanwhile: this reservation is not needed.
                if self.on_export is not None:
                    self.on_export(day_plan.key)
                return
            filters = Filters() if day_plan.whole_day else req.filters
            export = ExportRequest(day_plan.date, filters, req.result_format)
            asked_at = self.now()
            found = self._export_of_a_vanished_holder(claim, asked_at)
            try:
                if found is not None:
                    job_id, status = found, "QUEUED"
                else:
                    job_id, status = self._send_export(export, asked_at)
                # The job id is stored before anything else can go wrong.
                record = self.export_record(day_plan.key, export, job_id, status, asked_at)
                self.cache.put_job(day_plan.key, record)
            finally:
                # Only now: until the record is there, the reservation is what tells
                # other processes that this day's export is taken care of.
                if found is None and self.on_export is not None:
                    self.on_export(day_plan.key)
            log.info("exported %s as job %s", day_plan.date, job_id)

    def _send_export(self, export: ExportRequest, asked_at: dt.datetime) -> tuple[str, str]:
        """Send one ClickExport; if its answer is lost, find its job before sending again."""
        try:
            submission = self.api.submit_click_export(export.day, **export.params())
            return submission.job_id, submission.status
        except ExportOutcomeUnknown as exc:
            # The export may have been created: look for it before sending again.
            found = self._find_lost_export(asked_at)
            if found is not None:
                log.warning("%s Found its job %s in the Jobs list.", exc, found)
                return found, "QUEUED"
            log.warning(
                "%s The ClickExport for %s is sent once more (it counts once more).",
                exc, export.day,
            )  # fmt: skip
            submission = self.api.submit_click_export(export.day, **export.params())
            return submission.job_id, submission.status

    def _export_of_a_vanished_holder(self, claim: Any, asked_at: dt.datetime) -> str | None:
        """The job a claim's previous holder exported but never recorded, if any.

        A shared cache's claim taken over from a holder that vanished without a job id
        (killed between the ClickExport answer and its record) may leave an export on
        impact.com that no record names: find it in the Jobs list instead of exporting
        the day again. The window covers the holder's claim going stale.
        """
        previous = getattr(claim, "taken_over_from", None)
        if not isinstance(previous, Mapping) or previous.get("job_id"):
            return None
        stale_after = float(getattr(self.cache, "claim_timeout", 0.0) or 0.0)
        since = asked_at - dt.timedelta(seconds=2 * stale_after)
        found = self._find_lost_export(since)
        if found is not None:
            log.warning("the previous holder of this day exported job %s; it is used", found)
        return found

    def _find_lost_export(self, asked_at: dt.datetime) -> str | None:
        """The job a ClickExport whose answer was lost created, if the Jobs list shows one.

        The Jobs list costs no export. Only a single ClickExport job created since
        ``asked_at`` (allowing two minutes of clock difference) that no cached record
        knows is taken; anything less certain returns ``None``.
        """
        try:
            listed = self._jobs_listed_since(asked_at)
        except ApiError as exc:
            log.info("the Jobs list is not available (%s)", exc)
            return None
        known = {r.get("job_id") for r in self.cache.jobs()}
        earliest = asked_at - dt.timedelta(minutes=2)
        found = [
            job.id
            for job in listed
            if job.id not in known
            and job.type in ("", "ClickExport")
            and job.created is not None
            and job.created >= earliest
        ]
        return found[0] if len(found) == 1 else None

    def replay(self, key: str, *, final_replay: bool = False, count_failure: bool = False) -> Job:
        """Replay the job of ``key`` and mark the record as waiting for the new run."""
        record = self._record_of(key)
        asked_at = self.now()
        job = jobs.replay(self.api, str(record.job_id))
        self._note_job_zone(job)
        # The answer may still describe the previous run (COMPLETED, old dates): only a
        # run completed after this baseline is accepted as the replayed result.
        baseline = None
        if job.status in _TERMINAL:
            baseline = _run_end(job) or asked_at
        today = quota_day(asked_at, self.settings.quota_timezone).isoformat()
        changes: dict[str, Any] = {
            "pending": True,
            "awaiting_replay": True,
            "replay_baseline": baseline.isoformat() if baseline else "",
            "replay_started": False,
            "status": job.status or "QUEUED",
            "requested_at": asked_at.isoformat(),
            "last_replay_at": asked_at.isoformat(),
            "replays": record.replays + 1,
            "replays_by_day": {today: record.replays_by_day.get(today, 0) + 1},
            "source": "replay",
        }
        if final_replay:
            changes["final_replay"] = True
        if count_failure:
            changes["failed_replays"] = record.failed_replays + 1
        self.cache.update_job(key, **changes)
        log.info("replayed job %s (%s)", record.job_id, record.date)
        return job

    def execute(self, plan: Plan, req: Request, bar: Any, timeout: float | None) -> dict[str, str]:
        """Spend what the plan needs, then wait for every outstanding job."""
        sources: dict[str, str] = {}
        gone: list[DayPlan] = []
        for day_plan in plan.days:
            if day_plan.action == "export":
                self._submit(day_plan, req)
                sources[day_plan.key] = "export"
            elif day_plan.action == "replay":
                with self.cache.lock(day_plan.key):
                    record = self._record_of(day_plan.key)
                    if not record.pending and not record.final_replay:
                        try:
                            self.replay(day_plan.key, final_replay=True)
                        except NotFoundError:
                            log.warning(
                                "job %s for %s is gone; its provisional day is exported again",
                                record.job_id, day_plan.date,
                            )  # fmt: skip
                            self.cache.update_job(day_plan.key, job_gone=True)
                            gone.append(day_plan)
                sources[day_plan.key] = "replay"
            elif day_plan.action == "resume":
                sources[day_plan.key] = "resume"
            else:
                sources[day_plan.key] = "cache"
                bar.update(1)
        waiting = [d.key for d in plan.days if d.action != "cache" and d not in gone]
        resumed = {d.key for d in plan.days if d.action == "resume"}
        self.wait(waiting, bar, timeout, immediate=resumed)
        if gone:
            raise JobLost(
                f"{len(gone)} provisional day(s) lost their job before the final replay",
                job_ids=[d.job_id or "" for d in gone],
                dates=[d.date.isoformat() for d in gone],
            )
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
        by_job, dates = self._outstanding(keys, bar)
        if not by_job:
            return
        download_failures: collections.Counter[str] = collections.Counter()

        def check(job_id: str, listed: Job | None = None) -> jobs.Check:
            outcome = self._check(by_job[job_id], job_id, download_failures, listed)
            if outcome.state != "pending":
                bar.update(1)
            return outcome

        def survey(job_ids: Sequence[str]) -> Mapping[str, Job] | None:
            records = {j: self._record_of(by_job[j]) for j in job_ids}  # read once
            listed = self._survey(records)
            if listed is not None and self._prefetcher is not None:
                self._prefetcher.plan(self._ready_to_download(listed, records))
            return listed

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
        # A team cache uploads each day and renews its claims: it stores inline, as before.
        overlap = len(by_job) > 1 and isinstance(self.cache, Cache)
        with self._background_writes(overlap), self._downloads_ahead(overlap):
            results = waiter.wait(
                by_job,
                check,
                timeout=self.wait_timeout if timeout is None else timeout,
                immediate=first,
                on_round=on_round,
                survey=survey,
            )
        self._raise_for_lost_or_failed(results, by_job, dates)

    def _outstanding(self, keys: Iterable[str], bar: Any) -> tuple[dict[str, str], dict[str, str]]:
        """The jobs still to wait for (job id -> key) and their dates; the rest count as done."""
        by_job: dict[str, str] = {}
        dates: dict[str, str] = {}
        for key in keys:
            record = self._record_of(key)
            if record.job_id and (record.pending or not self.cache.day_path(key).exists()):
                by_job[record.job_id] = key
                dates[record.job_id] = record.date or ""
            else:
                bar.update(1)
        return by_job, dates

    def _raise_for_lost_or_failed(
        self,
        results: Mapping[str, jobs.Check],
        by_job: Mapping[str, str],
        dates: Mapping[str, str],
    ) -> None:
        """JobLost for jobs the API forgot, JobFailed for jobs that failed every replay."""
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

    @contextlib.contextmanager
    def _background_writes(self, enabled: bool) -> Iterator[None]:
        """Store verified results on a writer thread while the body runs; wait for them.

        Writing a day file (Parquet encoding, fsync) overlaps the next job's download and
        parse. Each write holds its request key's lock, taken before the download, until
        the job record is closed, exactly as when it is done inline. On leaving, every
        write has finished; the first that failed raises (after the body's own error, if
        any, which is raised instead), and the days stored meanwhile stay stored.
        """
        if not enabled or self._writer is not None:
            yield
            return
        self._writer = concurrent.futures.ThreadPoolExecutor(1, "clickkit-write")
        try:
            yield
        except BaseException:
            self._finish_writes(raise_first=False)
            raise
        self._finish_writes(raise_first=True)

    @contextlib.contextmanager
    def _downloads_ahead(self, enabled: bool) -> Iterator[None]:
        """Download the next result a Jobs list showed finished while one is parsed."""
        if not enabled or self._prefetcher is not None:
            yield
            return
        # Leaving on an error (Ctrl-C included) does not wait for a download under way:
        # it ends on its thread (downloads are free and change nothing) and is dropped.
        with Prefetcher(lambda job_id: jobs.fetch_result(self.api, job_id)) as prefetcher:
            self._prefetcher = prefetcher
            try:
                yield
            finally:
                self._prefetcher = None
                self._planned_runs.clear()

    def _ready_to_download(
        self, listed: Mapping[str, Job], records: Mapping[str, JobRecord]
    ) -> list[str]:
        """The jobs of a round (their ``records``) whose check downloads their result at once.

        Those the list shows COMPLETED whose record waits for no replay: a replayed job's
        check first asks whether the run is the new one, so its download is not certain.
        """
        ready = []
        for job_id, record in records.items():
            job = listed.get(job_id)
            if job is None or job.status != "COMPLETED":
                continue
            if record.job_id == job_id and record.pending and not record.awaiting_replay:
                ready.append(job_id)
                self._planned_runs[job_id] = _run_of(record)
        return ready

    def _finish_writes(self, *, raise_first: bool) -> None:
        """Wait for the background writes; raise the first failure, or log them all."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
        writes, self._writes = self._writes, []
        errors = [e for e in (w.exception() for w in writes) if e is not None]
        for error in errors[1:] if raise_first else errors:
            log.warning("storing a result failed: %s", error)
        if errors and raise_first:
            raise errors[0]

    def _jobs_listed_since(self, moment: dt.datetime) -> list[Job]:
        """The Jobs list from the day before ``moment`` on (``CreatedAfter``, a date).

        A day early, in the account's zone: the API's day edge may differ from ours.
        Raises :class:`~clickkit.errors.ApiError` when the list is refused.
        """
        zone = ZoneInfo(self.settings.timezone)
        since = (moment.astimezone(zone) - dt.timedelta(days=1)).date()
        return self.api.list_jobs(created_after=since)

    def _survey(self, records: Mapping[str, JobRecord]) -> dict[str, Job] | None:
        """The outstanding jobs (their ``records``, by id) as one ``GET Jobs`` list shows
        them, or ``None``.

        ``CreatedAfter`` is the account-zone day of the oldest outstanding submission,
        less one day in case the API's day edge differs from ours. A job the list does
        not show is simply absent (its own poll decides); ``None`` when the list is
        refused, so the waiter polls each job for the rest of the wait.
        """
        submitted = []
        for record in records.values():
            raw = record.submitted_at
            with contextlib.suppress(TypeError, ValueError):
                submitted.append(dt.datetime.fromisoformat(raw))
        if not submitted:
            return {}
        oldest = min(t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in submitted)
        try:
            listed = self._jobs_listed_since(oldest)
        except ApiError as exc:
            log.info("the Jobs list was refused (%s); polling each job instead", exc)
            return None
        return {job.id: job for job in listed if job.id in records}

    def _check(
        self,
        key: str,
        job_id: str,
        failures: collections.Counter[str],
        listed: Job | None = None,
    ) -> jobs.Check:
        """Poll one job; download, verify and ingest its result once it is there.

        ``listed`` is the Job as a ``GET Jobs`` list showed it this round: a job it shows
        unfinished needs no call of its own, and a replayed job is judged on it instead
        of asking ``Jobs/{id}`` again.
        """
        with contextlib.ExitStack() as held:
            held.enter_context(self.cache.lock(key))
            return self._check_locked(key, job_id, failures, listed, held)

    def _check_locked(
        self,
        key: str,
        job_id: str,
        failures: collections.Counter[str],
        listed: Job | None,
        held: contextlib.ExitStack,
    ) -> jobs.Check:
        """:meth:`_check` under the key's lock (``held``, which a background write takes)."""
        # Taken first, whatever follows: the next planned download may start now.
        ahead = self._prefetcher.take(job_id) if self._prefetcher is not None else None
        stored = self.cache.job(key) or {"key": key}
        record = JobRecord.from_json(stored)
        if record.job_id != job_id:
            return jobs.Check("done")
        if not record.pending and self.cache.day_path(key).exists():
            return jobs.Check("done")  # another process finished it
        if listed is not None and listed.status not in _TERMINAL and not record.awaiting_replay:
            return self._not_ready(key, record, listed)  # still queued/running
        known: Job | None = None
        try:
            if record.awaiting_replay:
                # Download may still serve the previous run's file: ask the job first.
                known = listed if listed is not None else self.api.get_job(job_id)
                self._note_job_zone(known)
                if known.status in _TERMINAL and not _new_run(known, record):
                    return jobs.Check("pending", known)  # still the previous run
                if known.status not in _TERMINAL and not record.replay_started:
                    stored = self.cache.update_job(key, replay_started=True)
                    record = JobRecord.from_json(stored)
                if known.status != "COMPLETED":
                    return self._not_ready(key, record, known)
            # A result fetched ahead is used only for the run it was fetched for: another
            # process may have replayed the job since (then its record says so).
            if (
                ahead is not None
                and not record.awaiting_replay
                and self._planned_runs.pop(job_id, None) == _run_of(record)
            ):
                outcome, ahead = ahead.result(), None  # fetched while the last one parsed
            else:
                # Kept in memory: it is parsed at once, so a file would only be written,
                # flushed and read back.
                outcome = jobs.fetch_result(self.api, job_id)
        except NotFoundError:
            # The API no longer knows the job (Jobs/{id} is 404): forget it so the day
            # can be planned as a new export.
            log.warning("job %s for %s is unknown to the API", job_id, record.date)
            self.cache.drop_job(key)
            return jobs.Check("lost")
        if isinstance(outcome, jobs.ResultGone):
            # The job is known but its result is not (past retention): replay it,
            # never export the same parameters again.
            log.warning("the result of job %s is gone; replaying the job", job_id)
            return self._not_ready(key, record, outcome.job, result_gone=True)
        if isinstance(outcome, Job):
            return self._not_ready(key, record, outcome)
        try:
            table = self._verified_table(key, record, outcome, known)
        except DownloadError as exc:
            failures[job_id] += 1
            if failures[job_id] >= 4:
                raise
            log.info("download of job %s refused (%s); fetching it again", job_id, exc)
            return jobs.Check("pending")
        result = self._result(record, table, outcome)
        # Its bytes are parsed: not kept while the table waits to be written.
        del outcome, ahead
        if self._writer is None:
            self._ingest(key, stored, table, result)
        else:
            lock = held.pop_all()  # released by the writer once the record is closed
            try:
                ingest = functools.partial(self._ingest, key, stored, table, result)
                write = self._writer.submit(_released_after, lock, ingest)
            except BaseException:
                lock.close()
                raise
            self._writes.append(write)
        return jobs.Check("done")

    def _not_ready(
        self, key: str, record: JobRecord, job: Job, *, result_gone: bool = False
    ) -> jobs.Check:
        if result_gone or job.status in ("FAILED", "CANCELLED"):
            if record.failed_replays >= self.max_failed_replays:
                self.cache.update_job(key, status=job.status)
                return jobs.Check("failed", job)
            if not result_gone:
                log.warning("job %s ended %s; replaying it", job.id, job.status)
            self.replay(key, count_failure=True)
            return jobs.Check("pending", job)
        if job.status and job.status != record.status:
            self.cache.update_job(key, status=job.status)
        return jobs.Check("pending", job)

    def _verified_table(
        self, key: str, record: JobRecord, first: Downloaded, known: Job | None
    ) -> pa.Table:
        """The whole result as a table, or DownloadError when it is not whole.

        Every page of a paged result is fetched; the rows are checked against what the
        result names (``@total``) or, when the size could not be checked on the wire,
        against the job's ``RecordsProcessed``.
        """
        job_id = str(record.job_id)
        pages = [first]
        try:
            for page in range(2, (first.numpages or 1) + 1):
                outcome = self.api.download(job_id, page=page)
                if not isinstance(outcome, Downloaded):
                    raise DownloadError(f"page {page} of job {job_id} is not ready")
                pages.append(outcome)
            expected = first.total if first.numpages else None
            if expected is None and (not first.length_checked or first.size == 0):
                known = known or self.api.get_job(job_id)
                expected = known.records_processed
            if first.size == 0 and expected != 0:
                raise DownloadError("the result arrived empty (a CSV has a header at least)")
            fmt = record.result_format
            zone = self.settings.timezone
            if first.size == 0:
                table = schema.empty_table()  # the job itself reports no rows
            elif len(pages) > 1:
                table = schema.parse_pages([p.read() for p in pages], fmt, timezone=zone)
            else:
                table = schema.parse_export(first.read(), fmt, timezone=zone)
            if expected is not None and table.num_rows != expected:
                raise DownloadError(
                    f"the result has {table.num_rows} rows but the job reports {expected}"
                )
        except (DownloadError, NotFoundError) as exc:
            raise DownloadError(str(exc), endpoint="Download") from None
        return table

    def _result(self, record: JobRecord, table: pa.Table, file: Downloaded) -> dict[str, Any]:
        """What the job record says of a verified result (finality, missing columns)."""
        day = dt.date.fromisoformat(str(record.date))
        asked = record.requested_at or record.submitted_at
        produced_at = dt.datetime.fromisoformat(asked) if asked else self.now()
        self._note_table_zone(table, day)
        final = self.zone_conflict is None and is_final(
            day, produced_at, self.settings.timezone, self.settings.settle_delay
        )
        missing = (table.schema.metadata or {}).get(b"clickkit.missing", b"").decode()
        result = {
            "missing": [c for c in missing.split(",") if c],
            "fetched_at": self.now().isoformat(),
            "final": final,
            "produced_at": produced_at.isoformat(),
            "checksum": file.checksum,
        }
        return result

    def _ingest(
        self,
        key: str,
        record: Mapping[str, Any],
        table: pa.Table,
        result: Mapping[str, Any],
    ) -> None:
        """Store the verified table as the day frame and close the job record."""
        meta = self.cache.write_day(key, table, record={**record, "result": result})
        self.cache.update_job(
            key,
            pending=False,
            awaiting_replay=False,
            status="COMPLETED",
            result={**meta, **result},
        )

    # -- the account's time zone, as the API's own offsets show it ---------------------

    def _conflict(self, message: str) -> None:
        if self.zone_conflict is None:
            self.zone_conflict = message
            warnings.warn(message, TimezoneMismatchWarning, stacklevel=2)

    def _note_job_zone(self, job: Job) -> None:
        """Compare a Job's date offsets with the account time zone setting."""
        for moment in (job.created, job.started, job.completed):
            offset = moment.utcoffset() if moment is not None else None
            if not offset:  # no date, or UTC/"Z": says nothing about the account's zone
                continue
            expected = moment.astimezone(ZoneInfo(self.settings.timezone)).utcoffset()
            if offset != expected:
                self._conflict(
                    f"the API sends job dates at UTC{_offset(offset)} but "
                    f"timezone={self.settings.timezone!r} is UTC{_offset(expected)} then; "
                    "no day is marked final until timezone= (CLICKKIT_TIMEZONE) names the "
                    "account's time zone."
                )
            return

    def _note_table_zone(self, table: pa.Table, day: dt.date) -> None:
        """Compare the EventDate offsets of a result with the account time zone setting."""
        raw = (table.schema.metadata or {}).get(b"clickkit.offsets", b"").decode()
        seen = {o for o in raw.split(",") if o and o not in ("none", "+00:00", "Z")}
        if not seen:
            return
        zone = ZoneInfo(self.settings.timezone)
        start = dt.datetime.combine(day, dt.time(), zone)
        expected = {
            _offset((start + dt.timedelta(hours=h)).astimezone(zone).utcoffset())
            for h in range(0, 26)
        }
        if not seen <= expected:
            self._conflict(
                f"the export of {day} has EventDate offsets {', '.join(sorted(seen))} but "
                f"timezone={self.settings.timezone!r} has {', '.join(sorted(expected))}; no "
                "day is marked final until timezone= (CLICKKIT_TIMEZONE) names the "
                "account's time zone."
            )

    # -- restoring and loading -----------------------------------------------------------

    def _restore(self, damaged: list[DayPlan], timeout: float | None) -> None:
        """Fetch damaged or missing day files again through their jobs (never an export)."""
        for day_plan in damaged:
            self.cache.update_job(day_plan.key, pending=True)
        with progress_bar(len(damaged), False) as bar:
            self.wait([d.key for d in damaged], bar, timeout, immediate=True)

    def _restored_table(self, day_plan: DayPlan) -> pa.Table:
        table = self.cache.read_day(day_plan.key, self.cache.job(day_plan.key))
        if table is None:
            raise CacheError(
                f"the cached frame for {day_plan.date} could not be restored from job "
                f"{day_plan.job_id}; delete {self.cache.day_path(day_plan.key)} and call again."
            )
        return table

    def load_days(self, plan: Plan, req: Request, timeout: float | None) -> list[pa.Table]:
        """The plan's day tables, filtered, in date order; damaged files are restored.

        Whole-day exports are filtered here; an exact export was filtered by the API.

        Raises
        ------
        InvalidRequestError
            A filter needs a column that a whole-day export does not carry (it would
            silently return no rows); the message names ``scope="exact"``.
        """
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
        out = []
        for d in sorted(plan.days, key=lambda d: d.date):
            table = tables[d.date]
            if d.whole_day and not req.filters.is_empty:
                _check_filter_columns(table, req.filters, d.date)
                table = schema.filter_table(table, **local_filters(req.filters))
            out.append(table)
        return out

    def ensure_days(self, plan: Plan, timeout: float | None, *, remote: bool = False) -> None:
        """Make sure every day file of the plan is present and whole, without loading it.

        For lazy readers (Dask): a file missing or whose size disagrees with its record is
        fetched again through its job; Parquet checksums are verified when it is read.
        With ``remote`` (a shared cache whose bucket the readers use) the bucket's day
        objects are checked instead and nothing is copied to the local mirror.
        """
        damaged = []
        for day_plan in plan.days:
            result = self._record_of(day_plan.key).result
            expected = result.size if result is not None else None
            if remote:
                # Raises BucketUnreachable; the caller then reads through the mirror.
                size = self.cache.day_object_size(day_plan.key)  # type: ignore[attr-defined]
                if size is None or (expected is not None and size != expected):
                    damaged.append(day_plan)
                continue
            path = self.cache.day_path(day_plan.key)
            if not path.exists() or (expected is not None and path.stat().st_size != expected):
                self.cache.drop_day(day_plan.key)
                damaged.append(day_plan)
        if damaged:
            self._restore(damaged, timeout)
            for day_plan in damaged:
                self._restored_table(day_plan)


#: Which columns each filter reads (``Filters`` field -> schema columns).
_FILTER_COLUMNS = {
    "program_ids": ("program_id",),
    "ad_ids": ("ad_id",),
    "sub_ids": ("sub_id1", "sub_id2", "sub_id3"),
    "unique": ("unique_click",),
}


def filter_columns(filters: Filters) -> set[str]:
    """The schema columns that applying ``filters`` locally reads."""
    return {c for name, cols in _FILTER_COLUMNS.items() if getattr(filters, name) for c in cols}


def _check_filter_columns(table: pa.Table, filters: Filters, day: dt.date) -> None:
    """Refuse a local filter on a column the export left out or left empty."""
    missing = set((table.schema.metadata or {}).get(b"clickkit.missing", b"").decode().split(","))
    for name, columns in _FILTER_COLUMNS.items():
        if not getattr(filters, name):
            continue
        absent = [c for c in columns if c in missing]
        empty = table.num_rows > 0 and all(
            c not in table.column_names or table[c].null_count == table.num_rows for c in columns
        )
        if absent or empty:
            what = ", ".join(absent) if absent else " / ".join(columns)
            raise InvalidRequestError(
                f"the {name.removesuffix('s')} filter cannot be applied to the export of "
                f"{day}: it has no {what} values, so the filter would silently return no "
                "rows. Pass scope='exact' to let impact.com apply the filter (one export "
                "per day and filter set)."
            )


_TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def _run_end(job: Job) -> dt.datetime | None:
    """When the run a finished Job describes ended, as the Job's dates say."""
    return {"COMPLETED": job.completed, "FAILED": job.failed, "CANCELLED": job.cancelled}.get(
        job.status
    )


def _released_after(lock: contextlib.ExitStack, work: Callable[[], None]) -> None:
    """Run ``work`` (on the writer thread), then release the key's ``lock``."""
    with lock:
        work()


def _new_run(job: Job, record: JobRecord) -> bool:
    """Whether a finished ``job`` is the run the record's replay asked for.

    A replayed job may go on describing its previous run for a while: only a run seen
    queued or running since, or one that ended after the previous run did, is new.
    """
    baseline = record.replay_baseline
    if not baseline or record.replay_started:
        return True
    end = _run_end(job)
    return end is not None and end > dt.datetime.fromisoformat(baseline)


def _offset(delta: dt.timedelta | None) -> str:
    minutes = int((delta or dt.timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _run_of(record: JobRecord) -> tuple[Any, ...]:
    """What tells one run of a job's result from another in its record."""
    return (record.requested_at, record.replays, record.source)


def local_filters(filters: Filters) -> dict[str, Any]:
    """Keyword arguments of :func:`clickkit.schema.filter_table` for ``filters``."""
    return {
        "program_ids": filters.program_ids,
        "ad_ids": filters.ad_ids,
        "sub_ids": filters.sub_ids,
        "unique": filters.unique,
    }


@contextlib.contextmanager
def progress_bar(total: int, show: bool) -> Iterator[Any]:
    """A tqdm bar over ``total`` days (a widget in notebooks, text in a terminal).

    With ``show=False`` it is tqdm's disabled bar, which shows nothing.
    """
    if show:
        from tqdm.auto import tqdm
    else:  # a disabled bar never draws: the plain class spares the notebook imports
        from tqdm import tqdm
    with tqdm(total=total, desc="clickkit", unit="day", leave=False, disable=not show) as bar:
        yield bar
