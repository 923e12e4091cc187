"""``clickkit sandbox serve``: run the sandbox as a standalone server.

Examples
--------
Print one JSON line with the base URL and credentials, then serve until Ctrl+C/SIGTERM::

    python -m clickkit.sandbox serve --json --port 0
    clickkit sandbox serve --seed 7 --job-seconds 5 --error-rate Download=0.2
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime, timedelta
from typing import Any

from clickkit.sandbox.faults import ENDPOINTS
from clickkit.sandbox.jobs import OUTCOMES
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
    add("--seed", type=int, default=0, help="data and fault seed")
    add("--account-sid", default=None, help="account SID (default IRsandbox0001)")
    add("--auth-token", default=None, help="auth token (default: random)")
    add("--clicks-per-day", type=int, default=2000, help="base daily click volume")
    add("--timezone", default="UTC", help="account time zone (IANA name)")
    add("--quota-timezone", default="UTC", help="zone whose midnight resets the quota")
    add("--job-seconds", type=float, default=1.0, help="sandbox seconds a job takes")
    add("--daily-export-limit", type=int, default=10, help="ClickExport calls per day")
    add("--hourly-limit", type=int, default=1000, help="API calls per hour")
    add("--retention-days", type=float, default=90.0, help="result retention (0 = forever)")
    add("--settle-hours", type=float, default=2.0, help="maximum click arrival lag")
    add("--now", type=_aware, default=None, help="start of the sandbox clock (ISO-8601)")
    add("--frozen", action="store_true", help="the clock does not flow in real time")
    add("--string-fields", action="store_true", help="Job numbers/booleans as strings")
    add("--csv-true", default="true", help="CSV spelling of true")
    add("--csv-false", default="false", help="CSV spelling of false")
    add("--json-flat", action="store_true", help="SubId1..3 flat in JSON/XML results")
    add("--replays-count", action="store_true", help="Replay spends ClickExport quota")
    add("--postback-url", default=None, help="Job Completion postback URL template")
    add(
        "--outcome",
        type=_outcome_list,
        action="append",
        default=[],
        metavar="DATE=OUTCOME,...",
        help="outcomes of successive runs of DATE's jobs",
    )
    for flag, helptext in (
        ("--error-rate", "share of calls answered 5xx"),
        ("--drop-rate", "share of calls whose connection is dropped"),
        ("--stall", "seconds to sleep before answering"),
    ):
        add(
            flag,
            type=_endpoint_share,
            action="append",
            default=[],
            metavar="ENDPOINT=VALUE",
            help=f"{helptext} (repeatable)",
        )
    add("--truncate-downloads", type=float, default=0.0, help="share of truncated downloads")
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
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "storage_port": args.storage_port,
        "seed": args.seed,
        "clicks_per_day": args.clicks_per_day,
        "timezone": args.timezone,
        "quota_timezone": args.quota_timezone,
        "job_duration": timedelta(seconds=args.job_seconds),
        "daily_export_limit": args.daily_export_limit,
        "hourly_limit": args.hourly_limit,
        "retention": timedelta(days=args.retention_days) if args.retention_days else None,
        "settle_delay": timedelta(hours=args.settle_hours),
        "now": args.now,
        "frozen": args.frozen,
        "string_fields": args.string_fields,
        "csv_true": args.csv_true,
        "csv_false": args.csv_false,
        "json_flat": args.json_flat,
        "replays_count": args.replays_count,
        "postback_url": args.postback_url,
        "auth_token": args.auth_token,
        "outcomes": dict(args.outcome),
        "faults": {
            "error_rate": dict(args.error_rate),
            "drop_rate": dict(args.drop_rate),
            "stall": dict(args.stall),
            "truncate_downloads": args.truncate_downloads,
            "expire_signed_urls": args.expire_signed_urls,
            "hourly_429": args.hourly_429,
            "postback_mode": args.postback_mode,
        },
    }
    if args.account_sid:
        options["account_sid"] = args.account_sid
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
