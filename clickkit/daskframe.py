"""Lazy Dask frames of cached days: what ``client.clicks(..., engine="dask")`` returns.

:func:`dask_frame` builds a ``dask.dataframe`` with one partition per day, read from the
cached day files, in which every partition has the same known categories and the index
is numbered as in the pandas result.

Dask is optional: it is imported only when :func:`dask_frame` runs, and a missing install
raises :class:`~clickkit.MissingDependency` naming ``pip install "clickkit[dask]"``.

Examples
--------
>>> ddf = client.clicks("2026-10-01", "2026-10-31", engine="dask") # doctest: +SKIP
>>> ddf.groupby("device_type", observed=True).size().compute()     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickkit import accessor, schema
from clickkit._optional import import_optional
from clickkit.errors import CacheError
from clickkit.executor import local_filters

if TYPE_CHECKING:
    import dask.dataframe
    import pandas as pd
    import pyarrow as pa

    from clickkit.plan import Filters
    from clickkit.shared import ArrowS3

__all__ = ["dask_frame", "require_dask"]


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
    return import_optional(
        "dask.dataframe",
        feature='engine="dask"',
        install='pip install "clickkit[dask]"',
        hint='Or use the default engine="pandas".',
    )


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
    #: How to reach the bucket when ``path`` is an object there (``bucket/key``).
    store: ArrowS3 | None = field(default=None, repr=False)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # Dask would otherwise hash the schema and categories of every day, every time.
        return (self.path, tuple(self.stamp), self.offset, self.rows, self.digest)


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _object_stamp(path: str, filesystem: Any) -> tuple[int, int]:
    """Size and modification time of an object in the bucket (OSError when absent)."""
    from pyarrow import fs

    info = filesystem.get_file_info(path)
    if info.type != fs.FileType.File:
        raise FileNotFoundError(f"s3://{path} does not exist")
    return int(info.size), int(info.mtime_ns or 0)


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

    path: Path | str = Path(part.path)
    wanted = None if columns is None else [str(c) for c in columns]
    try:
        filesystem = None
        if part.store is None:
            stamp = _stamp(Path(part.path))
        else:
            # An object of the team's bucket, read from there (not from a local mirror).
            filesystem, path = part.store.filesystem(), part.path
            stamp = _object_stamp(part.path, filesystem)
        unchanged = stamp == tuple(part.stamp)
        table = None
        if unchanged:
            present = set(pq.read_schema(path, filesystem=filesystem).names)
            read = None
            if wanted is not None:
                read = [c for c in {*wanted, *_filter_columns(part.filters)} if c in present]
            table = pq.read_table(
                path, columns=read, page_checksum_verification=True, filesystem=filesystem
            )
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


def _plan_day(
    path: Path | str, filters: Mapping[str, Any], date: str, filesystem: Any = None
) -> tuple[pa.Schema, pa.Table]:
    """A day's schema and its filtered enum columns (read alone, dictionary-encoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(
            path, read_dictionary=list(schema.ENUMS), filesystem=filesystem
        ) as file:
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


def _survey(
    day_files: Mapping[dt.date, Path | str], local: Mapping[str, Any], filesystem: Any
) -> tuple[list[tuple[dt.date, Path | str, tuple[int, int], int]], list[Any], dict[str, set[str]]]:
    """Read each day file's footer and enum columns (not its rows) before any task runs.

    Returns the days in order with their file stamp and filtered row count, every file's
    schema (after the canonical one), and the enum values seen beyond the documented ones.
    """

    schemas: list[pa.Schema] = [schema.arrow_schema()]
    extras: dict[str, set[str]] = {name: set() for name in schema.ENUMS}
    planned: list[tuple[dt.date, Path | str, tuple[int, int], int]] = []
    for day, path in sorted(day_files.items()):
        # Stamp before reading: a file replaced meanwhile then fails the check in workers.
        try:
            if filesystem is None:
                stamp = _stamp(Path(path))
            else:
                stamp = _object_stamp(str(path), filesystem)
        except OSError:
            stamp = (-1, -1)
        file_schema, enums = _plan_day(path, local, day.isoformat(), filesystem)
        schemas.append(file_schema)
        for name, values in schema.enum_categories([enums]).items():
            extras[name].update(values)
        planned.append((day, path, stamp, enums.num_rows))
    return planned, schemas, extras


def dask_frame(
    day_files: Mapping[dt.date, Path | str],
    filters: Filters,
    timezone: str,
    *,
    store: ArrowS3 | None = None,
) -> dask.dataframe.DataFrame:
    """A lazy Dask DataFrame of cached days, one partition per day.

    Called by ``client.clicks(..., engine="dask")`` once every planned day is cached.
    Building it reads only each day's schema and enum columns (plus the filter
    columns when filters are set), so that every partition gets the same, known
    categories and the index is numbered as in the pandas result; the full days are
    read when the frame is computed, one partition per task.

    Parameters
    ----------
    day_files : mapping of datetime.date to Path or str
        The cached whole-day (or exact) frame of each day: a local file, or with
        ``store`` an object of the team's bucket named ``bucket/key``.
    filters : Filters
        Applied to every day, as the pandas engine does.
    timezone : str
        The account's time zone, in which ``event_date`` is shown.
    store : ArrowS3, optional
        How pyarrow reaches the bucket of a shared cache; then every partition reads
        its day from the bucket, so workers on any machine that can reach it work.

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
    Workers read the cache files directly, so with a local cache they must see this
    machine's disk (a ``LocalCluster``). With a shared cache (``Client(shared_cache=...)``)
    they read each day from the bucket, with pyarrow's ``S3FileSystem`` and the
    credentials of ``storage_options`` or, when those name none, the worker's own AWS
    credentials (environment, ``~/.aws``, instance role). For a local cache and a
    cluster on other machines, publish the cache with
    :meth:`clickkit.Client.export_dataset` to shared storage and read that with
    ``dask.dataframe.read_parquet``.

    The frame has no ``attrs`` (no provenance): a Dask frame has none, and a copy on
    every partition would be deep-copied by pandas on every operation of every
    partition. ``client.jobs()`` shows where each cached day came from.

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

    accessor.register()  # computed partitions are the frames users get: give them df.clicks

    local = local_filters(filters)
    filesystem = None if store is None else store.filesystem()
    planned, schemas, extras = _survey(day_files, local, filesystem)
    # Documented values first, then every extra seen on any day, in one order for all.
    categories = schema.enum_categories(
        pa.table({name: pa.array(sorted(values), pa.string())}) for name, values in extras.items()
    )
    unified = _unify(schemas)
    shared = [local, timezone, categories, unified.to_string(show_schema_metadata=False)]
    digest = hashlib.blake2b(json.dumps(shared, default=str).encode(), digest_size=16)

    parts: list[_DayPart] = []
    offset = 0  # every day starts where the previous one ended
    for day, path, stamp, rows in planned:
        part = _DayPart(
            path=str(path), stamp=stamp, date=day.isoformat(), offset=offset, rows=rows,
            filters=local, timezone=timezone, arrow_schema=unified, categories=categories,
            digest=digest.hexdigest(), store=store,
        )  # fmt: skip
        parts.append(part)
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
