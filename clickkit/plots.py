"""Axes-level plots of click DataFrames (the seaborn/pandas convention).

Every function takes the DataFrame documented in :mod:`clickkit.schema`, draws on one
``matplotlib.axes.Axes`` and returns it:

- :func:`daily` -- clicks per day (or hour), optionally one line per group;
- :func:`hourly_heatmap` -- clicks by weekday and hour of day;
- :func:`top` -- the most frequent values of any column;
- :func:`breakdown` -- each group's share of clicks over time;
- :func:`unique_share` -- the share of unique clicks over time.

``ax=None`` draws on ``plt.gca()``; extra keyword arguments go to the main matplotlib call.
Nothing here calls ``plt.show()`` or changes ``rcParams``: styling is passed per call.

Time is always shown in the account's time zone, the one of ``event_date``'s dtype. Days
the client marked provisional (``df.attrs["clickkit"]["days"][i]["final"] is False``) are
shaded and hatched, so a still-growing last day is not read as a drop.

matplotlib, numpy and pandas are imported inside the functions, so importing this module
(and ``clickkit``) stays cheap.

Examples
--------
>>> import clickkit as ck
>>> df = ck.load_export("clicks.csv", timezone="America/New_York")  # doctest: +SKIP
>>> ax = ck.plots.daily(df, by="device_type")  # doctest: +SKIP
>>> ax = ck.plots.top(df, "sub_id1", n=15)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clickkit._optional import import_optional
from clickkit.errors import InvalidRequestError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap

__all__ = [
    "NONE_LABEL",
    "OKABE_ITO",
    "OTHER_LABEL",
    "PROVISIONAL_GID",
    "breakdown",
    "daily",
    "hourly_heatmap",
    "top",
    "unique_share",
]

#: Okabe-Ito colours, ordered so the first ones contrast best on white (yellow last).
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
#: Colour of the "Other" group (values folded beyond ``top``).
OTHER_COLOR = "#999999"
#: Label of the group that collects the values beyond ``top``.
OTHER_LABEL = "Other"
#: Label of missing values when ``dropna=False``.
NONE_LABEL = "(none)"
#: ``gid`` of the patches that mark provisional days (to find them in a figure).
PROVISIONAL_GID = "clickkit-provisional"

# Behind lines: a grey hatched band. Over stacked areas (which would hide a band behind
# them): a translucent white wash, hatched, so the day looks faded.
_PROVISIONAL_BEHIND: dict[str, Any] = {
    "facecolor": "#999999",
    "edgecolor": "#666666",
    "alpha": 0.18,
    "hatch": "//",
    "linewidth": 0,
    "zorder": 0,
}
_PROVISIONAL_OVER: dict[str, Any] = {
    "facecolor": "#FFFFFF",
    "edgecolor": "#444444",
    "alpha": 0.45,
    "hatch": "//",
    "linewidth": 0,
    "zorder": 2.5,
}
_LINESTYLES = ("-", "--", ":", "-.")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FREQS = {"D": "D", "d": "D", "day": "D", "h": "h", "H": "h", "hour": "h"}
_UNITS = {"D": "day", "h": "hour"}
_MAX_LABEL = 40


# ---------------------------------------------------------------------------------------
# Checking arguments and preparing data


def _pyplot() -> Any:
    """Import ``matplotlib.pyplot`` or say how to install it."""
    return import_optional(
        "matplotlib.pyplot", feature="clickkit.plots", install="pip install matplotlib"
    )


def _check_frame(data: Any) -> None:
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise InvalidRequestError(
            f"data must be a pandas DataFrame of clicks, not {type(data).__name__}. "
            "Pass the frame returned by Client.clicks() or clickkit.load_export()."
        )


def _check_column(data: pd.DataFrame, column: Hashable, arg: str | None = "by") -> None:
    """Raise naming the missing column, the closest match and the columns there are."""
    if column in data.columns:
        return
    names = [str(c) for c in data.columns]
    close = difflib.get_close_matches(str(column), names, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    problem = (
        f"{arg}={column!r} is not a column of the DataFrame"
        if arg
        else f"the DataFrame has no {column!r} column"
    )
    raise InvalidRequestError(f"{problem}. {hint}Use one of: {', '.join(names) or '(none)'}.")


def _check_freq(freq: str) -> str:
    if isinstance(freq, str) and freq in _FREQS:
        return _FREQS[freq]
    raise InvalidRequestError(
        f"freq={freq!r} is not supported. Pass freq='D' for daily or freq='h' for hourly."
    )


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _event_times(data: pd.DataFrame) -> pd.Series:
    """``event_date`` as a tz-aware datetime Series (naive times are read as UTC)."""
    import pandas as pd

    if "event_date" not in data.columns:
        raise InvalidRequestError(
            "data has no 'event_date' column, so clicks cannot be placed in time. Pass the "
            "DataFrame from Client.clicks() or clickkit.load_export() (schema column names)."
        )
    when = data["event_date"]
    if isinstance(when.dtype, pd.ArrowDtype):
        # Arrow-backed timestamps: same instants as a numpy-backed column.
        tz = getattr(when.dtype.pyarrow_dtype, "tz", None)
        when = when.astype(pd.DatetimeTZDtype("ns", tz) if tz else "datetime64[ns]")
    if not pd.api.types.is_datetime64_any_dtype(when):
        raise InvalidRequestError(
            f"'event_date' must hold datetimes, not {when.dtype}. Build the frame with "
            "clickkit.schema.to_pandas() or convert it with pd.to_datetime(..., utc=True)."
        )
    if getattr(when.dtype, "tz", None) is None:
        when = when.dt.tz_localize("UTC")
    return when


def _provisional_days(data: pd.DataFrame) -> frozenset[dt.date]:
    """Days listed with ``final: False`` in ``data.attrs["clickkit"]`` (none without attrs)."""
    info = data.attrs.get("clickkit") if isinstance(data.attrs, dict) else None
    days = info.get("days") if isinstance(info, dict) else None
    found: set[dt.date] = set()
    for day in days if isinstance(days, Iterable) else ():
        if not isinstance(day, dict) or day.get("final", True) is not False:
            continue
        try:
            found.add(dt.date.fromisoformat(str(day.get("date"))[:10]))
        except ValueError:
            continue  # a malformed entry should not stop a plot
    return frozenset(found)


@dataclass(frozen=True)
class _Clicks:
    """The rows that can be placed in time, with what every plot needs to label them."""

    frame: pd.DataFrame  # rows with a known event_date
    when: pd.Series  # their event_date, tz-aware, in the account's time zone
    tz: Any  # tzinfo for the date locator and formatter
    tzname: str
    provisional: frozenset[dt.date]

    @property
    def empty(self) -> bool:
        return len(self.frame) == 0

    def date_range_text(self) -> str:
        """``"2026-10-01 to 2026-10-31"`` in the account's time zone ("" when empty)."""
        if self.empty:
            return ""
        first, last = self.when.min().date(), self.when.max().date()
        return f"{first}" if first == last else f"{first} to {last}"


def _prepare(data: Any, by: Hashable | None = None, *, needs: str | None = None) -> _Clicks:
    """Check ``data``, ``by`` and a needed column; drop rows without a click time."""
    _check_frame(data)
    when = _event_times(data)
    if by is not None:
        _check_column(data, by)
    if needs is not None:
        _check_column(data, needs, arg=None)
    known = when.notna().to_numpy()
    tz = when.dtype.tz
    return _Clicks(
        # Copy only when some rows have no time (a full copy of a big frame is not free).
        frame=data if known.all() else data.loc[known],
        when=when if known.all() else when[known],
        tz=tz,
        tzname=str(getattr(tz, "key", None) or getattr(tz, "zone", None) or tz),
        provisional=_provisional_days(data),
    )


# ---------------------------------------------------------------------------------------
# Binning clicks in time (in the account's time zone, DST-safe)


@dataclass(frozen=True)
class _Bins:
    """Consecutive periods from the first to the last click, and each row's period."""

    freq: str
    starts: pd.DatetimeIndex  # start instant of every period, UTC-naive (what matplotlib uses)
    codes: np.ndarray  # per row: position of its period in ``starts``
    first_day: dt.date
    last_day: dt.date


def _local_midnights(days: pd.DatetimeIndex, tz: Any) -> pd.DatetimeIndex:
    """UTC-naive instants at which the given local calendar days start."""
    import numpy as np

    # Where midnight is skipped or repeated by a DST change, the day starts at the first
    # local time that exists.
    aware = days.tz_localize(
        tz, ambiguous=np.ones(len(days), dtype=bool), nonexistent="shift_forward"
    )
    return aware.tz_convert("UTC").tz_localize(None)


def _bins(clicks: _Clicks, freq: str) -> _Bins:
    import numpy as np
    import pandas as pd

    wall = clicks.when.dt.tz_localize(None)  # local wall-clock time
    days = wall.dt.normalize()
    first, last = days.min(), days.max()
    if freq == "D":
        local = pd.date_range(first, last, freq="D")
        starts = _local_midnights(local, clicks.tz)
        codes = ((days - first) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    else:
        # The instant the click's local hour began: DST's repeated hour stays two periods.
        utc = clicks.when.dt.tz_convert("UTC").dt.tz_localize(None)
        hour_start = utc - (wall - wall.dt.floor("h"))
        starts = pd.date_range(hour_start.min(), hour_start.max(), freq="h")
        codes = ((hour_start - starts[0]) // pd.Timedelta(hours=1)).to_numpy(dtype=np.int64)
    return _Bins(freq, starts, codes, first.date(), last.date())


@dataclass(frozen=True)
class _Groups:
    """Rows coded by label, labels ranked by clicks (largest first, ties by label)."""

    codes: np.ndarray  # per row: rank of its label, -1 for a dropped missing value
    labels: list[str]
    counts: np.ndarray  # clicks per label, in rank order


def _groups(values: pd.Series, dropna: bool) -> _Groups:
    """Group rows by the text of their value; missing values are dropped or "(none)"."""
    import numpy as np
    import pandas as pd

    # Factorize first so str() runs once per distinct value, not once per row.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [str(u) for u in uniques]
    if not dropna:
        codes = np.where(codes < 0, len(text), codes)
        text.append(NONE_LABEL)
    # Sorted distinct labels (values with the same text merge); -1 keeps "dropped".
    labels, inverse = np.unique(np.array(text, dtype=object), return_inverse=True)
    codes = np.append(inverse, -1)[codes]
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    order = np.argsort(-counts, kind="stable")  # stable: ties stay in label order
    order = order[counts[order] > 0]
    rank = np.full(len(labels) + 1, -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    return _Groups(codes=rank[codes], labels=[str(v) for v in labels[order]], counts=counts[order])


def _counts_table(
    clicks: _Clicks, bins: _Bins, by: Hashable | None, top: int, dropna: bool
) -> pd.DataFrame:
    """Clicks per period (rows) and group (columns): ``top`` groups by volume, then Other."""
    import numpy as np
    import pandas as pd

    n = len(bins.starts)
    if by is None:
        counts = np.bincount(bins.codes, minlength=n)
        return pd.DataFrame({"clicks": counts}, index=bins.starts)
    groups = _groups(clicks.frame[by], dropna)
    names = groups.labels[:top]
    if len(groups.labels) > top:
        names.append(OTHER_LABEL)
    group = np.minimum(groups.codes, top)  # ranks beyond top fold into Other
    keep = group >= 0
    flat = bins.codes[keep] * len(names) + group[keep]
    counts = np.bincount(flat, minlength=n * len(names)).reshape(n, len(names))
    return pd.DataFrame(counts, index=bins.starts, columns=names)


def _shares(table: pd.DataFrame) -> pd.DataFrame:
    """Row shares; periods without clicks have no share (NaN), not 0."""
    totals = table.sum(axis=1)
    return table.div(totals.where(totals > 0), axis=0)


# ---------------------------------------------------------------------------------------
# Styling (always per call, never rcParams)


def _colors(names: list[Any]) -> list[str]:
    palette = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(names))]
    return [OTHER_COLOR if n == OTHER_LABEL else c for n, c in zip(names, palette, strict=True)]


def _count_axis(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def _date_axis(ax: Axes, tz: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=tz)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))


def _time_labels(ax: Axes, clicks: _Clicks, freq: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(f"{'date' if freq == 'D' else 'time'} ({clicks.tzname})")
    ax.set_ylabel(ylabel)
    when = clicks.date_range_text()
    ax.set_title(f"{title}, {when}" if when else title)


def _no_clicks(ax: Axes) -> Axes:
    ax.text(
        0.5,
        0.5,
        "no clicks",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#666666",
        fontsize="large",
    )
    return ax


def _mark_provisional(ax: Axes, clicks: _Clicks, bins: _Bins, *, over: bool = False) -> list[Any]:
    """Shade each provisional day inside the plotted range; return the patches."""
    import pandas as pd

    days = sorted(d for d in clicks.provisional if bins.first_day <= d <= bins.last_day)
    if not days:
        return []
    local = pd.DatetimeIndex([pd.Timestamp(d) for d in days])
    starts = _local_midnights(local, clicks.tz)
    ends = _local_midnights(local + pd.Timedelta(days=1), clicks.tz)
    # Centre the span on the day's points: a daily point sits at the day's start, hourly
    # points at each hour's start.
    half = pd.Timedelta(hours=12) if bins.freq == "D" else pd.Timedelta(minutes=30)
    style = _PROVISIONAL_OVER if over else _PROVISIONAL_BEHIND
    patches = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        label = "provisional" if i == 0 else "_provisional"
        stop = start + half if bins.freq == "D" else end - half
        patch = ax.axvspan(
            (start - half).to_datetime64(), stop.to_datetime64(), label=label, **style
        )
        patch.set_gid(PROVISIONAL_GID)
        patches.append(patch)
    return patches


def _line_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Normalise aliases (``c``, ``lw``...) so user kwargs override defaults cleanly."""
    from matplotlib import cbook
    from matplotlib.lines import Line2D

    return cbook.normalize_kwargs(kwargs, Line2D)


# ---------------------------------------------------------------------------------------
# Plots


def daily(
    data: pd.DataFrame,
    *,
    by: Hashable | None = None,
    freq: str = "D",
    top: int = 8,
    dropna: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot clicks over time, one line in total or one per value of ``by``.

    Every period from the first click to the last is drawn, so a day (or hour) without
    clicks shows as 0, not as a gap. Provisional days (still collecting clicks, from
    ``data.attrs["clickkit"]``) are shaded and hatched, with a "provisional" legend entry.

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout (needs ``event_date``).
    by : str, optional
        Column to split by (``program_name``, ``device_type``, ``customer_country``...).
    freq : {"D", "h"}
        Daily or hourly counts, in the time zone of ``event_date``.
    top : int
        With ``by``: the ``top`` largest groups get a line each; the rest are summed into
        one "Other" line.
    dropna : bool
        With ``by``: leave out clicks where ``by`` is missing (default), or count them as
        "(none)".
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; ``plt.gca()`` when omitted.
    **kwargs
        Passed to every ``ax.plot`` call (``color``, ``linewidth``, ``marker``...).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidRequestError
        ``data`` has no ``event_date``, ``by`` is not a column, or ``freq`` is unknown.

    Examples
    --------
    >>> ax = daily(df)  # doctest: +SKIP
    >>> ax = daily(df, by="device_type", freq="h", top=4, linewidth=1)  # doctest: +SKIP
    """
    freq = _check_freq(freq)
    top = _check_count(top, "top")
    clicks = _prepare(data, by)
    ax = _pyplot().gca() if ax is None else ax
    unit = _UNITS[freq]
    title = f"Clicks per {unit}" + (f" by {by}" if by is not None else "")
    _time_labels(ax, clicks, freq, f"clicks per {unit}", title)
    if clicks.empty:
        return _no_clicks(ax)
    bins = _bins(clicks, freq)
    table = _counts_table(clicks, bins, by, top, dropna)
    kwargs = _line_kwargs(kwargs)
    x = table.index.to_numpy()
    colors = _colors(list(table.columns))
    for i, name in enumerate(table.columns):
        style: dict[str, Any] = {
            "color": colors[i],
            "linestyle": _LINESTYLES[(i // len(OKABE_ITO)) % len(_LINESTYLES)],
            "linewidth": 1.8,
            "label": str(name),
        }
        if freq == "D":
            style.update(marker="o", markersize=3)
        ax.plot(x, table[name].to_numpy(), **{**style, **kwargs})
    spans = _mark_provisional(ax, clicks, bins)
    _date_axis(ax, clicks.tz)
    _count_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    if by is not None or spans:
        ax.legend(title=str(by) if by is not None else None, loc="best", fontsize="small")
    return ax


def hourly_heatmap(
    data: pd.DataFrame,
    *,
    cmap: str | Colormap = "viridis",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot the mean clicks per day by weekday (rows, Mon..Sun) and hour (columns, 0-23).

    Each cell is the clicks of that weekday and hour divided by how many times that
    weekday occurs in the range covered, so unequal weeks (three Mondays, two Sundays)
    compare fairly; a weekday the range does not include is left blank, not drawn as
    zero. The range is the call's (``df.attrs["clickkit"]`` start and end) or else that of
    the clicks, and is stated in the title; the y labels give each weekday's number of
    days. Hours and weekdays are those of the account's time zone (the tz of
    ``event_date``), so the pattern does not shift by an hour across a DST change. A
    colorbar labelled "mean clicks per day" is added next to the axes
    (``ax.images[0].colorbar``).

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout (needs ``event_date``).
    cmap : str or matplotlib.colors.Colormap
        Colormap; the default ``"viridis"`` is perceptually uniform and colour-blind safe.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; ``plt.gca()`` when omitted.
    **kwargs
        Passed to ``ax.imshow`` (``vmax``, ``norm``, ``alpha``...).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = hourly_heatmap(df, cmap="cividis")  # doctest: +SKIP
    """
    import numpy as np

    clicks = _prepare(data)
    ax = _pyplot().gca() if ax is None else ax
    ax.set_xlabel(f"hour of day ({clicks.tzname})")
    first, last = _covered_range(data, clicks)
    when = "" if first is None else (f"{first}" if first == last else f"{first} to {last}")
    ax.set_title("Mean clicks per day by weekday and hour" + (f", {when}" if when else ""))
    if clicks.empty:
        ax.set_ylabel("weekday")
        return _no_clicks(ax)
    occurrences = _weekday_occurrences(first, last)
    ax.set_ylabel("weekday (days in range)")
    weekday = clicks.when.dt.day_of_week.to_numpy(dtype=np.int64)
    hour = clicks.when.dt.hour.to_numpy(dtype=np.int64)
    counts = np.bincount(weekday * 24 + hour, minlength=7 * 24).reshape(7, 24)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = counts / occurrences[:, None]
    grid = np.ma.masked_invalid(np.where(occurrences[:, None] > 0, mean, np.nan))
    style: dict[str, Any] = {"aspect": "auto", "interpolation": "nearest"}
    if "norm" not in kwargs:
        style["vmin"] = 0
    image = ax.imshow(grid, cmap=cmap, **{**style, **kwargs})
    from matplotlib.ticker import StrMethodFormatter

    ax.figure.colorbar(
        image, ax=ax, label="mean clicks per day", format=StrMethodFormatter("{x:,.1f}")
    )
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)], fontsize="small")
    ax.set_yticks(range(7), [f"{d} ({n})" for d, n in zip(_WEEKDAYS, occurrences, strict=True)])
    return ax


def _covered_range(data: pd.DataFrame, clicks: _Clicks) -> tuple[dt.date | None, dt.date | None]:
    """The days a frame covers: the call's range when it says so, else its clicks'."""
    info = data.attrs.get("clickkit") if isinstance(data.attrs, dict) else None
    if isinstance(info, dict) and info.get("start") and info.get("end"):
        try:
            return dt.date.fromisoformat(info["start"]), dt.date.fromisoformat(info["end"])
        except (TypeError, ValueError):
            pass  # malformed attrs: fall back to the clicks
    if clicks.empty:
        return None, None
    return clicks.when.min().date(), clicks.when.max().date()


def _weekday_occurrences(first: dt.date, last: dt.date) -> Any:
    """How many times each weekday (Mon..Sun) occurs from ``first`` to ``last``.

    Examples
    --------
    >>> _weekday_occurrences(dt.date(2026, 11, 2), dt.date(2026, 11, 10)).tolist()
    [2, 2, 1, 1, 1, 1, 1]
    """
    import numpy as np

    days = (last - first).days + 1
    occurrences = np.full(7, days // 7, dtype=np.int64)
    for offset in range(days % 7):
        occurrences[(first.weekday() + offset) % 7] += 1
    return occurrences


def top(
    data: pd.DataFrame,
    by: Hashable,
    *,
    n: int = 10,
    dropna: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot the ``n`` most frequent values of a column as horizontal bars, largest on top.

    Each bar is labelled with its click count. Ties are ordered by value.

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout. ``event_date`` is optional here (it
        only adds the date range to the title).
    by : str
        Any column (``sub_id1``, ``referring_domain``, ``program_name``...).
    n : int
        How many values to show.
    dropna : bool
        Leave out missing values (default), or show them as a "(none)" bar.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; ``plt.gca()`` when omitted.
    **kwargs
        Passed to ``ax.barh`` (``color``, ``height``, ``edgecolor``...).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = top(df, "sub_id1", n=15)  # doctest: +SKIP
    >>> ax = top(df, "customer_country", dropna=False, color="#009E73")  # doctest: +SKIP
    """
    import numpy as np

    n = _check_count(n, "n")
    _check_frame(data)
    _check_column(data, by)
    clicks = _prepare(data) if "event_date" in data.columns else None
    ax = _pyplot().gca() if ax is None else ax
    groups = _groups(data[by], dropna)
    shown, counts = groups.labels[:n], groups.counts[:n]
    title = f"Top {len(shown)} of {len(groups.labels):,} {by} values by clicks"
    when = clicks.date_range_text() if clicks is not None else ""
    ax.set_title(f"{title}, {when}" if when else title)
    ax.set_xlabel("clicks")
    ax.set_ylabel(str(by))
    if not shown:
        return _no_clicks(ax)
    y = np.arange(len(shown))
    bars = ax.barh(y, counts, **{"color": OKABE_ITO[0], "height": 0.7, **kwargs})
    ax.bar_label(bars, labels=[f"{c:,}" for c in counts], padding=3, fontsize="small")
    labels = [v if len(v) <= _MAX_LABEL else v[: _MAX_LABEL - 3] + "..." for v in shown]
    ax.set_yticks(y, labels)
    ax.set_ylim(len(shown) - 0.5, -0.5)  # largest on top
    ax.set_xlim(0, counts[0] * 1.12)  # room for the count labels
    _count_axis(ax.xaxis)
    return ax


def breakdown(
    data: pd.DataFrame,
    by: Hashable,
    *,
    freq: str = "D",
    top: int = 6,
    normalize: bool = True,
    dropna: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot how clicks split between the values of a column over time (stacked areas).

    With ``normalize=True`` each period's shares sum to 100%; a period without clicks has
    no share and is left blank. Layers are stacked largest group first (at the bottom),
    "Other" last; the legend sits outside the axes on the right, listed top layer first.

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout (needs ``event_date``).
    by : str
        Categorical column (``device_type``, ``program_name``, ``customer_country``...).
    freq : {"D", "h"}
        Daily or hourly periods, in the time zone of ``event_date``.
    top : int
        The ``top`` largest groups get a layer each; the rest are summed into "Other".
    normalize : bool
        Shares of clicks (default) or stacked click counts.
    dropna : bool
        Leave out clicks where ``by`` is missing (default), or count them as "(none)".
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; ``plt.gca()`` when omitted.
    **kwargs
        Passed to ``ax.stackplot`` (``colors``, ``alpha``, ``edgecolor``...).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = breakdown(df, "device_type")  # doctest: +SKIP
    >>> ax = breakdown(df, "program_name", freq="h", normalize=False)  # doctest: +SKIP
    """
    freq = _check_freq(freq)
    top = _check_count(top, "top")
    clicks = _prepare(data, by)
    ax = _pyplot().gca() if ax is None else ax
    unit = _UNITS[freq]
    ylabel = "share of clicks (%)" if normalize else f"clicks per {unit}"
    title = f"{'Share of clicks' if normalize else 'Clicks'} by {by} per {unit}"
    _time_labels(ax, clicks, freq, ylabel, title)
    if clicks.empty:
        return _no_clicks(ax)
    bins = _bins(clicks, freq)
    table = _counts_table(clicks, bins, by, top, dropna)
    values = _shares(table) if normalize else table
    names = [str(c) for c in table.columns]
    style: dict[str, Any] = {"colors": _colors(names), "labels": names, "linewidth": 0}
    ax.stackplot(table.index.to_numpy(), values.to_numpy(dtype=float).T, **{**style, **kwargs})
    _mark_provisional(ax, clicks, bins, over=True)
    _date_axis(ax, clicks.tz)
    if normalize:
        ax.set_ylim(0, 1)
        _percent_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
        _count_axis(ax.yaxis)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        title=str(by),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
    )
    return ax


def unique_share(
    data: pd.DataFrame,
    *,
    freq: str = "D",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot the share of clicks that are unique (``unique_click``) per day or hour.

    The share is taken over clicks whose ``unique_click`` is known; a period without such
    clicks has no share and is left as a gap. The y axis runs from 0% to 100%.

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout (needs ``event_date`` and
        ``unique_click``).
    freq : {"D", "h"}
        Daily or hourly periods, in the time zone of ``event_date``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; ``plt.gca()`` when omitted.
    **kwargs
        Passed to ``ax.plot`` (``color``, ``linewidth``, ``marker``...).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = unique_share(df, freq="h", color="#D55E00")  # doctest: +SKIP
    """
    import numpy as np

    freq = _check_freq(freq)
    clicks = _prepare(data, needs="unique_click")
    ax = _pyplot().gca() if ax is None else ax
    unit = _UNITS[freq]
    _time_labels(ax, clicks, freq, "unique clicks (% of clicks)", f"Unique clicks per {unit}")
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
    if clicks.empty:
        return _no_clicks(ax)
    bins = _bins(clicks, freq)
    flag = clicks.frame["unique_click"].astype("boolean")
    n = len(bins.starts)
    unique = np.bincount(bins.codes, weights=flag.fillna(False).to_numpy(bool), minlength=n)
    known = np.bincount(bins.codes, weights=flag.notna().to_numpy(bool), minlength=n)
    share = np.divide(unique, known, out=np.full(n, np.nan), where=known > 0)
    style: dict[str, Any] = {"color": OKABE_ITO[0], "linewidth": 1.8, "label": "unique share"}
    if freq == "D":
        style.update(marker="o", markersize=3)
    ax.plot(bins.starts.to_numpy(), share, **{**style, **_line_kwargs(kwargs)})
    if _mark_provisional(ax, clicks, bins):
        ax.legend(loc="best", fontsize="small")
    _date_axis(ax, clicks.tz)
    ax.set_ylim(0, 1)
    return ax
