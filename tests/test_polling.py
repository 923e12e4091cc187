"""Polls that do not grow with the range: one Jobs list per round, per-job calls as fallback.

Against the sandbox over real loopback HTTP; calls are counted by the sandbox itself.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import clickkit as ck
from clickkit import schema
from clickkit.errors import ProvisionalDataWarning

JOB = dt.timedelta(seconds=0.4)
#: An account outside UTC: day edges and the list's CreatedAfter are in its zone.
ZONE = "America/New_York"


def _calls(client: ck.Client) -> dict[str, int]:
    stats = client.sandbox_server.stats()
    return {**stats["requests"], "202": int(stats["status"].get(202, 0))}


def test_several_outstanding_jobs_are_reported_by_one_list_per_round(
    make_client: Callable[..., ck.Client],
) -> None:
    client = make_client(job_duration=JOB)
    df = client.clicks("2026-11-20", "2026-11-25")
    calls = _calls(client)
    assert calls["ClickExport"] == 6
    # Unfinished jobs cost no call of their own: the list reported them.
    assert calls["Job"] == 0
    assert calls["JobList"] >= 1
    # Each day is downloaded once; a 202 can only come once a single job is left.
    assert calls["Download"] - calls["202"] == 6
    assert calls["202"] <= 3
    # Polling each of the 6 jobs every round would cost 6 calls per round.
    assert calls["JobList"] + calls["202"] < 6 * 3
    assert df["event_date"].dt.date.nunique() >= 6


def test_job_calls_fall_back_when_the_list_is_refused(
    make_client: Callable[..., ck.Client], tmp_path: Path
) -> None:
    client = make_client(job_duration=JOB, faults={"error_rate": {"JobList": 1.0}})
    client.api.max_retries = 0  # the refusal is the point, not the retries
    df = client.clicks("2026-11-20", "2026-11-23")
    calls = _calls(client)
    # Refused once, not asked again during that wait: each job is polled on its own.
    assert calls["JobList"] == 1
    assert calls["Download"] - calls["202"] == 4
    reference = make_client(cache_dir=tmp_path / "reference").clicks("2026-11-20", "2026-11-23")
    assert len(df) == len(reference)


def test_a_job_the_list_does_not_show_is_polled_on_its_own_not_lost(
    make_client: Callable[..., ck.Client],
) -> None:
    client = make_client(job_duration=dt.timedelta(seconds=2), timezone=ZONE)
    with pytest.raises(ck.WaitTimeout):
        client.clicks("2026-11-20", "2026-11-22", timeout=0.2)
    # The records claim a submission days later than the real one: the list, asked
    # from that day on, cannot show the jobs, so each falls back to its own poll.
    later = dt.datetime(2026, 12, 5, tzinfo=dt.UTC).isoformat()
    for record in client.cache.jobs():
        client.cache.update_job(record["key"], submitted_at=later)
    client.sandbox_server.reset_stats()
    df = client.clicks("2026-11-20", "2026-11-22")
    calls = _calls(client)
    assert calls["ClickExport"] == 0  # resumed, nothing exported again
    assert calls["JobList"] >= 1
    assert calls["Download"] - calls["202"] == 3
    assert df["event_date"].dt.tz_convert(ZONE).dt.date.nunique() == 3


def test_a_replayed_day_waits_for_its_new_run_when_the_list_reports_it(
    make_client: Callable[..., ck.Client], tmp_path: Path
) -> None:
    # 07:00 in New York: 2026-11-27 is still open, so it is fetched provisional.
    client = make_client(job_duration=dt.timedelta(seconds=0.2), replay_lag=1.5, timezone=ZONE)
    with pytest.warns(ProvisionalDataWarning):
        provisional = client.clicks("2026-11-27")
    client.sandbox_server.advance(dt.timedelta(days=1, hours=4))
    client.sandbox_server.reset_stats()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProvisionalDataWarning)  # every day is final now
        df = client.clicks("2026-11-25", "2026-11-27")
    calls = _calls(client)
    assert calls["Replay"] == 1 and calls["ClickExport"] == 2
    assert calls["JobList"] >= 1
    local = df["event_date"].dt.tz_convert(ZONE).dt.date
    day = df[local == dt.date(2026, 11, 27)]
    later = client.sandbox_server.now()
    fresh = make_client(cache_dir=tmp_path / "reference", now=later, timezone=ZONE)
    reference = fresh.clicks("2026-11-27")
    assert len(day) == len(reference) > len(provisional)
    assert sorted(day["id"]) == sorted(reference["id"])


def _read_plain(data: bytes) -> pa.Table:
    """pyarrow's own careful reading of the same bytes (quoted newlines allowed)."""
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types={"Id": pa.string(), "AdName": pa.string()})
    return pacsv.read_csv(io.BytesIO(data), parse_options=parse, convert_options=convert)


@pytest.mark.parametrize(
    "value",
    [
        "two\nlines",
        "carriage\rreturn",
        "crlf\r\ninside",
        'quote "" then\nnewline',
        "",
    ],
)
def test_quoted_newlines_parse_exactly_whichever_path_is_taken(value: str) -> None:
    rows = []
    for i in range(25000):  # several of pyarrow's blocks, so a wrong split would show
        name = f'"{value}"' if i % 7 == 3 else f"plain ad {i}"
        rows.append(f"c{i},2026-11-20T10:00:00-05:00,{name},{i}")
    data = ("Id,EventDate,AdName,MediaId\n" + "\n".join(rows) + "\n").encode()
    table = schema.parse_csv(data)
    expected = _read_plain(data)
    assert table.num_rows == expected.num_rows == 25000
    assert table["id"].to_pylist() == expected["Id"].to_pylist()
    assert table["ad_name"].to_pylist() == [
        None if v == "" else v for v in expected["AdName"].to_pylist()
    ]


@pytest.mark.parametrize(
    "data",
    [
        # A stray quote inside an unquoted value, then a quoted newline: parity alone
        # would call this file safe.
        b'Id,AdName,SubId1\na,ab"c,"x\ny"\nb,plain,z\n',
        # An unclosed quote at the end.
        b'Id,AdName,SubId1\na,"open\nb,plain,z\n',
        # Quotes only where values are quoted whole, no newline inside.
        b'Id,AdName,SubId1\na,"q, r",z\nb,"s ""t""",z\n',
    ],
)
def test_unusual_quoting_reads_as_pyarrow_reads_it_carefully(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", schema.ParseWarning)
        table = schema.parse_csv(data)
        careful = schema._read_csv(data, fast=False)
    assert table["id"].to_pylist() == careful["Id"].to_pylist()
    assert table["sub_id1"].to_pylist() == careful["SubId1"].to_pylist()


def test_fast_path_is_taken_only_when_the_bytes_show_it_is_safe() -> None:
    safe: list[Any] = [
        b"Id,AdName\na,b\n",
        b'Id,AdName\na,"b, c"\n',
        b'Id,AdName\na,"b ""c"""\n',
        b'Id,AdName\r\na,"b"\r\n',
    ]
    unsafe: list[Any] = [
        b'Id,AdName\na,"b\nc"\n',
        b'Id,AdName\na,"b\rc"\n',
        b'Id,AdName\na,x"y,"b\nc"\n',
        b'Id,AdName\na,"b\n',
        b'Id,AdName\na,"b"x\n',
    ]
    assert all(schema._newlines_cannot_be_quoted(d) for d in safe)
    assert not any(schema._newlines_cannot_be_quoted(d) for d in unsafe)


def test_random_quoting_never_takes_the_fast_path_wrongly() -> None:
    import random

    rng = random.Random(14)
    pieces = ["a", "b", ",", '"', '""', "\n", "\r\n", "\r", " ", "x,y"]
    taken = 0
    for _ in range(400):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(5, 60)))
        data = f"Id,AdName,SubId1\n{body}\n".encode()
        fast = schema._newlines_cannot_be_quoted(data)
        taken += fast
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", schema.ParseWarning)
            try:
                careful = schema._read_csv(data, fast=False)
            except pa.ArrowInvalid:
                continue
            if fast:
                quick = schema._read_csv(data, fast=True)
                assert quick.to_pylist() == careful.to_pylist(), data
    assert taken > 20  # the fast path was exercised too
