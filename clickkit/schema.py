"""One documented schema for click exports, and the parsers that produce it.

Every export format (CSV, JSON, XML) and every file downloaded by hand becomes the same
*canonical Arrow table*: snake_case columns in a fixed order, typed, ``""`` and ``"n/a"``
as null, ``event_date`` as a UTC timestamp. That table is what the cache stores (as
Parquet); :func:`to_pandas` turns one or many of them into the DataFrame users see, with
``event_date`` in the account's time zone and the documented enums as categoricals with
fixed categories (so they survive concatenation across days).

Examples
--------
>>> table = parse_export(b"Id,EventDate,DeviceType\\nx1,2026-10-05T08:06:24-04:00,PHONE\\n")
>>> df = to_pandas(table, timezone="America/New_York")
>>> str(df["device_type"].dtype)
'category'
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clickkit.errors import ParseError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger("clickkit")

ResultFormat = Literal["CSV", "JSON", "XML"]
RESULT_FORMATS: tuple[str, ...] = ("CSV", "JSON", "XML")

#: Documented enumerations (impact.com Click model). Values outside them are kept and
#: appended after the documented ones, so nothing is lost when impact.com adds a value.
ENUMS: dict[str, tuple[str, ...]] = {
    "ad_type": (
        "BANNER", "EMAIL", "FLASH", "TEXT", "TEXT_LINK", "LONG_SPONSORED_TEXT",
        "XML_SYNDICATION", "COUPON", "CONTENT", "VIDEO", "ONLINE_TRACKING_LINK",
        "MEDIA_SOURCE_TRACKING",
    ),
    "deal_type": ("BOGO", "FREE_SHIPPING", "GENERAL_SALE", "GIFT_WITH_PURCHASE", "REBATE"),
    "deal_scope": ("CATEGORY", "ENTIRE_STORE", "PRODUCT"),
    "device_type": (
        "DESKTOP", "PHONE", "TABLET", "GAME", "WATCH", "TV", "ROBOT", "CAR", "UNKNOWN",
    ),
    "device_family": (
        "WINDOWS_MACHINE", "LINUX_MACHINE", "APPLE_MAC", "IPHONE", "IPAD", "ONE",
        "CHROMEBOOK", "UNKNOWN",
    ),
    "browser": (
        "CHROME", "CHROME_MOBILE", "UC_BROWSER", "OPERA", "OPERA_MOBILE", "EDGE", "FIREFOX",
        "SAFARI", "CAKE", "AMAZON_SILK", "UNKNOWN",
    ),
    "os": ("ANDROID", "LINUX", "IOS", "WINDOWS_10", "WINDOWS_7", "UNKNOWN"),
}  # fmt: skip


class ParseWarning(UserWarning):
    """Rows or bytes were dropped or replaced while reading an export."""


@dataclass(frozen=True)
class Column:
    """One column of the schema.

    Attributes
    ----------
    name : str
        The snake_case name in the DataFrame.
    source : str
        The PascalCase field name in impact.com's export.
    kind : str
        ``"string"``, ``"int"``, ``"float"``, ``"bool"``, ``"datetime"`` or ``"enum"``.
    description : str
        What the column holds.
    """

    name: str
    source: str
    kind: str
    description: str


COLUMNS: tuple[Column, ...] = (
    Column("id", "Id", "string", "Consumer-journey id (im_ref / irclickid); not unique per row"),
    Column("program_id", "ProgramId", "int", "Program (formerly campaign) id"),
    Column("program_name", "ProgramName", "string", "Program name"),
    Column("profile_id", "ProfileId", "string", "impact.com user-on-device id"),
    Column("ip_address", "IpAddress", "string", "Hashed IP address"),
    Column("event_date", "EventDate", "datetime", "Click time, tz-aware (account time zone)"),
    Column("media_id", "MediaId", "int", "Partner (media) id"),
    Column("media_name", "MediaName", "string", "Partner (media) name"),
    Column("ad_id", "AdId", "int", "Ad id"),
    Column("ad_name", "AdName", "string", "Ad name"),
    Column("ad_type", "AdType", "enum", "Ad type"),
    Column("product_sku", "ProductSku", "string", "SKU the ad promotes"),
    Column("deal_name", "DealName", "string", "Deal name"),
    Column("deal_type", "DealType", "enum", "Deal type"),
    Column("deal_scope", "DealScope", "enum", "Deal scope"),
    Column("customer_area", "CustomerArea", "string", "Customer area (null when n/a)"),
    Column("customer_city", "CustomerCity", "string", "Customer city (null when n/a)"),
    Column("customer_region", "CustomerRegion", "string", "Customer region or state"),
    Column("customer_country", "CustomerCountry", "string", "ISO 3166-1 alpha-2 country"),
    Column("device_type", "DeviceType", "enum", "Device type"),
    Column("device_family", "DeviceFamily", "enum", "Device family"),
    Column("browser", "Browser", "enum", "Browser"),
    Column("os", "Os", "enum", "Operating system"),
    Column("referring_url", "ReferringUrl", "string", "Referring URL"),
    Column("referring_domain", "ReferringDomain", "string", "Referring domain"),
    Column("landing_page_url", "LandingPageUrl", "string", "Landing page URL"),
    Column("traffic_category", "TrafficCategory", "string", "Traffic category"),
    Column("traffic_source", "TrafficSource", "string", "Traffic source"),
    Column("bid_keyword", "BidKeyword", "string", "Paid-search keyword"),
    Column("search_text", "SearchText", "string", "Search query"),
    Column("shared_id", "SharedId", "string", "Shared id from the tracking link"),
    Column("sub_id1", "SubId1", "string", "Partner sub id 1"),
    Column("sub_id2", "SubId2", "string", "Partner sub id 2"),
    Column("sub_id3", "SubId3", "string", "Partner sub id 3"),
    Column("cpc_bid", "CpcBid", "float", "Cost-per-click compensation"),
    Column("payout", "Payout", "float", "Partner payout"),
    Column("unique_click", "UniqueClick", "bool", "Meets the IAB unique-click standard"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

# Other spellings seen in impact.com material: the pre-v14 names and nested sub ids.
_ALIASES: dict[str, str] = {
    "campaign_id": "program_id",
    "campaign_name": "program_name",
    "partner_related_sub_id1": "sub_id1",
    "partner_related_sub_id2": "sub_id2",
    "partner_related_sub_id3": "sub_id3",
}

_NULL_VALUES = ["", "n/a", "N/A"]
_TRUE_VALUES = ["true", "TRUE", "True", "1", "t", "T", "yes", "YES"]
_FALSE_VALUES = ["false", "FALSE", "False", "0", "f", "F", "no", "NO"]


def snake_case(field: str) -> str:
    """Return the schema name for an export field name.

    Examples
    --------
    >>> snake_case("SubId1"), snake_case("PartnerRelated.SubId2"), snake_case("CampaignId")
    ('sub_id1', 'sub_id2', 'program_id')
    """
    name = re.sub(r"[^0-9A-Za-z]+", "_", field.strip())
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().strip("_")
    return _ALIASES.get(name, name)


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type that stores a column of ``kind`` in the canonical table."""
    import pyarrow as pa

    return {
        "string": pa.string(),
        "enum": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("ms", tz="UTC"),
    }[kind]


def arrow_schema() -> pa.Schema:
    """The canonical Arrow schema (known columns only; extra columns follow as strings)."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.kind)) for c in COLUMNS])


def empty_table() -> pa.Table:
    """A canonical table with no rows."""
    return arrow_schema().empty_table()


# ---------------------------------------------------------------------------------------
# Normalising any Arrow table of export fields to the canonical table


def _cast_column(array: pa.ChunkedArray, kind: str, name: str) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    target = arrow_type(kind)
    if array.type == target:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if kind in ("string", "enum"):
        return pc.cast(array, pa.string())
    # Numbers, booleans and dates may arrive as text (JSON, XML, odd CSV): clean it first.
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    text = pc.if_else(pc.is_in(text, pa.array(_NULL_VALUES)), None, text)
    try:
        if kind == "bool":
            lowered = pc.utf8_lower(text)
            truthy = pc.is_in(lowered, pa.array([v.lower() for v in _TRUE_VALUES]))
            falsy = pc.is_in(lowered, pa.array([v.lower() for v in _FALSE_VALUES]))
            if pc.any(pc.and_(pc.is_valid(lowered), pc.invert(pc.or_(truthy, falsy)))).as_py():
                raise ValueError("not a boolean")
            return pc.if_else(truthy, True, pc.if_else(falsy, False, pa.scalar(None, pa.bool_())))
        if kind == "datetime":
            return pc.cast(pc.cast(text, pa.timestamp("s", tz="UTC")), target)
        if kind == "int":
            return pc.cast(pc.cast(text, pa.float64()), pa.int64())
        return pc.cast(text, target)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise ParseError(
            f"column {name!r} holds values that are not {kind} ({exc}). The file may be "
            "damaged or not a click export; download it again or check its source."
        ) from exc


def normalise(table: pa.Table) -> pa.Table:
    """Rename, type and order an Arrow table of export fields into the canonical table.

    Known columns come first in schema order (missing ones are added as nulls); unknown
    extra columns are kept after them, as strings.

    Parameters
    ----------
    table : pyarrow.Table
        Columns named as in the export (``EventDate``) or already in snake_case.

    Returns
    -------
    pyarrow.Table
    """
    import pyarrow as pa

    by_name: dict[str, pa.ChunkedArray] = {}
    for field_name, column in zip(table.column_names, table.columns, strict=True):
        by_name.setdefault(snake_case(field_name), column)
    n = table.num_rows
    arrays: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    for col in COLUMNS:
        if col.name in by_name:
            arrays.append(_cast_column(by_name.pop(col.name), col.kind, col.name))
        else:
            arrays.append(pa.nulls(n, arrow_type(col.kind)))
        fields.append(pa.field(col.name, arrow_type(col.kind)))
    for extra, column in by_name.items():
        arrays.append(_cast_column(column, "string", extra))
        fields.append(pa.field(extra, pa.string()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# ---------------------------------------------------------------------------------------
# Parsers


def _as_bytes(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    return Path(source).read_bytes()


def _blank(data: bytes) -> bool:
    """Whether ``data`` is empty or only whitespace, without copying it as ``strip()`` does."""
    return not data or data.isspace()


def sniff_format(data: bytes) -> ResultFormat:
    """Guess the export format from the first bytes of a file.

    Raises
    ------
    ParseError
        When the bytes look like an HTML page (an error page instead of a file).
    """
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]:
        raise ParseError(
            "the file is an HTML page, not a click export (often a login or error page). "
            "Download it again from the job's ResultUri."
        )
    if head.startswith((b"{", b"[")):
        return "JSON"
    if head.startswith(b"<"):
        return "XML"
    return "CSV"


def _csv_types(header: Sequence[str] = ()) -> dict[str, pa.DataType]:
    """Arrow types for CSV columns: the schema's, and text for the header's other names.

    Typing every column up front means pyarrow never infers a type from the first block,
    so the block size cannot change a result, and extra columns stay verbatim text.
    """
    import pyarrow as pa

    types: dict[str, pa.DataType] = {}
    for col in COLUMNS:
        for name in (col.source, col.name):
            types[name] = arrow_type(col.kind)
    for name in header:
        if name not in types:
            known = _BY_NAME.get(snake_case(name))
            types[name] = arrow_type(known.kind) if known else pa.string()
    return types


def _csv_header(data: bytes) -> list[str]:
    """The column names on the first line of a CSV export (empty when unreadable)."""
    end = data.find(b"\n")
    line = (data if end < 0 else data[:end]).decode("utf-8", errors="replace").rstrip("\r")
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _read_csv(data: bytes) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    skipped: list[str] = []

    def skip_row(row: Any) -> str:
        skipped.append(row.text or "")
        return "skip"

    header = _csv_header(data)
    convert = pacsv.ConvertOptions(
        column_types=_csv_types(header),
        null_values=_NULL_VALUES,
        strings_can_be_null=True,
        true_values=_TRUE_VALUES,
        false_values=_FALSE_VALUES,
        # The ISO8601 *parser object*: the string "ISO8601" would be taken as a strptime
        # format, fail on every row and send each file down the slow text fallback.
        timestamp_parsers=[pacsv.ISO8601],
    )
    parse = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip_row)
    # Blocks of 1 MiB keep both cores busy; 16 MiB blocks made reads 1.5x slower.
    read = pacsv.ReadOptions(block_size=1 << 20)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message or "UTF-8" in message:
            raise UnicodeError(message) from exc
        # A value of the wrong type in a typed column: read as text and let normalise
        # name the column.
        log.debug("typed CSV read failed (%s); retrying as text", message)
        convert.column_types = {name: pa.string() for name in header}
        skipped.clear()  # the retry meets the same malformed rows again
        table = pacsv.read_csv(
            io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert
        )
    if skipped:
        warnings.warn(
            f"{len(skipped)} malformed CSV row(s) were dropped (wrong number of fields).",
            ParseWarning,
            stacklevel=3,
        )
    return table


def parse_csv(data: bytes) -> pa.Table:
    """Parse a CSV click export into the canonical table.

    Uses pyarrow's CSV reader with the column types given up front (the fast path).
    Malformed rows are dropped with a :class:`ParseWarning` naming the count; bytes that
    are not UTF-8 are replaced (U+FFFD) with a warning.
    """
    import pyarrow as pa

    data = data.removeprefix(b"\xef\xbb\xbf")
    if _blank(data):
        return empty_table()
    try:
        table = _read_csv(data)
    except UnicodeError:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        warnings.warn(
            f"the file is not valid UTF-8: {bad} undecodable byte sequence(s) were replaced "
            "by U+FFFD.",
            ParseWarning,
            stacklevel=2,
        )
        table = _read_csv(text.encode("utf-8"))
    except pa.ArrowInvalid as exc:
        raise ParseError(f"cannot read the CSV export: {exc}") from exc
    return normalise(table)


def _text(value: Any) -> str | None:
    """A JSON/XML value as export text."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _column_array(values: list[Any]) -> pa.Array:
    """An Arrow array of raw JSON/XML values; empty and "n/a" text become null as in CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: fall back to text
        array = pa.array([_text(v) for v in values], pa.string())
    if pa.types.is_string(array.type):
        blank = pc.is_in(array, pa.array(_NULL_VALUES))
        array = pc.if_else(blank, pa.scalar(None, pa.string()), array)
    elif not (pa.types.is_boolean(array.type) or pa.types.is_null(array.type)):
        array = pc.cast(array, pa.string())
    return array


def _records_to_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Build a table from JSON/XML records, column by column (fast for big days).

    Nested ``PartnerRelated`` / ``BrandRelated`` values (a list of one object, or an
    object) are flattened: their fields become columns.
    """
    import pyarrow as pa

    if not records:
        return empty_table()
    keys = list(dict.fromkeys(k for r in records[:1000] for k in r))
    keys += [k for k in set().union(*(r.keys() for r in records)) if k not in keys]
    columns: dict[str, pa.Array] = {}
    for key in keys:
        values = [r.get(key) for r in records]
        sample = next((v for v in values if v is not None and v != ""), None)
        if isinstance(sample, Mapping | list):
            nested = [(v[0] if v else {}) if isinstance(v, list) else (v or {}) for v in values]
            nested = [n if isinstance(n, Mapping) else {} for n in nested]
            for sub in dict.fromkeys(k for n in nested for k in n):
                if sub not in columns:
                    columns[sub] = _column_array([n.get(sub) for n in nested])
        elif key not in columns:
            columns[key] = _column_array(values)
    return pa.table(columns)


def parse_json(data: bytes) -> pa.Table:
    """Parse a JSON click export (``{"Clicks": [...]}`` or a bare array).

    Nested ``PartnerRelated`` / ``BrandRelated`` objects are flattened into columns.
    """
    try:
        import orjson

        document = orjson.loads(data)
    except ImportError:
        document = json.loads(data)
    except ValueError as exc:
        raise ParseError(f"the JSON export is not valid JSON: {exc}") from exc
    if isinstance(document, dict):
        records = next(
            (v for k, v in document.items() if k.lower() in ("clicks", "records", "click")),
            None,
        )
        if records is None:
            raise ParseError(
                "the JSON document has no 'Clicks' list; it is not a click export "
                f"(keys: {sorted(document)[:8]})."
            )
    elif isinstance(document, list):
        records = document
    else:
        raise ParseError("the JSON export is neither an object nor a list of clicks.")
    if not isinstance(records, list):
        raise ParseError("the JSON export's 'Clicks' entry is not a list.")
    return normalise(_records_to_table(records))


def parse_xml(data: bytes) -> pa.Table:
    """Parse an XML click export (``<ImpactRadiusResponse><Clicks><Click>...``)."""

    def records() -> Iterable[dict[str, Any]]:
        for _, element in ET.iterparse(io.BytesIO(data), events=("end",)):
            if element.tag != "Click":
                continue
            record: dict[str, Any] = {}
            for child in element:
                if len(child):
                    record[child.tag] = [
                        {g.tag: g.text or "" for g in child.iter() if g is not child and not len(g)}
                    ]
                else:
                    record[child.tag] = child.text or ""
            element.clear()
            yield record

    try:
        return normalise(_records_to_table(list(records())))
    except ET.ParseError as exc:
        raise ParseError(f"the XML export is not well-formed XML: {exc}") from exc


def parse_export(source: bytes | str | Path, result_format: str | None = None) -> pa.Table:
    """Parse an export file (CSV, JSON or XML, sniffed when not given) to the canonical table.

    Parameters
    ----------
    source : bytes, str or Path
        The file's bytes or its path.
    result_format : {"CSV", "JSON", "XML"}, optional
        The format; sniffed from the content when omitted.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    ParseError
        The content is not a click export (an HTML page, broken JSON/XML...).
    """
    data = _as_bytes(source)
    if _blank(data):
        warnings.warn(
            "the export file is empty (0 bytes); it is read as a day with no clicks.",
            ParseWarning,
            stacklevel=2,
        )
        return empty_table()
    sniffed = sniff_format(data)
    fmt = (result_format or sniffed).upper()
    if fmt not in RESULT_FORMATS:
        raise ParseError(f"unknown result format {result_format!r}; use CSV, JSON or XML.")
    return {"CSV": parse_csv, "JSON": parse_json, "XML": parse_xml}[fmt](data)


# ---------------------------------------------------------------------------------------
# pandas


def enum_categories(tables: Iterable[pa.Table]) -> dict[str, list[str]]:
    """The categories of each enum column over several tables: documented, then extras.

    Lets partitions converted separately (e.g. by Dask) share identical categories.
    """
    import pyarrow.compute as pc

    extras: dict[str, set[str]] = {name: set() for name in ENUMS}
    for table in tables:
        for name in ENUMS:
            if name in table.column_names:
                found = {v for v in pc.unique(table[name]).to_pylist() if v is not None}
                extras[name] |= found - set(ENUMS[name])
    return {name: [*ENUMS[name], *sorted(extras[name])] for name in ENUMS}


def _enum_array(
    column: pa.ChunkedArray, documented: Sequence[str], *, exact: bool = False
) -> pa.DictionaryArray:
    """An enum column as one dictionary array over its categories (documented first).

    pyarrow turns it into a ``pd.Categorical`` with exactly these categories. One hash
    pass in the usual case: the codes come from the documented categories, and only when
    a value falls outside them are the extras collected (sorted) and the codes redone.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    categories = pa.array(list(documented), pa.string())
    codes = pc.index_in(column, value_set=categories)
    if not exact:
        unmatched = pc.and_(pc.is_valid(column), pc.is_null(codes))
        if pc.any(unmatched).as_py():
            extras = sorted(pc.unique(column.filter(unmatched)).to_pylist())
            categories = pa.array([*documented, *extras], pa.string())
            codes = pc.index_in(column, value_set=categories)
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    return pa.DictionaryArray.from_arrays(codes, categories)


def to_pandas(
    table: pa.Table,
    timezone: str = "UTC",
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Convert a canonical table (or a concatenation of them) to the documented DataFrame.

    Parameters
    ----------
    table : pyarrow.Table
        From :func:`parse_export`, the cache, or ``pyarrow.concat_tables`` of those.
    timezone : str
        IANA name of the account's time zone; ``event_date`` is converted to it.
    categories : mapping, optional
        Exact categories per enum column (from :func:`enum_categories`); by default the
        documented ones plus any other values present.

    Returns
    -------
    pandas.DataFrame
        Nullable ``Int64``/``Float64``/``boolean`` columns, ``category`` enums with the
        documented categories first, ``str`` text, tz-aware ``event_date``.
    """
    import pandas as pd
    import pyarrow as pa

    from clickkit.accessor import register

    register()  # frames from clickkit get ``df.clicks`` plots
    mapping = {
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    # Enums become dictionary columns first, so one to_pandas call builds the whole frame
    # in order (no column inserts and reordering afterwards).
    columns: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.name in ENUMS:
            exact = (categories or {}).get(field.name)
            documented = ENUMS[field.name] if exact is None else exact
            column = _enum_array(column, documented, exact=exact is not None)
            field = field.with_type(column.type)
        columns.append(column)
        fields.append(field)
    # The schema's metadata is kept: a table made from pandas rebuilds its index from it.
    converted = pa.Table.from_arrays(columns, schema=pa.schema(fields, table.schema.metadata))
    frame = converted.to_pandas(types_mapper=mapping.get)
    if "event_date" in frame:
        frame["event_date"] = frame["event_date"].dt.tz_convert(timezone)
    return frame


def empty_frame(timezone: str = "UTC") -> pd.DataFrame:
    """The documented DataFrame with no rows (all columns and dtypes present)."""
    return to_pandas(empty_table(), timezone)


def load_export(path: str | Path, *, timezone: str = "UTC") -> pd.DataFrame:
    """Read a click export downloaded by hand (CSV, JSON or XML) into the documented schema.

    Parameters
    ----------
    path : str or Path
        The file.
    timezone : str
        The account's time zone for ``event_date``.

    Examples
    --------
    >>> import clickkit as ck
    >>> df = ck.load_export("clicks-2026-10-01.csv", timezone="America/New_York")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        from clickkit.errors import InvalidRequestError

        raise InvalidRequestError(f"no such file: {path}. Check the path.")
    return to_pandas(parse_export(path), timezone)


def filter_table(
    table: pa.Table,
    *,
    program_ids: Sequence[int] = (),
    ad_ids: Sequence[int] = (),
    sub_ids: Sequence[str] = (),
    unique: bool | None = None,
) -> pa.Table:
    """Apply click filters to a canonical table, as the ClickExport API would.

    ``sub_ids`` keeps clicks where any of ``sub_id1..3`` is one of the values.

    Examples
    --------
    >>> filter_table(empty_table(), program_ids=[12]).num_rows
    0
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    masks = []
    if program_ids:
        masks.append(pc.is_in(table["program_id"], pa.array(program_ids, pa.int64())))
    if ad_ids:
        masks.append(pc.is_in(table["ad_id"], pa.array(ad_ids, pa.int64())))
    if sub_ids:
        values = pa.array(sub_ids, pa.string())
        masks.append(
            pc.or_(
                pc.or_(pc.is_in(table["sub_id1"], values), pc.is_in(table["sub_id2"], values)),
                pc.is_in(table["sub_id3"], values),
            )
        )
    if unique:
        masks.append(pc.fill_null(table["unique_click"], False))
    if not masks:
        return table
    mask = masks[0]
    for extra in masks[1:]:
        mask = pc.and_(mask, extra)
    return table.filter(pc.fill_null(mask, False))
