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
from collections.abc import Iterable
from typing import Any

from clickkit.errors import InvalidRequestError
from clickkit.plan import SCOPES
from clickkit.schema import RESULT_FORMATS


def parse_date(value: Any, name: str = "date") -> dt.date:
    """A date from ``YYYY-MM-DD`` text, a date, a datetime or a pandas Timestamp."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidRequestError(
        f"{name}={value!r} is not a date; pass 'YYYY-MM-DD' text or a datetime.date."
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | int | bytes) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def parse_ids(value: Any, name: str) -> tuple[int, ...]:
    """Numeric ids (program, ad) from one value or a list; text digits are accepted."""
    ids: list[int] = []
    for item in _as_list(value):
        if isinstance(item, bool):
            item = None
        try:
            number = int(str(item).strip()) if item is not None else None
        except ValueError:
            number = None
        if number is None or number < 0:
            raise InvalidRequestError(
                f"{name}={item!r} is not a numeric id; impact.com ids are whole numbers "
                f"such as {name}=[1234]."
            )
        ids.append(number)
    return tuple(sorted(set(ids)))


def parse_sub_ids(value: Any) -> tuple[str, ...]:
    """Sub id values from one string or a list of strings."""
    subs = []
    for item in _as_list(value):
        text = str(item).strip() if item is not None else ""
        if not text:
            raise InvalidRequestError("sub_id values must be non-empty text, e.g. sub_id='spring'.")
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
