"""Columnar reader for XML click exports: whole columns, no Python object per value.

:func:`xml_table` returns the raw table the record-by-record reader would build, or
``None`` (see :mod:`clickkit.readers`).

NumPy finds every ``<``. In the usual export every ``Click`` has the same tags: the
first Click's are read one by one, and all tags, copied out by Arrow takes, must be
those bytes again and again; otherwise tags are told apart by their bytes (names only,
hashed by Arrow). The texts are one Arrow string array over the document's bytes; the
nesting is checked (every close tag matches its open tag, a ``Click`` holds fields or
one kind of group of fields), and each field's texts are copied into its column. A body
over 1 MiB is read in two halves on two threads, and the large temporary arrays live in
Arrow's memory pool, which keeps its pages (NumPy's allocator hands large blocks back
and pays page faults for them on every document). Comments, CDATA, processing
instructions, character references, namespace prefixes, attributes inside ``Clicks``,
other encodings than UTF-8 and tags over 24 bytes answer ``None``, as does a prolog
expat would refuse (the declaration anywhere but at the start or out of order, other
whitespace than XML's, an attribute given twice) and a root named ``Click`` (which the
record reader reads as a click too).

Examples
--------
>>> known = {"Id", "Os", "SubId1"}.__contains__  # the schema's columns (is_schema_field)
>>> doc = b"<R><Clicks><Click><Id>a</Id><Os/></Click></Clicks></R>"
>>> xml_table(doc, is_field=known).to_pylist()
[{'Id': 'a', 'Os': None}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from clickkit.columnar import (
    _COMPARE,
    _SPLIT_BYTES,
    _empty,
    _in_two,
    _one_string,
    _positions,
    _tiled,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["xml_table"]


_NAME = rb"[A-Za-z_][A-Za-z0-9_.\-]*"

#: Patterns with XML's whitespace for ``S`` (``\s`` would take a form feed or a vertical
#: tab too) and names without a prefix for ``N``.
_XML = {b"S": rb"[ \t\r\n]", b"N": _NAME}
_ATTRS = rb"""((?:%(S)s+%(N)s%(S)s*=%(S)s*(?:"[^"<&]*"|'[^'<&]*'))*)""" % _XML
_ATTR = re.compile(rb"""%(S)s+(%(N)s)%(S)s*=%(S)s*(?:"([^"]*)"|'([^']*)')""" % _XML)

#: The declaration as expat reads it: at the very start, ``version`` first, then an
#: optional ``encoding`` (UTF-8: expat reads ``utf8`` as a one-byte encoding), then an
#: optional ``standalone``.
_DECLARATION = (
    rb"""<\?xml%(S)s+version%(S)s*=%(S)s*(?:"1\.0"|'1\.0')"""
    rb"""(?:%(S)s+encoding%(S)s*=%(S)s*(?:"(?i:utf-8)"|'(?i:utf-8)'))?"""
    rb"""(?:%(S)s+standalone%(S)s*=%(S)s*(?:"(?:yes|no)"|'(?:yes|no)'))?%(S)s*\?>"""
) % _XML

#: Up to the first click: declaration, root and ``Clicks`` with their attributes.
_PROLOG = re.compile(
    rb"(?:%(D)s)?%(S)s*<(%(N)s)%(A)s%(S)s*>%(S)s*<Clicks%(A)s%(S)s*>"
    % {**_XML, b"D": _DECLARATION, b"A": _ATTRS}
)
_END = rb"</Clicks>%(S)s*</%(root)s>%(S)s*\Z"

#: Namespace names expat refuses for ``xmlns`` (and ``}``, its namespace separator).
_RESERVED = (b"http://www.w3.org/XML/1998/namespace", b"http://www.w3.org/2000/xmlns/")

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


def _harmless(attributes: bytes) -> bool:
    """Whether expat reads these attributes (matched by ``_ATTRS``) without a complaint.

    Each name once, and an ``xmlns`` (the default namespace: the record reader reads
    local names) bound to a name expat allows. Prefixed names never match ``_ATTRS``.

    Examples
    --------
    >>> _harmless(b' page="1" total="2"'), _harmless(b' a="1" a="2"')
    (True, False)
    >>> _harmless(b' xmlns="urn:x"'), _harmless(b' xmlns="a}b"')
    (True, False)
    """
    names = set()
    for attribute in _ATTR.finditer(attributes):
        name, value = attribute.group(1), attribute.group(2) or attribute.group(3) or b""
        if name in names or (name == b"xmlns" and (b"}" in value or value in _RESERVED)):
            return False
        names.add(name)
    return True


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

    The accepted shape: an optional declaration (version 1.0, UTF-8), a root element
    not named ``Click``, ``<Clicks>`` (attributes without a prefix, each once), then
    ``<Click>`` elements whose children are fields with text (``<Os>PHONE</Os>``,
    ``<Os/>``) or one kind of group of such fields (``<PartnerRelated>``), whitespace
    between tags, and the closing tags.

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
    if (
        prolog is None
        or prolog.group(1) == b"Click"  # the record reader reads the root as a Click too
        or not _harmless(prolog.group(2))
        or not _harmless(prolog.group(3))
        or _unusual(data, 0, prolog.end())
    ):
        return None
    closing = re.compile(_END % {**_XML, b"root": re.escape(prolog.group(1))})
    tail = closing.search(data, max(prolog.end(), len(data) - 4096))
    if tail is None or len(data) >= 1 << 31:
        return None  # (string offsets are 32-bit)
    lo, hi = prolog.end(), tail.start()  # the body, read where it lies
    if lo >= hi or _unusual(data, lo, hi):
        return None  # no clicks (the record reader's empty table), or something unusual
    whole = _one_string(data)
    if whole is None:
        return None  # not UTF-8: the record reader reports it
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
