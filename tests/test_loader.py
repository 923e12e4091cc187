"""The loader: its pure helpers, and planning and carrying out through its public methods."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import exports

import clickkit as ck
from clickkit.loader import job_table, missing_columns
from clickkit.plan import Candidate


def test_missing_columns_reads_the_record_of_the_export() -> None:
    assert missing_columns(Candidate("k", None, False, True)) == set()
    assert missing_columns(Candidate("k", {"result": None}, True, True)) == set()
    record = {"result": {"missing": ["sub_id2", "sub_id3"]}}
    assert missing_columns(Candidate("k", record, True, True)) == {"sub_id2", "sub_id3"}


def test_job_table_sorts_by_date_and_fills_the_gaps() -> None:
    records = [
        {"date": "2026-11-18", "key": "b", "job_id": "j2", "status": "QUEUED", "pending": True,
         "filters": {"program_ids": [1]}, "result_format": "JSON"},
        {"date": "2026-11-17", "key": "a", "job_id": "j1", "status": "COMPLETED", "replays": 2,
         "result": {"rows": 12, "final": True, "fetched_at": "2026-11-19T00:00:00+00:00"}},
    ]  # fmt: skip
    table = job_table(records)
    assert list(table.columns) == [
        "date", "job_id", "status", "pending", "filters", "format",
        "submitted_at", "fetched_at", "final", "rows", "replays",
    ]  # fmt: skip
    assert table["job_id"].tolist() == ["j1", "j2"]
    first, second = table.to_dict("records")
    assert (first["filters"], first["final"], first["rows"], first["replays"]) == (
        "whole day", True, 12, 2,
    )  # fmt: skip
    assert (second["pending"], second["final"], second["replays"]) == (True, False, 0)
    assert second["filters"] == "{'program_ids': [1]}" and second["format"] == "JSON"
    assert job_table([]).empty and len(job_table([]).columns) == 11


def test_loader_plans_carries_out_and_reads_what_clicks_would(make_client) -> None:
    client = make_client()
    loader = client.loader
    req = loader.request("2026-11-16", "2026-11-17", unique=True)
    assert [d.action for d in loader.plan(req).days] == ["export", "export"]
    assert exports(client) == 0  # a plan is free

    plan, sources = loader.carry_out(req, "all", False, None)
    assert sorted(sources.values()) == ["export", "export"]
    assert exports(client) == 2
    table, rows = loader.read(plan, req, None)
    assert set(rows) == {dt.date(2026, 11, 16), dt.date(2026, 11, 17)}
    assert table.num_rows == sum(rows.values()) > 0
    assert set(table.column("unique_click").to_pylist()) == {True}

    # Everything is cached now: the same request, through the client, spends nothing.
    assert [d.action for d in loader.plan(req).days] == ["cache", "cache"]
    df = client.clicks("2026-11-16", "2026-11-17", unique=True)
    assert exports(client) == 2 and len(df) == table.num_rows


def test_loader_checks_arguments_like_clicks(make_client) -> None:
    loader = make_client().loader
    with pytest.raises(ck.InvalidRequestError, match="result_format"):
        loader.request("2026-11-16", result_format="YAML")
    with pytest.raises(ck.InvalidRequestError):
        loader.request("2026-11-17", "2026-11-16")
    assert loader.request("2026-11-16").result_format == "CSV"


def test_an_export_recorded_outside_a_plan_is_resumed_not_sent_again(make_client) -> None:
    client = make_client()
    job_id = client.api.submit_click_export(dt.date(2026, 11, 16)).job_id
    client.loader.record_export(dt.date(2026, 11, 16), job_id)
    assert client.jobs()["job_id"].tolist() == [job_id]
    assert [d.action for d in client.plan("2026-11-16").days] == ["resume"]
    df = client.clicks("2026-11-16")
    assert exports(client) == 1 and len(df) > 0
    assert df.attrs["clickkit"]["days"][0]["job_id"] == job_id
