"""Run the economy and speed benchmarks side by side and print their tables and targets.

Usage (from the repository root, after ``pip install -e .``)::

    python benchmarks/run.py --quick    # a few minutes: economy + speed at small sizes
    python benchmarks/run.py            # the default sizes (1-90 days x 10k, 100k rows)
    python benchmarks/run.py --full     # adds 1M rows a day (needs RAM; see --max-rows)

Everything runs against local sandboxes on loopback; nothing touches the internet.
Progress goes to stderr, the tables to stdout; ``--json FILE`` keeps the raw figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, economy, speed


def jsonable(value: Any) -> Any:
    """Results as plain JSON values (samples keep their times, median and spread)."""
    if isinstance(value, common.Sample):
        return {"median": value.median, "spread": value.spread, "times": list(value.times)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print the tables, then one table of every target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    size.add_argument("--full", action="store_true", help="add 1M rows a day")
    parser.add_argument("--only", choices=("economy", "speed"), help="run one part only")
    parser.add_argument("--data", type=Path, help="keep generated data here and reuse it")
    parser.add_argument(
        "--max-rows", type=int, help="skip speed cells above this many rows (default 10M)"
    )
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"

    info = common.machine()
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": info, "mode": mode}
    targets: list[tuple[str, str, str, bool | None]] = []
    sections: list[str] = []
    if args.only in (None, "economy"):
        results["economy"] = economy.run(mode)
        sections += ["API ECONOMY", economy.report(results["economy"])]
        targets += economy.summary(results["economy"])
    if args.only in (None, "speed"):
        results["speed"] = speed.run(mode, data=args.data, max_rows=args.max_rows)
        sections += ["SPEED AND MEMORY", speed.report(results["speed"])]
        targets += speed.summary(results["speed"])
    elapsed = time.perf_counter() - began

    print(f"clickkit benchmarks ({mode}), {common.machine_line(info)}")
    print()
    print("\n\n".join(sections))
    print()
    rows = [(t, m, g, "-" if ok is None else "met" if ok else "MISSED") for t, m, g, ok in targets]
    print(common.table(["target", "measured", "goal", ""], rows, title="TARGETS"))
    print()
    print(f"finished in {elapsed / 60:.1f} min")
    if args.json:
        results["elapsed_s"] = elapsed
        args.json.write_text(json.dumps(jsonable(results), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
