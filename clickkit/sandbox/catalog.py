"""Static reference data and the per-account catalog behind the synthetic clicks.

Everything here is plain data plus one builder, :func:`build_catalog`, that derives an
account's programs, ads and media properties from ``(account_sid, seed)``. Values follow
the enums of the impact.com Partner Clicks v16 model.

Examples
--------
>>> cat = build_catalog("IRsandbox0001", seed=0)
>>> len(cat.programs), len(cat.ads) >= 15
(5, True)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

# Enums of the Click model (impact-partner-clicks-v16.yaml).
AD_TYPES = (
    "BANNER",
    "EMAIL",
    "FLASH",
    "TEXT",
    "TEXT_LINK",
    "LONG_SPONSORED_TEXT",
    "XML_SYNDICATION",
    "COUPON",
    "CONTENT",
    "VIDEO",
    "ONLINE_TRACKING_LINK",
    "MEDIA_SOURCE_TRACKING",
)
DEAL_TYPES = ("BOGO", "FREE_SHIPPING", "GENERAL_SALE", "GIFT_WITH_PURCHASE", "REBATE")
DEAL_SCOPES = ("CATEGORY", "ENTIRE_STORE", "PRODUCT")
DEVICE_TYPES = ("DESKTOP", "PHONE", "TABLET", "GAME", "WATCH", "TV", "ROBOT", "CAR", "UNKNOWN")
DEVICE_FAMILIES = (
    "WINDOWS_MACHINE",
    "LINUX_MACHINE",
    "APPLE_MAC",
    "IPHONE",
    "IPAD",
    "ONE",
    "CHROMEBOOK",
    "UNKNOWN",
)
BROWSERS = (
    "CHROME",
    "CHROME_MOBILE",
    "UC_BROWSER",
    "OPERA",
    "OPERA_MOBILE",
    "EDGE",
    "FIREFOX",
    "SAFARI",
    "CAKE",
    "AMAZON_SILK",
    "UNKNOWN",
)
OPERATING_SYSTEMS = ("ANDROID", "LINUX", "IOS", "WINDOWS_10", "WINDOWS_7", "UNKNOWN")

# (DeviceType, DeviceFamily, Os, Browser, weight): only combinations a real user agent
# parser would produce, so family, OS and browser always agree with each other.
HUMAN_DEVICES: tuple[tuple[str, str, str, str, float], ...] = (
    ("DESKTOP", "WINDOWS_MACHINE", "WINDOWS_10", "CHROME", 14.0),
    ("DESKTOP", "WINDOWS_MACHINE", "WINDOWS_10", "EDGE", 6.0),
    ("DESKTOP", "WINDOWS_MACHINE", "WINDOWS_10", "FIREFOX", 2.5),
    ("DESKTOP", "WINDOWS_MACHINE", "WINDOWS_10", "OPERA", 0.7),
    ("DESKTOP", "WINDOWS_MACHINE", "WINDOWS_7", "CHROME", 1.0),
    ("DESKTOP", "WINDOWS_MACHINE", "WINDOWS_7", "FIREFOX", 0.4),
    ("DESKTOP", "APPLE_MAC", "UNKNOWN", "SAFARI", 4.0),
    ("DESKTOP", "APPLE_MAC", "UNKNOWN", "CHROME", 4.0),
    ("DESKTOP", "APPLE_MAC", "UNKNOWN", "FIREFOX", 0.5),
    ("DESKTOP", "LINUX_MACHINE", "LINUX", "CHROME", 0.8),
    ("DESKTOP", "LINUX_MACHINE", "LINUX", "FIREFOX", 0.6),
    ("DESKTOP", "CHROMEBOOK", "LINUX", "CHROME", 1.2),
    ("PHONE", "IPHONE", "IOS", "SAFARI", 22.0),
    ("PHONE", "IPHONE", "IOS", "CHROME_MOBILE", 3.0),
    ("PHONE", "UNKNOWN", "ANDROID", "CHROME_MOBILE", 18.0),
    ("PHONE", "UNKNOWN", "ANDROID", "UC_BROWSER", 0.8),
    ("PHONE", "UNKNOWN", "ANDROID", "OPERA_MOBILE", 0.6),
    ("PHONE", "ONE", "ANDROID", "CHROME_MOBILE", 1.5),
    ("TABLET", "IPAD", "IOS", "SAFARI", 5.0),
    ("TABLET", "IPAD", "IOS", "CHROME_MOBILE", 0.5),
    ("TABLET", "UNKNOWN", "ANDROID", "CHROME_MOBILE", 2.0),
    ("TABLET", "UNKNOWN", "ANDROID", "AMAZON_SILK", 1.0),
    ("TV", "UNKNOWN", "ANDROID", "UNKNOWN", 0.3),
    ("GAME", "UNKNOWN", "UNKNOWN", "UNKNOWN", 0.15),
    ("WATCH", "UNKNOWN", "UNKNOWN", "UNKNOWN", 0.05),
    ("CAR", "UNKNOWN", "UNKNOWN", "UNKNOWN", 0.03),
    ("UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", 0.8),
)
ROBOT_DEVICES: tuple[tuple[str, str, str, str, float], ...] = (
    ("ROBOT", "UNKNOWN", "UNKNOWN", "UNKNOWN", 3.0),
    ("ROBOT", "LINUX_MACHINE", "LINUX", "CHROME", 1.0),
)

# (country, weight, ((region, city, area), ...)). Some names are non-ASCII and one area
# contains a comma, so serialisers and parsers meet UTF-8 and CSV quoting on every day.
GEOGRAPHY: tuple[tuple[str, float, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "US",
        40.0,
        (
            ("California", "San Francisco", "San Francisco"),
            ("California", "Los Angeles", "Los Angeles"),
            ("New York", "New York", "New York"),
            ("Texas", "Austin", "Austin"),
            ("Illinois", "Chicago", "Chicago"),
            ("Washington", "Seattle", "Seattle"),
            ("Florida", "Miami", "Miami"),
            ("Georgia", "Atlanta", "Atlanta"),
            ("District of Columbia", "Washington", "Washington, D.C."),
        ),
    ),
    (
        "GB",
        10.0,
        (
            ("England", "London", "London"),
            ("England", "Manchester", "Manchester"),
            ("Scotland", "Edinburgh", "Edinburgh"),
        ),
    ),
    (
        "CA",
        7.0,
        (
            ("Ontario", "Toronto", "Toronto"),
            ("British Columbia", "Vancouver", "Vancouver"),
            ("Quebec", "Montréal", "Montréal"),
        ),
    ),
    ("AU", 5.0, (("New South Wales", "Sydney", "Sydney"), ("Victoria", "Melbourne", "Melbourne"))),
    ("DE", 5.0, (("Berlin", "Berlin", "Berlin"), ("Bavaria", "München", "München"))),
    ("FR", 3.0, (("Île-de-France", "Paris", "Paris"), ("Auvergne-Rhône-Alpes", "Lyon", "Lyon"))),
    ("IN", 3.0, (("Maharashtra", "Mumbai", "Mumbai"), ("Karnataka", "Bengaluru", "Bengaluru"))),
    ("NL", 1.5, (("North Holland", "Amsterdam", "Amsterdam"),)),
    ("IE", 1.0, (("Leinster", "Dublin", "Dublin"),)),
    ("ES", 1.5, (("Madrid", "Madrid", "Madrid"), ("Catalonia", "Barcelona", "Barcelona"))),
    ("IT", 1.5, (("Lazio", "Rome", "Rome"), ("Lombardy", "Milan", "Milan"))),
    ("SE", 0.8, (("Stockholm", "Stockholm", "Stockholm"),)),
    ("NO", 0.5, (("Oslo", "Oslo", "Oslo"),)),
    ("DK", 0.5, (("Capital Region", "Copenhagen", "Copenhagen"),)),
    ("FI", 0.4, (("Uusimaa", "Helsinki", "Helsinki"),)),
    ("BE", 0.6, (("Brussels", "Brussels", "Brussels"),)),
    ("CH", 0.6, (("Zürich", "Zürich", "Zürich"),)),
    ("AT", 0.5, (("Vienna", "Vienna", "Vienna"),)),
    ("PL", 0.8, (("Masovia", "Warsaw", "Warsaw"), ("Lesser Poland", "Kraków", "Kraków"))),
    ("PT", 0.4, (("Lisbon", "Lisbon", "Lisbon"),)),
    ("CZ", 0.4, (("Prague", "Prague", "Prague"),)),
    ("GR", 0.3, (("Attica", "Athens", "Athens"),)),
    ("HU", 0.3, (("Budapest", "Budapest", "Budapest"),)),
    ("RO", 0.3, (("Bucharest", "Bucharest", "Bucharest"),)),
    ("UA", 0.3, (("Kyiv City", "Kyiv", "Kyiv"),)),
    ("TR", 0.5, (("Istanbul", "Istanbul", "Istanbul"),)),
    ("IL", 0.4, (("Tel Aviv", "Tel Aviv", "Tel Aviv"),)),
    ("AE", 0.5, (("Dubai", "Dubai", "Dubai"),)),
    ("SA", 0.4, (("Riyadh", "Riyadh", "Riyadh"),)),
    ("EG", 0.3, (("Cairo", "Cairo", "Cairo"),)),
    (
        "ZA",
        0.6,
        (("Gauteng", "Johannesburg", "Johannesburg"), ("Western Cape", "Cape Town", "Cape Town")),
    ),
    ("NG", 0.4, (("Lagos", "Lagos", "Lagos"),)),
    ("KE", 0.2, (("Nairobi", "Nairobi", "Nairobi"),)),
    ("JP", 1.2, (("Tokyo", "Tokyo", "Tokyo"), ("Osaka", "Osaka", "Osaka"))),
    ("KR", 0.6, (("Seoul", "Seoul", "Seoul"),)),
    ("SG", 0.6, (("Singapore", "Singapore", "Singapore"),)),
    ("HK", 0.4, (("Hong Kong", "Hong Kong", "Hong Kong"),)),
    ("TW", 0.3, (("Taipei", "Taipei", "Taipei"),)),
    ("PH", 0.6, (("Metro Manila", "Manila", "Manila"),)),
    ("MY", 0.4, (("Kuala Lumpur", "Kuala Lumpur", "Kuala Lumpur"),)),
    ("TH", 0.3, (("Bangkok", "Bangkok", "Bangkok"),)),
    ("ID", 0.4, (("Jakarta", "Jakarta", "Jakarta"),)),
    ("VN", 0.3, (("Ho Chi Minh City", "Ho Chi Minh City", "Ho Chi Minh City"),)),
    ("NZ", 0.5, (("Auckland", "Auckland", "Auckland"),)),
    (
        "BR",
        1.5,
        (
            ("São Paulo", "São Paulo", "São Paulo"),
            ("Rio de Janeiro", "Rio de Janeiro", "Rio de Janeiro"),
        ),
    ),
    (
        "MX",
        1.2,
        (("Mexico City", "Mexico City", "Mexico City"), ("Jalisco", "Guadalajara", "Guadalajara")),
    ),
    ("AR", 0.4, (("Buenos Aires", "Buenos Aires", "Buenos Aires"),)),
    ("CL", 0.3, (("Santiago Metropolitan", "Santiago", "Santiago"),)),
    ("CO", 0.4, (("Bogotá", "Bogotá", "Bogotá"),)),
    ("PE", 0.2, (("Lima", "Lima", "Lima"),)),
)
# Data-centre countries robots come from.
ROBOT_COUNTRIES = ("US", "DE", "IE", "NL", "SG")

# (TrafficCategory, ReferringDomain, weight). "" is a click without a referrer; "{blog}"
# stands for the partner's own site.
TRAFFIC_SOURCES: tuple[tuple[str, str, float], ...] = (
    ("Content", "{blog}", 30.0),
    ("Social", "l.facebook.com", 7.0),
    ("Social", "t.co", 3.0),
    ("Social", "www.instagram.com", 6.0),
    ("Social", "www.pinterest.com", 4.0),
    ("Social", "www.youtube.com", 3.0),
    ("Social", "www.tiktok.com", 3.0),
    ("Search", "www.google.com", 9.0),
    ("Search", "www.bing.com", 1.5),
    ("Search", "duckduckgo.com", 0.8),
    ("Email", "mail.google.com", 2.5),
    ("Email", "", 4.0),
    ("Coupon/Deal", "{blog}", 5.0),
    ("Mobile App", "", 4.0),
    ("Direct", "", 10.0),
)
SHARED_IDS = ("spring2026", "newsletter", "homepage", "sidebar", "ig-story", "gift-guide")
SUBID2_VALUES = ("sidebar", "header", "inline", "footer", "popup", "story", "carousel")
SUBID1_TOPICS = (
    "review",
    "guide",
    "deals",
    "best-of",
    "compare",
    "howto",
    "news",
    "gift",
    "top10",
    "video",
)

_PROGRAM_NAMES = (
    "Capsule Corp",
    "Northwind Outfitters",
    "Globex Travel",
    "Initech Software",
    "Umbrella Wellness",
    "Stark Home",
    "Wonka Treats",
    "Acme Gear",
    "Hooli Audio",
    "Soylent Kitchen",
)
_PARTNERS = ("Hazel Nutt", "Penny Wise", "Rusty Bolt", "Sandy Shore", "Barb Dwyer")
_THEMES = (
    "Spring Promo",
    "Holiday Sale",
    "Evergreen",
    "New Arrivals",
    "Clearance",
    "Loyalty Offer",
    "Homepage",
    "Gift Guide",
)
_AD_TYPE_WEIGHTS = {
    "ONLINE_TRACKING_LINK": 0.35,
    "TEXT_LINK": 0.25,
    "BANNER": 0.18,
    "COUPON": 0.1,
    "CONTENT": 0.05,
    "EMAIL": 0.03,
    "VIDEO": 0.02,
    "MEDIA_SOURCE_TRACKING": 0.02,
}
# DealType -> (DealScope, name template); each type gets a scope that makes sense for it.
_DEALS = {
    "GENERAL_SALE": ("ENTIRE_STORE", "{p} 20% Off Sitewide"),
    "FREE_SHIPPING": ("ENTIRE_STORE", "{p} Free Shipping"),
    "BOGO": ("PRODUCT", "{p} Buy One Get One"),
    "GIFT_WITH_PURCHASE": ("CATEGORY", "{p} Free Gift"),
    "REBATE": ("PRODUCT", "{p} $10 Rebate"),
}


@dataclass(frozen=True)
class Program:
    """A brand program the partner promotes."""

    id: str
    name: str
    domain: str
    cpc: str  # "" for CPA-only programs


@dataclass(frozen=True)
class Ad:
    """An ad (tracking link, banner, coupon...) of one program."""

    id: str
    program: int  # index into Catalog.programs
    name: str
    type: str
    sku: str
    deal_name: str
    deal_type: str
    deal_scope: str
    landing_path: str


@dataclass(frozen=True)
class Catalog:
    """Everything about an account that stays the same from day to day."""

    programs: tuple[Program, ...]
    ads: tuple[Ad, ...]
    ad_weights: tuple[float, ...]  # share of clicks per ad (sums to 1)
    media: tuple[tuple[str, str], ...]  # (MediaId, MediaName)
    blog_domain: str


def stable_hash(text: str) -> int:
    """Return a hash of ``text`` that is the same in every process (unlike ``hash``).

    Examples
    --------
    >>> stable_hash("IRsandbox0001") == stable_hash("IRsandbox0001")
    True
    """
    return zlib.crc32(text.encode("utf-8"))


def build_catalog(account_sid: str, seed: int = 0) -> Catalog:
    """Derive an account's programs, ads and media from ``(account_sid, seed)``.

    Parameters
    ----------
    account_sid : str
        The account; different accounts promote different programs.
    seed : int
        Sandbox seed.

    Returns
    -------
    Catalog
        About 5 programs, 15-25 ads and 2 media properties.

    Examples
    --------
    >>> build_catalog("IRx", 1) == build_catalog("IRx", 1)
    True
    """
    rng = np.random.default_rng([seed, stable_hash(account_sid), 1])
    names = rng.choice(len(_PROGRAM_NAMES), size=5, replace=False)
    program_ids = rng.choice(np.arange(1000, 40000), size=5, replace=False)
    cpc_program = int(rng.integers(0, 5))
    programs = tuple(
        Program(
            id=str(int(pid)),
            name=_PROGRAM_NAMES[int(i)],
            domain="www." + _PROGRAM_NAMES[int(i)].lower().replace(" ", "") + ".com",
            cpc=f"{rng.integers(5, 40) / 100:.2f}" if k == cpc_program else "",
        )
        for k, (i, pid) in enumerate(zip(names, program_ids, strict=True))
    )
    program_weights = 1.0 / np.arange(1, 6) ** 0.9
    program_weights /= program_weights.sum()

    ad_types = list(_AD_TYPE_WEIGHTS)
    type_p = np.array(list(_AD_TYPE_WEIGHTS.values()))
    type_p /= type_p.sum()
    ads: list[Ad] = []
    ad_weights: list[float] = []
    for p_index, program in enumerate(programs):
        n_ads = int(rng.integers(3, 6))
        within = 1.0 / np.arange(1, n_ads + 1) ** 1.2
        within /= within.sum()
        for a in range(n_ads):
            ad_type = ad_types[int(rng.choice(len(ad_types), p=type_p))]
            theme = _THEMES[int(rng.integers(0, len(_THEMES)))]
            deal_name = deal_type = deal_scope = ""
            if ad_type == "COUPON" or rng.random() < 0.15:
                deal_type = list(_DEALS)[int(rng.integers(0, len(_DEALS)))]
                deal_scope, template = _DEALS[deal_type]
                deal_name = template.format(p=program.name)
            sku = ""
            if rng.random() < 0.3:
                prefix = "".join(w[0] for w in program.name.split()).upper()
                sku = f"{prefix}-{int(rng.integers(1, 9999)):04d}"
            ads.append(
                Ad(
                    id=str(int(rng.integers(1_000_000, 9_999_999))),
                    program=p_index,
                    name=f"{program.name} {theme} {ad_type.replace('_', ' ').title()}",
                    type=ad_type,
                    sku=sku,
                    deal_name=deal_name,
                    deal_type=deal_type,
                    deal_scope=deal_scope,
                    landing_path="/" + theme.lower().replace(" ", "-"),
                )
            )
            ad_weights.append(float(program_weights[p_index] * within[a]))
    partner = _PARTNERS[int(rng.integers(0, len(_PARTNERS)))]
    media = (
        (str(int(rng.integers(1_000_000, 3_999_999))), partner),
        (str(int(rng.integers(4_000_000, 6_999_999))), f"{partner} Deals"),
    )
    blog = partner.split()[0].lower() + "picks.blog"
    total = sum(ad_weights)
    return Catalog(programs, tuple(ads), tuple(w / total for w in ad_weights), media, blog)
