"""The ``clickkit`` command: demo, fetch, plan, sync, quota, jobs, doctor and the sandbox.

Every subcommand is a thin shell over the library. Errors print one line to stderr and
exit non-zero, without a traceback.

Examples
--------
``clickkit demo`` runs the whole pipeline against the embedded sandbox;
``clickkit fetch 2026-10-01 2026-10-07 -o clicks.parquet`` uses real credentials from
``IMPACT_ACCOUNT_SID`` / ``IMPACT_AUTH_TOKEN`` (or ``--sandbox``);
``clickkit sync --since 2026-09-01`` keeps a cache complete when run daily from cron.

With ``--sandbox`` every command talks to the same sandbox account, remembered beside
the cache it serves (``<cache_dir>/sandbox-state.json``): ``clickkit fetch ... --sandbox``
then ``clickkit jobs --check --sandbox`` checks the jobs the fetch started, and
``clickkit sandbox advance HOURS`` moves that account's clock (a day closing, the quota
resetting) without waiting.
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

from clickkit._version import __version__
from clickkit.errors import ClickkitError, ConfigurationError, InvalidRequestError, QuotaExhausted

if TYPE_CHECKING:
    import pandas as pd

    from clickkit.client import Client

#: Days ``clickkit demo`` loads: what one day of impact.com's quota (10 exports) covers.
DEMO_DAYS = 7
#: The longer range the demo plans (spending nothing) to show what it would take.
DEMO_PLAN_DAYS = 30

#: Library terms and their command-line spelling, for messages shown by the command.
_CLI_TERMS = (
    ("fetch='fits'", "--fits"),
    ('fetch="fits"', "--fits"),
    ("include_today=True", "--include-today"),
    ("scope='exact'", "--scope exact"),
    ('scope="exact"', "--scope exact"),
)


def cli_terms(message: str) -> str:
    """``message`` with the library's argument names spelled as this command's options.

    Examples
    --------
    >>> cli_terms("not fetched for lack of quota (fetch='fits'): 2026-11-01")
    'not fetched for lack of quota (--fits): 2026-11-01'
    """
    for library, option in _CLI_TERMS:
        message = message.replace(library, option)
    return message


def _sandbox_options(args: argparse.Namespace) -> dict[str, Any]:
    """Sandbox options given on the command line (a remembered sandbox keeps the rest)."""
    options: dict[str, Any] = {}
    if getattr(args, "seed", None) is not None:
        options["seed"] = args.seed
    if getattr(args, "timezone", None):
        options["timezone"] = args.timezone
    return options


def _client(args: argparse.Namespace) -> Client:
    from clickkit.client import Client

    common: dict[str, Any] = {"progress": not args.no_progress}
    if getattr(args, "sandbox", False):
        # One sandbox account for every command on this cache: jobs, quota and clock.
        return Client.sandbox(
            cache_dir=args.cache_dir, persist=True, **common, **_sandbox_options(args)
        )
    if args.timezone:
        common["timezone"] = args.timezone
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
    """Load what one day's quota covers from the embedded sandbox; plan a longer range."""
    from clickkit.backfill import last_final_day
    from clickkit.client import Client
    from clickkit.plan import describe_when

    if args.days < 1:
        raise InvalidRequestError(f"--days {args.days}: give at least 1 day.")
    client = Client.sandbox(
        cache_dir=args.cache_dir,
        persist=True,
        progress=not args.no_progress,
        poll_interval=0.2,
        **_sandbox_options(args),
    )
    with client:
        limit = client.settings.daily_export_limit
        end = last_final_day(client)
        start = end - dt.timedelta(days=args.days - 1)
        print(
            f"clickkit demo: the embedded sandbox, a local copy of impact.com with its rules "
            f"({limit} ClickExport calls a day, one day per export); cache {client.cache.root}"
        )
        print(f"loading the last {args.days} complete days, {start} to {end}:")
        print(client.plan(start, end, fetch="fits"))
        df = client.clicks(start, end, fetch="fits")
        info = df.attrs["clickkit"]
        print()
        print(summarize(df))
        print(_calls_line(info["api_calls"]))
        if info["deferred"]:
            print(
                f"left for after the quota reset: {len(info['deferred'])} day(s), "
                f"{info['deferred'][0]} to {info['deferred'][-1]}"
            )
        print(client.quota())

        # A longer range, planned (free): how many quota days, and when it is complete.
        first = end - dt.timedelta(days=DEMO_PLAN_DAYS - 1)
        longer = client.plan(first, end)
        print()
        print(f"the last {DEMO_PLAN_DAYS} complete days, {first} to {end} (a plan; nothing spent):")
        if longer.finishes_at is None:
            print(f"  {longer.exports} exports, {longer.quota.remaining} left today: it fits now")
        else:
            print(
                f"  {longer.exports_needed} exports: {longer.quota.remaining} left today, then "
                f"{limit} a day -> {longer.quota_days} quota days, all loaded by "
                f"{describe_when(longer.finishes_at)}"
            )
        where = f" --cache-dir {args.cache_dir}" if args.cache_dir else ""
        print(
            f"  'clickkit sync --since {first} --sandbox{where}' once a day loads it within "
            "the quota (client.backfill() in Python)"
        )
        if args.charts:
            from clickkit.charts import write_charts

            paths = write_charts(df, Path(args.charts))
            print(f"charts written to {Path(args.charts).resolve()}:")
            for path in paths:
                print(f"  {path.name}")
    return 0


def _provenance_json(info: dict[str, Any]) -> str:
    return json.dumps(info, sort_keys=True, default=str)


def write_frame(df: pd.DataFrame, out: Path) -> list[Path]:
    """Write ``df`` to ``out`` (.parquet or .csv) with its provenance; return the files.

    Parquet keeps ``df.attrs["clickkit"]`` as JSON under the key-value metadata key
    ``b"clickkit"``; a CSV file gets it beside it, in ``<file>.provenance.json``. Every
    file is written to a temporary name and renamed, so no half-written file is left.

    Examples
    --------
    >>> import pyarrow.parquet as pq  # doctest: +SKIP
    >>> json.loads(pq.read_schema("clicks.parquet").metadata[b"clickkit"])  # doctest: +SKIP
    """
    from clickkit.files import atomic_write

    info = df.attrs.get("clickkit") or {}
    if out.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        metadata = dict(table.schema.metadata or {})
        metadata[b"clickkit"] = _provenance_json(info).encode()
        table = table.replace_schema_metadata(metadata)
        atomic_write(out, lambda tmp: pq.write_table(table, tmp))
        return [out]
    sidecar = out.with_name(out.name + ".provenance.json")
    atomic_write(out, lambda tmp: df.to_csv(tmp, index=False))
    atomic_write(sidecar, lambda tmp: Path(tmp).write_text(_provenance_json(info) + "\n"))
    return [out, sidecar]


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch a range to a Parquet or CSV file, with its provenance."""
    out = Path(args.output)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidRequestError(f"-o {out}: the file must end in .parquet or .csv.")
    if args.timeout is not None and args.timeout < 0:
        raise InvalidRequestError(f"--timeout {args.timeout:g}: give 0 seconds or more.")
    with _client(args) as client:
        df = client.clicks(
            args.start,
            args.end,
            fetch="fits" if args.fits else "all",
            include_today=args.include_today,
            timeout=args.timeout,
            **_filters(args),
        )
        info = df.attrs.get("clickkit") or {}
        files = write_frame(df, out)
        print(f"{len(df):,} clicks written to {out}")
        if len(files) > 1:
            print(f"provenance written to {files[1]}")
        print(_calls_line(info.get("api_calls") or {}))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Show what fetching a range would do and cost."""
    with _client(args) as client:
        plan = client.plan(
            args.start,
            args.end,
            fetch="fits" if args.fits else "all",
            include_today=args.include_today,
            **_filters(args),
        )
        # Runs of days with the same action are one line each, however long the range.
        print(cli_terms(str(plan)))
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
        seed = {} if args.seed is None else {"seed": args.seed}
        try:
            if args.profile:
                # A profile is a different account: a fresh one, not the remembered sandbox.
                client = Client.sandbox(
                    cache_dir=args.cache_dir, profile=args.profile, progress=False,
                    poll_interval=0.2, **seed,
                )  # fmt: skip
            else:
                client = Client.sandbox(
                    cache_dir=args.cache_dir, persist=True, progress=False, poll_interval=0.2,
                    **seed,
                )  # fmt: skip
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
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="sandbox data seed (default 0; a remembered sandbox keeps its own)",
    )


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("start", help="first day, YYYY-MM-DD")
    parser.add_argument("end", nargs="?", help="last day, YYYY-MM-DD (default: start)")
    parser.add_argument("--program-id", type=int, action="append", help="repeatable")
    parser.add_argument("--ad-id", type=int, action="append", help="repeatable")
    parser.add_argument("--sub-id", action="append", help="repeatable")
    parser.add_argument("--unique", action="store_true", help="unique clicks only")
    parser.add_argument("--scope", choices=["day", "exact"], default="day")
    parser.add_argument("--fits", action="store_true", help="fetch what the quota allows")
    parser.add_argument(
        "--include-today",
        action="store_true",
        help="with --fits, also export days that are not final yet (they are replayed later)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``clickkit`` command."""
    parser = argparse.ArgumentParser(
        prog="clickkit", description="impact.com click exports as typed DataFrames."
    )
    parser.add_argument("--version", action="version", version=f"clickkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="load what one day's quota covers from the embedded sandbox, plan more"
    )
    _add_common(demo, sandbox=False)
    demo.add_argument(
        "--days", type=int, default=DEMO_DAYS, help=f"how many days (default {DEMO_DAYS})"
    )
    demo.add_argument(
        "--charts", default="clickkit-demo-charts", help="folder for PNG charts ('' for none)"
    )
    demo.set_defaults(func=cmd_demo)

    fetch = sub.add_parser("fetch", help="fetch a range to a .parquet or .csv file")
    _add_range(fetch)
    fetch.add_argument("-o", "--output", required=True, help="output .parquet or .csv")
    fetch.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop waiting for jobs after this long (they are kept; the next call resumes)",
    )
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
        "sandbox",
        help="the local impact.com sandbox: 'sandbox serve' runs one, 'sandbox advance HOURS' "
        "moves the clock of the one --sandbox commands share",
    )
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    print(f"clickkit: warning: {cli_terms(str(message))}", file=sys.stderr)


def quota_message(exc: QuotaExhausted, options: str = "") -> str:
    """A :class:`~clickkit.QuotaExhausted` told in the command line's terms (one line).

    ``options`` (such as ``" --sandbox"``) are repeated in the command it suggests.
    """
    plan = exc.plan
    when = ""
    if exc.resets_at is not None:
        when = f" (the quota resets at {exc.resets_at.isoformat(timespec='minutes')})"
    text = (
        f"this range needs {exc.needed} new ClickExport calls but only {exc.remaining} are "
        f"left today{when}. Nothing was spent. Add --fits to load the most recent days that "
        "fit now and the rest later, or ask for a shorter range"
    )
    if plan is not None and plan.finishes_at is not None:
        from clickkit.plan import describe_when

        text += (
            f"; the whole range takes {plan.quota_days} quota days (all loaded by "
            f"{describe_when(plan.finishes_at)}): run 'clickkit sync --since {plan.start} "
            f"--until {plan.end}{options}' once a day to fill it"
        )
    return text + "."


def _advance(argv: list[str]) -> int:
    """``clickkit sandbox advance HOURS``: move the remembered sandbox's clock forward."""
    from clickkit.client import sandbox_cache_dir
    from clickkit.sandbox.generator import DEFAULT_ACCOUNT_SID
    from clickkit.sandbox.state import STATE_FILE, advance_state

    parser = argparse.ArgumentParser(
        prog="clickkit sandbox advance",
        description="Move the clock of the sandbox that --sandbox commands share on a cache "
        "forward (a day closing, the quota resetting) without waiting.",
    )
    parser.add_argument("hours", type=float, help="hours to move forward")
    parser.add_argument("--cache-dir", help="the cache the sandbox serves (as for --sandbox)")
    args = parser.parse_args(argv)
    if args.hours < 0:
        raise InvalidRequestError(f"{args.hours:g} hours: the sandbox clock only moves forward.")
    path = sandbox_cache_dir(args.cache_dir, DEFAULT_ACCOUNT_SID) / STATE_FILE
    try:
        now = advance_state(path, dt.timedelta(hours=args.hours))
    except FileNotFoundError:
        raise InvalidRequestError(
            f"no sandbox is remembered in {path.parent}: run a 'clickkit ... --sandbox' "
            "command (or 'clickkit demo') on that cache first."
        ) from None
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    print(f"sandbox clock is now {now.isoformat(timespec='minutes')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"] and argv[1:2] != ["advance"]:
        from clickkit.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    warnings.showwarning = _show_warning
    args = None
    try:
        if argv[:2] == ["sandbox", "advance"]:
            return _advance(argv[2:])
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        return int(args.func(args) or 0)
    except QuotaExhausted as exc:
        options = " --sandbox" if getattr(args, "sandbox", False) else ""
        if getattr(args, "cache_dir", None):
            options += f" --cache-dir {args.cache_dir}"
        print(f"clickkit: error: {quota_message(exc, options)}", file=sys.stderr)
        return 1
    except ClickkitError as exc:
        print(f"clickkit: error: {cli_terms(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "clickkit: interrupted; submitted jobs are kept and resume on the next call.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
