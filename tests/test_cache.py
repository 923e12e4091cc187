"""The cache cannot lie: damaged day files are caught, a lost index is rebuilt, errors are clear."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import clickkit as ck
from clickkit import sandbox, schema
from clickkit.cache import RECORD_METADATA_KEY, Cache, CacheBackend, request_key

ACCOUNT = "IRtest"
DAY = dt.date(2026, 11, 16)
REBUILT_FIELDS = ("key", "account", "date", "filters", "result_format", "job_id")


def day_table(date: dt.date = DAY, extra: bool = False) -> pa.Table:
    table = schema.parse_export(
        sandbox.serialize(sandbox.generate_day(date, clicks_per_day=50), "CSV")
    )
    if extra:
        table = table.append_column("new_field", pa.array(["x"] * table.num_rows, pa.string()))
    return table


def store_day(cache: Cache, date: dt.date = DAY, *, extra: bool = False) -> tuple[str, dict]:
    """Store a day as the executor does: record first, then the file, then close the record."""
    key = request_key(ACCOUNT, date)
    record = {
        "key": key,
        "account": ACCOUNT,
        "date": date.isoformat(),
        "filters": {},
        "result_format": "CSV",
        "job_id": f"J-{date.isoformat()}",
        "status": "QUEUED",
        "pending": True,
        "source": "export",
        "replays": 0,
        "failed_replays": 0,
    }
    cache.put_job(key, record)
    result = {
        "final": True,
        "produced_at": f"{date + dt.timedelta(days=2)}T03:00:00+00:00",
        "fetched_at": f"{date + dt.timedelta(days=2)}T03:01:00+00:00",
    }
    meta = cache.write_day(key, day_table(date, extra), record={**record, "result": result})
    record = cache.update_job(key, pending=False, status="COMPLETED", result={**meta, **result})
    return key, record


@pytest.fixture
def cache(tmp_path: Path):
    cache = Cache(tmp_path / "cache")
    yield cache
    cache.close()


# -- day files -------------------------------------------------------------------------


def test_write_day_returns_the_hash_and_stores_the_record(cache: Cache) -> None:
    key, record = store_day(cache, extra=True)
    data = cache.day_path(key).read_bytes()
    assert record["result"]["content_hash"] == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert record["result"]["size"] == len(data) and record["result"]["rows"] == 52
    stored = json.loads(pq.read_schema(cache.day_path(key)).metadata[RECORD_METADATA_KEY])
    assert {k: stored[k] for k in REBUILT_FIELDS} == {k: record[k] for k in REBUILT_FIELDS}
    assert stored["result"] == {
        "rows": 52,
        "final": True,
        "produced_at": record["result"]["produced_at"],
        "fetched_at": record["result"]["fetched_at"],
    }
    assert stored["extra_columns"] == ["new_field"]
    table = cache.read_day(key, record)
    assert table is not None and table.equals(day_table(extra=True))
    assert RECORD_METADATA_KEY not in (table.schema.metadata or {})


def _rename_in_footer(path: Path) -> None:
    """Flip one byte of the footer so that ``program_name`` reads ``program_4ame``."""
    data = bytearray(path.read_bytes())
    at = data.index(b"program_name", len(data) // 2)  # the schema element in the footer
    data[at + len("program_")] = ord("4")
    path.write_bytes(bytes(data))
    renamed = pq.read_table(path).column_names  # the file still reads: only the name changed
    assert "program_4ame" in renamed and "program_name" not in renamed


@pytest.mark.parametrize("with_record", [True, False], ids=["record-in-file", "legacy-file"])
def test_a_renamed_column_in_the_footer_is_caught_without_a_hash(
    cache: Cache, caplog, with_record: bool
) -> None:
    key = request_key(ACCOUNT, DAY)
    record = {"key": key, "account": ACCOUNT, "date": DAY.isoformat(), "job_id": "J"}
    meta = cache.write_day(key, day_table(), record=record if with_record else None)
    _rename_in_footer(cache.day_path(key))
    before_hashes = {"result": {"rows": meta["rows"], "size": meta["size"]}}
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        assert cache.read_day(key, before_hashes) is None
    assert "program_" in caplog.text and "damaged" in caplog.text
    assert not cache.day_path(key).exists()  # removed, so it is fetched again


def test_a_content_hash_mismatch_is_caught(cache: Cache) -> None:
    key, record = store_day(cache)
    # Another whole, valid file of the same day: every check but the hash passes.
    other = day_table().slice(0, 52)
    cache.write_day(key, other.replace_schema_metadata({b"note": b"x"}))
    assert cache.read_day(key, {"result": {"rows": 52}}) is not None
    proof = {"result": {"rows": 52, "content_hash": record["result"]["content_hash"]}}
    assert cache.read_day(key, proof) is None


def test_a_flipped_data_byte_is_caught(cache: Cache) -> None:
    key, record = store_day(cache)
    path = cache.day_path(key)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    assert cache.read_day(key, record) is None


# -- index recovery --------------------------------------------------------------------


def _rebuilt_view(record: dict) -> dict:
    result = record["result"]
    return {
        **{k: record[k] for k in REBUILT_FIELDS},
        "pending": record["pending"],
        "status": record["status"],
        "result": {k: result[k] for k in ("rows", "size", "content_hash", "final",
                                          "produced_at", "fetched_at")},
    }  # fmt: skip


def test_a_deleted_index_is_rebuilt_from_the_day_files(tmp_path: Path, caplog) -> None:
    cache = Cache(tmp_path / "cache")
    originals = {}
    for date in (DAY, DAY + dt.timedelta(days=1)):
        key, record = store_day(cache, date)
        originals[key] = record
    cache.count_call(ACCOUNT, DAY, "ClickExport", 2)
    cache.close()
    shutil.rmtree(tmp_path / "cache" / "index")
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        cache = Cache(tmp_path / "cache")
    assert "recovered 2 day(s)" in caplog.text
    rebuilt = {r["key"]: r for r in cache.jobs()}
    assert rebuilt.keys() == originals.keys()
    for key, record in rebuilt.items():
        assert _rebuilt_view(record) == _rebuilt_view(originals[key])
        assert record["source"] == "cache" and record["recovered"] is True
        assert record["replays"] == 0 and record["failed_replays"] == 0
        assert cache.read_day(key, record) is not None
    assert cache.rebuild_index() == 0  # nothing left to restore
    cache.close()


def test_a_garbage_index_is_moved_aside_and_rebuilt(tmp_path: Path, caplog) -> None:
    cache = Cache(tmp_path / "cache")
    key, record = store_day(cache)
    cache.close()
    db = tmp_path / "cache" / "index" / "cache.db"
    db.write_bytes(os.urandom(8192))
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        cache = Cache(tmp_path / "cache")
    assert "damaged" in caplog.text and "1 day(s) recovered" in caplog.text
    assert _rebuilt_view(cache.job(key)) == _rebuilt_view(record)
    cache.close()
    assert len(list((tmp_path / "cache").glob("index.broken-*"))) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        again = Cache(tmp_path / "cache")  # a later open finds a healthy index
    assert caplog.text == ""
    assert again.job(key)["job_id"] == record["job_id"]
    again.close()


def test_a_truncated_index_keeps_what_it_can(tmp_path: Path, caplog) -> None:
    cache = Cache(tmp_path / "cache")
    key, record = store_day(cache)
    pending_key = request_key(ACCOUNT, DAY + dt.timedelta(days=5))
    cache.put_job(pending_key, {"key": pending_key, "job_id": "J-pending", "pending": True})
    cache.count_call(ACCOUNT, DAY, "ClickExport", 3)
    cache.close()
    db = tmp_path / "cache" / "index" / "cache.db"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2 + 100])
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        cache = Cache(tmp_path / "cache")
    assert "damaged" in caplog.text
    assert cache.job(key)["job_id"] == record["job_id"]  # proven by its day file
    assert cache.read_day(key, cache.job(key)) is not None
    cache.close()


def test_an_undecodable_key_rebuilds_the_index_keeping_what_still_reads(
    tmp_path: Path, caplog
) -> None:
    cache = Cache(tmp_path / "cache")
    key, record = store_day(cache)
    pending = request_key(ACCOUNT, DAY + dt.timedelta(days=5))
    cache.put_job(pending, {"key": pending, "job_id": "J-pending", "pending": True})
    cache.count_call(ACCOUNT, DAY, "ClickExport", 3)
    cache.set_value("broken", {"x": 1})
    cache.close()
    db = sqlite3.connect(tmp_path / "cache" / "index" / "cache.db")
    note_key = zlib.compress(json.dumps(["note", "broken"]).encode(), 0)
    changed = db.execute("UPDATE Cache SET key = ? WHERE key = ?", (b"\x00garbage", note_key))
    assert changed.rowcount == 1
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        cache = Cache(tmp_path / "cache")
    assert "damaged" in caplog.text
    assert cache.job(pending)["job_id"] == "J-pending"  # a job id is never lost
    assert cache.ledger(ACCOUNT, DAY) == {"ClickExport": 3}
    assert cache.job(key) == record  # the old record agrees with its day file: kept whole
    cache.close()


def test_an_undecodable_record_is_restored_from_its_day_file(cache: Cache, caplog) -> None:
    key, record = store_day(cache)
    lost = request_key(ACCOUNT, DAY + dt.timedelta(days=3))
    cache.put_job(lost, {"key": lost, "job_id": "J-lost", "pending": True})
    db = sqlite3.connect(cache.index_dir / "cache.db")
    db.execute("UPDATE Cache SET value = ? WHERE mode = 1", (b"\x00garbage",))  # every value
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING, logger="clickkit"):
        restored = cache.job(key)
        assert cache.job(lost) is None  # no day file: treated as absent
    assert _rebuilt_view(restored) == _rebuilt_view(record) and restored["recovered"]
    assert "could not be decoded" in caplog.text
    assert cache.ledger(ACCOUNT, DAY) == {}
    assert [r["key"] for r in cache.jobs()] == [key]


def test_an_unreadable_index_that_cannot_be_moved_raises(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    store_day(cache)
    cache.close()
    index = tmp_path / "cache" / "index"
    (index / "cache.db").write_bytes(b"not a database" * 100)
    for extra in index.iterdir():
        if extra.name != "cache.db":
            extra.unlink()
    if subprocess.run(["chattr", "+i", str(index)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(ck.CacheError, match="could not be moved aside") as info:
            Cache(tmp_path / "cache")
        assert f"Delete {index}" in str(info.value) and "cache_dir" in str(info.value)
    finally:
        subprocess.run(["chattr", "-i", str(index)], check=True)


def test_index_failures_after_opening_are_cache_errors(cache: Cache) -> None:
    key, _ = store_day(cache)
    cache.close()
    (cache.index_dir / "cache.db").write_bytes(b"x" * 4096)
    with pytest.raises(ck.CacheError, match=r"delete .*index to rebuild it"):
        cache.job(key)
    with pytest.raises(ck.CacheError):
        cache.count_call(ACCOUNT, DAY, "ClickExport")


# -- writability -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["file", "dangling-symlink"])
def test_check_writable_refuses_an_unusable_days_folder(cache: Cache, how: str) -> None:
    cache.check_writable()
    days = cache.root / "days"
    days.rmdir()
    if how == "file":
        days.write_text("")
    else:
        days.symlink_to(cache.root / "nowhere")
    with pytest.raises(ck.CacheError, match="CLICKKIT_CACHE_DIR") as info:
        cache.check_writable()
    assert str(days) in str(info.value) and "cache_dir" in str(info.value)


# -- locks -----------------------------------------------------------------------------


def test_a_lock_of_another_host_is_named(cache: Cache, caplog) -> None:
    cache._index.set(("lock", "k"), {"pid": 1, "host": "elsewhere.example"}, expire=60)
    with (
        caplog.at_level(logging.WARNING, logger="clickkit"),
        pytest.raises(ck.CacheError, match=r"elsewhere\.example") as info,
        cache.lock("k", timeout=0.3),
    ):
        pass
    assert caplog.text.count("elsewhere.example") == 1  # warned once, at once
    assert "one cache_dir per machine" in str(info.value)


def test_a_dead_holder_on_this_host_is_taken_over_at_once(cache: Cache) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    holder = {"pid": int(dead.stdout), "host": __import__("socket").gethostname()}
    cache._index.set(("lock", "k"), holder, expire=600)
    with cache.lock("k", timeout=1):
        pass


# -- quota reservations ----------------------------------------------------------------


def _keys(owner: str, n: int) -> list[str]:
    return [f"{owner}-k{i}" for i in range(n)]


def _reserve(args: tuple[str, str]) -> int:
    root, owner = args
    cache = Cache(root)
    try:
        return 2 - len(cache.reserve_exports(ACCOUNT, DAY, _keys(owner, 2), limit=10, owner=owner))
    finally:
        cache.close()


def test_eight_processes_reserving_two_each_share_ten(tmp_path: Path) -> None:
    root = str(tmp_path / "cache")
    Cache(root).close()
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        granted = pool.map(_reserve, [(root, f"owner-{i}") for i in range(8)], chunksize=1)
        # Workers stay alive until the pool closes, so their reservations still count.
        cache = Cache(root)
        assert sum(granted) == 10 and sorted(granted) == [0, 0, 0, 2, 2, 2, 2, 2]
        assert cache.reserved_by_others(ACCOUNT, DAY, "me") == 10
        assert cache.reserve_exports(ACCOUNT, DAY, ["x"], limit=10, owner="me") == ["x"]
        cache.close()


def test_reservations_of_dead_processes_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    Cache(root).close()
    code = (
        "import datetime as dt, sys; from clickkit.cache import Cache; "
        "c = Cache(sys.argv[1]); keys = [f'k{i}' for i in range(7)]; "
        "print(len(c.reserve_exports('IRtest', dt.date(2026, 11, 16), keys, limit=10, "
        "owner='gone')))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "0"
    cache = Cache(root)
    assert cache.reserved_by_others(ACCOUNT, DAY, "me") == 0
    assert cache.reserve_exports(ACCOUNT, DAY, _keys("me", 10), limit=10, owner="me") == []
    cache.close()


def test_reservations_follow_the_ledger_and_the_server(cache: Cache) -> None:
    cache.count_call(ACCOUNT, DAY, "ClickExport", 3)
    cache.count_call(ACCOUNT, DAY, "ClickExport (no answer)", 1)
    cache.count_call(ACCOUNT, DAY, "ClickExport (429)", 5)  # refused: never a job
    cache.count_call(ACCOUNT, DAY, "Job", 40)

    def refused(keys: list[str], owner: str, **kw: int) -> int:
        return len(cache.reserve_exports(ACCOUNT, DAY, keys, limit=10, owner=owner, **kw))

    a, b = _keys("a", 9), _keys("b", 9)
    assert refused(a, "a") == 3  # 6 of 9 fit
    assert refused(b[:2], "b") == 2
    assert refused(a[:2], "a") == 0  # replaces a's earlier reservation
    assert refused(b, "b") == 5
    assert refused(a[:2] + b[:2], "c") == 0  # held by others: nothing more needed
    assert refused(_keys("c", 9), "c", server_remaining=3) == 9
    cache.spend_reservation(ACCOUNT, DAY, "a", a[0])
    cache.count_call(ACCOUNT, DAY, "ClickExport")
    assert cache.reserved_by_others(ACCOUNT, DAY, "c") == 5
    cache.release_reservation(ACCOUNT, DAY, "b")
    assert cache.reserved_by_others(ACCOUNT, DAY, "c") == 1
    cache.release_reservation(ACCOUNT, DAY, "a")
    assert refused(_keys("c", 9), "c") == 4
    assert refused(_keys("c", 9), "c", server_remaining=2) == 7


def test_the_local_cache_offers_the_backend_protocol(cache: Cache) -> None:
    assert isinstance(cache, CacheBackend)
    assert not isinstance(object(), CacheBackend)
