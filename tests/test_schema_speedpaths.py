"""Enums read as dictionaries and the column-by-column conversion give the documented frame."""

from __future__ import annotations

import datetime as dt
import io
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from clickkit import schema
from clickkit.sandbox import generate_day, serialize

TZ = "America/New_York"
ENUM = pa.dictionary(pa.int32(), pa.string())


@pytest.fixture(scope="module")
def day() -> pa.Table:
    # About 3 MB of CSV: the reader's 1 MiB blocks give several chunks per column.
    return generate_day(dt.date(2026, 11, 1), seed=11, clicks_per_day=7000, timezone=TZ)


@pytest.fixture(scope="module")
def table(day: pa.Table) -> pa.Table:
    return schema.parse_export(serialize(day, "CSV"), timezone=TZ)


def quiet(data: bytes, **kwargs: object) -> pa.Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schema.parse_export(data, **kwargs)


def general(table: pa.Table, **kwargs: object) -> pd.DataFrame:
    """The frame of pyarrow's whole-table conversion, which a column of another type forces."""
    odd = table.append_column("odd", pa.array(np.arange(table.num_rows, dtype=np.int32)))
    return schema.to_pandas(odd, **kwargs).drop(columns="odd")


def assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert type(got.index) is type(expected.index)
    for name in expected.columns:
        a, b = got[name], expected[name]
        assert type(a.array) is type(b.array), name
        if isinstance(b.dtype, pd.CategoricalDtype):
            assert list(a.cat.categories) == list(b.cat.categories), name
            assert a.cat.categories.dtype == b.cat.categories.dtype, name
            assert a.cat.codes.dtype == b.cat.codes.dtype, name
            assert not a.dtype.ordered


def test_csv_enums_are_one_dictionary_per_column(day: pa.Table, table: pa.Table) -> None:
    assert table["id"].num_chunks > 1  # read in parallel blocks, each with its dictionaries
    for name in schema.ENUMS:
        column = table[name]
        assert column.type == ENUM and column.num_chunks == 1, name
        # One dictionary in order of first appearance, as a Parquet file read back has it.
        values = column.chunk(0).dictionary.to_pylist()
        assert values == list(dict.fromkeys(v for v in column.to_pylist() if v)), name
    # Every format gives the same table, and a day read back from Parquet equals it.
    for fmt in ("JSON", "XML"):
        assert quiet(serialize(day, fmt), timezone=TZ).equals(table)
    stored = io.BytesIO()
    text = table.cast(
        pa.schema([f.with_type(pa.string()) if f.name in schema.ENUMS else f for f in table.schema])
    )
    pq.write_table(text, stored)
    stored.seek(0)
    assert pq.read_table(stored, read_dictionary=list(schema.ENUMS)).equals(table)


def test_missing_and_empty_enum_columns_are_dictionaries_too() -> None:
    header_only = quiet(b"Id,EventDate,Os\n", timezone=TZ)
    few = quiet(b"Id,EventDate,Os\na,2026-10-05T08:00:00-04:00,\n", timezone=TZ)
    for table in (schema.empty_table(), header_only, few):
        assert all(table.schema.field(name).type == ENUM for name in schema.ENUMS)
    assert schema.normalise(few).equals(few, check_metadata=True)
    assert schema.to_pandas(few, TZ)["os"].isna().all()
    assert_same_frame(schema.to_pandas(few, TZ), general(few, timezone=TZ))


def test_column_by_column_conversion_equals_pyarrows(table: pa.Table) -> None:
    for zone in (TZ, "UTC", "Asia/Kolkata"):
        assert_same_frame(schema.to_pandas(table, zone), general(table, timezone=zone))
    sliced = schema.concat_tables([table.slice(5000), table.slice(10, 300)])
    assert_same_frame(schema.to_pandas(sliced, TZ), general(sliced, timezone=TZ))
    assert schema.to_pandas(sliced, TZ).index.equals(pd.RangeIndex(sliced.num_rows))
    # Enums as text (a table made elsewhere) take one lookup per row, to the same frame.
    text = table.cast(
        pa.schema([f.with_type(pa.string()) if f.name in schema.ENUMS else f for f in table.schema])
    )
    assert_same_frame(schema.to_pandas(text, TZ), schema.to_pandas(table, TZ))


def test_undocumented_enum_values_in_a_dictionary(table: pa.Table) -> None:
    i = table.schema.get_field_index("os")
    values = table["os"].to_pylist()
    values[1], values[-1] = "PLAN9", "BEOS"
    odd = table.set_column(i, "os", pc.dictionary_encode(pa.chunked_array([values])))
    frame = schema.to_pandas(odd, TZ)
    assert list(frame["os"].cat.categories) == [*schema.ENUMS["os"], "BEOS", "PLAN9"]
    assert frame["os"].tolist() == values
    assert_same_frame(frame, general(odd, timezone=TZ))
    # Filtered away, an extra left in the dictionary is not a category.
    kept = schema.filter_table(odd.slice(2, 500), program_ids=[])
    assert list(schema.to_pandas(kept, TZ)["os"].cat.categories) == list(schema.ENUMS["os"])
    # Exact categories (Dask partitions): a value outside them is missing, as for text.
    exact = {name: list(values) for name, values in schema.ENUMS.items()}
    frame = schema.to_pandas(odd, TZ, categories=exact)
    assert list(frame["os"].cat.categories) == list(schema.ENUMS["os"])
    assert frame["os"].isna().sum() == table["os"].null_count + 2
    assert_same_frame(frame, general(odd, timezone=TZ, categories=exact))


def test_pages_concatenated_share_one_dictionary(day: pa.Table) -> None:
    n = day.num_rows
    pages = [serialize(day.slice(a, b - a), "CSV") for a, b in ((0, n // 2), (n // 2, n))]
    combined = schema.parse_pages(pages, timezone=TZ)
    whole = schema.parse_export(serialize(day, "CSV"), timezone=TZ)
    assert combined.equals(whole)
    assert len({tuple(c.dictionary.to_pylist()) for c in combined["browser"].chunks}) == 1


def test_a_quoted_line_break_in_an_enum_and_in_text_over_several_blocks(day: pa.Table) -> None:
    data = serialize(day, "CSV")
    last = data.rstrip(b"\r\n").rsplit(b"\n", 1)[1]
    fields = last.decode().split(",")
    assert fields[22] in schema.ENUMS["os"]  # Os, in a row of the last block
    fields[22] = '"WEB\nOS"'
    fields[2] = '"Two\nlines"'
    data = data[: data.rindex(last)] + ",".join(fields).encode() + b"\r\n"
    table = schema.parse_export(data, timezone=TZ)
    assert table.num_rows == day.num_rows
    assert (
        table["os"][-1].as_py() == "WEB\nOS" and table["program_name"][-1].as_py() == "Two\nlines"
    )
    frame = schema.to_pandas(table, TZ)
    assert list(frame["os"].cat.categories) == [*schema.ENUMS["os"], "WEB\nOS"]
    assert_same_frame(frame, general(table, timezone=TZ))


def test_offsets_read_from_the_tails_equal_the_extraction() -> None:
    def offsets(dates: list[str | None], *, zoned: bool) -> set[str]:
        return schema._offsets(pa.chunked_array([pa.array(dates, pa.string())]), zoned=zoned)

    # Every spelling Arrow reads as an instant with an offset: the last six characters
    # (or the Z) give what the general extraction gives.
    spelled = [
        f"2026-11-01{sep}{time}{zone}"
        for sep in ("T", " ", "t", "")
        for time in ("01", "01:30", "01:30:00", "01:30:00.5", "01:30:00.123456789", "0130")
        for zone in ("Z", "z", "+05", "-05", "+0530", "-05:30", "-00:00", "+14:00", " +05:30")
    ]
    zoned = []
    for value in spelled:
        try:
            schema._instants(pa.array([value]), aware=True)
        except pa.ArrowInvalid:
            continue
        zoned.append(value)
        assert offsets([value], zoned=True) == offsets([value], zoned=False), value
    assert len(zoned) > 50
    assert offsets([*zoned, None], zoned=True) == offsets([*zoned, None], zoned=False)
    plain = ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00.250Z", "2026-11-01 01:30:00+05:30"]
    assert offsets(plain, zoned=True) == {"-04:00", "+00:00", "+05:30"}
    assert offsets([None, None], zoned=True) == set()
    rows = "".join(f"r{i},{d}\n" for i, d in enumerate(plain))
    table = quiet(f"Id,EventDate\n{rows}".encode(), timezone=TZ)
    assert table.schema.metadata[schema.OFFSETS_KEY] == b"-04:00,+00:00,+05:30"
    mixed = quiet(f"Id,EventDate\n{rows}x,2026-11-01T01:30:00\n".encode(), timezone=TZ)
    assert mixed.schema.metadata[schema.OFFSETS_KEY] == b"-04:00,+00:00,+05:30,none"


def test_sample_of_many_chunks_is_the_sample_of_one() -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        chunks = [pa.array(rng.integers(0, 1000, rng.integers(0, 40))) for _ in range(6)]
        column = pa.chunked_array(chunks, pa.int64())
        size = int(rng.integers(1, 80))
        expected = (
            column.combine_chunks().take(
                np.unique(np.linspace(0, len(column) - 1, size).astype(np.int64))
            )
            if len(column) > size
            else column.combine_chunks()
        )
        assert schema._sample(column, size).to_pylist() == expected.to_pylist()
