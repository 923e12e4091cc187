"""The local cache: job records, the usage ledger and locks in diskcache; day frames as Parquet.

Layout of a cache directory (created private to the user, mode 0700)::

    index/                  diskcache (SQLite) with JSON values only, never pickles
    days/<key>.parquet      one typed day frame per request key (canonical schema)
    downloads/              result files while they are downloaded and parsed

Day frames live outside diskcache so its size-based eviction can never drop them; every
file is written to a temporary name and renamed into place, so a reader never sees half a
file, and Parquet page checksums let a damaged file be detected on read.

Examples
--------
>>> cache = Cache(tmp_path)  # doctest: +SKIP
>>> key = request_key("IRabc", datetime.date(2026, 10, 1))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickkit.errors import CacheError
from clickkit.files import atomic_write

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("clickkit")

#: Bump when the meaning of a key or of a cached frame changes; old entries are ignored.
KEY_VERSION = 1


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


class Cache:
    """Job records, usage ledger, locks and day frames under one directory.

    Parameters
    ----------
    root : str or Path
        The cache directory; created (0700) when missing.

    Raises
    ------
    CacheError
        When the directory cannot be created or written.
    """

    def __init__(self, root: str | Path) -> None:
        import diskcache

        self.root = Path(root).expanduser()
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.root, 0o700)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            for sub in ("days", "downloads"):
                (self.root / sub).mkdir(exist_ok=True, mode=0o700)
            # JSONDisk: values are JSON text, so nothing read back is ever unpickled.
            self._index = diskcache.Cache(
                str(self.root / "index"),
                disk=diskcache.JSONDisk,
                disk_compress_level=0,
                size_limit=2**40,
                eviction_policy="none",
                timeout=60,
            )
        except (OSError, PermissionError) as exc:
            raise CacheError(
                f"cannot use the cache directory {self.root}: {exc.strerror or exc}. Pass "
                "cache_dir= (or set CLICKKIT_CACHE_DIR) to a writable folder."
            ) from None

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    def close(self) -> None:
        """Close the index."""
        self._index.close()

    # -- job records -----------------------------------------------------------------

    def job(self, key: str) -> dict[str, Any] | None:
        """The job record stored for a request key, or ``None``."""
        value = self._index.get(("job", key))
        return dict(value) if isinstance(value, Mapping) else None

    def put_job(self, key: str, record: Mapping[str, Any]) -> None:
        """Store (replace) the job record of a request key."""
        self._index.set(("job", key), dict(record))

    def update_job(self, key: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into a job record atomically and return the result."""
        with self._index.transact():
            record = self.job(key) or {}
            record.update(changes)
            self.put_job(key, record)
        return record

    def drop_job(self, key: str) -> None:
        """Forget the job record of a request key (its day frame, if any, stays)."""
        self._index.delete(("job", key), retry=True)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job record in the cache."""
        records = []
        for key in list(self._index.iterkeys()):
            if isinstance(key, list | tuple) and key and key[0] == "job":
                record = self.job(key[1])
                if record:
                    records.append(record)
        return records

    # -- usage ledger ----------------------------------------------------------------

    def ledger(self, account_sid: str, quota_day: dt.date) -> dict[str, int]:
        """API calls counted for an account in one quota day, by endpoint."""
        value = self._index.get(("ledger", account_sid, quota_day.isoformat()))
        return dict(value) if isinstance(value, Mapping) else {}

    def count_call(self, account_sid: str, quota_day: dt.date, endpoint: str, n: int = 1) -> None:
        """Add ``n`` calls of ``endpoint`` to the ledger (shared by all processes)."""
        key = ("ledger", account_sid, quota_day.isoformat())
        with self._index.transact():
            value = dict(self._index.get(key) or {})
            value[endpoint] = int(value.get(endpoint, 0)) + n
            self._index.set(key, value)

    def note(self, name: str, value: Any = None) -> Any:
        """Read (``value=None``) or write a small JSON value under a name."""
        if value is None:
            return self._index.get(("note", name))
        self._index.set(("note", name), value)
        return value

    # -- locks -----------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, key: str, *, expire: float = 300.0, timeout: float = 600.0) -> Iterator[None]:
        """A cross-process lock on a request key.

        A holder that died (killed, crashed) is noticed at once on this machine and its
        lock taken over; on other machines the lock expires after ``expire`` seconds.
        The critical sections it guards are short (one submit, or one download).
        """
        name = ("lock", key)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        deadline = time.monotonic() + timeout
        while not self._index.add(name, me, expire=expire, retry=True):
            self._break_dead_lock(name)
            if time.monotonic() > deadline:
                raise CacheError(
                    f"waited {timeout:.0f}s for another process working on the same day; "
                    "try again, or remove the stale lock by clearing the cache index."
                )
            time.sleep(0.05)
        try:
            yield
        finally:
            with self._index.transact(retry=True):
                if self._index.get(name, retry=True) == me:
                    self._index.delete(name, retry=True)

    def _break_dead_lock(self, name: tuple[str, str]) -> None:
        with self._index.transact(retry=True):
            holder = self._index.get(name, retry=True)
            if not isinstance(holder, Mapping) or holder.get("host") != socket.gethostname():
                return
            try:
                os.kill(int(holder["pid"]), 0)
            except ProcessLookupError:
                log.info("taking over the lock of dead process %s", holder["pid"])
                self._index.delete(name, retry=True)
            except (PermissionError, ValueError, KeyError):
                pass

    # -- day frames ------------------------------------------------------------------

    def day_path(self, key: str) -> Path:
        """Where the day frame of a request key is stored."""
        return self.root / "days" / f"{key}.parquet"

    def download_path(self, key: str) -> Path:
        """Where the result file of a request key is downloaded to."""
        return self.root / "downloads" / f"{key}.export"

    def write_day(self, key: str, table: pa.Table) -> dict[str, Any]:
        """Store a canonical day table atomically; return ``{"rows", "size"}`` for the record."""
        import pyarrow.parquet as pq

        path = self.day_path(key)
        atomic_write(
            path,
            lambda tmp: pq.write_table(table, tmp, compression="zstd", write_page_checksum=True),
        )
        return {"rows": table.num_rows, "size": path.stat().st_size}

    def read_day(self, key: str, record: Mapping[str, Any] | None = None) -> pa.Table | None:
        """The stored day table, or ``None`` when it is missing or damaged.

        A file whose size or row count disagrees with the job record, or whose Parquet
        checksums fail, is reported (and removed) so the caller fetches it again.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.day_path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        result = (record or {}).get("result") or {}
        try:
            if result.get("size") not in (None, size):
                raise ValueError(f"size {size} != recorded {result.get('size')}")
            table = pq.read_table(path, page_checksum_verification=True)
            if result.get("rows") not in (None, table.num_rows):
                raise ValueError(f"rows {table.num_rows} != recorded {result.get('rows')}")
        except (OSError, ValueError, pa.ArrowException) as exc:
            log.warning("cached day file %s is damaged (%s); it will be fetched again", path, exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return table

    def drop_day(self, key: str) -> None:
        """Remove a stored day frame (the job record stays)."""
        with contextlib.suppress(FileNotFoundError):
            self.day_path(key).unlink()
