"""A faithful local impact.com Partner API (ClickExport + Jobs) with synthetic clicks.

The embedded default for demos, notebooks and tests; the client reaches it only through
``Client.sandbox()``. Nothing here imports the rest of clickkit.

Examples
--------
>>> from datetime import UTC, date, datetime
>>> from clickkit.sandbox import Sandbox, generate_day, serialize
>>> table = generate_day(date(2026, 10, 5), clicks_per_day=100)
>>> serialize(table, "CSV")[:2]
b'Id'
>>> with Sandbox(now=datetime(2026, 11, 27, 9, tzinfo=UTC), seed=7) as sb:
...     sb.url.startswith("http://127.0.0.1:")
True
"""

from clickkit.sandbox.faults import Faults
from clickkit.sandbox.formats import CONTENT_TYPES, filter_clicks, serialize
from clickkit.sandbox.generator import BRAND_COLUMNS, COLUMNS, SCHEMA, generate_day
from clickkit.sandbox.profiles import PROFILES
from clickkit.sandbox.server import Sandbox

__all__ = [
    "BRAND_COLUMNS",
    "COLUMNS",
    "CONTENT_TYPES",
    "PROFILES",
    "SCHEMA",
    "Faults",
    "Sandbox",
    "filter_clicks",
    "generate_day",
    "serialize",
]
