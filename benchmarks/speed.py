"""Speed and memory of clickkit's data path, as ratios to plain pyarrow on the same data.

Measured cases (every ratio is clickkit / baseline, on the same bytes or files):

- **cold**: one downloaded CSV day -> typed DataFrame,
  ``schema.to_pandas(schema.parse_export(bytes))`` vs ``pyarrow.csv.read_csv`` with the
  same column types and null values, then ``to_pandas()``. Target <= 1.15.
- **warm**: N cached days -> one DataFrame, ``client.clicks(start, end)`` on a fully cached
  range vs reading the same Parquet files with pyarrow, ``concat_tables`` and
  ``to_pandas()``. Target <= 1.1.
- **end to end**: N days from a sandbox server (its own process, zero job time, result
  files already generated) into a fresh cache, vs the cold parse of the same N days.
  Target <= 2.
- **formats**: one day's JSON and XML exports -> DataFrame vs the same day's CSV, all
  through clickkit. Targets <= 2 (JSON) and <= 3 (XML).
- **memory**: peak RSS of a warm load in a fresh process, above the process's baseline,
  vs ``df.memory_usage(deep=True).sum()``. Target <= 1.5x.
- **scaling**: cold parse and warm load over days x rows per day; least-squares slope
  (seconds per million rows) and r squared.

The CSV days come from the sandbox generator (``generate_day`` + ``serialize``) and are
written once per invocation; the warm caches are filled once per size from a sandbox
server with the same seed, so both sides read identical clicks (checked by row counts).

Usage::

    python benchmarks/speed.py --quick     # small sizes, about a minute
    python benchmarks/speed.py             # 1, 7, 30, 90 days x 10k, 100k rows a day
    python benchmarks/speed.py --full      # adds 1M rows a day (up to --max-rows)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from benchmarks.common import NOW, SEED, Sample

#: The last day of every range: two days before the clock, so every day is final.
END = dt.date(2026, 11, 25)
ACCOUNT_SID = "IRsandbox0001"
#: A loopback port nothing listens on: a warm client that tried the network would fail.
NO_SERVER = "http://127.0.0.1:9"

#: The targets (issue 14), as ratios: cold and warm to plain pyarrow, peak memory to the
#: frame, end to end to the cold parse of the same days, JSON and XML to the CSV parse.
COLD_TARGET = 1.15
WARM_TARGET = 1.1
MEMORY_TARGET = 1.5
E2E_TARGET = 2.0
JSON_TARGET = 2.0
XML_TARGET = 3.0


@dataclass(frozen=True)
class Config:
    """Sizes and repeats of one run mode."""

    name: str
    cold_rows: tuple[int, ...]
    days: tuple[int, ...]
    rows: tuple[int, ...]
    e2e: tuple[int, int]  # (days, rows a day)
    formats_rows: int  # rows of the day read as CSV, JSON and XML
    memory: tuple[tuple[int, int], ...]
    budget: float  # seconds of repeats per measurement
    min_repeats: int = 3
    max_repeats: int = 7
    max_rows: int = 10_000_000
    skipped: list[str] = field(default_factory=list)

    def grid(self) -> list[tuple[int, int]]:
        """(days, rows a day) cells within ``max_rows``; the others are noted as skipped."""
        cells = []
        for rows in self.rows:
            for days in self.days:
                if days * rows <= self.max_rows:
                    cells.append((days, rows))
                else:
                    self.skipped.append(f"{days} days x {rows:,}")
        return cells


def make_config(mode: str, max_rows: int | None = None) -> Config:
    """The sizes of ``quick``, ``default`` or ``full``."""
    if mode == "quick":
        config = Config(
            "quick",
            cold_rows=(10_000, 100_000),
            days=(1, 7, 30),
            rows=(10_000,),
            e2e=(7, 10_000),
            formats_rows=10_000,
            memory=((7, 10_000), (30, 10_000)),
            # More repeats than the budget alone would give: on a shared 2-core machine
            # the medians of 5 moved by 20-30% between runs.
            budget=6.0,
            max_repeats=9,
        )
    elif mode == "default":
        config = Config(
            "default",
            cold_rows=(10_000, 100_000),
            days=(1, 7, 30, 90),
            rows=(10_000, 100_000),
            e2e=(7, 100_000),
            formats_rows=100_000,
            memory=((7, 100_000), (30, 100_000), (90, 100_000)),
            budget=15.0,
        )
    else:
        config = Config(
            "full",
            cold_rows=(10_000, 100_000, 1_000_000),
            days=(1, 7, 30, 90),
            rows=(10_000, 100_000, 1_000_000),
            e2e=(7, 100_000),
            formats_rows=100_000,
            memory=((7, 100_000), (90, 100_000), (7, 1_000_000)),
            budget=20.0,
        )
    if max_rows is not None:
        config = Config(**{**config.__dict__, "max_rows": max_rows, "skipped": []})
    return config


def day_range(days: int) -> list[dt.date]:
    """The ``days`` days ending at :data:`END`, oldest first."""
    return [END - dt.timedelta(days=days - 1 - i) for i in range(days)]


# ---------------------------------------------------------------------------------------
# Test data


class DataStore:
    """CSV days from the sandbox generator, written once under ``root`` and reused.

    Parameters
    ----------
    root : Path
        Folder for ``csv/<rows>/<date>.csv`` and ``cache/<rows>/`` (the warm caches).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: dict[tuple[int, dt.date], int] = {}

    def csv(self, rows: int, day: dt.date) -> Path:
        """The CSV export of ``day`` at ``rows`` clicks a day (generated when missing)."""
        from clickkit.sandbox import generate_day, serialize

        path = self.root / "csv" / str(rows) / f"{day.isoformat()}.csv"
        if not path.exists():
            table = generate_day(day, seed=SEED, account_sid=ACCOUNT_SID, clicks_per_day=rows)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(serialize(table, "CSV"))
            tmp.replace(path)
            self.rows[(rows, day)] = table.num_rows
        elif (rows, day) not in self.rows:
            self.rows[(rows, day)] = _count_rows(path)
        return path

    def export(self, rows: int, day: dt.date, result_format: str) -> Path:
        """The day's export as ``JSON`` or ``XML`` (the same clicks as its CSV)."""
        from clickkit.sandbox import generate_day, serialize

        path = self.root / result_format.lower() / str(rows) / f"{day.isoformat()}.{result_format}"
        if not path.exists():
            table = generate_day(day, seed=SEED, account_sid=ACCOUNT_SID, clicks_per_day=rows)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(serialize(table, result_format))
            tmp.replace(path)
        return path

    def csvs(self, rows: int, days: int) -> list[Path]:
        """The CSV files of the ``days`` days ending at :data:`END`."""
        return [self.csv(rows, day) for day in day_range(days)]

    def total_rows(self, rows: int, days: int) -> int:
        """Clicks in the ``days`` days ending at :data:`END`."""
        self.csvs(rows, days)
        return sum(self.rows[(rows, day)] for day in day_range(days))

    def cache(self, rows: int, days: int) -> Path:
        """A clickkit cache holding at least the ``days`` days ending at :data:`END`.

        Filled through the real client from a sandbox server with the same seed and size.
        """
        root = self.root / "cache" / str(rows)
        marker = root / ".days"
        have = int(marker.read_text()) if marker.exists() else 0
        if have < days:
            common.say(f"  filling the warm cache: {days} days x {rows:,} rows a day")
            with sandbox_server(rows) as server:
                client = make_client(root, server)
                try:
                    frame = client.clicks(day_range(days)[0], END)
                finally:
                    client.close()
            expected = self.total_rows(rows, days)
            if len(frame) != expected:
                raise RuntimeError(
                    f"the sandbox served {len(frame)} rows, the generator made {expected}: "
                    "the two sides would not measure the same data"
                )
            marker.write_text(str(days))
        return root


def _count_rows(path: Path) -> int:
    import pyarrow.csv as pacsv

    options = pacsv.ConvertOptions(include_columns=["Id"])
    return pacsv.read_csv(path, convert_options=options).num_rows


def child_env() -> dict[str, str]:
    """The environment for child processes: they import the same clickkit as this one."""
    import clickkit

    env = dict(os.environ)
    root = str(Path(clickkit.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


@contextlib.contextmanager
def sandbox_server(rows: int) -> Iterator[dict[str, str]]:
    """A sandbox API server in its own process (frozen clock, zero job time)."""
    command = [
        sys.executable, "-m", "clickkit", "sandbox", "serve", "--json",
        "--now", NOW.isoformat(), "--frozen", "--seed", str(SEED),
        "--clicks-per-day", str(rows), "--job-seconds", "0",
        "--daily-export-limit", "1000000", "--hourly-limit", "1000000",
        "--retention-days", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise RuntimeError("the sandbox server did not start")
        yield json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_client(cache_dir: Path, server: dict[str, str] | None = None) -> Any:
    """A client on ``cache_dir``; without ``server`` it has no reachable API at all."""
    import clickkit as ck

    return ck.Client(
        server["account_sid"] if server else ACCOUNT_SID,
        server["auth_token"] if server else "no-token",
        base_url=server["base_url"] if server else NO_SERVER,
        cache_dir=cache_dir,
        timezone="UTC",
        clock=lambda: NOW,
        daily_export_limit=1_000_000,
        progress=False,
        # Jobs take zero time here: poll at once rather than after the default 1 s.
        poll_interval=0.01,
        poll_max=0.05,
    )


def parquet_files(cache_dir: Path, days: int) -> list[Path]:
    """The cached day files of the range, as the client stores them."""
    from clickkit.cache import request_key

    return [
        cache_dir / "days" / f"{request_key(ACCOUNT_SID, day, result_format='CSV')}.parquet"
        for day in day_range(days)
    ]


# ---------------------------------------------------------------------------------------
# The measured operations


def clickkit_cold(data: bytes) -> Any:
    """clickkit: CSV bytes -> canonical table -> documented DataFrame."""
    from clickkit import schema

    return schema.to_pandas(schema.parse_export(data))


def _baseline_convert_options() -> Any:
    """The column types clickkit reads: the schema's, with the enums as dictionaries.

    clickkit reads the seven enum columns as dictionaries of their text, so the baseline
    does too (its ``to_pandas`` then makes them categoricals, as clickkit's frame has).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from clickkit import schema

    enum = pa.dictionary(pa.int32(), pa.string())
    return pacsv.ConvertOptions(
        column_types={
            c.source: enum if c.kind == "enum" else schema.arrow_type(c.kind)
            for c in schema.COLUMNS
        },
        null_values=["", "n/a", "N/A"],
        strings_can_be_null=True,
    )


def pyarrow_cold(data: bytes) -> Any:
    """Baseline: ``pyarrow.csv.read_csv`` with the same column types, then ``to_pandas``."""
    import pyarrow.csv as pacsv

    options = _baseline_convert_options()
    return pacsv.read_csv(io.BytesIO(data), convert_options=options).to_pandas()


def pyarrow_cold_same_options(data: bytes) -> Any:
    """Reference: the baseline given clickkit's parse options too.

    ``newlines_in_values=True`` (a quoted value may hold a line break), 1 MiB blocks, a
    handler that drops malformed rows, the boolean spellings and ISO 8601 timestamps:
    what clickkit's reading costs before anything clickkit adds.
    """
    import pyarrow.csv as pacsv

    from clickkit import schema

    convert = _baseline_convert_options()
    convert.true_values = ["true", "TRUE", "True", "1", "t", "T", "yes", "YES"]
    convert.false_values = ["false", "FALSE", "False", "0", "f", "F", "no", "NO"]
    convert.timestamp_parsers = [pacsv.ISO8601]
    types = convert.column_types
    convert.column_types = {**{c.name: types[c.source] for c in schema.COLUMNS}, **types}
    parse = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip")
    read = pacsv.ReadOptions(block_size=1 << 20)
    table = pacsv.read_csv(
        io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert
    )
    return table.to_pandas()


def clickkit_cold_days(paths: Sequence[Path]) -> Any:
    """clickkit: several downloaded days parsed, concatenated and converted once."""
    import pyarrow as pa

    from clickkit import schema

    tables = [schema.parse_export(path) for path in paths]
    return schema.to_pandas(pa.concat_tables(tables, promote_options="default"))


def pyarrow_warm(paths: Sequence[Path]) -> Any:
    """Baseline: read the Parquet day files, ``concat_tables``, ``to_pandas``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa.concat_tables([pq.read_table(path) for path in paths]).to_pandas()


def pyarrow_warm_schema(paths: Sequence[Path]) -> Any:
    """Reference: the baseline's reading, then clickkit's ``schema.to_pandas``.

    Against it, clickkit's ratio is the cost of the client (plan, job records, checks);
    against the baseline, it adds the documented dtypes (categoricals, nullable numbers,
    ``event_date`` in the account's zone).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clickkit import schema

    return schema.to_pandas(pa.concat_tables([pq.read_table(path) for path in paths]))


# ---------------------------------------------------------------------------------------
# Sections


def _repeats(config: Config, one_round: float) -> int:
    if one_round <= 0:
        return config.max_repeats
    wanted = int(config.budget / one_round)
    return max(config.min_repeats, min(config.max_repeats, wanted))


def _time(config: Config, fns: dict[str, Callable[[], Any]]) -> dict[str, Sample]:
    """Medians of interleaved repeats; the first round is the warm-up and sizes the rest."""
    probe = sum(common.timed(fn) for fn in fns.values())
    return common.time_interleaved(fns, repeats=_repeats(config, probe), warmup=0)


def cold(config: Config, store: DataStore) -> list[dict[str, Any]]:
    """One CSV day -> DataFrame: clickkit vs pyarrow, per size."""
    results = []
    for rows in config.cold_rows:
        path = store.csv(rows, END)
        data = path.read_bytes()
        n = store.rows[(rows, END)]
        common.say(f"  cold: 1 day x {n:,} rows")
        samples = _time(
            config,
            {
                "clickkit": lambda d=data: clickkit_cold(d),
                "pyarrow": lambda d=data: pyarrow_cold(d),
                "same options": lambda d=data: pyarrow_cold_same_options(d),
            },
        )
        results.append({"rows": n, "mb": len(data) / 1e6, **samples})
        del data
        gc.collect()
    return results


def formats(config: Config, store: DataStore) -> dict[str, Any]:
    """One day as CSV, JSON and XML -> DataFrame with clickkit (ratios to the CSV)."""
    rows = config.formats_rows
    data = {fmt: store.export(rows, END, fmt).read_bytes() for fmt in ("JSON", "XML")}
    data["CSV"] = store.csv(rows, END).read_bytes()
    n = store.rows[(rows, END)]
    common.say(f"  formats: 1 day x {n:,} rows as CSV, JSON, XML")
    samples = _time(
        config,
        {
            "CSV": lambda: clickkit_cold(data["CSV"]),
            "JSON": lambda: clickkit_cold(data["JSON"]),
            "XML": lambda: clickkit_cold(data["XML"]),
        },
    )
    sizes = {fmt: len(b) / 1e6 for fmt, b in data.items()}
    return {"rows": n, "mb": sizes, **samples}


def warm(
    config: Config, store: DataStore, cells: Sequence[tuple[int, int]]
) -> list[dict[str, Any]]:
    """N cached days -> one DataFrame: ``client.clicks`` vs pyarrow on the same files."""
    results = []
    for days, rows in cells:
        cache_dir = store.cache(rows, max(d for d, r in cells if r == rows))
        paths = parquet_files(cache_dir, days)
        n = store.total_rows(rows, days)
        common.say(f"  warm: {days} days x {rows:,} rows a day ({n:,} rows)")
        client = make_client(cache_dir)
        start = day_range(days)[0]
        try:
            probe = client.clicks(start, END)
            if len(probe) != n or probe.attrs["clickkit"]["api_calls"]:
                raise RuntimeError("the warm range was not fully cached")
            frame_bytes = int(probe.memory_usage(deep=True).sum())
            del probe
            samples = _time(
                config,
                {
                    "clickkit": lambda c=client, s=start: c.clicks(s, END),
                    "pyarrow": lambda p=paths: pyarrow_warm(p),
                    "same dtypes": lambda p=paths: pyarrow_warm_schema(p),
                },
            )
        finally:
            client.close()
        results.append(
            {
                "days": days,
                "rows_per_day": rows,
                "rows": n,
                "parquet_mb": sum(p.stat().st_size for p in paths) / 1e6,
                "frame_mb": frame_bytes / 1e6,
                **samples,
            }
        )
        gc.collect()
    return results


def cold_scaling(
    config: Config, store: DataStore, cells: Sequence[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Cold parse of N downloaded days (files) -> one DataFrame, per grid cell."""
    results = []
    for days, rows in cells:
        paths = store.csvs(rows, days)
        n = store.total_rows(rows, days)
        common.say(f"  cold scaling: {days} days x {rows:,} rows a day ({n:,} rows)")
        samples = _time(config, {"clickkit": lambda p=paths: clickkit_cold_days(p)})
        results.append({"days": days, "rows_per_day": rows, "rows": n, **samples})
        gc.collect()
    return results


def end_to_end(config: Config, store: DataStore) -> dict[str, Any]:
    """N days fetched from a sandbox server into a fresh cache, vs the cold parse alone."""
    days, rows = config.e2e
    paths = store.csvs(rows, days)
    n = store.total_rows(rows, days)
    start = day_range(days)[0]
    common.say(f"  end to end: {days} days x {rows:,} rows a day ({n:,} rows)")
    work = store.root / "e2e"
    with sandbox_server(rows) as server:

        def fetch() -> Any:
            shutil.rmtree(work, ignore_errors=True)
            client = make_client(work, server)
            try:
                frame = client.clicks(start, END)
            finally:
                client.close()
            if len(frame) != n:
                raise RuntimeError(f"end to end returned {len(frame)} rows, expected {n}")
            return frame

        fetch()  # the server generates and keeps the result files: not what is measured
        samples = _time(config, {"e2e": fetch, "cold": lambda: clickkit_cold_days(paths)})
    shutil.rmtree(work, ignore_errors=True)
    return {"days": days, "rows_per_day": rows, "rows": n, **samples}


def memory(config: Config, store: DataStore) -> list[dict[str, Any]]:
    """Peak RSS of a warm load in a fresh process, clickkit and the pyarrow baseline."""
    results = []
    for days, rows in config.memory:
        if days * rows > config.max_rows:
            config.skipped.append(f"memory {days} days x {rows:,}")
            continue
        cache_dir = store.cache(rows, days)
        common.say(f"  memory: {days} days x {rows:,} rows a day")
        # pyarrow's default allocator (mimalloc in the wheels) keeps freed pages, which
        # shows in RSS; the system allocator is measured too, to tell the two apart.
        for pool in ("default", "system"):
            env = child_env()
            if pool == "system":
                env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
            for how in ("clickkit", "pyarrow"):
                args = {"how": how, "cache": str(cache_dir), "days": days}
                command = [sys.executable, __file__, "--child-memory", json.dumps(args)]
                out = subprocess.run(
                    command, check=True, capture_output=True, text=True, env=env
                ).stdout
                result = json.loads(out.strip().splitlines()[-1])
                result.update(days=days, rows_per_day=rows)
                results.append(result)
    return results


# ---------------------------------------------------------------------------------------
# Peak memory, measured inside a fresh child process


def _status_kib(name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> int:
    """Start a new peak here (Linux ``clear_refs``); return the current RSS in bytes."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    kib = _status_kib("VmRSS")
    return (kib or _maxrss_kib()) * 1024


def _peak() -> int:
    """The peak RSS since :func:`_reset_peak`, in bytes (``ru_maxrss`` off Linux)."""
    kib = _status_kib("VmHWM")
    return (kib or _maxrss_kib()) * 1024


def _maxrss_kib() -> int:
    # ru_maxrss is KiB on Linux and bytes on macOS.
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value // 1024 if sys.platform == "darwin" else value


def child_memory(args: dict[str, Any]) -> dict[str, Any]:
    """One warm load in this (fresh) process; returns its peak above the baseline."""
    import pandas  # noqa: F401  (imports belong to the baseline)
    import pyarrow as pa
    import pyarrow.compute
    import pyarrow.parquet

    import clickkit.accessor
    import clickkit.client  # noqa: F401

    cache_dir = Path(args["cache"])
    days = int(args["days"])
    client = make_client(cache_dir)
    paths = parquet_files(cache_dir, days)
    gc.collect()
    baseline = _reset_peak()
    if args["how"] == "clickkit":
        frame = client.clicks(day_range(days)[0], END)
    else:
        frame = pyarrow_warm(paths)
    peak = _peak()
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    client.close()
    return {
        "how": args["how"],
        "pool": pa.default_memory_pool().backend_name,
        "rows": len(frame),
        "frame_bytes": frame_bytes,
        "baseline_bytes": baseline,
        "peak_bytes": peak,
        "extra_bytes": peak - baseline,
        "arrow_pool_peak_bytes": pa.default_memory_pool().max_memory(),
        "ratio": (peak - baseline) / frame_bytes if frame_bytes else float("nan"),
    }


# ---------------------------------------------------------------------------------------
# Running and reporting


def run(mode: str = "default", *, data: Path | None = None, max_rows: int | None = None) -> dict:
    """Run every section; return the raw results (see :func:`report`)."""
    config = make_config(mode, max_rows)
    cells = config.grid()
    warnings.simplefilter("ignore")  # provisional/parse warnings are not what is measured
    with contextlib.ExitStack() as stack:
        if data is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="clickkit-bench-")))
        store = DataStore(data)
        common.say(f"speed ({mode}): data in {data}")
        results = {
            "mode": mode,
            "cold": cold(config, store),
            "warm": warm(config, store, cells),
            "cold_scaling": cold_scaling(config, store, cells),
            "end_to_end": end_to_end(config, store),
            "formats": formats(config, store),
            "memory": memory(config, store),
        }
    results["skipped"] = list(config.skipped)
    return results


def _fit(points: Sequence[tuple[int, float]]) -> tuple[float, float, float]:
    """Seconds against millions of rows: (slope, intercept, r squared)."""
    return common.linear_fit([r / 1e6 for r, _ in points], [t for _, t in points])


def summary(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, goal, met) for the speed targets."""
    out: list[tuple[str, str, str, bool | None]] = []
    for r in results["cold"]:
        ratio = r["clickkit/pyarrow"].median
        out.append(
            (
                f"cold, 1 day x {r['rows']:,}",
                f"{ratio:.2f} (vs same options {r['clickkit/same options'].median:.2f})",
                f"<= {COLD_TARGET}",
                ratio <= COLD_TARGET,
            )
        )
    for r in results["warm"]:
        ratio = r["clickkit/pyarrow"].median
        out.append(
            (
                f"warm, {r['days']} d x {r['rows_per_day']:,}",
                f"{ratio:.2f} (vs same dtypes {r['clickkit/same dtypes'].median:.2f})",
                f"<= {WARM_TARGET}",
                ratio <= WARM_TARGET,
            )
        )
    e = results["end_to_end"]
    overhead = e["e2e"].median - e["cold"].median
    ratio = e["e2e/cold"].median
    out.append(
        (
            f"end to end, {e['days']} d x {e['rows_per_day']:,}",
            f"{ratio:.2f} (+{common.seconds(overhead)} over the parse)",
            f"<= {E2E_TARGET}",
            ratio <= E2E_TARGET,
        )
    )
    f = results.get("formats")
    if f:
        for fmt, goal in (("JSON", JSON_TARGET), ("XML", XML_TARGET)):
            ratio = f[f"CSV/{fmt}"].median
            ratio = 1 / ratio if ratio else float("nan")
            out.append(
                (
                    f"{fmt} / CSV, 1 day x {f['rows']:,}",
                    f"{ratio:.2f} ({common.seconds(f[fmt].median)})",
                    f"<= {goal}",
                    ratio <= goal,
                )
            )
    for pool in ("mimalloc", "jemalloc", "system"):
        mems = [m for m in results["memory"] if m["how"] == "clickkit" and m["pool"] == pool]
        if mems:
            m = max(mems, key=lambda m: m["frame_bytes"])
            out.append(
                (
                    f"warm peak / frame, {pool} allocator",
                    f"{m['ratio']:.2f} at {m['days']} d x {m['rows_per_day']:,}",
                    f"<= {MEMORY_TARGET}",
                    m["ratio"] <= MEMORY_TARGET,
                )
            )
    for label, key in (("cold", "cold_scaling"), ("warm", "warm")):
        slope, _, r2 = _fit([(r["rows"], r["clickkit"].median) for r in results[key]])
        out.append(
            (
                f"{label} scaling",
                f"{slope:.2f} s per M rows, r^2 {r2:.3f}",
                "linear",
                None if r2 != r2 else bool(r2 >= 0.98),
            )
        )
    return out


def report(results: dict[str, Any]) -> str:
    """The speed tables as text."""
    s, pct = common.seconds, common.percent
    parts = []
    rows = []
    for r in results["cold"]:
        ratio = r["clickkit/pyarrow"]
        rows.append(
            (
                f"1 day x {r['rows']:,}",
                f"{r['mb']:.0f} MB",
                s(r["clickkit"].median),
                s(r["pyarrow"].median),
                f"{ratio.median:.2f}",
                pct(ratio.spread),
                s(r["same options"].median),
                f"{r['clickkit/same options'].median:.2f}",
                len(ratio.times),
            )
        )
    parts.append(
        common.table(
            [
                "cold: CSV -> DataFrame",
                "CSV",
                "clickkit",
                "pyarrow",
                "ratio",
                "noise",
                "same opts",
                "ratio",
                "n",
            ],
            rows,
        )
    )
    rows = []
    for r in results["warm"]:
        ratio = r["clickkit/pyarrow"]
        rows.append(
            (
                f"{r['days']} d x {r['rows_per_day']:,} ({r['rows']:,})",
                f"{r['parquet_mb']:.0f} MB",
                s(r["clickkit"].median),
                s(r["pyarrow"].median),
                f"{ratio.median:.2f}",
                pct(ratio.spread),
                s(r["same dtypes"].median),
                f"{r['clickkit/same dtypes'].median:.2f}",
                len(ratio.times),
            )
        )
    parts.append(
        common.table(
            [
                "warm: cached days -> DataFrame",
                "Parquet",
                "clickkit",
                "pyarrow",
                "ratio",
                "noise",
                "same dtypes",
                "ratio",
                "n",
            ],
            rows,
        )
    )
    e = results["end_to_end"]
    parts.append(
        common.table(
            [
                "end to end (sandbox, 0 s jobs)",
                "fetch+load",
                "cold parse",
                "overhead",
                "ratio",
                "noise",
                "n",
            ],
            [
                (
                    f"{e['days']} d x {e['rows_per_day']:,} ({e['rows']:,})",
                    s(e["e2e"].median),
                    s(e["cold"].median),
                    s(e["e2e"].median - e["cold"].median),
                    f"{e['e2e/cold'].median:.2f}",
                    pct(e["e2e/cold"].spread),
                    len(e["e2e"].times),
                )
            ],
        )
    )
    f = results.get("formats")
    if f:
        parts.append(
            common.table(
                ["formats: 1 day -> DataFrame", "file", "clickkit", "/ CSV", "noise", "n"],
                [
                    (
                        f"{fmt}, {f['rows']:,} rows",
                        f"{f['mb'][fmt]:.0f} MB",
                        s(f[fmt].median),
                        "1.00" if fmt == "CSV" else f"{1 / f[f'CSV/{fmt}'].median:.2f}",
                        pct(f[fmt].spread),
                        len(f[fmt].times),
                    )
                    for fmt in ("CSV", "JSON", "XML")
                ],
            )
        )
    if results["memory"]:
        rows = [
            (
                f"{m['days']} d x {m['rows_per_day']:,}, {m['how']}, {m['pool']}",
                common.mib(m["frame_bytes"]),
                common.mib(m["baseline_bytes"]),
                common.mib(m["peak_bytes"]),
                common.mib(m["extra_bytes"]),
                f"{m['ratio']:.2f}",
            )
            for m in results["memory"]
        ]
        parts.append(
            common.table(
                [
                    "memory: warm load, allocator",
                    "frame",
                    "baseline",
                    "peak RSS",
                    "peak-base",
                    "/frame",
                ],
                rows,
            )
        )
    rows = []
    for label, key in (("cold", "cold_scaling"), ("warm", "warm")):
        for r in results[key]:
            t = r["clickkit"].median
            rows.append(
                (
                    f"{label} {r['days']} d x {r['rows_per_day']:,}",
                    r["rows"],
                    s(t),
                    f"{t / (r['rows'] / 1e6):.2f}",
                    pct(r["clickkit"].spread),
                )
            )
        slope, intercept, r2 = _fit([(r["rows"], r["clickkit"].median) for r in results[key]])
        rows.append(
            (
                f"{label}: least squares",
                "",
                f"{intercept:+.2f} s",
                f"slope {slope:.2f}",
                f"r^2 {r2:.3f}",
            )
        )
    parts.append(common.table(["scaling (clickkit)", "rows", "time", "s / M rows", "noise"], rows))
    if results["skipped"]:
        parts.append("skipped (over --max-rows): " + ", ".join(results["skipped"]))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run the speed benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes only")
    size.add_argument("--full", action="store_true", help="add 1M rows a day")
    parser.add_argument("--data", type=Path, help="keep generated data here (reused)")
    parser.add_argument("--max-rows", type=int, help="skip cells above this many rows")
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        print(json.dumps(child_memory(json.loads(args.child_memory))))
        return 0
    mode = "quick" if args.quick else "full" if args.full else "default"
    results = run(mode, data=args.data, max_rows=args.max_rows)
    print(report(results))
    print()
    print(common.table(["target", "measured", "goal", "met"], summary(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
