"""JSON exports whose records repeat the first one's layout are read from its bytes.

Every record must have the first record's keys in the same order, with the same kinds
of value and the same bytes between values; anything else is left to pyarrow's JSON
reader, and both must give the record reader's table.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pyarrow as pa
import pytest

from clickkit import json_layout, readers, schema
from clickkit.columnar import _SPLIT_BYTES
from clickkit.errors import ParseError
from clickkit.sandbox import generate_day, serialize


@pytest.fixture(scope="module")
def day() -> pa.Table:
    return generate_day(dt.date(2026, 11, 3), seed=7, clicks_per_day=3000, timezone="Asia/Kolkata")


@pytest.fixture(scope="module")
def export(day: pa.Table) -> bytes:
    data = serialize(day, "JSON")
    assert len(data) > 2 * _SPLIT_BYTES  # checked and cut on two threads
    return data


def records(data: bytes) -> pa.Table:
    return schema._records_to_table(schema._json_records(data))


def repeated(data: bytes) -> pa.Table | None:
    """The repeated layout's table, after checking it equals the record reader's."""
    table = json_layout._repeated_json(data, schema.is_schema_field)
    if table is not None:
        expected = records(data)
        assert table.schema == expected.schema
        assert table.equals(expected)
    return table


def compact(value: object, spaced: bool = False) -> bytes:
    separators = (", ", ": ") if spaced else (",", ":")
    return json.dumps(value, separators=separators, ensure_ascii=False).encode()


def typed(data: bytes) -> dict:
    """The document with integer ids (one negative), as an API may send numbers."""
    document = json.loads(data)
    for record in document["Clicks"]:
        record["ProgramId"] = int(record["ProgramId"])
        record["MediaId"] = -int(record["MediaId"])
    return document


def edit_record(data: bytes, change: object, *, last: bool = False) -> bytes:
    """``data`` with the record past the middle (or the last one) changed by ``change``."""
    document = json.loads(data)
    clicks = document if isinstance(document, list) else document["Clicks"]
    index = -1 if last else len(clicks) // 2
    clicks[index] = change(dict(clicks[index]))
    return compact(document)


@pytest.mark.parametrize(
    "shape",
    ["default", "flat", "dollar naive", "page", "bare", "spaced", "integers", "one", "two"],
)
def test_regular_exports_are_read_from_their_layout(day: pa.Table, shape: str) -> None:
    options = {
        "flat": {"flat": True},
        "dollar naive": {"money_style": "dollar", "event_date_style": "naive"},
        "page": {"page": 2, "numpages": 3, "pagesize": 1000, "total": 2500},
    }.get(shape, {})
    table = day.slice(0, {"one": 1, "two": 2}.get(shape, day.num_rows))
    data = serialize(table, "JSON", **options)
    if shape == "bare":
        data = b" [" + data[data.index(b"[") + 1 : data.rindex(b"]")] + b"]\n"
    elif shape == "spaced":
        data = compact(json.loads(data), spaced=True)
    elif shape == "integers":
        data = compact(typed(data))
    found = repeated(data)
    assert found is not None
    assert found.num_rows == table.num_rows
    assert readers.json_table(data, is_field=schema.is_schema_field).equals(found)


def test_empty_markers_and_punctuation_in_values(export: bytes) -> None:
    values = ["", "n/a", "N/A", "n/b", "a},{b", "x:[1]", "é ü 東京", "ab/", "\u2028"]
    document = json.loads(export)
    for i, record in enumerate(document["Clicks"]):
        record["AdName"] = values[i % len(values)]
    table = repeated(compact(document))
    assert table is not None
    expected = [None if v in ("", "n/a", "N/A") else v for v in values]
    assert table["AdName"].to_pylist()[: len(values)] == expected


CHANGES = {
    "a null": lambda r: {**r, "Os": None},
    "a number for text": lambda r: {**r, "Os": 5},
    "text for a boolean": lambda r: {**r, "UniqueClick": "true"},
    "a fraction": lambda r: {**r, "UniqueClick": 1.5},
    "a key moved": lambda r: dict(reversed(list(r.items()))),
    "a key missing": lambda r: {k: v for k, v in r.items() if k != "Browser"},
    "a key more": lambda r: {**r, "Late": "x"},
    "a key renamed": lambda r: {("OS" if k == "Os" else k): v for k, v in r.items()},
    "a group flat": lambda r: {**r, "PartnerRelated": r["PartnerRelated"][0]},
    "a group of two": lambda r: {**r, "PartnerRelated": r["PartnerRelated"] * 2},
    "a quote": lambda r: {**r, "AdName": 'a "quoted" name'},
    "a control character": lambda r: {**r, "AdName": "a\tb"},
}


@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("name", sorted(CHANGES))
def test_one_record_that_differs_is_left_to_the_parsing_reader(
    export: bytes, name: str, last: bool
) -> None:
    data = edit_record(export, CHANGES[name], last=last)
    assert json_layout._repeated_json(data, schema.is_schema_field) is None
    assert readers.json_table(data, is_field=schema.is_schema_field) in (None, records(data))


@pytest.mark.parametrize("end", [b'",}', b'" }', b'"}'])
def test_the_last_record_ends_as_the_first(export: bytes, end: bytes) -> None:
    document = json.loads(export)
    for i, record in enumerate(document["Clicks"]):  # text last: nothing checks its end
        document["Clicks"][i] = {"UniqueClick": record.pop("UniqueClick"), **record}
    data = compact(document)
    at = data.rindex(b'"}')
    data = data[:at] + end + data[at + 2 :]
    table = json_layout._repeated_json(data, schema.is_schema_field)
    assert (table is not None) is (end == b'"}')
    try:
        expected = records(data)
    except ParseError:
        assert end == b'",}'
    else:
        assert readers.json_table(data, is_field=schema.is_schema_field).equals(expected)


@pytest.mark.parametrize("block", [1000, 50_000])
def test_records_are_read_block_by_block(
    export: bytes, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_layout, "_COMPARE", block)  # bytes of records read at a time
    table = repeated(export)
    assert table is not None
    assert table["Id"].num_chunks > 2
    for last in (False, True):  # a record of each half, the last one of the last block
        renamed = edit_record(export, CHANGES["a key renamed"], last=last)
        assert json_layout._repeated_json(renamed, schema.is_schema_field) is None
        assert readers.json_table(renamed, is_field=schema.is_schema_field).equals(records(renamed))


@pytest.mark.parametrize(
    "change",
    [
        (b'"Os":"', b'"Os": "'),  # whitespace that differs
        (b'"Os":"', b'"Os":\n"'),
        (b'"UniqueClick":false', b'"UniqueClick":null'),
        (b'"UniqueClick":false', b'"UniqueClick":fals'),
        (b'"UniqueClick":false', b'"UniqueClick":false '),
        (b'"UniqueClick":false', b'"UniqueClick":n/a'),  # read as an empty marker
        (b'"UniqueClick":false', b'"UniqueClick":'),
        (b'"AdName":"', b'"AdName":"\\u0041'),  # an escape
        (b'"AdName":"', b'"AdName":"\xff'),  # not UTF-8
        (b'"AdName":"', b'"AdName":"\x01'),
        (b"},{", b"} ,{"),
        (b"},{", b"}{"),
    ],
)
def test_bytes_that_differ_are_refused(export: bytes, change: tuple[bytes, bytes]) -> None:
    old, new = change
    at = export.index(old, len(export) // 2)
    data = export[:at] + new + export[at + len(old) :]
    assert json_layout._repeated_json(data, schema.is_schema_field) is None
    try:
        expected = records(data)
    except ParseError:
        with pytest.raises(ParseError):
            schema.parse_export(data, "JSON")
    else:
        assert readers.json_table(data, is_field=schema.is_schema_field).equals(expected)


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-7",
        "123456789012345678",
        "-0",
        "01",
        "1.0",
        "1e3",
        "1234567890123456789",
        "-",
        "",
        "N/A",
    ],
)
def test_integers_are_their_text_or_refused(export: bytes, text: str) -> None:
    data = compact(typed(export))
    at = data.index(b'"ProgramId":', len(data) // 2) + len(b'"ProgramId":')
    end = data.index(b",", at)
    data = data[:at] + text.encode() + data[end:]
    table = json_layout._repeated_json(data, schema.is_schema_field)
    # int64 integers of up to 18 digits, written as JSON writes them (not "-0").
    assert (table is not None) is (text in ("0", "-7", "123456789012345678"))
    if table is not None:
        assert table.equals(records(data))
        assert text in table["ProgramId"].to_pylist()


@pytest.mark.parametrize(
    "envelope",
    [
        b'{"@page":"1","clicks":[%s],"@total":2}',
        b'{"Records":[%s],"@note":"a } b"}',
        b'{"@page":1.5,"Clicks":[%s]}',
        b'{"@page":NaN,"Clicks":[%s]}',
        b'{"@next":{"a":"b"},"Clicks":[%s]}',
        b'{"Clicks":[%s],"clicks":[]}',
        b'{"@page":"1","@page":"2","Clicks":[%s]}',
        b'{"Clicks":[%s]} x',
        b'{"@big":99999999999999999999,"Clicks":[%s]}',
        b'{"Clicks":[\x0c%s]}',  # a form feed is not JSON space
        b"[\x0b%s]",
        b"\x0c[%s]",
        b" \r\n[\t%s\n]\n",
        b'[%s],"x":1',  # content after a bare array: not JSON
        b'[%s],"x":[{"Id":"z"}]',
    ],
)
def test_the_envelope_holds_plain_members_only(day: pa.Table, envelope: bytes) -> None:
    export = serialize(day.slice(0, 20), "JSON")
    clicks = export[export.index(b"[") + 1 : export.rindex(b"]")]
    data = envelope % clicks
    table = json_layout._repeated_json(data, schema.is_schema_field)
    plain = envelope.startswith((b'{"@page":"1","clicks"', b'{"Records"', b" "))
    assert (table is not None) is plain
    if plain:
        assert table.equals(records(data))


def mutated(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a byte replaced, bytes inserted or bytes removed somewhere."""
    tokens = [b'"', b",", b":", b"{", b"}", b"[", b"]", b" ", b"0", b"-", b"a", b"null", b"\xc3"]
    at = rng.randrange(len(data))
    kind = rng.randrange(3)
    if kind == 0:
        return data[:at] + rng.choice(tokens) + data[at + 1 :]
    if kind == 1:
        return data[:at] + rng.choice(tokens) + data[at:]
    return data[:at] + data[at + rng.randint(1, 4) :]


def test_mutated_documents_read_as_the_record_reader(day: pa.Table) -> None:
    rng = random.Random(14)
    small = day.slice(0, 6)
    bases = [serialize(small, "JSON"), serialize(small, "JSON", flat=True)]
    bases.append(compact(typed(bases[0])))
    answered = 0
    for _ in range(400):
        data = rng.choice(bases)
        for _ in range(rng.randint(1, 2)):
            data = mutated(data, rng)
        table = json_layout._repeated_json(data, schema.is_schema_field)
        if table is not None:
            answered += 1
            expected = records(data)  # raises if the document is not valid JSON
            assert table.schema == expected.schema
            assert table.equals(expected)
    assert answered > 20  # changes inside values keep the layout
