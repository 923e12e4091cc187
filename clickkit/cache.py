"""The local cache: job records, the usage ledger and locks in diskcache; day frames as Parquet.

Layout of a cache directory (created private to the user, mode 0700)::

    index/                  diskcache (SQLite) with JSON values only, never pickles
    index.broken-<time>/    a damaged index, moved aside when it was rebuilt
    days/<key>.parquet      one typed day frame per request key (canonical schema)

Results are downloaded into memory and parsed at once: no file of them is written.

Day frames live outside diskcache so its size-based eviction can never drop them; every
file is written to a temporary name and renamed into place, so a reader never sees half a
file. A day file is trusted only as far as it is proven: its job record holds a blake2b
hash of its bytes, Parquet page checksums and the canonical schema are checked on read,
and the file carries its own job record (Parquet metadata ``clickkit.record``), so a lost
or damaged index is rebuilt from the day files. Every failure of the index or the files
surfaces as a :class:`~clickkit.errors.CacheError` that says what to do.

Examples
--------
>>> cache = Cache(tmp_path)  # doctest: +SKIP
>>> key = request_key("IRabc", datetime.date(2026, 10, 1))  # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import socket
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import diskcache

from clickkit.errors import CacheError
from clickkit.files import atomic_write
from clickkit.records import DayFileRecord

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

log = logging.getLogger("clickkit")

#: Bump when the meaning of a key or of a cached frame changes; old entries are ignored.
KEY_VERSION = 1

#: Parquet key-value metadata key under which a day file carries its job record (JSON).
RECORD_METADATA_KEY = b"clickkit.record"

#: Bytes of just-written day tables kept for their first read (see ``Cache.read_day``).
WRITTEN_BYTES = 512 << 20

#: Seconds after which a quota reservation no longer counts (its owner is presumed gone).
RESERVATION_TTL = 3600.0

# A stored value that does not decode (diskcache's JSONDisk is zlib + JSON + UTF-8).
_UNDECODABLE: tuple[type[Exception], ...] = (json.JSONDecodeError, zlib.error, UnicodeDecodeError)
_FAILURES: tuple[type[Exception], ...] = (sqlite3.Error, OSError, diskcache.Timeout, *_UNDECODABLE)

F = TypeVar("F", bound=Callable[..., Any])


def request_key(
    account_sid: str,
    date: dt.date,
    *,
    program_ids: Iterable[int | str] = (),
    ad_ids: Iterable[int | str] = (),
    sub_ids: Iterable[str] = (),
    unique: bool | None = None,
    result_format: str = "CSV",
    endpoint: str = "ClickExport",
) -> str:
    """The cache key of one export request: blake2b of its canonical JSON.

    The canonical dict holds the account, endpoint, date, sorted filter lists, the unique
    filter, the result format and :data:`KEY_VERSION`; never the token.

    Examples
    --------
    >>> request_key("IRabc", dt.date(2026, 10, 1))[:12]
    '5e045d99a10e'
    """
    canonical = {
        "account": account_sid,
        "endpoint": endpoint,
        "Date": date.isoformat(),
        "ProgramId": sorted({str(v) for v in program_ids}),
        "AdId": sorted({str(v) for v in ad_ids}),
        "SubId": sorted({str(v) for v in sub_ids}),
        "UniqueClick": None if unique is None else bool(unique),
        "ResultFormat": result_format.upper(),
        "v": KEY_VERSION,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def counts_toward_quota(endpoint: str) -> bool:
    """Whether a ledger entry is a ClickExport call that spent one of the daily exports.

    Every ClickExport that may have reached impact.com counts, whatever its answer (a
    gateway counts a call before the service behind it answers); only calls refused by
    the rate limiter or for the credentials are free.

    Examples
    --------
    >>> [counts_toward_quota(n) for n in ("ClickExport", "ClickExport (no answer)",
    ...                                   "ClickExport (429)", "Download")]
    [True, True, False, False]
    """
    if endpoint == "ClickExport":
        return True
    refused = ("(429)", "(401)", "(403)")
    return endpoint.startswith("ClickExport (") and not endpoint.endswith(refused)


def exports_used(ledger: Mapping[str, int]) -> int:
    """ClickExport calls of a ledger that count toward the daily quota."""
    return sum(int(n) for name, n in ledger.items() if counts_toward_quota(name))


def _alive(pid: Any) -> bool:
    """Whether a process of this host is running (a pid we may not signal counts as alive)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True
    return True


def _corrupt(exc: BaseException) -> bool:
    """Whether an index failure means damaged data (as opposed to a busy or missing file)."""
    if isinstance(exc, _UNDECODABLE):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        # "locked", "unable to open", "disk I/O error": moving the index aside would not help.
        return "malformed" in str(exc) or "not a database" in str(exc)
    return isinstance(exc, sqlite3.DatabaseError)


def _guarded(doing: str, *, files: bool = False) -> Callable[[F], F]:
    """Turn sqlite3, OS, timeout and decoding failures of a Cache method into CacheError."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Cache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except CacheError:
                raise
            except _FAILURES as exc:
                raise self._failure(doing, exc, files=files) from exc

        return wrapper  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An OS file lock, so that only one process checks and repairs the index at a time."""
    try:
        import fcntl
    except ImportError:  # Windows: no repair lock; diskcache's own locking still applies
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def live_reservations(raw: Any) -> dict[str, dict[str, Any]]:
    """The live entries of a stored reservations mapping, by owner.

    An entry older than :data:`RESERVATION_TTL` seconds, or of a process of this host
    that is gone, no longer holds anything.
    """
    host, now = socket.gethostname(), time.time()
    live = {}
    for owner, held in raw.items() if isinstance(raw, Mapping) else ():
        if not isinstance(held, Mapping) or now - float(held.get("at", 0)) > RESERVATION_TTL:
            continue
        if held.get("host") == host and not _alive(held.get("pid")):
            continue
        live[str(owner)] = dict(held)
    return live


def grant_reservation(
    held: dict[str, dict[str, Any]],
    owner: str,
    me: Mapping[str, Any],
    keys: Sequence[str],
    room: int,
    server_remaining: int | None,
) -> list[str]:
    """Update ``held`` with ``owner``'s reservation of ``keys``; return the keys refused.

    ``room`` is the limit less what the ledger counts as used. A key another owner holds
    needs nothing more (that owner exports it); the rest are granted in order while
    ``min(room, server_remaining)`` less the keys others hold allows. The one rule
    behind the local and the shared cache.

    Examples
    --------
    >>> held = {"other": {"keys": ["a", "b"], "at": 1e12}}
    >>> grant_reservation(held, "me", {}, ["b", "c", "d"], room=3, server_remaining=None)
    ['d']
    >>> held["me"]["keys"]
    ['c']
    """
    others = {k for o, h in held.items() if o != owner for k in h.get("keys", ())}
    if server_remaining is not None:
        room = min(room, int(server_remaining))
    room = max(room - len(others), 0)
    wanted = [k for k in dict.fromkeys(keys) if k not in others]
    granted, refused = wanted[:room], wanted[room:]
    held.pop(owner, None)
    if granted:
        held[owner] = {"keys": granted, **me, "at": time.time()}
    return refused


@runtime_checkable
class CacheBackend(Protocol):
    """What the planner, the executor and the ledger need from a cache.

    :class:`Cache` (one machine: diskcache + Parquet files) and
    :class:`clickkit.shared.SharedCache` (a team's bucket with a local mirror) both
    provide it, so a backend slots in without touching the planner or the executor.

    Examples
    --------
    >>> isinstance(Cache(tmp_path), CacheBackend)  # doctest: +SKIP
    True
    """

    root: Path

    def job(self, key: str) -> dict[str, Any] | None: ...
    def put_job(self, key: str, record: Mapping[str, Any]) -> None: ...
    def update_job(self, key: str, **changes: Any) -> dict[str, Any]: ...
    def drop_job(self, key: str) -> None: ...
    def jobs(self) -> list[dict[str, Any]]: ...
    def ledger(self, account_sid: str, quota_day: dt.date) -> dict[str, int]: ...
    def count_call(
        self, account_sid: str, quota_day: dt.date, endpoint: str, n: int = 1
    ) -> None: ...
    def value(self, name: str) -> Any: ...
    def set_value(self, name: str, value: Any) -> None: ...
    def reserve_exports(
        self,
        account_sid: str,
        quota_day: dt.date,
        keys: Sequence[str],
        *,
        limit: int,
        server_remaining: int | None = None,
        owner: str,
    ) -> list[str]: ...
    def spend_reservation(
        self, account_sid: str, quota_day: dt.date, owner: str, key: str
    ) -> None: ...
    def release_reservation(self, account_sid: str, quota_day: dt.date, owner: str) -> None: ...
    def reserved_by_others(self, account_sid: str, quota_day: dt.date, owner: str) -> int: ...
    def lock(self, key: str, *, expire: float = 300.0, timeout: float = 600.0) -> Any: ...
    def day_path(self, key: str) -> Path: ...
    def write_day(
        self, key: str, table: pa.Table, *, record: Mapping[str, Any] | None = None
    ) -> dict[str, Any]: ...
    def read_day(self, key: str, record: Mapping[str, Any] | None = None) -> pa.Table | None: ...
    def drop_day(self, key: str) -> None: ...
    def check_writable(self) -> None: ...
    def rebuild_index(self) -> int: ...
    def close(self) -> None: ...


class Cache:
    """Job records, usage ledger, locks, quota reservations and day frames under one directory.

    The cache never trusts what it cannot prove: each day file carries a blake2b hash in
    its job record and the job record itself in its Parquet metadata, so a damaged file is
    detected on read and a lost or damaged index is rebuilt from the day files.

    Parameters
    ----------
    root : str or Path
        The cache directory; created (0700) when missing.

    Raises
    ------
    CacheError
        When the directory cannot be created or written, or its index is damaged and
        cannot be repaired.

    Examples
    --------
    >>> cache = Cache(tmp_path)  # doctest: +SKIP
    >>> cache.check_writable()  # before spending an export  # doctest: +SKIP
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.root, 0o700)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            (self.root / "days").mkdir(exist_ok=True, mode=0o700)
            # Tables just written, by key, with the hash of the bytes they were encoded
            # to: read back once, those bytes prove the file and need no decoding.
            self._written: dict[str, tuple[str, pa.Table]] = {}
            self._written_sizes: dict[str, int] = {}
            with _exclusive(self.root / ".index.lock"):
                self._open()
        except OSError as exc:
            raise CacheError(
                f"cannot use the cache directory {self.root}: {exc.strerror or exc}. Pass "
                "cache_dir= (or set CLICKKIT_CACHE_DIR) to a writable folder."
            ) from None

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    @property
    def index_dir(self) -> Path:
        """The diskcache (SQLite) directory of the index."""
        return self.root / "index"

    @_guarded("closing the index")
    def close(self) -> None:
        """Close the index (and forget the tables kept for their first read)."""
        self._written.clear()
        self._index.close()

    # -- opening and repairing the index -----------------------------------------------

    def _connect(self) -> diskcache.Cache:
        # JSONDisk: values are JSON text, so nothing read back is ever unpickled.
        return diskcache.Cache(
            str(self.index_dir),
            disk=diskcache.JSONDisk,
            disk_compress_level=0,
            size_limit=2**40,
            eviction_policy="none",
            timeout=60,
        )

    def _open(self) -> None:
        """Open the index; rebuild it from the day files when it is lost or damaged."""
        index = None
        try:
            index = self._connect()
            job_count = self._health_check(index)
        except _FAILURES as exc:
            if index is not None:
                with contextlib.suppress(*_FAILURES):
                    index.close()
            if not _corrupt(exc):
                raise self._failure("opening the index", exc) from exc
            self._recover(exc)
            return
        self._index = index
        if job_count == 0 and next(self._day_keys(), None) is not None:
            restored = self._guarded_rebuild("rebuilding the lost index")
            log.warning(
                "the cache index in %s had no job records; recovered %d day(s) from the day files",
                self.root,
                restored,
            )

    @staticmethod
    def _health_check(index: diskcache.Cache) -> int:
        """SQLite's quick check, then decode every key; return the number of job records."""
        status = [row[0] for row in index._sql("PRAGMA quick_check").fetchall()]
        if status != ["ok"]:
            raise sqlite3.DatabaseError(f"quick_check: {'; '.join(map(str, status[:3]))}")
        jobs = 0
        # diskcache's own iterator stops at the first undecodable key; read the rows.
        for db_key, raw in index._sql("SELECT key, raw FROM Cache").fetchall():
            key = index._disk.get(db_key, raw)
            if isinstance(key, list) and key and key[0] == "job":
                jobs += 1
        return jobs

    def _recover(self, cause: BaseException) -> None:
        """Move a damaged index aside, open a fresh one and fill it from what survives."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        broken = self.root / f"index.broken-{stamp}"
        n = 1
        while broken.exists():
            n += 1
            broken = self.root / f"index.broken-{stamp}-{n}"
        try:
            os.replace(self.index_dir, broken)
        except OSError as exc:
            raise CacheError(
                f"the cache index {self.index_dir} is damaged ({cause}) and could not be moved "
                f"aside ({exc.strerror or exc}). Delete {self.index_dir} to rebuild it from "
                "the day files, or pass another cache_dir (or set CLICKKIT_CACHE_DIR)."
            ) from None
        try:
            self._index = self._connect()
            salvaged = _salvage(broken)
            for key, value in salvaged:
                if key[0] in ("ledger", "note"):
                    self._index.set(tuple(key), value)
            restored = self.rebuild_index()
            kept = 0
            for key, value in salvaged:
                if key[0] == "job" and self._adopt(key[1], value):
                    kept += 1
        except _FAILURES as exc:
            raise CacheError(
                f"the cache index {self.index_dir} was damaged ({cause}); it was moved to "
                f"{broken}, but a fresh index could not be built ({exc}). Delete "
                f"{self.index_dir} to rebuild it from the day files, or pass another cache_dir "
                "(or set CLICKKIT_CACHE_DIR)."
            ) from None
        log.warning(
            "the cache index in %s was damaged (%s); moved it to %s and rebuilt it: %d day(s) "
            "recovered from the day files, %d job record(s) and %d other entries kept from "
            "the old index",
            self.root,
            cause,
            broken.name,
            restored,
            kept,
            sum(1 for key, _ in salvaged if key[0] != "job"),
        )

    def _adopt(self, key: str, salvaged: Any) -> bool:
        """Keep a job record read from a damaged index unless a day file contradicts it."""
        if not isinstance(salvaged, Mapping) or not salvaged.get("job_id"):
            return False
        current = self.job(key)
        if current is not None:
            old = (salvaged.get("result") or {}).get("content_hash")
            proven = (current.get("result") or {}).get("content_hash")
            if not salvaged.get("pending") and old != proven:
                return False  # the day file proves another result: it wins
        self._index.set(("job", key), dict(salvaged))
        return True

    def _guarded_rebuild(self, doing: str) -> int:
        try:
            return self.rebuild_index()
        except _FAILURES as exc:
            raise self._failure(doing, exc) from exc

    def _failure(self, doing: str, exc: BaseException, *, files: bool = False) -> CacheError:
        """A CacheError that says what failed and what to do about it."""
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.filename:
            detail = f"{detail}: {exc.filename}"
        if files:
            fix = (
                f"check the free space and permissions of {self.root}, or pass another "
                "cache_dir (or set CLICKKIT_CACHE_DIR)"
            )
        elif isinstance(exc, diskcache.Timeout) or "locked" in str(exc):
            fix = (
                "another process kept the index busy; try again, or pass another cache_dir "
                "(or set CLICKKIT_CACHE_DIR)"
            )
        else:
            fix = (
                f"delete {self.index_dir} to rebuild it from the day files, or pass another "
                "cache_dir (or set CLICKKIT_CACHE_DIR)"
            )
        what = type(exc).__name__
        return CacheError(f"the cache in {self.root} failed {doing} ({what}: {detail}); {fix}.")

    def _day_keys(self) -> Iterator[str]:
        """Request keys of the day files present (temporary files start with a dot)."""
        with os.scandir(self.root / "days") as entries:
            for entry in entries:
                if entry.name.endswith(".parquet") and not entry.name.startswith("."):
                    yield entry.name.removesuffix(".parquet")

    @_guarded("rebuilding the index")
    def rebuild_index(self) -> int:
        """Restore the job record of every day file that has none (or an unreadable one).

        Each day file carries its record in its Parquet metadata (see :meth:`write_day`);
        the file is verified (checksums, schema, row count) and the record restored as
        completed, with ``recovered=True`` and size and hash recomputed from the file.
        Damaged files are removed; files written before records were stored in them are
        left alone. Existing readable records are never changed.

        Returns
        -------
        int
            How many job records were restored.

        Examples
        --------
        >>> Cache(tmp_path).rebuild_index()  # doctest: +SKIP
        0
        """
        restored = 0
        for key in list(self._day_keys()):
            if self._read_record(key)[0] is not None:
                continue
            record = self._record_from_file(key)
            if record is not None:
                self._index.set(("job", key), record)
                restored += 1
        return restored

    def _record_from_file(self, key: str) -> dict[str, Any] | None:
        """The job record a day file proves, or ``None`` (no file, no record in it, damaged)."""
        import pyarrow as pa

        path = self.day_path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            _, stored = self._verify(key, data, {})
        except (ValueError, pa.ArrowException) as exc:
            self._discard(path, exc)
            return None
        if stored is None:
            log.info("day file %s holds no job record; it cannot be recovered", path)
            return None
        return stored.job_record(size=len(data), content_hash=_content_hash(data))

    # -- job records -----------------------------------------------------------------

    def _read_record(self, key: str) -> tuple[dict[str, Any] | None, bool]:
        """The stored record of a key and whether a stored value failed to decode."""
        try:
            value = self._index.get(("job", key))
        except _UNDECODABLE:
            return None, True
        return (dict(value) if isinstance(value, Mapping) else None), False

    @_guarded("reading a job record")
    def job(self, key: str) -> dict[str, Any] | None:
        """The job record stored for a request key, or ``None``.

        A record that cannot be decoded counts as absent; it is replaced by the record
        its day file proves, if there is one.
        """
        record, undecodable = self._read_record(key)
        if not undecodable:
            return record
        record = self._record_from_file(key)
        log.warning(
            "the job record of %s in %s could not be decoded; %s",
            key,
            self.index_dir,
            "restored it from its day file" if record else "it is treated as absent",
        )
        if record is None:
            self._index.delete(("job", key), retry=True)
        else:
            self._index.set(("job", key), record)
        return record

    @_guarded("storing a job record")
    def put_job(self, key: str, record: Mapping[str, Any]) -> None:
        """Store (replace) the job record of a request key."""
        self._index.set(("job", key), dict(record))

    @_guarded("updating a job record")
    def update_job(self, key: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into a job record atomically and return the result."""
        with self._index.transact(retry=True):
            record = self.job(key) or {}
            record.update(changes)
            self._index.set(("job", key), record)
        return record

    @_guarded("removing a job record")
    def drop_job(self, key: str) -> None:
        """Forget the job record of a request key (its day frame, if any, stays)."""
        self._index.delete(("job", key), retry=True)

    @_guarded("listing job records")
    def jobs(self) -> list[dict[str, Any]]:
        """Every job record in the cache (records that cannot be decoded are skipped)."""
        records = []
        # diskcache's iterkeys stops at the first undecodable key; read the rows instead.
        rows = self._index._sql("SELECT key, raw FROM Cache ORDER BY rowid").fetchall()
        for db_key, raw in rows:
            try:
                key = self._index._disk.get(db_key, raw)
            except _UNDECODABLE:
                log.warning("skipping an undecodable entry of the cache index %s", self.index_dir)
                continue
            if isinstance(key, list) and len(key) == 2 and key[0] == "job":
                record = self.job(key[1])
                if record:
                    records.append(record)
        return records

    # -- usage ledger ----------------------------------------------------------------

    def _get_or_absent(self, key: tuple[Any, ...], what: str) -> Any:
        try:
            return self._index.get(key, retry=True)
        except _UNDECODABLE:
            log.warning("the %s in %s does not decode; it is treated as empty", what, self.root)
            return None

    @_guarded("reading the usage ledger")
    def ledger(self, account_sid: str, quota_day: dt.date) -> dict[str, int]:
        """API calls counted for an account in one quota day, by endpoint."""
        value = self._get_or_absent(("ledger", account_sid, quota_day.isoformat()), "ledger")
        return dict(value) if isinstance(value, Mapping) else {}

    @_guarded("counting an API call")
    def count_call(self, account_sid: str, quota_day: dt.date, endpoint: str, n: int = 1) -> None:
        """Add ``n`` calls of ``endpoint`` to the ledger (shared by all processes)."""
        with self._index.transact(retry=True):
            value = self.ledger(account_sid, quota_day)
            value[endpoint] = int(value.get(endpoint, 0)) + n
            self._index.set(("ledger", account_sid, quota_day.isoformat()), value)

    @_guarded("reading or writing a note")
    def value(self, name: str) -> Any:
        """The small JSON value remembered under ``name`` (``None`` when there is none).

        Examples
        --------
        >>> cache.set_value("server-remaining/IRabc/2026-11-27", 4)  # doctest: +SKIP
        >>> cache.value("server-remaining/IRabc/2026-11-27")  # doctest: +SKIP
        4
        """
        # Stored under "note" keys, as earlier versions wrote them.
        return self._get_or_absent(("note", name), f"value {name!r}")

    def set_value(self, name: str, value: Any) -> None:
        """Remember a small JSON value under ``name`` (shared by every process)."""
        self._index.set(("note", name), value)

    # -- quota reservations ----------------------------------------------------------

    def _reservations(self, account_sid: str, quota_day: dt.date) -> dict[str, dict[str, Any]]:
        """Live reservations of an account and day (dead or stale ones are dropped)."""
        raw = self._get_or_absent(("reserve", account_sid, quota_day.isoformat()), "reservations")
        return live_reservations(raw)

    def _store_reservations(
        self, account_sid: str, quota_day: dt.date, held: Mapping[str, Any]
    ) -> None:
        key = ("reserve", account_sid, quota_day.isoformat())
        if held:
            self._index.set(key, dict(held))
        else:
            self._index.delete(key, retry=True)

    @_guarded("reserving exports")
    def reserve_exports(
        self,
        account_sid: str,
        quota_day: dt.date,
        keys: Sequence[str],
        *,
        limit: int,
        server_remaining: int | None = None,
        owner: str,
    ) -> list[str]:
        """Reserve the exports of request ``keys`` for ``owner``; return the keys refused.

        In one transaction: ``used`` is the ledger's ClickExport count (refused ``429``
        calls excluded) and ``others`` the keys that live reservations of other owners
        hold. A key another owner holds needs nothing more (that owner exports it; the
        others wait for its job). The rest are granted in the order given while
        ``min(limit - used, server_remaining) - len(others)`` allows; the reservation
        replaces an earlier one of the same owner. Reservations of processes of this host
        that are gone, or older than :data:`RESERVATION_TTL` seconds, no longer count.

        Parameters
        ----------
        account_sid : str
            The account whose quota it is.
        quota_day : datetime.date
            The quota day (in the quota's time zone).
        keys : sequence of str
            Request keys about to be exported, most wanted first.
        limit : int
            ClickExport calls allowed per quota day.
        server_remaining : int, optional
            What the server last said remains today, when known.
        owner : str
            Who reserves (unique per client); used to spend and release.

        Returns
        -------
        list of str
            The keys that could not be reserved (empty when the whole plan fits).

        Examples
        --------
        >>> cache.reserve_exports("IRabc", day, ["k1"], limit=10, owner="me")  # doctest: +SKIP
        []
        """
        with self._index.transact(retry=True):
            used = exports_used(self.ledger(account_sid, quota_day))
            held = self._reservations(account_sid, quota_day)
            me = {"pid": os.getpid(), "host": socket.gethostname()}
            refused = grant_reservation(held, owner, me, keys, limit - used, server_remaining)
            self._store_reservations(account_sid, quota_day, held)
        return refused

    @_guarded("spending a reservation")
    def spend_reservation(self, account_sid: str, quota_day: dt.date, owner: str, key: str) -> None:
        """Drop ``key`` from ``owner``'s reservation once its export is in the ledger."""
        with self._index.transact(retry=True):
            held = self._reservations(account_sid, quota_day)
            if owner in held:
                held[owner]["keys"] = [k for k in held[owner].get("keys", ()) if k != key]
                held[owner]["at"] = time.time()
                if not held[owner]["keys"]:
                    del held[owner]
                self._store_reservations(account_sid, quota_day, held)

    @_guarded("releasing a reservation")
    def release_reservation(self, account_sid: str, quota_day: dt.date, owner: str) -> None:
        """Give back what is left of ``owner``'s reservation."""
        with self._index.transact(retry=True):
            held = self._reservations(account_sid, quota_day)
            held.pop(owner, None)
            self._store_reservations(account_sid, quota_day, held)

    @_guarded("reading reservations")
    def reserved_by_others(self, account_sid: str, quota_day: dt.date, owner: str) -> int:
        """Exports (distinct request keys) that other owners' live reservations hold."""
        held = self._reservations(account_sid, quota_day)
        return len({k for o, h in held.items() if o != owner for k in h.get("keys", ())})

    # -- locks -----------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, key: str, *, expire: float = 300.0, timeout: float = 600.0) -> Iterator[None]:
        """A cross-process lock on a request key.

        A holder that died (killed, crashed) is noticed at once on this machine and its
        lock taken over; a holder on another machine (a cache shared over a network drive)
        is named in a warning, and its lock expires after ``expire`` seconds. The critical
        sections it guards are short (one submit, or one download).

        This is not ``diskcache.Lock`` (it cannot tell a dead holder from a live one, so a
        killed process would block every other for ``expire`` seconds) nor ``filelock``
        (OS locks are not reliable on network file systems, and they do not say who holds
        them, which the messages need).
        """
        name = ("lock", key)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        deadline = time.monotonic() + timeout
        warned = False
        try:
            while not self._index.add(name, me, expire=expire, retry=True):
                holder, expires = self._break_dead_lock(name)
                if holder.get("host") not in (None, me["host"]) and not warned:
                    warned = True
                    log.warning(
                        "%s is being worked on by process %s on host %s; waiting until it "
                        "finishes or its lock expires at %s",
                        key,
                        holder.get("pid"),
                        holder.get("host"),
                        _clock(expires),
                    )
                if time.monotonic() > deadline:
                    raise self._lock_timeout(key, timeout, holder, expires)
                time.sleep(0.05)
        except _FAILURES as exc:
            raise self._failure("taking a lock", exc) from exc
        try:
            yield
        finally:
            try:
                with self._index.transact(retry=True):
                    if self._index.get(name, retry=True) == me:
                        self._index.delete(name, retry=True)
            except _FAILURES as exc:
                raise self._failure("releasing a lock", exc) from exc

    def _lock_timeout(
        self, key: str, timeout: float, holder: Mapping[str, Any], expires: float | None
    ) -> CacheError:
        if holder.get("host") not in (None, socket.gethostname()):
            return CacheError(
                f"waited {timeout:.0f}s for {key}, locked by process {holder.get('pid')} on host "
                f"{holder.get('host')} until {_clock(expires)}. Let clickkit finish on "
                f"{holder.get('host')} (or stop it there) and try again after that time; a "
                "cache shared between machines is best replaced by one cache_dir per machine."
            )
        return CacheError(
            f"waited {timeout:.0f}s for another process (pid {holder.get('pid')}) working on "
            f"{key}; try again when it has finished, or stop it."
        )

    def _break_dead_lock(self, name: tuple[str, str]) -> tuple[dict[str, Any], float | None]:
        """Remove the lock of a dead process of this host; return the holder and its expiry."""
        with self._index.transact(retry=True):
            try:
                holder, expires = self._index.get(name, expire_time=True, retry=True)
            except _UNDECODABLE:
                self._index.delete(name, retry=True)
                return {}, None
            if not isinstance(holder, Mapping):
                return {}, None
            if holder.get("host") == socket.gethostname() and not _alive(holder.get("pid")):
                log.info("taking over the lock of dead process %s", holder.get("pid"))
                self._index.delete(name, retry=True)
            return dict(holder), expires

    # -- day frames ------------------------------------------------------------------

    def day_path(self, key: str) -> Path:
        """Where the day frame of a request key is stored."""
        return self.root / "days" / f"{key}.parquet"

    def check_writable(self) -> None:
        """Make sure day files can be written, before any export is spent.

        Creates and removes a temporary file in ``days/``.

        Raises
        ------
        CacheError
            Naming the folder, ``cache_dir`` and ``CLICKKIT_CACHE_DIR``.
        """
        folder = self.root / "days"
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe-")
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise CacheError(
                f"the cache folder {folder} is not writable ({exc.strerror or exc}); "
                "nothing was exported. Make it a writable folder, or pass cache_dir= (or "
                "set CLICKKIT_CACHE_DIR) to another one."
            ) from None

    @_guarded("writing a day file", files=True)
    def write_day(
        self, key: str, table: pa.Table, *, record: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Store a canonical day table atomically; return what its job record needs.

        With ``record``, the Parquet key-value metadata gets, under ``b"clickkit.record"``,
        the JSON of what rebuilds the record: ``key, account, date, filters,
        result_format, job_id``, ``result`` (``rows``, and ``final``, ``produced_at``,
        ``fetched_at`` when ``record["result"]`` has them) and ``extra_columns``.

        Returns
        -------
        dict
            ``{"rows", "size", "content_hash"}``; the hash is blake2b-256 (hex) of the
            file's bytes.

        Examples
        --------
        >>> cache.write_day(key, table, record=record)  # doctest: +SKIP
        {'rows': 50, 'size': 20480, 'content_hash': '9f2c...'}
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from clickkit.schema import COLUMN_NAMES

        metadata = dict(table.schema.metadata or {})
        metadata.pop(RECORD_METADATA_KEY, None)  # a table read back carries its old record
        if record is not None:
            extras = tuple(c for c in table.column_names if c not in COLUMN_NAMES)
            stored = DayFileRecord.of(record, key=key, rows=table.num_rows, extra_columns=extras)
            metadata[RECORD_METADATA_KEY] = json.dumps(stored.to_json(), sort_keys=True).encode()
        given = table.replace_schema_metadata(metadata)  # its enums stay dictionaries
        table = _plain_enums(given)
        sink = pa.BufferOutputStream()
        # Dictionary encoding only where values repeat: for the per-click columns it is
        # work thrown away (pyarrow falls back to plain pages), and the file is smaller.
        repeating = [c for c in table.column_names if c not in _UNIQUE_PER_CLICK]
        pq.write_table(
            table, sink, compression="zstd", write_page_checksum=True, use_dictionary=repeating
        )
        data = sink.getvalue()
        atomic_write(self.day_path(key), lambda tmp: Path(tmp).write_bytes(data))
        digest = _content_hash(data)
        self._remember(key, digest, given)  # read back as the decoding would give it
        return {"rows": table.num_rows, "size": data.size, "content_hash": digest}

    def _remember(self, key: str, digest: str, table: pa.Table) -> None:
        """Keep a table just written for its first read (bounded by :data:`WRITTEN_BYTES`)."""
        self._written.pop(key, None)
        metadata = dict(table.schema.metadata or {})
        metadata.pop(RECORD_METADATA_KEY, None)
        self._written[key] = (digest, table.replace_schema_metadata(metadata or None))
        # Buffer sizes, once per table: Table.nbytes walks every value's offsets.
        self._written_sizes[key] = table.get_total_buffer_size()
        total = sum(self._written_sizes.get(k, 0) for k in self._written)
        while total > WRITTEN_BYTES and self._written:
            oldest = next(iter(self._written))
            self._written.pop(oldest)
            total -= self._written_sizes.pop(oldest, 0)

    @_guarded("reading a day file", files=True)
    def read_day(self, key: str, record: Mapping[str, Any] | None = None) -> pa.Table | None:
        """The stored day table, or ``None`` when it is missing or damaged.

        The file is read once into memory and checked against the job record (its
        ``content_hash``, ``size`` and ``rows``), its Parquet page checksums, the schema
        (known columns with their types, extra columns as recorded in the file) and the
        record the file carries. A damaged file is reported and removed, so the caller
        fetches it again through its job.

        The enum columns (:data:`clickkit.schema.ENUMS`) come back as Arrow dictionaries
        of their text, as the file stores them: converting them to categoricals then
        maps a few distinct values instead of hashing every row. A table just written
        (see :meth:`write_day`) comes back as it was given. :meth:`write_day` stores
        either form as text, so the file format does not change.
        """
        import pyarrow as pa

        path = self.day_path(key)
        written = self._written.pop(key, None)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        result = (record or {}).get("result") or {}
        try:
            if written is not None:
                table = self._verify_written(data, result, *written)
                if table is not None:
                    return table
            table, _ = self._verify(key, data, result)
        except (ValueError, pa.ArrowException) as exc:
            self._discard(path, exc)
            return None
        return table

    def _verify_written(
        self, data: bytes, result: Mapping[str, Any], digest: str, table: pa.Table
    ) -> pa.Table | None:
        """The table this cache wrote as ``data``, when the bytes prove it; else None.

        The file's bytes are hashed and checked against the job record (size, hash, rows)
        exactly as :meth:`_verify` does; only when they are the very bytes the table was
        encoded to is the Parquet decoding skipped (its result would be this table).
        """
        if result.get("size") not in (None, len(data)):
            raise ValueError(f"size {len(data)} != recorded {result.get('size')}")
        found = _content_hash(data)
        if result.get("content_hash") not in (None, found):
            raise ValueError("content hash differs from the recorded one")
        if found != digest:
            return None  # rewritten since: decode and check it as usual
        if result.get("rows") not in (None, table.num_rows):
            raise ValueError(f"rows {table.num_rows} != recorded {result.get('rows')}")
        from clickkit.schema import COLUMN_NAMES

        _check_schema(table.schema, [c for c in table.column_names if c not in COLUMN_NAMES])
        return table

    def _verify(
        self, key: str, data: bytes, result: Mapping[str, Any]
    ) -> tuple[pa.Table, DayFileRecord | None]:
        """The table of a day file's bytes and the record stored in it; ValueError if damaged."""

        if result.get("size") not in (None, len(data)):
            raise ValueError(f"size {len(data)} != recorded {result.get('size')}")
        recorded = result.get("content_hash")
        # The hash runs on another thread while the file decodes (both release the GIL);
        # the decoded table is used only once the hash agrees.
        digest = _hasher().submit(_content_hash, data) if recorded is not None else None
        try:
            table = _decode(data)
        finally:
            if digest is not None and digest.result() != recorded:
                raise ValueError("content hash differs from the recorded one")
        if result.get("rows") not in (None, table.num_rows):
            raise ValueError(f"rows {table.num_rows} != recorded {result.get('rows')}")
        metadata = dict(table.schema.metadata or {})
        stored = None
        if RECORD_METADATA_KEY in metadata:
            raw = json.loads(metadata.pop(RECORD_METADATA_KEY))
            if not isinstance(raw, dict) or raw.get("key") != key:
                raise ValueError("the record stored in the file belongs to another key")
            stored = DayFileRecord.from_json(raw)
            if stored.rows not in (None, table.num_rows):
                raise ValueError("rows differ from the record stored in the file")
        extras = None if stored is None or stored.extra_columns is None else stored.extra_columns
        _check_schema(table.schema, None if extras is None else list(extras))
        return table.replace_schema_metadata(metadata or None), stored

    def _discard(self, path: Path, why: BaseException) -> None:
        log.warning("cached day file %s is damaged (%s); it will be fetched again", path, why)
        with contextlib.suppress(OSError):
            path.unlink()

    @_guarded("removing a day file", files=True)
    def drop_day(self, key: str) -> None:
        """Remove a stored day frame (the job record stays)."""
        self._written.pop(key, None)
        with contextlib.suppress(FileNotFoundError):
            self.day_path(key).unlink()


_HASHERS: dict[int, concurrent.futures.ThreadPoolExecutor] = {}


def _hasher() -> concurrent.futures.ThreadPoolExecutor:
    """One thread that hashes day files while they decode (one per process: a forked
    child does not inherit the thread)."""
    pid = os.getpid()
    if pid not in _HASHERS:
        _HASHERS[pid] = concurrent.futures.ThreadPoolExecutor(1, "clickkit-hash")
    return _HASHERS[pid]


def _decode(data: bytes | memoryview) -> pa.Table:
    """The table of a day file's bytes, its Parquet page checksums verified.

    The enums come back as dictionaries, the form Parquet stores them in. The table's
    buffers are allocated from the system allocator: pyarrow's default (mimalloc in the
    wheels) keeps the pages a decoding frees, which made a warm load of 30 days peak at
    about 2x its frame (about 1.6x this way; the reader still decompresses pages in the
    default pool, see ``benchmarks/README.md``).
    """
    import pyarrow as pa

    pool = pa.system_memory_pool()
    reader = _file_reader()
    if reader is None:
        return _decode_fragment(data, pool)
    return _read_with(reader, data, pool)


def _read_with(reader: type, data: bytes | memoryview, pool: pa.MemoryPool) -> pa.Table:
    """Decode with the reader ``pq.ParquetFile`` wraps, given ``pool`` (no dataset layer,
    which costs about 1 ms a file)."""
    import pyarrow as pa

    from clickkit.schema import ENUMS

    opened = reader(memory_pool=pool)
    opened.open(pa.BufferReader(data), read_dictionary=list(ENUMS), page_checksum_verification=True)
    return opened.read_all()


def _decode_fragment(data: bytes | memoryview, pool: pa.MemoryPool) -> pa.Table:
    """:func:`_decode` through the public dataset API (its scan takes a memory pool)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    fragment = _parquet_format().make_fragment(pa.BufferReader(data))
    return fragment.to_table(
        fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True),
        memory_pool=pool,
    )


@functools.cache
def _parquet_format() -> ds.ParquetFileFormat:
    """The dataset format of day files: enums read as dictionaries."""
    import pyarrow.dataset as ds

    from clickkit.schema import ENUMS

    return ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=list(ENUMS)))


@functools.cache
def _file_reader() -> type | None:
    """pyarrow's Parquet file reader class (private), if it reads as :func:`_read_with`
    uses it; ``None`` sends every read through the dataset API instead.

    Probed once on a one-row file, so a pyarrow release that renames the class or its
    keywords falls back rather than failing every read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clickkit.schema import ENUMS

    try:
        from pyarrow._parquet import ParquetReader

        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({name: ["x"] for name in ENUMS}), sink)
        probe = _read_with(ParquetReader, sink.getvalue(), pa.system_memory_pool())
        if not all(pa.types.is_dictionary(field.type) for field in probe.schema):
            return None
    except (ImportError, TypeError, AttributeError, pa.ArrowException):
        return None
    return ParquetReader


#: Columns whose values are (nearly) all different: no dictionary pages for them.
_UNIQUE_PER_CLICK = frozenset({"id", "profile_id", "ip_address", "event_date"})


def _content_hash(data: Any) -> str:
    """blake2b-256 (hex) of a bytes-like object."""
    return hashlib.blake2b(memoryview(data), digest_size=32).hexdigest()


def _plain_enums(table: pa.Table) -> pa.Table:
    """``table`` with dictionary columns as their plain values (the stored form)."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            column = table.column(i).cast(field.type.value_type)
            table = table.set_column(i, field.with_type(field.type.value_type), column)
    return table


def _clock(timestamp: float | None) -> str:
    if timestamp is None:
        return "an unknown time"
    return dt.datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _check_schema(schema: pa.Schema, extras: list[str] | None) -> None:
    """Raise ValueError unless a day file's schema is the canonical one.

    Every known column is present with its type (or as text, which the parser keeps when
    a column's values do not parse); other columns are strings and, when the
    file records its extra columns, exactly those. So a footer byte that renames
    ``program_name`` is caught even without a content hash.
    """
    import pyarrow as pa

    from clickkit.schema import COLUMNS, ENUMS, arrow_type

    expected = {c.name: arrow_type(c.kind) for c in COLUMNS}
    seen_extras = []
    for field in schema:
        want = expected.pop(field.name, None)
        if (
            field.name in ENUMS
            and pa.types.is_dictionary(field.type)
            and field.type.value_type == pa.string()
        ):
            continue  # an enum read as a dictionary of its text
        if want is None:
            if extras is not None and field.name not in extras:
                raise ValueError(f"column {field.name!r} is neither known nor a recorded extra")
            if field.type != pa.string():
                raise ValueError(f"extra column {field.name!r} is {field.type}, not string")
            seen_extras.append(field.name)
        elif field.type != want and field.type != pa.string():
            # Text is allowed: a column whose values did not parse is kept as text.
            raise ValueError(f"column {field.name!r} is {field.type}, not {want}")
    if expected:
        raise ValueError(f"columns missing: {', '.join(sorted(expected))}")
    if extras is not None and seen_extras != list(extras):
        raise ValueError(f"extra columns {seen_extras} != recorded {list(extras)}")


def _salvage(broken: Path) -> list[tuple[list[Any], Any]]:
    """The entries of a damaged index that can still be read (job records, ledger, notes)."""
    out: list[tuple[list[Any], Any]] = []
    db = broken / "cache.db"
    if not db.is_file():
        return out
    disk = diskcache.JSONDisk(str(broken), compress_level=0)
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        rows = con.execute(
            "SELECT key, raw, mode, filename, value FROM Cache WHERE expire_time IS NULL"
        )
        for db_key, raw, mode, filename, value in rows:
            try:
                key = disk.get(db_key, raw)
                if isinstance(key, list) and key and key[0] in ("job", "ledger", "note"):
                    out.append((key, disk.fetch(mode, filename, value, False)))
            except (*_UNDECODABLE, OSError, TypeError):
                continue
    except sqlite3.Error:
        pass  # keep what was read before the damage
    finally:
        con.close()
    return out
