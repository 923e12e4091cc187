"""JSON exports whose records repeat the first one's layout, read from their bytes.

The fast path of :func:`clickkit.json_reader.json_table`. In the usual export every
record repeats the first one's layout: the same keys in the same order, the same kinds
of value, the same bytes between values, no escapes. The first record is read byte by
byte; NumPy then finds every ``"``, which places every value (a string between two
quotes, an integer or boolean at fixed distances from them), and the bytes between
values, copied out by Arrow takes, must be the first record's again and again. Values
are then taken column by column from one Arrow string array over the document (offsets
only), integers (up to 18 digits) and booleans checked by their text. A backslash, a
control byte, a ``null``, a fraction, a record that differs, or an envelope member that
is not text, an integer, a boolean or null sends the document to pyarrow's JSON reader
(:mod:`clickkit.json_reader`). The keys of the click list, which both look for, are
here.

Examples
--------
>>> known = {"Id", "Os"}.__contains__  # the schema's columns (is_schema_field)
>>> doc = b'[{"Id":"a","Os":"x"},{"Id":"b","Os":"n/a"}]'
>>> _repeated_json(doc, known).to_pylist()
[{'Id': 'a', 'Os': 'x'}, {'Id': 'b', 'Os': None}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from clickkit.columnar import (
    _COMPARE,
    _SPLIT_BYTES,
    _in_two,
    _markers_by_length,
    _one_string,
    _positions,
    _tiled,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


#: Keys of a JSON document's click list, as the record reader looks for them.
_LIST_KEYS = ("clicks", "records", "click")
_LIST_START = re.compile(rb'"((?i:clicks|records|click))"\s*:\s*\[\s*')
_BARE_START = re.compile(rb"\s*\[\s*")

_JSON_SPACE = b" \t\r\n"


def _click_list(data: bytes) -> tuple[bool, str, re.Match[bytes]] | None:
    """Where the click list opens: (a bare array?, its key, the match up to its first
    record); None for a document that is neither an object nor an array, or whose list
    is not near its top.

    Examples
    --------
    >>> bare, key, start = _click_list(b'{"@page":"1","Clicks": [{"Id":"a"}]}')
    >>> bare, key, start.end()
    (False, 'Clicks', 24)
    """
    head = data[:64].lstrip(_JSON_SPACE)
    if head.startswith(b"["):
        start, key = _BARE_START.match(data), "Clicks"
    elif head.startswith(b"{"):
        start = _LIST_START.search(data, 0, 1 << 16)
        key = "" if start is None else start.group(1).decode()
    else:
        return None
    return None if start is None else (head.startswith(b"["), key, start)


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
    found = _click_list(data)
    if found is None:
        return None
    bare, key, start = found
    key = "" if bare else key
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
    whole = _one_string(data)
    if whole is None:
        return None  # not UTF-8: the record reader reports it
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
