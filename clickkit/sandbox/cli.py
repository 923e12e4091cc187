"""``clickkit sandbox serve``: run the sandbox as a standalone server.

Examples
--------
Print one JSON line with the base URL and credentials, then serve until Ctrl+C/SIGTERM::

    python -m clickkit.sandbox serve --json --port 0
    clickkit sandbox serve --seed 7 --job-seconds 5 --error-rate Download=0.2
    clickkit sandbox serve --profile pessimistic --page-size 500

Options left out take the profile's value (``--profile``), else the sandbox default.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime, timedelta
from typing import Any

from clickkit.sandbox.engine import FAILED_DOWNLOADS, RATE_LIMIT_BODIES
from clickkit.sandbox.faults import ENDPOINTS
from clickkit.sandbox.formats import EVENT_DATE_STYLES, MONEY_STYLES
from clickkit.sandbox.jobs import OUTCOMES
from clickkit.sandbox.profiles import PROFILES
from clickkit.sandbox.server import Sandbox

__all__ = ["build_parser", "main"]


def _endpoint_share(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or (name not in ENDPOINTS and name != "*"):
        raise argparse.ArgumentTypeError(
            f"expected ENDPOINT=VALUE with ENDPOINT one of {', '.join(ENDPOINTS)} or '*'"
        )
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None


def _outcome_list(text: str) -> tuple[str, list[str]]:
    day, sep, values = text.partition("=")
    outcomes = [v.strip().upper() for v in values.split(",") if v.strip()]
    if not sep or any(o not in OUTCOMES for o in outcomes):
        raise argparse.ArgumentTypeError(
            f"expected YYYY-MM-DD=OUTCOME[,OUTCOME...] with outcomes from {', '.join(OUTCOMES)}"
        )
    return day, outcomes


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


_LINE_ENDINGS = {"crlf": "\r\n", "lf": "\n"}


def _aware(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date-time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs an offset, e.g. 2026-11-27T09:00:00+00:00")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``clickkit sandbox``."""
    parser = argparse.ArgumentParser(
        prog="clickkit sandbox", description="A local impact.com Partner API sandbox."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sandbox until interrupted")
    add = serve.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    add("--port", type=int, default=0, help="API port (0 = a free port)")
    add("--storage-port", type=int, default=0, help="signed-URL storage port (0 = free)")
    add("--json", action="store_true", help="print one JSON line with URL and credentials")
    add("--now", type=_aware, default=None, help="start of the sandbox clock (ISO-8601)")
    add("--frozen", action="store_true", help="the clock does not flow in real time")
    add("--profile", choices=tuple(PROFILES), default=None, help="a named set of the options")
    # Every option below defaults to None: "not given", so the profile or default applies.
    add("--seed", type=int, default=None, help="data and fault seed (default 0)")
    add("--account-sid", default=None, help="account SID (default IRsandbox0001)")
    add("--auth-token", default=None, help="auth token (default: random)")
    add("--clicks-per-day", type=int, default=None, help="base daily click volume (2000)")
    add("--timezone", default=None, help="account time zone, IANA name (UTC)")
    add("--quota-timezone", default=None, help="zone whose midnight resets the quota (UTC)")
    add("--job-seconds", type=float, default=None, help="sandbox seconds a job takes (1)")
    add("--daily-export-limit", type=int, default=None, help="ClickExport calls per day (10)")
    add("--hourly-limit", type=int, default=None, help="API calls per hour (1000)")
    add("--retention-days", type=float, default=None, help="result retention, 0 = forever (90)")
    add("--settle-hours", type=float, default=None, help="maximum click arrival lag (2)")
    flag = argparse.BooleanOptionalAction
    add("--string-fields", action=flag, default=None, help="Job numbers/booleans as strings")
    add("--csv-true", default=None, help="CSV spelling of true (true)")
    add("--csv-false", default=None, help="CSV spelling of false (false)")
    add("--csv-bom", action=flag, default=None, help="CSV results start with a BOM")
    add("--json-flat", action=flag, default=None, help="SubId1..3 flat in JSON/XML results")
    add("--duplicates-count", action=flag, default=None, help="a repeat spends quota")
    add("--replays-count", action=flag, default=None, help="Replay spends ClickExport quota")
    add(
        "--failed-exports-count",
        action=flag,
        default=None,
        help="every authenticated ClickExport spends quota, whatever its answer",
    )
    add("--replay-lag", type=float, default=None, help="seconds a Replay waits to queue (1)")
    add(
        "--failed-download",
        choices=FAILED_DOWNLOADS,
        default=None,
        help="Download status for FAILED/CANCELLED jobs (202)",
    )
    add("--page-size", type=int, default=None, help="rows per JSON/XML page, 0 = no paging")
    add("--compress-storage", action=flag, default=None, help="gzip on the storage host")
    add("--event-date-style", choices=EVENT_DATE_STYLES, default=None, help="EventDate spelling")
    add("--money-style", choices=MONEY_STYLES, default=None, help="CpcBid/Payout spelling")
    add("--line-ending", choices=tuple(_LINE_ENDINGS), default=None, help="CSV line ends")
    add("--extra-columns", action=flag, default=None, help="add the brand-side columns")
    add(
        "--missing-columns",
        type=_names,
        default=None,
        metavar="NAME[,NAME...]",
        help="export fields left out of result files",
    )
    add(
        "--auth-before-rate-limit",
        action=flag,
        default=None,
        help="401/403 before the hourly limit (spending none of it)",
    )
    add("--rate-limit-body", choices=RATE_LIMIT_BODIES, default=None, help="body of 429s")
    add("--postback-url", default=None, help="Job Completion postback URL template")
    add(
        "--outcome",
        type=_outcome_list,
        action="append",
        default=[],
        metavar="DATE=OUTCOME,...",
        help="outcomes of successive runs of DATE's jobs",
    )
    for name, helptext in (
        ("--error-rate", "share of calls answered 5xx"),
        ("--drop-rate", "share of calls whose connection is dropped"),
        ("--stall", "seconds to sleep before answering"),
    ):
        add(
            name,
            type=_endpoint_share,
            action="append",
            default=[],
            metavar="ENDPOINT=VALUE",
            help=f"{helptext} (repeatable)",
        )
    add("--truncate-downloads", type=float, default=0.0, help="share of truncated downloads")
    add("--empty-downloads", type=float, default=0.0, help="share of empty 200 downloads")
    add("--short-downloads", type=float, default=0.0, help="share of downloads cut at a row")
    add(
        "--lose-export-answer",
        type=float,
        default=0.0,
        help="share of ClickExports whose answer is lost after the job was created",
    )
    add("--expire-signed-urls", action="store_true", help="hand out expired signed URLs")
    add("--hourly-429", action="store_true", help="refuse every call with 429")
    add(
        "--postback-mode",
        choices=("normal", "late", "twice", "never"),
        default="normal",
        help="postback delivery fault",
    )
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Sandbox`` keywords of parsed arguments (options not given are left out)."""
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "storage_port": args.storage_port,
        "now": args.now,
        "frozen": args.frozen,
        "profile": args.profile,
        "outcomes": dict(args.outcome),
        "faults": {
            "error_rate": dict(args.error_rate),
            "drop_rate": dict(args.drop_rate),
            "stall": dict(args.stall),
            "truncate_downloads": args.truncate_downloads,
            "empty_downloads": args.empty_downloads,
            "short_downloads": args.short_downloads,
            "lose_export_answer": args.lose_export_answer,
            "expire_signed_urls": args.expire_signed_urls,
            "hourly_429": args.hourly_429,
            "postback_mode": args.postback_mode,
        },
    }
    given = {
        "seed": args.seed,
        "account_sid": args.account_sid,
        "auth_token": args.auth_token,
        "clicks_per_day": args.clicks_per_day,
        "timezone": args.timezone,
        "quota_timezone": args.quota_timezone,
        "daily_export_limit": args.daily_export_limit,
        "hourly_limit": args.hourly_limit,
        "string_fields": args.string_fields,
        "csv_true": args.csv_true,
        "csv_false": args.csv_false,
        "csv_bom": args.csv_bom,
        "json_flat": args.json_flat,
        "duplicates_count": args.duplicates_count,
        "replays_count": args.replays_count,
        "failed_exports_count": args.failed_exports_count,
        "failed_download": args.failed_download,
        "compress_storage": args.compress_storage,
        "event_date_style": args.event_date_style,
        "money_style": args.money_style,
        "extra_columns": args.extra_columns,
        "missing_columns": args.missing_columns,
        "auth_before_rate_limit": args.auth_before_rate_limit,
        "rate_limit_body": args.rate_limit_body,
        "postback_url": args.postback_url,
    }
    options.update({name: value for name, value in given.items() if value is not None})
    if args.job_seconds is not None:
        options["job_duration"] = timedelta(seconds=args.job_seconds)
    if args.retention_days is not None:
        options["retention"] = timedelta(days=args.retention_days) if args.retention_days else None
    if args.settle_hours is not None:
        options["settle_delay"] = timedelta(hours=args.settle_hours)
    if args.replay_lag is not None:
        options["replay_lag"] = timedelta(seconds=args.replay_lag)
    if args.page_size is not None:
        options["page_size"] = args.page_size or None
    if args.line_ending is not None:
        options["line_ending"] = _LINE_ENDINGS[args.line_ending]
    return options


def main(argv: list[str] | None = None) -> int:
    """Run ``clickkit sandbox``; ``argv`` excludes the words ``clickkit sandbox``.

    Examples
    --------
    >>> main(["serve", "--json"])  # doctest: +SKIP
    {"base_url": "http://127.0.0.1:41234", "account_sid": "IRsandbox0001", "auth_token": "..."}
    """
    args = build_parser().parse_args(argv)
    try:
        sandbox = Sandbox(**_options(args))
    except (ValueError, OSError) as exc:
        print(f"clickkit sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    with sandbox:
        if args.json:
            line = {
                "base_url": sandbox.url,
                "account_sid": sandbox.account_sid,
                "auth_token": sandbox.auth_token,
            }
            print(json.dumps(line), flush=True)
        else:
            print(
                "clickkit sandbox is serving (Ctrl+C to stop)\n"
                f"  base URL:     {sandbox.url}\n"
                f"  account SID:  {sandbox.account_sid}\n"
                f"  auth token:   {sandbox.auth_token}\n"
                f"  storage host: {sandbox.storage_url}\n"
                f"  clock:        {sandbox.now().isoformat('T', 'seconds')}",
                flush=True,
            )
        while not stop.wait(0.5):
            pass
    return 0
