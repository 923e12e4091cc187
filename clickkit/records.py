"""Typed views of the JSON the cache keeps: a day's job record and its downloaded result.

The cache stores job records as plain JSON objects (portable between versions and
between the machines of a team); everything that reads them goes through
:meth:`JobRecord.from_json` and gets typed, defaulted attributes instead of string keys.
:meth:`JobRecord.to_json` writes one back in the same form: a flag that is ``False`` and
a value that is ``None`` are left out (an absent key has always meant exactly that), and
keys this version does not know are kept as they were.

Examples
--------
>>> record = JobRecord.from_json({"key": "k1", "job_id": "J1", "date": "2026-11-20",
...                               "pending": False, "result": None, "later": 1})
>>> record.job_id, record.day, record.pending, record.result
('J1', datetime.date(2026, 11, 20), False, None)
>>> record.to_json()
{'later': 1, 'key': 'k1', 'date': '2026-11-20', 'job_id': 'J1', 'replays': 0, 'failed_replays': 0}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DayFileRecord", "DayResult", "JobRecord"]


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _names(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def _known(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.name != "extra")


def _to_json(obj: Any) -> dict[str, Any]:
    """Every known field that says something (not None, not False, not empty)."""
    out = dict(obj.extra)
    for f in dataclasses.fields(obj):
        if f.name == "extra":
            continue
        value = getattr(obj, f.name)
        if value is None or value is False or (isinstance(value, tuple | dict) and not value):
            continue
        if isinstance(value, DayResult):
            value = value.to_json()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


@dataclass(frozen=True)
class DayResult:
    """What was downloaded for a day and stored as its day file.

    Attributes
    ----------
    rows, size : int or None
        Rows of the day frame and bytes of its Parquet file.
    content_hash : str or None
        Hash of the day file's bytes, checked on every read.
    checksum : str or None
        Hash of the downloaded export (a refreshed day has another one).
    final : bool
        The data was produced after the day became final (no click can still arrive).
    fetched_at, produced_at : str or None
        ISO timestamps: when it was downloaded, and when the run that made it was asked
        for (finality follows the latter).
    missing : tuple of str
        Schema columns the export did not have (read as nulls).
    extra : mapping
        Keys of other versions, kept as they are.
    """

    rows: int | None = None
    size: int | None = None
    content_hash: str | None = None
    checksum: str | None = None
    final: bool = False
    fetched_at: str | None = None
    produced_at: str | None = None
    missing: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> DayResult | None:
        """The result stored in a record, or ``None`` when there is none (yet)."""
        if not data:
            return None
        return cls(
            rows=_optional_int(data.get("rows")),
            size=_optional_int(data.get("size")),
            content_hash=_text(data.get("content_hash")),
            checksum=_text(data.get("checksum")),
            final=bool(data.get("final")),
            fetched_at=_text(data.get("fetched_at")),
            produced_at=_text(data.get("produced_at")),
            missing=tuple(str(c) for c in data.get("missing") or ()),
            extra={k: v for k, v in data.items() if k not in _RESULT_FIELDS},
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored under the record's ``result``."""
        return _to_json(self)


_RESULT_FIELDS = _known(DayResult)


@dataclass(frozen=True)
class JobRecord:
    """The cache's record of the job that answers one request key (usually one day).

    Attributes
    ----------
    key : str
        The request key (day, filters and format).
    job_id : str or None
        The impact.com job; ``None`` only in a record that never got one.
    account, result_format : str or None
        Who exported it, and in which format.
    date : str or None
        The day, ISO (:attr:`day` parses it).
    filters : dict
        The export's filters as the API got them (empty for a whole day).
    status : str or None
        The job's last known state.
    submitted_at, requested_at, last_replay_at : str or None
        ISO timestamps: the export, the run whose result is (or will be) downloaded,
        and the last replay.
    pending : bool
        A run was asked for whose result is not ingested yet.
    source : str or None
        How the stored result came: ``"export"``, ``"replay"`` or ``"cache"``.
    replays, failed_replays : int
        Replays so far, and replays in a row that ended FAILED or CANCELLED.
    replays_by_day : dict of str to int
        Replays per quota day (the daily replay guard).
    job_gone : bool
        The API no longer knows the job (a provisional day is then exported again).
    final_replay : bool
        The one replay after the day closed was asked for.
    awaiting_replay, replay_started : bool
        A replay was asked for; and its run was seen to start.
    replay_baseline : str or None
        The job's completion time before the replay (a result older than this is the
        previous run's).
    recovered, offline : bool
        Rebuilt from a day file's metadata; read from a shared cache's local mirror
        while the bucket was unreachable.
    result : DayResult or None
        What was downloaded, once it was.
    extra : mapping
        Keys of other versions, kept as they are.
    """

    key: str
    account: str | None = None
    date: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    result_format: str | None = None
    job_id: str | None = None
    status: str | None = None
    submitted_at: str | None = None
    requested_at: str | None = None
    last_replay_at: str | None = None
    pending: bool = False
    source: str | None = None
    replays: int = 0
    failed_replays: int = 0
    replays_by_day: dict[str, int] = field(default_factory=dict)
    job_gone: bool = False
    final_replay: bool = False
    awaiting_replay: bool = False
    replay_started: bool = False
    replay_baseline: str | None = None
    recovered: bool = False
    offline: bool = False
    result: DayResult | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobRecord:
        """Read a stored record; missing keys take their defaults, unknown ones are kept."""
        return cls(
            key=str(data.get("key") or ""),
            account=_text(data.get("account")),
            date=_text(data.get("date")),
            filters=dict(data.get("filters") or {}),
            result_format=_text(data.get("result_format")),
            job_id=_text(data.get("job_id")),
            status=_text(data.get("status")),
            submitted_at=_text(data.get("submitted_at")),
            requested_at=_text(data.get("requested_at")),
            last_replay_at=_text(data.get("last_replay_at")),
            pending=bool(data.get("pending")),
            source=_text(data.get("source")),
            replays=_count(data.get("replays")),
            failed_replays=_count(data.get("failed_replays")),
            replays_by_day={
                str(k): _count(v) for k, v in (data.get("replays_by_day") or {}).items()
            },
            job_gone=bool(data.get("job_gone")),
            final_replay=bool(data.get("final_replay")),
            awaiting_replay=bool(data.get("awaiting_replay")),
            replay_started=bool(data.get("replay_started")),
            replay_baseline=_text(data.get("replay_baseline")),
            recovered=bool(data.get("recovered")),
            offline=bool(data.get("offline")),
            result=DayResult.from_json(data.get("result")),
            extra={k: v for k, v in data.items() if k not in _RECORD_FIELDS},
        )

    @classmethod
    def of(cls, data: JobRecord | Mapping[str, Any] | None) -> JobRecord | None:
        """``data`` as a record (a stored JSON object is read; ``None`` stays ``None``)."""
        if data is None or isinstance(data, JobRecord):
            return data
        return cls.from_json(data)

    def to_json(self) -> dict[str, Any]:
        """The JSON object the cache stores (see the module's rule for what is left out).

        Counts are always written: ``replays`` and ``failed_replays`` of 0 included.
        """
        out = _to_json(self)
        out["replays"], out["failed_replays"] = self.replays, self.failed_replays
        return out

    @property
    def day(self) -> dt.date | None:
        """:attr:`date` as a date (``None`` when missing or not a date)."""
        try:
            return dt.date.fromisoformat(self.date) if self.date else None
        except ValueError:
            return None

    @property
    def exported(self) -> bool:
        """A job for this request exists on impact.com (so exporting it again costs)."""
        return bool(self.job_id) and not self.job_gone

    @property
    def last_run_at(self) -> dt.datetime | None:
        """When the latest export or replay was asked for (the replay guards' clock)."""
        last = self.requested_at or self.last_replay_at or self.submitted_at
        return dt.datetime.fromisoformat(last) if last else None


_RECORD_FIELDS = _known(JobRecord)


#: The job record fields a day file carries, so a lost index can be rebuilt from it.
_DAY_FILE_FIELDS = ("key", "account", "date", "filters", "result_format", "job_id")


@dataclass(frozen=True)
class DayFileRecord:
    """What a day file says about itself, in its Parquet metadata (``clickkit.record``).

    Enough to rebuild the day's job record when the cache's index is lost: the request,
    the job, and what the result was. Written as sorted JSON, version ``v`` 1.

    Attributes
    ----------
    key, account, date, result_format, job_id : str or None
        As in :class:`JobRecord`.
    filters : dict or None
        The export's filters.
    rows : int or None
        Rows of the day file.
    final : bool or None
        The result was final; ``None`` when the record did not say.
    produced_at, fetched_at : str or None
        As in :class:`DayResult`.
    extra_columns : tuple of str or None
        Columns beyond the documented schema (kept as text); ``None`` when the file
        does not say (its columns are then not checked against a list).

    Examples
    --------
    >>> meta = DayFileRecord.of(JobRecord("k", job_id="J", date="2026-11-20"), rows=3)
    >>> DayFileRecord.from_json(meta.to_json()) == meta
    True
    >>> meta.job_record(size=100, content_hash="ab")["recovered"]
    True
    """

    key: str
    account: str | None = None
    date: str | None = None
    filters: dict[str, Any] | None = None
    result_format: str | None = None
    job_id: str | None = None
    rows: int | None = None
    final: bool | None = None
    produced_at: str | None = None
    fetched_at: str | None = None
    extra_columns: tuple[str, ...] | None = ()

    @classmethod
    def of(
        cls,
        record: JobRecord | Mapping[str, Any],
        *,
        rows: int,
        key: str | None = None,
        extra_columns: tuple[str, ...] = (),
    ) -> DayFileRecord:
        """What a day file of ``record`` with ``rows`` rows carries."""
        data = record.to_json() if isinstance(record, JobRecord) else dict(record)
        result = data.get("result") or {}
        return cls(
            key=str(key if key is not None else data.get("key")),
            **{name: data.get(name) for name in _DAY_FILE_FIELDS if name != "key"},
            rows=rows,
            final=result.get("final"),
            produced_at=result.get("produced_at"),
            fetched_at=result.get("fetched_at"),
            extra_columns=tuple(extra_columns),
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DayFileRecord:
        """Read the metadata of a day file (written by any version so far)."""
        result = data.get("result") or {}
        return cls(
            key=str(data.get("key")),
            **{name: data.get(name) for name in _DAY_FILE_FIELDS if name != "key"},
            rows=_optional_int(result.get("rows")),
            final=result.get("final"),
            produced_at=result.get("produced_at"),
            fetched_at=result.get("fetched_at"),
            extra_columns=_names(data.get("extra_columns")),
        )

    def to_json(self) -> dict[str, Any]:
        """The metadata as stored (the six request fields always; result keys when known)."""
        result: dict[str, Any] = {"rows": self.rows}
        for name in ("final", "produced_at", "fetched_at"):
            if getattr(self, name) is not None:
                result[name] = getattr(self, name)
        return {
            **{name: getattr(self, name) for name in _DAY_FILE_FIELDS},
            "v": 1,
            "result": result,
            "extra_columns": list(self.extra_columns or ()),
        }

    def job_record(self, *, size: int, content_hash: str) -> dict[str, Any]:
        """The job record this file proves (for an index rebuilt from the day files)."""
        result: dict[str, Any] = {
            "rows": self.rows,
            "size": size,
            "content_hash": content_hash,
            "final": bool(self.final),
        }
        result.update({k: getattr(self, k) for k in ("produced_at", "fetched_at")
                       if getattr(self, k) is not None})  # fmt: skip
        return {
            **{name: getattr(self, name) for name in _DAY_FILE_FIELDS},
            "pending": False,
            "status": "COMPLETED",
            "result": result,
            "source": "cache",
            "replays": 0,
            "failed_replays": 0,
            "recovered": True,
        }
