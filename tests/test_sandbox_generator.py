"""The sandbox's synthetic clicks and result files: deterministic, realistic, fast."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from clickkit.sandbox import COLUMNS, SCHEMA, filter_clicks, generate_day, serialize
from clickkit.sandbox.catalog import (
    AD_TYPES,
    BROWSERS,
    DEAL_SCOPES,
    DEAL_TYPES,
    DEVICE_FAMILIES,
    DEVICE_TYPES,
    OPERATING_SYSTEMS,
)

MONDAY = date(2026, 10, 5)


@pytest.fixture(scope="module")
def big_day() -> pa.Table:
    return generate_day(MONDAY, seed=3, clicks_per_day=20_000, timezone="America/New_York")


def _column(table: pa.Table, name: str) -> list:
    return table[name].to_pylist()


def test_same_inputs_give_the_same_table() -> None:
    a = generate_day(MONDAY, seed=5, clicks_per_day=800)
    assert a.equals(generate_day(MONDAY, seed=5, clicks_per_day=800))
    assert not a.equals(generate_day(MONDAY, seed=6, clicks_per_day=800))
    other = generate_day(MONDAY, seed=5, clicks_per_day=800, account_sid="IRother")
    assert set(_column(other, "ProgramId")) != set(_column(a, "ProgramId"))


def test_columns_and_types() -> None:
    table = generate_day(MONDAY, clicks_per_day=200)
    assert tuple(table.column_names) == COLUMNS
    assert table.schema.equals(SCHEMA)
    assert COLUMNS[0] == "Id" and COLUMNS[-1] == "UniqueClick" and len(COLUMNS) == 37
    assert table.num_rows > 100


def test_weekdays_are_busier_than_weekends() -> None:
    days = [date(2026, 10, 5) + timedelta(days=i) for i in range(21)]
    rows = {d: generate_day(d, seed=1, clicks_per_day=2000).num_rows for d in days}
    weekday = sum(n for d, n in rows.items() if d.weekday() < 5) / 15
    weekend = sum(n for d, n in rows.items() if d.weekday() >= 5) / 6
    assert weekend < 0.85 * weekday
    assert 1700 < weekday < 2400  # noise around the configured base volume


def test_hour_of_day_follows_the_account_time_zone(big_day: pa.Table) -> None:
    hours = [int(s[11:13]) for s in _column(big_day, "EventDate")]
    by_hour = [hours.count(h) for h in range(24)]
    assert min(by_hour[19:22]) > 3 * max(by_hour[2:6])  # evening peak vs small hours
    assert all(s.endswith("-04:00") for s in _column(big_day, "EventDate"))


def test_event_dates_are_sorted_and_inside_the_local_day(big_day: pa.Table) -> None:
    stamps = [datetime.fromisoformat(s) for s in _column(big_day, "EventDate")]
    assert stamps == sorted(stamps)
    assert {s.date() for s in stamps} == {MONDAY}


def test_dst_days_mix_offsets_and_change_length() -> None:
    fall = generate_day(date(2026, 11, 1), clicks_per_day=3000, timezone="America/New_York")
    offsets = {s[-6:] for s in _column(fall, "EventDate")}
    assert offsets == {"-04:00", "-05:00"}
    utc = [datetime.fromisoformat(s).astimezone(UTC) for s in _column(fall, "EventDate")]
    assert utc == sorted(utc)  # local wall time repeats 01:00-02:00, the instants do not
    spring = generate_day(date(2026, 3, 8), clicks_per_day=3000, timezone="America/New_York")
    assert not any(s[11:13] == "02" for s in _column(spring, "EventDate"))  # skipped hour


def test_enums_and_device_combinations_are_consistent(big_day: pa.Table) -> None:
    rows = big_day.select(["DeviceType", "DeviceFamily", "Os", "Browser", "UniqueClick"])
    for name, allowed in (
        ("AdType", AD_TYPES),
        ("DeviceType", DEVICE_TYPES),
        ("DeviceFamily", DEVICE_FAMILIES),
        ("Browser", BROWSERS),
        ("Os", OPERATING_SYSTEMS),
    ):
        assert set(_column(big_day, name)) <= set(allowed), name
    for device, family, os, browser, unique in zip(*rows.to_pydict().values(), strict=True):
        if family == "IPHONE":
            assert (device, os) == ("PHONE", "IOS")
        if family == "IPAD":
            assert (device, os) == ("TABLET", "IOS")
        if family in ("APPLE_MAC", "WINDOWS_MACHINE", "CHROMEBOOK"):
            assert device == "DESKTOP"
        if family == "WINDOWS_MACHINE":
            assert os in ("WINDOWS_10", "WINDOWS_7")
        if browser == "SAFARI":
            assert family in ("IPHONE", "IPAD", "APPLE_MAC")
        if device == "ROBOT":
            assert not unique
    types = _column(big_day, "DeviceType")
    assert 0.01 < types.count("ROBOT") / len(types) < 0.05
    non_unique = 1 - sum(_column(big_day, "UniqueClick")) / big_day.num_rows
    assert 0.10 <= non_unique <= 0.25


def test_catalog_geography_and_sub_ids_look_real(big_day: pa.Table) -> None:
    assert len(set(_column(big_day, "ProgramId"))) == 5
    assert 15 <= len(set(_column(big_day, "AdId"))) <= 25
    countries = set(_column(big_day, "CustomerCountry"))
    assert len(countries) >= 40 and all(len(c) == 2 and c.isupper() for c in countries)
    assert "n/a" in set(_column(big_day, "CustomerCity"))
    assert "Washington, D.C." in set(_column(big_day, "CustomerArea"))
    sub1 = _column(big_day, "SubId1")
    assert 0.15 < sub1.count("") / len(sub1) < 0.35
    assert len(set(sub1)) > 500  # long tail
    top = Counter(v for v in sub1 if v).most_common(1)[0][1]
    assert top < 0.25 * len(sub1)  # a head, but no single value dominates
    for name in ("DealName", "SearchText", "BidKeyword", "SharedId", "SubId3"):
        assert "" in set(_column(big_day, name)), name


def test_deals_prices_and_repeat_clicks_hang_together(big_day: pa.Table) -> None:
    data = big_day.to_pydict()
    for deal, kind, scope in zip(
        data["DealName"], data["DealType"], data["DealScope"], strict=True
    ):
        assert bool(deal) == bool(kind) == bool(scope)
        assert kind in ("", *DEAL_TYPES) and scope in ("", *DEAL_SCOPES)
    for cpc, payout, unique in zip(
        data["CpcBid"], data["Payout"], data["UniqueClick"], strict=True
    ):
        if cpc:
            assert float(cpc) > 0 and payout == (cpc if unique else "0.00")
        else:
            assert payout == ""
    first_seen: dict[str, int] = {}
    for i, (click_id, unique) in enumerate(zip(data["Id"], data["UniqueClick"], strict=True)):
        if unique:
            assert click_id not in first_seen  # a journey's first click is the unique one
        first_seen.setdefault(click_id, i)
    assert len(first_seen) < big_day.num_rows


def test_late_arrival_grows_the_day_until_it_settles() -> None:
    day = MONDAY
    kwargs = {"seed": 2, "clicks_per_day": 2000, "settle_delay": timedelta(hours=2)}
    midday = generate_day(day, as_of=datetime(2026, 10, 5, 12, tzinfo=UTC), **kwargs)
    at_end = generate_day(day, as_of=datetime(2026, 10, 6, tzinfo=UTC), **kwargs)
    settled = generate_day(day, as_of=datetime(2026, 10, 6, 2, tzinfo=UTC), **kwargs)
    full = generate_day(day, **kwargs)
    assert 0 < midday.num_rows < at_end.num_rows < settled.num_rows == full.num_rows
    assert settled.equals(full)
    seen = set(zip(_column(full, "Id"), _column(full, "EventDate"), strict=True))
    assert set(zip(_column(midday, "Id"), _column(midday, "EventDate"), strict=True)) <= seen
    assert generate_day(day, as_of=datetime(2026, 10, 4, 23, tzinfo=UTC)).num_rows == 0


def test_generation_is_fast() -> None:
    start = time.perf_counter()
    table = generate_day(MONDAY, clicks_per_day=100_000)
    assert table.num_rows > 80_000
    assert time.perf_counter() - start < 5  # about 0.4 s here; generous for shared CI


def test_filters() -> None:
    table = generate_day(MONDAY, clicks_per_day=2000)
    program = _column(table, "ProgramId")[0]
    ad = _column(table, "AdId")[-1]
    assert set(_column(filter_clicks(table, program_ids=[program]), "ProgramId")) == {program}
    both = filter_clicks(table, program_ids=[program], ad_ids=[ad])
    assert all(row["AdId"] == ad for row in both.to_pylist())
    sub = next(s for s in _column(table, "SubId2") if s)
    subbed = filter_clicks(table, sub_ids=[sub])
    assert subbed.num_rows and all(
        sub in (r["SubId1"], r["SubId2"], r["SubId3"]) for r in subbed.to_pylist()
    )
    assert all(_column(filter_clicks(table, unique_only=True), "UniqueClick"))
    assert filter_clicks(table).num_rows == table.num_rows


def test_csv_is_rfc4180_and_round_trips() -> None:
    table = generate_day(MONDAY, clicks_per_day=3000)
    data = serialize(table, "CSV", csv_true="TRUE", csv_false="FALSE")
    assert data.startswith(b"Id,ProgramId,") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == COLUMNS and len(rows) == table.num_rows + 1
    expected = [
        [("TRUE" if v else "FALSE") if isinstance(v, bool) else v for v in row.values()]
        for row in table.to_pylist()
    ]
    assert rows[1:] == expected
    assert b'"Washington, D.C."' in data
    assert serialize(table.slice(0, 1), "CSV", bom=True).startswith(b"\xef\xbb\xbfId,")


def test_json_keeps_partner_related_nested_and_numbers_as_strings() -> None:
    table = generate_day(MONDAY, clicks_per_day=300)
    doc = json.loads(serialize(table, "json"))
    n = str(table.num_rows)
    assert (doc["@page"], doc["@numpages"], doc["@pagesize"], doc["@total"]) == ("1", "1", n, n)
    click = doc["Clicks"][0]
    first = table.slice(0, 1).to_pylist()[0]
    assert click["PartnerRelated"] == [{k: first[k] for k in ("SubId1", "SubId2", "SubId3")}]
    assert "SubId1" not in click and isinstance(click["UniqueClick"], bool)
    assert click["ProgramId"] == first["ProgramId"] and isinstance(click["ProgramId"], str)
    assert list(click)[:3] == ["Id", "ProgramId", "ProgramName"]
    flat = json.loads(serialize(table, "JSON", flat=True))["Clicks"][0]
    assert flat["SubId1"] == first["SubId1"] and "PartnerRelated" not in flat


def test_xml_result_and_escaping() -> None:
    table = generate_day(MONDAY, clicks_per_day=300)
    root = ET.fromstring(serialize(table, "XML"))
    clicks = root.find("Clicks")
    assert root.tag == "ImpactRadiusResponse" and clicks is not None
    assert clicks.get("total") == str(table.num_rows) == str(len(clicks))
    first = clicks[0]
    assert first.findtext("Id") == _column(table, "Id")[0]
    assert first.find("PartnerRelated/SubId1") is not None
    odd = pa.table({"Id": ['a"b', "c\\d", "e\nf", "x&<y>"], "UniqueClick": [True] * 4})
    assert [c["Id"] for c in json.loads(serialize(odd, "JSON"))["Clicks"]] == odd["Id"].to_pylist()
    xml_ids = [e.text for e in ET.fromstring(serialize(odd, "XML")).iter("Id")]
    assert xml_ids == odd["Id"].to_pylist()
    csv_ids = [r[0] for r in csv.reader(io.StringIO(serialize(odd, "CSV").decode(), newline=""))]
    assert csv_ids[1:] == odd["Id"].to_pylist()


def test_empty_tables_serialise() -> None:
    empty = SCHEMA.empty_table()
    assert serialize(empty, "CSV") == (",".join(COLUMNS) + "\r\n").encode()
    assert json.loads(serialize(empty, "JSON"))["Clicks"] == []
    assert len(ET.fromstring(serialize(empty, "XML")).find("Clicks")) == 0
    with pytest.raises(ValueError, match="CSV, JSON or XML"):
        serialize(empty, "XLS")
