"""The ``clickkit`` command: demo, fetch, plan, sync, quota, jobs, doctor and the sandbox.

Every subcommand is a thin shell over the library. Errors print one line to stderr and
exit non-zero, without a traceback.

Examples
--------
``clickkit demo`` runs the whole pipeline against the embedded sandbox;
``clickkit fetch 2026-10-01 2026-10-07 -o clicks.parquet`` uses real credentials from
``IMPACT_ACCOUNT_SID`` / ``IMPACT_AUTH_TOKEN`` (or ``--sandbox``);
``clickkit sync --since 2026-09-01`` keeps a cache complete when run daily from cron.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickkit import __version__
from clickkit.errors import ClickkitError, ConfigurationError, InvalidRequestError

if TYPE_CHECKING:
    import pandas as pd

    from clickkit.client import Client

DEMO_DAYS = 14
DEMO_EXPORT_LIMIT = 20


def _client(args: argparse.Namespace) -> Client:
    from clickkit.client import Client

    common: dict[str, Any] = {"progress": not args.no_progress}
    if args.timezone:
        common["timezone"] = args.timezone
    if getattr(args, "sandbox", False):
        return Client.sandbox(cache_dir=args.cache_dir, seed=args.seed, **common)
    if not (os.environ.get("IMPACT_ACCOUNT_SID") and os.environ.get("IMPACT_AUTH_TOKEN")):
        raise ConfigurationError(
            "no impact.com credentials: set IMPACT_ACCOUNT_SID and IMPACT_AUTH_TOKEN, or add "
            "--sandbox to use the embedded sandbox."
        )
    return Client.from_env(cache_dir=args.cache_dir, **common)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "program_id": args.program_id or None,
        "ad_id": args.ad_id or None,
        "sub_id": args.sub_id or None,
        "unique": True if args.unique else None,
        "scope": args.scope,
    }


def summarize(df: pd.DataFrame) -> str:
    """A short text summary of a clicks frame: per day, unique share, top values."""
    if df.empty:
        return "no clicks in this range"
    days = df["event_date"].dt.date
    per_day = df.groupby(days).size()
    unique = df.groupby(days)["unique_click"].mean()
    lines = ["clicks per day (unique share):"]
    for day, count in per_day.items():
        lines.append(f"  {day}  {count:>8,}  ({unique[day]:.0%} unique)")
    lines.append(f"  total     {len(df):>8,}  ({df['unique_click'].mean():.0%} unique)")
    for column, title in (("customer_country", "top countries"), ("sub_id1", "top sub ids")):
        top = df[column].value_counts().head(5)
        lines.append(f"{title}: " + ", ".join(f"{k} {v:,}" for k, v in top.items()))
    return "\n".join(lines)


def _calls_line(calls: dict[str, int]) -> str:
    if not calls:
        return "API calls spent: none (everything came from the cache)"
    return "API calls spent: " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the last complete days from the embedded sandbox and summarise them."""
    from clickkit.client import Client
    from clickkit.plan import is_final

    client = Client.sandbox(
        cache_dir=args.cache_dir,
        seed=args.seed,
        daily_export_limit=DEMO_EXPORT_LIMIT,
        progress=not args.no_progress,
        poll_interval=0.2,
    )
    with client:
        end = client.today()
        while not is_final(
            end, client.now(), client.settings.timezone, client.settings.settle_delay
        ):
            end -= dt.timedelta(days=1)
        start = end - dt.timedelta(days=args.days - 1)
        print(f"clickkit demo: sandbox at {client.settings.base_url}, cache {client.cache.root}")
        print(f"loading {start} to {end} ({args.days} complete days)")
        print(client.plan(start, end))
        df = client.clicks(start, end)
        print()
        print(summarize(df))
        print(_calls_line(df.attrs["clickkit"]["api_calls"]))
        print(client.quota())
        print(
            f"(the demo sandbox allows {DEMO_EXPORT_LIMIT} exports a day; impact.com allows "
            "10, and clickkit plans within whatever the account has)"
        )
        if args.charts:
            from clickkit.charts import write_charts

            paths = write_charts(df, Path(args.charts))
            print(f"charts written to {Path(args.charts).resolve()}:")
            for path in paths:
                print(f"  {path.name}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch a range to a Parquet or CSV file."""
    out = Path(args.output)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidRequestError(f"-o {out}: the file must end in .parquet or .csv.")
    with _client(args) as client:
        df = client.clicks(
            args.start, args.end, fetch="fits" if args.fits else "all", **_filters(args)
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            df.attrs = {}  # provenance stays in the cache; Parquet metadata keeps it simple
            df.to_parquet(out, index=False)
        else:
            df.to_csv(out, index=False)
        print(f"{len(df):,} clicks written to {out}")
        print(_calls_line(df.attrs.get("clickkit", {}).get("api_calls", {})) if df.attrs else "")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Show what fetching a range would do and cost."""
    with _client(args) as client:
        print(
            client.plan(
                args.start, args.end, fetch="fits" if args.fits else "all", **_filters(args)
            )
        )
    return 0


def cmd_quota(args: argparse.Namespace) -> int:
    """Show the ClickExport quota."""
    with _client(args) as client:
        print(client.quota())
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    """List known jobs."""
    with _client(args) as client:
        frame = client.jobs(check=args.check)
        print(frame.to_string(index=False) if len(frame) else "no jobs in the cache")
    return 0


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def cmd_sync(args: argparse.Namespace) -> int:
    """One idempotent backfill run, for cron: spend what fits, print one line (or JSON)."""
    from clickkit.backfill import sync

    if not sys.stderr.isatty():
        args.no_progress = True  # no progress bars in cron mail or logs
    with _client(args) as client:
        report = sync(client, args.since, args.until, reserve=args.reserve, **_filters(args))
    print(json.dumps(report.to_dict()) if args.json else report)
    return 0


def _ask(message: str) -> bool:
    """Ask on stdin (the question goes to stderr so ``--json`` output stays clean)."""
    print(message, file=sys.stderr)
    print("Spend it? [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check what the account really does; with --spend-one, inspect one real export."""
    from clickkit.client import Client

    if args.profile and not args.sandbox:
        raise InvalidRequestError("--profile applies to the embedded sandbox: add --sandbox.")
    if args.sandbox:
        # The sandbox keeps its own (or the profile's) zone; --timezone is the setting checked.
        try:
            client = Client.sandbox(
                cache_dir=args.cache_dir,
                seed=args.seed,
                profile=args.profile,
                progress=False,
                poll_interval=0.2,
            )
        except ValueError as exc:  # an unknown profile name
            raise InvalidRequestError(f"--profile: {exc}.") from None
    else:
        client = _client(args)
    with client:
        report = client.doctor(
            spend_one=args.spend_one,
            confirm=None if args.yes else _ask,
            timezone=args.timezone or client.settings.timezone,
        )
    print(report.to_json() if args.json else report)
    path = report.write(args.report)
    print(f"redacted report written to {path}", file=sys.stderr if args.json else sys.stdout)
    return 0 if report.ok else 1


def _add_common(parser: argparse.ArgumentParser, *, sandbox: bool = True) -> None:
    parser.add_argument("--cache-dir", help="cache directory (default: the user cache dir)")
    parser.add_argument("--timezone", help="the account's IANA time zone")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    if sandbox:
        parser.add_argument(
            "--sandbox", action="store_true", help="use the embedded sandbox, not impact.com"
        )
    parser.add_argument("--seed", type=int, default=0, help="sandbox data seed")


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("start", help="first day, YYYY-MM-DD")
    parser.add_argument("end", nargs="?", help="last day, YYYY-MM-DD (default: start)")
    parser.add_argument("--program-id", type=int, action="append", help="repeatable")
    parser.add_argument("--ad-id", type=int, action="append", help="repeatable")
    parser.add_argument("--sub-id", action="append", help="repeatable")
    parser.add_argument("--unique", action="store_true", help="unique clicks only")
    parser.add_argument("--scope", choices=["day", "exact"], default="day")
    parser.add_argument("--fits", action="store_true", help="fetch what the quota allows")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``clickkit`` command."""
    parser = argparse.ArgumentParser(
        prog="clickkit", description="impact.com click exports as typed DataFrames."
    )
    parser.add_argument("--version", action="version", version=f"clickkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="load the last complete days from the embedded sandbox")
    _add_common(demo, sandbox=False)
    demo.add_argument("--days", type=int, default=DEMO_DAYS, help="how many days (default 14)")
    demo.add_argument(
        "--charts", default="clickkit-demo-charts", help="folder for PNG charts ('' for none)"
    )
    demo.set_defaults(func=cmd_demo)

    fetch = sub.add_parser("fetch", help="fetch a range to a .parquet or .csv file")
    _add_range(fetch)
    fetch.add_argument("-o", "--output", required=True, help="output .parquet or .csv")
    _add_common(fetch)
    fetch.set_defaults(func=cmd_fetch)

    plan = sub.add_parser("plan", help="what fetching a range would do and cost")
    _add_range(plan)
    _add_common(plan)
    plan.set_defaults(func=cmd_plan)

    sync = sub.add_parser(
        "sync",
        help="for cron: export the newest missing complete days that fit, replay the "
        "provisional days that became final",
    )
    sync.add_argument("--since", type=_day, required=True, metavar="DATE", help="first day")
    sync.add_argument(
        "--until", type=_day, metavar="DATE", help="last day (default: the last final day)"
    )
    sync.add_argument(
        "--reserve",
        type=int,
        metavar="N",
        help="exports of the day left for interactive use (default CLICKKIT_RESERVE or 0)",
    )
    sync.add_argument("--json", action="store_true", help="print the report as one JSON object")
    sync.add_argument("--program-id", type=int, action="append", help="repeatable")
    sync.add_argument("--ad-id", type=int, action="append", help="repeatable")
    sync.add_argument("--sub-id", action="append", help="repeatable")
    sync.add_argument("--unique", action="store_true", help="unique clicks only")
    sync.add_argument("--scope", choices=["day", "exact"], default="day")
    _add_common(sync)
    sync.set_defaults(func=cmd_sync)

    quota = sub.add_parser("quota", help="ClickExport calls used and left today")
    _add_common(quota)
    quota.set_defaults(func=cmd_quota)

    jobs = sub.add_parser("jobs", help="known jobs and their states")
    _add_common(jobs)
    jobs.add_argument("--check", action="store_true", help="ask the API about unfinished jobs")
    jobs.set_defaults(func=cmd_jobs)

    doctor = sub.add_parser(
        "doctor", help="what this impact.com account really does (spends nothing by default)"
    )
    _add_common(doctor)
    doctor.add_argument(
        "--spend-one",
        type=_day,
        metavar="DATE",
        help="export this one day (spends 1 of the 10 daily ClickExport calls) and inspect it",
    )
    doctor.add_argument("--yes", action="store_true", help="do not ask before spending")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument(
        "--report",
        default="clickkit-doctor.json",
        metavar="FILE",
        help="where the redacted JSON report goes (default clickkit-doctor.json)",
    )
    doctor.add_argument(
        "--profile", help="sandbox profile with --sandbox (documented, pessimistic)"
    )
    doctor.set_defaults(func=cmd_doctor)

    sandbox = sub.add_parser(
        "sandbox", help="the local impact.com sandbox (see 'sandbox serve -h')"
    )
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    print(f"clickkit: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from clickkit.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ClickkitError as exc:
        print(f"clickkit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "clickkit: interrupted; submitted jobs are kept and resume on the next call.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
