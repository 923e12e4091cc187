"""The DataFrames clickkit hands to users: typed by :mod:`clickkit.schema`, with ``df.clicks``.

The parser (:func:`clickkit.schema.to_pandas`) only converts; this layer also registers
the :mod:`clickkit.accessor` plots, so every frame a user receives from
``Client.clicks()``, ``Client.refresh()`` or :func:`load_export` has ``df.clicks``.

Examples
--------
>>> import clickkit as ck
>>> df = ck.load_export("clicks-2026-10-01.csv", timezone="America/New_York")  # doctest: +SKIP
>>> ax = df.clicks.daily()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from clickkit import accessor, schema
from clickkit.errors import InvalidRequestError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["load_export", "user_frame"]


def user_frame(
    table: pa.Table,
    timezone: str,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """:func:`clickkit.schema.to_pandas`, with the ``df.clicks`` accessor registered."""
    accessor.register()
    return schema.to_pandas(table, timezone, categories=categories)


def load_export(path: str | Path, *, timezone: str = "UTC") -> pd.DataFrame:
    """Read a click export downloaded by hand (CSV, JSON or XML) into the documented schema.

    Parameters
    ----------
    path : str or Path
        The file.
    timezone : str
        The account's IANA time zone: ``EventDate`` values without an offset are read as
        wall time there, and ``event_date`` is shown in it.

    Examples
    --------
    >>> import clickkit as ck
    >>> df = ck.load_export("clicks-2026-10-01.csv", timezone="America/New_York")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidRequestError(f"no such file: {path}. Check the path.")
    return user_frame(schema.parse_export(path, timezone=timezone), timezone)
