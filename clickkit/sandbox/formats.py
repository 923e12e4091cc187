"""Result files: filter a click table and serialise it as CSV, JSON or XML bytes.

The layouts are the sandbox's reading of the partly undocumented ClickExport result
files; every open choice is a keyword argument of :func:`serialize`:

- **CSV**: a header row of the column names, UTF-8 without BOM (``bom=True`` adds one),
  CRLF line ends, RFC 4180 quoting only where a value needs it, booleans written as
  ``csv_true``/``csv_false``.
- **JSON**: the list envelope ``{"@page":"1","@numpages":"1","@pagesize":"<n>",
  "@total":"<n>","Clicks":[...]}``; every value a string except ``UniqueClick`` (a JSON
  boolean); the sub ids nested as ``"PartnerRelated":[{"SubId1":..,"SubId2":..,
  "SubId3":..}]`` unless ``flat=True``.
- **XML**: ``<ImpactRadiusResponse><Clicks page=.. numpages=.. pagesize=.. total=..>
  <Click>...</Click></Clicks></ImpactRadiusResponse>``, the sub ids nested in
  ``<PartnerRelated>`` unless ``flat=True``.

All three are built with vectorised pyarrow string kernels, so a million rows serialise
in about a second.

Examples
--------
>>> from datetime import date
>>> from clickkit.sandbox.generator import generate_day
>>> table = generate_day(date(2026, 10, 5), clicks_per_day=50)
>>> serialize(table, "CSV").splitlines()[0][:20]
b'Id,ProgramId,Program'
>>> import json
>>> json.loads(serialize(table, "JSON"))["@total"] == str(table.num_rows)
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CONTENT_TYPES", "EXTENSIONS", "RESULT_FORMATS", "filter_clicks", "serialize"]

RESULT_FORMATS = ("CSV", "JSON", "XML")
CONTENT_TYPES = {
    "CSV": "text/csv; charset=utf-8",
    "JSON": "application/json",
    "XML": "application/xml",
}
EXTENSIONS = {"CSV": "csv", "JSON": "json", "XML": "xml"}
SUB_IDS = ("SubId1", "SubId2", "SubId3")

Piece = pa.Array | str  # a column of per-row strings, or a literal repeated on every row


def filter_clicks(
    table: pa.Table,
    *,
    program_ids: Iterable[str] = (),
    ad_ids: Iterable[str] = (),
    sub_ids: Iterable[str] = (),
    unique_only: bool = False,
) -> pa.Table:
    """Apply the ClickExport filters to a click table.

    Parameters
    ----------
    table : pyarrow.Table
        Clicks as made by :func:`~clickkit.sandbox.generator.generate_day`.
    program_ids, ad_ids : iterable of str
        Keep rows whose ``ProgramId`` / ``AdId`` is one of these (empty: no filter).
    sub_ids : iterable of str
        Keep rows where any of ``SubId1..3`` equals one of these (empty: no filter).
    unique_only : bool
        Keep only ``UniqueClick`` rows (the API's ``UniqueClick=TRUE``).

    Returns
    -------
    pyarrow.Table

    Examples
    --------
    >>> t = pa.table({"ProgramId": ["1", "2"], "AdId": ["5", "6"], "SubId1": ["a", ""],
    ...               "SubId2": ["", ""], "SubId3": ["", "a"], "UniqueClick": [True, False]})
    >>> filter_clicks(t, sub_ids=["a"]).num_rows, filter_clicks(t, unique_only=True).num_rows
    (2, 1)
    """
    masks = []
    for column, values in (("ProgramId", program_ids), ("AdId", ad_ids)):
        wanted = pa.array(sorted(set(values)), pa.string())
        if len(wanted):
            masks.append(pc.is_in(table[column], value_set=wanted))
    subs = pa.array(sorted(set(sub_ids)), pa.string())
    if len(subs):
        in_any = [pc.is_in(table[c], value_set=subs) for c in SUB_IDS]
        masks.append(pc.or_(pc.or_(in_any[0], in_any[1]), in_any[2]))
    if unique_only:
        masks.append(table["UniqueClick"])
    if not masks:
        return table
    mask = masks[0]
    for m in masks[1:]:
        mask = pc.and_(mask, m)
    return table.filter(mask)


def serialize(
    table: pa.Table,
    result_format: str = "CSV",
    *,
    csv_true: str = "true",
    csv_false: str = "false",
    flat: bool = False,
    bom: bool = False,
) -> bytes:
    """Serialise a click table into the bytes of a ClickExport result file.

    Parameters
    ----------
    table : pyarrow.Table
        String columns plus boolean ones (``UniqueClick``); the column order is kept.
    result_format : {"CSV", "JSON", "XML"}
        Case-insensitive.
    csv_true, csv_false : str
        How booleans are written in CSV and XML (JSON uses ``true``/``false``).
    flat : bool
        JSON/XML only: write ``SubId1..3`` as top-level fields instead of nesting them
        in ``PartnerRelated``.
    bom : bool
        CSV only: start with a UTF-8 byte order mark.

    Returns
    -------
    bytes

    Examples
    --------
    >>> t = pa.table({"Id": ["a,b", "c"], "UniqueClick": [True, False]})
    >>> serialize(t, "csv", csv_true="TRUE", csv_false="FALSE").decode().splitlines()
    ['Id,UniqueClick', '"a,b",TRUE', 'c,FALSE']
    >>> serialize(t.slice(1), "XML").decode().split("<Click>")[1]
    '<Id>c</Id><UniqueClick>false</UniqueClick></Click></Clicks></ImpactRadiusResponse>'
    """
    fmt = result_format.upper()
    if fmt not in RESULT_FORMATS:
        raise ValueError(f"unknown result format {result_format!r}; use CSV, JSON or XML")
    columns = {name: _column(table, name) for name in table.column_names}
    n = table.num_rows
    if fmt == "CSV":
        return _csv(columns, n, csv_true, csv_false, bom)
    if fmt == "JSON":
        return _json(columns, n, flat)
    return _xml(columns, n, csv_true, csv_false, flat)


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table[name].combine_chunks()
    if isinstance(column, pa.ChunkedArray):  # a column without chunks
        column = pa.array([], column.type)
    return column if pa.types.is_boolean(column.type) else column.cast(pa.string())


def _rows(pieces: list[Piece], n: int, *, sep: str = "", end: str = "") -> list[bytes]:
    """Join the pieces of every row (with ``sep``, then ``end``); return large byte chunks.

    Works in batches of rows: the join kernel is several times faster on arrays that fit
    in the CPU cache than on one array of a million rows, and 32-bit offsets suffice.
    """
    batch = 32_768
    out = []
    for start in range(0, n, batch):
        part = [_lit(p) if isinstance(p, str) else p.slice(start, batch) for p in pieces]
        if isinstance(part[-1], pa.Scalar):
            part[-1] = _lit(str(pieces[-1]) + end)
        elif end:
            part[-1] = pc.binary_join_element_wise(part[-1], _lit(end), _lit(""))
        if all(isinstance(p, pa.Scalar) for p in part):
            part.append(pa.array([""] * min(batch, n - start), pa.string()))
        joined = pc.binary_join_element_wise(*part, _lit(sep))
        out.append(_value_bytes(joined))
    return out


def _value_bytes(column: pa.Array) -> bytes:
    """The UTF-8 bytes of all values of a string array, back to back."""
    offsets = np.frombuffer(column.buffers()[1], np.int32)
    first, last = int(offsets[column.offset]), int(offsets[column.offset + len(column)])
    data = column.buffers()[2]
    return b"" if data is None or last == first else data.slice(first, last - first).to_pybytes()


def _contains_any(column: pa.Array, chars: bytes, *, control: bool = False) -> bool:
    """Whether any value holds one of ``chars`` (or, with ``control``, a byte < 0x20).

    A scan of the raw bytes is far cheaper than a regex kernel, so the common clean
    column skips escaping entirely.
    """
    raw = _value_bytes(column) if len(column) else b""
    if control and raw and np.frombuffer(raw, np.uint8).min() < 0x20:
        return True
    return any(raw.find(bytes([c])) >= 0 for c in chars)


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.string())


def _booleans(column: pa.Array, true: str, false: str) -> pa.Array:
    return pc.if_else(column, _lit(true), _lit(false))


def _csv(columns: dict[str, pa.Array], n: int, true: str, false: str, bom: bool) -> bytes:
    pieces: list[Piece] = []
    for column in columns.values():
        if pa.types.is_boolean(column.type):
            column = _booleans(column, true, false)
        if _contains_any(column, b',"\r\n'):
            needs = pc.match_substring_regex(column, '[,"\r\n]')
            escaped = pc.replace_substring(column, '"', '""')
            quoted = pc.binary_join_element_wise(_lit('"'), escaped, _lit('"'), _lit(""))
            column = pc.if_else(needs, quoted, column)
        pieces.append(column)
    header = ",".join(_csv_field(name) for name in columns) + "\r\n"
    head = (b"\xef\xbb\xbf" if bom else b"") + header.encode("utf-8")
    return b"".join([head, *_rows(pieces, n, sep=",", end="\r\n")])


def _csv_field(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _json_strings(column: pa.Array) -> pa.Array:
    """JSON string literals, quotes included, for every value of a string column."""
    plain = pc.binary_join_element_wise(_lit('"'), column, _lit('"'), _lit(""))
    if not _contains_any(column, b'"\\', control=True):
        return plain
    needs = pc.match_substring_regex(column, '["\\\\\\x00-\\x1f]')
    # Rare: only values with quotes, backslashes or control characters go through json.
    escaped = pa.array([json.dumps(v, ensure_ascii=False) for v in column.to_pylist()], pa.string())
    return pc.if_else(needs, escaped, plain)


def _json(columns: dict[str, pa.Array], n: int, flat: bool) -> bytes:
    def value(column: pa.Array) -> pa.Array:
        if pa.types.is_boolean(column.type):
            return _booleans(column, "true", "false")
        return _json_strings(column)

    pieces: list[Piece] = []
    for name, column in columns.items():
        if name in SUB_IDS and not flat:
            if name == SUB_IDS[0]:
                pieces.append(',"PartnerRelated":[{')
            pieces += [("" if name == SUB_IDS[0] else ",") + f'"{name}":', value(column)]
            if name == SUB_IDS[-1]:
                pieces.append("}]")
        else:
            pieces += [f',"{name}":', value(column)]
    if pieces:
        pieces[0] = "{" + str(pieces[0])[1:]
    body = _rows([*pieces, "},"], n)
    if body:
        body[-1] = body[-1][:-1]  # no comma after the last click
    size = str(n)
    head = {"@page": "1", "@numpages": "1", "@pagesize": size, "@total": size}
    opening = json.dumps(head, separators=(",", ":"))[:-1].encode() + b',"Clicks":['
    return b"".join([opening, *body, b"]}"])


def _xml(columns: dict[str, pa.Array], n: int, true: str, false: str, flat: bool) -> bytes:
    pieces: list[Piece] = ["<Click>"]
    for name, column in columns.items():
        if pa.types.is_boolean(column.type):
            column = _booleans(column, true, false)
        else:
            for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
                if _contains_any(column, char.encode()):
                    column = pc.replace_substring(column, char, entity)
        nested = name in SUB_IDS and not flat
        if nested and name == SUB_IDS[0]:
            pieces.append("<PartnerRelated>")
        pieces += [f"<{name}>", column, f"</{name}>"]
        if nested and name == SUB_IDS[-1]:
            pieces.append("</PartnerRelated>")
    pieces.append("</Click>")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><ImpactRadiusResponse>'
        f'<Clicks page="1" numpages="1" pagesize="{n}" total="{n}">'
    )
    return b"".join([head.encode(), *_rows(pieces, n), b"</Clicks></ImpactRadiusResponse>"])
