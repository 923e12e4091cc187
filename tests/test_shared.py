"""The team's cache in a bucket: one export per day, one quota, nothing half written.

Every test talks to a real S3 API over loopback: moto's server (``ThreadedMotoServer``)
on 127.0.0.1, with dummy credentials, and the sandbox as impact.com. "Machines" are
processes with their own local cache directories sharing one bucket.

Until ``Client(shared_cache=..., storage_options=...)`` is wired, a client gets its
shared cache by swapping ``client.cache`` (:func:`share`); that helper is the one place
to replace with the constructor arguments once they exist.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import clickkit as ck
from clickkit.cache import Cache, CacheBackend, request_key
from clickkit.errors import CacheError, MissingDependency
from clickkit.sandbox import Sandbox
from clickkit.shared import BucketUnreachable, SharedCache, mirror_dir, open_cache, parse_url

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
ZONE = "America/New_York"
DAY = dt.date(2026, 11, 27)
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def _moto() -> Iterator[tuple[Any, str]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on stderr
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield server, f"http://{host}:{port}"
    finally:
        with contextlib.suppress(Exception):
            server.stop()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """One moto S3 server for the module, with dummy credentials in the environment."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in ENV.items():
            mp.setenv(name, value)
        with _moto() as (_, url):
            yield url


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket (so tests never see each other's objects); its s3:// URL."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    name = f"team-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return f"s3://{name}/clickkit"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    server = Sandbox(now=NOW, seed=1, clicks_per_day=300, job_duration=0, timezone=ZONE)
    yield server
    server.close()


def make_client(sb: Sandbox, cache_dir: Path, url: str, endpoint: str) -> ck.Client:
    """A "machine": its own local cache, the team's bucket."""
    return ck.Client(sb.account_sid, sb.auth_token, base_url=sb.url, clock=sb.now,
                     cache_dir=cache_dir, timezone=sb.timezone, progress=False,
                     poll_interval=0.02, shared_cache=url,
                     storage_options={"endpoint_url": endpoint})  # fmt: skip


def exports(sb: Sandbox) -> int:
    return sb.stats()["requests"].get("ClickExport", 0)


def objects(url: str, endpoint: str) -> dict[str, bytes]:
    """Every object under the shared cache's prefix, by key."""
    bucket, prefix = parse_url(url)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def assert_team_days_whole(url: str, endpoint: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Every completed record names a day file the bucket holds with exactly that hash."""
    cache = SharedCache(url, tmp_path / f"check-{uuid.uuid4().hex[:6]}",
                        storage_options={"endpoint_url": endpoint})  # fmt: skip
    try:
        records = cache.jobs()
        for record in records:
            assert record["job_id"], record
            if not record.get("pending"):
                assert cache.read_day(record["key"], record) is not None, record
        return records
    finally:
        cache.close()


# -- the storage itself ------------------------------------------------------------------


def test_moto_honours_conditional_writes(endpoint: str, bucket: str) -> None:
    name, _ = parse_url(bucket)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    first = s3.put_object(Bucket=name, Key="k", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(s3.exceptions.ClientError) as again:
        s3.put_object(Bucket=name, Key="k", Body=b"2", IfNoneMatch="*")
    assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    s3.put_object(Bucket=name, Key="k", Body=b"3", IfMatch=first)
    with pytest.raises(s3.exceptions.ClientError) as stale:
        s3.put_object(Bucket=name, Key="k", Body=b"4", IfMatch=first)
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"3"


def test_urls_options_and_the_missing_extra(
    tmp_path: Path, bucket: str, endpoint: str, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    assert parse_url("s3://team-bucket/a/b/") == ("team-bucket", "a/b")
    with pytest.raises(CacheError) as info:
        parse_url("s3://AKIAXXX:very-secret@team-bucket/x")
    assert "very-secret" not in str(info.value) and "s3://bucket/prefix" in str(info.value)
    with pytest.raises(CacheError, match="not an s3://bucket/prefix URL"):
        open_cache(tmp_path, "gs://team-bucket/x")
    with pytest.raises(CacheError) as unknown:
        open_cache(tmp_path, bucket, {"endpoint": "very-secret"})
    assert "endpoint" in str(unknown.value) and "very-secret" not in str(unknown.value)
    plain = open_cache(tmp_path / "plain")
    assert type(plain) is Cache
    plain.close()
    caplog.set_level(logging.DEBUG, logger="clickkit")
    options = {"endpoint_url": endpoint, "key": "testing", "secret": "s3cr3t-never-shown"}
    cache = open_cache(tmp_path, bucket, options)
    assert isinstance(cache, SharedCache)
    assert cache.root == mirror_dir(tmp_path, bucket)  # a mirror of its own
    cache.put_job("k" * 32, {"key": "k" * 32, "job_id": "J1"})
    assert "s3cr3t" not in repr(cache) + caplog.text
    assert not any(b"s3cr3t" in data for data in objects(bucket, endpoint).values())
    cache.close()
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if clickkit[s3] were not installed
    with pytest.raises(MissingDependency, match=r'pip install "clickkit\[s3\]"'):
        open_cache(tmp_path, bucket)


# -- records, ledger, reservations, claims ----------------------------------------------


def test_two_mirrors_see_one_set_of_records_ledger_and_notes(
    tmp_path: Path, bucket: str, endpoint: str
) -> None:
    a, b = (open_cache(tmp_path / n, bucket, {"endpoint_url": endpoint}) for n in "ab")
    assert isinstance(a, CacheBackend)  # slots in wherever the local Cache does
    key = request_key("IRtest", dt.date(2026, 11, 10))
    a.put_job(key, {"key": key, "account": "IRtest", "job_id": "J1", "pending": True})
    assert b.job(key)["job_id"] == "J1"
    assert b.update_job(key, status="RUNNING")["pending"] is True
    assert a.job(key)["status"] == "RUNNING"
    assert [r["job_id"] for r in b.jobs()] == ["J1"]
    a.count_call("IRtest", DAY, "ClickExport")
    b.count_call("IRtest", DAY, "ClickExport", 2)
    b.count_call("IRtest", DAY, "Job")
    assert a.ledger("IRtest", DAY) == {"ClickExport": 3, "Job": 1}
    assert a.reserve_exports("IRtest", DAY, ["k1", "k2", "k3"], limit=10, owner="a") == []
    # 3 used, 3 held by a: of b's 5 keys, one is a's (a exports it) and 4 fit.
    refused = b.reserve_exports("IRtest", DAY, ["k3", "k4", "k5", "k6", "k7", "k8"],
                                limit=10, owner="b")  # fmt: skip
    assert refused == ["k8"]
    assert b.reserved_by_others("IRtest", DAY, "b") == 3
    a.spend_reservation("IRtest", DAY, "a", "k1")
    a.release_reservation("IRtest", DAY, "a")
    assert b.reserved_by_others("IRtest", DAY, "b") == 0
    a.set_value("server-remaining/IRtest/2026-11-27", 4)
    assert b.value("server-remaining/IRtest/2026-11-27") == 4
    b.drop_job(key)
    assert a.job(key) is None and a.local.job(key) is None
    a.close()
    b.close()


def test_conflicting_conditional_writes_lose_nothing(
    tmp_path: Path, bucket: str, endpoint: str
) -> None:
    caches = [open_cache(tmp_path / n, bucket, {"endpoint_url": endpoint}) for n in "ab"]
    key = "f" * 32
    caches[0].put_job(key, {"key": key, "job_id": "J"})

    def work(i: int) -> None:
        cache = caches[i % 2]
        for n in range(5):
            cache.count_call("IRtest", DAY, "Job")
            cache.update_job(key, **{f"w{i}-{n}": n})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert caches[1].ledger("IRtest", DAY) == {"Job": 30}
    record = caches[1].job(key)
    assert all(f"w{i}-{n}" in record for i in range(6) for n in range(5))
    for cache in caches:
        cache.close()


def test_a_claim_excludes_others_until_released_and_is_renewed(
    tmp_path: Path, bucket: str, endpoint: str
) -> None:
    opts = {"endpoint_url": endpoint}
    a = open_cache(tmp_path / "a", bucket, opts, claim_timeout=1.0)
    b = open_cache(tmp_path / "b", bucket, opts, claim_timeout=1.0)
    key = "a" * 32
    with a.lock(key):
        a.put_job(key, {"key": key, "job_id": "J7"})
        name, prefix = parse_url(bucket)
        claim = boto3.client("s3", endpoint_url=endpoint).get_object(
            Bucket=name, Key=f"{prefix}/claims/{key}.json"
        )
        assert b'"job_id":"J7"' in claim["Body"].read()  # for whoever takes it over
        time.sleep(2.0)  # twice the timeout: the renewals keep the claim alive
        with pytest.raises(CacheError, match="waited 0s for"), b.lock(key, timeout=0.3):
            pass
    with b.lock(key) as claim:
        assert claim.taken_over_from is None
    a.close()
    b.close()


def test_a_stale_claim_is_taken_over_by_exactly_one(
    tmp_path: Path, bucket: str, endpoint: str, caplog
) -> None:
    name, prefix = parse_url(bucket)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    key = "b" * 32
    gone = {"v": 1, "key": key, "owner": {"host": "laptop-of-ana", "pid": 4242, "id": "x"},
            "at": 0, "job_id": "J9"}  # fmt: skip
    s3.put_object(Bucket=name, Key=f"{prefix}/claims/{key}.json",
                  Body=ck.shared._encode(gone), IfNoneMatch="*")  # fmt: skip
    caches = [open_cache(tmp_path / f"m{i}", bucket, {"endpoint_url": endpoint},
                         claim_timeout=1.0) for i in range(3)]  # fmt: skip
    inside: list[int] = []
    taken: list[Any] = []

    def take(i: int) -> None:
        with caches[i].lock(key) as claim:
            inside.append(i)
            taken.append(claim.taken_over_from)
            time.sleep(0.2)
            assert inside[-1] == i  # nobody else inside meanwhile

    caplog.set_level(logging.WARNING, logger="clickkit")
    started = time.monotonic()
    threads = [threading.Thread(target=take, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1.0 <= time.monotonic() - started < 15
    assert sorted(inside) == [0, 1, 2]
    takeovers = [t for t in taken if t]
    assert len(takeovers) == 1 and takeovers[0]["host"] == "laptop-of-ana"
    assert takeovers[0]["job_id"] == "J9"
    assert "took over the claim" in caplog.text and "laptop-of-ana" in caplog.text
    for cache in caches:
        cache.close()


def test_a_claim_of_a_dead_process_of_this_host_is_taken_at_once(
    tmp_path: Path, bucket: str, endpoint: str
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name, prefix = parse_url(bucket)
    key = "c" * 32
    body = {"v": 1, "key": key, "at": time.time(),
            "owner": {"host": os.uname().nodename, "pid": dead.pid, "id": "y"}}  # fmt: skip
    boto3.client("s3", endpoint_url=endpoint).put_object(
        Bucket=name, Key=f"{prefix}/claims/{key}.json", Body=ck.shared._encode(body)
    )
    cache = open_cache(tmp_path, bucket, {"endpoint_url": endpoint})  # 120 s timeout
    started = time.monotonic()
    with cache.lock(key) as claim:
        assert claim.taken_over_from["pid"] == dead.pid
    assert time.monotonic() - started < 5
    cache.close()


def test_a_stale_or_damaged_mirror_is_fetched_again(
    tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str
) -> None:
    a = make_client(sb, tmp_path / "a", bucket, endpoint)
    b = make_client(sb, tmp_path / "b", bucket, endpoint)
    frame = a.clicks("2026-11-10", "2026-11-11")
    assert exports(sb) == 2
    again = b.clicks("2026-11-10", "2026-11-11")  # from the bucket, into b's mirror
    pd.testing.assert_frame_equal(frame, again)
    record = next(r for r in b.cache.jobs() if r["date"] == "2026-11-10")
    path = b.cache.day_path(record["key"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, damaged
    path.write_bytes(bytes(data))
    assert b.cache.read_day(record["key"], b.cache.job(record["key"])) is not None
    path.unlink()
    assert b.cache.day_path(record["key"]).exists()  # fetched on first use
    pd.testing.assert_frame_equal(b.clicks("2026-11-10", "2026-11-11"), frame)
    assert exports(sb) == 2
    a.close()
    b.close()


# -- machines ------------------------------------------------------------------------------


def _machine(args: dict[str, Any]) -> str:
    """One "machine": its own local cache, the team's bucket, one clicks() call."""
    offset = dt.timedelta(seconds=args["offset"])

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + offset  # the sandbox's clock, in this process

    client = ck.Client(args["sid"], args["token"], base_url=args["url"], clock=clock,
                       cache_dir=args["cache"], timezone=ZONE, progress=False,
                       poll_interval=0.02, shared_cache=args["bucket"],
                       storage_options={"endpoint_url": args["endpoint"]})  # fmt: skip
    try:
        frame = client.clicks(args["start"], args["end"])
    except ck.QuotaExhausted:
        return "QuotaExhausted"
    except ck.RateLimited:
        return "RateLimited"
    finally:
        client.close()
    frame.attrs = {}
    frame.to_parquet(args["out"])
    return args["out"]


def _work(sb: Sandbox, tmp_path: Path, bucket: str, endpoint: str, i: int, start: str,
          end: str) -> dict[str, Any]:  # fmt: skip
    offset = (sb.now() - dt.datetime.now(dt.UTC)).total_seconds()
    return {"url": sb.url, "sid": sb.account_sid, "token": sb.auth_token, "offset": offset,
            "cache": str(tmp_path / f"machine-{i}"), "bucket": bucket, "endpoint": endpoint,
            "start": start, "end": end, "out": str(tmp_path / f"out-{i}.parquet")}  # fmt: skip


@pytest.mark.slow
def test_two_machines_with_overlapping_ranges_export_each_day_once(
    tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str
) -> None:
    work = [_work(sb, tmp_path, bucket, endpoint, 0, "2026-11-10", "2026-11-14"),
            _work(sb, tmp_path, bucket, endpoint, 1, "2026-11-12", "2026-11-16")]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outs = pool.map(_machine, work)
    assert exports(sb) == 7  # 2026-11-10 .. 2026-11-16, once for the team
    frames = [pd.read_parquet(out) for out in outs]
    days = [f.groupby(f["event_date"].dt.date.astype(str)) for f in frames]
    shared = sorted(set(dict(list(days[0])).keys()) & set(dict(list(days[1])).keys()))
    assert shared == ["2026-11-12", "2026-11-13", "2026-11-14"]
    for day in shared:
        pd.testing.assert_frame_equal(
            days[0].get_group(day).reset_index(drop=True),
            days[1].get_group(day).reset_index(drop=True),
        )
    assert len(assert_team_days_whole(bucket, endpoint, tmp_path)) == 7


def test_machine_b_plans_with_what_machine_a_spent(
    tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str
) -> None:
    a = make_client(sb, tmp_path / "a", bucket, endpoint)
    b = make_client(sb, tmp_path / "b", bucket, endpoint)
    a.clicks("2026-11-01", "2026-11-07")
    assert exports(sb) == 7
    quota = b.quota()
    assert (quota.used, quota.remaining) == (7, 3)
    assert b.plan("2026-11-01", "2026-11-07").exports == 0  # a's days are the team's
    with pytest.raises(ck.QuotaExhausted) as info:
        b.clicks("2026-11-10", "2026-11-16")
    assert info.value.remaining == 3 and info.value.needed == 7
    assert exports(sb) == 7  # nothing spent
    a.close()
    b.close()


@pytest.mark.slow
def test_two_machines_wanting_seven_new_days_each_one_is_refused_before_spending(
    tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str
) -> None:
    work = [_work(sb, tmp_path, bucket, endpoint, 0, "2026-11-01", "2026-11-07"),
            _work(sb, tmp_path, bucket, endpoint, 1, "2026-11-10", "2026-11-16")]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outcomes = pool.map(_machine, work)
    assert sorted(o if o in ("QuotaExhausted", "RateLimited") else "ok" for o in outcomes) == [
        "QuotaExhausted",
        "ok",
    ]
    assert exports(sb) == 7
    assert sb.stats()["requests"].get("ClickExport (429)", 0) == 0


# -- writers killed at any point -----------------------------------------------------------

VICTIM = textwrap.dedent(
    """
    import datetime as dt, sys, threading, time
    import clickkit as ck
    url, sid, token, cache, bucket, endpoint, offset, start, end, stall = sys.argv[1:11]
    shift = dt.timedelta(seconds=float(offset))
    client = ck.Client(sid, token, base_url=url, cache_dir=cache, progress=False,
                       clock=lambda: dt.datetime.now(dt.UTC) + shift,
                       timezone="America/New_York", poll_interval=0.02,
                       shared_cache=bucket, storage_options={"endpoint_url": endpoint})
    state = {"key": ""}

    def stop_here(what):
        if threading.current_thread() is threading.main_thread():
            print("stalled", what, flush=True)
            time.sleep(600)

    def params(params, **kw):
        state["key"] = params.get("Key", "")

    def before_send(request, **kw):
        body = request.body.getvalue() if hasattr(request.body, "getvalue") else b""
        if stall == "upload" and "/days/" in request.url:
            stop_here("upload")
        if stall == "ledger" and "/quota/" in request.url and b'"Download"' in body:
            stop_here("ledger")
        if stall == "answered" and "/quota/" in request.url and b'"ClickExport"' in body:
            stop_here("answered")  # the export is answered, its job id not yet recorded

    def after_call(http_response, **kw):
        if http_response.status_code == 200:
            if stall == "claim" and "/claims/" in state["key"]:
                stop_here("claim")
            if stall == "uploaded" and "/days/" in state["key"]:
                stop_here("uploaded")

    events = client.cache.s3.meta.events
    events.register("before-parameter-build.s3.PutObject", params)
    events.register("before-send.s3.PutObject", before_send)
    events.register("after-call.s3.PutObject", after_call)
    print("start", flush=True)
    client.clicks(start, end)
    print("done", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("stall", ["claim", "answered", "upload", "uploaded", "ledger"])
def test_a_writer_killed_leaves_the_team_able_to_finish(
    stall: str, tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str
) -> None:
    """Killed holding a claim (before its export), between an export's answer and its
    record (the survivor finds the job in the Jobs list), uploading a day, right after
    the upload (record still pending), or counting a call in the ledger: the other
    machine finishes with no extra export and every day whole."""
    offset = (sb.now() - dt.datetime.now(dt.UTC)).total_seconds()
    args = [sys.executable, "-c", VICTIM, sb.url, sb.account_sid, sb.auth_token,
            str(tmp_path / "victim"), bucket, endpoint, str(offset), "2026-11-10",
            "2026-11-12", stall]  # fmt: skip
    victim = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert victim.stdout.readline().strip() == "start"
        assert victim.stdout.readline().strip() == f"stalled {stall}"
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    spent = exports(sb)
    assert spent == {"claim": 0, "answered": 1}.get(stall, 3)
    survivor = make_client(sb, tmp_path / "survivor", bucket, endpoint)
    frame = survivor.clicks("2026-11-10", "2026-11-12")
    assert exports(sb) == 3  # each day once, across the killed writer and the survivor
    assert frame["event_date"].dt.date.nunique() == 3
    records = assert_team_days_whole(bucket, endpoint, tmp_path)
    assert len(records) == 3 and not any(r.get("pending") for r in records)
    other = make_client(sb, tmp_path / "other", bucket, endpoint)
    pd.testing.assert_frame_equal(other.clicks("2026-11-10", "2026-11-12"), frame)
    assert exports(sb) == 3
    survivor.close()
    other.close()


# -- the bucket going away --------------------------------------------------------------


def test_the_bucket_going_away_mid_run(
    tmp_path: Path, sb: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with _moto() as (server, endpoint):
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="going-away")
        url = "s3://going-away/team"
        client = make_client(sb, tmp_path / "a", url, endpoint)
        frame = client.clicks("2026-11-10", "2026-11-12")
        server.stop()
        caplog.set_level(logging.WARNING, logger="clickkit")
        again = client.clicks("2026-11-10", "2026-11-12")  # served from the mirror
        pd.testing.assert_frame_equal(again, frame)
        assert "unreachable" in caplog.text and "local mirror" in caplog.text
        assert all(r["offline"] for r in client.cache.jobs())
        assert len(client.jobs()) == 3
        caplog.clear()
        lazy = client.clicks("2026-11-10", "2026-11-12", engine="dask").compute()
        lazy.attrs = frame.attrs  # a Dask frame carries no provenance
        pd.testing.assert_frame_equal(lazy, frame)  # the Dask frame reads the mirror too
        assert "the Dask frame reads the days from the local mirror" in caplog.text
        with pytest.raises(CacheError) as info:
            client.clicks("2026-11-13")  # needs the team's quota and records
        assert isinstance(info.value, BucketUnreachable)
        assert "unreachable" in str(info.value) and "endpoint_url" in str(info.value)
        assert exports(sb) == 3  # nothing spent while the bucket was away
        client.close()


def test_nothing_secret_reaches_the_bucket_or_the_logs(
    tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="clickkit")
    client = make_client(sb, tmp_path / "a", bucket, endpoint)
    client.clicks("2026-11-10", "2026-11-11")
    client.quota()
    stored = objects(bucket, endpoint)
    assert any("/jobs/" in k for k in stored) and any("/days/" in k for k in stored)
    token = sb.auth_token.encode()
    assert not any(token in data for data in stored.values())
    assert not any(b"testing" in data for data in stored.values())  # the bucket secret
    assert sb.auth_token not in caplog.text and repr(client.cache).startswith("SharedCache(")
    client.close()


# -- the notebook ----------------------------------------------------------------------


@pytest.mark.slow
def test_dask_reads_the_team_days_straight_from_the_bucket(
    tmp_path: Path, sb: Sandbox, bucket: str, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("dask.dataframe")
    days = ("2026-11-16", "2026-11-19")
    a = make_client(sb, tmp_path / "machine-a", bucket, endpoint)
    try:
        expected = a.clicks(*days)
    finally:
        a.close()
    spent = exports(sb)
    assert spent == 4

    # Machine B names its credentials; they must reach pyarrow and nothing else.
    secret = f"secret-{uuid.uuid4().hex}"
    options = {"endpoint_url": endpoint, "aws_access_key_id": "machine-b",
               "aws_secret_access_key": secret}  # fmt: skip
    b_dir = tmp_path / "machine-b"
    b = ck.Client(sb.account_sid, sb.auth_token, base_url=sb.url, clock=sb.now,
                  cache_dir=b_dir, timezone=sb.timezone, progress=False, poll_interval=0.02,
                  shared_cache=bucket, storage_options=options)  # fmt: skip
    caplog.set_level(logging.DEBUG, logger="clickkit")
    try:
        ddf = b.clicks(*days, engine="dask")
        assert ddf.npartitions == 4
        whole = ddf.compute()
        whole.attrs = expected.attrs  # a Dask frame carries no provenance
        pd.testing.assert_frame_equal(whole, expected)
        store = b.cache.arrow_s3()
        assert store.secret_key == secret and store.endpoint_override
        assert secret not in repr(store) and secret not in repr(b.cache)
        assert secret not in caplog.text

        # export_dataset reads the team's days through a mirror (machine C's).
        c = make_client(sb, tmp_path / "machine-c", bucket, endpoint)
        try:
            report = c.export_dataset(tmp_path / "dataset")
        finally:
            c.close()
        assert report.written == 4
        assert len(pd.read_parquet(tmp_path / "dataset")) == len(expected)

        # A day replaced in the bucket after planning is refused, not read half-planned.
        key = next(r["key"] for r in b.cache.jobs() if r["date"] == "2026-11-19")
        a = make_client(sb, tmp_path / "machine-a", bucket, endpoint)
        try:
            a.cache.write_day(key, a.cache.read_day(key).slice(0, 5))
        finally:
            a.close()
        with pytest.raises(ck.CacheError, match="changed after the Dask frame was built"):
            ddf.compute(scheduler="sync")
    finally:
        b.close()
    assert exports(sb) == spent  # B spent nothing
    assert not list(b_dir.rglob("*.parquet"))  # and mirrored no day


def test_the_team_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("CLICKKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    )
    nb = nbformat.read(REPO / "notebooks" / "05-team-cache.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    out = "\n".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert "Traceback" not in out
    assert "ClickExport calls for the team: 9" in out  # 7 + 2 new days, never twice
    assert "machine B sees 9 of 10 exports used today" in out
    assert "read from machine B's mirror" in out
