"""Deterministic synthetic click exports, one account day at a time.

:func:`generate_day` returns a :class:`pyarrow.Table` with the columns of a partner
ClickExport (:data:`COLUMNS`, all strings except the boolean ``UniqueClick``). The same
inputs always give the same table, and every column is built with vectorised numpy and
pyarrow so a million rows take a few seconds.

What makes the data realistic enough to test against: weekday/weekend volume and an
hour-of-day curve in the account time zone (DST days have 23 or 25 hours and mixed
offsets), repeat clicks that share the journey ``Id`` and are not unique, a few percent
of ROBOT clicks spread evenly over the day, long-tailed sub ids, non-ASCII city names and
one area with a comma, and late arrival: each click becomes visible a deterministic lag
after it happened, so an export taken during the day holds fewer rows than a replay taken
after the settle delay.

Examples
--------
>>> from datetime import date
>>> t = generate_day(date(2026, 10, 5), seed=1, clicks_per_day=500)
>>> t.column_names[:3], t.num_rows > 0
(['Id', 'ProgramId', 'ProgramName'], True)
>>> t.equals(generate_day(date(2026, 10, 5), seed=1, clicks_per_day=500))
True
"""

from __future__ import annotations

import calendar
import functools
import itertools
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clickkit.sandbox.catalog import (
    GEOGRAPHY,
    HUMAN_DEVICES,
    ROBOT_COUNTRIES,
    ROBOT_DEVICES,
    SHARED_IDS,
    SUBID1_TOPICS,
    SUBID2_VALUES,
    TRAFFIC_SOURCES,
    Catalog,
    build_catalog,
    stable_hash,
)

__all__ = [
    "BRAND_COLUMNS",
    "COLUMNS",
    "DEFAULT_ACCOUNT_SID",
    "SCHEMA",
    "add_brand_columns",
    "day_volume",
    "generate_day",
]

DEFAULT_ACCOUNT_SID = "IRsandbox0001"

COLUMNS: tuple[str, ...] = (
    "Id", "ProgramId", "ProgramName", "ProfileId", "IpAddress", "EventDate", "MediaId",
    "MediaName", "AdId", "AdName", "AdType", "ProductSku", "DealName", "DealType",
    "DealScope", "CustomerArea", "CustomerCity", "CustomerRegion", "CustomerCountry",
    "DeviceType", "DeviceFamily", "Browser", "Os", "ReferringUrl", "ReferringDomain",
    "LandingPageUrl", "TrafficCategory", "TrafficSource", "BidKeyword", "SearchText",
    "SharedId", "SubId1", "SubId2", "SubId3", "CpcBid", "Payout", "UniqueClick",
)  # fmt: skip
SCHEMA = pa.schema(
    [pa.field(c, pa.string(), nullable=False) for c in COLUMNS[:-1]]
    + [pa.field("UniqueClick", pa.bool_(), nullable=False)]
)

# Brand-side fields (``BrandRelated`` in the Click model) that some exports carry flat.
BRAND_COLUMNS: tuple[str, ...] = ("AdCampaign", "AdGroup", "Keyword", "MatchType", "Channel")
_BRAND_CAMPAIGNS = ("Brand - Always On", "Holiday Push", "Spring Sale", "Retargeting Q4")
_BRAND_GROUPS = ("Brand - Exact", "Brand - Phrase", "Generic - Broad", "Competitor")
_BRAND_KEYWORDS = ("coupon code", "promo code", "discount", "free shipping", "best price")
_MATCH_TYPES = ("Exact", "Phrase", "Broad")
_CHANNELS = ("Paid Search", "Paid Social", "Display", "Email")

# Relative click volume per local hour: quiet nights, a lunch bump and an evening peak.
HOUR_WEIGHTS = np.array(
    [0.9, 0.6, 0.45, 0.35, 0.3, 0.35, 0.6, 1.1, 1.7, 2.0, 2.2, 2.4,
     2.6, 2.5, 2.4, 2.3, 2.3, 2.4, 2.6, 2.9, 3.1, 2.9, 2.3, 1.5]
)  # fmt: skip
# Monday..Sunday: partner traffic drops at the weekend.
WEEKDAY_FACTORS = (1.04, 1.07, 1.05, 1.02, 0.97, 0.74, 0.79)

_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_HEX = b"0123456789abcdef"
_DIGITS = b"0123456789"
_SUBID1_VOCAB = 3000
_POSTS = 60  # distinct referring pages per traffic source


def day_volume(day: date, clicks_per_day: int, seed: int = 0, account_sid: str = "") -> float:
    """Return the expected number of clicks on ``day`` (before Poisson noise).

    Weekday factor x a mild annual cycle x shopping peaks (Black Friday, Cyber Monday,
    December) x a small deterministic day-to-day wobble.

    Examples
    --------
    >>> sat, mon = date(2026, 10, 3), date(2026, 10, 5)
    >>> day_volume(sat, 1000) < day_volume(mon, 1000)
    True
    """
    factor = WEEKDAY_FACTORS[day.weekday()]
    factor *= 1.0 + 0.06 * np.sin(2 * np.pi * (day.timetuple().tm_yday - 100) / 365.25)
    black_friday = _fourth_thursday_of_november(day.year) + timedelta(days=1)
    if day == black_friday:
        factor *= 1.7
    elif day == black_friday + timedelta(days=3):
        factor *= 1.5
    elif day.month == 12 and day.day <= 20:
        factor *= 1.15
    wobble = np.random.default_rng([seed, stable_hash(account_sid), day.toordinal(), 7])
    return float(clicks_per_day * factor * np.exp(wobble.normal(0.0, 0.06)))


#: The per-journey draws that become columns through :func:`_assemble` (each row takes
#: its journey root's value).
_PICKED = ("device", "country", "city", "city_na", "area_na", "ad", "media", "traffic",
           "post", "search_kw", "bid_kw", "shared", "sub1", "sub2", "sub3_empty")  # fmt: skip


def _event_times(
    rng: np.random.Generator, n_human: int, n_robot: int, start: int, end: int, tz: ZoneInfo
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted click instants (epoch seconds) and which of them are robots.

    Humans follow the local hour curve (DST days have 23 or 25 hours); robots are flat
    over the day.
    """
    slot_start, slot_len, slot_hour = _hour_slots(start, end, tz)
    p = HOUR_WEIGHTS[slot_hour] * slot_len / 3600.0
    slot = rng.choice(len(slot_start), size=n_human, p=p / p.sum())
    human_t = slot_start[slot] + (rng.random(n_human) * slot_len[slot]).astype(np.int64)
    robot_t = rng.integers(start, end, size=n_robot)
    t = np.concatenate([human_t, robot_t])
    robot = np.concatenate([np.zeros(n_human, bool), np.ones(n_robot, bool)])
    order = np.argsort(t, kind="stable")
    return t[order], robot[order]


def _journey_roots(rng: np.random.Generator, robot: np.ndarray) -> np.ndarray:
    """For each click, the position of the first click of its journey.

    Repeat clicks copy an earlier click of the same journey; robots reuse a few
    identities. A click that is its own root is a unique click (unless a robot's).
    """
    n = len(robot)
    root = np.arange(n)
    human_pos = np.flatnonzero(~robot)
    repeat = rng.random(len(human_pos)) < rng.uniform(0.10, 0.18)
    back = rng.geometric(1 / 30, size=len(human_pos))
    parent = np.arange(len(human_pos)) - back
    repeat &= parent >= 0
    root[human_pos[repeat]] = human_pos[parent[repeat]]
    robot_pos = np.flatnonzero(robot)
    bot = rng.integers(0, int(rng.integers(3, 9)), size=len(robot_pos))
    _, first = np.unique(bot, return_index=True)
    first_of_bot = np.zeros(bot.max() + 1 if len(bot) else 0, np.int64)
    first_of_bot[bot[first]] = robot_pos[first]
    root[robot_pos] = first_of_bot[bot]
    while True:  # pointer jumping: follow parents to the first click of each journey
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _journey_draws(
    rng: np.random.Generator, robot: np.ndarray, cat: Catalog
) -> dict[str, np.ndarray]:
    """Per-journey attributes, drawn for every row (each row later takes its root's).

    The draws happen in a fixed order: changing it changes every sandbox value.
    """
    n = len(robot)
    ids = _random_bytes(rng, n, 26)
    profile = _random_bytes(rng, n, 32)
    ip_hash = _random_bytes(rng, n, 32)
    device = np.where(
        robot,
        _choice(rng, n, [d[4] for d in ROBOT_DEVICES]) + len(HUMAN_DEVICES),
        _choice(rng, n, [d[4] for d in HUMAN_DEVICES]),
    )
    geo = _geo_tables()
    country = np.where(
        robot,
        rng.choice(geo.robot_countries, size=n),
        _choice(rng, n, [g[1] for g in GEOGRAPHY]),
    )
    city = geo.offsets[country] + (rng.random(n) * geo.counts[country]).astype(np.int64)
    city_na = rng.random(n) < np.where(robot, 0.5, 0.06)
    area_na = city_na | (rng.random(n) < 0.04)
    ad = _choice(rng, n, cat.ad_weights)
    media = (rng.random(n) < 0.15).astype(np.int64)
    traffic = np.where(
        robot & (rng.random(n) < 0.8),
        len(TRAFFIC_SOURCES) - 1,  # robots mostly come without a referrer ("Direct")
        _choice(rng, n, [s[2] for s in TRAFFIC_SOURCES]),
    )
    post = rng.integers(0, _POSTS, size=n)
    searchy = np.isin(traffic, _urls(cat).search_sources)
    search_kw = np.where(searchy & (rng.random(n) < 0.4), 1 + rng.integers(0, 25, size=n), 0)
    bid_kw = np.where((search_kw > 0) & (rng.random(n) < 0.08), search_kw, 0)
    shared = np.where(rng.random(n) < 0.15, 1 + rng.integers(0, len(SHARED_IDS), size=n), 0)
    sub1 = np.where(rng.random(n) < 0.75, 1 + _zipf(rng, n, _SUBID1_VOCAB), 0)
    sub2 = np.where(rng.random(n) < 0.45, 1 + rng.integers(0, len(SUBID2_VALUES), size=n), 0)
    sub3_empty = rng.random(n) >= 0.2
    sub3 = _random_bytes(rng, n, 6)
    return {
        "ids": ids, "profile": profile, "ip_hash": ip_hash, "sub3": sub3,
        "device": device, "country": country, "city": city, "city_na": city_na,
        "area_na": area_na, "ad": ad, "media": media, "traffic": traffic, "post": post,
        "search_kw": search_kw, "bid_kw": bid_kw, "shared": shared, "sub1": sub1,
        "sub2": sub2, "sub3_empty": sub3_empty,
    }  # fmt: skip


def generate_day(
    day: date,
    *,
    seed: int = 0,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    clicks_per_day: int = 2000,
    timezone: str = "UTC",
    as_of: datetime | None = None,
    settle_delay: timedelta = timedelta(hours=2),
) -> pa.Table:
    """Generate the clicks of one day of one account, sorted by ``EventDate``.

    Parameters
    ----------
    day : date
        The calendar day in the account time zone.
    seed : int
        Sandbox seed; with ``account_sid``, ``day`` and ``clicks_per_day`` it fixes every value.
    account_sid : str
        Account whose catalog (programs, ads, media) is used.
    clicks_per_day : int
        Base volume; the actual count follows the weekday pattern and noise around it.
    timezone : str
        IANA name of the account time zone; ``EventDate`` carries its offset (DST included).
    as_of : datetime, optional
        Aware instant the export is taken. Only clicks that happened *and* arrived by then
        are included; ``None`` means the whole settled day.
    settle_delay : timedelta
        Upper bound of the per-click arrival lag.

    Returns
    -------
    pyarrow.Table
        Columns :data:`COLUMNS` with schema :data:`SCHEMA`.

    Examples
    --------
    >>> from datetime import UTC
    >>> d = date(2026, 10, 5)
    >>> early = generate_day(d, as_of=datetime(2026, 10, 5, 12, tzinfo=UTC))
    >>> full = generate_day(d)
    >>> 0 < early.num_rows < full.num_rows
    True
    """
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    tz = ZoneInfo(timezone)
    start = int(datetime.combine(day, time(0), tz).timestamp())
    end = int(datetime.combine(day + timedelta(days=1), time(0), tz).timestamp())
    if (as_of is not None and as_of.timestamp() <= start) or clicks_per_day <= 0:
        return SCHEMA.empty_table()

    cat = _catalog(account_sid, seed)
    rng = np.random.default_rng([seed, stable_hash(account_sid), day.toordinal()])
    n = int(rng.poisson(day_volume(day, clicks_per_day, seed, account_sid)))
    n_robot = int(rng.binomial(n, rng.uniform(0.02, 0.04)))
    n_human = n - n_robot

    t, robot = _event_times(rng, n_human, n_robot, start, end, tz)
    root = _journey_roots(rng, robot)
    unique = ~robot & (root == np.arange(n))
    drawn = _journey_draws(rng, robot, cat)
    # Late arrival: most clicks show up within minutes, a few near the settle delay.
    lag = settle_delay.total_seconds() * rng.random(n) ** 3

    keep = np.arange(n)
    if as_of is not None:
        keep = np.flatnonzero(t + lag <= as_of.timestamp())
    t, unique, r = t[keep], unique[keep], root[keep]
    pick = {name: drawn[name][r] for name in _PICKED}
    tokens = {
        "Id": _spell(drawn["ids"][r], _ALNUM),
        "ProfileId": _uuid_layout(_spell(drawn["profile"][r], _HEX)),
        "IpAddress": _spell(drawn["ip_hash"][r], _HEX),
        "SubId3": _spell(drawn["sub3"][r], _DIGITS, prefix=b"u"),
    }
    return _assemble(day, tz, cat, t, unique, pick, tokens)


def add_brand_columns(table: pa.Table, seed: int = 0) -> pa.Table:
    """Insert the flat brand-side columns :data:`BRAND_COLUMNS` after ``ProductSku``.

    About one row in five carries brand values (the rest are ``""``); each click's values
    follow from its ``Id`` and ``seed`` alone, so they stay the same however the table was
    filtered or cut.

    Examples
    --------
    >>> t = add_brand_columns(generate_day(date(2026, 10, 5), clicks_per_day=200))
    >>> t.column_names[t.column_names.index("ProductSku") + 1]
    'AdCampaign'
    >>> 0 < sum(v != "" for v in t["Channel"].to_pylist()) < t.num_rows
    True
    """
    h = _row_hashes(table["Id"], seed)
    branded = h % 5 == 0
    campaign = (h >> 8) % len(_BRAND_CAMPAIGNS)
    group = (h >> 16) % len(_BRAND_GROUPS)
    keyword = (h >> 24) % len(_BRAND_KEYWORDS)
    match = (h >> 32) % len(_MATCH_TYPES)
    channel = (h >> 40) % len(_CHANNELS)
    search = channel == 0  # keywords and match types belong to paid search only
    values = {
        "AdCampaign": _decode(np.where(branded, 1 + campaign, 0), ["", *_BRAND_CAMPAIGNS]),
        "AdGroup": _decode(np.where(branded, 1 + group, 0), ["", *_BRAND_GROUPS]),
        "Keyword": _decode(np.where(branded & search, 1 + keyword, 0), ["", *_BRAND_KEYWORDS]),
        "MatchType": _decode(np.where(branded & search, 1 + match, 0), ["", *_MATCH_TYPES]),
        "Channel": _decode(np.where(branded, 1 + channel, 0), ["", *_CHANNELS]),
    }
    position = (
        table.column_names.index("ProductSku") + 1
        if "ProductSku" in table.column_names
        else table.num_columns
    )
    for offset, name in enumerate(BRAND_COLUMNS):
        table = table.add_column(
            position + offset, pa.field(name, pa.string(), False), values[name]
        )
    return table


def _row_hashes(ids: pa.ChunkedArray | pa.Array, seed: int) -> np.ndarray:
    """A 64-bit FNV-1a style hash of every value (vectorised for fixed-width ids)."""
    column = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if isinstance(column, pa.ChunkedArray):  # a column without chunks
        return np.zeros(0, np.uint64)
    n = len(column)
    column = column.cast(pa.string())
    offsets = np.frombuffer(column.buffers()[1], np.int32)[column.offset : column.offset + n + 1]
    widths = np.diff(offsets)
    h = np.full(n, (14695981039346656037 ^ seed) & (2**64 - 1), np.uint64)
    if n == 0:
        return h
    if (widths == widths[0]).all() and column.buffers()[2] is not None:
        raw = np.frombuffer(column.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
        matrix = raw.reshape(n, int(widths[0])).astype(np.uint64)
        for k in range(matrix.shape[1]):
            h = (h ^ matrix[:, k]) * np.uint64(1099511628211)
    else:
        texts = column.to_pylist()
        h = np.array([stable_hash(f"{seed}:{t}") for t in texts], np.uint64)
        h = h * np.uint64(1099511628211)
    return h ^ (h >> np.uint64(29))


def _assemble(
    day: date,
    tz: ZoneInfo,
    cat: Catalog,
    t: np.ndarray,
    unique: np.ndarray,
    pick: dict[str, np.ndarray],
    tokens: dict[str, np.ndarray],
) -> pa.Table:
    """Turn per-row index arrays and token byte matrices into the export's columns."""
    geo = _geo_tables()
    urls = _urls(cat)
    ad = pick["ad"]
    ads = cat.ads
    programs = [cat.programs[a.program] for a in ads]
    devices = HUMAN_DEVICES + ROBOT_DEVICES
    na = len(geo.cities)  # index of the "n/a" entry appended to the city/area dictionaries
    src_post = pick["traffic"] * _POSTS + pick["post"]
    cpc = _decode(ad, [p.cpc for p in programs])
    unique_arr = pa.array(unique, pa.bool_())
    payout = pc.if_else(unique_arr, cpc, pc.if_else(pc.equal(cpc, ""), "", "0.00"))
    columns = {
        "Id": _strings(tokens["Id"]),
        "ProgramId": _decode(ad, [p.id for p in programs]),
        "ProgramName": _decode(ad, [p.name for p in programs]),
        "ProfileId": _strings(tokens["ProfileId"]),
        "IpAddress": _strings(tokens["IpAddress"]),
        "EventDate": _event_dates(day, tz, t),
        "MediaId": _decode(pick["media"], [m[0] for m in cat.media]),
        "MediaName": _decode(pick["media"], [m[1] for m in cat.media]),
        "AdId": _decode(ad, [a.id for a in ads]),
        "AdName": _decode(ad, [a.name for a in ads]),
        "AdType": _decode(ad, [a.type for a in ads]),
        "ProductSku": _decode(ad, [a.sku for a in ads]),
        "DealName": _decode(ad, [a.deal_name for a in ads]),
        "DealType": _decode(ad, [a.deal_type for a in ads]),
        "DealScope": _decode(ad, [a.deal_scope for a in ads]),
        "CustomerArea": _decode(np.where(pick["area_na"], na, pick["city"]), [*geo.areas, "n/a"]),
        "CustomerCity": _decode(np.where(pick["city_na"], na, pick["city"]), [*geo.cities, "n/a"]),
        "CustomerRegion": _decode(pick["city"], geo.regions),
        "CustomerCountry": _decode(pick["country"], [g[0] for g in GEOGRAPHY]),
        "DeviceType": _decode(pick["device"], [d[0] for d in devices]),
        "DeviceFamily": _decode(pick["device"], [d[1] for d in devices]),
        "Browser": _decode(pick["device"], [d[3] for d in devices]),
        "Os": _decode(pick["device"], [d[2] for d in devices]),
        "ReferringUrl": _decode(src_post, urls.referring_urls),
        "ReferringDomain": _decode(pick["traffic"], urls.domains),
        "LandingPageUrl": _decode(ad, urls.landing_pages),
        "TrafficCategory": _decode(pick["traffic"], [s[0] for s in TRAFFIC_SOURCES]),
        "TrafficSource": _decode(pick["traffic"], urls.domains),
        "BidKeyword": _decode(pick["bid_kw"], urls.search_terms),
        "SearchText": _decode(pick["search_kw"], urls.search_terms),
        "SharedId": _decode(pick["shared"], ["", *SHARED_IDS]),
        "SubId1": _decode(pick["sub1"], _subid1_vocab()),
        "SubId2": _decode(pick["sub2"], ["", *SUBID2_VALUES]),
        "SubId3": _strings(tokens["SubId3"], empty=pick["sub3_empty"]),
        "CpcBid": cpc,
        "Payout": payout,
        "UniqueClick": unique_arr,
    }
    return pa.Table.from_arrays(list(columns.values()), schema=SCHEMA)


# -- helpers ---------------------------------------------------------------------------


def _fourth_thursday_of_november(year: int) -> date:
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _choice(rng: np.random.Generator, n: int, weights: Sequence[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _zipf(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Indices in ``[0, size)`` with a long tail (rank ** -1.1)."""
    cdf = np.cumsum(1.0 / np.arange(1, size + 1) ** 1.1)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n)), size - 1)


def _random_bytes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return np.frombuffer(rng.bytes(n * width), np.uint8).reshape(n, width)


def _spell(raw: np.ndarray, alphabet: bytes, prefix: bytes = b"") -> np.ndarray:
    """Map random bytes onto ``alphabet`` (the slight modulo bias does not matter here)."""
    lut = np.frombuffer(alphabet, np.uint8)[np.arange(256) % len(alphabet)]
    spelled = np.take(lut, raw)
    if prefix:
        spelled = np.hstack([np.tile(np.frombuffer(prefix, np.uint8), (len(raw), 1)), spelled])
    return spelled


def _strings(matrix: np.ndarray, empty: np.ndarray | None = None) -> pa.Array:
    """Build a string array from an ``(n, width)`` byte matrix, rows in ``empty`` as ""."""
    n, width = matrix.shape
    lengths = np.full(n, width, np.int64)
    data = matrix
    if empty is not None:
        lengths[empty] = 0
        data = matrix[~empty]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data).tobytes())
    ).cast(pa.string())


def _decode(indices: np.ndarray, values: Sequence[str]) -> pa.Array:
    dictionary = pa.array(list(values), pa.string())
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int32)), dictionary
    ).dictionary_decode()


def _uuid_layout(hex32: np.ndarray) -> np.ndarray:
    """Insert dashes: 32 hex digits -> ``8-4-4-4-12``."""
    out = np.full((len(hex32), 36), ord("-"), np.uint8)
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        out[:, dst : dst + width] = hex32[:, src : src + width]
    return out


def _hour_slots(start: int, end: int, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``[start, end)`` into real hours; return their starts, lengths and local hours."""
    starts = np.arange(start, end, 3600, dtype=np.int64)
    lengths = np.minimum(starts + 3600, end) - starts
    hours = np.array([datetime.fromtimestamp(int(s), tz).hour for s in starts])
    return starts, lengths, hours


def _utc_offset(epoch: int, tz: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(epoch, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _offset_changes(start: int, end: int, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """Return (instants where the UTC offset changes, offsets) across ``[start, end)``."""
    bounds = [start, *range(start + 3600, end, 3600), end - 1]
    changes: list[int] = []
    offsets = [_utc_offset(start, tz)]
    for lo, hi in itertools.pairwise(bounds):
        if _utc_offset(hi, tz) == _utc_offset(lo, tz):
            continue
        while hi - lo > 1:  # bisect to the exact second of the transition
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _utc_offset(mid, tz) == _utc_offset(lo, tz) else (lo, mid)
        changes.append(hi)
        offsets.append(_utc_offset(hi, tz))
    return np.array(changes, np.int64), np.array(offsets, np.int64)


def _event_dates(day: date, tz: ZoneInfo, t: np.ndarray) -> pa.Array:
    """Format UTC epochs as local ISO-8601 with offset, e.g. ``2026-10-05T08:06:24-04:00``."""
    n = len(t)
    if n == 0:
        return pa.array([], pa.string())
    changes, offsets = _offset_changes(int(t.min()), int(t.max()) + 1, tz)
    offset = offsets[np.searchsorted(changes, t, side="right")]
    seconds = t + offset - calendar.timegm(day.timetuple())  # wall clock since midnight
    out = np.empty((n, 25), np.uint8)
    out[:, :10] = np.frombuffer(day.isoformat().encode(), np.uint8)
    out[:, 10] = ord("T")
    for pos, value in ((11, seconds // 3600), (14, seconds // 60 % 60), (17, seconds % 60)):
        out[:, pos] = ord("0") + value // 10
        out[:, pos + 1] = ord("0") + value % 10
    out[:, 13] = out[:, 16] = out[:, 22] = ord(":")
    out[:, 19] = np.where(offset < 0, ord("-"), ord("+"))
    minutes = np.abs(offset) // 60
    for pos, value in ((20, minutes // 60), (23, minutes % 60)):
        out[:, pos] = ord("0") + value // 10
        out[:, pos + 1] = ord("0") + value % 10
    return _strings(out)


class _Geo:
    def __init__(self) -> None:
        self.regions: list[str] = []
        self.cities: list[str] = []
        self.areas: list[str] = []
        offsets, counts = [], []
        for _country, _weight, places in GEOGRAPHY:
            offsets.append(len(self.cities))
            counts.append(len(places))
            for region, city, area in places:
                self.regions.append(region)
                self.cities.append(city)
                self.areas.append(area)
        self.offsets = np.array(offsets, np.int64)
        self.counts = np.array(counts, np.int64)
        codes = [g[0] for g in GEOGRAPHY]
        self.robot_countries = np.array([codes.index(c) for c in ROBOT_COUNTRIES])


@functools.cache
def _geo_tables() -> _Geo:
    return _Geo()


@functools.cache
def _subid1_vocab() -> list[str]:
    topics = SUBID1_TOPICS
    return [
        "",
        *(f"{topics[k % len(topics)]}-{k // len(topics) + 1}" for k in range(_SUBID1_VOCAB)),
    ]


class _Urls:
    """Referrer, landing-page and search-term dictionaries of one catalog."""

    def __init__(self, cat: Catalog) -> None:
        self.domains = [s[1].replace("{blog}", cat.blog_domain) for s in TRAFFIC_SOURCES]
        self.search_sources = np.array(
            [i for i, s in enumerate(TRAFFIC_SOURCES) if s[0] == "Search"]
        )
        self.referring_urls: list[str] = []
        for (category, _, _), domain in zip(TRAFFIC_SOURCES, self.domains, strict=True):
            for k in range(_POSTS):
                self.referring_urls.append(_referrer(category, domain, k))
        self.landing_pages = [
            f"https://{cat.programs[a.program].domain}{a.landing_path}?irgwc=1" for a in cat.ads
        ]
        words = ("coupon", "promo code", "review", "sale", "discount")
        self.search_terms = [""] + [f"{p.name.lower()} {w}" for p in cat.programs for w in words]


def _referrer(category: str, domain: str, k: int) -> str:
    if not domain:
        return ""
    if category in ("Content", "Coupon/Deal"):
        topic = SUBID1_TOPICS[k % len(SUBID1_TOPICS)]
        return f"https://{domain}/{topic}/post-{k + 1}"
    if domain == "www.google.com":
        return "https://www.google.com/"
    if domain == "t.co":
        return f"https://t.co/x{k:04d}"
    if domain == "www.youtube.com":
        return f"https://www.youtube.com/watch?v=v{k:05d}"
    if domain == "www.pinterest.com":
        return f"https://www.pinterest.com/pin/{98765000 + k}/"
    return f"https://{domain}/"


@functools.lru_cache(maxsize=16)
def _catalog(account_sid: str, seed: int) -> Catalog:
    return build_catalog(account_sid, seed)


@functools.lru_cache(maxsize=16)
def _urls(cat: Catalog) -> _Urls:
    return _Urls(cat)
