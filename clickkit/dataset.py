"""The cache as a Parquet dataset on disk, for more days than fit in one DataFrame.

:func:`export_dataset` (``client.export_dataset()``) publishes the cached whole-day
frames of an account as a hive-partitioned Parquet dataset
(``date=YYYY-MM-DD/part-0.parquet``) that pyarrow, DuckDB, Polars, Spark and Dask read as
is. It is incremental: a manifest remembers which cached result each partition came from,
so a re-run only writes new or refreshed days. Lazy Dask frames are
:mod:`clickkit.daskframe`.

Examples
--------
>>> import clickkit as ck
>>> client = ck.Client.sandbox()                                   # doctest: +SKIP
>>> _ = client.clicks("2026-10-01", "2026-10-31")                  # doctest: +SKIP
>>> client.export_dataset("clicks-dataset")                        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import logging
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clickkit import inputs
from clickkit.errors import CacheError, InvalidRequestError
from clickkit.files import atomic_write, fsync_file
from clickkit.records import JobRecord

if TYPE_CHECKING:
    from clickkit.cache import CacheBackend

log = logging.getLogger("clickkit")

#: The manifest at the dataset root; the leading underscore makes pyarrow, DuckDB,
#: Polars, Spark and Dask skip it when they list the dataset's files.
MANIFEST_NAME = "_clickkit_manifest.json"
#: The one data file of each partition.
PART_NAME = "part-0.parquet"
MANIFEST_VERSION = 1

Layout = Literal["date", "account"]

__all__ = [
    "MANIFEST_NAME",
    "PART_NAME",
    "DatasetReport",
    "export_dataset",
]


# ---------------------------------------------------------------------------------------
# Dataset export


@dataclass(frozen=True)
class DatasetReport:
    """What one :func:`export_dataset` run did.

    Attributes
    ----------
    path : Path
        The dataset root.
    account_sid : str
        The exported account.
    layout : {"date", "account"}
        ``"date"``: ``date=YYYY-MM-DD/part-0.parquet``; ``"account"``:
        ``account=SID/date=YYYY-MM-DD/part-0.parquet``.
    written : int
        Partitions written this run (new days, refreshed days, files gone missing).
    unchanged : int
        Partitions left untouched because their cached source has not changed.
    moved : int
        Partitions of another layout renamed into the current one (never rewritten).
    linked : int
        How many of the written files are hard links to the cache (the rest are copies).
    not_cached : tuple of datetime.date
        Days in the requested range with no whole-day frame in the cache (load them with
        ``client.clicks()`` first).
    partitions : mapping of str to str
        Each partition touched this run (relative path) and ``"written"``,
        ``"unchanged"`` or ``"moved"``.

    Examples
    --------
    >>> report = DatasetReport(Path("ds"), "IRabc", "date", written=2, unchanged=5)
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    clickkit dataset ds (account IRabc, layout date=YYYY-MM-DD/part-0.parquet)
      written: 2 (0 hard-linked)
      unchanged: 5
    """

    path: Path
    account_sid: str
    layout: Layout
    written: int = 0
    unchanged: int = 0
    moved: int = 0
    linked: int = 0
    not_cached: tuple[dt.date, ...] = ()
    partitions: Mapping[str, str] = field(default_factory=dict)

    def _rows(self) -> list[tuple[str, str]]:
        rows = [
            ("written", f"{self.written} ({self.linked} hard-linked)"),
            ("unchanged", str(self.unchanged)),
        ]
        if self.moved:
            rows.append(("moved", str(self.moved)))
        if self.not_cached:
            days = ", ".join(d.isoformat() for d in self.not_cached[:5])
            more = f" and {len(self.not_cached) - 5} more" if len(self.not_cached) > 5 else ""
            rows.append(("not cached", f"{len(self.not_cached)} day(s): {days}{more}"))
        return rows

    def _title(self) -> str:
        pattern = _partition_dir(self.layout, "SID", "YYYY-MM-DD")
        return (
            f"clickkit dataset {self.path} (account {self.account_sid}, "
            f"layout {pattern}/{PART_NAME})"
        )

    def __str__(self) -> str:
        return "\n".join([self._title(), *(f"  {k}: {v}" for k, v in self._rows())])

    def __repr__(self) -> str:
        return (
            f"<DatasetReport {str(self.path)!r}: {self.written} written, "
            f"{self.unchanged} unchanged, {self.moved} moved, layout={self.layout!r}>"
        )

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._rows()
        )
        return f"<table><caption>{html.escape(self._title())}</caption>{body}</table>"


@dataclass(frozen=True)
class _Source:
    """The cached whole-day frame chosen for one day."""

    account: str
    date: dt.date
    key: str
    path: Path
    checksum: str | None
    fetched_at: str | None
    rows: int | None
    size: int | None
    final: bool

    def signature(self) -> dict[str, Any]:
        # The download checksum identifies the content; a replay that returned the same
        # bytes is not a change. Without one, the fetch time is the next best thing.
        return {"key": self.key, "content": self.checksum or self.fetched_at}


def export_dataset(
    cache: CacheBackend,
    account_sid: str,
    path: str | Path,
    start: Any = None,
    end: Any = None,
) -> DatasetReport:
    """Publish the cached whole days of ``account_sid`` as a Parquet dataset.

    Each day becomes ``path/date=YYYY-MM-DD/part-0.parquet`` (the day in the account's
    time zone), a hard link to the cached day file when ``path`` is on the same
    filesystem as the cache, else a copy. The files hold the canonical Arrow table
    (``event_date`` in UTC); the partition column ``date`` comes from the folder names.

    Only whole-day exports are published (filtered ``scope="exact"`` results are
    partial days); when a day was cached in several result formats, the most recent
    fetch wins. Nothing is fetched: load days with ``client.clicks()`` first.
    ``client.export_dataset(path)`` calls this with the client's cache and account.

    **Layout.** When the cache or the dataset holds more than one account, partitions go
    under ``path/account=SID/date=YYYY-MM-DD/`` so accounts never mix; a dataset that
    started with one account is switched to that layout by renaming its folders (the
    files are not rewritten). The layout is kept in the manifest and never switches
    back.

    **Incremental.** ``path/_clickkit_manifest.json`` maps each partition to the cached
    result it came from (request key and download checksum). A re-run writes only days
    that are new, were refreshed (a different checksum) or whose file went missing;
    unchanged files are not touched (same inode and mtime). Partitions are never
    deleted, even when their day leaves the cache. Every file and the manifest are
    written to a temporary name and renamed into place, so readers never see half a
    file.

    Parameters
    ----------
    cache : CacheBackend
        The cache whose day frames are published (it may hold other accounts too).
    account_sid : str
        The account to publish.
    path : str or Path
        The dataset root: a new or empty folder, or an earlier export.
    start, end : str or date, optional
        Export only days in this range (inclusive); default every cached day.

    Returns
    -------
    DatasetReport
        Counts of written and unchanged partitions, and days of the range not cached.

    Raises
    ------
    InvalidRequestError
        When ``path`` is a file, or a non-empty folder that is not a clickkit dataset.

    Notes
    -----
    Hard links share the cache file's permissions (owner only, like the cache). Files
    are never modified in place, by clickkit or by the readers above, so the link
    cannot corrupt the cache; edit a copy if you must edit one.

    Examples
    --------
    >>> report = export_dataset(cache, "IRabc", "clicks-dataset")  # doctest: +SKIP
    >>> report.written, report.unchanged                               # doctest: +SKIP
    (14, 0)
    >>> import pyarrow.dataset as ds
    >>> table = ds.dataset("clicks-dataset", partitioning="hive").to_table()  # doctest: +SKIP
    """
    root = Path(path).expanduser()
    first = None if start is None else inputs.parse_date(start, "start")
    last = None if end is None else inputs.parse_date(end, "end")
    if first and last and last < first:
        raise InvalidRequestError(f"end={last} is before start={first}; swap them.")
    if root.exists() and not root.is_dir():
        raise InvalidRequestError(f"{root} is a file; pass a folder for the dataset.")

    sources, accounts = _whole_day_sources(cache)
    mine = {
        d: s
        for d, s in sources.get(account_sid, {}).items()
        if (first is None or d >= first) and (last is None or d <= last)
    }
    not_cached = _not_cached(mine, first, last)
    root.mkdir(parents=True, exist_ok=True)
    # One exporter at a time per dataset among processes sharing this cache; copies to
    # another disk can take a while, so the lock outlives the cache's default.
    with cache.lock(f"dataset:{root.resolve()}", expire=3600, timeout=3600):
        manifest = _read_manifest(root)
        _clean_temporaries(root)
        entries: dict[str, dict[str, Any]] = manifest["partitions"]
        accounts |= {str(e.get("account")) for e in entries.values()}
        layout: Layout = manifest.get("layout") or "date"
        if len(accounts) > 1:
            layout = "account"
        actions: dict[str, str] = {}
        try:
            for name in _relayout(root, entries, layout):
                actions[name] = "moved"
            manifest["layout"] = layout
            linked = _publish_days(root, mine, entries, layout, actions)
        finally:
            _write_manifest(root, manifest)  # what was done so far is never forgotten

    counts = {a: sum(1 for v in actions.values() if v == a) for a in ("written", "unchanged")}
    return DatasetReport(
        path=root,
        account_sid=account_sid,
        layout=layout,
        written=counts["written"],
        unchanged=counts["unchanged"],
        moved=sum(1 for v in actions.values() if v == "moved"),
        linked=linked,
        not_cached=not_cached,
        partitions=dict(sorted(actions.items())),
    )


def _not_cached(
    mine: Mapping[dt.date, Any], first: dt.date | None, last: dt.date | None
) -> tuple[dt.date, ...]:
    """The days of the asked range that have no cached whole-day frame.

    Examples
    --------
    >>> d = dt.date(2026, 11, 1)
    >>> _not_cached({d: "x"}, d, d + dt.timedelta(days=2))
    (datetime.date(2026, 11, 2), datetime.date(2026, 11, 3))
    """
    if first is None and last is None:
        return ()
    lo = first or min(mine, default=last)
    hi = last or max(mine, default=first)
    if lo is None or hi is None:
        return ()
    days = (lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1))
    return tuple(day for day in days if day not in mine)


def _publish_days(
    root: Path,
    mine: Mapping[dt.date, _Source],
    entries: dict[str, dict[str, Any]],
    layout: Layout,
    actions: dict[str, str],
) -> int:
    """Write the partitions that are new or changed; return how many were hard links.

    ``entries`` (the manifest's partitions) and ``actions`` are updated as each day is
    done, so an interruption loses nothing already written.
    """
    linked = 0
    for day, source in sorted(mine.items()):
        name = _partition_dir(layout, source.account, day.isoformat())
        target = root / name / PART_NAME
        entry = entries.get(name)
        if (
            entry is not None
            and entry.get("source") == source.signature()
            and _size(target) == entry.get("size")
        ):
            entries[name] = {**entry, **_entry(source, int(entry["size"]))}
            actions.setdefault(name, "unchanged")
            continue
        if not _intact(source):
            continue
        method = _publish(source.path, target)
        linked += method == "link"
        entries[name] = _entry(source, target.stat().st_size)
        actions[name] = "written"
        log.info("dataset %s: wrote %s (%s)", root, name, method)
    return linked


def _whole_day_sources(cache: CacheBackend) -> tuple[dict[str, dict[dt.date, _Source]], set[str]]:
    """Per account and day, the most recently fetched whole-day frame that exists."""
    by_account: dict[str, dict[dt.date, _Source]] = {}
    for stored in cache.jobs():
        record = JobRecord.from_json(stored)
        result, day = record.result, record.day
        if record.filters or result is None or not record.key or day is None:
            continue
        file = cache.day_path(record.key)
        if not file.exists():
            continue
        source = _Source(
            account=str(record.account),
            date=day,
            key=record.key,
            path=file,
            checksum=result.checksum,
            fetched_at=result.fetched_at,
            rows=result.rows,
            size=result.size,
            final=result.final,
        )
        days = by_account.setdefault(source.account, {})
        best = days.get(day)
        # ISO timestamps of one clock sort as text; a missing one loses.
        if best is None or (source.fetched_at or "") > (best.fetched_at or ""):
            days[day] = source
    return by_account, set(by_account)


def _partition_dir(layout: Layout, account: str, day: str) -> str:
    if layout == "account":
        return f"account={account}/date={day}"
    return f"date={day}"


def _entry(source: _Source, size: int) -> dict[str, Any]:
    return {
        "account": source.account,
        "date": source.date.isoformat(),
        "source": source.signature(),
        "fetched_at": source.fetched_at,
        "final": source.final,
        "rows": source.rows,
        "size": size,
    }


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _intact(source: _Source) -> bool:
    """Cheap check that the cached file is the one its record describes (footer only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        size = source.path.stat().st_size
        rows = pq.read_metadata(source.path).num_rows
    except (OSError, pa.ArrowException) as exc:
        log.warning("skipping %s: cached file unreadable (%s)", source.date, exc)
        return False
    if source.size not in (None, size) or source.rows not in (None, rows):
        log.warning(
            "skipping %s: cached file disagrees with its record; client.clicks() for that "
            "day fetches it again",
            source.date,
        )
        return False
    return True


def _publish(source: Path, target: Path) -> Literal["link", "copy"]:
    """Place ``source`` at ``target`` atomically: hard link when possible, else copy."""

    def place(tmp: str) -> Literal["link", "copy"]:
        os.unlink(tmp)  # os.link needs a free name
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem, or links not supported there
            shutil.copyfile(source, tmp)
            fsync_file(tmp)
            return "copy"
        return "link"

    # A link's data is the cache file's, already on disk (and maybe not writable).
    return atomic_write(target, place, fsync=False)


def _relayout(root: Path, entries: dict[str, dict[str, Any]], layout: Layout) -> Iterator[str]:
    """Rename partitions recorded under another layout into ``layout``; yield new names."""
    for name in list(entries):
        entry = entries[name]
        wanted = _partition_dir(layout, str(entry.get("account")), str(entry.get("date")))
        if wanted == name:
            continue
        old, new = root / name, root / wanted
        if old.is_dir() and not new.exists():
            new.parent.mkdir(parents=True, exist_ok=True)
            os.replace(old, new)
        del entries[name]
        if new.exists():
            entries[wanted] = entry
            yield wanted


def _read_manifest(root: Path) -> dict[str, Any]:
    file = root / MANIFEST_NAME
    if not file.exists():
        if any(p for p in root.iterdir() if not p.name.startswith(".")):
            raise InvalidRequestError(
                f"{root} is not empty and has no {MANIFEST_NAME}, so it is not a clickkit "
                "dataset; export to a new or empty folder."
            )
        return {"version": MANIFEST_VERSION, "layout": None, "partitions": {}}
    try:
        manifest = json.loads(file.read_text())
        if not isinstance(manifest.get("partitions"), dict):
            raise ValueError("no partitions")
    except (OSError, ValueError) as exc:
        raise CacheError(
            f"the dataset manifest {file} is unreadable ({exc}); delete it to rebuild the "
            "dataset (every partition is then written once more)."
        ) from None
    return manifest


def _write_manifest(root: Path, manifest: Mapping[str, Any]) -> None:
    text = json.dumps({**manifest, "version": MANIFEST_VERSION}, indent=1) + "\n"

    def write(tmp: str) -> None:
        # A new file, not the owner-only placeholder: readers of the dataset see it as
        # they see the partitions' copies.
        os.unlink(tmp)
        Path(tmp).write_text(text)

    atomic_write(root / MANIFEST_NAME, write)


def _clean_temporaries(root: Path) -> None:
    """Remove temporary files an interrupted export left behind (readers skip them anyway)."""
    for pattern in (f".{MANIFEST_NAME}.*.tmp", f"**/.{PART_NAME}.*.tmp"):
        for leftover in root.glob(pattern):
            with contextlib.suppress(OSError):
                leftover.unlink()
