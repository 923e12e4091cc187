"""The fast paths give exactly what the general ones give: columnar JSON/XML, cached enums."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from clickkit import readers, schema
from clickkit.cache import Cache
from clickkit.errors import ParseError
from clickkit.sandbox import generate_day, serialize

TZ = "America/New_York"


@pytest.fixture(scope="module")
def day() -> pa.Table:
    # The end of DST in New York: two offsets in one day.
    return generate_day(dt.date(2026, 11, 1), seed=5, clicks_per_day=1500, timezone=TZ)


def json_records(data: bytes) -> pa.Table:
    return schema._records_to_table(schema._json_records(data))


def xml_records(data: bytes) -> pa.Table:
    return schema._records_to_table(schema._xml_records(data))


def same_as_records(data: bytes, fmt: str) -> pa.Table | None:
    """The columnar table, after checking it equals the record reader's (when it answers)."""
    fast = (
        readers.json_table(data, is_field=schema.is_schema_field)
        if fmt == "JSON"
        else readers.xml_table(data, is_field=schema.is_schema_field)
    )
    slow = json_records(data) if fmt == "JSON" else xml_records(data)
    if fast is not None:
        assert fast.schema == slow.schema
        assert fast.equals(slow)
    return fast


@pytest.mark.parametrize("fmt", ["JSON", "XML"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"flat": True},
        {"money_style": "dollar", "event_date_style": "naive"},
        {"event_date_style": "Z", "csv_true": "Y", "csv_false": "N"},
    ],
)
def test_columnar_readers_match_the_record_readers_and_the_csv(
    day: pa.Table, fmt: str, options: dict
) -> None:
    if fmt == "JSON":
        options = {k: v for k, v in options.items() if not k.startswith("csv_")}
    data = serialize(day, fmt, **options)
    assert same_as_records(data, fmt) is not None  # the usual export takes the fast path
    csv_options = {k: v for k, v in options.items() if k != "flat"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = schema.parse_export(serialize(day, "CSV", **csv_options), timezone=TZ)
        got = schema.parse_export(data, timezone=TZ)
    assert got.equals(expected)
    pd.testing.assert_frame_equal(schema.to_pandas(got, TZ), schema.to_pandas(expected, TZ))


JSON_SHAPES = {
    "bare array": (b'[{"Id":"a","Os":"IOS"},{"Id":"b","Os":""}]', True),
    "missing and late fields": (
        b'{"Clicks":[{"Id":"a"},{"Id":"b","SubId1":"s","Late":"2026-11-01T00:00:00"}]}',
        False,  # a late field that looks like a date is inferred as a timestamp: refused
    ),
    "late text field": (b'{"Clicks":[{"Id":"a"},{"Id":"b","Late":"x"}]}', True),
    "nulls and n/a": (b'{"Clicks":[{"Id":"a","Os":null,"SubId1":"n/a","SubId2":"N/A"}]}', True),
    "integers": (b'{"Clicks":[{"Id":"a","ProgramId":12,"Extra":-3},{"Id":"b"}]}', True),
    "fractions": (b'{"Clicks":[{"Id":"a","Payout":0.25},{"Id":"b","Payout":1}]}', False),
    "beyond int64": (b'{"Clicks":[{"Id":"a","Big":99999999999999999999}]}', False),
    "mixed types": (b'{"Clicks":[{"Id":"a","ProgramId":"12"},{"Id":"b","ProgramId":12}]}', False),
    "bool and text": (
        b'{"Clicks":[{"Id":"a","UniqueClick":true},{"Id":"b","UniqueClick":"true"}]}',
        False,
    ),
    "null in a nested first record": (
        b'{"Clicks":[{"Id":"a","G":[{"X":null,"Y":"y"}]},{"Id":"b","G":[{"X":"x"}]}]}',
        True,
    ),
    "nested object": (b'{"Clicks":[{"Id":"a","PartnerRelated":{"SubId1":"x"}}]}', True),
    "empty and null lists": (
        b'{"Clicks":[{"Id":"a","PartnerRelated":[{"SubId1":"x"}]},'
        b'{"Id":"b","PartnerRelated":[]},{"Id":"c","PartnerRelated":null},{"Id":"d"}]}',
        True,
    ),
    "nested and flat": (
        b'{"Clicks":[{"Id":"a","SubId1":"","PartnerRelated":[{"SubId1":"x"}]}]}',
        False,
    ),
    "duplicate key": (b'{"Clicks":[{"Id":"a","Os":"IOS","Os":"ANDROID"}]}', False),
    "nested schema field": (b'{"Clicks":[{"Id":"a","Payout":{"v":"1"}}]}', False),
    "records key": (b'{"@page":"1","records":[{"Id":"a"}]}', True),
    "escapes": (b'{"Clicks":[{"Id":"a\\"b\\u00e9\\n","AdName":"x\\\\y"}]}', True),
    "pretty printed": (b'{\n  "Clicks": [\n    {"Id": "a"},\n    {"Id": "b"}\n  ]\n}\n', True),
}


@pytest.mark.parametrize("name", sorted(JSON_SHAPES))
def test_json_shapes(name: str) -> None:
    data, fast = JSON_SHAPES[name]
    assert (same_as_records(data, "JSON") is not None) is fast
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema.parse_export(data)  # the public parser reads every one of them


@pytest.mark.parametrize(
    "data",
    [b'{"Clicks":[{"Id":"a"}]} trailing', b'{"Clicks":[{"Id":"a"}],}', b'{"Other":[]}'],
)
def test_broken_json_still_raises(data: bytes) -> None:
    assert readers.json_table(data, is_field=schema.is_schema_field) is None
    with pytest.raises(ParseError):
        schema.parse_export(data, "JSON")


def _xml(clicks: str, *, head: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (f"{head}<ImpactRadiusResponse><Clicks total=\"2\">{clicks}</Clicks>"
            "</ImpactRadiusResponse>").encode()  # fmt: skip


GROUP = "<PartnerRelated><SubId1>x</SubId1></PartnerRelated>"
LATIN = '<?xml version="1.0" encoding="ISO-8859-1"?>'
XML_SHAPES = {
    "entities": (
        _xml("<Click><Id>a&amp;lt;b&gt;&quot;&apos;</Id><AdName>x&amp;y</AdName></Click>"),
        True,
    ),
    "line ends": (_xml("<Click><Id>a</Id><AdName>two\r\nlines\rand</AdName></Click>"), True),
    "empty elements": (_xml("<Click><Id>a</Id><Os/><SubId1></SubId1></Click>"), True),
    "missing fields": (
        _xml("<Click><Id>a</Id><Os>IOS</Os></Click><Click><Id>b</Id><Late>x</Late></Click>"),
        True,
    ),
    "pretty printed": (_xml("\n  <Click>\n    <Id>a</Id>\n    <Os> IOS </Os>\n  </Click>\n"), True),
    "group": (
        _xml(f"<Click><Id>a</Id>{GROUP}<Os>IOS</Os></Click><Click><Id>b</Id><Os>TV</Os></Click>"),
        True,
    ),
    "empty group": (
        _xml(f"<Click><Id>a</Id><PartnerRelated></PartnerRelated></Click><Click>{GROUP}</Click>"),
        False,
    ),
    "no declaration": (_xml("<Click><Id>a</Id></Click>", head=""), True),
    "latin-1": (_xml("<Click><Id>a\xe9</Id></Click>", head=LATIN).decode().encode("latin-1"),
                False),
    "comment": (_xml("<Click><Id>a</Id><!-- note --></Click>"), False),
    "cdata": (_xml("<Click><Id><![CDATA[a<b]]></Id></Click>"), False),
    "character reference": (_xml("<Click><Id>&#65;</Id></Click>"), False),
    "attribute": (_xml('<Click n="1"><Id>a</Id></Click>'), False),
    "mixed content": (_xml("<Click>note<Id>a</Id></Click>"), False),
    "field twice": (_xml("<Click><Id>a</Id><Os>IOS</Os><Os>TV</Os></Click>"), False),
    "no clicks": (_xml(""), False),
    "deeper nesting": (_xml("<Click><Id>a</Id><P><Q><SubId1>x</SubId1></Q></P></Click>"), False),
    "long tag name": (_xml("<Click><Id>a</Id><AVeryLongFieldNameOfThirtyBytes>x"
                           "</AVeryLongFieldNameOfThirtyBytes></Click>"), False),
    "gt in text": (_xml("<Click><Id>a&gt;b > c</Id></Click>"), True),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(XML_SHAPES))
def test_xml_shapes(name: str) -> None:
    data, fast = XML_SHAPES[name]
    assert (same_as_records(data, "XML") is not None) is fast
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema.parse_export(data)


@pytest.mark.parametrize(
    "clicks",
    [
        "<Click><Id>a</Os></Click>",  # mismatched
        "<Click><Id>a</Id>",  # unclosed
        "<Click><Id>a\x01</Id></Click>",  # a character XML does not allow
        "<Click><Id>a]]>b</Id></Click>",
        "<Click><Id>a & b</Id></Click>",
    ],
)
def test_broken_xml_still_raises(clicks: str) -> None:
    data = _xml(clicks)
    assert readers.xml_table(data, is_field=schema.is_schema_field) is None
    with pytest.raises(ParseError):
        schema.parse_export(data, "XML")


def test_enums_read_as_dictionaries_convert_like_text(tmp_path, day: pa.Table) -> None:
    table = schema.parse_export(serialize(day, "CSV"), timezone=TZ)
    # An undocumented value, present in one day and filtered out of another.
    os_values = table["os"].to_pylist()
    os_values[0] = "PLAN9"
    odd = table.set_column(table.column_names.index("os"), "os", pa.array(os_values))
    cache = Cache(tmp_path)
    try:
        for key, t in (("a", table), ("b", odd)):
            cache.write_day(key, t)
        cache._written.clear()  # read the files, not the tables just written
        read = {key: cache.read_day(key) for key in ("a", "b")}
    finally:
        cache.close()
    assert pa.types.is_dictionary(read["a"].schema.field("os").type)
    for key, t in (("a", table), ("b", odd)):
        assert read[key].cast(t.schema).equals(t)
    cases = [
        ([read["a"]], [table]),
        ([read["a"], read["b"]], [table, odd]),
        ([read["b"].slice(1), read["a"]], [odd.slice(1), table]),  # unused extra in dictionary
        ([table, read["b"]], [table, odd]),  # a day just fetched (text) beside cached ones
    ]
    for got, expected in cases:
        a = schema.to_pandas(schema.concat_tables(got), TZ)
        b = schema.to_pandas(schema.concat_tables(expected), TZ)
        pd.testing.assert_frame_equal(a, b)
        categories = schema.enum_categories(expected)
        pd.testing.assert_frame_equal(
            schema.to_pandas(schema.concat_tables(got), TZ, categories=categories),
            schema.to_pandas(schema.concat_tables(expected), TZ, categories=categories),
        )


def test_day_files_decode_into_the_system_allocator(tmp_path, day: pa.Table) -> None:
    # pyarrow's default allocator keeps the pages a decoding frees: a warm load would
    # peak near twice its frame. The system allocator gives them back.
    table = schema.parse_export(serialize(day, "CSV"), timezone=TZ)
    cache = Cache(tmp_path)
    try:
        cache.write_day("a", table)
        cache._written.clear()  # read the file, not the table just written
        system = pa.system_memory_pool()
        before = system.bytes_allocated()
        read = cache.read_day("a")
        held = system.bytes_allocated() - before
    finally:
        cache.close()
    assert read is not None and read.cast(table.schema).equals(table)
    assert held >= 0.9 * read.get_total_buffer_size()


def test_a_table_read_back_is_stored_as_text(tmp_path, day: pa.Table) -> None:
    import pyarrow.parquet as pq

    table = schema.parse_export(serialize(day, "CSV"), timezone=TZ)
    cache = Cache(tmp_path)
    try:
        cache.write_day("a", table)
        cache._written.clear()
        back = cache.read_day("a")
        cache.write_day("b", back.filter(pc.equal(back["device_type"], "PHONE")))
        stored = pq.read_schema(cache.day_path("b"))
    finally:
        cache.close()
    assert stored.field("device_type").type == pa.string()
    assert stored.field("os").type == pa.string()


def test_a_day_file_that_cannot_be_stored_fails_the_call_and_is_resumed(make_client) -> None:
    # Several jobs at once: results are stored while the next one downloads. A store that
    # fails still fails the call, the other days are stored, and its job is kept.
    import clickkit as ck
    from clickkit.cache import request_key

    client = make_client()
    days = ["2026-11-16", "2026-11-17", "2026-11-18"]
    blocked = client.cache.day_path(request_key(client.account_sid, dt.date(2026, 11, 17)))
    blocked.mkdir(parents=True)  # a folder where the day file goes: the rename fails
    with pytest.raises(ck.CacheError, match="writing a day file"):
        client.clicks(days[0], days[-1])
    records = {r["date"]: r for r in client.cache.jobs()}
    assert set(records) == set(days)
    assert records["2026-11-17"]["pending"] and records["2026-11-17"]["job_id"]
    for day in ("2026-11-16", "2026-11-18"):
        assert not records[day]["pending"]
        assert client.cache.day_path(records[day]["key"]).is_file()
    spent = client.sandbox_server.stats()["requests"].get("ClickExport", 0)
    blocked.rmdir()
    frame = client.clicks(days[0], days[-1])
    assert client.sandbox_server.stats()["requests"].get("ClickExport", 0) == spent
    assert sorted({str(d) for d in frame["event_date"].dt.date.unique()}) == days


def test_results_are_parsed_from_memory_without_a_scratch_file(make_client) -> None:
    # A result is parsed as soon as it arrives: writing, flushing and reading back a file
    # of it would only cost time. The cache holds day files and its index, nothing else.
    client = make_client()
    frame = client.clicks("2026-11-16", "2026-11-18")
    assert len(frame) and frame.attrs["clickkit"]["storage_downloads"] == 3
    assert sorted(p.name for p in client.cache.root.iterdir() if not p.name.startswith(".")) == [
        "days",
        "index",
    ]


def test_finished_results_download_ahead_without_an_extra_call(make_client) -> None:
    # The Jobs list shows every job finished: each result downloads on its own thread
    # while the one before it is parsed, and each is downloaded exactly once.
    import threading

    client = make_client()
    threads: list[str] = []

    def note(response, **kwargs) -> None:
        if response.request.path_url.split("?")[0].endswith("/Download"):
            threads.append(threading.current_thread().name)

    with client.api.response_hook(note):
        frame = client.clicks("2026-11-14", "2026-11-18")
    assert frame.attrs["clickkit"]["storage_downloads"] == 5
    assert threads == ["clickkit-download_0"] * 5
    again = client.clicks("2026-11-14", "2026-11-18")
    pd.testing.assert_frame_equal(frame, again)


def test_text_offsets_for_pandas_are_made_in_the_system_allocator(day: pa.Table) -> None:
    # pandas keeps text as large_string; the 64-bit offsets the conversion makes outlive
    # the table, and pyarrow's default allocator would keep their pages after the frame.
    if pa.default_memory_pool().backend_name == "system":
        pytest.skip("the default allocator is the system one here")
    table = schema.parse_export(serialize(day, "CSV"), timezone=TZ)
    text = [table[f.name] for f in table.schema if f.type == pa.string()]
    offsets = sum(8 * (len(c) + c.num_chunks) for c in text)
    default, system = pa.default_memory_pool(), pa.system_memory_pool()
    before = default.bytes_allocated(), system.bytes_allocated()
    frame = schema.to_pandas(table, TZ)
    grown = default.bytes_allocated() - before[0], system.bytes_allocated() - before[1]
    assert len(frame) == table.num_rows and str(frame["ip_address"].dtype) == "str"
    assert grown[0] < offsets / 4 and grown[1] >= offsets


def test_both_ways_of_decoding_a_day_file_agree_and_catch_damage(tmp_path, day: pa.Table) -> None:
    # The file reader pq.ParquetFile wraps is used when it takes a pool; the dataset
    # fragment is the way if a pyarrow release changes that. Both must give the same
    # table and verify page checksums.
    import pyarrow.parquet as pq

    from clickkit import cache as cache_module

    table = schema.parse_export(serialize(day, "CSV"), timezone=TZ)
    cache = Cache(tmp_path)
    try:
        cache.write_day("a", table)
        data = cache.day_path("a").read_bytes()
    finally:
        cache.close()
    expected = pq.ParquetFile(pa.BufferReader(data), read_dictionary=list(schema.ENUMS)).read()
    system = pa.system_memory_pool()
    assert cache_module._file_reader() is not None  # the fast way is the one taken here
    for decoded in (cache_module._decode(data), cache_module._decode_fragment(data, system)):
        assert decoded.equals(expected)
        assert decoded.schema.equals(expected.schema, check_metadata=True)
    damaged = bytearray(data)
    damaged[len(data) // 3] ^= 0xFF  # inside a data page
    for decode in (cache_module._decode, lambda d: cache_module._decode_fragment(d, system)):
        with pytest.raises(OSError):
            decode(bytes(damaged))


def test_a_result_fetched_ahead_is_not_used_for_another_run(make_client) -> None:
    # Another process may replay a job between the Jobs list and its check: the result
    # fetched ahead belongs to the run the record named then, so it is fetched again.
    import threading

    from clickkit.cache import request_key

    client = make_client()
    second = request_key(client.account_sid, dt.date(2026, 11, 17))
    downloads: list[tuple[str, str]] = []

    def note(response, **kwargs) -> None:
        if not response.request.path_url.split("?")[0].endswith("/Download"):
            return
        if not downloads:  # the first result, fetched ahead: the second day is replayed
            client.cache.update_job(second, requested_at="2026-11-27T08:00:00+00:00", replays=1)
        record = next(r for r in client.cache.jobs() if r["job_id"] in response.request.url)
        downloads.append((record["date"], threading.current_thread().name))

    with client.api.response_hook(note):
        frame = client.clicks("2026-11-16", "2026-11-18")
    assert frame.attrs["clickkit"]["storage_downloads"] == 4
    fetched = [thread for day, thread in downloads if day == "2026-11-17"]
    assert fetched == ["clickkit-download_0", "MainThread"]
    stored = next(r for r in client.cache.jobs() if r["key"] == second)
    assert stored["result"]["produced_at"] == "2026-11-27T08:00:00+00:00"
