"""Shared helpers of the benchmark scripts: timing statistics, tables, machine facts.

Nothing here is timed itself. The scripts import this module as ``benchmarks.common``;
run as files (``python benchmarks/run.py``) they first put the repository root on
``sys.path``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: The sandbox clock start used by every benchmark (a Friday morning, UTC).
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
#: The data seed: the same seed and size always give the same clicks.
SEED = 7


@dataclass(frozen=True)
class Sample:
    """Repeated timings of one measurement, in seconds."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median time."""
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the repeats were (0.1 = 10%)."""
        if len(self.times) < 2 or self.median == 0:
            return 0.0
        return (max(self.times) - min(self.times)) / self.median


def time_interleaved(
    fns: dict[str, Callable[[], Any]], *, repeats: int, warmup: int = 1
) -> dict[str, Sample]:
    """Time several callables in turn (A, B, C, A, B, C...); one :class:`Sample` each.

    Taking turns spreads slow drifts of the machine over every side. For each name but
    the first, ``"<first>/<name>"`` holds the per-round ratio first / name, which is less
    noisy than the ratio of two medians.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    samples = {name: Sample(tuple(values)) for name, values in times.items()}
    first, *others = fns
    for name in others:
        ratios = (a / b for a, b in zip(times[first], times[name], strict=True))
        samples[f"{first}/{name}"] = Sample(tuple(ratios))
    return samples


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes (its result is dropped before the clock stops)."""
    start = time.perf_counter()
    result = fn()
    del result
    return time.perf_counter() - start


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line through the points: (slope, intercept, r squared)."""
    n = len(xs)
    if n < 2:
        return math.nan, math.nan, math.nan
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sxy / sxx if sxx else math.nan
    intercept = my - slope * mx
    r2 = (sxy * sxy) / (sxx * syy) if sxx and syy else math.nan
    return slope, intercept, r2


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "") -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def seconds(value: float) -> str:
    """A duration for a table: milliseconds below one second."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def percent(value: float) -> str:
    """A share as a whole percentage."""
    return f"{value * 100:.0f}%"


def mib(n_bytes: float) -> str:
    """Bytes as MiB."""
    return f"{n_bytes / 2**20:,.0f} MiB"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import numpy
    import pandas
    import pyarrow

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for row in info:
                if row.startswith("model name"):
                    cpu = row.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 0
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
    }


def machine_line(info: dict[str, Any]) -> str:
    """One line describing the machine and library versions."""
    return (
        f"{info['date']}; {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB; "
        f"{info['os']}; Python {info['python']}, pandas {info['pandas']}, "
        f"pyarrow {info['pyarrow']}, numpy {info['numpy']}"
    )


def say(message: str) -> None:
    """Progress on stderr, so the tables on stdout stay clean."""
    print(message, file=sys.stderr, flush=True)
