"""Columnar reader for JSON click exports: whole columns, no Python object per value.

:func:`json_table` returns the raw table the record-by-record reader would build, or
``None`` (see :mod:`clickkit.readers`). Records that repeat the first one's layout are
read from their bytes (:mod:`clickkit.json_layout`); any other document goes to
pyarrow's JSON reader. That reader takes the whole document as one row (a bare array is
read as if wrapped in an object), so the ``Clicks`` list arrives as one list of structs;
the first record's types are given up front (text stays text). A document over 1 MiB is
cut between records into two parts (one per 6 MiB when larger), each read as a document
of its own on Arrow's CPU threads from a copy in Arrow's memory pool (a fresh ``bytes``
pays page faults), and flattened there. Empty markers are found by their lengths.
Anything it cannot type exactly as the record reader would (numbers with a fraction or
beyond int64, NaN and Infinity, mixed value types, duplicate keys, records that are not
objects, a group of more than one object, deeper nesting, a late field that looks like
a date, bytes that are not UTF-8, content after a bare array) answers ``None``.

Examples
--------
A ``null`` is beyond the repeated layout, so pyarrow's reader reads this one:

>>> known = {"Id", "Os"}.__contains__  # the schema's columns (is_schema_field)
>>> doc = b'[{"Id": "a", "Os": null}, {"Id": "b", "Os": "n/a"}]'
>>> json_table(doc, is_field=known).to_pylist()
[{'Id': 'a', 'Os': None}, {'Id': 'b', 'Os': None}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clickkit.columnar import _SPLIT_BYTES, _blank_to_null, _empty, _in_parallel
from clickkit.json_layout import _LIST_KEYS, _click_list, _repeated_json

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["json_table"]


def _plain(type_: pa.DataType) -> bool:
    """Types the record reader gives the same values for (after :func:`_blank_to_null`)."""
    import pyarrow as pa

    # Doubles are refused: a number beyond int64 reads as a double here but as its
    # digits in the record reader.
    return (
        pa.types.is_string(type_)
        or pa.types.is_int64(type_)
        or pa.types.is_boolean(type_)
        or pa.types.is_null(type_)
    )


def _first_of_lists(array: pa.Array) -> pa.Array | None:
    """The element of each list of a list array (null for null or empty lists).

    None when a list holds more than one: the record reader takes the first one's fields
    only, while pyarrow typed the struct from every element (a field only a second
    element has would be an extra column).

    Examples
    --------
    >>> import pyarrow as pa
    >>> _first_of_lists(pa.array([[{"a": 1}], None, []])).to_pylist()
    [{'a': 1}, None, None]
    >>> _first_of_lists(pa.array([[{"a": 1}, {"b": 2}]])) is None
    True
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = array.offsets.to_numpy(zero_copy_only=False)
    lengths = np.diff(offsets)
    if lengths.size and lengths.max() > 1:
        return None
    valid = lengths > 0
    if array.null_count:
        valid &= array.is_valid().to_numpy(zero_copy_only=False)
    indices = pa.array(offsets[:-1], pa.int64(), mask=~valid)
    return pc.take(array.values, indices)


def _guessed_type(value: Any) -> pa.DataType | None:
    """The Arrow type of a first record's JSON value (None: leave it to inference)."""
    import pyarrow as pa

    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, str):
        return pa.string()  # never a timestamp: the reader would drop the offset
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, dict):
        fields = [(k, _guessed_type(v)) for k, v in value.items()]
        if any(t is None for _, t in fields):
            return None  # inferred whole, so that its fields keep their order
        return pa.struct(fields)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        item = _guessed_type(value[0])
        return None if item is None else pa.list_(item)
    return None


def _exact_type(type_: pa.DataType) -> bool:
    """Whether every value of this (inferred) type reads as the record reader reads it."""
    import pyarrow as pa

    if pa.types.is_struct(type_):
        return all(_exact_type(f.type) for f in type_)
    if pa.types.is_list(type_):
        return _exact_type(type_.value_type)
    return _plain(type_)


#: A JSON document is read in parts of at least this size (two halves below twice it), on
#: Arrow's CPU threads: smaller parts keep pyarrow's growing buffers small and share
#: the cores better (for 100k clicks, 15-45% less time than two halves here).
_PART_BYTES = 6 << 20
_BETWEEN_RECORDS = re.compile(rb"\}\s*,\s*\{")

#: A part of a document to read: ``head + data[lo:hi] + tail``.
_Part = tuple[bytes, int, int, bytes]


def _document(data: bytes, part: _Part) -> pa.Buffer:
    """The bytes of ``part`` as one buffer: ``data`` itself, or a copy in Arrow's pool.

    A fresh ``bytes`` of a few MB would pay a page fault per 4 KiB (see :func:`_empty`).

    Examples
    --------
    >>> _document(b"[1,2,3]", (b"{", 1, 6, b"}")).to_pybytes()
    b'{1,2,3}'
    """
    import numpy as np
    import pyarrow as pa

    head, lo, hi, tail = part
    if not head and not tail and lo == 0 and hi == len(data):
        return pa.py_buffer(data)
    out = _empty(len(head) + hi - lo + len(tail), np.uint8)
    middle = len(head) + hi - lo
    out[: len(head)] = np.frombuffer(head, np.uint8)
    out[len(head) : middle] = np.frombuffer(data, np.uint8, hi - lo, lo)
    out[middle:] = np.frombuffer(tail, np.uint8)
    return pa.py_buffer(out)


def _utf8(document: pa.Buffer) -> bool:
    """Whether ``document`` is valid UTF-8 (Arrow's check: about 1 ms for 25 MB).

    Examples
    --------
    >>> import pyarrow as pa
    >>> _utf8(pa.py_buffer("é".encode())), _utf8(pa.py_buffer(b"\\xff"))
    (True, False)
    """
    import numpy as np
    import pyarrow as pa

    ends = pa.py_buffer(np.array([0, document.size], np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, ends, document])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _read_document(
    document: pa.Buffer, key: str, explicit: pa.Schema, bare: bool
) -> pa.StructArray | None:
    """The records of a one-row JSON document whose list of clicks is under ``key``.

    ``bare``: the document is a bare array read as if wrapped in an object, so the list
    must be its only member (what follows the array's ``]`` would be read as others).
    """
    import pyarrow as pa
    import pyarrow.json as pj

    if document.size >= (1 << 31) - 64:
        return None  # a block's size is an int32
    if not _utf8(document):
        return None  # pyarrow would keep the bytes; the record reader refuses them
    # One block holds the whole document: it is one row, read on one thread.
    read = pj.ReadOptions(block_size=document.size + 64, use_threads=False)
    parse = pj.ParseOptions(newlines_in_values=True, explicit_schema=explicit)
    try:
        table = pj.read_json(pa.BufferReader(document), read_options=read, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    names = [n for n in table.column_names if n.lower() in _LIST_KEYS]
    if table.num_rows != 1 or names != [key] or table[key].null_count:
        return None
    if bare and table.column_names != [key]:
        return None  # content after the array: the record reader refuses the document
    clicks = table[key]
    if not pa.types.is_struct(clicks.type.value_type) or not _exact_type(clicks.type):
        return None
    if not all(_plain(table[n].type) for n in table.column_names if n != key):
        # Another list beside the clicks (the halves might have cut it), or a number
        # read as a double: NaN and Infinity, which pyarrow reads and JSON does not have.
        return None
    return clicks.combine_chunks().values  # one row: its list is all the records


def _columns(
    records: pa.StructArray, first: dict[str, Any], is_field: Callable[[str], bool]
) -> dict[str, pa.Array] | None:
    """The export fields of ``records``: nested groups flattened, empty markers null.

    None when a record is null, a schema field holds a nested value, a group's list
    holds more than one object, a field is given twice (flat and in a group) or nesting
    goes deeper: the record reader decides.
    """
    import pyarrow as pa

    if len(records) == 0 or records.null_count:
        return None
    # Fields in order of first appearance: the first record's (those it gave null were
    # inferred, so the reader put them last), then the others as the reader found them.
    fields = dict(zip(records.type, records.flatten(), strict=True))
    by_name = {field.name: field for field in fields}
    ordered = [by_name[k] for k in first if k in by_name]
    ordered += [f for f in fields if f.name not in first]
    columns: dict[str, pa.Array] = {}
    for field in ordered:
        values = fields[field]
        if _plain(field.type):
            pieces = [(field.name, values)]
        elif is_field(field.name):
            return None  # a nested value where a plain one belongs: the record reader says
        elif pa.types.is_struct(field.type):
            pieces = [(f.name, a) for f, a in zip(field.type, values.flatten(), strict=True)]
        elif pa.types.is_list(field.type) and pa.types.is_struct(field.type.value_type):
            first_items = _first_of_lists(values)
            if first_items is None:
                return None
            pieces = [
                (f.name, a)
                for f, a in zip(field.type.value_type, first_items.flatten(), strict=True)
            ]
        else:
            return None
        for name, array in pieces:
            if name in columns or not _plain(array.type):
                return None  # one field given twice, or nested deeper: record by record
            columns[name] = _blank_to_null(array)
    return columns


def _read_part(
    data: bytes,
    part: _Part,
    key: str,
    explicit: pa.Schema,
    bare: bool,
    first: dict[str, Any],
    is_field: Callable[[str], bool],
) -> tuple[pa.DataType, dict[str, pa.Array] | None] | None:
    """The record type and the columns of one part (None: unreadable as one document)."""
    records = _read_document(_document(data, part), key, explicit, bare)
    if records is None:
        return None
    return records.type, _columns(records, first, is_field)


def _cuts(data: bytes, start: int, parts: int) -> list[re.Match[bytes]]:
    """The first ``},{`` past each ``parts``-th of ``data`` (and past ``start``), in order.

    Examples
    --------
    >>> [c.start() for c in _cuts(b'[{"a":1},{"a":2},{"a":3},{"a":4}]', 1, 3)]
    [15, 23]
    """
    cuts: list[re.Match[bytes]] = []
    for part in range(1, parts):
        at = max(start, len(data) * part // parts, cuts[-1].end() if cuts else 0)
        cut = _BETWEEN_RECORDS.search(data, at)
        if cut is None:
            break
        cuts.append(cut)
    return cuts


def _json_columns(
    data: bytes,
    whole: _Part,
    start: int,
    key: str,
    explicit: pa.Schema,
    bare: bool,
    first: dict[str, Any],
    is_field: Callable[[str], bool],
) -> dict[str, pa.Array | pa.ChunkedArray] | None:
    """The columns of the list under ``key`` in the document ``whole``, read in parts.

    The document is cut at the first ``},{`` past each part's share of ``data`` (and
    past ``start``, where the list's first record begins). The first part is the
    document up to its cut's ``}``, closed by ``]}``: it parses only when that ``}``
    ends an element of an array that is a member of the document (inside a string the
    document would stay unterminated; deeper, ``]}`` would not close it). That array is
    the clicks list, as the first part holds no other list. Every later part is
    ``{"key":[``, then the bytes from the ``{`` after the previous cut: as that cut is
    between two records, the same holds for its own cut (closed by ``]}`` again), and
    the last part runs to the end. All parts must parse and infer one record type;
    anything else is read whole. Each part is flattened on its own thread, so a column
    has one chunk per part.
    """
    import pyarrow as pa

    head, lo, hi, tail = whole
    parts = 1
    if len(head) + hi - lo + len(tail) >= _SPLIT_BYTES:
        parts = max(2, (hi - lo) // _PART_BYTES)
    cuts = _cuts(data, start, parts)
    read = (key, explicit, bare, first, is_field)
    if cuts:
        again = b'{"' + key.encode() + b'":['
        starts = [(head, lo)] + [(again, cut.end() - 1) for cut in cuts]
        ends = [(cut.start() + 1, b"]}") for cut in cuts] + [(hi, tail)]
        calls = [
            (data, (part_head, part_lo, part_hi, part_tail), *read)
            for (part_head, part_lo), (part_hi, part_tail) in zip(starts, ends, strict=True)
        ]
        found = _in_parallel(_read_part, calls)
        if all(f is not None and f[0] == found[0][0] for f in found):
            if any(f[1] is None for f in found):
                return None
            names = found[0][1]
            return {name: pa.chunked_array([f[1][name] for f in found]) for name in names}
    part = _read_part(data, whole, *read)
    return None if part is None else part[1]


def json_table(data: bytes, *, is_field: Callable[[str], bool]) -> pa.Table | None:
    """The raw table of a JSON click export's records, or ``None`` (see the module).

    Parameters
    ----------
    data : bytes
        The document, without a BOM.
    is_field : callable
        Whether a name is a schema column (in any spelling): such a field must hold a
        plain value (``clickkit.schema.is_schema_field``).
    """
    table = _repeated_json(data, is_field)
    if table is not None:
        return table
    return _parsed_json(data, is_field)


def _parsed_json(data: bytes, is_field: Callable[[str], bool]) -> pa.Table | None:
    """The raw table of a JSON click export as pyarrow's JSON reader reads it, or ``None``."""
    import json

    import pyarrow as pa

    found = _click_list(data)
    if found is None:
        return None
    bare, key, start = found
    # A bare array is read as {"Clicks":[...]}, without copying the document to say so.
    whole: _Part = (b'{"Clicks":', 0, len(data), b"}") if bare else (b"", 0, len(data), b"")
    # The first record's types are given up front: text stays text (pyarrow would read
    # ISO dates as timestamps), and later records must agree or the read fails.
    try:
        window = data[start.end() : start.end() + (1 << 16)].decode("utf-8", "replace")
        first, _ = json.JSONDecoder().raw_decode(window)
    except ValueError:
        return None
    if not isinstance(first, dict):
        return None
    guessed = [(k, t) for k, v in first.items() if (t := _guessed_type(v)) is not None]
    explicit = pa.schema([(key, pa.list_(pa.struct(guessed)))])
    columns = _json_columns(data, whole, start.end(), key, explicit, bare, first, is_field)
    return None if columns is None else pa.table(columns)
