"""The columnar JSON reader: documents read in parts, empty markers, what it refuses."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from clickkit import columnar, json_reader, readers, schema
from clickkit.errors import ParseError
from clickkit.sandbox import generate_day, serialize


@pytest.fixture(scope="module")
def day() -> pa.Table:
    return generate_day(dt.date(2026, 11, 2), seed=11, clicks_per_day=3000)


@pytest.fixture(scope="module")
def export(day: pa.Table) -> bytes:
    """A JSON export large enough to be read in two halves."""
    data = serialize(day, "JSON")
    assert len(data) > 2 * columnar._SPLIT_BYTES
    return data


def records(data: bytes) -> pa.Table:
    return schema._records_to_table(schema._json_records(data))


def fast(data: bytes) -> pa.Table | None:
    return readers.json_table(data, is_field=schema.is_schema_field)


def parsed(data: bytes) -> pa.Table | None:
    """The table of pyarrow's JSON reader (the regular exports here take a faster path)."""
    return json_reader._parsed_json(data, schema.is_schema_field)


def bare(data: bytes) -> bytes:
    """The document's click list alone, as a bare array."""
    return b" [" + data[data.index(b"[") + 1 : data.rindex(b"]")] + b"]\n"


def middle_record(data: bytes) -> tuple[int, int]:
    """Where the first record past the middle starts and ends (where the cut falls)."""
    start = data.index(b"},{", len(data) // 2) + 2
    return start, data.index(b"},{", start) + 1


def with_record(data: bytes, change: str, value: object) -> tuple[bytes, int, int]:
    """``data`` with one field of the record just past the middle set to ``value``.

    Also where that record now starts and ends.
    """
    start, end = middle_record(data)
    record = json.loads(data[start:end])
    record[change] = value
    new = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
    return data[:start] + new + data[end:], start, start + len(new)


@pytest.mark.parametrize("shape", ["envelope", "bare array"])
@pytest.mark.parametrize("part_bytes", [None, 1 << 19])
def test_parts_read_as_the_record_reader(
    export: bytes, shape: str, part_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if part_bytes:
        monkeypatch.setattr(json_reader, "_PART_BYTES", part_bytes)  # as a larger document
    data = export if shape == "envelope" else bare(export)
    table = parsed(data)
    assert table is not None
    assert table.schema == records(data).schema
    assert table.equals(records(data))
    # Read in parts (two halves by default), each flattened on its own thread.
    assert table["Id"].num_chunks == (len(data) // part_bytes if part_bytes else 2)


@pytest.mark.parametrize(
    "options",
    [
        {"flat": True},
        {"money_style": "dollar", "event_date_style": "naive"},
        {"page": 2, "numpages": 3, "pagesize": 1000, "total": 2500},
    ],
)
def test_export_variants_read_in_parts(
    day: pa.Table, options: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_reader, "_PART_BYTES", 1 << 19)
    data = serialize(day, "JSON", **options)
    table = parsed(data)
    assert table is not None
    assert table["Id"].num_chunks > 2
    assert table.schema == records(data).schema
    assert table.equals(records(data))


def long_text(data: bytes) -> str:
    """Text that moves the middle of ``data`` into itself, a ``},{`` at its end."""
    return "a" * 3 * len(data) + "},{b"


@pytest.mark.parametrize("change", ["string", "late field"])
@pytest.mark.parametrize("part_bytes", [None, 1 << 19])
def test_a_wrong_cut_is_read_whole(
    export: bytes, change: str, part_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if part_bytes:
        monkeypatch.setattr(json_reader, "_PART_BYTES", part_bytes)
    if change == "string":  # the first "},{" past the middle is inside a string
        data, start, end = with_record(export, "AdName", long_text(export))
    else:  # the halves have different fields
        data, start, end = with_record(export, "Late", "only in one half")
    cut = json_reader._BETWEEN_RECORDS.search(data, len(data) // 2)
    assert (start < cut.start() < end) is (change != "late field")
    table = parsed(data)
    assert table is not None
    assert table["Id"].num_chunks == 1  # the halves were refused: read whole
    assert table.equals(records(data))


@pytest.mark.parametrize("change", ["field", "cut"])
@pytest.mark.parametrize("part_bytes", [None, 1 << 19])
def test_a_group_of_several_objects_is_left_to_the_record_reader(
    export: bytes, change: str, part_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The record reader takes the fields of a group's first object; pyarrow types the
    # group from all of them, so a field only a later object has would be a column more.
    if part_bytes:
        monkeypatch.setattr(json_reader, "_PART_BYTES", part_bytes)
    if change == "field":  # in the second half, read as a part of its own
        group = [{"SubId1": "a"}, {"SubId1": "b", "Foo": "c"}]
    else:  # the first "},{" past the middle between the group's two objects
        group = [{"SubId1": long_text(export)[:-4]}, {"SubId1": "b"}]
    data = with_record(export, "PartnerRelated", group)[0]
    assert fast(data) is None
    assert "Foo" not in records(data).column_names
    small = b'{"Clicks":[{"Id":"a","PartnerRelated":[{"SubId1":"x"},{"Foo":"y"}]}]}'
    assert fast(small) is None
    assert records(small).to_pylist() == [{"Id": "a", "SubId1": "x"}]


@pytest.mark.parametrize("part_bytes", [None, 1 << 19])
@pytest.mark.parametrize(
    "after", [b',"x":1', b',"x":[{"Id":"z"}]', b' , "Records":[]', b',"@page":"1"\n']
)
def test_content_after_a_bare_array_still_raises(
    export: bytes, after: bytes, part_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read as {"Clicks":[...]}, what follows the array would be the object's members.
    if part_bytes:
        monkeypatch.setattr(json_reader, "_PART_BYTES", part_bytes)
    for data in (b'[{"Id":"a","Os":"x"}]' + after, bare(export).rstrip() + after):
        assert fast(data) is None
        with pytest.raises(ParseError, match="not valid JSON"):
            schema.parse_export(data, "JSON")


@pytest.mark.parametrize("half", ["first", "second"])
def test_bytes_that_are_not_utf8_are_left_to_the_record_reader(export: bytes, half: str) -> None:
    # pyarrow keeps such bytes in its strings; the record reader says the file is broken.
    after = len(export) // 4 if half == "first" else middle_record(export)[1]
    at = export.index(b'"AdName":"', after) + len(b'"AdName":"')
    data = export[:at] + b"\xff" + export[at:]
    assert fast(data) is None
    with pytest.raises(ParseError, match="not valid JSON"):
        schema.parse_export(data, "JSON")


@pytest.mark.parametrize(
    "data",
    [
        b'{"@page":NaN,"Clicks":[{"Id":"a"}]}',
        b'{"@total":-Infinity,"Clicks":[{"Id":"a"}]}',
        b'{"Clicks":[{"Id":"a"}],"@numpages":Infinity}',
    ],
)
def test_nan_and_infinity_in_the_envelope_still_raise(data: bytes) -> None:
    # pyarrow reads these literals as doubles; JSON has no such numbers.
    assert fast(data) is None
    with pytest.raises(ParseError):
        schema.parse_export(data, "JSON")


def test_a_fractional_envelope_number_reads_record_by_record() -> None:
    data = b'{"@page":1.5,"Clicks":[{"Id":"a","Os":"n/a"}]}'
    assert fast(data) is None
    assert schema.parse_export(data, "JSON")["os"].to_pylist() == [None]


VALUES = ["", "n/a", "N/A", "n/b", "N/a", "a/a", "é/", "abc", "n/aa", " n/a", "x", "NA"]


@pytest.mark.parametrize("values", [VALUES, ["n/a", "N/A", ""], ["abc", "x"], [""]])
def test_markers_by_length_are_the_null_values(values: list[str]) -> None:
    array = pa.array(values * 3, pa.string())
    marked = columnar._markers_by_length(array)
    blank = pc.is_in(array, pa.array(columnar._NULL_VALUES))
    expected = pc.if_else(blank, pa.scalar(None, pa.string()), array)
    assert marked is not None
    marked.validate(full=True)
    assert marked.equals(expected)
    assert marked.null_count == expected.null_count


def test_markers_with_nulls_or_an_offset_take_the_general_path() -> None:
    assert columnar._markers_by_length(pa.array(["a", None, ""])) is None
    assert columnar._markers_by_length(pa.array(["", "a", "n/a"]).slice(1)) is None
    assert columnar._blank_to_null(pa.array(["", "a", "n/a"]).slice(1)).to_pylist() == [
        "a",
        None,
    ]
