"""Peak memory of the pandas engine vs the Dask engine over a growing date range.

Fills one sandbox cache with the longest range first (fetching is not what is measured),
then runs every case in a fresh Python process and reads that process's peak resident
set size (``ru_maxrss``), so cases cannot inherit each other's memory. Each case loads
the cached days and computes clicks per device type per day:

- ``pandas``: ``client.clicks(start, end)`` then ``groupby``; the whole range is in memory.
- ``dask``: ``client.clicks(start, end, engine="dask")`` then the same ``groupby`` and
  ``.compute()`` on the threaded scheduler with two workers; Dask reads only the columns
  the groupby uses, one day at a time per worker.
- ``dask-full``: a per-partition deep memory count, which reads *every* column of every
  day: peak memory is bounded by the few partitions in flight, not by the range.

"baseline" is the peak before loading (interpreter, libraries, client, sandbox); "extra"
is the peak minus that; "arrow peak" is the most pyarrow's memory pool held at once.

Usage::

    python benchmarks/dask_memory.py            # 3, 7, 14, 30 days x 20,000 clicks/day
    python benchmarks/dask_memory.py --quick    # 2, 7, 14 days x 10,000 clicks/day (about a minute)
    python benchmarks/dask_memory.py --days 7 30 90 --rows 50000
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: The sandbox clock start (as in the tests); the ranges end two days before it.
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
END = dt.date(2026, 11, 25)
CASES = ("pandas", "dask", "dask-full")
PREPARE = "prepare"

try:
    import clickkit  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _client(cache: Path, rows: int) -> Any:
    import clickkit as ck

    return ck.Client.sandbox(
        cache_dir=cache,
        now=NOW,
        seed=1,
        clicks_per_day=rows,
        job_duration=dt.timedelta(0),
        daily_export_limit=1000,
        progress=False,
        poll_interval=0.02,
        poll_max=0.2,
    )


def _status_mib(field: str) -> float | None:
    """A ``VmRSS``/``VmHWM`` figure of this process from /proc (Linux), in MiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Start a new peak measurement here; return the current RSS in MiB.

    On Linux, writing 5 to ``clear_refs`` resets the high-water mark ``VmHWM`` to the
    current RSS. Elsewhere ``ru_maxrss`` is used, which includes the setup's peak.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    return _status_mib("VmRSS") or _peak_mib()


def _peak_mib() -> float:
    hwm = _status_mib("VmHWM")
    if hwm is not None:
        return hwm
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 2**20 if sys.platform == "darwin" else 2**10
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def _by_day_and_device(frame: Any, **options: Any) -> Any:
    day = frame["event_date"].dt.normalize()
    return frame.assign(day=day).groupby(["day", "device_type"], observed=True).size(**options)


def run_case(case: str, days: int, cache: Path, rows: int) -> dict[str, Any]:
    """Run one case in this process and return its measurements."""
    import dask
    import pyarrow as pa

    start = END - dt.timedelta(days=days - 1)
    # Imports count as baseline, not as work.
    for module in ("dask.dataframe", "pyarrow.parquet", "clickkit.accessor", "clickkit.daskframe"):
        importlib.import_module(module)

    client = _client(cache, rows)
    gc.collect()
    baseline = _reset_peak()
    began = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        if case == "pandas":
            frame = client.clicks(start, END)
            n = len(frame)
            result = _by_day_and_device(frame)
        elif case == "dask":
            ddf = client.clicks(start, END, engine="dask")
            # A small result: one output partition, combined as a tree (no shuffle).
            result = _by_day_and_device(ddf, split_out=1).compute()
            n = int(result.sum())
        else:
            ddf = client.clicks(start, END, engine="dask")
            sizes = ddf.map_partitions(
                lambda p: p.memory_usage(deep=True).sum(), meta=(None, "int64")
            ).compute()
            n = len(ddf.index)
            result = sizes
    seconds = time.perf_counter() - began
    peak = _peak_mib()
    spent = client.sandbox_server.stats()["requests"].get("ClickExport", 0)
    client.close()
    return {
        "case": case,
        "days": days,
        "rows": n,
        "groups": len(result),
        "seconds": round(seconds, 2),
        "baseline_mib": round(baseline, 1),
        "peak_mib": round(peak, 1),
        "extra_mib": round(peak - baseline, 1),
        "arrow_peak_mib": round(pa.default_memory_pool().max_memory() / 2**20, 1),
        "exports": spent,
    }


def prepare(cache: Path, days: int, rows: int) -> None:
    """Fetch the longest range once into ``cache``."""
    client = _client(cache, rows)
    try:
        frame = client.clicks(END - dt.timedelta(days=days - 1), END)
        print(f"cached {days} days, {len(frame):,} clicks ({rows:,}/day) in {cache}", flush=True)
    finally:
        client.close()


def _table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'days':>5} {'clicks':>10} {'case':<10} {'peak RSS':>10} {'extra':>10} "
        f"{'arrow peak':>11} {'time':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['days']:>5} {r['rows']:>10,} {r['case']:<10} {r['peak_mib']:>6.0f} MiB "
            f"{r['extra_mib']:>6.0f} MiB {r['arrow_peak_mib']:>7.0f} MiB {r['seconds']:>6.1f}s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the sweep (or, with ``--case``, one case) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sweep (about a minute)")
    parser.add_argument("--days", type=int, nargs="+", help="day counts (default 3 7 14 30)")
    parser.add_argument("--rows", type=int, help="sandbox clicks per day (default 20000)")
    parser.add_argument("--cache", type=Path, help="cache folder to reuse (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    # One child run: the sweep runs every step in a fresh process.
    parser.add_argument("--case", choices=[*CASES, PREPARE], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    days = args.days or ([2, 7, 14] if args.quick else [3, 7, 14, 30])
    rows = args.rows or (10_000 if args.quick else 20_000)

    if args.case == PREPARE:
        prepare(args.cache, days[0], rows)
        return 0
    if args.case:
        print(json.dumps(run_case(args.case, days[0], args.cache, rows)))
        return 0

    def child(case: str, n: int, cache: Path) -> str:
        # Fresh processes: the peak of one step never shows up in another's figures.
        command = [
            sys.executable, __file__, "--case", case, "--days", str(n),
            "--rows", str(rows), "--cache", str(cache),
        ]  # fmt: skip
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    with tempfile.TemporaryDirectory(prefix="clickkit-bench-") as tmp:
        cache = args.cache or Path(tmp) / "cache"
        print(child(PREPARE, max(days), cache).strip(), flush=True)
        results = []
        for n in sorted(days):
            for case in CASES:
                result = json.loads(child(case, n, cache).strip().splitlines()[-1])
                if result["exports"]:
                    raise RuntimeError(f"{case} {n} days spent exports: the cache was cold")
                results.append(result)
                print(f"  {n:>3} days {case:<10} peak {result['peak_mib']:.0f} MiB", flush=True)
    print()
    print(_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
