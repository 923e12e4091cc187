"""Columnar readers for JSON and XML click exports: whole columns, no Python object per value.

:func:`clickkit.schema.parse_json` and :func:`clickkit.schema.parse_xml` try these first.
Each returns the raw table of export fields that the record-by-record readers would
build (the same columns in the same order, the same values and types) or ``None`` when
the document has a shape it does not prove it reads the same way; the caller then reads
it record by record, which also reports what is wrong with a broken document.

- **JSON**: in the usual export every record repeats the first one's layout: the same
  keys in the same order, the same kinds of value, the same bytes between values, no
  escapes. The first record is read byte by byte; NumPy then finds every ``"``, which
  places every value (a string between two quotes, an integer or boolean at fixed
  distances from them), and the bytes between values, copied out by Arrow takes, must
  be the first record's again and again. Values are then taken column by column from
  one Arrow string array over the document (offsets only), integers (up to 18 digits)
  and booleans checked by their text. A backslash, a control byte, a ``null``, a
  fraction, a record that differs, or an envelope member that is not text, an integer,
  a boolean or null sends the document to pyarrow's JSON reader. That reader takes the
  whole document as one row (a bare array is read as if wrapped in an object), so the
  ``Clicks`` list arrives as one list of structs; the first record's types are given
  up front (text stays text). A document over 1 MiB is cut between records into two
  parts (one per 6 MiB when larger), each read as a document of its own on Arrow's CPU
  threads from a copy in Arrow's memory pool (a fresh ``bytes`` pays page faults), and
  flattened there. Empty markers are
  found by their lengths. Anything it cannot type exactly as the record reader would
  (numbers with a fraction or beyond int64, NaN and Infinity, mixed value types,
  duplicate keys, records that are not objects, deeper nesting, a late field that looks
  like a date, bytes that are not UTF-8) answers ``None``.
- **XML**: NumPy finds every ``<``. In the usual export every ``Click`` has the same
  tags: the first Click's are read one by one, and all tags, copied out by Arrow takes,
  must be those bytes again and again; otherwise tags are told apart by their bytes
  (names only, hashed by Arrow). The texts are one Arrow string array over the
  document's bytes; the nesting is checked (every close tag matches its open tag, a
  ``Click`` holds fields or one kind of group of fields), and each field's texts are
  copied into its column. A body over 1 MiB is read in two halves on two threads, and
  the large temporary arrays live in Arrow's memory pool, which keeps its pages (NumPy's
  allocator hands large blocks back and pays page faults for them on every document).
  Comments, CDATA, processing instructions, character references, namespace prefixes,
  attributes inside ``Clicks``, other encodings than UTF-8 and tags over 24 bytes
  answer ``None``.

Examples
--------
>>> known = {"Id", "Os", "SubId1"}.__contains__  # the schema's columns (is_schema_field)
>>> doc = b'{"Clicks":[{"Id":"a","PartnerRelated":[{"SubId1":"s"}]}]}'
>>> json_table(doc, is_field=known).to_pylist()
[{'Id': 'a', 'SubId1': 's'}]
>>> doc = b"<R><Clicks><Click><Id>a</Id><Os/></Click></Clicks></R>"
>>> xml_table(doc, is_field=known).to_pylist()
[{'Id': 'a', 'Os': None}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["json_table", "xml_table"]

#: Text read as null, as in CSV (:func:`_markers_by_length` knows them by their lengths).
_NULL_VALUES = ["", "n/a", "N/A"]
#: Keys of a JSON document's click list, as the record reader looks for them.
_LIST_KEYS = ("clicks", "records", "click")
_LIST_START = re.compile(rb'"((?i:clicks|records|click))"\s*:\s*\[\s*')


def _blank_to_null(array: pa.Array) -> pa.Array:
    """Text with the export's empty markers as null; numbers as their text (as JSON does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(array.type):
        array = pc.cast(array, pa.string())
    if pa.types.is_string(array.type):
        marked = _markers_by_length(array)
        if marked is not None:
            return marked
        blank = pc.is_in(array, pa.array(_NULL_VALUES))
        return pc.if_else(blank, pa.scalar(None, pa.string()), array)
    return array


def _markers_by_length(array: pa.StringArray) -> pa.StringArray | None:
    """``array`` with :data:`_NULL_VALUES` as null, found by their lengths (None: not here).

    ``""`` is the value of length 0, ``"n/a"`` and ``"N/A"`` the values of length 3
    with those bytes: a few NumPy passes over the offsets instead of a hash of every
    value (five times faster). The values stay in place, hidden by the validity bitmap.
    Arrays with nulls or an offset are left to the general path.

    Examples
    --------
    >>> import pyarrow as pa
    >>> _markers_by_length(pa.array(["a", "", "n/a", "N/A", "n/b", "abc"])).to_pylist()
    ['a', None, None, None, 'n/b', 'abc']
    """
    import numpy as np
    import pyarrow as pa

    if array.offset or array.null_count or not len(array):
        return None
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, len(array) + 1)
    lengths = offsets[1:] - offsets[:-1]
    keep = lengths != 0
    three = np.flatnonzero(lengths == 3)
    if len(three):
        text = np.frombuffer(data_buffer, np.uint8)
        at = offsets[three]
        slash = text[at + 1] == ord("/")
        at, three = at[slash], three[slash]
        first, last = text[at], text[at + 2]
        lower = (first == ord("n")) & (last == ord("a"))
        upper = (first == ord("N")) & (last == ord("A"))
        keep[three[lower | upper]] = False
    kept = int(np.count_nonzero(keep))
    if kept == len(array):
        return array
    validity = pa.py_buffer(np.packbits(keep, bitorder="little"))
    buffers = [validity, offsets_buffer, data_buffer]
    return pa.Array.from_buffers(array.type, len(array), buffers, null_count=len(array) - kept)


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
    """The first element of each list of a list array (null for null or empty lists)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = array.offsets.to_numpy(zero_copy_only=False)
    lengths = np.diff(offsets)
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


#: Documents above this size are read in parts (XML bodies: two halves), on two threads.
_SPLIT_BYTES = 1 << 20
#: A JSON document is read in parts of at least this size (two halves below twice it), on
#: Arrow's CPU threads: smaller parts keep pyarrow's growing buffers small and share
#: the cores better (for 100k clicks, 15-45% less time than two halves here).
_PART_BYTES = 6 << 20
_BETWEEN_RECORDS = re.compile(rb"\}\s*,\s*\{")
_BARE_START = re.compile(rb"\s*\[\s*")

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


def _read_document(document: pa.Buffer, key: str, explicit: pa.Schema) -> pa.StructArray | None:
    """The records of a one-row JSON document whose list of clicks is under ``key``."""
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

    None when a record is null, a schema field holds a nested value, a field is given
    twice (flat and in a group) or nesting goes deeper: the record reader decides.
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
    first: dict[str, Any],
    is_field: Callable[[str], bool],
) -> tuple[pa.DataType, dict[str, pa.Array] | None] | None:
    """The record type and the columns of one part (None: unreadable as one document)."""
    records = _read_document(_document(data, part), key, explicit)
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


def _in_parallel(work: Callable[..., Any], calls: list[tuple]) -> list[Any]:
    """``work(*call)`` for each call, on as many threads as Arrow uses (in order)."""
    import concurrent.futures

    import pyarrow as pa

    if len(calls) == 1:
        return [work(*calls[0])]
    with concurrent.futures.ThreadPoolExecutor(min(len(calls), pa.cpu_count())) as pool:
        return list(pool.map(lambda call: work(*call), calls))


def _json_columns(
    data: bytes,
    whole: _Part,
    start: int,
    key: str,
    explicit: pa.Schema,
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
    read = (key, explicit, first, is_field)
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


_JSON_SPACE = b" \t\r\n"
_LITERAL = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
#: The integers the repeated layout reads as their text: what int64 holds (up to 18
#: digits, a safe bound), written as JSON writes them ("-0" reads as 0).
_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,17}")
_INTEGER_TEXT = r"^(?:0|-?[1-9][0-9]{0,17})$"


class _Refused(Exception):
    """The first record is not of the shape :func:`_record_template` reads."""


def _record_template(
    data: bytes, at: int, is_field: Callable[[str], bool]
) -> tuple[list[str], list[str], list[int], list[int], int] | None:
    """The first record at ``data[at]`` read byte by byte: what every other must repeat.

    Returns ``(names, kinds, spans, quotes, end)``: per value its column name (a group's
    fields by their own names) and kind (``"string"``, ``"int"``, ``"bool"``), where
    each value starts and ends (string values without their quotes), where every ``"``
    of the record is, and the position past its ``}``. None for any other shape: a
    ``null``, a fraction or exponent, a number beyond 18 digits, an empty object, a
    list of other than one object, nesting beyond one group, a key twice, a group under
    a schema field's name (``is_field``).

    Examples
    --------
    >>> names, kinds, spans, quotes, end = _record_template(
    ...     b'{"Id":"ab","G":[{"S":""}],"U":true}', 0, lambda name: False
    ... )
    >>> names, kinds, spans, end
    (['Id', 'S', 'U'], ['string', 'string', 'bool'], [7, 9, 22, 22, 30, 34], 35)
    """
    names: list[str] = []
    kinds: list[str] = []
    spans: list[int] = []
    quotes: list[int] = []

    def space(p: int) -> int:
        while data[p] in _JSON_SPACE:
            p += 1
        return p

    def string(p: int) -> int:  # data[p] is '"'; no backslash anywhere: no escapes
        end = data.index(b'"', p + 1)
        quotes.extend((p, end))
        return end + 1

    def expect(p: int, byte: bytes) -> int:
        if data[p : p + 1] != byte:
            raise _Refused
        return p + 1

    def members(p: int, depth: int) -> int:  # data[p] is '{': the object's members
        keys: set[str] = set()
        p = space(p + 1)
        while True:
            start = p
            p = string(expect(p, b'"') - 1)
            key = data[start + 1 : p - 1].decode()
            if key in keys:
                raise _Refused
            keys.add(key)
            p = space(expect(space(p), b":"))
            byte = data[p : p + 1]
            if byte == b'"':
                p = string(p)
                names.append(key)
                kinds.append("string")
                spans.extend((quotes[-2] + 1, quotes[-1]))
            elif byte in (b"{", b"[") and depth == 0 and not is_field(key):
                if byte == b"[":
                    p = space(p + 1)
                    p = expect(space(members(expect(p, b"{") - 1, 1)), b"]")
                else:
                    p = members(p, 1)
            else:
                literal = _LITERAL.match(data, p)
                if literal is None:
                    raise _Refused
                text = literal.group()
                if text in (b"true", b"false"):
                    kinds.append("bool")
                elif _INTEGER.fullmatch(text):
                    kinds.append("int")
                else:
                    raise _Refused  # null, a fraction, an exponent, "-0", 19+ digits
                names.append(key)
                spans.extend(literal.span())
                p = literal.end()
            p = space(p)
            if data[p : p + 1] == b"}":
                return p + 1
            p = space(expect(p, b","))

    try:
        end = members(expect(at, b"{") - 1, 0)
    except (_Refused, IndexError, ValueError):  # ValueError: no '"' or undecodable key
        return None
    if len(set(names)) != len(names) or not names:
        return None  # a field given twice (flat and in a group): the record reader merges
    return names, kinds, spans, quotes, end


class _Layout(NamedTuple):
    """Where the values of every record lie, from the first record (:func:`_repeated_json`).

    Value ``v`` of record ``r`` starts at ``quotes[r * per_record + index[2v]] +
    delta[2v]`` and ends at ``index[2v + 1]``, ``delta[2v + 1]`` likewise; an index of
    ``per_record`` is the next record's first ``"`` (``sentinel`` after the last record).
    Every record after the first has the bytes ``pattern`` between its values, from the
    end of the previous record's last value on.
    """

    quotes: np.ndarray
    index: np.ndarray
    delta: np.ndarray
    per_record: int
    sentinel: int
    lo: int
    pattern: bytes


def _bounds(layout: _Layout, begin: int, end: int) -> np.ndarray:
    """The offsets of records ``begin:end``: the end of the value before, then each value's
    start and end (int32, for an Arrow string array over the document).

    Examples
    --------
    >>> import numpy as np
    >>> doc = b'[{"a":"x","b":1},{"a":"yz","b":22}]'
    >>> quotes = np.array([i for i, c in enumerate(doc) if c == 34], np.int32)
    >>> index, delta = np.array([2, 3, 5, 6]), np.array([1, 0, 2, -3], np.int32)
    >>> layout = _Layout(quotes, index, delta, 6, 36, 1, b"")  # 36: past the end, + 2
    >>> _bounds(layout, 0, 2).tolist()  # "x" is 7:8, 1 is 14:15, "yz" 23:25, 22 31:33
    [1, 7, 8, 14, 15, 23, 25, 31, 33]
    """
    import numpy as np
    from numpy.lib.stride_tricks import as_strided

    quotes, index, delta, per_record = layout.quotes, layout.index, layout.delta, layout.per_record
    records = len(quotes) // per_record
    offsets = np.empty(len(index) * (end - begin) + 1, np.int32)
    if begin == 0:
        offsets[0] = layout.lo
    else:  # the previous record's last value ends here
        offsets[0] = quotes[(begin - 1) * per_record + index[-1]] + delta[-1]
    body = offsets[1:].reshape(end - begin, len(index))
    full = min(end, records - 1) - begin  # records whose next record's first quote exists
    if full > 0:  # row r: the record's quotes and the next record's first one
        start = quotes[begin * per_record :]
        rows = as_strided(start, (full, per_record + 1), (per_record * 4, 4))
        np.add(rows[:, index], delta, out=body[:full])
    if end == records:
        last = np.append(quotes[-per_record:], np.int32(layout.sentinel))
        np.add(last[index], delta, out=body[-1])
    return offsets


def _record_block(
    layout: _Layout, document: pa.Buffer, expected: pa.Buffer, begin: int, end: int
) -> pa.StringArray | None:
    """The values of records ``begin:end``, column by column, or None if they differ.

    The records are cut into skeleton and value pieces (:func:`_bounds`); the skeleton
    pieces of every record but the first, copied out in one take, must be ``expected``
    (the layout's pattern, repeated): each piece ends at a fixed distance from a fixed
    quote and holds a fixed number of quotes, so equal bytes put every piece where the
    first record has it. Then the values, column by column (a block is about a MiB of
    the document, read again for each column from the cache), with the empty markers
    null (:func:`_markers_by_length`).
    """
    import numpy as np
    import pyarrow as pa

    offsets = _bounds(layout, begin, end)
    if (offsets[1:] < offsets[:-1]).any():
        return None  # a value ending before it starts (Arrow's take trusts offsets)
    width = len(layout.index) // 2
    pieces = pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), document)
    first = 1 if begin == 0 else 0
    if end - begin > first:
        index = np.arange(2 * width * first, 2 * width * (end - begin), 2, dtype=np.int32)
        skeleton = pieces.take(pa.array(index))
        size = (end - begin - first) * len(layout.pattern)
        ends = np.frombuffer(skeleton.buffers()[1], np.int32, len(skeleton) + 1)
        if ends[-1] - ends[0] != size or not skeleton.buffers()[2].slice(0, size).equals(
            expected.slice(0, size)
        ):
            return None
    columns = np.arange(1, 2 * width, 2, dtype=np.int32)[:, None]
    rows = np.arange(0, 2 * width * (end - begin), 2 * width, dtype=np.int32)
    values = pieces.take(pa.array((columns + rows).ravel()))
    marked = _markers_by_length(values)
    return values if marked is None else marked


def _record_blocks(
    layout: _Layout, document: pa.Buffer, expected: pa.Buffer, blocks: list[tuple[int, int]]
) -> list[pa.StringArray] | None:
    """:func:`_record_block` for each block, in order (None as soon as one differs)."""
    found = []
    for begin, end in blocks:
        values = _record_block(layout, document, expected, begin, end)
        if values is None:
            return None
        found.append(values)
    return found


def _typed(column: pa.ChunkedArray, kind: str) -> pa.ChunkedArray | None:
    """A column of values as the record reader types them (None: a value it reads else)."""
    import pyarrow.compute as pc

    if kind == "string":
        return column
    if column.null_count:
        return None  # an empty literal or "n/a" without quotes: not JSON
    if kind == "bool":
        true = pc.equal(column, "true")
        return true if pc.all(pc.or_(true, pc.equal(column, "false"))).as_py() else None
    # Integers read as their text, which is the text the record reader writes.
    return column if pc.all(pc.match_substring_regex(column, _INTEGER_TEXT)).as_py() else None


def _envelope_holds(data: bytes, opening: int, closing: int, key: str) -> bool:
    """Whether the document without its click list is an object whose only list is ``key``'s.

    ``data[:opening + 1] + data[closing:]`` must be a JSON object whose members are
    text, integers in int64, booleans or null, each key once, the click list under
    ``key`` (the only member named like a click list). The ``[`` is outside a string
    when the quotes before it are even (no backslash: no escaped quotes).
    """
    import json

    if data.count(b'"', 0, opening) % 2:
        return False

    def refuse(_: str) -> Any:
        raise ValueError

    try:
        members = json.loads(
            data[: opening + 1] + data[closing:],
            object_pairs_hook=lambda pairs: pairs,
            parse_constant=refuse,
            parse_float=refuse,
        )
    except (ValueError, RecursionError):
        return False
    if not isinstance(members, list) or len({k for k, _ in members}) != len(members):
        return False
    if [(k, v) for k, v in members if k.lower() in _LIST_KEYS] != [(key, [])]:
        return False
    return all(
        v is None or isinstance(v, str | bool) or (isinstance(v, int) and -(1 << 63) <= v < 1 << 63)
        for k, v in members
        if k != key
    )


def _repeated_json(data: bytes, is_field: Callable[[str], bool]) -> pa.Table | None:
    """The table of a document whose records all repeat the first one's skeleton.

    The usual export: compact, no escapes, every record the same keys in the same order
    with the same kinds of value. The first record is read byte by byte
    (:func:`_record_template`); then every ``"`` of the list is found with NumPy, which
    places every value (a string lies between two quotes; an integer or boolean between
    a key's quote and the next one, at fixed distances), and the bytes between values,
    copied out by Arrow takes, must be the first record's again and again. Values are
    then taken column by column from the pieces (offsets into the document); integers
    and booleans are checked by their text. None for anything else (the parsing reader
    decides): a backslash, a control byte, bytes that are not UTF-8, a ``null``, a
    fraction, a missing, extra or moved key, whitespace that differs, an envelope with
    anything but plain members.
    """
    import numpy as np
    import pyarrow as pa

    if data.find(b"\\") >= 0 or len(data) >= 1 << 31:
        return None  # escapes, or offsets beyond int32
    head = data[:64].lstrip(_JSON_SPACE)
    key = ""
    if head.startswith(b"["):
        start = _BARE_START.match(data)
    elif head.startswith(b"{"):
        start = _LIST_START.search(data, 0, 1 << 16)
        key = "" if start is None else start.group(1).decode()
    else:
        return None
    if start is None:
        return None
    lo = start.end()  # the first record's "{"
    closing = data.rfind(b"]")
    hi = closing  # past the last record's "}"
    while hi > lo and data[hi - 1] in _JSON_SPACE:
        hi -= 1
    if closing < lo or data[hi - 1 : hi] != b"}":
        return None
    opening = data.rindex(b"[", 0, lo)
    if data[opening + 1 : lo].strip(_JSON_SPACE):
        return None  # "\s" also matched a form feed or a vertical tab: not JSON space
    if key:
        if not _envelope_holds(data, opening, closing, key):
            return None
    elif data[:opening].strip(_JSON_SPACE) or data[closing + 1 :].strip(_JSON_SPACE):
        return None
    template = _record_template(data, lo, is_field)
    if template is None:
        return None
    names, kinds, spans, first_quotes, end = template
    if end > hi:
        return None
    after = end
    while data[after] in _JSON_SPACE:
        after += 1
    if end == hi:
        separator = b","  # one record
    elif data[after : after + 1] == b",":
        following = after + 1
        while data[following] in _JSON_SPACE:
            following += 1
        separator = data[end:following]
        if data[following : following + 1] != b"{":
            return None
    else:
        return None
    if np.frombuffer(data, np.uint8, hi - lo, lo).min() < 0x20:
        return None  # a control byte: not in a JSON string, and whitespace must repeat
    try:  # the document as one string, without a copy; UTF-8 checked once
        bounds = pa.py_buffer(np.array([0, len(data)], np.int32))
        whole = pa.BinaryArray.from_buffers(pa.binary(), 1, [None, bounds, pa.py_buffer(data)])
        whole = whole.cast(pa.string())
    except pa.ArrowInvalid:
        return None  # the record reader reports it
    per_record = len(first_quotes)
    quotes = _positions(data, lo, hi, 0x22)
    if len(quotes) % per_record or quotes[:per_record].tolist() != first_quotes:
        return None
    records = len(quotes) // per_record
    # Where each value lies relative to the quotes: a string between its own two; an
    # integer or boolean at fixed distances from the key's closing quote and the next
    # quote (in the next record for a record's last value).
    next_quote = end + len(separator) + first_quotes[0] - lo
    starts, ends = [], []
    for v, kind in enumerate(kinds):
        begin, finish = spans[2 * v], spans[2 * v + 1]
        before = int(np.searchsorted(first_quotes, begin)) - 1  # the quote before it
        starts.append((before, begin - first_quotes[before]))
        if kind == "string":
            ends.append((before + 1, 0))
        elif before + 1 < per_record:
            ends.append((before + 1, finish - first_quotes[before + 1]))
        else:
            ends.append((per_record, finish - next_quote))
    # As if a record followed the last one: its first quote.
    sentinel = hi + len(separator) + first_quotes[0] - lo
    index = np.array([i for pair in zip(starts, ends, strict=True) for i, _ in pair], np.intp)
    delta = np.array([d for pair in zip(starts, ends, strict=True) for _, d in pair], np.int32)
    tail = data[spans[-1] : end]
    width = len(kinds)
    pattern = tail + separator + data[lo : spans[0]]
    pattern += b"".join(data[spans[2 * v - 1] : spans[2 * v]] for v in range(1, width))
    layout = _Layout(quotes, index, delta, per_record, sentinel, lo, pattern)
    if data[int(_bounds(layout, records - 1, records)[-1]) : hi] != tail:
        return None  # the last record's end
    # Records a block at a time (about a MiB of the document), the halves on two threads.
    block = max(1, _COMPARE * records // (hi - lo))
    expected = pa.py_buffer(_tiled(np.frombuffer(pattern, np.uint8), block))
    blocks = [(r, min(r + block, records)) for r in range(0, records, block)]
    read = (layout, whole.buffers()[2], expected)
    if hi - lo >= _SPLIT_BYTES and len(blocks) > 1:
        half = (len(blocks) + 1) // 2
        parts = _in_two(_record_blocks, (*read, blocks[:half]), (*read, blocks[half:]))
        found = None if None in parts else parts[0] + parts[1]
    else:
        found = _record_blocks(*read, blocks)
    if found is None:
        return None
    columns = []
    for v, kind in enumerate(kinds):
        chunks = [
            values.slice(v * (len(values) // width), len(values) // width) for values in found
        ]
        column = _typed(pa.chunked_array(chunks, pa.string()), kind)
        if column is None:
            return None
        columns.append(column)
    return pa.table(dict(zip(names, columns, strict=True)))


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

    head = data[:64].lstrip()
    if head.startswith(b"["):
        # Read as {"Clicks":[...]}, without copying the document to say so.
        whole: _Part = (b'{"Clicks":', 0, len(data), b"}")
        key, start = "Clicks", _BARE_START.match(data)
    elif head.startswith(b"{"):
        whole = (b"", 0, len(data), b"")
        start = _LIST_START.search(data, 0, 1 << 16)
        key = "" if start is None else start.group(1).decode()
    else:
        return None
    if start is None:
        return None
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
    columns = _json_columns(data, whole, start.end(), key, explicit, first, is_field)
    return None if columns is None else pa.table(columns)


# ---------------------------------------------------------------------------------------
# XML

_NAME = rb"[A-Za-z_][A-Za-z0-9_.\-]*"
_ATTRS = rb"""(?:\s+[A-Za-z_][A-Za-z0-9_.:\-]*\s*=\s*(?:"[^"<&]*"|'[^'<&]*'))*\s*"""
#: Up to the first click: declaration, root and ``Clicks`` with their attributes.
_PROLOG = re.compile(
    rb"\s*(?:<\?xml(" + _ATTRS + rb")\?>)?\s*<(" + _NAME + rb")" + _ATTRS + rb">\s*"
    rb"<Clicks" + _ATTRS + rb">"
)
_UTF8 = re.compile(rb"""encoding\s*=\s*["']utf-?8["']""", re.IGNORECASE)
#: Comments, CDATA, declarations, processing instructions, "]]>", and characters XML
#: does not allow: the record reader decides what those mean. Markup the tags do not
#: show ("<!", "<?" fail the tag names) and non-characters, each behind a one-byte test
#: (a memchr) as the usual file has none of them.
_MARKUP = ((b"]", b"]]>"), (b"\xef", b"\xef\xbf\xbe"), (b"\xef", b"\xef\xbf\xbf"))
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NAME_FULL = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
#: Tags (the bytes between "<" and ">") are told apart by all their bytes, up to this many.
_LONGEST_TAG = 24
#: The first Click is read tag by tag in Python; one with more tags is not a template.
_TEMPLATE_TAGS = 4096
#: Bytes scanned at a time (its positions fit NumPy's small, reused allocations), and
#: tag bytes compared at a time.
_SCAN = 1 << 18
_COMPARE = 1 << 20
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_SPACE = b" \t\r\n"


def _unusual(data: bytes, lo: int, hi: int) -> bool:
    """Whether ``data[lo:hi]`` holds markup or characters the columnar reader leaves alone."""
    import numpy as np

    for byte, mark in _MARKUP:
        if data.find(byte, lo, hi) >= 0 and data.find(mark, lo, hi) >= 0:
            return True
    if np.frombuffer(data, np.uint8, hi - lo, lo).min() >= 0x20:
        return False
    return _CONTROL.search(data, lo, hi) is not None


def _unescape(data: bytes, lo: int, hi: int) -> list[tuple[str, str]] | None:
    """The replacements that read the texts of ``data[lo:hi]`` as an XML parser does.

    Line ends become ``\\n`` and the five named entities their characters. The body's
    tags are names and its texts outside values blank, so counts over its bytes (at
    memchr speed) decide which replacements are needed: the usual export needs none.
    None for any other ``&`` (a character reference or a stray ``&``: the record reader
    decides).

    Examples
    --------
    >>> text = b"<Id>a&amp;lt;b</Id><Os>c\\r\\nd</Os>"
    >>> _unescape(text, 0, len(text))
    [('\\r\\n', '\\n'), ('\\r', '\\n'), ('&amp;', '&')]
    """
    pairs = []
    if data.find(b"\r", lo, hi) >= 0:  # XML reads every line end as "\n"
        pairs += [("\r\n", "\n"), ("\r", "\n")]
    if data.find(b"&", lo, hi) >= 0:
        # An "&" starts at most one of the five and counts do not overlap, so equal
        # sums mean that every "&" starts one.
        counts = [data.count(entity.encode(), lo, hi) for entity, _ in _ENTITIES]
        if sum(counts) != data.count(b"&", lo, hi):
            return None
        # In this order, &amp; last: "&amp;lt;" stays "&lt;".
        pairs += [pair for pair, count in zip(_ENTITIES, counts, strict=True) if count]
    return pairs


def _in_two(work: Callable[..., Any], first: tuple, second: tuple | None) -> list[Any]:
    """``work(*first)`` here and ``work(*second)`` on a second thread (or not, if None).

    NumPy and Arrow let go of the GIL in the large steps, so two parts of a document
    take about half the time when a second core is free.
    """
    import concurrent.futures

    if second is None:
        return [work(*first)]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        later = pool.submit(work, *second)
        return [work(*first), later.result()]


def _empty(shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised NumPy array in Arrow's memory pool.

    The pool keeps freed pages for the next document, while NumPy's allocator gives
    large blocks back to the system and then pays a page fault per 4 KiB to have them
    again: for a 13 MB document, half of the reader's time (measured).
    """
    import numpy as np
    import pyarrow as pa

    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    buffer = pa.allocate_buffer(max(count, 1) * dtype.itemsize)
    return np.frombuffer(buffer, dtype, count).reshape(shape)


def _tiled(pattern: np.ndarray, times: int) -> np.ndarray:
    """``np.tile(pattern, times)`` in Arrow's memory pool."""
    out = _empty((times, len(pattern)), pattern.dtype)
    out[:] = pattern
    return out.ravel()


def _scan(data: bytes, lo: int, hi: int, byte: int) -> list[np.ndarray]:
    """Where ``byte`` occurs in ``data[lo:hi]``: int32 positions, a block at a time."""
    import numpy as np

    raw = np.frombuffer(data, np.uint8)
    hits = np.empty(min(_SCAN, hi - lo), bool)
    found = []
    for start in range(lo, hi, _SCAN):
        part = raw[start : min(start + _SCAN, hi)]
        np.equal(part, byte, out=hits[: len(part)])
        at = np.flatnonzero(hits[: len(part)]).astype(np.int32)
        at += start
        found.append(at)
    return found


def _positions(data: bytes, lo: int, hi: int, byte: int) -> np.ndarray:
    """Where ``byte`` occurs in ``data[lo:hi]``, the halves of a large body on two threads."""
    import numpy as np

    if hi - lo < _SPLIT_BYTES:
        found = _scan(data, lo, hi, byte)
    else:
        mid = (lo + hi) // 2
        first, second = _in_two(_scan, (data, lo, mid, byte), (data, mid, hi, byte))
        found = first + second
    at = _empty(sum(len(f) for f in found), np.int32)
    if found:
        np.concatenate(found, out=at)
    return at


def _tag(tag: bytes) -> tuple[int, str] | None:
    """A tag's kind (0 ``<a>``, 1 ``</a>``, 2 ``<a/>``) and name; None for anything else.

    Examples
    --------
    >>> _tag(b"/Os"), _tag(b"Os/"), _tag(b'Os n="1"')
    ((1, 'Os'), (2, 'Os'), None)
    """
    text = tag.decode()
    kind = 1 if text.startswith("/") else 2 if text.endswith("/") else 0
    name = text.strip("/") if kind else text
    if not _NAME_FULL.fullmatch(name) or len(text) - len(name) != (kind > 0):
        return None
    return kind, name


def _tag_keys(data: bytes, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """One row per tag that gives a tag of up to 24 bytes exactly.

    The tag's first and last eight bytes (all of a shorter tag, the bytes beside it
    shifted out), past 16 bytes also bytes 8-16, and its length; ``start`` is the
    position of its first byte in ``data``.
    """
    import numpy as np

    # words[p]: the eight bytes before data[p], little-endian (zeros around data).
    padded = _empty(len(data) + 40, np.uint8)
    padded[:8] = padded[-32:] = 0
    padded[8:-32] = np.frombuffer(data, np.uint8)
    words = np.ndarray((len(data) + 33,), "<u8", padded, strides=(1,))
    shift = (np.maximum(8 - length, 0) * 8).astype(np.uint64)
    keys = [words[start + 8] << shift, words[start + length] >> shift]
    if length.max() > 16:
        keys.append(np.where(length > 16, words[start + 16], np.uint64(0)))
    return np.column_stack([*keys, length.astype(np.uint64)])


def _pieces(whole: pa.StringArray, lt: np.ndarray, ends: np.ndarray, hi: int) -> pa.StringArray:
    """The body as one string array: ``<tag>``, the text up to the next tag, ..., then ``""``.

    ``whole`` holds the document as one string; each tag's ``>`` (``ends``) lies between
    its ``<`` (``lt``) and the next one; the body ends at ``hi``. No copy of the text.
    """
    import numpy as np
    import pyarrow as pa

    offsets = _empty(2 * len(lt) + 2, np.int32)
    offsets[0:-2:2] = lt
    np.add(ends, 1, out=offsets[1:-2:2])
    offsets[-2:] = hi
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), whole.buffers()[2])


def _repeated_tags(
    data: bytes, whole: pa.StringArray, lt: np.ndarray, following: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], pa.StringArray] | None:
    """Tags of a run of Clicks that all repeat the first one's tags byte for byte.

    The usual export: every Click has the same fields in the same order. The first
    Click's tags are read one by one; then every tag, copied out by takes a MiB at a
    time, must be those bytes again and again. Returns what :func:`_xml_tokens` returns,
    but ``kind`` and ``codes`` of the first Click only; None when the Clicks differ.
    """
    import numpy as np
    import pyarrow as pa

    hi = int(following[-1])
    close = data.find(b"</Click>", int(lt[0]), hi)
    period = int(np.searchsorted(lt[: _TEMPLATE_TAGS + 1], close)) + 1  # with its close
    if close < 0 or period > _TEMPLATE_TAGS or len(lt) % period:
        return None
    starts = lt[:period].tolist()
    names: dict[str, int] = {}
    lengths, kinds, codes = [], [], []
    for start, bound in zip(starts, following[:period].tolist(), strict=True):
        end = data.find(b">", start, bound)
        tag = _tag(data[start + 1 : end]) if end >= 0 else None
        if tag is None:
            return None
        lengths.append(end - start + 1)
        kinds.append(tag[0])
        codes.append(names.setdefault(tag[1], len(names)))
    if max(lengths) > _LONGEST_TAG + 2:
        return None  # as the general reader does
    # Were the tags repeated, each would end where the first Click's tag at its place does.
    ends = _empty(len(lt), np.int32)
    np.add(lt.reshape(-1, period), np.array(lengths, np.int32) - 1, out=ends.reshape(-1, period))
    if not np.less(ends, following, out=_empty(len(lt), bool)).all():
        return None
    pieces = _pieces(whole, lt, ends, hi)
    first = b"".join(data[start : start + n] for start, n in zip(starts, lengths, strict=True))
    clicks = len(lt) // period
    block = min(clicks, max(1, _COMPARE // len(first)))  # Clicks compared at a time
    expected = pa.py_buffer(_tiled(np.frombuffer(first, np.uint8), block))
    even = np.arange(0, 2 * period * block, 2, dtype=np.int32)

    def same(begin: int, end: int) -> bool:
        index = _empty(len(even), np.int32)
        for click in range(begin, end, block):
            count = min(block, end - click) * period
            np.add(even[:count], 2 * period * click, out=index[:count])
            tags = pieces.take(pa.array(index[:count]))  # each "<tag>"
            size = count // period * len(first)
            if not tags.buffers()[2].slice(0, size).equals(expected.slice(0, size)):
                return False
        return True

    if hi - lt[0] < _SPLIT_BYTES:
        parts = _in_two(same, (0, clicks), None)
    else:
        parts = _in_two(same, (0, clicks // 2), (clicks // 2, clicks))
    if not all(parts):
        return None
    return ends, np.array(kinds, np.int8), np.array(codes, np.int64), list(names), pieces


def _xml_tokens(
    data: bytes, whole: pa.StringArray, lt: np.ndarray, following: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], pa.StringArray] | None:
    """Every tag of a run of elements, by its position (NumPy and Arrow, no Python per tag).

    ``lt`` holds the position of every ``<`` in the body, ``following`` the next one's
    (the body's end last). Returns ``(ends, kind, codes, vocabulary, pieces)``: per tag
    the position of its ``>``, its kind (0 open ``<a>``, 1 close ``</a>``, 2 empty
    ``<a/>``) and the index of its name in ``vocabulary``, and :func:`_pieces`; None
    when a tag is anything but a name or is longer than 24 bytes. Tags are told apart
    exactly by their length and bytes (:func:`_tag_keys`), hashed by Arrow.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    hi = int(following[-1])
    gt = _positions(data, int(lt[0]), hi, 0x3E)
    if len(gt) == len(lt) and (gt > lt).all() and (gt < following).all():
        ends = gt  # the usual file: no '>' in its texts
    else:
        found = np.searchsorted(gt, lt)
        if found[-1] >= gt.size:
            return None
        ends = gt[found]
        if (ends > following).any():
            return None  # a '<' inside a tag
    length = ends - lt - 1  # the tag's bytes between '<' and '>'
    if length.min() < 1 or length.max() > _LONGEST_TAG:
        return None
    keys = _tag_keys(data, lt + 1, length)
    keyed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(keys.itemsize * keys.shape[1]), len(keys), [None, pa.py_buffer(keys)]
    )
    encoded = pc.dictionary_encode(keyed)
    classes = encoded.indices.to_numpy(zero_copy_only=False)
    # Arrow numbers the keys in order of first appearance: a class starts where the
    # running maximum grows.
    first_of = np.flatnonzero(np.diff(np.maximum.accumulate(classes), prepend=-1) > 0)
    if len(first_of) != len(encoded.dictionary):
        return None
    names: dict[str, int] = {}
    kinds, tag_names = [], []
    for at in first_of.tolist():
        tag = _tag(data[lt[at] + 1 : ends[at]])
        if tag is None:
            return None
        kinds.append(tag[0])
        tag_names.append(names.setdefault(tag[1], len(names)))
    kind = np.array(kinds, np.int8)[classes]
    codes = np.array(tag_names, np.int64)[classes]
    return ends, kind, codes, list(names), _pieces(whole, lt, ends, hi)


def _layout(
    kind: np.ndarray, codes: np.ndarray, vocabulary: list[str], is_field: Callable[[str], bool]
) -> tuple[list[int], np.ndarray, np.ndarray] | None:
    """Where each column's values are: ``(order, cells, value_at)``, or None.

    ``order`` lists the columns (codes in ``vocabulary``) in order of first appearance,
    a group's fields in the group's place; ``cells[j, r]`` is the tag that opens column
    ``j`` of Click ``r`` (-1: not there); ``value_at`` marks the tags whose text is a
    value. None unless the tags nest properly and each Click holds fields with text or
    one kind of group of such fields, each field at most once.
    """
    import numpy as np

    names = {name: i for i, name in enumerate(vocabulary)}
    n = len(kind)
    opens, closes, empties = kind == 0, kind == 1, kind == 2
    depth = np.cumsum(opens.astype(np.int64) - closes.astype(np.int64))
    if (depth < 0).any() or depth[-1] != 0 or depth.max() > 3:
        return None
    level = np.where(opens, depth, depth + 1)  # the element's depth, 1 = a Click
    # The depth walks by one, so at each level opens and closes alternate; each close
    # must name the element its open started: the tag just before it (a field), or the
    # previous open of its level among the others (a Click, a group).
    adjacent = np.zeros(n, bool)
    adjacent[:-1] = opens[:-1] & closes[1:]
    pairs = np.flatnonzero(adjacent)
    if (codes[pairs] != codes[pairs + 1]).any():
        return None
    adjacent[pairs + 1] = True
    outer = np.flatnonzero(~empties & ~adjacent)
    outer = outer[np.argsort(level[outer].astype(np.int8), kind="stable")]
    if (codes[outer[0::2]] != codes[outer[1::2]]).any():
        return None
    if "Click" not in names:
        return None
    is_click = codes == names["Click"]
    if (is_click != (level == 1)).any() or (empties & is_click).any():
        return None
    # A group is a field of a Click with elements inside; every other field holds text.
    below = np.zeros(n, bool)
    below[:-1] = level[1:] == 3
    group = opens & (level == 2) & below
    leaf = (opens | empties) & (level >= 2) & ~group
    value_at = leaf & opens
    after = np.flatnonzero(value_at) + 1
    if after.size and (after[-1] >= n or not closes[after].all()):
        return None  # a field with an element inside it
    size = len(vocabulary)
    group_names = np.flatnonzero(np.bincount(codes[group], minlength=size))
    if len(group_names) > 1 or any(is_field(vocabulary[g]) for g in group_names):
        return None  # several kinds of group, or a schema field with children
    row = np.cumsum(is_click & opens) - 1
    if group.any() and np.bincount(row[group]).max() > 1:
        return None  # a group twice in one Click: the record reader keeps the last
    leaves = np.flatnonzero(leaf)
    leaf_codes = codes[leaves]
    leaf_level = level[leaves]
    leaf_rows = row[leaves]
    rows = int(row[-1]) + 1
    plain = np.bincount(leaf_codes[leaf_level == 2], minlength=size) > 0
    grouped = np.bincount(leaf_codes[leaf_level == 3], minlength=size) > 0
    if (plain & grouped).any() or (group_names.size and plain[group_names[0]]):
        return None  # a name both plain and grouped: the record reader merges them
    # Columns in the order of first appearance, a group's fields in the group's place.
    first_at = np.full(size, len(leaves), np.int64)
    np.minimum.at(first_at, leaf_codes, np.arange(len(leaves)))
    group_at = first_at[grouped].min() if grouped.any() else 0
    present = np.flatnonzero(first_at < len(leaves))
    order = sorted(
        present.tolist(),
        key=lambda c: (group_at if grouped[c] else first_at[c], first_at[c]),
    )
    column_of = np.zeros(size, np.int64)
    column_of[order] = np.arange(len(order))
    cell = column_of[leaf_codes] * rows + leaf_rows
    if np.bincount(cell, minlength=len(order) * rows).max() > 1:
        return None  # a field twice in one Click: the record reader keeps the last
    cells = np.full(len(order) * rows, -1, np.int64)
    cells[cell] = leaves
    return order, cells.reshape(len(order), rows), value_at


def _values(
    pieces: pa.StringArray,
    ends: np.ndarray,
    gaps: np.ndarray,
    empty: np.ndarray,
    cells: np.ndarray,
    replacements: list[tuple[str, str]],
) -> list[pa.StringArray]:
    """The texts of ``cells`` (``[column, row]``: the tag that opens it, -1 if missing).

    Copied Click by Click (the take goes through the body in order), unescaped, then
    put column by column. Null where the field is missing, empty (``empty`` per tag) or
    an empty marker ("", "n/a", "N/A": told by their bytes, ``gaps`` being each tag's
    text length, as entities and line ends never give one).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    width, rows = cells.shape
    at = _empty(cells.size, np.int32)
    at.reshape(rows, width)[:] = cells.T  # Click by Click
    null = np.less(at, 0, out=_empty(len(at), bool))
    at[null] = 0
    size = np.take(gaps, at, out=_empty(len(at), np.int32))
    null |= np.take(empty, at, out=_empty(len(at), bool))
    null |= size == 0
    three = np.flatnonzero((size == 3) & ~null)
    if three.size:
        start = ends[at[three]] + 1
        raw = np.frombuffer(pieces.buffers()[2], np.uint8)
        first, slash, last = (raw[start + i] for i in range(3))
        lower = (first == ord("n")) & (last == ord("a"))
        upper = (first == ord("N")) & (last == ord("A"))
        null[three[(slash == ord("/")) & (lower | upper)]] = True
    index = np.multiply(at, 2, out=at)
    index += 1
    index[null] = len(pieces) - 1  # ""
    texts = pieces.take(pa.array(index))
    for pattern, replacement in replacements:
        texts = pc.replace_substring(texts, pattern, replacement)
    by_column = _empty((width, rows), np.int32)
    np.add(
        np.arange(width, dtype=np.int32)[:, None],
        np.arange(0, rows * width, width, dtype=np.int32),
        out=by_column,
    )
    by_column = by_column.ravel()
    texts = texts.take(pa.array(by_column))
    # The nulls as a validity bitmap: a take with null indices is slower.
    valid = _empty(texts.offset + len(texts), bool)
    valid[: texts.offset] = True
    np.take(null, by_column, out=valid[texts.offset :])
    np.logical_not(valid[texts.offset :], out=valid[texts.offset :])
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    texts = pa.Array.from_buffers(
        pa.string(), len(texts), [bitmap, *texts.buffers()[1:]], offset=texts.offset
    )
    return [texts.slice(j * rows, rows) for j in range(width)]


def xml_table(data: bytes, *, is_field: Callable[[str], bool]) -> pa.Table | None:
    """The raw table of an XML click export's records, or ``None`` (see the module).

    The accepted shape: an optional declaration (UTF-8), a root element, ``<Clicks>``
    (any attributes on those), then ``<Click>`` elements whose children are fields with
    text (``<Os>PHONE</Os>``, ``<Os/>``) or one kind of group of such fields
    (``<PartnerRelated>``), whitespace between tags, and the closing tags.

    Parameters
    ----------
    data : bytes
        The document.
    is_field : callable
        As for :func:`json_table`: a schema column never has children.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    data = data.removeprefix(b"\xef\xbb\xbf")
    prolog = _PROLOG.match(data)
    declared = (prolog.group(1) or b"") if prolog else b""
    if prolog is None or (b"encoding" in declared and not _UTF8.search(declared)):
        return None
    closing = re.compile(rb"</Clicks>\s*</" + re.escape(prolog.group(2)) + rb">\s*\Z")
    tail = closing.search(data, max(prolog.end(), len(data) - 4096))
    if tail is None or len(data) >= 1 << 31:
        return None  # (string offsets are 32-bit)
    lo, hi = prolog.end(), tail.start()  # the body, read where it lies
    if lo >= hi or _unusual(data, lo, hi):
        return None  # no clicks (the record reader's empty table), or something unusual
    try:  # the document as one string, without a copy; UTF-8 checked once
        bounds = pa.py_buffer(np.array([0, len(data)], np.int32))
        whole = pa.BinaryArray.from_buffers(pa.binary(), 1, [None, bounds, pa.py_buffer(data)])
        whole = whole.cast(pa.string())
    except pa.ArrowInvalid:
        return None  # the record reader reports it
    lt = _positions(data, lo, hi, 0x3C)  # every '<'
    if lt.size == 0 or data[lo : lt[0]].strip(_SPACE):
        return None  # no tag, or text before the first one
    following = np.append(lt[1:], np.int32(hi))
    tokens = _repeated_tags(data, whole, lt, following) or _xml_tokens(data, whole, lt, following)
    if tokens is None:
        return None
    ends, kind, codes, vocabulary, pieces = tokens
    layout = _layout(kind, codes, vocabulary, is_field)
    if layout is None:
        return None
    order, cells, value_at = layout
    period = len(kind)
    clicks = len(lt) // period  # the number of Clicks when their tags repeat, else 1
    empty = kind == 2
    if clicks > 1:  # the first Click's tags, one Click further each time
        first = cells[:, 0].astype(np.int32)
        cells = _empty((len(first), clicks), np.int32)
        np.add(first[:, None], np.arange(0, len(lt), period, dtype=np.int32), out=cells)
        empty = _tiled(empty, clicks)
        value_at = _tiled(value_at, clicks)
    gaps = np.subtract(following, ends, out=_empty(len(lt), np.int32))
    gaps -= 1  # each tag's text length
    # Text only right after a field's open tag; elsewhere nothing but whitespace.
    spaced = np.greater(gaps, 0, out=_empty(len(lt), bool))
    spaced &= ~value_at
    spaced = np.flatnonzero(spaced)
    if (
        spaced.size
        and not pc.all(
            pc.equal(pc.utf8_trim(pieces.take(pa.array(2 * spaced + 1)), " \t\r\n"), "")
        ).as_py()
    ):
        return None
    replacements = _unescape(data, lo, hi)
    if replacements is None:
        return None
    # The Clicks in two halves, on two threads, when the body is large.
    halves = hi - lo >= _SPLIT_BYTES and cells.shape[1] > 1
    args = [
        (pieces, ends, gaps, empty, part, replacements)
        for part in (np.array_split(cells, 2, axis=1) if halves else [cells])
    ]
    found = _in_two(_values, args[0], args[1] if halves else None)
    columns = {
        vocabulary[c]: pa.chunked_array([part[j] for part in found], pa.string())
        for j, c in enumerate(order)
    }
    return pa.table(columns)
