"""Validation of what callers pass to ``clicks()``: every problem is named before any API call.

Examples
--------
>>> parse_date("2026-10-01")
datetime.date(2026, 10, 1)
>>> parse_ids([12, "34"], "program_id")
(12, 34)
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import sys
import unicodedata
from collections.abc import Iterable
from typing import Any

from clickkit.errors import InvalidRequestError
from clickkit.plan import SCOPES
from clickkit.schema import RESULT_FORMATS

#: impact.com integers have at most 16 digits (its request-types reference).
MAX_ID = 10**16 - 1
#: impact.com strings are at most 255 characters.
MAX_TEXT = 255

_DIGITS = re.compile(r"[0-9]+")
# Characters a sub id cannot carry: controls (CR, LF, tab...), line/paragraph separators
# and lone surrogates (not encodable as UTF-8).
_BAD_TEXT = {"Cc", "Cs", "Zl", "Zp"}


def _numpy() -> Any:
    """numpy, if anything imported it: a numpy value implies it, so none is imported here."""
    return sys.modules.get("numpy")


def _is_bool(value: Any) -> bool:
    """A Python or numpy boolean."""
    np = _numpy()
    return isinstance(value, bool) or (np is not None and isinstance(value, np.bool_))


def _is_nat(value: Any) -> bool:
    """``pd.NaT`` or ``numpy.datetime64('NaT')`` (pandas and numpy are not imported here)."""
    pd, np = sys.modules.get("pandas"), _numpy()
    if pd is not None and value is pd.NaT:
        return True
    return np is not None and isinstance(value, np.datetime64) and bool(np.isnat(value))


def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened so a pasted blob cannot flood a message."""
    text = "NaT" if _is_nat(value) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_missing(value: Any) -> bool:
    """``None``, NaN, ``pd.NaT`` or ``numpy.datetime64('NaT')``."""
    if value is None or _is_nat(value):
        return True
    np = _numpy()
    if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        return math.isnan(value)
    return np is not None and isinstance(value, np.timedelta64) and bool(np.isnat(value))


def parse_date(value: Any, name: str = "date") -> dt.date:
    """A date from ``YYYY-MM-DD`` text, a date, a datetime, a pandas Timestamp or numpy datetime64.

    A datetime is reduced to its calendar date *as written in its own zone*: a tz-aware
    ``2026-10-01T23:00-07:00`` means 2026-10-01, even when that instant falls on
    2026-10-02 in the account's time zone; it is not converted. Pass dates, or datetimes
    in the account's zone, to avoid surprises. Missing values (``None``, NaN,
    ``pd.NaT``, ``numpy.datetime64('NaT')``) are refused.

    Raises
    ------
    InvalidRequestError
        ``value`` is not a date.

    Examples
    --------
    >>> parse_date(dt.datetime.fromisoformat("2026-10-01T23:00-07:00"), "start")
    datetime.date(2026, 10, 1)
    >>> import numpy as np, pandas as pd
    >>> parse_date(np.datetime64("2026-10-01"))
    datetime.date(2026, 10, 1)
    >>> parse_date(pd.NaT, "start")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clickkit.errors.InvalidRequestError: start=NaT is not a date; pass 'YYYY-MM-DD' text...
    """
    hint = "pass 'YYYY-MM-DD' text or a datetime.date."
    if _is_missing(value):
        raise InvalidRequestError(f"{name}={_show(value)} is not a date; {hint}")
    try:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        np = _numpy()
        if np is not None and isinstance(value, np.datetime64):
            day = value.astype("datetime64[D]").item()  # an int when outside years 1-9999
            if isinstance(day, dt.date):
                return day
        elif hasattr(value, "to_pydatetime"):
            day = value.to_pydatetime().date()
            if isinstance(day, dt.date):
                return day
        elif isinstance(value, str):
            return dt.date.fromisoformat(value.strip())
    except (ValueError, TypeError, AttributeError, OverflowError):
        pass
    raise InvalidRequestError(f"{name}={_show(value)} is not a date; {hint}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | int | bytes) or not isinstance(value, Iterable):
        return [value]
    try:
        return list(value)
    except TypeError:  # iterable by type but not by value, e.g. a 0-d numpy array
        return [value]


def _id_error(name: str, item: Any, why: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"{name}={_show(item)} {why}; impact.com ids are positive whole numbers of at most "
        f"16 digits, such as {name}=[1234]."
    )


def parse_ids(value: Any, name: str) -> tuple[int, ...]:
    """Numeric ids (program, ad) from one value or a list; text digits are accepted.

    Ids must be positive and fit impact.com's integers (at most 16 digits). Floats are
    refused rather than truncated, and so are booleans.

    Examples
    --------
    >>> parse_ids(" 42 ", "ad_id")
    (42,)
    >>> parse_ids(12.0, "program_id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clickkit.errors.InvalidRequestError: program_id=12.0 is a float, not a whole number; ...
    """
    ids: list[int] = []
    for item in _as_list(value):
        if _is_bool(item):
            raise _id_error(name, item, "is not a numeric id")
        if isinstance(item, numbers.Integral):
            number = int(item)
        elif isinstance(item, str):
            text = item.strip()
            if not _DIGITS.fullmatch(text):
                raise _id_error(name, item, "is not a numeric id")
            if len(text.lstrip("0")) > 16:  # before int(): huge text is refused cheaply
                raise _id_error(name, item, "is too large")
            number = int(text)
        elif isinstance(item, numbers.Real):
            raise _id_error(name, item, "is a float, not a whole number")
        else:
            raise _id_error(name, item, "is not a numeric id")
        if number <= 0:
            raise _id_error(name, item, "is not a positive id")
        if number > MAX_ID:
            raise _id_error(name, item, "is too large")
        ids.append(number)
    return tuple(sorted(set(ids)))


def parse_sub_ids(value: Any) -> tuple[str, ...]:
    """Sub id values from one string or a list of strings (or whole numbers).

    Each value is text of at most 255 characters without line breaks or other control
    characters; surrounding spaces are removed.

    Examples
    --------
    >>> parse_sub_ids(["spring ", "autumn"])
    ('autumn', 'spring')
    """
    subs = []
    for item in _as_list(value):
        if isinstance(item, str):
            text = item.strip()
        elif isinstance(item, numbers.Integral) and not _is_bool(item):
            text = str(int(item))
        else:
            raise InvalidRequestError(
                f"sub_id={_show(item)} is not text; pass strings such as sub_id='spring'."
            )
        if not text:
            raise InvalidRequestError("sub_id values must be non-empty text, e.g. sub_id='spring'.")
        if len(text) > MAX_TEXT:
            raise InvalidRequestError(
                f"sub_id={_show(text)} has {len(text)} characters; impact.com sub ids have at "
                f"most {MAX_TEXT}."
            )
        bad = next((ch for ch in text if unicodedata.category(ch) in _BAD_TEXT), None)
        if bad is not None:
            raise InvalidRequestError(
                f"sub_id={_show(text)} contains {bad!r} (a line break or control character); "
                "sub ids are plain text such as sub_id='spring'."
            )
        subs.append(text)
    return tuple(sorted(set(subs)))


def parse_unique(value: Any) -> bool | None:
    """``True`` keeps only unique clicks; ``None``/``False`` keeps all."""
    if value is None or isinstance(value, bool):
        return value or None
    raise InvalidRequestError(f"unique={value!r} must be True, False or None.")


def parse_choice(value: Any, name: str, choices: Iterable[str], *, upper: bool = False) -> str:
    """One of ``choices``, or an error listing them."""
    options = tuple(choices)
    text = str(value).upper() if upper else str(value)
    if text not in options:
        raise InvalidRequestError(f"{name}={value!r} is not one of {', '.join(options)}.")
    return text


def parse_scope(value: Any) -> str:
    """``"day"`` (export whole days, filter locally) or ``"exact"`` (filter at the API)."""
    return parse_choice(value, "scope", SCOPES)


def parse_format(value: Any) -> str:
    """``CSV``, ``JSON`` or ``XML`` (case-insensitive)."""
    return parse_choice(value, "result_format", RESULT_FORMATS, upper=True)


def check_range(start: dt.date, end: dt.date, today: dt.date, max_days: int) -> None:
    """Refuse reversed, future and over-long ranges, naming the fix."""
    if end < start:
        raise InvalidRequestError(
            f"the range is reversed: start {start} is after end {end}; swap them."
        )
    if end > today:
        raise InvalidRequestError(
            f"{end} is in the future (today is {today} in the account's time zone); "
            "clicks can only be exported for days that have started."
        )
    days = (end - start).days + 1
    if days > max_days:
        raise InvalidRequestError(
            f"the range has {days} days, more than max_days={max_days}; ask for a shorter "
            "range or raise max_days (CLICKKIT_MAX_DAYS)."
        )
