"""The documented schema: one typed DataFrame from CSV, JSON and XML exports."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pyarrow as pa
import pytest

import clickkit as ck
from clickkit import schema
from clickkit.sandbox import formats
from clickkit.sandbox.generator import generate_day

TZ = "America/New_York"


@pytest.fixture(scope="module")
def dst_day() -> pa.Table:
    # 2026-11-01 is the end of DST in New York: offsets -04:00 and -05:00 in one file.
    return generate_day(dt.date(2026, 11, 1), seed=3, clicks_per_day=3000, timezone=TZ)


def test_csv_json_xml_give_identical_frames(dst_day: pa.Table) -> None:
    frames = {
        fmt: schema.to_pandas(schema.parse_export(formats.serialize(dst_day, fmt)), TZ)
        for fmt in ("CSV", "JSON", "XML")
    }
    assert len(frames["CSV"]) == dst_day.num_rows
    pd.testing.assert_frame_equal(frames["CSV"], frames["JSON"])
    pd.testing.assert_frame_equal(frames["CSV"], frames["XML"])


def test_documented_dtypes(dst_day: pa.Table) -> None:
    df = schema.to_pandas(schema.parse_export(formats.serialize(dst_day, "CSV")), TZ)
    assert list(df.columns) == list(schema.COLUMN_NAMES)
    assert str(df["event_date"].dtype) == f"datetime64[ms, {TZ}]"
    for name in ("program_id", "media_id", "ad_id"):
        assert df[name].dtype == pd.Int64Dtype()
    assert df["payout"].dtype == pd.Float64Dtype()
    assert df["unique_click"].dtype == pd.BooleanDtype()
    for name, documented in schema.ENUMS.items():
        assert isinstance(df[name].dtype, pd.CategoricalDtype)
        assert tuple(df[name].cat.categories[: len(documented)]) == documented
    assert pd.api.types.is_string_dtype(df["sub_id1"])


def test_mixed_dst_offsets_become_one_tz_aware_column(dst_day: pa.Table) -> None:
    data = formats.serialize(dst_day, "CSV")
    assert b"-04:00" in data and b"-05:00" in data
    df = schema.to_pandas(schema.parse_export(data), TZ)
    local_days = set(df["event_date"].dt.date)
    assert local_days == {dt.date(2026, 11, 1)}
    first_raw = dst_day["EventDate"][0].as_py()
    assert df["event_date"].iloc[0] == pd.Timestamp(first_raw)


def test_missing_markers_extra_and_absent_columns() -> None:
    data = (
        b"Id,EventDate,CustomerCity,CustomerArea,NewField,UniqueClick,ProgramId\n"
        b"a,2026-10-05T08:00:00-04:00,n/a,,x,TRUE,12\n"
        b"b,2026-10-05T09:00:00-04:00,Paris,Ile,,0,\n"
    )
    df = schema.to_pandas(schema.parse_export(data), TZ)
    assert df["customer_city"].isna().tolist() == [True, False]
    assert df["customer_area"].isna().tolist() == [True, False]
    assert df["unique_click"].tolist() == [True, False]
    assert df["program_id"].isna().tolist() == [False, True]
    assert df["new_field"].tolist()[0] == "x"  # unknown columns are kept
    assert df["payout"].isna().all() and "payout" in df  # absent ones are added empty
    assert list(df.columns[: len(schema.COLUMN_NAMES)]) == list(schema.COLUMN_NAMES)


def test_unknown_enum_values_are_kept_after_documented_ones() -> None:
    data = b"Id,DeviceType\na,PHONE\nb,HOLOGRAM\n"
    df = schema.to_pandas(schema.parse_export(data))
    assert df["device_type"].tolist() == ["PHONE", "HOLOGRAM"]
    assert df["device_type"].cat.categories[-1] == "HOLOGRAM"


def test_categoricals_survive_concatenation_of_days() -> None:
    days = [
        schema.parse_export(
            formats.serialize(generate_day(dt.date(2026, 10, d), seed=1, clicks_per_day=200), "CSV")
        )
        for d in (3, 4)
    ]
    separate = [schema.to_pandas(t) for t in days]
    combined = pd.concat(separate, ignore_index=True)
    assert isinstance(combined["browser"].dtype, pd.CategoricalDtype)
    assert isinstance(combined["os"].dtype, pd.CategoricalDtype)


def test_json_booleans_and_nested_sub_ids() -> None:
    data = (
        b'{"@page":"1","Clicks":[{"Id":"a","UniqueClick":true,"ProgramId":"5",'
        b'"PartnerRelated":[{"SubId1":"s1","SubId2":"","SubId3":"n/a"}]}]}'
    )
    row = schema.to_pandas(schema.parse_export(data)).iloc[0]
    assert row["sub_id1"] == "s1" and pd.isna(row["sub_id2"]) and pd.isna(row["sub_id3"])
    assert row["unique_click"] is True or bool(row["unique_click"])
    assert row["program_id"] == 5


def test_bare_json_array_and_flat_sub_ids() -> None:
    data = b'[{"Id":"a","SubId1":"x","UniqueClick":"false"}]'
    row = schema.to_pandas(schema.parse_export(data)).iloc[0]
    assert row["sub_id1"] == "x" and not row["unique_click"]


def test_html_page_is_refused() -> None:
    with pytest.raises(ck.ParseError, match="HTML page"):
        schema.parse_export(b"<!DOCTYPE html><html><body>Service unavailable</body></html>")


def test_json_without_clicks_is_refused() -> None:
    with pytest.raises(ck.ParseError, match="no 'Clicks'"):
        schema.parse_export(b'{"Status":"ERROR","Message":"nope"}')


def test_header_only_csv_is_a_valid_empty_day() -> None:
    header = ",".join(c.source for c in schema.COLUMNS).encode() + b"\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = schema.to_pandas(schema.parse_export(header))
    assert len(df) == 0 and list(df.columns) == list(schema.COLUMN_NAMES)


def test_zero_byte_file_warns_and_reads_as_empty() -> None:
    with pytest.warns(schema.ParseWarning, match="empty"):
        table = schema.parse_export(b"")
    assert table.num_rows == 0


def test_malformed_rows_are_dropped_with_a_count() -> None:
    data = b"Id,ProgramId\na,1\nb,2,EXTRA,FIELDS\nc,3\n"
    with pytest.warns(schema.ParseWarning, match="1 malformed CSV row"):
        df = schema.to_pandas(schema.parse_export(data))
    assert df["id"].tolist() == ["a", "c"]


def test_non_utf8_bytes_are_replaced_with_a_warning() -> None:
    data = b"Id,CustomerCity\na,S\xe3o Paulo\nb,Lyon\n"
    with pytest.warns(schema.ParseWarning, match="not valid UTF-8"):
        df = schema.to_pandas(schema.parse_export(data))
    assert df["customer_city"].tolist() == ["S\ufffdo Paulo", "Lyon"]


def test_wrong_typed_value_keeps_the_column_as_text_and_names_it() -> None:
    with pytest.warns(schema.ParseWarning, match="'program_id': 1 of 2 values are not int"):
        table = schema.parse_export(b"Id,ProgramId\na,twelve\nb,12\n")
    assert table["program_id"].type == pa.string()
    assert table["program_id"].to_pylist() == ["twelve", "12"]


def test_unusable_event_date_names_the_column() -> None:
    with pytest.raises(ck.ParseError, match="event_date"):
        schema.parse_export(b"Id,EventDate\na,yesterday\n")


def test_filter_table_matches_api_semantics() -> None:
    table = schema.parse_export(
        b"Id,ProgramId,AdId,SubId1,SubId2,SubId3,UniqueClick\n"
        b"a,1,10,x,,,true\nb,2,20,,x,,false\nc,1,30,,,y,true\nd,3,10,,,,\n"
    )
    ids = lambda t: t["id"].to_pylist()  # noqa: E731
    assert ids(schema.filter_table(table, program_ids=[1])) == ["a", "c"]
    assert ids(schema.filter_table(table, sub_ids=["x"])) == ["a", "b"]
    assert ids(schema.filter_table(table, sub_ids=["y"], unique=True)) == ["c"]
    assert ids(schema.filter_table(table, ad_ids=[10], unique=True)) == ["a"]
    assert ids(schema.filter_table(table)) == ["a", "b", "c", "d"]


def test_load_export_reads_a_file_and_names_a_missing_one(tmp_path, dst_day) -> None:
    path = tmp_path / "clicks.json"
    path.write_bytes(formats.serialize(dst_day, "JSON"))
    df = ck.load_export(path, timezone=TZ)
    assert len(df) == dst_day.num_rows
    with pytest.raises(ck.InvalidRequestError, match="no such file"):
        ck.load_export(tmp_path / "missing.csv")


def test_snake_case_aliases() -> None:
    assert schema.snake_case("CampaignId") == "program_id"
    assert schema.snake_case("PartnerRelated.SubId3") == "sub_id3"
    assert schema.snake_case("LandingPageUrl") == "landing_page_url"
