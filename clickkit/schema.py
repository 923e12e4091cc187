"""One documented schema for click exports, and the parsers that produce it.

Every export format (CSV, JSON, XML) and every file downloaded by hand becomes the same
*canonical Arrow table*: snake_case columns in a fixed order, typed, ``""`` and ``"n/a"``
as null, ``event_date`` as a UTC timestamp, the enums dictionary-encoded (one dictionary
per column, values in order of first appearance). That table is what the cache stores (as
Parquet, the enums as text); :func:`to_pandas` turns one or many of them into the
DataFrame users see, with ``event_date`` in the account's time zone and the documented
enums as categoricals with fixed categories (so they survive concatenation across days).

The parsers accept the spellings impact.com's files may use: field names in any case and
with any separators (``IPAddress``, ``Sub Id 1``, ``PartnerRelated.SubId1``, the pre-v14
``CampaignId``); booleans as ``true``/``Y``/``yes``/``1``/``t`` and their opposites; money
as ``0.25``, ``"0.25"``, ``$1,234.50`` or ``-$0.25``; counts as ``250`` or ``250.0``; a BOM
and CRLF or LF line ends; ``EventDate`` with an offset, ``Z`` or none (then it is wall time
in the account's ``timezone``). A column whose values still do not read as its type is
kept as text with a :class:`ParseWarning` rather than failing the day; only unusable
``id`` or ``event_date`` values raise :class:`ParseError`. The table's schema metadata
records the schema columns the file lacked (:data:`MISSING_KEY`) and the ``EventDate``
offsets seen (:data:`OFFSETS_KEY`); :func:`concat_tables` combines days or pages keeping
both.

Examples
--------
>>> table = parse_export(b"Id,EventDate,DeviceType\\nx1,2026-10-05T08:06:24-04:00,PHONE\\n")
>>> df = to_pandas(table, timezone="America/New_York")
>>> str(df["device_type"].dtype)
'category'
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clickkit.errors import ParseError

if TYPE_CHECKING:
    import numpy as np
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
    """Rows or bytes were dropped or replaced, or a column was kept as text, while reading."""


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

#: Schema metadata key: the schema columns the file did not have (added as nulls), as
#: comma-separated names in schema order; ``b""`` when none.
MISSING_KEY = b"clickkit.missing"
#: Schema metadata key: the distinct UTC offsets of a sample of the raw ``EventDate``
#: values (``b"-05:00,-04:00"``; ``Z`` is ``+00:00``; ``none`` for values without an
#: offset, listed last); ``b""`` when there were no values.
OFFSETS_KEY = b"clickkit.offsets"

_NULL_VALUES = ["", "n/a", "N/A"]


def _spellings(words: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(s for w in words for s in (w, w.upper(), w.title())))


_TRUE_WORDS = ("true", "t", "yes", "y", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "0")
# pyarrow matches these exactly, so each word is listed as lower, UPPER and Title case.
_TRUE_VALUES = _spellings(_TRUE_WORDS)
_FALSE_VALUES = _spellings(_FALSE_WORDS)

# What pyarrow's typed CSV reader accepts as is; other spellings are read as text first.
_PLAIN: dict[str, Callable[[str], object]] = {
    "int": re.compile(r"-?\d+\Z").match,
    "float": re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z").match,
    "bool": frozenset(_TRUE_VALUES + _FALSE_VALUES + _NULL_VALUES).__contains__,
}
_INT_RE = r"^[+-]?\d+$"
_FLOAT_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_THOUSANDS_RE = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"
# An EventDate that ends in an offset after a time of day (a bare date has none).
_HAS_OFFSET_RE = r"[T ]\d{2}[0-9:.,]*\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
_OFFSET_PART_RE = r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.,]*)?\s*(?P<off>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
_ISO_SHAPE_RE = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?"
    r"(?:Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
# The last six characters of an EventDate that are its offset in the usual spelling.
_ZONE_TAIL = re.compile(r"[+-]\d\d:\d\d").fullmatch
_OFFSET_SAMPLE = 4096  # EventDate values looked at for the offsets metadata


# ---------------------------------------------------------------------------------------
# Column names


def _loose(field: str) -> str:
    """A field name without case or separators: ``Sub_Id 1`` and ``SubID1`` -> ``subid1``."""
    return re.sub(r"[^0-9a-z]+", "", field.lower())


# Every spelling of a schema column, loosely: the export name, the schema name, the pre-v14
# names. Sub ids may also carry their nesting (``PartnerRelated.SubId1``).
_LOOSE: dict[str, str] = {
    **{_loose(c.source): c.name for c in COLUMNS},
    **{_loose(c.name): c.name for c in COLUMNS},
    "campaignid": "program_id",
    "campaignname": "program_name",
}
_NESTED = re.compile(r"(?:partnerrelated|brandrelated)\d*(subid\d)")


@functools.lru_cache(maxsize=1024)
def _schema_name(field: str) -> str | None:
    """The schema column an export field name means, or None for other fields."""
    key = _loose(field)
    if key in _LOOSE:
        return _LOOSE[key]
    nested = _NESTED.fullmatch(key)
    return _LOOSE.get(nested.group(1)) if nested else None


def is_schema_field(field: str) -> bool:
    """Whether ``field`` is a documented column, in any spelling the exports use.

    Examples
    --------
    >>> is_schema_field("EventDate"), is_schema_field("event_date"), is_schema_field("Brand")
    (True, True, False)
    """
    return _schema_name(field) is not None


def _plain_snake(field: str) -> str:
    """``BrandRelated.AdCampaign`` -> ``ad_campaign``, ``IPAddress`` -> ``ip_address``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", field.strip())
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return re.sub(r"^(?:partner|brand)_related_(?:\d+_)?(?=.)", "", name)


def snake_case(field: str) -> str:
    """Return the schema name for an export field name.

    Schema columns are matched loosely (case, spaces, underscores, dots and dashes do
    not matter, and the pre-v14 ``Campaign*`` names are understood); other fields are
    snake_cased.

    Examples
    --------
    >>> snake_case("SubId1"), snake_case("PartnerRelated.SubId2"), snake_case("CampaignId")
    ('sub_id1', 'sub_id2', 'program_id')
    >>> snake_case("Sub Id 3"), snake_case("CPCBid"), snake_case("AdCampaign")
    ('sub_id3', 'cpc_bid', 'ad_campaign')
    """
    return _schema_name(field) or _plain_snake(field)


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type that stores a column of ``kind`` in the canonical table."""
    if not _ARROW_TYPES:  # built once: normalise asks for every column of every file
        import pyarrow as pa

        _ARROW_TYPES.update(
            {
                "string": pa.string(),
                "enum": pa.string(),
                "int": pa.int64(),
                "float": pa.float64(),
                "bool": pa.bool_(),
                "datetime": pa.timestamp("ms", tz="UTC"),
            }
        )
    return _ARROW_TYPES[kind]


_ARROW_TYPES: dict[str, pa.DataType] = {}


def _canonical_type(kind: str) -> pa.DataType:
    """The type of a column of ``kind`` in the canonical table: an enum as a dictionary.

    An enum column holds its text dictionary-encoded, values in order of first
    appearance (the form the CSV reader's blocks, unified, and the cache's Parquet read
    give); it is stored as :func:`arrow_type`, text.
    """
    import pyarrow as pa

    if kind == "enum":
        return pa.dictionary(pa.int32(), pa.string())
    return arrow_type(kind)


def arrow_schema() -> pa.Schema:
    """The canonical Arrow schema (known columns only; extra columns follow as strings).

    As stored in the cache's Parquet files: an enum column is text there, and a
    dictionary of that text in a table just read (:func:`parse_export`, the cache).
    """
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.kind)) for c in COLUMNS])


def empty_table() -> pa.Table:
    """A canonical table with no rows (nothing missing, no offsets seen)."""
    import pyarrow as pa

    fields = [pa.field(c.name, _canonical_type(c.kind)) for c in COLUMNS]
    return pa.schema(fields, _metadata((), set())).empty_table()


def _metadata(missing: Iterable[str], offsets: set[str]) -> dict[bytes, bytes]:
    order = {name: i for i, name in enumerate(COLUMN_NAMES)}
    names = sorted(set(missing), key=lambda n: (order.get(n, len(order)), n))
    return {
        MISSING_KEY: ",".join(names).encode(),
        OFFSETS_KEY: ",".join(sorted(offsets, key=_offset_minutes)).encode(),
    }


def _meta_set(table: pa.Table, key: bytes) -> set[str] | None:
    """The names listed under ``key`` in a table's metadata (None when it has no entry)."""
    value = (table.schema.metadata or {}).get(key)
    return None if value is None else {v for v in value.decode().split(",") if v}


def _offset_minutes(offset: str) -> float:
    if offset == "none":
        return float("inf")
    sign = -1 if offset.startswith("-") else 1
    return sign * (int(offset[1:3]) * 60 + int(offset[4:6]))


def _check_timezone(timezone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        from clickkit.errors import InvalidRequestError

        raise InvalidRequestError(
            f"unknown time zone {timezone!r}; pass the account's IANA time zone name, "
            "e.g. timezone='America/New_York'."
        ) from None
    return timezone


# ---------------------------------------------------------------------------------------
# Normalising any Arrow table of export fields to the canonical table


class _NotText(Exception):
    """A column holds values (lists, structs) that have no text form."""


def _clean_text(array: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column as trimmed text, with the export's empty markers as null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _NotText(str(exc)) from exc
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.is_in(text, pa.array(_NULL_VALUES)), None, text)


def _number_text(text: pa.ChunkedArray | pa.Array, kind: str) -> pa.ChunkedArray | pa.Array:
    """Money and count spellings as plain numbers: ``-$1,234.50`` -> ``-1234.50``."""
    import pyarrow.compute as pc

    text = pc.replace_substring_regex(text, r"[\p{Sc}\s]+", "")
    grouped = pc.fill_null(pc.match_substring_regex(text, _THOUSANDS_RE), False)
    text = pc.if_else(grouped, pc.replace_substring(text, ",", ""), text)
    if kind == "int":  # 250.0 is a count written by a float formatter
        text = pc.replace_substring_regex(text, r"^([+-]?\d+)\.0*$", r"\1")
    return text


def _python_ok(text: pa.ChunkedArray | pa.Array, kind: str) -> pa.Array:
    """Which values Python can read as ``kind``; for the rare values Arrow refuses."""
    import pyarrow as pa

    def ok(value: str | None) -> bool | None:
        if value is None:
            return None
        try:
            number = int(value) if kind == "int" else float(value)
        except ValueError:
            return False
        return kind != "int" or -(2**63) <= number < 2**63

    return pa.array([ok(v) for v in text.to_pylist()], pa.bool_())


def _typed(
    text: pa.ChunkedArray | pa.Array, kind: str
) -> tuple[pa.ChunkedArray | pa.Array | None, pa.ChunkedArray | pa.Array | None]:
    """``(values, None)`` when every value of ``text`` reads as ``kind``, else ``(None, ok)``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "bool":
        lowered = pc.utf8_lower(text)
        truthy = pc.is_in(lowered, pa.array(list(_TRUE_WORDS)))
        falsy = pc.is_in(lowered, pa.array(list(_FALSE_WORDS)))
        ok = pc.or_(truthy, falsy)
        if pc.all(pc.or_(ok, pc.is_null(text))).as_py() is False:
            return None, ok
        return pc.if_else(truthy, True, pc.if_else(falsy, False, pa.scalar(None, pa.bool_()))), None
    target = arrow_type(kind)
    try:
        return pc.cast(text, target), None
    except pa.ArrowInvalid:
        pass
    cleaned = _number_text(text, kind)
    ok = pc.match_substring_regex(cleaned, _INT_RE if kind == "int" else _FLOAT_RE)
    if pc.all(pc.or_(pc.fill_null(ok, False), pc.is_null(text))).as_py() is False:
        return None, ok
    try:
        return pc.cast(cleaned, target), None
    except pa.ArrowInvalid:  # e.g. an integer beyond int64
        return None, _python_ok(cleaned, kind)


def _cast_column(
    array: pa.ChunkedArray | pa.Array, kind: str, name: str
) -> pa.ChunkedArray | pa.Array:
    """One column in its schema type; text (with a :class:`ParseWarning`) when it won't go.

    ``event_date`` is converted by :func:`_event_dates`; an ``id`` with no text form
    raises :class:`ParseError`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    target = arrow_type(kind)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), _canonical_type(kind))
    if kind == "enum" and (array.type == target or _is_enum_dictionary(array.type)):
        return _enum_column(array)
    if array.type == target:
        return array
    if kind in ("string", "enum"):
        try:
            text = pc.cast(array, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            if name == "id":
                raise ParseError(
                    f"column 'id' holds values of type {array.type}, not text ids; the file "
                    "is not a click export or is damaged. Download it again."
                ) from exc
            # A nested value kept whole: its JSON text is the honest string form.
            text = pa.array(
                [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()],
                pa.string(),
            )
            return _enum_column(text) if kind == "enum" else text
        return _enum_column(text) if kind == "enum" else text
    try:
        text = _clean_text(array)
    except _NotText:
        text = pa.array(
            [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()],
            pa.string(),
        )
        ok = pa.array([False if v is not None else None for v in text.to_pylist()], pa.bool_())
        values = None
    else:
        values, ok = _typed(text, kind)
    if values is not None:
        return values
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
    count = pc.sum(bad).as_py() or 0
    example = text.filter(bad)[0].as_py()
    warnings.warn(
        f"column {name!r}: {count} of {pc.count(text).as_py()} values are not {kind} "
        f"(e.g. {example!r}); the column is kept as text.",
        ParseWarning,
        stacklevel=5,
    )
    return text


def _is_enum_dictionary(type_: pa.DataType) -> bool:
    """Whether ``type_`` is a dictionary of text, the form an enum column may take."""
    import pyarrow as pa

    return pa.types.is_dictionary(type_) and pa.types.is_string(type_.value_type)


def _enum_column(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """An enum column as one dictionary array (the canonical form of an enum).

    The dictionary holds the distinct values in order of first appearance, as the CSV
    reader's blocks (unified) and a cached day's Parquet file give it, so every format
    yields the same table. :func:`to_pandas` then maps a few values to the categories
    instead of every row. One chunk: the dictionaries of a big CSV's blocks are unified
    once here, not in every later step (the Parquet file the cache writes, as text, is
    the same whatever the chunks).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray) and column.num_chunks == 1:
        column = column.chunk(0)
    if column.type != _canonical_type("enum"):
        column = pc.dictionary_encode(pc.cast(column, pa.string()))
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pa.chunked_array([column])


def _instants(text: pa.ChunkedArray | pa.Array, *, aware: bool) -> pa.ChunkedArray | pa.Array:
    """ISO-8601 text as ms timestamps: UTC when ``aware`` (offsets required), else wall time.

    Raises ``pyarrow.ArrowInvalid`` for a value that is not such a date.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    zone = "UTC" if aware else None
    target = pa.timestamp("ms", tz=zone)
    try:
        return pc.cast(text, target)
    except pa.ArrowInvalid:
        # Sub-millisecond digits do not fit ms directly; nanoseconds then truncate.
        return pc.cast(pc.cast(text, pa.timestamp("ns", tz=zone)), target, safe=False)


def _bad_dates(text: pa.ChunkedArray | pa.Array, has_offset: pa.ChunkedArray | pa.Array) -> None:
    """Raise ParseError naming how many ``event_date`` values are not dates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    shaped = pc.fill_null(pc.match_substring_regex(text, _ISO_SHAPE_RE), False)
    bad = pc.and_(pc.is_valid(text), pc.invert(shaped))
    if not pc.any(bad).as_py():
        # Every value looks like a date, so Arrow refused a few (month 13...): find them.
        counts = pc.value_counts(text.filter(pc.is_valid(text)))
        refused = set()
        for item in counts.to_pylist():
            value = item["values"]
            aware = bool(pc.match_substring_regex(pa.array([value]), _HAS_OFFSET_RE)[0].as_py())
            try:
                _instants(pa.array([value]), aware=aware)
            except pa.ArrowInvalid:
                refused.add(value)
        bad = pc.is_in(text, pa.array(sorted(refused), pa.string()))
    count = pc.sum(bad).as_py() or 0
    example = text.filter(bad)[0].as_py() if count else None
    raise ParseError(
        f"column 'event_date': {count} of {pc.count(text).as_py()} values are not ISO-8601 "
        f"dates (e.g. {example!r}); clicks without a time cannot be placed in a day. The "
        "file may be damaged or not a click export; download it again or check its source."
    )


def _event_dates(
    column: pa.ChunkedArray | pa.Array, timezone: str
) -> tuple[pa.ChunkedArray | pa.Array, bool]:
    """``EventDate`` values as UTC instants, and whether every value was text with an offset.

    A value with an offset (or ``Z``) is that instant. A value without one is wall time in
    ``timezone``: an ambiguous time (the repeated hour when DST ends) is the earlier
    instant, a nonexistent one (the skipped hour) moves forward to the end of the gap.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    target = arrow_type("datetime")
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            local = pc.assume_timezone(column, timezone, ambiguous="earliest", nonexistent="latest")
            return pc.cast(local, target, safe=False), False
        return pc.cast(column, target, safe=False), False
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), target), False
    try:
        # The usual file: every value has an offset. Arrow refuses a value without one
        # here ("expected a zone offset"), so no wall time is ever read as UTC.
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        return _instants(column, aware=True), text
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        text = _clean_text(column)
    except _NotText as exc:
        raise ParseError(
            f"column 'event_date' holds values of type {column.type}, not dates; the file is "
            "not a click export or is damaged. Download it again."
        ) from exc
    has_offset = pc.fill_null(pc.match_substring_regex(text, _HAS_OFFSET_RE), False)
    null = pa.scalar(None, pa.string())
    try:
        aware = _instants(pc.if_else(has_offset, text, null), aware=True)
        wall = _instants(pc.if_else(has_offset, null, text), aware=False)
    except pa.ArrowInvalid:
        _bad_dates(text, has_offset)
        raise  # not reached: _bad_dates raises
    local = pc.assume_timezone(wall, timezone, ambiguous="earliest", nonexistent="latest")
    return pc.if_else(has_offset, aware, pc.cast(local, target)), False


def _sample(array: pa.ChunkedArray | pa.Array, size: int) -> pa.ChunkedArray | pa.Array:
    """Up to ``size`` values spread evenly over ``array``, the first and last included."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    if n <= size:
        return array
    positions = _sample_positions(n, size)
    if not isinstance(array, pa.ChunkedArray) or array.num_chunks == 1:
        return array.take(positions)
    # Chunk by chunk: a take across many chunks (a big CSV has one per MiB) first
    # concatenates the whole column.
    lengths = [len(chunk) for chunk in array.chunks]
    ends = np.cumsum(lengths)
    cuts = np.searchsorted(positions, np.concatenate(([0], ends)))
    pieces = [
        chunk.take(positions[lo:hi] - (end - length))
        for chunk, length, end, lo, hi in zip(
            array.chunks, lengths, ends, cuts[:-1], cuts[1:], strict=True
        )
        if hi > lo
    ]
    return pa.chunked_array([pa.concat_arrays(pieces)])  # one chunk: the regexes run once


@functools.lru_cache(maxsize=64)
def _sample_positions(n: int, size: int) -> np.ndarray:
    """The positions :func:`_sample` takes (days of one size share them; read-only)."""
    import numpy as np

    positions = np.unique(np.linspace(0, n - 1, size).astype(np.int64))
    positions.flags.writeable = False
    return positions


def _offsets(column: pa.ChunkedArray | pa.Array, *, zoned: bool = False) -> set[str]:
    """The distinct UTC offsets of a sample of raw ``EventDate`` values (``none``: no offset).

    ``zoned``: Arrow has read every value (text) as an ISO-8601 time with an offset, so a
    value is a date, a time and then its offset: ``Z`` or, when the last six characters
    are ``+hh:mm`` or ``-hh:mm``, those; only other spellings need the extraction.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    sample = _sample(column, _OFFSET_SAMPLE)
    if pa.types.is_timestamp(column.type):
        # Already instants (a table typed elsewhere): the offsets of its own time zone.
        if column.type.tz is None:
            return {"none"} if pc.count(sample).as_py() else set()
        found = set()
        for value in sample.to_pylist():
            if value is not None:
                delta = value.utcoffset()
                minutes = int(delta.total_seconds() // 60)
                sign = "-" if minutes < 0 else "+"
                found.add(f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
        return found
    if not (pa.types.is_string(sample.type) or pa.types.is_large_string(sample.type)):
        try:
            sample = _clean_text(sample)
        except _NotText:
            return set()
    else:
        if zoned:
            tails = pc.unique(pc.utf8_slice_codeunits(sample, -6)).to_pylist()
            if all(t is None or t.endswith("Z") or _ZONE_TAIL(t) for t in tails):
                return {"+00:00" if t.endswith("Z") else t for t in tails if t is not None}
        sample = pc.utf8_trim_whitespace(sample)
    parts = pc.extract_regex(sample, _OFFSET_PART_RE)
    found = set()
    for part in pc.unique(pc.struct_field(parts, 0)).to_pylist():
        if part is None:  # not a date at all: reported by the parser, not here
            continue
        if part == "":
            found.add("none")
        elif part in ("Z", "z"):
            found.add("+00:00")
        else:
            digits = part[1:].replace(":", "").ljust(4, "0")
            found.add(f"{part[0]}{digits[:2]}:{digits[2:]}")
    return found


def _unique_name(name: str, taken: Mapping[str, Any]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def normalise(table: pa.Table, *, timezone: str = "UTC") -> pa.Table:
    """Rename, type and order an Arrow table of export fields into the canonical table.

    Known columns come first in schema order (missing ones are added as nulls and listed
    under :data:`MISSING_KEY` in the schema metadata); unknown extra columns are kept
    after them, snake_cased, as strings. A known column whose values do not all read as
    its type is kept as text with a :class:`ParseWarning`. The distinct offsets of the
    raw ``EventDate`` values are recorded under :data:`OFFSETS_KEY`. A canonical table
    goes through unchanged (its metadata kept).

    Parameters
    ----------
    table : pyarrow.Table
        Columns named as in the export (``EventDate``, ``Sub Id 1``...) or in snake_case.
    timezone : str
        The account's IANA time zone: ``EventDate`` values without an offset are wall
        time there.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    ParseError
        ``id`` or ``event_date`` holds values that are not ids or dates.
    """
    import pyarrow as pa

    by_name: dict[str, pa.ChunkedArray] = {}
    for i, (field_name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        name = snake_case(field_name) or f"column_{i + 1}"
        if name in by_name:  # a second spelling of one column: kept, under its own name
            name = _unique_name(_plain_snake(field_name) or f"column_{i + 1}", by_name)
        by_name[name] = column
    missing = _meta_set(table, MISSING_KEY) or set()
    offsets = _meta_set(table, OFFSETS_KEY)
    n = table.num_rows
    arrays: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    for col in COLUMNS:
        column = by_name.pop(col.name, None)
        if column is None:
            missing.add(col.name)
            arrays.append(pa.nulls(n, _canonical_type(col.kind)))
        elif col.kind == "datetime":
            instants, zoned = _event_dates(column, timezone)
            if offsets is None or not pa.types.is_timestamp(column.type):
                offsets = _offsets(column, zoned=zoned)
            arrays.append(instants)
        else:
            arrays.append(_cast_column(column, col.kind, col.name))
        fields.append(pa.field(col.name, arrays[-1].type))
    for extra, column in by_name.items():
        arrays.append(_cast_column(column, "string", extra))
        fields.append(pa.field(extra, pa.string()))
    metadata = _metadata(missing, offsets or set())
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata))


def _is_text(type_: pa.DataType) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_dictionary(type_)
    )


def _canonical_order(schema_: pa.Schema) -> bool:
    """Whether a schema's columns are the known ones in order, then extras, none null-typed.

    Such tables of one schema concatenate as they are: the general path below would
    give the same columns and types.
    """
    import pyarrow as pa

    names = schema_.names
    known = [n for n in names if n in _BY_NAME]
    if known != [n for n in COLUMN_NAMES if n in set(names)]:
        return False
    if names[: len(known)] != known or len(set(names)) != len(names):
        return False
    return not any(pa.types.is_null(f.type) for f in schema_)


def concat_tables(tables: Sequence[pa.Table]) -> pa.Table:
    """Concatenate canonical tables (days, pages) into one.

    A column that is text in some tables and typed in others (a day whose ``payout`` had
    a value that is not a number) becomes text in all; a column that only some tables
    have is null in the others. In the metadata a column is missing when it is missing
    from any table, and the offsets are those seen in any table.

    Parameters
    ----------
    tables : sequence of pyarrow.Table
        Canonical tables, e.g. from :func:`parse_export` or the cache.

    Returns
    -------
    pyarrow.Table
        :func:`empty_table` for an empty sequence.

    Examples
    --------
    >>> a = parse_export(b"Id,Payout\\nx,0.25\\n")
    >>> b = parse_export(b"Id,Payout\\ny,soon\\n")  # doctest: +SKIP
    >>> concat_tables([a, b])["payout"].to_pylist()  # doctest: +SKIP
    ['0.25', 'soon']
    """
    import pyarrow as pa

    tables = list(tables)
    if not tables:
        return empty_table()
    first = tables[0].schema
    if all(t.schema.equals(first) for t in tables[1:]) and _canonical_order(first):
        # The usual case (days of one export format): nothing to align or cast.
        missing: set[str] = set()
        offsets: set[str] = set()
        for t in tables:
            missing |= _meta_set(t, MISSING_KEY) or set()
            offsets |= _meta_set(t, OFFSETS_KEY) or set()
        combined = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return _one_dictionary(combined).replace_schema_metadata(_metadata(missing, offsets))
    seen = dict.fromkeys(name for t in tables for name in t.column_names)
    names = [n for n in COLUMN_NAMES if n in seen] + [n for n in seen if n not in _BY_NAME]
    types: dict[str, pa.DataType] = {}
    for name in names:
        found = {
            t.schema.field(name).type
            for t in tables
            if name in t.column_names and not pa.types.is_null(t.schema.field(name).type)
        }
        if len(found) == 1:
            types[name] = found.pop()
        elif name not in _BY_NAME or any(_is_text(t) for t in found):
            types[name] = pa.string()  # typed in one day, text in another: text in all
        else:  # all null, or timestamp units changed by a Parquet round trip
            types[name] = arrow_type(_BY_NAME[name].kind)
    missing = set()
    offsets = set()
    aligned = []
    for t in tables:
        missing |= _meta_set(t, MISSING_KEY) or set()
        offsets |= _meta_set(t, OFFSETS_KEY) or set()
        arrays = [
            t[name].cast(types[name])
            if name in t.column_names
            else pa.nulls(t.num_rows, types[name])
            for name in names
        ]
        aligned.append(
            pa.Table.from_arrays(
                arrays, schema=pa.schema([pa.field(name, types[name]) for name in names])
            )
        )
    combined = pa.concat_tables(aligned)
    return _one_dictionary(combined).replace_schema_metadata(_metadata(missing, offsets))


def _one_dictionary(table: pa.Table) -> pa.Table:
    """``table`` with each enum column's chunks sharing one dictionary (as one day has).

    So pages or days concatenated equal the whole export parsed at once; the indices are
    only rewritten where a chunk's dictionary differs.
    """
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        column = table.column(i)
        if field.name in ENUMS and column.num_chunks > 1 and pa.types.is_dictionary(field.type):
            table = table.set_column(i, field, column.unify_dictionaries())
    return table


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


def _csv_header(data: bytes) -> list[str]:
    """The column names on the first line of a CSV export (empty when unreadable)."""
    end = data.find(b"\n")
    line = (data if end < 0 else data[:end]).decode("utf-8", errors="replace").rstrip("\r")
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _csv_sample(data: bytes, width: int, size: int = 1 << 16) -> list[list[str]]:
    """The whole rows among the first ``size`` bytes after the header (cheap: Python csv)."""
    head = data[:size]
    cut = head if len(data) <= size else head[: head.rfind(b"\n") + 1]
    try:
        rows = list(csv.reader(io.StringIO(cut.decode("utf-8", errors="replace"))))
    except csv.Error:
        return []
    if len(data) > size and rows:
        rows.pop()  # may end inside a quoted value cut short
    return [row for row in rows[1:] if len(row) == width]


def _csv_types(header: Sequence[str], data: bytes = b"") -> dict[str, pa.DataType]:
    """Arrow types for the CSV columns, given to pyarrow's reader up front.

    Schema columns under any spelling of their name get their type, so the usual file is
    typed in one pass; the rest is read verbatim as text. A typed column whose values in
    the first rows are spelled in a way pyarrow does not read (``$0.25``, ``250.0``, ``
    yes``) is read as text and converted by :func:`normalise`. ``EventDate`` is always
    read as text: converting it afterwards is as fast, keeps the raw offsets for the
    metadata and never takes wall time for UTC. Enums are read as dictionaries of their
    text, inside pyarrow's parallel reader: :func:`to_pandas` then maps each block's few
    distinct values instead of every row.
    """
    import pyarrow as pa

    enum_type = _canonical_type("enum")

    types: dict[str, pa.DataType] = {}
    checks: dict[int, Callable[[str], object]] = {}
    for i, name in enumerate(header):
        known = _schema_name(name)
        kind = _BY_NAME[known].kind if known else "string"
        if kind in _PLAIN and name not in types:
            types[name] = arrow_type(kind)
            checks[i] = _PLAIN[kind]
        elif kind == "enum":
            types[name] = enum_type
        else:
            types[name] = pa.string()
    if checks and data:
        nulls = set(_NULL_VALUES)
        rows = _csv_sample(data, len(header))
        for i, check in checks.items():
            # Each distinct value once: a column holds few of them in the first rows.
            if not all(check(value) for value in {row[i] for row in rows} - nulls):
                types[header[i]] = pa.string()
    return types


#: Quotes per byte above which proving a file's quoting costs more than reading it with
#: ``newlines_in_values`` (about 1 us per quote against about 2 ns per byte).
_QUOTE_BUDGET = 1 / 1000
_FIELD_EDGE = frozenset(b",\r\n")


def _newlines_cannot_be_quoted(data: bytes) -> bool:
    """Whether no quoted CSV value in ``data`` can hold a line break (exact, conservative).

    True only when every ``"`` is where RFC 4180 quoting puts it (opening a field,
    closing it, or doubled inside it), so that each quoted value is the text between a
    pair of quotes, and no such value contains ``\\n`` or ``\\r``. Then pyarrow's parallel
    reader, which splits blocks at every line break, reads the file exactly as the serial
    one does. Anything else (a stray quote, an unclosed one, too many quotes to check
    cheaply) answers False. A file without any ``"`` costs one ``memchr``.

    Examples
    --------
    >>> _newlines_cannot_be_quoted(b'Id,City\\na,"Washington, D.C."\\n')
    True
    >>> _newlines_cannot_be_quoted(b'Id,Note\\na,"two\\nlines"\\n')
    False
    """
    find = data.find
    end = len(data)
    budget = int(end * _QUOTE_BUDGET) + 64
    pos = find(b'"')
    previous_close = -2
    while pos >= 0:
        budget -= 2
        if budget < 0:
            return False
        # An opening quote: at the start of a field, or right after a closing quote
        # (a doubled quote inside the value, which Arrow reads as one ``"``).
        if pos and data[pos - 1] not in _FIELD_EDGE and previous_close != pos - 1:
            return False
        close = find(b'"', pos + 1)
        if close < 0:
            return False  # unclosed: the serial reader decides what it means
        if find(b"\n", pos + 1, close) >= 0 or find(b"\r", pos + 1, close) >= 0:
            return False
        after = close + 1
        if after < end and data[after] not in _FIELD_EDGE and data[after] != 0x22:
            return False  # text after a closing quote: not RFC 4180
        previous_close = close
        pos = find(b'"', after)
    return True


def _read_csv(data: bytes, *, fast: bool | None = None) -> pa.Table:
    """Read CSV bytes with the column types given up front.

    ``fast`` reads with pyarrow's parallel defaults (``newlines_in_values=False``); by
    default it is taken when :func:`_newlines_cannot_be_quoted` proves it exact.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    skipped: list[str] = []

    def skip_row(row: Any) -> str:
        skipped.append(row.text or "")
        return "skip"

    header = _csv_header(data)
    convert = pacsv.ConvertOptions(
        column_types=_csv_types(header, data),
        null_values=_NULL_VALUES,
        strings_can_be_null=True,
        true_values=_TRUE_VALUES,
        false_values=_FALSE_VALUES,
    )
    if fast is None:
        fast = _newlines_cannot_be_quoted(data)
    # A quoted line break makes the reader serial; without one it splits blocks at any
    # line break and parses them on every core.
    parse = pacsv.ParseOptions(newlines_in_values=not fast, invalid_row_handler=skip_row)
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
        # A value spelled otherwise past the sampled rows: read as text and let
        # normalise convert each column (or keep it as text and say so).
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
            stacklevel=4,
        )
    return table


def parse_csv(data: bytes, *, timezone: str = "UTC") -> pa.Table:
    """Parse a CSV click export into the canonical table.

    Uses pyarrow's CSV reader with the column types given up front (the fast path).
    Malformed rows are dropped with a :class:`ParseWarning` naming the count; bytes that
    are not UTF-8 are replaced (U+FFFD) with a warning. A UTF-8 BOM and CRLF or LF line
    ends are accepted.

    Parameters
    ----------
    data : bytes
        The file's content.
    timezone : str
        The account's IANA time zone, for ``EventDate`` values without an offset.
    """
    import pyarrow as pa

    _check_timezone(timezone)
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
    return normalise(table, timezone=timezone)


def _text(value: Any) -> str | None:
    """A JSON/XML value as export text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str)
    return str(value)


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
    elif pa.types.is_struct(array.type) or pa.types.is_list(array.type):
        pass  # a nested value where a plain one belongs: normalise says what to do
    elif not (pa.types.is_boolean(array.type) or pa.types.is_null(array.type)):
        array = pc.cast(array, pa.string())
    return array


def _records_to_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Build a table from JSON/XML records, column by column (fast for big days).

    Nested ``PartnerRelated`` / ``BrandRelated`` values (a list of one object, or an
    object) are flattened: their fields become columns. A field given both nested and
    flat (in different records) becomes one column.
    """
    import pyarrow as pa

    if not records:
        return empty_table()
    keys = list(dict.fromkeys(k for r in records[:1000] for k in r))
    keys += [k for k in dict.fromkeys(k for r in records for k in r) if k not in keys]
    columns: dict[str, list[Any]] = {}

    def add(name: str, values: list[Any]) -> None:
        if name not in columns:
            columns[name] = values
        else:  # first value present wins
            columns[name] = [
                a if a is not None and a != "" else b
                for a, b in zip(columns[name], values, strict=True)
            ]

    for key in keys:
        values = [r.get(key) for r in records]
        sample = next((v for v in values if v is not None and v != ""), None)
        # Plain schema fields (Id, EventDate...) are never flattened: a nested value
        # there is an error that normalise reports.
        if isinstance(sample, Mapping | list) and _schema_name(key) is None:
            nested = [(v[0] if v else {}) if isinstance(v, list) else (v or {}) for v in values]
            nested = [n if isinstance(n, Mapping) else {} for n in nested]
            for sub in dict.fromkeys(k for n in nested for k in n):
                add(sub, [n.get(sub) for n in nested])
        else:
            add(key, values)
    return pa.table({name: _column_array(values) for name, values in columns.items()})


def _json_records(data: bytes) -> list[Any]:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        import orjson

        loads: Callable[[bytes], Any] = orjson.loads
    except ImportError:
        loads = json.loads
    try:
        document = loads(data)
    except ValueError as exc:  # orjson's and json's decode errors are ValueErrors
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
    if not all(isinstance(r, dict) for r in records):
        raise ParseError("the JSON export's 'Clicks' list holds entries that are not objects.")
    return records


def parse_json(data: bytes, *, timezone: str = "UTC") -> pa.Table:
    """Parse a JSON click export (``{"@page":..,"Clicks": [...]}`` or a bare array).

    Values may be strings or typed (numbers, booleans). Nested ``PartnerRelated`` /
    ``BrandRelated`` objects (or lists of one object) are flattened into columns.

    Parameters
    ----------
    data : bytes
        The document (one result page).
    timezone : str
        The account's IANA time zone, for ``EventDate`` values without an offset.
    """
    _check_timezone(timezone)
    from clickkit.readers import json_table

    table = json_table(data.removeprefix(b"\xef\xbb\xbf"), is_field=is_schema_field)
    if table is None:  # a shape the columnar reader does not prove: record by record
        table = _records_to_table(_json_records(data))
    return normalise(table, timezone=timezone)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # without an XML namespace


def _xml_records(data: bytes) -> list[dict[str, Any]]:
    """The clicks of an XML export, one dict per ``Click`` (ElementTree, record by record)."""

    def records() -> Iterable[dict[str, Any]]:
        for _, element in ET.iterparse(io.BytesIO(data), events=("end",)):
            if _local(element.tag) != "Click":
                continue
            record: dict[str, Any] = {}
            for child in element:
                if len(child):
                    record[_local(child.tag)] = [
                        {
                            _local(g.tag): g.text or ""
                            for g in child.iter()
                            if g is not child and not len(g)
                        }
                    ]
                else:
                    record[_local(child.tag)] = child.text or ""
            element.clear()
            yield record

    try:
        return list(records())
    except ET.ParseError as exc:
        raise ParseError(f"the XML export is not well-formed XML: {exc}") from exc


def parse_xml(data: bytes, *, timezone: str = "UTC") -> pa.Table:
    """Parse an XML click export (``<ImpactRadiusResponse><Clicks><Click>...``).

    Parameters
    ----------
    data : bytes
        The document (one result page).
    timezone : str
        The account's IANA time zone, for ``EventDate`` values without an offset.
    """
    from clickkit.readers import xml_table

    _check_timezone(timezone)
    table = xml_table(data, is_field=is_schema_field)
    if table is None:  # a shape the columnar reader does not prove: record by record
        table = _records_to_table(_xml_records(data))
    return normalise(table, timezone=timezone)


def parse_export(
    source: bytes | str | Path, result_format: str | None = None, *, timezone: str = "UTC"
) -> pa.Table:
    """Parse an export file (CSV, JSON or XML, sniffed when not given) to the canonical table.

    Parameters
    ----------
    source : bytes, str or Path
        The file's bytes or its path.
    result_format : {"CSV", "JSON", "XML"}, optional
        The format; sniffed from the content when omitted.
    timezone : str
        The account's IANA time zone. ``EventDate`` values with an offset (or ``Z``) are
        those instants; values without one are wall time in this zone (the earlier
        instant in the repeated hour when DST ends, the end of the gap in the skipped
        one). ``event_date`` is stored in UTC either way.

    Returns
    -------
    pyarrow.Table
        The canonical table: the enum columns (:data:`ENUMS`) are dictionaries of their
        text, ``dictionary<values=string, indices=int32>``. Schema metadata:
        :data:`MISSING_KEY` (schema columns the file lacked) and :data:`OFFSETS_KEY` (the
        ``EventDate`` offsets seen).

    Raises
    ------
    ParseError
        The content is not a click export (an HTML page, broken JSON/XML...), or its
        ``id`` or ``event_date`` values are unusable. Other columns with values that do
        not read as their type are kept as text with a :class:`ParseWarning`.

    Examples
    --------
    >>> t = parse_export(b"Id,EventDate\\na,2026-11-01T01:30:00\\n", timezone="America/New_York")
    >>> t["event_date"][0].as_py().isoformat(), t.schema.metadata[OFFSETS_KEY]
    ('2026-11-01T05:30:00+00:00', b'none')
    """
    _check_timezone(timezone)
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
    parser = {"CSV": parse_csv, "JSON": parse_json, "XML": parse_xml}[fmt]
    return parser(data, timezone=timezone)


def parse_pages(
    sources: Sequence[bytes | str | Path],
    result_format: str | None = None,
    *,
    timezone: str = "UTC",
) -> pa.Table:
    """Parse the result pages of one export (each a whole JSON/XML document) as one table.

    Parameters
    ----------
    sources : sequence of bytes, str or Path
        The pages in order, as bytes or paths.
    result_format, timezone
        As for :func:`parse_export`.

    Returns
    -------
    pyarrow.Table
        The pages' rows in order, combined with :func:`concat_tables`.

    Examples
    --------
    >>> pages = [b'{"@page":"1","Clicks":[{"Id":"a"}]}', b'{"@page":"2","Clicks":[{"Id":"b"}]}']
    >>> parse_pages(pages)["id"].to_pylist()
    ['a', 'b']
    """
    return concat_tables(
        [parse_export(source, result_format, timezone=timezone) for source in sources]
    )


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


def _dictionary_codes(
    column: pa.ChunkedArray, categories: pa.Array, *, exact: bool
) -> pa.Array | None:
    """The category codes of a dictionary column, mapping each chunk's small dictionary.

    One lookup per distinct value of a chunk (a cached day) instead of one per row. None
    when a dictionary holds a value outside ``categories`` (unless ``exact``): the
    caller then collects the extras from the values, as for text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(column.type.value_type):
        return None
    parts = []
    for chunk in column.chunks:
        mapping = pc.index_in(chunk.dictionary, value_set=categories)
        if not exact and mapping.null_count != chunk.dictionary.null_count:
            return None
        parts.append(mapping.take(chunk.indices))
    return pa.concat_arrays(parts) if parts else pa.array([], pa.int32())


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
    if isinstance(column, pa.ChunkedArray) and pa.types.is_dictionary(column.type):
        mapped = _dictionary_codes(column, categories, exact=exact)
        if mapped is not None:
            return pa.DictionaryArray.from_arrays(mapped, categories)
        column = column.cast(column.type.value_type)
    codes = pc.index_in(column, value_set=categories)
    # A value outside the categories is a null code where the column has a value; the
    # null counts tell without another pass over the rows.
    if not exact and codes.null_count != column.null_count:
        unmatched = pc.and_(pc.is_valid(column), pc.is_null(codes))
        if pc.any(unmatched).as_py():
            extras = sorted(pc.unique(column.filter(unmatched)).to_pylist())
            categories = pa.array([*documented, *extras], pa.string())
            codes = pc.index_in(column, value_set=categories)
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    return pa.DictionaryArray.from_arrays(codes, categories)


@functools.lru_cache(maxsize=256)
def _categorical_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The ``CategoricalDtype`` of ``categories``, built once per distinct tuple.

    Validating the categories is most of what building a categorical costs on a small
    day; a dtype is immutable, so frames can share it.
    """
    import pandas as pd

    return pd.CategoricalDtype(list(categories))


def _enum_codes(
    column: pa.ChunkedArray, documented: Sequence[str], *, exact: bool
) -> tuple[np.ndarray, Sequence[str]]:
    """An enum column as categorical codes (-1 for null) and its categories.

    A dictionary column (the canonical form) maps its few distinct values once, in
    Python; text, or a dictionary holding a value outside ``documented`` (unless
    ``exact``), goes through :func:`_enum_array`, one lookup per row.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    type_ = column.type
    if pa.types.is_dictionary(type_) and pa.types.is_string(type_.value_type):
        unified = column.unify_dictionaries() if column.num_chunks > 1 else column
        chunks = unified.chunks
        values = chunks[0].dictionary.to_pylist()
        code_of = _category_codes(tuple(documented))
        # One slot more, for null indices; -2 marks a value outside the categories.
        lookup = [-1 if v is None else code_of.get(v, -1 if exact else -2) for v in values]
        if -2 not in lookup:
            lookup.append(-1)
            indices = (
                chunks[0].indices
                if len(chunks) == 1
                else pa.concat_arrays([chunk.indices for chunk in chunks])
            )
            if indices.null_count:
                indices = pc.fill_null(indices, len(values))
            codes = np.array(lookup, np.int8 if len(documented) < 127 else np.int64)
            return codes[indices.to_numpy()], documented
        column = column.cast(type_.value_type)
    array = _enum_array(column, documented, exact=exact)
    codes = pc.fill_null(array.indices, -1).to_numpy()
    return codes, array.dictionary.to_pylist()


@functools.lru_cache(maxsize=256)
def _category_codes(categories: tuple[str, ...]) -> dict[str, int]:
    """Each category's code (shared between calls: not to be changed)."""
    return {value: code for code, value in enumerate(categories)}


def _fast_frame(
    table: pa.Table, timezone: str, categories: Mapping[str, Sequence[str]] | None
) -> pd.DataFrame | None:
    """:func:`to_pandas` column by column, or None for a table only pyarrow's path takes.

    Builds the pandas arrays pyarrow's conversion would (the same ``__from_arrow__``
    calls for text and nullable numbers) but the categoricals straight from their codes
    with a shared dtype, and ``event_date`` in the account's zone at once: on a small
    day the per-column work of the general conversion is most of the cost. Needs
    pandas 3 (its ``str`` dtype and :func:`create_dataframe_from_blocks`); a table with
    pandas metadata (an index to rebuild), no rows, repeated names or another type goes
    the general way.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    create = _create_from_blocks()
    if (
        create is None
        or table.num_rows == 0
        or table.schema.pandas_metadata is not None
        or len(set(table.column_names)) != table.num_columns
    ):
        return None
    text = pd.StringDtype(na_value=np.nan)  # what pyarrow gives pandas 3 for text
    nullable = {
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): text,
        pa.large_string(): text,
    }
    arrays: list[Any] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        type_ = field.type
        dtype = nullable.get(type_)
        if field.name in ENUMS:
            if dtype is not text and not pa.types.is_dictionary(type_):
                return None
            exact = (categories or {}).get(field.name)
            documented = ENUMS[field.name] if exact is None else exact
            codes, found = _enum_codes(column, documented, exact=exact is not None)
            arrays.append(
                pd.Categorical.from_codes(
                    codes, dtype=_categorical_dtype(tuple(found)), validate=False
                )
            )
        elif dtype is text and type_ == pa.string():
            # pandas keeps text as large_string: its 64-bit offsets are made here, in the
            # system allocator (pyarrow's default keeps the pages they take after the
            # frame is gone; the values themselves are shared, not copied).
            wide = pc.cast(column, pa.large_string(), memory_pool=pa.system_memory_pool())
            arrays.append(text.__from_arrow__(wide))
        elif dtype is not None:
            arrays.append(dtype.__from_arrow__(column))
        elif pa.types.is_timestamp(type_) and type_.tz is not None:
            # As pyarrow builds it (instants as int64 in a UTC dtype), then in the zone.
            instants = column.to_numpy().view(np.int64)
            utc = pd.array(instants, dtype=pd.DatetimeTZDtype(type_.unit, "UTC"), copy=False)
            arrays.append(utc.tz_convert(timezone))
        else:
            return None
    blocks = [(array, np.array([i])) for i, array in enumerate(arrays)]
    return create(blocks, pd.RangeIndex(table.num_rows), pd.Index(table.column_names))


def _create_from_blocks() -> Callable[..., pd.DataFrame] | None:
    """pandas' ``create_dataframe_from_blocks`` (pandas 3), or None on an older pandas."""
    import pandas as pd

    if int(pd.__version__.split(".", 1)[0]) < 3:
        return None
    try:
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:
        return None
    return create_dataframe_from_blocks


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
        From :func:`parse_export`, the cache, or :func:`concat_tables` of those. A
        column kept as text (see :func:`normalise`) becomes a ``str`` column.
    timezone : str
        IANA name of the account's time zone; ``event_date`` is converted to it.
    categories : mapping, optional
        Exact categories per enum column (from :func:`enum_categories`); by default the
        documented ones plus any other values present.

    Returns
    -------
    pandas.DataFrame
        Nullable ``Int64``/``Float64``/``boolean`` columns, ``category`` enums with the
        documented categories first, ``str`` text, tz-aware ``event_date``. The
        schema metadata (:data:`MISSING_KEY`, :data:`OFFSETS_KEY`) is not carried over.

    Examples
    --------
    >>> df = to_pandas(parse_export(b"Id,Os,Payout\\nx,IOS,0.25\\n"))
    >>> str(df["os"].dtype), str(df["payout"].dtype), list(df["os"].cat.categories[:3])
    ('category', 'Float64', ['ANDROID', 'LINUX', 'IOS'])
    """
    import pandas as pd
    import pyarrow as pa

    fast = _fast_frame(table, timezone, categories)
    if fast is not None:
        return fast
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

    def ids_in(column: pa.ChunkedArray, ids: Sequence[int]) -> pa.ChunkedArray:
        if pa.types.is_integer(column.type):
            return pc.is_in(column, pa.array(ids, pa.int64()))
        # A day whose ids were kept as text: compare the text of the wanted ids.
        return pc.is_in(pc.utf8_trim_whitespace(column), pa.array([str(i) for i in ids]))

    masks = []
    if program_ids:
        masks.append(ids_in(table["program_id"], program_ids))
    if ad_ids:
        masks.append(ids_in(table["ad_id"], ad_ids))
    if sub_ids:
        values = pa.array(sub_ids, pa.string())
        masks.append(
            pc.or_(
                pc.or_(pc.is_in(table["sub_id1"], values), pc.is_in(table["sub_id2"], values)),
                pc.is_in(table["sub_id3"], values),
            )
        )
    if unique:
        flags = table["unique_click"]
        if not pa.types.is_boolean(flags.type):  # kept as text: its true spellings count
            flags = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(flags)), pa.array(_TRUE_WORDS))
        masks.append(pc.fill_null(flags, False))
    if not masks:
        return table
    mask = masks[0]
    for extra in masks[1:]:
        mask = pc.and_(mask, extra)
    return table.filter(pc.fill_null(mask, False))
