"""Typed job records: what the cache stores as JSON, read and written back faithfully."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from clickkit.records import DayFileRecord, DayResult, JobRecord

EXPORTED = {
    "key": "k1", "account": "IRabc", "date": "2026-11-20", "filters": {},
    "result_format": "CSV", "job_id": "J1", "status": "QUEUED",
    "submitted_at": "2026-11-21T09:00:00+00:00", "requested_at": "2026-11-21T09:00:00+00:00",
    "pending": True, "source": "export", "replays": 0, "failed_replays": 0,
}  # fmt: skip
INGESTED = {
    **EXPORTED, "pending": False, "status": "COMPLETED", "awaiting_replay": False,
    "replays_by_day": {"2026-11-22": 1}, "replay_baseline": "", "replay_started": False,
    "result": {"rows": 120, "size": 4096, "content_hash": "ab", "final": True,
               "missing": ["sub_id3"], "fetched_at": "2026-11-22T10:00:00+00:00",
               "produced_at": "2026-11-22T09:00:00+00:00", "checksum": "cd"},
}  # fmt: skip


@pytest.mark.parametrize("stored", [EXPORTED, INGESTED, {"key": "bare"}])
def test_a_record_reads_back_to_itself(stored: dict) -> None:
    record = JobRecord.from_json(stored)
    again = JobRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record


def test_what_is_written_says_the_same_as_what_was_stored() -> None:
    written = JobRecord.from_json(INGESTED).to_json()
    # Keys whose value says nothing (False, "", {}) are left out: readers default them.
    dropped = {k for k, v in INGESTED.items() if v is False or v in ("", {})}
    assert "pending" in dropped and "replays" not in dropped  # counts are always written
    assert written == {k: v for k, v in INGESTED.items() if k not in dropped}


def test_typed_attributes() -> None:
    record = JobRecord.from_json(INGESTED)
    assert record.day == dt.date(2026, 11, 20)
    assert record.result == DayResult(
        rows=120, size=4096, content_hash="ab", checksum="cd", final=True,
        fetched_at="2026-11-22T10:00:00+00:00", produced_at="2026-11-22T09:00:00+00:00",
        missing=("sub_id3",),
    )  # fmt: skip
    assert record.replays_by_day == {"2026-11-22": 1} and record.replay_baseline is None
    assert record.last_run_at == dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC)
    assert record.exported and not JobRecord("k", job_id="J", job_gone=True).exported


def test_keys_of_other_versions_are_kept_and_bad_values_do_not_raise() -> None:
    stored = {"key": "k", "date": "not a date", "replays": "x", "shared_unsynced": True,
              "result": {"rows": 5, "layout": "v2"}}  # fmt: skip
    record = JobRecord.from_json(stored)
    assert record.day is None and record.replays == 0
    assert record.extra == {"shared_unsynced": True}
    assert record.to_json()["shared_unsynced"] is True
    assert record.result is not None and record.result.to_json() == {"rows": 5, "layout": "v2"}


def test_of_reads_json_and_passes_records_through() -> None:
    record = JobRecord.from_json(EXPORTED)
    assert JobRecord.of(record) is record
    assert JobRecord.of(EXPORTED) == record
    assert JobRecord.of(None) is None


# The Parquet metadata a day file of INGESTED carries, as every version so far wrote it.
STORED_META = (
    '{"account": "IRabc", "date": "2026-11-20", "extra_columns": ["brand"], "filters": {}, '
    '"job_id": "J1", "key": "k1", "result": {"fetched_at": "2026-11-22T10:00:00+00:00", '
    '"final": true, "produced_at": "2026-11-22T09:00:00+00:00", "rows": 120}, '
    '"result_format": "CSV", "v": 1}'
)


def test_day_file_metadata_is_written_as_before_and_rebuilds_the_record() -> None:
    meta = DayFileRecord.of(INGESTED, key="k1", rows=120, extra_columns=("brand",))
    assert json.dumps(meta.to_json(), sort_keys=True) == STORED_META
    assert DayFileRecord.from_json(json.loads(STORED_META)) == meta
    rebuilt = JobRecord.from_json(meta.job_record(size=4096, content_hash="ab"))
    assert (rebuilt.job_id, rebuilt.day, rebuilt.pending, rebuilt.recovered) == (
        "J1", dt.date(2026, 11, 20), False, True,
    )  # fmt: skip
    assert rebuilt.result is not None and rebuilt.result.rows == 120 and rebuilt.result.final
