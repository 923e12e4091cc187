"""Every plausible spelling of an export file gives the same typed table, exactly."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import clickkit as ck
from clickkit import schema
from clickkit.sandbox import generate_day, serialize

TZ = "America/New_York"
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def quiet(data: bytes, **kwargs: object) -> pa.Table:
    """Parse, failing on any warning (a spelling must not cost a warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return schema.parse_export(data, **kwargs)


def meta(table: pa.Table) -> tuple[bytes, bytes]:
    md = table.schema.metadata
    return md[schema.MISSING_KEY], md[schema.OFFSETS_KEY]


@pytest.fixture(scope="module")
def dst_day() -> pa.Table:
    # 2026-11-01 is the end of DST in New York: -04:00 until 02:00, then -05:00.
    return generate_day(dt.date(2026, 11, 1), seed=3, clicks_per_day=3000, timezone=TZ)


def restyle(day: pa.Table, style: str) -> pa.Table:
    """The day with EventDate rewritten as wall time ("naive") or in UTC ("Z")."""
    raw = day["EventDate"]
    if style == "naive":
        values = pc.utf8_slice_codeunits(raw, 0, 19)
    else:
        instants = pc.cast(raw, pa.timestamp("s", tz="UTC"))
        values = pc.binary_join_element_wise(
            pc.strftime(instants, format="%Y-%m-%dT%H:%M:%S"), "Z", ""
        )
    return day.set_column(day.schema.get_field_index("EventDate"), "EventDate", values)


# ---------------------------------------------------------------------------------------
# Value spellings


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("true", "false"),
        ("TRUE", "FALSE"),
        ("True", "False"),
        ("Y", "N"),
        ("y", "n"),
        ("yes", "no"),
        ("1", "0"),
        ("t", "f"),
    ],
)
def test_boolean_spellings(yes: str, no: str) -> None:
    csv_table = quiet(f"Id,UniqueClick\na,{yes}\nb,{no}\nc,\n".encode())
    records = [{"Id": "a", "UniqueClick": yes}, {"Id": "b", "UniqueClick": no}]
    json_table = quiet(json.dumps({"Clicks": records}).encode())
    for table in (csv_table, json_table):
        assert table["unique_click"].type == pa.bool_()
    assert csv_table["unique_click"].to_pylist() == [True, False, None]
    assert json_table["unique_click"].to_pylist() == [True, False]


def test_boolean_spelling_of_a_realistic_day(dst_day: pa.Table) -> None:
    plain = quiet(serialize(dst_day, "CSV"))
    for yes, no in (("Y", "N"), ("1", "0"), ("TRUE", "FALSE")):
        spelled = quiet(serialize(dst_day, "CSV", csv_true=yes, csv_false=no))
        assert spelled.equals(plain, check_metadata=True)
        assert quiet(serialize(dst_day, "XML", csv_true=yes, csv_false=no)).equals(plain)


MONEY = [
    ("0.25", 0.25),
    ('"0.25"', 0.25),
    ("$0.25", 0.25),
    ('"1,234.50"', 1234.5),
    ('"$1,234.50"', 1234.5),
    ("-$0.25", -0.25),
    ("", None),
]


def test_money_spellings_in_csv() -> None:
    rows = "".join(f"r{i},{v},{v}\n" for i, (v, _) in enumerate(MONEY))
    table = quiet(f"Id,CpcBid,Payout\n{rows}".encode())
    expected = [x for _, x in MONEY]
    assert table["cpc_bid"].type == table["payout"].type == pa.float64()
    assert table["cpc_bid"].to_pylist() == expected
    assert table["payout"].to_pylist() == expected


def test_each_money_spelling_alone_in_csv() -> None:
    # A whole file in one spelling: the typed read or the text path, same values.
    for spelled, value in MONEY[:-1]:
        table = quiet(f"Id,Payout\na,{spelled}\nb,{spelled}\n".encode())
        assert table["payout"].to_pylist() == [value, value], spelled


def test_money_spellings_in_json_and_xml() -> None:
    values = ["0.25", 0.25, "$0.25", "1,234.50", "$1,234.50", "-$0.25", 3, None, ""]
    expected = [0.25, 0.25, 0.25, 1234.5, 1234.5, -0.25, 3.0, None, None]
    records = [{"Id": f"r{i}", "Payout": v} for i, v in enumerate(values)]
    assert quiet(json.dumps(records).encode())["payout"].to_pylist() == expected
    xml = "".join(
        f"<Click><Id>r{i}</Id><Payout>{'' if v is None else v}</Payout></Click>"
        for i, v in enumerate(values)
    )
    table = quiet(f"<ImpactRadiusResponse><Clicks>{xml}</Clicks></ImpactRadiusResponse>".encode())
    assert table["payout"].to_pylist() == expected


def test_integer_spellings() -> None:
    table = quiet(b'Id,ProgramId,AdId,MediaId\na,"250",250.0,250\nb,7,8.00,\n')
    for name, expected in (
        ("program_id", [250, 7]),
        ("ad_id", [250, 8]),
        ("media_id", [250, None]),
    ):
        assert table[name].type == pa.int64()
        assert table[name].to_pylist() == expected
    records = [{"Id": "a", "ProgramId": 250.0, "AdId": "250", "MediaId": 250}]
    row = quiet(json.dumps({"Clicks": records}).encode()).to_pylist()[0]
    assert (row["program_id"], row["ad_id"], row["media_id"]) == (250, 250, 250)


def test_a_spelling_past_the_sampled_rows_is_still_read() -> None:
    # 5,000 plain rows, then a thousands separator: the typed read fails, the text path
    # takes over and still types the column.
    rows = "".join(f"r{i},0.25,Y\n" for i in range(5000))
    data = f'Id,Payout,UniqueClick\n{rows}last,"$1,234.50",yes\n'.encode()
    table = quiet(data)
    assert table["payout"].type == pa.float64()
    assert table["payout"].to_pylist()[-2:] == [0.25, 1234.5]
    assert table["unique_click"].to_pylist()[-1] is True


def test_bom_and_line_ends_give_the_same_table(dst_day: pa.Table) -> None:
    crlf = serialize(dst_day, "CSV")
    lf = crlf.replace(b"\r\n", b"\n")
    assert b"\r\n" not in lf
    reference = quiet(crlf)
    for data in (lf, b"\xef\xbb\xbf" + lf, serialize(dst_day, "CSV", bom=True)):
        assert quiet(data).equals(reference, check_metadata=True)
    assert reference.num_rows == dst_day.num_rows
    as_json = serialize(dst_day, "JSON")
    assert quiet(b"\xef\xbb\xbf" + as_json).equals(quiet(as_json))


# ---------------------------------------------------------------------------------------
# EventDate and the account's time zone


def test_naive_z_and_offset_event_dates_in_one_file() -> None:
    data = (
        b"Id,EventDate\n"
        b"offset,2026-11-01T01:30:00-05:00\n"  # the second 01:30 of the DST change
        b"zulu,2026-11-01T06:30:00Z\n"
        b"ambiguous,2026-11-01T01:30:00\n"  # wall time: the earlier instant (EDT)
        b"skipped,2026-03-08T02:30:00\n"  # no such wall time: the end of the gap
        b"summer,2026-07-04T12:00:00\n"
        b"winter,2026-01-15 12:00:00\n"
        b"compact,2026-01-15T12:00:00+0100\n"
        b"fraction,2026-01-15T12:00:00.123456-05:00\n"
        b"empty,\n"
    )
    table = quiet(data, timezone=TZ)
    assert table["event_date"].type == pa.timestamp("ms", tz="UTC")
    assert table["event_date"].to_pylist() == [
        utc(2026, 11, 1, 6, 30),
        utc(2026, 11, 1, 6, 30),
        utc(2026, 11, 1, 5, 30),
        utc(2026, 3, 8, 7, 0),
        utc(2026, 7, 4, 16, 0),
        utc(2026, 1, 15, 17, 0),
        utc(2026, 1, 15, 11, 0),
        utc(2026, 1, 15, 17, 0, 0, 123000),
        None,
    ]
    assert meta(table)[1] == b"-05:00,+00:00,+01:00,none"
    # The same wall times in another account zone are other instants.
    paris = quiet(data, timezone="Europe/Paris")
    assert paris["event_date"][4].as_py() == utc(2026, 7, 4, 10, 0)
    assert paris["event_date"][0].as_py() == utc(2026, 11, 1, 6, 30)


@pytest.mark.parametrize("fmt", ["CSV", "JSON", "XML"])
def test_realistic_dst_day_in_three_date_styles(dst_day: pa.Table, fmt: str) -> None:
    truth = pc.cast(dst_day["EventDate"], pa.timestamp("ms", tz="UTC")).to_pylist()
    offset = quiet(serialize(dst_day, fmt), timezone=TZ)
    zulu = quiet(serialize(restyle(dst_day, "Z"), fmt), timezone=TZ)
    naive = quiet(serialize(restyle(dst_day, "naive"), fmt), timezone=TZ)
    assert offset["event_date"].to_pylist() == truth
    assert zulu["event_date"].to_pylist() == truth
    assert (meta(offset)[1], meta(zulu)[1], meta(naive)[1]) == (
        b"-05:00,-04:00",
        b"+00:00",
        b"none",
    )
    # Wall time is exact except in the repeated hour, which is read as its first pass.
    repeated = [
        raw.endswith("-05:00") and raw[11:13] == "01" for raw in dst_day["EventDate"].to_pylist()
    ]
    assert any(repeated)
    expected = [t - dt.timedelta(hours=1) if r else t for t, r in zip(truth, repeated, strict=True)]
    assert naive["event_date"].to_pylist() == expected
    # Same everything else.
    assert naive.drop_columns(["event_date"]).equals(offset.drop_columns(["event_date"]))


def test_a_naive_value_late_in_an_offset_file_is_not_read_as_utc() -> None:
    rows = "".join(f"r{i},2026-10-05T08:00:00-04:00\n" for i in range(5000))
    table = quiet(f"Id,EventDate\n{rows}late,2026-10-05T09:00:00\n".encode(), timezone=TZ)
    assert table["event_date"][0].as_py() == utc(2026, 10, 5, 12)
    assert table["event_date"][-1].as_py() == utc(2026, 10, 5, 13)
    assert meta(table)[1] == b"-04:00,none"


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ck.InvalidRequestError, match="unknown time zone"):
        schema.parse_export(b"Id,EventDate\na,2026-10-05T08:00:00\n", timezone="Mars/Olympus")


def test_load_export_reads_wall_time_in_the_account_zone(tmp_path) -> None:
    path = tmp_path / "clicks.csv"
    path.write_bytes(b"Id,EventDate\na,2026-10-05T08:00:00\n")
    df = ck.load_export(path, timezone=TZ)
    assert df["event_date"].iloc[0] == pd.Timestamp("2026-10-05 08:00", tz=TZ)


# ---------------------------------------------------------------------------------------
# Column names, extra and missing columns, metadata


SPELLINGS = {
    "ip_address": ["IPAddress", "IpAddress", "ip_address", "IP Address"],
    "cpc_bid": ["CPCBid", "CpcBid", "cpc-bid"],
    "sub_id1": ["Sub Id 1", "SubID1", "Sub_Id_1", "PartnerRelated.SubId1", "subid1"],
    "program_id": ["ProgramId", "CampaignId", "Campaign ID", "program.id"],
    "program_name": ["CampaignName", "PROGRAMNAME"],
    "unique_click": ["UniqueClick", "Unique_Click", "unique click"],
}


@pytest.mark.parametrize(
    ("name", "spelling"), [(n, s) for n, spellings in SPELLINGS.items() for s in spellings]
)
def test_loose_column_names(name: str, spelling: str) -> None:
    assert schema.snake_case(spelling) == name
    value = {"cpc_bid": "0.25", "program_id": "12", "unique_click": "Y"}.get(name, "v")
    table = quiet(f'Id,"{spelling}"\na,{value}\n'.encode())
    expected = {"cpc_bid": 0.25, "program_id": 12, "unique_click": True}.get(name, "v")
    assert table[name].to_pylist() == [expected]
    assert table.schema.field(name).type == schema.arrow_type(schema._BY_NAME[name].kind)
    assert name not in meta(table)[0].decode().split(",")


def test_the_fast_path_types_known_columns_under_any_spelling() -> None:
    header = "ID,Campaign Id,CPCBid,Unique_Click,event-date"
    types = schema._csv_types(header.split(","), f"{header}\na,1,0.5,Y,x\n".encode())
    assert types == {
        "ID": pa.string(),
        "Campaign Id": pa.int64(),
        "CPCBid": pa.float64(),
        "Unique_Click": pa.bool_(),
        "event-date": pa.string(),  # always text first, converted after
    }


def test_extra_and_missing_columns_and_metadata() -> None:
    data = (
        b"Id,EventDate,AdCampaign,Ad Group,Keyword,MatchType,Channel,SubId1,SubId2,Payout\n"
        b"a,2026-10-05T08:00:00-04:00,fall,g1,shoes,EXACT,search,s,,0.5\n"
        b"b,2026-10-05T09:00:00-04:00,,g2,,BROAD,social,,t,\n"
    )
    table = quiet(data)
    extras = ["ad_campaign", "ad_group", "keyword", "match_type", "channel"]
    assert table.column_names == [*schema.COLUMN_NAMES, *extras]
    assert table["ad_campaign"].to_pylist() == ["fall", None]
    assert table["match_type"].to_pylist() == ["EXACT", "BROAD"]
    assert all(table.schema.field(n).type == pa.string() for n in extras)
    present = {"id", "event_date", "sub_id1", "sub_id2", "payout"}
    missing = [n for n in schema.COLUMN_NAMES if n not in present]
    assert meta(table) == (",".join(missing).encode(), b"-04:00")
    assert table["sub_id3"].null_count == 2 and table["unique_click"].null_count == 2
    # Metadata survives normalise, Parquet (the cache) and to_pandas.
    assert schema.normalise(table).equals(table, check_metadata=True)
    df = schema.to_pandas(table, TZ)
    assert list(df.columns) == table.column_names
    assert df["keyword"].tolist()[0] == "shoes"


def test_metadata_of_a_complete_file_and_of_an_empty_one(dst_day: pa.Table, tmp_path) -> None:
    table = quiet(serialize(dst_day, "CSV"))
    assert meta(table) == (b"", b"-05:00,-04:00")
    pq.write_table(table, tmp_path / "day.parquet")
    assert meta(pq.read_table(tmp_path / "day.parquet")) == meta(table)
    header_only = ",".join(c.source for c in schema.COLUMNS if c.name != "payout") + "\n"
    assert meta(quiet(header_only.encode())) == (b"payout", b"")
    assert meta(schema.empty_table()) == (b"", b"")
    with pytest.warns(schema.ParseWarning, match="empty"):
        assert meta(schema.parse_export(b"")) == (b"", b"")


def test_json_and_xml_layouts(dst_day: pa.Table) -> None:
    reference = quiet(serialize(dst_day, "CSV"))
    for fmt in ("JSON", "XML"):
        for flat in (False, True):
            assert quiet(serialize(dst_day, fmt, flat=flat)).equals(reference), (fmt, flat)
    # PartnerRelated as an object, typed values, a bare array, an XML namespace.
    records = [
        {
            "Id": "a",
            "CampaignId": 12,
            "EventDate": "2026-10-05T08:00:00-04:00",
            "UniqueClick": True,
            "CpcBid": 0.25,
            "PartnerRelated": {"SubId1": "x", "SubId2": "", "SubId3": "n/a"},
            "BrandRelated": [{"AdCampaign": "fall", "Channel": "search"}],
        }
    ]
    for document in (records, {"@page": "1", "@numpages": "1", "Clicks": records}):
        row = quiet(json.dumps(document).encode()).to_pylist()[0]
        assert (row["program_id"], row["unique_click"], row["cpc_bid"]) == (12, True, 0.25)
        assert (row["sub_id1"], row["sub_id2"], row["sub_id3"]) == ("x", None, None)
        assert (row["ad_campaign"], row["channel"]) == ("fall", "search")
    xml = (
        b'<ImpactRadiusResponse xmlns="urn:x"><Clicks page="1"><Click><Id>a</Id>'
        b"<PartnerRelated><SubId1>x</SubId1></PartnerRelated><UniqueClick>Y</UniqueClick>"
        b"</Click></Clicks></ImpactRadiusResponse>"
    )
    row = quiet(xml).to_pylist()[0]
    assert (row["id"], row["sub_id1"], row["unique_click"]) == ("a", "x", True)


# ---------------------------------------------------------------------------------------
# Values that do not parse


def test_bad_payout_values_keep_the_column_as_text_with_a_count(dst_day: pa.Table) -> None:
    rows = [f"r{i},{i % 10}.25" for i in range(297)] + ["x1,soon", "x2,n.a.", "x3,12%"]
    data = ("Id,Payout\n" + "\n".join(rows) + "\n").encode()
    with pytest.warns(schema.ParseWarning) as caught:
        table = schema.parse_export(data)
    messages = [str(w.message) for w in caught]
    assert messages == [
        "column 'payout': 3 of 300 values are not float (e.g. 'soon'); the column is kept as text."
    ]
    assert table["payout"].type == pa.string()
    assert table["payout"].to_pylist()[:2] == ["0.25", "1.25"]
    assert table["payout"].to_pylist()[-3:] == ["soon", "n.a.", "12%"]
    df = schema.to_pandas(table)
    assert pd.api.types.is_string_dtype(df["payout"]) and df["payout"].iloc[-1] == "12%"


def test_bad_values_in_json_keep_the_column_as_text() -> None:
    records = [{"Id": "a", "UniqueClick": "maybe", "AdId": "7"}, {"Id": "b", "UniqueClick": True}]
    with pytest.warns(schema.ParseWarning, match="'unique_click': 1 of 2 values are not bool"):
        table = schema.parse_export(json.dumps(records).encode())
    assert table["unique_click"].to_pylist() == ["maybe", "true"]
    assert table["ad_id"].to_pylist() == [7, None]


def test_an_integer_beyond_int64_is_kept_as_text() -> None:
    with pytest.warns(schema.ParseWarning, match="'media_id': 1 of 2 values are not int"):
        table = schema.parse_export(b"Id,MediaId\na,12\nb,99999999999999999999\n")
    assert table["media_id"].to_pylist() == ["12", "99999999999999999999"]


def test_entirely_empty_columns_are_not_errors() -> None:
    table = quiet(b"Id,EventDate,Payout,UniqueClick,ProgramId\na,,,,\nb,n/a,,N/A,\n")
    assert table["event_date"].null_count == 2 and table["payout"].null_count == 2
    assert table["payout"].type == pa.float64() and table["unique_click"].type == pa.bool_()
    assert meta(table) == (
        ",".join(
            n
            for n in schema.COLUMN_NAMES
            if n not in {"id", "event_date", "payout", "unique_click", "program_id"}
        ).encode(),
        b"",
    )


@pytest.mark.parametrize(
    "data",
    [
        b"Id,EventDate\na,2026-10-05T08:00:00-04:00\nb,soon\n",
        b"Id,EventDate\na,2026-13-45T08:00:00-04:00\n",
        b'[{"Id":"a","EventDate":"2026-10-05T08:00:00Z"},{"Id":"b","EventDate":"later"}]',
        b"<ImpactRadiusResponse><Clicks><Click><Id>a</Id><EventDate>x</EventDate></Click>"
        b"</Clicks></ImpactRadiusResponse>",
    ],
)
def test_unusable_event_dates_raise_naming_the_column(data: bytes) -> None:
    with pytest.raises(ck.ParseError, match="column 'event_date': 1 of"):
        schema.parse_export(data, timezone=TZ)


def test_unusable_ids_raise_naming_the_column() -> None:
    data = b'[{"Id":{"value":"a"},"EventDate":"2026-10-05T08:00:00Z"}]'
    with pytest.raises(ck.ParseError, match="column 'id'"):
        schema.parse_export(data)


# ---------------------------------------------------------------------------------------
# Combining days and pages


def test_concat_tables_of_a_typed_day_and_a_text_day() -> None:
    typed = quiet(b"Id,EventDate,Payout\na,2026-11-01T01:00:00-04:00,0.25\n")
    with pytest.warns(schema.ParseWarning):
        text = schema.parse_export(
            b"Id,EventDate,Payout,Channel,UniqueClick\nb,2026-11-01T01:00:00-05:00,soon,search,Y\n"
        )
    both = schema.concat_tables([typed, text])
    assert both.num_rows == 2
    assert both.column_names == [*schema.COLUMN_NAMES, "channel"]
    assert both["payout"].type == pa.string()
    assert both["payout"].to_pylist() == ["0.25", "soon"]
    assert both["channel"].to_pylist() == [None, "search"]
    assert both["unique_click"].to_pylist() == [None, True]
    assert both["event_date"].to_pylist() == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 6)]
    missing_typed = set(meta(typed)[0].decode().split(","))
    assert set(meta(both)[0].decode().split(",")) == missing_typed  # missing in any
    assert meta(both)[1] == b"-05:00,-04:00"  # union
    df = schema.to_pandas(both, TZ)
    assert pd.api.types.is_string_dtype(df["payout"]) and df["payout"].tolist() == ["0.25", "soon"]
    assert df["event_date"].tolist() == [
        pd.Timestamp("2026-11-01 01:00-04:00").tz_convert(TZ),
        pd.Timestamp("2026-11-01 01:00-05:00").tz_convert(TZ),
    ]
    assert schema.concat_tables([]).equals(schema.empty_table(), check_metadata=True)
    assert schema.concat_tables([typed]).equals(typed, check_metadata=True)


def test_filters_work_on_columns_kept_as_text() -> None:
    with pytest.warns(schema.ParseWarning):
        table = schema.parse_export(
            b"Id,ProgramId,UniqueClick\na,12,yes\nb,twelve,no\nc,12,maybe\n"
        )
    assert schema.filter_table(table, program_ids=[12])["id"].to_pylist() == ["a", "c"]
    assert schema.filter_table(table, unique=True)["id"].to_pylist() == ["a"]


def test_parse_pages_of_three_json_pages_is_one_table(dst_day: pa.Table, tmp_path) -> None:
    n = dst_day.num_rows
    cuts = [0, n // 3, 2 * n // 3, n]
    pages = [serialize(dst_day.slice(a, b - a), "JSON") for a, b in itertools.pairwise(cuts)]
    whole = quiet(serialize(dst_day, "JSON"), timezone=TZ)
    combined = schema.parse_pages(pages, timezone=TZ)
    assert combined.num_rows == n
    assert combined.equals(whole, check_metadata=True)
    paths = []
    for i, page in enumerate(pages):
        paths.append(tmp_path / f"page{i}.json")
        paths[-1].write_bytes(page)
    assert schema.parse_pages(paths, "JSON", timezone=TZ).equals(whole)
    xml_pages = [serialize(dst_day.slice(a, b - a), "XML") for a, b in itertools.pairwise(cuts)]
    assert schema.parse_pages(xml_pages, timezone=TZ).equals(whole)


def test_concat_tables_after_a_parquet_round_trip(tmp_path) -> None:
    day = quiet(b"Id,EventDate,DeviceType\na,2026-10-05T08:00:00-04:00,PHONE\n")
    enum = pa.dictionary(pa.int32(), pa.string())
    assert day["device_type"].type == enum  # an enum is read as a dictionary of its text
    i = day.schema.get_field_index("device_type")
    text = day.set_column(i, "device_type", day["device_type"].cast(pa.string()))
    stored = text.schema.set(5, pa.field("event_date", pa.timestamp("us", "UTC")))
    pq.write_table(text.cast(stored), tmp_path / "d.parquet")  # enums stored as text
    reread = pq.read_table(tmp_path / "d.parquet", read_dictionary=["device_type"])
    for first, kind in ((day, enum), (text, pa.string())):  # text with a dictionary: text
        both = schema.concat_tables([first, reread])
        assert both.schema.field("event_date").type == pa.timestamp("ms", tz="UTC")
        assert both["device_type"].type == kind
        assert both["device_type"].to_pylist() == ["PHONE"] * 2
        assert both["event_date"].to_pylist() == [utc(2026, 10, 5, 12)] * 2
