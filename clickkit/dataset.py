"""Cached clicks beyond one DataFrame: a Parquet dataset on disk, and lazy Dask frames.

Two ways to work with more days than fit comfortably in memory:

- :func:`export_dataset` publishes the cached whole-day frames of an account as a
  hive-partitioned Parquet dataset (``date=YYYY-MM-DD/part-0.parquet``) that pyarrow,
  DuckDB, Polars, Spark and Dask read as is. It is incremental: a manifest remembers
  which cached result each partition came from, so a re-run only writes new or refreshed
  days.
- :func:`dask_frame` (what ``client.clicks(..., engine="dask")`` returns) builds a lazy
  ``dask.dataframe`` with one partition per day, read from the cache, in which every
  partition has the same known categories.

Dask is optional: it is imported only when :func:`dask_frame` runs, and a missing install
raises :class:`~clickkit.MissingDependency` naming ``pip install "clickkit[dask]"``.

Examples
--------
>>> import clickkit as ck
>>> from clickkit.dataset import export_dataset
>>> client = ck.Client.sandbox()                                   # doctest: +SKIP
>>> _ = client.clicks("2026-10-01", "2026-10-31")                  # doctest: +SKIP
>>> export_dataset(client, "clicks-dataset")                       # doctest: +SKIP
>>> ddf = client.clicks("2026-10-01", "2026-10-31", engine="dask") # doctest: +SKIP
>>> ddf.groupby("device_type", observed=True).size().compute()     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clickkit import inputs, schema
from clickkit.errors import CacheError, InvalidRequestError, MissingDependency
from clickkit.fetch import local_filters

if TYPE_CHECKING:
    import dask.dataframe
    import pandas as pd
    import pyarrow as pa

    from clickkit.client import Client
    from clickkit.plan import Filters, Plan

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
    "dask_frame",
    "export_dataset",
    "require_dask",
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
    client: Client,
    path: str | Path,
    start: Any = None,
    end: Any = None,
) -> DatasetReport:
    """Publish the cached whole days of ``client.account_sid`` as a Parquet dataset.

    Each day becomes ``path/date=YYYY-MM-DD/part-0.parquet`` (the day in the account's
    time zone), a hard link to the cached day file when ``path`` is on the same
    filesystem as the cache, else a copy. The files hold the canonical Arrow table
    (``event_date`` in UTC); the partition column ``date`` comes from the folder names.

    Only whole-day exports are published (filtered ``scope="exact"`` results are
    partial days); when a day was cached in several result formats, the most recent
    fetch wins. Nothing is fetched: load days with ``client.clicks()`` first.

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
    client : Client
        The client whose cache and account are exported.
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
    >>> report = export_dataset(client, "clicks-dataset")              # doctest: +SKIP
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

    sources, accounts = _whole_day_sources(client)
    mine = {
        d: s
        for d, s in sources.get(client.account_sid, {}).items()
        if (first is None or d >= first) and (last is None or d <= last)
    }
    not_cached: tuple[dt.date, ...] = ()
    if first is not None or last is not None:
        lo = first or min(mine, default=last)
        hi = last or max(mine, default=first)
        if lo is not None and hi is not None:
            not_cached = tuple(
                lo + dt.timedelta(days=i)
                for i in range((hi - lo).days + 1)
                if lo + dt.timedelta(days=i) not in mine
            )

    root.mkdir(parents=True, exist_ok=True)
    # One exporter at a time per dataset among processes sharing this cache; copies to
    # another disk can take a while, so the lock outlives the cache's default.
    with client.cache.lock(f"dataset:{root.resolve()}", expire=3600, timeout=3600):
        manifest = _read_manifest(root)
        _clean_temporaries(root)
        entries: dict[str, dict[str, Any]] = manifest["partitions"]
        accounts |= {str(e.get("account")) for e in entries.values()}
        layout: Layout = manifest.get("layout") or "date"
        if len(accounts) > 1:
            layout = "account"
        actions: dict[str, str] = {}
        linked = 0
        try:
            for name in _relayout(root, entries, layout):
                actions[name] = "moved"
            manifest["layout"] = layout
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
        finally:
            _write_manifest(root, manifest)

    counts = {a: sum(1 for v in actions.values() if v == a) for a in ("written", "unchanged")}
    return DatasetReport(
        path=root,
        account_sid=client.account_sid,
        layout=layout,
        written=counts["written"],
        unchanged=counts["unchanged"],
        moved=sum(1 for v in actions.values() if v == "moved"),
        linked=linked,
        not_cached=not_cached,
        partitions=dict(sorted(actions.items())),
    )


def _whole_day_sources(client: Client) -> tuple[dict[str, dict[dt.date, _Source]], set[str]]:
    """Per account and day, the most recently fetched whole-day frame that exists."""
    by_account: dict[str, dict[dt.date, _Source]] = {}
    for record in client.cache.jobs():
        result = record.get("result") or {}
        if record.get("filters") or not result or not record.get("key"):
            continue
        try:
            day = dt.date.fromisoformat(str(record.get("date")))
        except ValueError:
            continue
        key = str(record["key"])
        file = client.cache.day_path(key)
        if not file.exists():
            continue
        source = _Source(
            account=str(record.get("account")),
            date=day,
            key=key,
            path=file,
            checksum=result.get("checksum"),
            fetched_at=result.get("fetched_at"),
            rows=result.get("rows"),
            size=result.get("size"),
            final=bool(result.get("final")),
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
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    method: Literal["link", "copy"] = "link"
    try:
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem, or links not supported there
            method = "copy"
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return method


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
    file = root / MANIFEST_NAME
    tmp = root / f".{MANIFEST_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(json.dumps({**manifest, "version": MANIFEST_VERSION}, indent=1) + "\n")
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _clean_temporaries(root: Path) -> None:
    """Remove temporary files an interrupted export left behind (readers skip them anyway)."""
    for pattern in (f".{MANIFEST_NAME}.*.tmp", f"**/.{PART_NAME}.*.tmp"):
        for leftover in root.glob(pattern):
            with contextlib.suppress(OSError):
                leftover.unlink()


# ---------------------------------------------------------------------------------------
# Dask


def require_dask() -> Any:
    """Import and return ``dask.dataframe``, or raise :class:`MissingDependency`.

    Cheap once Dask is imported; callers use it to fail before spending anything.

    Raises
    ------
    MissingDependency
        Naming ``pip install "clickkit[dask]"``.

    Examples
    --------
    >>> dd = require_dask()  # doctest: +SKIP
    """
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise MissingDependency(
            'engine="dask" needs Dask, which is not installed: pip install "clickkit[dask]" '
            '(or use the default engine="pandas").'
        ) from exc
    return dd


#: Columns ``filter_table`` reads, per filter.
_FILTER_COLUMNS = {
    "program_ids": ("program_id",),
    "ad_ids": ("ad_id",),
    "sub_ids": ("sub_id1", "sub_id2", "sub_id3"),
    "unique": ("unique_click",),
}


@dataclass(frozen=True)
class _DayPart:
    """Everything a worker needs to build one day's partition (small and picklable)."""

    path: str
    stamp: tuple[int, int]
    date: str
    offset: int
    rows: int
    filters: Mapping[str, Any]
    timezone: str
    arrow_schema: pa.Schema
    categories: Mapping[str, Sequence[str]]
    #: Identifies filters, time zone, schema and categories (shared by all days).
    digest: str

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # Dask would otherwise hash the schema and categories of every day, every time.
        return (self.path, tuple(self.stamp), self.offset, self.rows, self.digest)


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _filter_columns(filters: Mapping[str, Any]) -> set[str]:
    return {c for name, cols in _FILTER_COLUMNS.items() if filters.get(name) for c in cols}


def _conform(table: pa.Table, target: pa.Schema, columns: Sequence[str]) -> pa.Table:
    """``table`` with exactly ``columns`` in that order; those a day lacks become nulls."""
    import pyarrow as pa

    if table.column_names == list(columns) and all(
        table.schema.field(name).type == target.field(name).type for name in columns
    ):
        return table
    arrays = [
        _cast(table[name], target.field(name).type)
        if name in table.column_names
        else pa.nulls(table.num_rows, target.field(name).type)
        for name in columns
    ]
    return pa.Table.from_arrays(arrays, names=list(columns))


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """A day's column in the type shared by all days (text when any day kept it as text)."""
    import pyarrow.compute as pc

    return column if column.type == target else pc.cast(column, target)


def _unify(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """One schema for all days; a column some day kept as text is text in every day.

    A value that did not parse leaves its column as text for that day (with a
    ``ParseWarning``), which pyarrow's own promotion refuses to merge with a number.
    """
    import pyarrow as pa

    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    types: dict[str, pa.DataType] = {}
    for file_schema in schemas:
        for column in file_schema:
            known = types.setdefault(column.name, column.type)
            if known != column.type and not pa.types.is_null(column.type):
                types[column.name] = column.type if pa.types.is_null(known) else pa.string()
    return pa.schema([pa.field(name, kind) for name, kind in types.items()])


def _frame(table: pa.Table, part: _DayPart, columns: Sequence[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    names = list(part.arrow_schema.names if columns is None else columns)
    frame = schema.to_pandas(
        _conform(table, part.arrow_schema, names), part.timezone, categories=part.categories
    )
    frame.index = pd.RangeIndex(part.offset, part.offset + len(frame))
    return frame


def _read_day(part: _DayPart, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One partition: read the day file, filter, convert with the shared categories.

    ``columns`` is filled in by Dask's optimizer when only some columns are used, so a
    groupby on two columns reads two columns (plus those the filters need).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(part.path)
    wanted = None if columns is None else [str(c) for c in columns]
    try:
        unchanged = _stamp(path) == tuple(part.stamp)
        table = None
        if unchanged:
            present = set(pq.read_schema(path).names)
            read = None
            if wanted is not None:
                read = [c for c in {*wanted, *_filter_columns(part.filters)} if c in present]
            table = pq.read_table(path, columns=read, page_checksum_verification=True)
    except (OSError, pa.ArrowException) as exc:
        raise CacheError(
            f"the cached frame for {part.date} cannot be read ({exc}); call client.clicks() "
            "for that day to fetch it again, then rebuild the Dask frame."
        ) from None
    if table is not None:
        table = schema.filter_table(table, **part.filters)
    if table is None or table.num_rows != part.rows:
        # Categories, row counts and the index were planned from the old file.
        raise CacheError(
            f"the cached frame for {part.date} changed after the Dask frame was built (a "
            "refresh?); call client.clicks(..., engine='dask') again."
        )
    return _frame(table, part, wanted)


def _plan_day(path: Path, filters: Mapping[str, Any], date: str) -> tuple[pa.Schema, pa.Table]:
    """A day's schema and its filtered enum columns (read alone, dictionary-encoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path, read_dictionary=list(schema.ENUMS)) as file:
            # The stored types, not the dictionary encoding asked for this read.
            file_schema = pa.schema(
                f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                for f in file.schema_arrow
            )
            enums = [c for c in schema.ENUMS if c in file_schema.names]
            columns = [*enums, *sorted(_filter_columns(filters) - set(enums))]
            table = file.read(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise CacheError(
            f"the cached frame for {date} is missing or damaged ({exc}); call "
            "client.clicks() (engine='pandas') for that range once to fetch it again."
        ) from None
    return file_schema, schema.filter_table(table, **filters).select(enums)


def dask_frame(
    client: Client,
    plan: Plan,
    filters: Filters,
    provenance: Mapping[str, Any] | None = None,
) -> dask.dataframe.DataFrame:
    """A lazy Dask DataFrame of the planned days, one partition per day, from the cache.

    Called by ``client.clicks(..., engine="dask")`` once every day of ``plan`` is
    cached. Building it reads only each day's schema and enum columns (plus the filter
    columns when filters are set), so that every partition gets the same, known
    categories and the index is numbered as in the pandas result; the full days are
    read when the frame is computed, one partition per task.

    Parameters
    ----------
    client : Client
        Provides the cache paths and the account time zone.
    plan : Plan
        The executed plan; ``plan.days`` name the cached frames.
    filters : Filters
        Applied to every day, as the pandas engine does.
    provenance : mapping, optional
        What the pandas engine puts in ``df.attrs["clickkit"]``. Not attached here: a
        Dask frame has no ``attrs``, and a copy on every partition would be deep-copied
        by pandas on every operation of every partition. ``client.jobs()`` shows where
        each cached day came from.

    Returns
    -------
    dask.dataframe.DataFrame
        Same columns, dtypes, categories and (after ``compute()``) index as
        ``client.clicks()`` would return, without ``attrs``. Divisions are known (the
        integer index) when every day has at least one row.

    Raises
    ------
    MissingDependency
        When Dask is not installed.
    CacheError
        When a day's cached frame is missing or damaged.

    Notes
    -----
    Workers read the cache files directly, so they must see the client's disk (a
    ``LocalCluster``). For a cluster on other machines, publish the cache with
    :func:`export_dataset` to shared storage and read that with
    ``dask.dataframe.read_parquet``.

    Examples
    --------
    >>> ddf = client.clicks("2026-10-01", "2026-10-31", engine="dask")  # doctest: +SKIP
    >>> ddf.npartitions                                                 # doctest: +SKIP
    31
    >>> ddf["device_type"].cat.known                                    # doctest: +SKIP
    True
    """
    dd = require_dask()
    import dask
    import pyarrow as pa

    local = local_filters(filters)
    days = sorted(plan.days, key=lambda d: d.date)
    schemas: list[pa.Schema] = [schema.arrow_schema()]
    extras: dict[str, set[str]] = {name: set() for name in schema.ENUMS}
    planned: list[tuple[Any, Path, tuple[int, int], int]] = []
    for day in days:
        path = client.cache.day_path(day.key)
        # Stamp before reading: a file replaced meanwhile then fails the check in workers.
        try:
            stamp = _stamp(path)
        except OSError:
            stamp = (-1, -1)
        file_schema, enums = _plan_day(path, local, day.date.isoformat())
        schemas.append(file_schema)
        for name, values in schema.enum_categories([enums]).items():
            extras[name].update(values)
        planned.append((day, path, stamp, enums.num_rows))

    # Documented values first, then every extra seen on any day, in one order for all.
    categories = schema.enum_categories(
        pa.table({name: pa.array(sorted(values), pa.string())}) for name, values in extras.items()
    )
    unified = _unify(schemas)
    timezone = client.settings.timezone
    shared = [local, timezone, categories, unified.to_string(show_schema_metadata=False)]
    digest = hashlib.blake2b(json.dumps(shared, default=str).encode(), digest_size=16)

    parts: list[_DayPart] = []
    offset = 0
    for day, path, stamp, rows in planned:
        parts.append(
            _DayPart(
                path=str(path),
                stamp=stamp,
                date=day.date.isoformat(),
                offset=offset,
                rows=rows,
                filters=local,
                timezone=timezone,
                arrow_schema=unified,
                categories=categories,
                digest=digest.hexdigest(),
            )
        )
        offset += rows

    empty = _DayPart("", (0, 0), "", 0, 0, {}, timezone, unified, categories, "")
    meta = _frame(unified.empty_table(), empty)
    if not parts:
        return dd.from_pandas(meta, npartitions=1)
    # Every day starts where the previous one ended, so the integer index is sorted and
    # the divisions are known; an empty day would repeat a boundary, so then leave them.
    divisions = None
    if all(p.rows > 0 for p in parts):
        divisions = (*(p.offset for p in parts), offset - 1)
    # Dask would turn pandas' own "str" columns into "string[pyarrow]" (NA instead of
    # NaN for missing values); keep the dtypes the pandas engine returns.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(
            _read_day,
            parts,
            meta=meta,
            divisions=divisions,
            label="clickkit-day",
            enforce_metadata=False,
        )
