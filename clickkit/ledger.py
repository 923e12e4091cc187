"""The daily ClickExport quota of one account: counted, reserved, corrected from headers.

impact.com allows a few ClickExport calls a day per account. A :class:`Ledger` keeps the
books for one account on one cache, shared by every process that uses the cache:

- :meth:`Ledger.record` counts every API call (it is the HTTP layer's observer) and
  keeps the server's own "remaining today" header, which wins where it says less is left;
- :meth:`Ledger.reserved` reserves a plan's exports before the first one is sent, so two
  plans never count the same remaining exports, and releases what was not used;
- :meth:`Ledger.spend` turns one reservation into a counted call;
- :meth:`Ledger.status` answers ``client.quota()`` without an API call.

The arithmetic of a quota day is :func:`counts_toward_quota` and
:func:`remaining_exports` (pure, tested on their own).

Examples
--------
>>> ledger = Ledger(cache, "IRabc", settings, now=clock, rate_limit=rate)  # doctest: +SKIP
>>> ledger.status().remaining  # doctest: +SKIP
10
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from clickkit.cache import counts_toward_quota, exports_used
from clickkit.errors import QuotaExhausted
from clickkit.plan import Plan, QuotaStatus, make_plan, quota_day, quota_reset
from clickkit.records import JobRecord

if TYPE_CHECKING:
    from clickkit.api import CallRecord, RateLimitState
    from clickkit.cache import CacheBackend
    from clickkit.settings import Settings

__all__ = ["Ledger", "counts_toward_quota", "quota_error", "remaining_exports"]


def call_name(endpoint: str, status: int | None) -> str:
    """The ledger's name for a call: the endpoint, plus the status when it was refused.

    Examples
    --------
    >>> call_name("ClickExport", 200), call_name("ClickExport", 429), call_name("Job", None)
    ('ClickExport', 'ClickExport (429)', 'Job (no answer)')
    """
    accepted = status is not None and status < 400
    return endpoint if accepted else f"{endpoint} ({status or 'no answer'})"


def remaining_exports(
    calls: Mapping[str, int], limit: int, server_remaining: int | None
) -> tuple[int, int]:
    """``(used, remaining)`` of a quota day from its counted calls and the server's word.

    The server's own count, when it sent one, wins where it says less is left.

    Examples
    --------
    >>> remaining_exports({"ClickExport": 3, "Download": 5}, 10, None)
    (3, 7)
    >>> remaining_exports({"ClickExport": 3}, 10, 2)  # another tool spent some
    (8, 2)
    """
    used = exports_used(calls)
    remaining = max(limit - used, 0)
    if server_remaining is not None:
        remaining = min(remaining, max(server_remaining, 0))
        used = max(used, limit - remaining)
    return used, remaining


def quota_error(plan: Plan) -> QuotaExhausted:
    """The error for a plan that needs more exports than its quota has left."""
    q = plan.quota
    return QuotaExhausted(
        f"this request needs {plan.exports} new ClickExport calls but only {q.remaining} "
        f"of {q.limit} remain in quota day {q.quota_day} (resets at "
        f"{q.resets_at.isoformat(timespec='minutes')}). Nothing was spent. Options: "
        "fetch='fits' loads the most recent days that fit now and the rest later; ask "
        "for a shorter range; or wait for the reset.",
        needed=plan.exports,
        remaining=q.remaining,
        resets_at=q.resets_at,
        plan=plan,
    )


class Ledger:
    """The quota books of one account on one cache.

    Parameters
    ----------
    cache : CacheBackend
        Holds the shared ledger, the server's notes and the reservations.
    account_sid : str
        The account whose quota this is.
    settings : Settings
        ``quota_timezone``, ``daily_export_limit`` and ``reserve``.
    now : callable
        The clock (aware datetimes).
    rate_limit : RateLimitState
        The HTTP layer's latest rate-limit headers (read, never written).
    """

    def __init__(
        self,
        cache: CacheBackend,
        account_sid: str,
        settings: Settings,
        *,
        now: Callable[[], dt.datetime],
        rate_limit: RateLimitState,
    ) -> None:
        self.cache = cache
        self.account_sid = account_sid
        self.settings = settings
        self.now = now
        self.rate_limit = rate_limit
        # Names this ledger's reservations of the shared daily quota.
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._calls: collections.Counter[str] = collections.Counter()
        self._calls_lock = threading.Lock()

    def _day(self) -> dt.date:
        return quota_day(self.now(), self.settings.quota_timezone)

    def _server_key(self, day: dt.date) -> str:
        return f"server-remaining/{self.account_sid}/{day}"

    # -- counting --------------------------------------------------------------------

    def record(self, call: CallRecord) -> None:
        """Count one HTTP attempt (the API's observer); keep the server's remaining count."""
        name = call_name(call.endpoint, call.status)
        with self._calls_lock:
            self._calls[name] += 1
        day = self._day()
        self.cache.count_call(self.account_sid, day, name)
        if call.endpoint != "ClickExport":
            return
        remaining_day = self.rate_limit.remaining_day
        hourly_left = self.rate_limit.remaining_hour
        if call.status == 429 and remaining_day is None and (hourly_left or 0) > 0:
            remaining_day = 0  # the hourly limit is not the cause: the daily quota is
        if remaining_day is not None:
            self.cache.set_value(self._server_key(day), remaining_day)

    def calls(self) -> collections.Counter[str]:
        """The calls this ledger recorded so far (subtract two to get a call's cost)."""
        with self._calls_lock:
            return collections.Counter(self._calls)

    def server_remaining(self, day: dt.date) -> int | None:
        """Exports the server said were left on ``day``, if it said so."""
        value = self.cache.value(self._server_key(day))
        return value if isinstance(value, int) else None

    def status(self) -> QuotaStatus:
        """ClickExport calls used and left in the current quota day (no API call).

        The shared ledger counts calls from every process using this cache; the server's
        own headers, when it sent them this quota day, win where they say less is left.
        """
        now = self.now()
        day = quota_day(now, self.settings.quota_timezone)
        calls = self.cache.ledger(self.account_sid, day)
        limit = self.settings.daily_export_limit
        used, remaining = remaining_exports(calls, limit, self.server_remaining(day))
        # Exports other processes reserved for plans they are carrying out right now.
        reserved = self.cache.reserved_by_others(self.account_sid, day, self.owner)
        return QuotaStatus(
            limit=limit,
            used=used,
            remaining=max(remaining - reserved, 0),
            quota_day=day,
            resets_at=quota_reset(now, self.settings.quota_timezone),
            reserved=reserved,
            hourly_limit=self.rate_limit.limit_hour,
            hourly_remaining=self.rate_limit.remaining_hour,
            calls_today=calls,
            reserve=self.settings.reserve,
        )

    # -- reserving and spending ------------------------------------------------------

    @contextlib.contextmanager
    def reserved(self, plan: Plan, fetch: str, *, reserve: int = 0) -> Iterator[Plan]:
        """Reserve the plan's exports in the shared ledger; release what was not spent.

        Every process planning on this cache sees the reservation at once, so two plans
        never count the same remaining exports. When another process got there first,
        ``fetch="all"`` raises :class:`~clickkit.QuotaExhausted` (nothing spent) and
        ``fetch="fits"`` shrinks the plan to what was granted. ``reserve`` exports of
        the day stay out of reach (backfills leave them for interactive calls).
        """
        if plan.exports == 0:
            yield plan
            return
        self.cache.check_writable()  # before anything is spent
        day = plan.quota.quota_day
        # Most recent days first: with fetch="fits" they are the ones kept. A day another
        # process exported since the plan was made is in the ledger already; reserving it
        # too would count its export twice (its job is waited for, not exported again).
        keys = [d.key for d in sorted(plan.days, key=lambda d: d.date, reverse=True)
                if d.action == "export" and not self._exported(d.key)]  # fmt: skip
        server = self.server_remaining(day)
        refused = self.cache.reserve_exports(
            self.account_sid, day, keys, limit=self.settings.daily_export_limit - reserve,
            server_remaining=None if server is None else server - reserve, owner=self.owner,
        )  # fmt: skip
        # ...and one exported while this reservation was being made is no refusal either.
        refused = [key for key in refused if not self._exported(key)]
        try:
            if refused:
                plan = _shrunk(plan, granted=len(keys) - len(refused), fetch=fetch)
            yield plan
        finally:
            self.cache.release_reservation(self.account_sid, day, self.owner)

    def _exported(self, key: str) -> bool:
        """Whether a job for request ``key`` is on record (so exporting it costs nothing)."""
        record = JobRecord.of(self.cache.job(key))
        return record is not None and record.exported

    def spend(self, key: str) -> None:
        """An export of ``key`` is in the ledger now: its reservation is no longer needed."""
        self.cache.spend_reservation(self.account_sid, self._day(), self.owner, key)


def _shrunk(plan: Plan, *, granted: int, fetch: str) -> Plan:
    """``plan`` cut to ``granted`` exports, or QuotaExhausted when it must be whole."""
    quota = dataclasses.replace(plan.quota, remaining=granted)
    if fetch == "all":
        raise quota_error(dataclasses.replace(plan, quota=quota))
    # The days already left out stay left out (and listed).
    shrunk = make_plan(
        plan.start, plan.end, scope=plan.scope, filters=plan.filters, day_plans=plan.days,
        quota=quota, fetch="fits", include_today=True,
    )  # fmt: skip
    return dataclasses.replace(
        shrunk,
        deferred=tuple(sorted({*plan.deferred, *shrunk.deferred})),
        held_back=plan.held_back,
    )
