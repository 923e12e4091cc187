"""Parquet dataset export and the Dask engine, against the sandbox over loopback."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pds
import pytest

import clickkit as ck
from clickkit import schema
from clickkit.client import ProvisionalDataWarning
from clickkit.daskframe import require_dask
from clickkit.dataset import MANIFEST_NAME, PART_NAME

DAYS = ("2026-11-16", "2026-11-20")  # complete days relative to the sandbox's NOW
ENUMS = list(schema.ENUMS)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["id", "event_date"], kind="stable").reset_index(drop=True)


def _stats(root: Path) -> dict[str, tuple[int, int]]:
    """Inode and mtime of every partition file, by partition folder."""
    return {
        str(f.parent.relative_to(root)): (f.stat().st_ino, f.stat().st_mtime_ns)
        for f in root.rglob(PART_NAME)
    }


# -- export ---------------------------------------------------------------------------


def test_dataset_round_trips_to_the_same_frame(make_client, tmp_path) -> None:
    client = make_client()
    expected = client.clicks(*DAYS)
    root = tmp_path / "dataset"
    report = client.export_dataset(root)

    assert (report.written, report.unchanged, report.layout) == (5, 0, "date")
    assert sorted(_stats(root)) == [f"date=2026-11-{d}" for d in range(16, 21)]
    assert (root / MANIFEST_NAME).is_file() and "written: 5" in str(report)
    assert repr(report).endswith("5 written, 0 unchanged, 0 moved, layout='date'>")
    assert "<table>" in report._repr_html_()
    # Same filesystem as the cache: the partition is the cached file itself, not a copy.
    record = next(r for r in client.cache.jobs() if r["date"] == "2026-11-16")
    cached = client.cache.day_path(record["key"]).stat()
    assert (root / "date=2026-11-16" / PART_NAME).stat().st_ino == cached.st_ino
    assert report.linked == 5

    table = pds.dataset(root, partitioning="hive").to_table()
    partition_days = table["date"].to_pylist()
    back = schema.to_pandas(table.drop_columns(["date"]), client.settings.timezone)
    assert len(back) == len(expected) > 0
    assert back.dtypes.equals(expected.dtypes)
    pd.testing.assert_frame_equal(_sorted(back), _sorted(expected))
    # Each row sits in the partition of its own (account time zone) day.
    assert partition_days == back["event_date"].dt.strftime("%Y-%m-%d").tolist()


def test_second_export_writes_nothing_and_a_refresh_rewrites_one_day(make_client, tmp_path) -> None:
    client = make_client()
    with pytest.warns(ProvisionalDataWarning):
        client.clicks("2026-11-24", "2026-11-27")  # the last two days are still open
    root = tmp_path / "dataset"
    first = client.export_dataset(root)
    assert first.written == 4
    before = _stats(root)

    again = client.export_dataset(root)
    assert (again.written, again.unchanged) == (0, 4)
    assert _stats(root) == before

    # Clicks keep arriving for today; a refresh replays its job (after the guard's hour).
    client.sandbox_server.advance(dt.timedelta(hours=2))
    refreshed = client.refresh("2026-11-27")
    third = client.export_dataset(root)
    assert (third.written, third.unchanged) == (1, 3)
    assert {k for k, v in third.partitions.items() if v == "written"} == {"date=2026-11-27"}
    after = _stats(root)
    assert {k: v for k, v in after.items() if k != "date=2026-11-27"} == {
        k: v for k, v in before.items() if k != "date=2026-11-27"
    }
    assert after["date=2026-11-27"] != before["date=2026-11-27"]
    rewritten = pds.dataset(root / "date=2026-11-27").to_table()
    assert rewritten.num_rows == len(refreshed)
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["partitions"]["date=2026-11-27"]["rows"] == len(refreshed)


def test_missing_partition_file_is_written_again(make_client, tmp_path) -> None:
    client = make_client()
    client.clicks("2026-11-16", "2026-11-17")
    root = tmp_path / "dataset"
    client.export_dataset(root)
    (root / "date=2026-11-17" / PART_NAME).unlink()
    report = client.export_dataset(root)
    assert report.partitions == {"date=2026-11-16": "unchanged", "date=2026-11-17": "written"}


def test_range_exports_only_those_days_and_names_uncached_ones(make_client, tmp_path) -> None:
    client = make_client()
    client.clicks(*DAYS)
    root = tmp_path / "dataset"
    report = client.export_dataset(root, "2026-11-19", "2026-11-22")
    assert sorted(report.partitions) == ["date=2026-11-19", "date=2026-11-20"]
    assert report.not_cached == (dt.date(2026, 11, 21), dt.date(2026, 11, 22))
    assert "not cached: 2 day(s)" in str(report)


def test_export_ignores_filtered_exports_and_keeps_foreign_folders_safe(
    make_client, tmp_path
) -> None:
    client = make_client()
    client.clicks("2026-11-16", program_id=[1], scope="exact")  # a partial day
    assert client.export_dataset(tmp_path / "dataset").written == 0
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("keep me")
    with pytest.raises(ck.InvalidRequestError, match="not a clickkit dataset"):
        client.export_dataset(foreign)
    assert (foreign / "todo.txt").read_text() == "keep me"


def test_second_account_switches_to_account_partitions(make_client, tmp_path) -> None:
    first = make_client()
    first.clicks("2026-11-16", "2026-11-17")
    root = tmp_path / "dataset"
    assert first.export_dataset(root).layout == "date"
    inodes = {k: v[0] for k, v in _stats(root).items()}

    other = make_client(account_sid="IRsecond0002", seed=2)  # same cache folder
    other.clicks("2026-11-16")
    report = other.export_dataset(root)
    assert (report.layout, report.written, report.moved) == ("account", 1, 2)
    sid = first.account_sid
    moved = {k: v[0] for k, v in _stats(root).items()}
    assert moved == {
        f"account={sid}/date=2026-11-16": inodes["date=2026-11-16"],
        f"account={sid}/date=2026-11-17": inodes["date=2026-11-17"],
        "account=IRsecond0002/date=2026-11-16": moved["account=IRsecond0002/date=2026-11-16"],
    }
    table = pds.dataset(root, partitioning="hive").to_table()
    counts = table.group_by(["account", "date"]).aggregate([("id", "count")]).to_pylist()
    assert {(c["account"], c["date"]) for c in counts} == {
        (sid, "2026-11-16"), (sid, "2026-11-17"), ("IRsecond0002", "2026-11-16"),
    }  # fmt: skip
    again = first.export_dataset(root)
    assert (again.layout, again.written, again.unchanged) == ("account", 0, 2)


# -- dask -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    """Two single-threaded worker processes: partitions really travel between processes."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # port and resource notices of a local cluster
        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    dask_client = distributed.Client(local)
    yield dask_client
    dask_client.close()
    local.close()


def _add_enum_value(client: ck.Client, day: str, column: str, value: str) -> None:
    """Give a few clicks of one cached day an enum value impact.com has not documented."""
    record = next(r for r in client.cache.jobs() if r["date"] == day and not r["filters"])
    table = client.cache.read_day(record["key"], record)
    values = table[column].to_pylist()
    values[:3] = [value] * 3
    table = table.set_column(
        table.column_names.index(column), column, pa.array(values, pa.string())
    )
    meta = client.cache.write_day(record["key"], table)
    client.cache.update_job(record["key"], result={**record["result"], **meta})


def _per_day_and_device(frame):
    day = frame["event_date"].dt.strftime("%Y-%m-%d")
    return frame.assign(day=day).groupby(["day", "device_type"], observed=True).size()


def _unique_share(frame):
    unique = frame["unique_click"].fillna(False).astype("int64")
    return frame.assign(unique=unique).groupby("program_id")["unique"].mean()


def test_dask_engine_matches_pandas_on_a_local_cluster(make_client, cluster) -> None:
    client = make_client()
    client.clicks(*DAYS)
    _add_enum_value(client, "2026-11-18", "device_type", "HOLOGRAM")  # on one day only
    expected = client.clicks(*DAYS)
    ddf = client.clicks(*DAYS, engine="dask")

    assert ddf.npartitions == 5 and ddf.known_divisions
    assert ddf.dtypes.equals(expected.dtypes)
    assert all(ddf[c].cat.known for c in ENUMS)
    assert list(ddf["device_type"].cat.categories)[-1] == "HOLOGRAM"
    for i in range(ddf.npartitions):
        part = ddf.get_partition(i).compute()
        assert part.dtypes.equals(expected.dtypes)  # identical categories in every day

    pd.testing.assert_series_equal(
        _per_day_and_device(ddf).compute().sort_index(),
        _per_day_and_device(expected).sort_index(),
    )
    pd.testing.assert_series_equal(
        _unique_share(ddf).compute().sort_index(), _unique_share(expected).sort_index()
    )
    whole = ddf.compute()
    whole.attrs = expected.attrs  # a Dask frame carries no provenance
    pd.testing.assert_frame_equal(whole, expected)


def test_dask_engine_applies_filters_like_pandas(make_client, cluster) -> None:
    client = make_client()
    full = client.clicks(*DAYS)
    program = int(full["program_id"].mode()[0])
    expected = client.clicks(*DAYS, program_id=[program], unique=True)
    ddf = client.clicks(*DAYS, program_id=[program], unique=True, engine="dask")
    pd.testing.assert_series_equal(
        _per_day_and_device(ddf).compute().sort_index(),
        _per_day_and_device(expected).sort_index(),
    )
    whole = ddf.compute()
    whole.attrs = expected.attrs
    pd.testing.assert_frame_equal(whole, expected)

    nothing = client.clicks(*DAYS, program_id=[999_999_999], engine="dask")
    assert not nothing.known_divisions  # empty days repeat a boundary
    empty = nothing.compute(scheduler="sync")
    assert len(empty) == 0 and empty.dtypes.equals(expected.dtypes)


def test_dask_partition_refuses_a_day_replaced_after_planning(make_client) -> None:
    client = make_client()
    client.clicks("2026-11-16", "2026-11-17")
    ddf = client.clicks("2026-11-16", "2026-11-17", engine="dask")
    record = next(r for r in client.cache.jobs() if r["date"] == "2026-11-17")
    table = client.cache.read_day(record["key"])
    client.cache.write_day(record["key"], table.slice(0, 5))
    with pytest.raises(ck.CacheError, match="changed after the Dask frame was built"):
        ddf.compute(scheduler="sync")


def test_without_dask_the_engine_names_the_extra(make_client, tmp_path, monkeypatch) -> None:
    client = make_client()
    client.clicks("2026-11-16")
    for name in [m for m in sys.modules if m == "dask" or m.startswith("dask.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)  # `import dask` now fails
    with pytest.raises(ck.MissingDependency, match=r'pip install "clickkit\[dask\]"') as info:
        client.clicks("2026-11-16", engine="dask")
    assert isinstance(info.value, ImportError)
    with pytest.raises(ck.MissingDependency):
        require_dask()
    # The dataset export needs only pyarrow.
    assert client.export_dataset(tmp_path / "dataset").written == 1
    assert os.path.isdir(tmp_path / "dataset" / "date=2026-11-16")


def test_without_dask_nothing_is_spent(make_client, monkeypatch) -> None:
    client = make_client()
    for name in [m for m in sys.modules if m == "dask" or m.startswith("dask.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ck.MissingDependency):
        client.clicks("2026-11-16", "2026-11-18", engine="dask")
    assert sum(client.sandbox_server.stats()["requests"].values()) == 0


def test_dask_engine_warns_for_provisional_days_and_restores_missing_files(make_client) -> None:
    client = make_client()
    client.clicks("2026-11-26")
    for path in (client.cache.root / "days").glob("*.parquet"):
        path.unlink()
    today = client.today().isoformat()
    with pytest.warns(ProvisionalDataWarning, match=today):
        ddf = client.clicks("2026-11-26", today, engine="dask")
    frame = ddf.compute(scheduler="sync")
    assert set(frame["event_date"].dt.date.astype(str)) == {"2026-11-26", today}
    requests = client.sandbox_server.stats()["requests"]
    assert requests["ClickExport"] == 2  # the lost file came back through its job
    assert client.export_dataset(client.cache.root.parent / "ds").written == 2


def test_a_day_whose_column_stayed_text_loads_in_both_engines(make_client, cluster) -> None:
    # A value that does not parse keeps its column as text for that day (ParseWarning).
    client = make_client()
    client.clicks(*DAYS)
    record = next(r for r in client.cache.jobs() if r["date"] == "2026-11-17")
    table = client.cache.read_day(record["key"], record)
    payout = [None if v is None else f"{v:.2f}" for v in table["payout"].to_pylist()]
    payout[0] = "pending"
    table = table.set_column(
        table.column_names.index("payout"), "payout", pa.array(payout, pa.string())
    )
    meta = client.cache.write_day(record["key"], table, record=record)
    client.cache.update_job(record["key"], result={**record["result"], **meta})
    frame = client.clicks(*DAYS)
    assert client.sandbox_server.stats()["requests"]["ClickExport"] == 5  # nothing refetched
    assert str(frame["payout"].dtype) in ("str", "string", "object")
    assert "pending" in set(frame["payout"].dropna())
    whole = client.clicks(*DAYS, engine="dask").compute()
    whole.attrs = frame.attrs
    pd.testing.assert_frame_equal(whole, frame)
