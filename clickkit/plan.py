"""Planning: which days come from the cache, which need an export or a replay, and the quota.

Pure logic, no I/O: the client gathers what the cache knows and the clock says, and
:func:`make_plan` decides. A :class:`Plan` is also what ``client.plan()`` shows users.

Examples
--------
>>> days = list(date_range(dt.date(2026, 10, 1), dt.date(2026, 10, 3)))
>>> len(days)
3
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from clickkit.records import JobRecord

if TYPE_CHECKING:
    import pandas as pd

Action = Literal["cache", "export", "replay", "resume"]
SCOPES: tuple[str, ...] = ("day", "exact")


def date_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every date from ``start`` to ``end`` inclusive."""
    for offset in range((end - start).days + 1):
        yield start + dt.timedelta(days=offset)


def final_at(day: dt.date, timezone: str, settle: dt.timedelta) -> dt.datetime:
    """When a day becomes final: the next local midnight plus the settle delay."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZoneInfo(timezone))
    return midnight + settle


def is_final(day: dt.date, now: dt.datetime, timezone: str, settle: dt.timedelta) -> bool:
    """True once no more clicks are expected for ``day`` (account time zone)."""
    return now >= final_at(day, timezone, settle)


def quota_day(now: dt.datetime, quota_timezone: str) -> dt.date:
    """The quota day ``now`` falls in."""
    return now.astimezone(ZoneInfo(quota_timezone)).date()


def quota_reset(now: dt.datetime, quota_timezone: str) -> dt.datetime:
    """When the current quota day ends."""
    tz = ZoneInfo(quota_timezone)
    today = now.astimezone(tz).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tz)


def quota_schedule(
    exports: int, *, remaining: int, limit: int, resets_at: dt.datetime, reserve: int = 0
) -> tuple[int, dt.datetime | None]:
    """How many quota days ``exports`` need, and when the last of them becomes possible.

    Today's quota day counts when something is left in it; every later quota day allows
    ``limit - reserve`` exports and starts at a reset (``resets_at``, then whole days
    after it in the quota's time zone).

    Parameters
    ----------
    exports : int
        ClickExport calls to spend.
    remaining : int
        Exports left in the current quota day.
    limit : int
        Exports allowed per quota day.
    resets_at : datetime.datetime
        When the current quota day ends (aware).
    reserve : int
        Exports kept back every quota day (for interactive use).

    Returns
    -------
    tuple
        ``(quota_days, finishes_at)``: the number of quota days in which exports are
        spent (0 for none), and the start of the last of them, or ``None`` when
        everything fits in the current quota day.

    Examples
    --------
    >>> reset = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    >>> days, at = quota_schedule(31, remaining=10, limit=10, resets_at=reset)
    >>> days, at.isoformat()
    (4, '2026-11-30T00:00:00+00:00')
    >>> quota_schedule(3, remaining=10, limit=10, resets_at=reset)
    (1, None)
    """
    if exports <= 0:
        return 0, None
    now_left = max(remaining - reserve, 0)
    if exports <= now_left:
        return 1, None
    per_day = max(limit - reserve, 1)
    later = -(-(exports - now_left) // per_day)  # ceiling division
    # Aware datetime + timedelta keeps the wall clock: midnight stays midnight across DST.
    return later + (1 if now_left else 0), resets_at + dt.timedelta(days=later - 1)


def describe_when(moment: dt.datetime) -> str:
    """A moment as a reader scans it: weekday, date and time in UTC.

    Examples
    --------
    >>> describe_when(dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC))
    'Mon 30 Nov 09:00 UTC'
    """
    return f"{moment.astimezone(dt.UTC):%a %d %b %H:%M} UTC"


@dataclass(frozen=True)
class Filters:
    """Click filters; empty means the whole day.

    Examples
    --------
    >>> Filters(program_ids=(12,), unique=True).is_empty
    False
    """

    program_ids: tuple[int, ...] = ()
    ad_ids: tuple[int, ...] = ()
    sub_ids: tuple[str, ...] = ()
    unique: bool | None = None

    @property
    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not (self.program_ids or self.ad_ids or self.sub_ids or self.unique)

    def as_api(self) -> dict[str, Any]:
        """Keyword arguments for the API layer and :func:`clickkit.cache.request_key`."""
        return {
            "program_ids": self.program_ids,
            "ad_ids": self.ad_ids,
            "sub_ids": self.sub_ids,
            "unique": True if self.unique else None,
        }

    def describe(self) -> dict[str, Any]:
        """The set filters, for provenance and display."""
        out: dict[str, Any] = {}
        if self.program_ids:
            out["program_id"] = list(self.program_ids)
        if self.ad_ids:
            out["ad_id"] = list(self.ad_ids)
        if self.sub_ids:
            out["sub_id"] = list(self.sub_ids)
        if self.unique:
            out["unique"] = True
        return out

    @classmethod
    def from_description(cls, described: Mapping[str, Any] | None) -> Filters:
        """The filters :meth:`describe` gave (as stored in a job record).

        Examples
        --------
        >>> f = Filters(program_ids=(12,), sub_ids=("a",), unique=True)
        >>> Filters.from_description(f.describe()) == f
        True
        """
        d = described or {}
        return cls(
            program_ids=tuple(int(v) for v in d.get("program_id", ())),
            ad_ids=tuple(int(v) for v in d.get("ad_id", ())),
            sub_ids=tuple(str(v) for v in d.get("sub_id", ())),
            unique=True if d.get("unique") else None,
        )


@dataclass(frozen=True)
class ExportRequest:
    """The parameters of one ClickExport call: a day, its filters and the result format.

    What :func:`clickkit.cache.request_key` keys and
    :meth:`clickkit.api.ImpactApi.submit_click_export` sends; a job record stores it.

    Examples
    --------
    >>> export = ExportRequest(dt.date(2026, 11, 20), Filters(program_ids=(12,)), "CSV")
    >>> export.params()["program_ids"], export.params()["result_format"]
    ((12,), 'CSV')
    >>> ExportRequest.from_json(export.to_json()) == export
    True
    """

    day: dt.date
    filters: Filters = field(default_factory=Filters)
    result_format: str = "CSV"

    def params(self) -> dict[str, Any]:
        """Keyword arguments (after the date) of the API call and of the request key."""
        return {**self.filters.as_api(), "result_format": self.result_format}

    def to_json(self) -> dict[str, Any]:
        """The request's fields as a job record stores them."""
        return {
            "date": self.day.isoformat(),
            "filters": self.filters.describe(),
            "result_format": self.result_format,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportRequest:
        """The request a job record (or :meth:`to_json`) describes."""
        return cls(
            day=dt.date.fromisoformat(str(data["date"])),
            filters=Filters.from_description(data.get("filters")),
            result_format=str(data.get("result_format") or "CSV"),
        )


@dataclass(frozen=True)
class Request:
    """A validated ``clicks()`` request: the range, filters, scope and result format."""

    start: dt.date
    end: dt.date
    filters: Filters
    scope: str
    result_format: str


@dataclass(frozen=True)
class Candidate:
    """A cached request that could answer a day, with what the cache holds for it.

    Attributes
    ----------
    key : str
        The request key.
    record : JobRecord or None
        Its job record, if any (a stored JSON object is read into one).
    has_frame : bool
        Whether its day frame file exists.
    whole_day : bool
        True for an unfiltered export (filters are then applied locally).
    """

    key: str
    record: JobRecord | None
    has_frame: bool
    whole_day: bool

    def __post_init__(self) -> None:
        # A stored JSON object is read once, here.
        object.__setattr__(self, "record", JobRecord.of(self.record))


@dataclass(frozen=True)
class DayPlan:
    """What will be done for one day.

    Attributes
    ----------
    final : bool
        Whether the day itself is over (plus the settle delay) now.
    provisional : bool
        Whether the data served for the day will be provisional: produced before the
        day was over, whatever the day is now.
    fallback_key : str or None
        For the new export of a day whose job is gone: the key of the provisional copy
        that is served instead while the quota does not allow the export.
    """

    date: dt.date
    action: Action
    key: str
    job_id: str | None
    final: bool
    whole_day: bool
    note: str = ""
    provisional: bool = False
    fallback_key: str | None = None


@dataclass(frozen=True)
class QuotaStatus:
    """ClickExport calls used and left in the current quota day, plus the hourly limit.

    ``remaining`` is the smaller of the local ledger's count and the server's own
    headers when the server sent them in this quota day, less what other processes
    have ``reserved`` for the plans they are carrying out.
    """

    limit: int
    used: int
    remaining: int
    quota_day: dt.date
    resets_at: dt.datetime
    reserved: int = 0
    hourly_limit: int | None = None
    hourly_remaining: int | None = None
    calls_today: Mapping[str, int] = field(default_factory=dict)
    #: Daily exports backfills and syncs leave for interactive calls (``reserve``).
    reserve: int = 0

    def _rows(self) -> list[tuple[str, str]]:
        rows = [
            ("ClickExport calls used", f"{self.used} of {self.limit}"),
            ("exports left", str(self.remaining)),
            ("quota day", self.quota_day.isoformat()),
            ("resets at", self.resets_at.isoformat(timespec="minutes")),
        ]
        if self.reserved:
            rows.append(("reserved by others", f"{self.reserved} (plans running now)"))
        if self.reserve:
            rows.append(("kept for interactive use", f"{self.reserve} (backfills leave them)"))
        if self.hourly_limit is not None:
            rows.append(("hourly calls left", f"{self.hourly_remaining} of {self.hourly_limit}"))
        if self.calls_today:
            rows.append(
                (
                    "API calls today",
                    ", ".join(f"{k} {v}" for k, v in sorted(self.calls_today.items())),
                )
            )
        return rows

    def __str__(self) -> str:
        return "\n".join(f"{k:>22}: {v}" for k, v in self._rows())

    def _repr_html_(self) -> str:
        return _html_table("Quota", self._rows())


@dataclass(frozen=True)
class Plan:
    """The dry run of ``client.clicks()``: what each day needs and what it costs.

    Attributes
    ----------
    days : tuple of DayPlan
        One entry per requested day that will be served.
    deferred : tuple of datetime.date
        Days left for later because the quota does not cover them (``fetch="fits"``).
    quota : QuotaStatus
        The quota before the plan runs.
    held_back : tuple of datetime.date
        Days not final yet (today, or yesterday within the settle delay) that
        ``fetch="fits"`` leaves out: exporting one now costs an export now and a replay
        once it is final (``include_today=True`` keeps them).

    Examples
    --------
    >>> plan = client.plan("2026-10-27", "2026-11-26")  # doctest: +SKIP
    >>> plan.quota_days, plan.finishes_at  # doctest: +SKIP
    (4, datetime.datetime(2026, 11, 30, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')))
    """

    start: dt.date
    end: dt.date
    scope: str
    filters: Filters
    days: tuple[DayPlan, ...]
    quota: QuotaStatus
    deferred: tuple[dt.date, ...] = ()
    held_back: tuple[dt.date, ...] = ()

    def count(self, action: Action) -> int:
        """Number of days with that action."""
        return sum(1 for d in self.days if d.action == action)

    @property
    def exports(self) -> int:
        """ClickExport calls the plan spends."""
        return self.count("export")

    @property
    def replays(self) -> int:
        """Replays the plan makes."""
        return self.count("replay")

    @property
    def cached(self) -> int:
        """Days served from the cache at no cost."""
        return self.count("cache")

    @property
    def quota_after(self) -> int:
        """Exports left in the quota day after the plan runs (negative: it does not fit).

        Displays never show a negative number: they show 0 and :attr:`quota_days`.
        """
        return self.quota.remaining - self.exports

    @property
    def exports_needed(self) -> int:
        """Exports the whole range needs: the plan's, plus the days deferred for quota."""
        return self.exports + len(self.deferred)

    @property
    def quota_days(self) -> int:
        """Quota days the range's exports need, counting what is left today.

        0 when nothing is exported, 1 when everything fits in what is left today. With 10
        left today and 10 a day, 31 exports need 4 (10 + 10 + 10 + 1).
        """
        return self._schedule()[0]

    @property
    def finishes_at(self) -> dt.datetime | None:
        """When everything can be loaded: the quota reset that starts the last quota day.

        ``None`` when the exports fit in what is left today. Loading then needs a call
        on each of those quota days (``client.backfill(..., wait=True)`` or a daily
        ``clickkit sync`` make them).
        """
        return self._schedule()[1]

    def _schedule(self) -> tuple[int, dt.datetime | None]:
        q = self.quota
        return quota_schedule(
            self.exports_needed, remaining=q.remaining, limit=q.limit, resets_at=q.resets_at
        )

    @property
    def provisional(self) -> tuple[dt.date, ...]:
        """Days whose data will be provisional (it may still grow)."""
        return tuple(d.date for d in self.days if d.provisional)

    def runs(self) -> list[tuple[dt.date, dt.date, DayPlan, int]]:
        """Consecutive days with the same action, state and note.

        Returns
        -------
        list of tuple
            ``(first, last, day_plan_of_first, number_of_days)`` in date order.
        """
        out: list[tuple[dt.date, dt.date, DayPlan, int]] = []
        for d in sorted(self.days, key=lambda d: d.date):
            if out:
                first, last, head, n = out[-1]
                same = (head.action, head.provisional, head.note) == (
                    d.action, d.provisional, d.note,
                )  # fmt: skip
                if same and d.date == last + dt.timedelta(days=1):
                    out[-1] = (first, d.date, head, n + 1)
                    continue
            out.append((d.date, d.date, d, 1))
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per day: date, action, final, job id, note."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "date": d.date,
                    "action": d.action,
                    "final": not d.provisional,
                    "job_id": d.job_id,
                    "note": d.note,
                }
                for d in self.days
            ],
            columns=["date", "action", "final", "job_id", "note"],
        )

    def _summary(self) -> list[tuple[str, str]]:
        rows = [
            ("range", f"{self.start} to {self.end} ({len(self.days)} days, scope={self.scope})"),
            ("from cache", str(self.cached)),
            ("new exports", str(self.exports)),
            ("replays", str(self.replays)),
            ("resumed jobs", str(self.count("resume"))),
            ("exports left after", f"{max(self.quota_after, 0)} of {self.quota.limit}"),
        ]
        if self.filters.describe():
            rows.insert(1, ("filters", str(self.filters.describe())))
        days, finishes = self._schedule()
        if finishes is not None:
            q = self.quota
            rows.append(
                (
                    "quota days needed",
                    f"{days} ({self.exports_needed} exports: {q.remaining} left today, then "
                    f"{q.limit} a day)",
                )
            )
            rows.append(("all loaded by", f"{describe_when(finishes)} (quota reset)"))
        if self.provisional:
            rows.append(("provisional days", _dates(self.provisional)))
        if self.deferred:
            rows.append(("deferred (quota)", _dates(self.deferred)))
        if self.held_back:
            rows.append(("left out (not final)", _dates(self.held_back)))
        return rows

    def _run_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for first, last, d, n in self.runs():
            when = str(first) if n == 1 else f"{first} to {last} ({n} days)"
            rows.append((when, d.action, "provisional" if d.provisional else "final", d.note))
        return rows

    def __str__(self) -> str:
        lines = [f"{k:>20}: {v}" for k, v in self._summary()]
        lines.append("")
        for when, action, state, note in self._run_rows():
            lines.append(f"  {when}  {action:<7} {state:<11} {note}".rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        tail = f"{max(self.quota_after, 0)} exports left after"
        if self.finishes_at is not None:
            tail += f", needs {self.quota_days} quota days"
        return (
            f"<Plan {self.start}..{self.end}: {self.cached} cached, {self.exports} exports, "
            f"{self.replays} replays, {tail}>"
        )

    def _repr_html_(self) -> str:
        head = _html_table("Plan", self._summary())
        rows = "".join(
            f"<tr><td>{html.escape(when)}</td><td>{action}</td><td>{state}</td>"
            f"<td>{html.escape(note)}</td></tr>"
            for when, action, state, note in self._run_rows()
        )
        return (
            head + "<details><summary>days (plan.to_frame() has one row per day)</summary>"
            "<table><tr><th>days</th><th>action</th>"
            f"<th>state</th><th>note</th></tr>{rows}</table></details>"
        )


def _dates(days: Sequence[dt.date]) -> str:
    """Dates as text, consecutive days as ranges: ``2026-10-01 to 2026-10-05, 2026-10-09``."""
    parts: list[list[dt.date]] = []
    for day in sorted(days):
        if parts and day == parts[-1][-1] + dt.timedelta(days=1):
            parts[-1].append(day)
        else:
            parts.append([day])
    return ", ".join(str(p[0]) if len(p) == 1 else f"{p[0]} to {p[-1]}" for p in parts)


def _html_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption>{html.escape(title)}</caption>{body}</table>"


def replay_refusal(
    record: JobRecord | Mapping[str, Any],
    now: dt.datetime,
    *,
    min_interval: dt.timedelta,
    max_per_day: int,
    quota_timezone: str = "UTC",
) -> str | None:
    """Why a replay of this job may not happen now, or ``None`` when it may.

    The guards impact.com asks for, applied to automatic and explicit replays alike:
    never while the job is unfinished, never right after it was exported or replayed,
    and never more than ``max_per_day`` times a quota day.

    Examples
    --------
    >>> now = dt.datetime(2026, 10, 2, 4, tzinfo=dt.UTC)
    >>> record = {"requested_at": "2026-10-02T03:57:00+00:00"}
    >>> replay_refusal(record, now, min_interval=dt.timedelta(hours=1), max_per_day=3)
    'it was exported or replayed 3 min ago; the next replay may run from 2026-10-02 04:57 UTC'
    """
    record = JobRecord.of(record)
    if record.pending:
        return "its job has not finished yet"
    last = record.last_run_at
    if last:
        elapsed = now - last
        if elapsed < min_interval:
            ready = (now + (min_interval - elapsed)).astimezone(dt.UTC)
            return (
                f"it was exported or replayed {_human(elapsed)} ago; the next replay may run "
                f"from {ready:%Y-%m-%d %H:%M} UTC"
            )
    today = quota_day(now, quota_timezone).isoformat()
    done = record.replays_by_day.get(today, 0)
    if done >= max_per_day:
        return f"it was already replayed {done} times today (the limit is {max_per_day})"
    return None


def _human(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return f"{max(int(delta.total_seconds()), 0)} s"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h"


def plan_day(
    day: dt.date,
    candidates: Sequence[Candidate],
    export_key: str,
    *,
    final: bool,
    export_whole_day: bool,
    guard: Callable[[JobRecord], str | None] | None = None,
) -> DayPlan:
    """Decide one day from the cached candidates (best first).

    A result produced after the day became final is served as is; a provisional result
    is served while the day is still open, and replayed once after it closes (when
    ``guard`` allows; until then it is served, marked provisional). A job whose result
    is missing (never downloaded, or the file was damaged) is resumed through the same
    job: never a new export. A provisional day whose job the API no longer knows is
    exported again (a new request in effect: the day changed), or served as provisional
    while the quota does not allow that.
    """
    for c in candidates:
        record = c.record
        if record is None or not record.job_id:
            continue
        job_id, pending, result = record.job_id, record.pending, record.result
        data_final = result is not None and result.final
        if result is not None and c.has_frame and not pending:
            if data_final or not final:
                note = "" if data_final else "provisional (day still open)"
                return DayPlan(
                    day, "cache", c.key, job_id, final, c.whole_day, note, not data_final
                )
            if record.job_gone:
                return DayPlan(
                    day, "export", export_key, None, final, export_whole_day,
                    "provisional copy's job is gone: exported again", False, c.key,
                )  # fmt: skip
            refusal = guard(record) if guard is not None else None
            if refusal is None and not record.final_replay:
                return DayPlan(
                    day, "replay", c.key, job_id, final, c.whole_day,
                    "day closed since the provisional fetch: replay once",
                )  # fmt: skip
            why = refusal or "replayed after the day closed, yet still provisional"
            return DayPlan(
                day, "cache", c.key, job_id, final, c.whole_day, f"provisional: {why}", True
            )
        if pending or not c.has_frame:
            why = "job in progress" if pending else "result re-downloaded from the same job"
            return DayPlan(day, "resume", c.key, job_id, final, c.whole_day, why, not final)
    note = "" if final else "provisional (day still open)"
    return DayPlan(day, "export", export_key, None, final, export_whole_day, note, not final)


def _serve_fallback(day_plan: DayPlan) -> DayPlan:
    """The provisional copy of a day whose new export does not fit the quota."""
    return DayPlan(
        day_plan.date, "cache", day_plan.fallback_key or day_plan.key, None, day_plan.final,
        True, "provisional: its job is gone; exported again once the quota allows", True,
    )  # fmt: skip


def make_plan(
    start: dt.date,
    end: dt.date,
    *,
    scope: str,
    filters: Filters,
    day_plans: Sequence[DayPlan],
    quota: QuotaStatus,
    fetch: Literal["all", "fits"] = "all",
    include_today: bool = False,
) -> Plan:
    """Assemble a :class:`Plan`; with ``fetch="fits"`` defer the oldest exports that do not fit.

    With ``fetch="fits"`` a new export of a day that is not final yet (today, or
    yesterday within the settle delay) is left out too (:attr:`Plan.held_back`) unless
    ``include_today``: it would cost an export now and a replay later, and the quota is
    better spent on complete days. Raising on an exhausted quota is the caller's
    decision (it is not I/O-free to explain), so this never raises.
    """
    days = list(day_plans)
    deferred: list[dt.date] = []
    held_back: list[dt.date] = []
    if fetch == "fits" and not include_today:
        held_back = [d.date for d in days if d.action == "export" and not d.final]
        days = [d for d in days if not (d.action == "export" and not d.final)]
    needed = sum(1 for d in days if d.action == "export")
    if needed > quota.remaining:
        # Days with a provisional copy to serve give way first (oldest first).
        optional = sorted(
            (i for i, d in enumerate(days) if d.action == "export" and d.fallback_key),
            key=lambda i: days[i].date,
        )
        for i in optional[: needed - max(quota.remaining, 0)]:
            days[i] = _serve_fallback(days[i])
        needed = sum(1 for d in days if d.action == "export")
    if fetch == "fits" and needed > quota.remaining:
        # Most recent days first: they are the ones analysts look at.
        exports = sorted((d for d in days if d.action == "export"), key=lambda d: d.date)
        drop = {d.date for d in exports[: needed - max(quota.remaining, 0)]}
        deferred = sorted(drop)
        days = [d for d in days if d.date not in drop]
    return Plan(start, end, scope, filters, tuple(days), quota, tuple(deferred), tuple(held_back))
