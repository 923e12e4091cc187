"""Columnar readers for JSON and XML click exports: whole columns, no Python object per value.

:func:`clickkit.schema.parse_json` and :func:`clickkit.schema.parse_xml` try these first.
Each returns the raw table of export fields that the record-by-record readers would
build (the same columns in the same order, the same values and types) or ``None`` when
the document has a shape it does not prove it reads the same way; the caller then reads
it record by record, which also reports what is wrong with a broken document.

- **JSON**: pyarrow's JSON reader takes the whole document as one row (a bare array is
  wrapped in an object first), so the ``Clicks`` list arrives as one list of structs;
  the first record's types are given up front (text stays text), and a document over
  1 MiB is cut between two records and read as two documents on two threads. Anything
  it cannot type exactly as the record reader would (numbers with a fraction or beyond
  int64, mixed value types, duplicate keys, records that are not objects, deeper
  nesting, a late field that looks like a date) answers ``None``.
- **XML**: NumPy finds every ``<`` and ``>``; tags are told apart by their bytes
  (names only), the texts are one Arrow string array over the document's bytes; the
  nesting is checked (every close tag matches its open tag, a ``Click`` holds fields
  or one kind of group of fields), and each field's texts are scattered into its
  column. Comments, CDATA, processing instructions, character references, namespace
  prefixes, attributes inside ``Clicks``, other encodings than UTF-8 and tags over 24
  bytes answer ``None``.

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

import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["json_table", "xml_table"]

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
        blank = pc.is_in(array, pa.array(_NULL_VALUES))
        return pc.if_else(blank, pa.scalar(None, pa.string()), array)
    return array


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


#: Documents above this size are read in two halves, on two threads.
_SPLIT_BYTES = 1 << 20
_BETWEEN_RECORDS = re.compile(rb"\}\s*,\s*\{")


def _read_document(data: bytes, key: str, explicit: pa.Schema) -> pa.StructArray | None:
    """The records of a one-row JSON document whose list of clicks is under ``key``."""
    import pyarrow as pa
    import pyarrow.json as pj

    if len(data) >= (1 << 31) - 64:
        return None  # a block's size is an int32
    # One block holds the whole document: it is one row, read on one thread.
    read = pj.ReadOptions(block_size=len(data) + 64, use_threads=False)
    parse = pj.ParseOptions(newlines_in_values=True, explicit_schema=explicit)
    try:
        document = pj.read_json(io.BytesIO(data), read_options=read, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    names = [n for n in document.column_names if n.lower() in _LIST_KEYS]
    if document.num_rows != 1 or names != [key] or document[key].null_count:
        return None
    clicks = document[key]
    if not pa.types.is_struct(clicks.type.value_type) or not _exact_type(clicks.type):
        return None
    if any(pa.types.is_nested(document[n].type) for n in document.column_names if n != key):
        return None  # another list beside the clicks: the halves might have cut it
    return clicks.combine_chunks().values  # one row: its list is all the records


def _json_records(data: bytes, key: str, first: int, explicit: pa.Schema) -> pa.StructArray | None:
    """The records of the list under ``key`` (starting at ``first``), read in two halves.

    The cut is the first ``},{`` past the middle. The first half is the document up to
    that ``}`` closed by ``]}``: it parses only when the ``}`` ends an element of an
    array that is a member of the document (inside a string the document would stay
    unterminated; deeper, ``]}`` would not close it). That array is the clicks list, as
    the first half holds no other list. The second half is ``{"key":[`` and the rest.
    Both halves must infer one record type; anything else is read whole.
    """
    import concurrent.futures

    import pyarrow as pa

    cut = None
    if len(data) >= _SPLIT_BYTES:
        cut = _BETWEEN_RECORDS.search(data, max(first, len(data) // 2))
    if cut is None:
        return _read_document(data, key, explicit)
    head = data[: cut.start() + 1] + b"]}"
    rest = b'{"' + key.encode() + b'":[' + data[cut.end() - 1 :]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        later = pool.submit(_read_document, rest, key, explicit)
        records = _read_document(head, key, explicit)
        more = later.result()
    if records is None or more is None or records.type != more.type:
        return _read_document(data, key, explicit)
    return pa.concat_arrays([records, more])


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
    import json

    import pyarrow as pa

    head = data[:64].lstrip()
    if head.startswith(b"["):
        data = b'{"Clicks":' + data + b"}"
    elif not head.startswith(b"{"):
        return None
    # The first record's types are given up front: text stays text (pyarrow would read
    # ISO dates as timestamps), and later records must agree or the read fails.
    start = _LIST_START.search(data, 0, 1 << 16)
    if start is None:
        return None
    try:
        window = data[start.end() : start.end() + (1 << 16)].decode("utf-8", "replace")
        first, _ = json.JSONDecoder().raw_decode(window)
    except ValueError:
        return None
    if not isinstance(first, dict):
        return None
    key = start.group(1).decode()
    guessed = [(k, t) for k, v in first.items() if (t := _guessed_type(v)) is not None]
    explicit = pa.schema([(key, pa.list_(pa.struct(guessed)))])
    records = _json_records(data, key, start.end(), pa.schema(explicit))
    if records is None:
        return None
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
    return pa.table(columns)


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
#: does not allow: the record reader decides what those mean.
#: Markup the tags do not show ("<!", "<?" fail the tag names) and non-characters,
#: each behind a one-byte test (a memchr) as the usual file has none of them.
_MARKUP = ((b"]", b"]]>"), (b"\xef", b"\xef\xbf\xbe"), (b"\xef", b"\xef\xbf\xbf"))
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_HASH_FACTORS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
_NAME_FULL = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _unusual(body: bytes) -> bool:
    """Whether ``body`` holds markup or characters the columnar reader leaves alone."""
    import numpy as np

    if any(byte in body and mark in body for byte, mark in _MARKUP):
        return True
    if np.frombuffer(body, np.uint8).min() >= 0x20:
        return False
    return _CONTROL.search(body) is not None


_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_SPACE = b" \t\r\n"


def _unescape(array: pa.Array) -> pa.Array | None:
    """XML text as read: line ends as ``\\n``, the five named entities replaced.

    None for any other ``&`` (a character reference).
    """
    import pyarrow.compute as pc

    if pc.any(pc.match_substring(array, "\r")).as_py():
        # XML reads every line end as "\n".
        array = pc.replace_substring(pc.replace_substring(array, "\r\n", "\n"), "\r", "\n")
    if not pc.any(pc.match_substring(array, "&")).as_py():
        return array
    rest = array
    for entity, _ in _ENTITIES:
        rest = pc.replace_substring(rest, entity, "")
    if pc.any(pc.match_substring(rest, "&")).as_py():
        return None  # a character reference or a stray '&': the record reader decides
    for entity, char in _ENTITIES:  # &amp; last, so "&amp;lt;" stays "&lt;"
        array = pc.replace_substring(array, entity, char)
    return array


def _xml_tokens(
    body: bytes,
) -> tuple[np.ndarray, np.ndarray, list[str], pa.StringArray, np.ndarray] | None:
    """Tags and texts of a run of elements, by their positions (NumPy, no copy of the text).

    Returns ``(kind, codes, vocabulary, pieces, text_lengths)``: per tag its kind (0
    open ``<a>``, 1 close ``</a>``, 2 empty ``<a/>``) and the index of its name in
    ``vocabulary``; ``pieces`` alternates each tag (``<a>``) and the text after it, as
    one string array over ``body``'s bytes; None when a tag is anything but a name.
    Tags are told apart by their length and their first, middle and last eight bytes,
    which cover a tag of up to 24 bytes whole (longer ones answer None).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        whole = pa.array([body], pa.binary()).cast(pa.string())  # UTF-8, checked once
    except pa.ArrowInvalid:
        return None  # the record reader reports it
    raw = np.frombuffer(body, np.uint8)
    marks = np.flatnonzero((raw | 2) == 0x3E)  # every '<' (0x3C) and '>' (0x3E)
    opening = raw[marks] == 0x3C
    if len(marks) % 2 == 0 and opening[0::2].all() and not opening[1::2].any():
        lt, ends = marks[0::2], marks[1::2]  # the usual file: no '>' in its texts
    else:
        lt, gt = marks[opening], marks[~opening]
        found = np.searchsorted(gt, lt)
        if lt.size == 0 or found[-1] >= gt.size:
            return None
        ends = gt[found]
    if lt.size == 0 or body[: lt[0]].strip(_SPACE):
        return None  # no tag, or text before the first one
    following = np.append(lt[1:], len(body))
    if (ends > following).any():
        return None  # a '<' inside a tag
    length = ends - lt - 1  # the tag's bytes between '<' and '>'
    if length.min() < 1 or length.max() > 24:
        return None
    # The tag's bytes 0-8, 8-16 and 16-24 as integers, bytes past its end masked out.
    padded = np.concatenate([raw, np.zeros(32, np.uint8)])
    words = np.ndarray((len(raw) + 24,), "<u8", padded, strides=(1,))  # unaligned view
    parts = []
    for skip in (0, 8, 16)[: (int(length.max()) + 7) // 8]:
        word = words[lt + 1 + skip]
        kept = np.clip(length - skip, 0, 8).astype(np.uint64)
        mask = np.where(kept >= 8, ~np.uint64(0), (np.uint64(1) << (kept * np.uint64(8))) - 1)
        parts.append(word & mask)
    size = length.astype(np.uint64)
    hashed = size.copy()
    for part, factor in zip(parts, _HASH_FACTORS, strict=False):
        hashed ^= part * factor
    encoded = pc.dictionary_encode(pa.array(hashed))
    classes = encoded.indices.to_numpy(zero_copy_only=False)
    first_of = np.full(len(encoded.dictionary), len(classes), np.int64)
    np.minimum.at(first_of, classes, np.arange(len(classes)))
    same = size == size[first_of[classes]]
    for part in parts:
        same &= part == part[first_of[classes]]
    if not same.all():
        return None  # two tags with one hash: not worth telling apart here
    names: dict[str, int] = {}
    kinds, tag_names = [], []
    for at in first_of.tolist():
        tag = body[lt[at] + 1 : ends[at]].decode()
        tag_kind = 1 if tag.startswith("/") else 2 if tag.endswith("/") else 0
        name = tag.strip("/") if tag_kind else tag
        if not _NAME_FULL.fullmatch(name) or len(tag) - len(name) != (tag_kind > 0):
            return None
        kinds.append(tag_kind)
        tag_names.append(names.setdefault(name, len(names)))
    kind = np.array(kinds, np.int8)[classes]
    codes = np.array(tag_names, np.int64)[classes]
    # One string array over the body: "<tag>", then the text up to the next tag, ...
    offsets = np.empty(2 * len(lt) + 1, np.int32)
    offsets[0:-1:2] = lt
    offsets[1:-1:2] = ends + 1
    offsets[-1] = len(body)
    data = whole.buffers()[2]
    pieces = pa.StringArray.from_buffers(2 * len(lt), pa.py_buffer(offsets), data)
    return kind, codes, list(names), pieces, following - ends - 1


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
    if tail is None or tail.start() - prolog.end() >= 1 << 31:
        return None
    body = data[prolog.end() : tail.start()]
    if not body.strip(_SPACE) or _unusual(body):
        return None  # no clicks (the record reader's empty table), or something unusual
    tokens = _xml_tokens(body)
    if tokens is None:
        return None
    kind, codes, vocabulary, texts, text_lengths = tokens
    names = {name: i for i, name in enumerate(vocabulary)}
    n = len(kind)
    opens, closes, empties = kind == 0, kind == 1, kind == 2
    depth = np.cumsum(opens.astype(np.int64) - closes.astype(np.int64))
    if (depth < 0).any() or depth[-1] != 0:
        return None
    level = np.where(opens, depth, depth + 1)  # the element's depth, 1 = a Click
    # Well-formed: at each level, opens and closes alternate in document order and each
    # close names the element its open started.
    paired = np.flatnonzero(~empties)
    ordered = paired[np.argsort(level[paired].astype(np.int8), kind="stable")]  # radix
    first, second = ordered[0::2], ordered[1::2]
    if (
        len(ordered) % 2
        or not opens[first].all()
        or not closes[second].all()
        or (level[first] != level[second]).any()
        or (codes[first] != codes[second]).any()
    ):
        return None
    if "Click" not in names:
        return None
    is_click = codes == names["Click"]
    if (is_click != (level == 1)).any() or (level > 3).any() or (empties & is_click).any():
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
    # Text only right after a field's open tag; elsewhere nothing but whitespace.
    spaced = np.flatnonzero((text_lengths > 0) & ~value_at)
    if (
        spaced.size
        and not pc.all(
            pc.equal(pc.utf8_trim(texts.take(pa.array(2 * spaced + 1)), " \t\r\n"), "")
        ).as_py()
    ):
        return None
    size = len(vocabulary)
    group_names = np.flatnonzero(np.bincount(codes[group], minlength=size))
    if len(group_names) > 1 or any(is_field(vocabulary[g]) for g in group_names):
        return None  # several kinds of group, or a schema field with children
    leaves = np.flatnonzero(leaf)
    leaf_codes = codes[leaves]
    leaf_level = level[leaves]
    row = np.cumsum(is_click & opens) - 1
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
    cells[cell] = np.arange(len(leaves))
    values = texts.take(pa.array(2 * leaves + 1))
    if empties.any():
        values = pc.if_else(pa.array(empties[leaves]), "", values)
    values = _unescape(values)
    if values is None:
        return None
    values = _blank_to_null(values)  # once for all fields, before they are scattered
    columns = {}
    for j, code in enumerate(order):
        indices = cells[j * rows : (j + 1) * rows]
        columns[vocabulary[code]] = values.take(pa.array(indices, mask=indices < 0))
    return pa.table(columns)
