"""Provenance: what ``df.attrs["clickkit"]`` says about where a frame's days came from.

:func:`build_provenance` turns a carried-out plan, the job records of its days and the executor's
report (the source of each day, the calls spent) into the JSON-able mapping that
``Client.clicks()`` and ``Client.refresh()`` attach to their frames, with enough of the
request to make the call again; :func:`warn_about` raises the call's warnings from it.

Examples
--------
>>> df = client.clicks("2026-10-01", "2026-10-07")  # doctest: +SKIP
>>> df.attrs["clickkit"]["days"][0]["source"]  # doctest: +SKIP
'export'
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

from clickkit._version import __version__
from clickkit.errors import ProvisionalDataWarning
from clickkit.plan import Plan, Request
from clickkit.records import DayResult, JobRecord

__all__ = ["build_provenance", "warn_about"]


def build_provenance(
    plan: Plan,
    req: Request,
    *,
    records: Mapping[str, JobRecord | Mapping[str, Any] | None],
    sources: Mapping[str, str],
    spent: Mapping[str, int],
    account_sid: str,
    timezone: str,
    fetch: str = "all",
    include_today: bool = False,
    returned: Mapping[dt.date, int] | None = None,
) -> dict[str, Any]:
    """Where each day came from, and enough of the request to make the call again.

    ``records`` are the job records of the plan's days (by request key) after the plan
    was carried out; ``sources`` is what the executor reports for each key
    (``"export"``, ``"replay"``, ``"resume"``, ``"cache"``); ``spent`` the calls the
    request made. ``returned`` is the rows each day contributed after the filters; without it (a
    lazy frame) ``rows`` is known only for days nothing filters locally.
    """
    days = []
    for day_plan in sorted(plan.days, key=lambda d: d.date):
        record = JobRecord.of(records.get(day_plan.key)) or JobRecord(day_plan.key)
        result = record.result or DayResult()
        in_day = result.rows
        if returned is not None:
            rows = returned.get(day_plan.date)
        else:
            filtered = day_plan.whole_day and not req.filters.is_empty
            rows = None if filtered else in_day
        days.append(
            {
                "date": day_plan.date.isoformat(),
                "source": sources.get(day_plan.key, "cache"),
                "job_id": record.job_id,
                "fetched_at": result.fetched_at,
                "final": result.final,
                # Rows this frame has for the day (after the filters), and the day file's.
                "rows": rows,
                "rows_in_day": in_day,
                "whole_day": day_plan.whole_day,
                "replays": record.replays,
                "result_format": record.result_format,
                "content_hash": result.content_hash,
            }
        )
    return {
        "clickkit_version": __version__,
        "account_sid": account_sid,
        "timezone": timezone,
        "start": req.start.isoformat(),
        "end": req.end.isoformat(),
        "filters": req.filters.describe(),
        "scope": req.scope,
        # The arguments of the call, as clicks() takes them: pass them to make it again.
        "request": {
            "start": req.start.isoformat(),
            "end": req.end.isoformat(),
            **req.filters.describe(),
            "scope": req.scope,
            "result_format": req.result_format,
            "fetch": fetch,
            "include_today": include_today,
        },
        "days": days,
        "deferred": [d.isoformat() for d in plan.deferred],
        "held_back": [d.isoformat() for d in plan.held_back],
        # The signed-URL storage host is not impact.com's API: counted apart.
        "api_calls": {k: v for k, v in spent.items() if not k.startswith("Storage")},
        "storage_downloads": sum(v for k, v in spent.items() if k.startswith("Storage")),
    }


def warn_about(plan: Plan, provenance: Mapping[str, Any]) -> None:
    """One warning per kind for the whole call (provisional days, deferred days).

    Called by the client method the user called (``stacklevel`` points at the user).
    """
    provisional = [d["date"] for d in provenance["days"] if not d["final"]]
    if provisional:
        warnings.warn(
            f"provisional data for {', '.join(provisional)}: produced before the day "
            "was over (plus the settle delay), so clicks may still arrive. Ask again "
            "after it closes and clickkit replays the export once.",
            ProvisionalDataWarning,
            stacklevel=3,
        )
    if plan.deferred:
        days = ", ".join(d.isoformat() for d in plan.deferred)
        warnings.warn(
            f"not fetched for lack of quota (fetch='fits'): {days}. Call again after "
            f"{plan.quota.resets_at.isoformat(timespec='minutes')}.",
            UserWarning,
            stacklevel=3,
        )
    if plan.held_back:
        days = ", ".join(d.isoformat() for d in plan.held_back)
        warnings.warn(
            f"not fetched because not final yet (fetch='fits'): {days}. Exporting a day "
            "before it is over costs an export now and a replay later; pass "
            "include_today=True to load it anyway, or ask after it is final.",
            UserWarning,
            stacklevel=3,
        )
