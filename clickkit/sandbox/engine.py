"""The sandbox's state and rules, free of HTTP: jobs, quotas, results, statistics.

:class:`Engine` is what the HTTP apps in :mod:`clickkit.sandbox.api` and
:mod:`clickkit.sandbox.storage` call; :class:`Settings` holds every option of
:class:`~clickkit.sandbox.Sandbox`. A refused call raises :class:`Refused`, which the
HTTP layer turns into the ``{"Status":"ERROR","Message":...}`` envelope.
"""

from __future__ import annotations

import gzip
import math
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from clickkit.sandbox.clock import Clock
from clickkit.sandbox.faults import ENDPOINTS, FaultInjector, Faults
from clickkit.sandbox.formats import (
    CLOSINGS,
    EVENT_DATE_STYLES,
    LINE_ENDINGS,
    MONEY_STYLES,
    filter_clicks,
    serialize,
)
from clickkit.sandbox.generator import (
    BRAND_COLUMNS,
    COLUMNS,
    DEFAULT_ACCOUNT_SID,
    add_brand_columns,
    generate_day,
)
from clickkit.sandbox.jobs import (
    OUTCOMES,
    ExportParams,
    Job,
    Run,
    RunState,
    Timing,
    run_end,
    run_state,
)

__all__ = ["FAILED_DOWNLOADS", "RATE_LIMIT_BODIES", "Engine", "Refused", "Settings", "rate_headers"]

FAILED_DOWNLOADS = ("202", "200", "404", "409")
RATE_LIMIT_BODIES = ("impact", "kong")
# Compression of results on the storage host: fast, since the client cannot tell the level.
_GZIP_LEVEL = 1


@dataclass
class Settings:
    """Every option of the sandbox; see :class:`~clickkit.sandbox.Sandbox` for meanings.

    Raises
    ------
    ValueError
        For a value outside an option's choices.
    """

    seed: int = 0
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = ""
    clicks_per_day: int = 2000
    timezone: str = "UTC"
    job_duration: timedelta = timedelta(seconds=1)
    daily_export_limit: int = 10
    quota_timezone: str = "UTC"
    duplicates_count: bool = True
    replays_count: bool = False
    hourly_limit: int = 1000
    settle_delay: timedelta = timedelta(hours=2)
    retention: timedelta | None = timedelta(days=90)
    signed_url_ttl: timedelta = timedelta(minutes=5)
    string_fields: bool = True
    csv_true: str = "true"
    csv_false: str = "false"
    csv_bom: bool = False
    json_flat: bool = False
    outcomes: dict[str, list[str]] = field(default_factory=dict)
    error_retry_interval: timedelta = timedelta(minutes=15)
    error_retries: int = 5
    postback_url: str | None = None
    postback_retries: int = 3
    postback_retry_delay: float = 0.2
    failed_exports_count: bool = True
    replay_lag: timedelta = timedelta(seconds=1)
    failed_download: str = "202"
    page_size: int | None = 10_000
    compress_storage: bool = True
    event_date_style: str = "offset"
    money_style: str = "plain"
    line_ending: str = "\r\n"
    extra_columns: bool = False
    missing_columns: tuple[str, ...] = ()
    auth_before_rate_limit: bool = True
    rate_limit_body: str = "impact"
    profile: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.missing_columns, str):
            self.missing_columns = (self.missing_columns,)
        self.missing_columns = tuple(self.missing_columns)
        self.failed_download = str(self.failed_download)
        for name, choices in (
            ("failed_download", FAILED_DOWNLOADS),
            ("event_date_style", EVENT_DATE_STYLES),
            ("money_style", MONEY_STYLES),
            ("line_ending", LINE_ENDINGS),
            ("rate_limit_body", RATE_LIMIT_BODIES),
        ):
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(
                    f"{name}={value!r} is not supported; use one of "
                    f"{', '.join(repr(c) for c in choices)}"
                )
        if self.page_size is not None and (
            isinstance(self.page_size, bool) or int(self.page_size) < 1
        ):
            raise ValueError(f"page_size={self.page_size!r} must be a positive int or None")
        known = set(COLUMNS) | set(BRAND_COLUMNS)
        unknown = [c for c in self.missing_columns if c not in known]
        if unknown:
            raise ValueError(
                f"missing_columns names unknown export field(s) {unknown}; "
                f"use names from {', '.join(COLUMNS)}"
            )
        if self.replay_lag < timedelta(0):
            raise ValueError("replay_lag must not be negative")


class Refused(Exception):
    """An API call the sandbox refuses, with its HTTP status, message and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.errors = errors


class _Lru:
    """A small thread-safe LRU cache bounded by entries and by bytes."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self._data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._entries, self._max_bytes, self._bytes = entries, max_bytes, 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key][0]

    def put(self, key: Any, value: Any, size: int) -> None:
        with self._lock:
            if key in self._data:
                self._bytes -= self._data.pop(key)[1]
            self._data[key] = (value, size)
            self._bytes += size
            while len(self._data) > self._entries or (
                self._bytes > self._max_bytes and len(self._data) > 1
            ):
                self._bytes -= self._data.popitem(last=False)[1][1]


class Engine:
    """Jobs, quotas, results and statistics of one sandbox account.

    Parameters
    ----------
    settings : Settings
        The options.
    clock : Clock
        The sandbox clock every rule reads.
    faults : Faults
        Initial fault injection.
    """

    def __init__(self, settings: Settings, clock: Clock, faults: Faults) -> None:
        for day, values in settings.outcomes.items():
            _check_outcomes(day, values)
        self.settings = settings
        self.clock = clock
        self.faults = FaultInjector(faults, settings.seed)
        self.tz = ZoneInfo(settings.timezone)
        self.quota_tz = ZoneInfo(settings.quota_timezone)
        self.timing = Timing(
            settings.job_duration, settings.error_retry_interval, settings.error_retries
        )
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._by_params: dict[ExportParams, str] = {}
        self._outcomes = {day: list(v) for day, v in settings.outcomes.items()}
        self._outcome_pos: Counter[str] = Counter()
        self._daily: Counter[date] = Counter()
        self._hourly: Counter[int] = Counter()
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._tables = _Lru(entries=16, max_bytes=512 << 20)
        self._files = _Lru(entries=32, max_bytes=512 << 20)
        self._generate_lock = threading.RLock()
        self.wake = threading.Event()  # set when the clock jumps or a job is added
        #: Called (without the lock held) after jobs or quotas change: persistence hooks.
        self.on_change: Callable[[], None] | None = None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- persistence -------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Jobs with their runs, quota and rate counters, outcomes and statistics as JSON.

        Results are not stored: they are regenerated from the seed, the parameters and
        each run's end, so these are enough to carry the account over to a new process.
        """
        with self._lock:
            return {
                "jobs": [
                    {
                        "id": job.id,
                        "params": job.params.as_dict(),
                        "created": job.created.isoformat(),
                        "abandoned": job.abandoned.isoformat() if job.abandoned else None,
                        "runs": [
                            {
                                "number": run.number,
                                "queued_at": run.queued_at.isoformat(),
                                "outcome": run.outcome,
                                "notified": run.notified,
                            }
                            for run in job.runs
                        ],
                    }
                    for job in sorted(self._jobs.values(), key=lambda j: j.created)
                ],
                "daily": {day.isoformat(): n for day, n in sorted(self._daily.items())},
                "hourly": {str(window): n for window, n in sorted(self._hourly.items())},
                "outcomes": {day: list(v) for day, v in self._outcomes.items()},
                "outcome_pos": dict(self._outcome_pos),
                "requests": dict(self._requests),
                "status": {str(code): n for code, n in self._statuses.items()},
            }

    def import_state(self, state: dict[str, Any]) -> None:
        """Load what :meth:`export_state` wrote (replacing jobs, counters and statistics)."""
        jobs: dict[str, Job] = {}
        for item in state.get("jobs", []):
            p = item["params"]
            params = ExportParams(
                date=date.fromisoformat(p["Date"]),
                program_ids=tuple(p.get("ProgramId") or ()),
                ad_ids=tuple(p.get("AdId") or ()),
                sub_ids=tuple(p.get("SubId") or ()),
                unique_click=p.get("UniqueClick"),
                result_format=p.get("ResultFormat", "CSV"),
            )
            job = Job(
                item["id"],
                params,
                datetime.fromisoformat(item["created"]),
                abandoned=(
                    datetime.fromisoformat(item["abandoned"]) if item.get("abandoned") else None
                ),
            )
            job.runs = [
                Run(
                    int(r["number"]),
                    datetime.fromisoformat(r["queued_at"]),
                    r["outcome"],
                    bool(r.get("notified")),
                )
                for r in item["runs"]
            ]
            jobs[job.id] = job
        with self._lock:
            self._jobs = jobs
            self._by_params = {job.params: job.id for job in jobs.values()}
            self._daily = Counter(
                {date.fromisoformat(d): int(n) for d, n in state.get("daily", {}).items()}
            )
            self._hourly = Counter({int(w): int(n) for w, n in state.get("hourly", {}).items()})
            self._outcomes = {d: list(v) for d, v in state.get("outcomes", {}).items()}
            self._outcome_pos = Counter(state.get("outcome_pos", {}))
            self._requests = Counter(state.get("requests", {}))
            self._statuses = Counter({int(c): int(n) for c, n in state.get("status", {}).items()})
        self.wake.set()

    # -- clock and identity ----------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox time (aware, UTC)."""
        return self.clock.now()

    def today(self) -> date:
        """Today in the account time zone."""
        return self.now().astimezone(self.tz).date()

    def iso(self, moment: datetime | None) -> str:
        """ISO-8601 with the account's offset, or "" when unset."""
        return "" if moment is None else moment.astimezone(self.tz).isoformat("T", "seconds")

    # -- statistics --------------------------------------------------------------------

    def count_request(self, endpoint: str) -> None:
        """Count one call of an endpoint."""
        with self._lock:
            self._requests[endpoint] += 1

    def count_status(self, status: int) -> None:
        """Count one response status."""
        with self._lock:
            self._statuses[status] += 1

    def stats(self) -> dict[str, dict[Any, int]]:
        """Calls per endpoint and responses per status code."""
        with self._lock:
            return {
                "requests": {name: self._requests[name] for name in ENDPOINTS},
                "status": dict(sorted(self._statuses.items())),
            }

    def reset_stats(self) -> None:
        """Zero the statistics (quotas are untouched)."""
        with self._lock:
            self._requests.clear()
            self._statuses.clear()

    # -- rate limits ---------------------------------------------------------------

    def spend_hourly(self) -> tuple[int, int, int]:
        """Count one API call against the fixed clock-hour window.

        Returns
        -------
        (limit, remaining, reset_seconds)

        Raises
        ------
        Refused
            429 when the window is spent (or the ``hourly_429`` fault is on).
        """
        now = self.now().timestamp()
        window = int(now // 3600)
        reset = max(1, math.ceil((window + 1) * 3600 - now))
        limit = self.settings.hourly_limit
        with self._lock:
            used = self._hourly[window]
            if self.faults.faults.hourly_429 or used >= limit:
                headers = rate_headers(limit, 0, reset) | {"Retry-After": str(reset)}
                raise Refused(
                    429,
                    f"Hourly API limit of {limit} calls reached. Retry after {reset} seconds.",
                    headers=headers,
                )
            self._hourly[window] = used = used + 1
        return limit, max(0, limit - used), reset

    def peek_hourly(self) -> tuple[int, int, int]:
        """(limit, remaining, reset_seconds) of the hourly window, spending nothing."""
        now = self.now().timestamp()
        window = int(now // 3600)
        reset = max(1, math.ceil((window + 1) * 3600 - now))
        limit = self.settings.hourly_limit
        with self._lock:
            return limit, max(0, limit - self._hourly[window]), reset

    def quota_reset_seconds(self) -> int:
        """Seconds until the ClickExport quota day ends (midnight in ``quota_timezone``)."""
        now = self.now()
        local = now.astimezone(self.quota_tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), self.quota_tz)
        return max(1, math.ceil((midnight - now).total_seconds()))

    def daily(self) -> tuple[int, int]:
        """(limit, remaining) of the ClickExport quota today."""
        day = self.now().astimezone(self.quota_tz).date()
        limit = self.settings.daily_export_limit
        with self._lock:
            return limit, max(0, limit - self._daily[day])

    def _spend_daily(self) -> None:
        day = self.now().astimezone(self.quota_tz).date()
        limit = self.settings.daily_export_limit
        if self._daily[day] >= limit:
            reset = self.quota_reset_seconds()
            raise Refused(
                429,
                f"Daily limit of {limit} ClickExport calls reached. "
                f"The quota resets in {reset} seconds.",
                headers={
                    "Retry-After": str(reset),
                    "X-RateLimit-Limit-day": str(limit),
                    "X-RateLimit-Remaining-day": "0",
                },
            )
        self._daily[day] += 1

    # -- jobs ----------------------------------------------------------------------

    def charge_export(self, params: ExportParams | None) -> bool:
        """Spend one ClickExport call before the request is handled (``failed_exports_count``).

        ``params`` are the request's parameters when they are valid: a duplicate of an
        existing job is free when ``duplicates_count`` is False.

        Returns
        -------
        bool
            Whether a call was spent.

        Raises
        ------
        Refused
            429 when the daily ClickExport quota is spent (spending nothing).
        """
        with self._lock:
            if (
                params is not None
                and params in self._by_params
                and not self.settings.duplicates_count
            ):
                return False
            self._spend_daily()
        self._changed()
        return True

    def submit(self, params: ExportParams, *, spend: bool = True) -> Job:
        """ClickExport: return the existing job for these parameters or queue a new one.

        ``spend=False`` when :meth:`charge_export` already settled the quota.

        Raises
        ------
        Refused
            429 when the daily ClickExport quota is spent.
        """
        with self._lock:
            existing = self._by_params.get(params)
            if spend and (existing is None or self.settings.duplicates_count):
                self._spend_daily()
            if existing is not None:
                job = self._jobs[existing]
            else:
                now = self.now()
                job = Job(str(uuid.uuid4()), params, now)
                job.runs.append(Run(1, now, self._next_outcome(params.date)))
                self._jobs[job.id] = job
                self._by_params[params] = job.id
        self.wake.set()
        self._changed()
        return job

    def find(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def job(self, job_id: str) -> Job:
        """Look a job up.

        Raises
        ------
        Refused
            404 for an unknown id.
        """
        job = self.find(job_id)
        if job is None:
            raise Refused(404, f"Job {job_id} was not found.")
        return job

    def all_jobs(self) -> list[Job]:
        """Every job, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def current_run(self, job: Job) -> Run:
        """The run the job shows now: the latest one already queued.

        A replayed run is queued ``replay_lag`` after the Replay; until then the job
        answers as its previous run.
        """
        now = self.now()
        for run in reversed(job.runs):
            if run.queued_at <= now:
                return run
        return job.runs[0]

    def state(self, job: Job, run: Run | None = None) -> RunState:
        """The state of a job's current run (or of ``run``) now."""
        return run_state(run or self.current_run(job), self.now(), self.timing)

    def replay(self, job_id: str) -> Job:
        """Re-queue a finished job under the same id, ``replay_lag`` from now.

        A Replay while an earlier one is still waiting out its lag changes nothing.

        Raises
        ------
        Refused
            404 for an unknown job, 403 while it is queued, running or awaiting a retry,
            429 if replays count toward the daily quota and it is spent.
        """
        try:
            with self._lock:
                job = self.job(job_id)
                if job.run.queued_at > self.now():
                    return job  # already replayed: the new run is not queued yet
                status = self.state(job).status
                if status in ("QUEUED", "RUNNING", "ERROR"):
                    job.abandoned = self.now()
                    raise Refused(
                        403,
                        f"Job {job_id} is {status} and cannot be replayed until it has finished.",
                    )
                if self.settings.replays_count:
                    self._spend_daily()
                queued = self.now() + self.settings.replay_lag
                job.runs.append(Run(len(job.runs) + 1, queued, self._next_outcome(job.params.date)))
        finally:
            self._changed()  # a new run, or the abandoned date of a refused replay
        self.wake.set()
        return job

    def set_outcomes(self, day: str, outcomes: list[str]) -> None:
        """Set the outcomes of the next runs of ``day``'s jobs (starting afresh)."""
        _check_outcomes(day, outcomes)
        with self._lock:
            self._outcomes[day] = list(outcomes)
            self._outcome_pos[day] = 0
        self._changed()

    def _next_outcome(self, day: date) -> str:
        key = day.isoformat()
        queue = self._outcomes.get(key, [])
        position = self._outcome_pos[key]
        self._outcome_pos[key] += 1
        return queue[position] if position < len(queue) else "COMPLETED"

    def run_finished(self, run: Run) -> datetime:
        """When ``run`` reaches its terminal state."""
        return run_end(run, self.timing)

    def job_view(self, job: Job) -> dict[str, Any]:
        """The Job object as the API shows it (its current run)."""
        run = self.current_run(job)
        state = self.state(job, run)
        rows = 0
        if state.status in ("RUNNING", "COMPLETED"):
            rows = int(self.rows(job, run) * state.progress)
        if state.status == "COMPLETED":
            percent = 100
        elif state.status == "RUNNING":
            percent = min(99, int(state.progress * 100))
        else:
            percent = 0
        strings = self.settings.string_fields
        sid = self.settings.account_sid
        return {
            "Id": job.id,
            "Type": "ClickExport",
            "ProgramId": ",".join(job.params.program_ids),
            "CreatedBy": sid,
            "CreatedDate": self.iso(job.created),
            "StartedDate": self.iso(state.started),
            "CompletedDate": self.iso(state.completed),
            "AbandonedDate": self.iso(job.abandoned),
            "CancelledDate": self.iso(state.cancelled),
            "FailedDate": self.iso(state.failed),
            "LastProgressUpdateDate": self.iso(state.last_update),
            "Status": state.status,
            "StatusMessage": state.message,
            "RecordsProcessed": str(rows) if strings else rows,
            "PercentageComplete": str(percent) if strings else percent,
            "Replayable": "true" if strings else True,
            "ResultUri": f"/Mediapartners/{sid}/Jobs/{job.id}/Download",
        }

    def describe(self, job: Job) -> dict[str, Any]:
        """A job for tests: parameters, status and every run."""
        runs = []
        for run in job.runs:
            state = self.state(job, run)
            runs.append(
                {
                    "number": run.number,
                    "queued_at": run.queued_at,
                    "outcome": run.outcome,
                    "status": state.status,
                    "finishes_at": self.run_finished(run),
                    "completed_at": state.completed,
                    "pending": run.queued_at > self.now(),
                }
            )
        return {
            "id": job.id,
            "params": job.params.as_dict(),
            "status": self.state(job).status,
            "created": job.created,
            "abandoned": job.abandoned,
            "runs": runs,
        }

    # -- results -------------------------------------------------------------------

    def expired(self, completed: datetime) -> bool:
        """Whether a result completed at ``completed`` is past retention."""
        retention = self.settings.retention
        return retention is not None and self.now() - completed > retention

    def paged(self, job: Job) -> bool:
        """Whether this job's result is split into pages (JSON/XML with ``page_size``)."""
        return self.settings.page_size is not None and job.params.result_format != "CSV"

    def rows(self, job: Job, run: Run) -> int:
        """The number of rows of ``run``'s whole result (every page)."""
        return self._filtered(job, run).num_rows

    def numpages(self, job: Job, run: Run) -> int:
        """How many pages ``run``'s result has (1 when not paged)."""
        size = self.settings.page_size
        if size is None or not self.paged(job):
            return 1
        return max(1, math.ceil(self.rows(job, run) / size))

    def result(
        self, job: Job, run: Run, page: int = 1, *, compressed: bool = False
    ) -> tuple[bytes, int]:
        """One page of ``run``'s result file and the whole result's row count.

        Generated once, then cached; ``compressed`` gives the gzip bytes of the page.
        """
        params = job.params
        as_of = self._effective_as_of(params.date, self.run_finished(run))
        key = (params, as_of, page, compressed)
        cached = self._files.get(key)
        if cached is not None:
            return cached
        if compressed:
            data, total = self.result(job, run, page)
            value = (gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0), total)
            self._files.put(key, value, len(value[0]))
            return value
        with self._generate_lock:  # one generation at a time; a waiter then finds it cached
            cached = self._files.get(key)
            if cached is not None:
                return cached
            table = self._filtered(job, run)
            value = (self._serialize(job, table, page), table.num_rows)
            self._files.put(key, value, len(value[0]))
            return value

    def result_short(self, job: Job, run: Run, page: int = 1) -> bytes:
        """The page cut after its middle row: whole rows only, the rest missing."""
        data, _ = self.result(job, run, page)
        table = self._filtered(job, run)
        size = self.settings.page_size
        if self.paged(job) and size is not None:
            table = table.slice((page - 1) * size, size)
        half = table.slice(0, table.num_rows // 2)
        # Serialisation is row by row, so half the rows are a prefix of the page.
        prefix = self._serialize(job, half, page, whole=self._filtered(job, run).num_rows)
        return data[: len(prefix) - len(CLOSINGS[job.params.result_format])]

    def _serialize(self, job: Job, table: pa.Table, page: int, whole: int | None = None) -> bytes:
        """``table`` (a whole result, or with ``whole`` already one page's rows) as a file."""
        s = self.settings
        fmt = job.params.result_format
        total = table.num_rows if whole is None else whole
        size = s.page_size
        if self.paged(job) and size is not None:
            envelope = {
                "page": page,
                "numpages": max(1, math.ceil(total / size)),
                "pagesize": size,
                "total": total,
            }
            if whole is None:
                table = table.slice((page - 1) * size, size)
        else:
            envelope = {"page": 1, "numpages": 1, "pagesize": total, "total": total}
        hidden = [c for c in s.missing_columns if c in table.column_names]
        if hidden:
            table = table.drop_columns(hidden)
        return serialize(
            table,
            fmt,
            csv_true=s.csv_true,
            csv_false=s.csv_false,
            flat=s.json_flat,
            bom=s.csv_bom,
            line_ending=s.line_ending,
            event_date_style=s.event_date_style,
            money_style=s.money_style,
            **envelope,
        )

    def _filtered(self, job: Job, run: Run) -> pa.Table:
        """``run``'s rows: the day as of the run's end, filtered by the job's parameters."""
        params = job.params
        as_of = self._effective_as_of(params.date, self.run_finished(run))
        key = ("filtered", params, as_of)
        table = self._tables.get(key)
        if table is None:
            with self._generate_lock:
                table = self._tables.get(key)
                if table is None:
                    table = filter_clicks(
                        self._day_table(params.date, as_of),
                        program_ids=params.program_ids,
                        ad_ids=params.ad_ids,
                        sub_ids=params.sub_ids,
                        unique_only=params.unique_click == "TRUE",
                    )
                    self._tables.put(key, table, table.nbytes)
        return table

    def _effective_as_of(self, day: date, as_of: datetime) -> datetime | None:
        # Once a day has settled every later as-of gives the same rows: share one entry.
        day_end = datetime.combine(day + timedelta(days=1), time(0), self.tz)
        return None if as_of >= day_end + self.settings.settle_delay else as_of

    def _day_table(self, day: date, as_of: datetime | None) -> pa.Table:
        key = (day, as_of)
        table = self._tables.get(key)
        if table is None:
            s = self.settings
            table = generate_day(
                day,
                seed=s.seed,
                account_sid=s.account_sid,
                clicks_per_day=s.clicks_per_day,
                timezone=s.timezone,
                as_of=as_of,
                settle_delay=s.settle_delay,
            )
            if s.extra_columns:
                table = add_brand_columns(table, s.seed)
            self._tables.put(key, table, table.nbytes)
        return table


def rate_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    """The hourly rate-limit headers every API answer carries."""
    return {
        "X-RateLimit-Limit-hour": str(limit),
        "X-RateLimit-Remaining-hour": str(remaining),
        "RateLimit-Reset": str(reset),
    }


def _check_outcomes(day: str, outcomes: list[str]) -> None:
    date.fromisoformat(day)
    bad = [o for o in outcomes if o not in OUTCOMES]
    if bad:
        raise ValueError(f"unknown outcome(s) {bad} for {day}; use {', '.join(OUTCOMES)}")
