"""API economy: what an analyst's week of questions costs in impact.com API calls.

Two parts, both counted exactly by the sandbox (``Sandbox.stats()``), none timed:

- **workload**: a scripted notebook session (load the last 14 days, look at a week,
  filter to a program, to a sub id, restart the kernel and run it all again, next day
  load through yesterday, include today, ask again once today is final) run by
  clickkit with status polling, clickkit with a Job Completion postback receiver, and a
  naive client written the way the documentation reads: for every request and every
  day, ClickExport with the filters, poll ``Jobs/{id}`` every 5 s until COMPLETED,
  download, no cache (and, asked again for a day it fetched while the day was open, a
  Replay of the job ClickExport returns, as the guide says).
- **sweep**: polls per job against the job's duration (1 s to 10,000 s of sandbox time)
  for the naive 5 s interval, clickkit's default schedule (1 s growing by 1.6x, at
  most 30 s), the same schedule without the 30 s cap, and postbacks.

Waiting costs no real time: every sandbox runs on a frozen clock, and whatever would
sleep (the naive client, clickkit's :class:`~clickkit.jobs.Waiter`, the wait for a
postback) moves that clock instead, so the counts are those of a real run.

Usage::

    python benchmarks/economy.py            # workload and sweep up to 10,000 s
    python benchmarks/economy.py --quick    # sweep up to 1,000 s
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import math
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from benchmarks.common import NOW, SEED

#: Sandbox seconds a job takes in the workload (impact.com's take from seconds to minutes).
JOB_SECONDS = 60.0
#: The naive client's "every few seconds".
NAIVE_INTERVAL = 5.0
#: impact.com's ClickExport quota per account and day.
REAL_DAILY_LIMIT = 10
#: What the sandboxes and clients here allow instead, so the naive client can finish.
BENCH_DAILY_LIMIT = 10_000
CLICKS_PER_DAY = 1_000


# ---------------------------------------------------------------------------------------
# Waiting on a frozen sandbox clock


class SandboxTime:
    """``sleep`` and ``monotonic`` for a :class:`~clickkit.jobs.Waiter` on a sandbox clock."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of sandbox time pass (at once)."""
        if seconds > 0:
            self.sandbox.advance(seconds)

    def monotonic(self) -> float:
        """Sandbox time in seconds."""
        return self.sandbox.now().timestamp()


class SandboxWaker:
    """A real :class:`~clickkit.postback.PostbackReceiver` whose waits pass on the sandbox clock.

    The sandbox sends real postbacks over loopback HTTP to the receiver. Waiting up to
    ``timeout`` seconds moves the frozen clock to the next moment a job run ends (or by
    ``timeout`` when none ends sooner), then waits in real time until the sandbox has
    delivered every postback that is due, so the waiter sees what it would see live.
    """

    def __init__(self, receiver: Any, sandbox: Any, *, grace: float = 5.0) -> None:
        self.receiver = receiver
        self.sandbox = sandbox
        self.grace = grace

    def wait(self, timeout: float) -> bool:
        """Block for up to ``timeout`` sandbox seconds; True when a postback arrived."""
        self._delivered()
        if self.receiver.wait(0):
            return True
        now = self.sandbox.now()
        ends = [r["finishes_at"] for j in self.sandbox.jobs() for r in j["runs"]]
        upcoming = [end for end in ends if end > now]
        target = now + dt.timedelta(seconds=timeout)
        if upcoming:
            target = min(target, min(upcoming))
        self.sandbox.advance(max(target - now, dt.timedelta(0)))
        self._delivered()
        return self.receiver.wait(0)

    def seen(self, job_id: str) -> bool:
        """Whether a postback named ``job_id`` arrived (consumes it)."""
        return bool(self.receiver.seen(job_id))

    def _delivered(self) -> None:
        """Wait (real time) until every run that has ended has had its postback."""
        now = self.sandbox.now()
        ended = sum(1 for j in self.sandbox.jobs() for r in j["runs"] if r["finishes_at"] <= now)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            sent = sum(1 for p in self.sandbox.postbacks() if p["http_status"] == 200)
            if sent >= ended:
                return
            time.sleep(0.002)
        raise RuntimeError("the sandbox did not deliver a due postback within the grace time")


def inject_wait(client: Any, clock: SandboxTime) -> None:
    """Make a Client's job waits pass on the sandbox clock.

    Each :class:`~clickkit.jobs.Waiter` is built from ``client.loader.waiter_options``
    (the :class:`~clickkit.loader.Loader`'s documented waiter keywords), so the two
    functions are added there.
    """
    options = client.loader.waiter_options
    options.update(sleep=clock.sleep, monotonic=clock.monotonic)


# ---------------------------------------------------------------------------------------
# The clients


class NaiveClient:
    """The documentation, followed literally, with no memory between requests.

    For every day of a request: ``ClickExport`` with the filters, poll ``Jobs/{id}``
    every :data:`NAIVE_INTERVAL` seconds until COMPLETED, download (the 302 to the
    signed URL is followed by ``requests``, which drops the credentials for the other
    host). For a day it knows it fetched while the day was open, the job ClickExport
    returns is replayed first, as the guide's "Refresh report data" says.
    """

    name = "naive (docs)"

    def __init__(self, sandbox: Any) -> None:
        import requests

        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.auth = (sandbox.account_sid, sandbox.auth_token)
        self.session.headers["Accept"] = "application/json"
        self.session.trust_env = False
        self.base = f"{sandbox.url}/Mediapartners/{sandbox.account_sid}"

    def load(
        self,
        start: dt.date,
        end: dt.date,
        *,
        program_id: int | None = None,
        sub_id: str | None = None,
        refresh: Sequence[dt.date] = (),
    ) -> int:
        """Fetch every day of the range; return the number of clicks."""
        rows = 0
        day = start
        while day <= end:
            rows += self._day(day, program_id, sub_id, day in refresh)
            day += dt.timedelta(days=1)
        return rows

    def _day(self, day: dt.date, program_id: int | None, sub_id: str | None, refresh: bool) -> int:
        params = [("Date", day.isoformat()), ("ResultFormat", "CSV")]
        if program_id is not None:
            params.append(("ProgramId", str(program_id)))
        if sub_id is not None:
            params.append(("SubId", sub_id))
        answer = self._get("/ClickExport", params=params).json()
        job_uri = answer["QueuedUri"].split(f"/{self.sandbox.account_sid}", 1)[1]
        if refresh:
            self._call("PUT", f"{job_uri}/Replay")
        while True:
            self.sandbox.advance(NAIVE_INTERVAL)  # "every few seconds"
            status = self._get(job_uri).json()["Status"]
            if status == "COMPLETED":
                break
            if status in ("FAILED", "CANCELLED"):
                raise RuntimeError(f"job {job_uri} ended {status}")
        return _count_rows(self._get(f"{job_uri}/Download").content)

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self._call("GET", path, **kwargs)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base + path, timeout=60, **kwargs)
        response.raise_for_status()
        return response

    def restart(self) -> None:
        """A kernel restart: nothing to forget."""

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()


class ClickkitClient:
    """clickkit's ``Client.clicks`` on a cache folder, waiting on the sandbox clock."""

    def __init__(self, sandbox: Any, cache_dir: Path, waker: SandboxWaker | None = None) -> None:
        self.sandbox = sandbox
        self.cache_dir = cache_dir
        self.waker = waker
        self.name = "clickkit, postback" if waker else "clickkit, polling"
        self.client = self._new()

    def _new(self) -> Any:
        import clickkit as ck

        client = ck.Client(
            self.sandbox.account_sid,
            self.sandbox.auth_token,
            base_url=self.sandbox.url,
            cache_dir=self.cache_dir,
            timezone="UTC",
            daily_export_limit=BENCH_DAILY_LIMIT,
            clock=self.sandbox.now,
            progress=False,
            postback=self.waker,
        )
        inject_wait(client, SandboxTime(self.sandbox))
        return client

    def load(
        self,
        start: dt.date,
        end: dt.date,
        *,
        program_id: int | None = None,
        sub_id: str | None = None,
        refresh: Sequence[dt.date] = (),
    ) -> int:
        """``client.clicks`` for the range; clickkit decides refreshes itself."""
        return len(self.client.clicks(start, end, program_id=program_id, sub_id=sub_id))

    def restart(self) -> None:
        """A kernel restart: a new Client on the same cache folder."""
        self.client.close()
        self.client = self._new()

    def close(self) -> None:
        """Close the client."""
        self.client.close()


def _count_rows(data: bytes) -> int:
    from clickkit import schema

    return schema.parse_export(data, "CSV").num_rows


# ---------------------------------------------------------------------------------------
# The workload


@dataclass(frozen=True)
class Step:
    """One notebook cell: a range relative to the sandbox's today, on a given morning."""

    label: str
    morning: int  # 0 = Friday 2026-11-27 09:00 UTC, 1 = the next day...
    first: int  # days before today
    last: int  # days before today (0 = today)
    program: bool = False
    sub: bool = False
    restart: bool = False


STEPS: tuple[Step, ...] = (
    Step("last 14 days", 0, 14, 1),
    Step("7-day sub-range", 0, 7, 1),
    Step("filter: one program", 0, 14, 1, program=True),
    Step("filter: one sub id", 0, 14, 1, sub=True),
    Step("kernel restart, re-run: 14 days", 0, 14, 1, restart=True),
    Step("  re-run: 7-day sub-range", 0, 7, 1),
    Step("  re-run: one program", 0, 14, 1, program=True),
    Step("  re-run: one sub id", 0, 14, 1, sub=True),
    Step("next day: 14 days to yesterday", 1, 14, 1),
    Step("include today (provisional)", 1, 6, 0),
    Step("next day: same 7 days, now final", 2, 7, 1),
)


@dataclass
class StepResult:
    """API calls one client made for one step, from the sandbox's counters."""

    label: str
    quota_day: dt.date
    rows: int
    provisional: bool
    calls: Counter[str] = field(default_factory=Counter)
    waited: float = 0.0  # sandbox seconds


def _polls(calls: Counter[str]) -> int:
    """Status calls: ``Jobs/{id}``, ``Jobs`` lists and Download answers of 202."""
    return calls["Job"] + calls["JobList"] + calls["202"]


def _counters(sandbox: Any) -> Counter[str]:
    stats = sandbox.stats()
    counts: Counter[str] = Counter({k: int(v) for k, v in stats["requests"].items()})
    counts["202"] = int(stats["status"].get(202, 0) or stats["status"].get("202", 0))
    return counts


def _sandbox(**options: Any) -> Any:
    from clickkit.sandbox import Sandbox

    return Sandbox(
        now=NOW,
        frozen=True,
        seed=SEED,
        clicks_per_day=CLICKS_PER_DAY,
        daily_export_limit=BENCH_DAILY_LIMIT,
        hourly_limit=10**9,
        **options,
    )


def filter_values() -> tuple[int, str]:
    """A program id and a sub id the analyst filters on (the most common ones)."""
    import pyarrow.compute as pc

    from clickkit.sandbox import generate_day

    day = generate_day(NOW.date() - dt.timedelta(days=1), seed=SEED, clicks_per_day=CLICKS_PER_DAY)
    programs = pc.value_counts(day["ProgramId"]).to_pylist()
    subs = [v for v in pc.value_counts(day["SubId1"]).to_pylist() if v["values"]]
    program = max(programs, key=lambda v: v["counts"])["values"]
    sub = max(subs, key=lambda v: v["counts"])["values"]
    return int(program), str(sub)


def run_workload(kind: str, work: Path) -> list[StepResult]:
    """Run :data:`STEPS` with one kind of client (``naive``, ``polling``, ``postback``)."""
    from clickkit.postback import PostbackReceiver

    program, sub = filter_values()
    with contextlib.ExitStack() as stack:
        receiver = None
        if kind == "postback":
            receiver = stack.enter_context(PostbackReceiver())
        sandbox = stack.enter_context(
            _sandbox(
                job_duration=JOB_SECONDS,
                postback_url=receiver.url_template if receiver else None,
            )
        )
        client: NaiveClient | ClickkitClient
        if kind == "naive":
            client = NaiveClient(sandbox)
        else:
            waker = SandboxWaker(receiver, sandbox) if receiver else None
            client = ClickkitClient(sandbox, work / kind, waker)
        stack.callback(client.close)
        fetched_open: set[dt.date] = set()  # days last fetched before they were over
        results = []
        for step in STEPS:
            morning = NOW + dt.timedelta(days=step.morning)
            if sandbox.now() < morning:
                sandbox.advance(morning - sandbox.now())
            if step.restart:
                client.restart()
            today = sandbox.now().date()
            start = today - dt.timedelta(days=step.first)
            end = today - dt.timedelta(days=step.last)
            days = {start + dt.timedelta(days=i) for i in range((end - start).days + 1)}
            refresh = sorted(d for d in fetched_open & days if d < today)
            before, began = _counters(sandbox), sandbox.now()
            rows = client.load(
                start,
                end,
                program_id=program if step.program else None,
                sub_id=sub if step.sub else None,
                refresh=refresh,
            )
            calls = _counters(sandbox)
            calls.subtract(before)
            fetched_open = (fetched_open - days) | {d for d in days if d >= today}
            results.append(
                StepResult(
                    step.label,
                    morning.date(),
                    rows,
                    provisional=end >= today,
                    calls=calls,
                    waited=(sandbox.now() - began).total_seconds(),
                )
            )
    return results


@dataclass(frozen=True)
class Totals:
    """One client's calls over the whole workload."""

    name: str
    exports: int
    polls: int
    downloads: int
    replays: int
    other: int
    quota_days: int
    busiest_day: int
    waited: float

    @property
    def total(self) -> int:
        """Every API call (the signed-URL storage host is not the API and not counted)."""
        return self.exports + self.polls + self.downloads + self.replays + self.other


def totals(name: str, steps: Sequence[StepResult]) -> Totals:
    """Sum a client's steps; quota days count ClickExport calls per day, 10 to a day."""
    calls: Counter[str] = Counter()
    per_day: Counter[dt.date] = Counter()
    for step in steps:
        calls.update(step.calls)
        per_day[step.quota_day] += step.calls["ClickExport"]
    return Totals(
        name=name,
        exports=calls["ClickExport"],
        polls=_polls(calls),
        downloads=calls["Download"] - calls["202"],
        replays=calls["Replay"],
        other=0,
        quota_days=sum(math.ceil(n / REAL_DAILY_LIMIT) for n in per_day.values()),
        busiest_day=max(per_day.values(), default=0),
        waited=sum(s.waited for s in steps),
    )


def minimum() -> Totals:
    """The least any client could spend on :data:`STEPS`.

    One export per day first asked for, one replay per day first fetched while open and
    asked for again once final, no polls (postbacks), one download per export or replay.
    """
    exports_by_morning: Counter[int] = Counter()
    seen: set[dt.date] = set()
    open_days: set[dt.date] = set()
    replays = 0
    for step in STEPS:
        today = NOW.date() + dt.timedelta(days=step.morning)
        days = {today - dt.timedelta(days=n) for n in range(step.last, step.first + 1)}
        exports_by_morning[step.morning] += len(days - seen)
        replays += len({d for d in open_days & days if d < today})
        open_days = (open_days - days) | {d for d in days if d >= today and d not in seen}
        seen |= days
    exports = sum(exports_by_morning.values())
    return Totals(
        name="theoretical minimum",
        exports=exports,
        polls=0,
        downloads=exports + replays,
        replays=replays,
        other=0,
        quota_days=sum(math.ceil(n / REAL_DAILY_LIMIT) for n in exports_by_morning.values()),
        busiest_day=max(exports_by_morning.values()),
        waited=math.nan,
    )


# ---------------------------------------------------------------------------------------
# Polls against job duration


@dataclass(frozen=True)
class SweepPoint:
    """Polls one job of ``duration`` sandbox seconds needed, and how late the data came."""

    strategy: str
    duration: float
    polls: int
    late: float  # seconds between the job's end and the download


SWEEP_STRATEGIES = ("naive 5 s", "clickkit default", "clickkit uncapped", "clickkit postback")


def sweep_point(strategy: str, duration: float, work: Path) -> SweepPoint:
    """Export one day with a job of ``duration`` seconds and wait for it one way."""
    from clickkit import jobs
    from clickkit.api import Downloaded, ImpactApi
    from clickkit.postback import PostbackReceiver

    day = NOW.date() - dt.timedelta(days=2)
    with contextlib.ExitStack() as stack:
        receiver = None
        if strategy == "clickkit postback":
            receiver = stack.enter_context(PostbackReceiver())
        sandbox = stack.enter_context(
            _sandbox(
                job_duration=duration, postback_url=receiver.url_template if receiver else None
            )
        )
        if strategy == "naive 5 s":
            naive = NaiveClient(sandbox)
            stack.callback(naive.close)
            before = _counters(sandbox)
            naive.load(day, day)
        else:
            api = ImpactApi(sandbox.account_sid, sandbox.auth_token, base_url=sandbox.url)
            stack.callback(api.close)
            clock = SandboxTime(sandbox)
            job_id = api.submit_click_export(day).job_id
            before = _counters(sandbox)

            def check(job: str) -> jobs.Check:
                got = jobs.fetch_result(api, job, work / f"{job}.csv")
                return jobs.Check("done" if isinstance(got, Downloaded) else "pending")

            options: dict[str, Any] = {"sleep": clock.sleep, "monotonic": clock.monotonic}
            if strategy == "clickkit uncapped":
                options["poll_max"] = math.inf
            if receiver is not None:
                options["waker"] = SandboxWaker(receiver, sandbox)
            # The Client's defaults: poll_interval=1.0, poll_max=30.0, safety 300 s.
            jobs.Waiter(**{"poll_initial": 1.0, "poll_max": 30.0, **options}).wait([job_id], check)
        calls = _counters(sandbox)
        calls.subtract(before)
        finished = NOW + dt.timedelta(seconds=duration)
        late = (sandbox.now() - finished).total_seconds()
    return SweepPoint(strategy, duration, _polls(calls), late)


def run_sweep(durations: Sequence[float], work: Path) -> list[SweepPoint]:
    """Every strategy at every duration."""
    return [sweep_point(s, d, work) for d in durations for s in SWEEP_STRATEGIES]


def added_per_decade(points: Sequence[SweepPoint], strategy: str) -> list[int]:
    """Polls added each time the job gets 10x longer (1 -> 10 s, 10 -> 100 s, ...).

    Logarithmic growth adds about the same number every decade; linear growth adds ten
    times more each decade.
    """
    mine = sorted((p.duration, p.polls) for p in points if p.strategy == strategy)
    return [b[1] - a[1] for a, b in itertools.pairwise(mine)]


def grows_logarithmically(points: Sequence[SweepPoint], strategy: str) -> bool | None:
    """Whether the last decade added at most twice what the one before added."""
    added = added_per_decade(points, strategy)
    if len(added) < 2 or added[-2] <= 0:
        return None if added and added[-1] > 0 else True
    return added[-1] <= 2 * added[-2]


# ---------------------------------------------------------------------------------------
# Running and reporting


def run(mode: str = "default", *, work: Path | None = None) -> dict[str, Any]:
    """The workload with the three clients, then the sweep."""
    durations = (1.0, 10.0, 100.0, 1000.0) if mode == "quick" else (1.0, 10.0, 100.0, 1e3, 1e4)
    warnings.simplefilter("ignore")  # ProvisionalDataWarning is part of the workload
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="clickkit-eco-")))
        steps = {}
        for kind in ("polling", "postback", "naive"):
            common.say(f"economy: workload, {kind}")
            steps[kind] = run_workload(kind, work)
        common.say("economy: polls against job duration")
        sweep = run_sweep(durations, work)
    return {"mode": mode, "steps": steps, "sweep": sweep}


def _names() -> dict[str, str]:
    return {
        "polling": "clickkit, polling",
        "postback": "clickkit, postback",
        "naive": "naive (docs)",
    }


def summary(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, goal, met) for the economy targets."""
    best = minimum()
    out: list[tuple[str, str, str, bool | None]] = []
    for kind in ("polling", "postback"):
        t = totals(_names()[kind], results["steps"][kind])
        out.append(
            (
                f"{t.name}: exports, replays",
                f"{t.exports}, {t.replays} (minimum {best.exports}, {best.replays})",
                "= minimum",
                t.exports == best.exports and t.replays == best.replays,
            )
        )
    first = results["steps"]["polling"][0]
    out.append(
        (
            f"clickkit, polling: status calls, {first.label} ({first.calls['ClickExport']} jobs "
            f"of {JOB_SECONDS:.0f} s)",
            f"{_polls(first.calls)} (minimum 0; naive "
            f"{_polls(results['steps']['naive'][0].calls)})",
            "<= 10",
            _polls(first.calls) <= 10,
        )
    )
    t = totals("postback", results["steps"]["postback"])
    out.append(("clickkit, postback: polls", str(t.polls), "0", t.polls == 0))
    points = results["sweep"]
    longest = max(p.duration for p in points)
    for strategy in ("clickkit default", "clickkit uncapped", "naive 5 s"):
        added = ", ".join(f"+{n}" for n in added_per_decade(points, strategy)[-2:])
        out.append(
            (
                f"polls per job, {strategy}",
                f"{added} for the last two 10x steps (to {longest:,.0f} s)",
                "log: steady",
                None if strategy == "naive 5 s" else grows_logarithmically(points, strategy),
            )
        )
    return out


def report(results: dict[str, Any]) -> str:
    """The economy tables as text."""
    names = _names()
    steps = results["steps"]
    parts = []
    rows = []
    for i, step in enumerate(steps["naive"]):
        ck, pb = steps["polling"][i], steps["postback"][i]
        same = {ck.rows, pb.rows, step.rows}
        rows.append(
            (
                step.label,
                ck.rows if len(same) == 1 else f"{ck.rows}/{pb.rows}/{step.rows}",
                ck.calls["ClickExport"],
                ck.calls["Replay"],
                _polls(ck.calls),
                _polls(pb.calls),
                step.calls["ClickExport"],
                step.calls["Replay"],
                _polls(step.calls),
            )
        )
    parts.append(
        common.table(
            [
                "workload step",
                "rows",
                "ck exp",
                "ck rep",
                "ck polls",
                "pb polls",
                "naive exp",
                "naive rep",
                "naive polls",
            ],
            rows,
            title=f"per step (ck = clickkit polling, pb = clickkit postback; jobs take "
            f"{JOB_SECONDS:.0f} s)",
        )
    )
    best = minimum()
    rows = []
    for kind in ("polling", "postback", "naive"):
        t = totals(names[kind], steps[kind])
        rows.append(_totals_row(t, best))
    rows.append(_totals_row(best, best))
    parts.append(
        common.table(
            [
                "client",
                "ClickExport",
                "polls",
                "downloads",
                "replays",
                "API calls",
                "x min",
                "quota days",
                "max/day",
                "waited",
            ],
            rows,
            title=f"totals (quota days: days of impact.com's {REAL_DAILY_LIMIT} exports/day "
            f"needed; the sandboxes allowed {BENCH_DAILY_LIMIT:,})",
        )
    )
    by_duration: dict[float, dict[str, SweepPoint]] = {}
    for p in results["sweep"]:
        by_duration.setdefault(p.duration, {})[p.strategy] = p
    rows = []
    for duration, points in sorted(by_duration.items()):
        row: list[Any] = [f"{duration:,.0f} s"]
        for strategy in SWEEP_STRATEGIES:
            row.append(f"{points[strategy].polls} ({points[strategy].late:.0f} s)")
        rows.append(row)
    rows.append(
        ["added per 10x"]
        + [
            " ".join(f"+{n}" for n in added_per_decade(results["sweep"], s))
            for s in SWEEP_STRATEGIES
        ]
    )
    parts.append(
        common.table(
            ["job duration", *SWEEP_STRATEGIES],
            rows,
            title="polls per job (and how late the data came after the job ended)",
        )
    )
    return "\n\n".join(parts)


def _totals_row(t: Totals, best: Totals) -> list[Any]:
    return [
        t.name,
        t.exports,
        t.polls,
        t.downloads,
        t.replays,
        t.total,
        f"{t.total / best.total:.1f}",
        t.quota_days,
        t.busiest_day,
        "-" if math.isnan(t.waited) else f"{t.waited / 60:,.0f} min",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the economy benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sweep up to 1,000 s only")
    args = parser.parse_args(argv)
    results = run("quick" if args.quick else "default")
    print(report(results))
    print()
    print(common.table(["target", "measured", "goal", "met"], summary(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
