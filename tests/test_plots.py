"""Tests of clickkit.plots and the df.clicks accessor: what is drawn, not only that it runs.

Frames are built the way real ones are: CSV text with the export's PascalCase headers,
parsed by clickkit.schema. Expected values are computed by hand from the generated click
times with ``zoneinfo``, independently of pandas' time-zone code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from clickkit import accessor, plots, schema
from clickkit.errors import InvalidRequestError, MissingDependency

NY = "America/New_York"
UTC = dt.UTC

SUB_IDS = [f"sub-{i:02d}" for i in range(12)]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "AU", ""]
PROGRAMS = {101: "Acme Shoes", 102: "Acme Hats", 103: "Acme Socks"}
DEVICES = ["DESKTOP", "PHONE", "TABLET", "GAME", "TV"]


@dataclass
class Sample:
    """A parsed frame plus the raw generated values the expectations are computed from."""

    df: pd.DataFrame
    local: list[dt.datetime]  # each click's time in the account's zone (zoneinfo)
    raw: dict[str, list[str]]  # CSV text per export field, "" for missing


def make_sample(
    start: str,
    end: str,
    *,
    n: int = 3000,
    tz: str = NY,
    seed: int = 7,
    skip_days: tuple[str, ...] = (),
) -> Sample:
    """Random clicks between local midnight of ``start`` and the end of ``end``."""
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(tz)
    t0 = dt.datetime.fromisoformat(start).replace(tzinfo=zone)
    t1 = dt.datetime.fromisoformat(end).replace(tzinfo=zone) + dt.timedelta(days=1)
    epochs = np.sort(rng.integers(int(t0.timestamp()), int(t1.timestamp()), n))
    local = [dt.datetime.fromtimestamp(int(e), zone) for e in epochs]
    skipped = {dt.date.fromisoformat(d) for d in skip_days}
    local = [t for t in local if t.date() not in skipped]
    m = len(local)

    def pick(values: list, weights: list[float] | None = None) -> list:
        p = None if weights is None else np.asarray(weights) / np.sum(weights)
        return [values[i] for i in rng.choice(len(values), size=m, p=p)]

    program_ids = pick(list(PROGRAMS), [5, 3, 1])
    raw: dict[str, list[str]] = {c.source: [""] * m for c in schema.COLUMNS}
    raw["Id"] = [f"c{i:06d}" for i in range(m)]
    raw["EventDate"] = [t.isoformat() for t in local]  # local offset, as in real exports
    raw["ProgramId"] = [str(p) for p in program_ids]
    raw["ProgramName"] = [PROGRAMS[p] for p in program_ids]
    raw["DeviceType"] = pick(DEVICES, [40, 30, 15, 10, 5])
    raw["CustomerCountry"] = pick(COUNTRIES, [30, 20, 15, 10, 8, 5, 12])
    raw["SubId1"] = pick([*SUB_IDS, ""], [2.0**-i for i in range(len(SUB_IDS))] + [0.3])
    raw["UniqueClick"] = pick(["true", "false", ""], [6, 3, 1])
    raw["Payout"] = [f"{v:.2f}" for v in rng.uniform(0, 1, m)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(raw)
    writer.writerows(zip(*raw.values(), strict=True))
    df = schema.to_pandas(schema.parse_export(buffer.getvalue().encode()), tz)
    return Sample(df, local, raw)


def with_days(df: pd.DataFrame, provisional: list[str], final: list[str]) -> pd.DataFrame:
    """The frame with client-style provenance in ``attrs``."""
    out = df.copy()
    days = [{"date": d, "final": True, "source": "cache", "rows": 1} for d in final]
    days += [{"date": d, "final": False, "source": "export", "rows": 1} for d in provisional]
    out.attrs["clickkit"] = {"account_sid": "IRtest", "timezone": NY, "days": days}
    return out


def local_midnight(day: dt.date, tz: str = NY) -> float:
    """matplotlib date number of the instant a local day starts."""
    return mdates.date2num(dt.datetime.combine(day, dt.time(), ZoneInfo(tz)))


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def provisional_patches(ax) -> list:
    return [p for p in ax.patches if p.get_gid() == plots.PROVISIONAL_GID]


def layer_edges(poly) -> dict[float, tuple[float, float]]:
    """x -> (bottom, top) of one stackplot layer, read from its polygon vertices."""
    edges: dict[float, tuple[float, float]] = {}
    for path in poly.get_paths():
        for x, y in path.vertices:
            lo, hi = edges.get(x, (y, y))
            edges[x] = (min(lo, y), max(hi, y))
    return edges


@pytest.fixture(scope="module")
def sample() -> Sample:
    # Ten days in New York with two days without clicks in the middle.
    return make_sample("2026-10-01", "2026-10-10", skip_days=("2026-10-04", "2026-10-05"))


@pytest.fixture(scope="module")
def dst_sample() -> Sample:
    # Crosses the end of DST in New York (2026-11-01, 02:00 EDT -> 01:00 EST).
    return make_sample("2026-10-26", "2026-11-08", n=4000, seed=11)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


ALL_PLOTS = {
    "daily": lambda df, **kw: plots.daily(df, **kw),
    "daily_by": lambda df, **kw: plots.daily(df, by="device_type", **kw),
    "hourly_heatmap": lambda df, **kw: plots.hourly_heatmap(df, **kw),
    "top": lambda df, **kw: plots.top(df, "sub_id1", **kw),
    "breakdown": lambda df, **kw: plots.breakdown(df, "device_type", **kw),
    "unique_share": lambda df, **kw: plots.unique_share(df, **kw),
}


# ---------------------------------------------------------------------------------------
# daily


def test_daily_line_is_the_per_day_count_with_zero_days(sample: Sample) -> None:
    ax = plots.daily(sample.df)
    (line,) = ax.get_lines()
    days = days_between(dt.date(2026, 10, 1), dt.date(2026, 10, 10))
    per_day = Counter(t.date() for t in sample.local)
    assert list(line.get_ydata()) == [per_day[d] for d in days]
    assert per_day[dt.date(2026, 10, 4)] == 0 and line.get_ydata()[3] == 0  # not a gap
    np.testing.assert_allclose(mdates.date2num(line.get_xdata()), [local_midnight(d) for d in days])
    assert ax.get_ylabel() == "clicks per day"
    assert ax.get_xlabel() == f"date ({NY})"
    assert ax.get_title() == "Clicks per day, 2026-10-01 to 2026-10-10"
    assert isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator)
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert ax.yaxis.get_major_formatter()(12345) == "12,345"
    assert ax.get_legend() is None  # one line and nothing provisional: no legend needed


def test_daily_hourly_counts_each_real_hour_across_dst(dst_sample: Sample) -> None:
    ax = plots.daily(dst_sample.df, freq="h")
    (line,) = ax.get_lines()
    # Key each click by the instant its local hour began: the repeated 01:00 hour on
    # 2026-11-01 is two different hours.
    per_hour = Counter(t.replace(minute=0, second=0).timestamp() for t in dst_sample.local)
    first, last = min(per_hour), max(per_hour)
    hours = np.arange(first, last + 1, 3600.0)
    expected = [per_hour.get(h, 0) for h in hours]
    assert list(line.get_ydata()) == expected
    x = mdates.date2num(line.get_xdata())
    np.testing.assert_allclose(
        x, mdates.date2num([dt.datetime.fromtimestamp(h, UTC) for h in hours])
    )
    assert sum(line.get_ydata()) == len(dst_sample.local)
    # The day DST ends has 25 hourly points.
    local_days = Counter(mdates.num2date(v, tz=ZoneInfo(NY)).date() for v in x)
    assert local_days[dt.date(2026, 11, 1)] == 25
    assert ax.get_ylabel() == "clicks per hour"
    assert ax.get_xlabel() == f"time ({NY})"


def test_daily_by_draws_one_line_per_top_group_plus_other(sample: Sample) -> None:
    ax = plots.daily(sample.df, by="sub_id1", top=3)
    lines = ax.get_lines()
    present = [(t.date(), s) for t, s in zip(sample.local, sample.raw["SubId1"], strict=True) if s]
    totals = Counter(s for _, s in present)
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    assert [line.get_label() for line in lines] == [*ranked[:3], "Other"]
    days = days_between(dt.date(2026, 10, 1), dt.date(2026, 10, 10))
    per_day = Counter(present)
    for line, group in zip(lines, ranked[:3], strict=False):
        assert list(line.get_ydata()) == [per_day[(d, group)] for d in days]
    other = [sum(per_day[(d, g)] for g in ranked[3:]) for d in days]
    assert list(lines[3].get_ydata()) == other
    assert lines[3].get_color() == plots.OTHER_COLOR
    # Okabe-Ito colours, one per group.
    assert [line.get_color() for line in lines[:3]] == list(plots.OKABE_ITO[:3])
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "sub_id1"
    assert [t.get_text() for t in legend.get_texts()] == [*ranked[:3], "Other"]
    assert ax.get_title() == "Clicks per day by sub_id1, 2026-10-01 to 2026-10-10"


def test_daily_by_small_column_has_no_other_and_dropna_false_adds_none(sample: Sample) -> None:
    ax = plots.daily(sample.df, by="program_name")
    assert sorted(line.get_label() for line in ax.get_lines()) == sorted(PROGRAMS.values())
    ax = plots.daily(sample.df, by="sub_id1", top=20, dropna=False, ax=plt.figure().gca())
    labels = [line.get_label() for line in ax.get_lines()]
    assert "(none)" in labels and "Other" not in labels
    total = sum(sum(line.get_ydata()) for line in ax.get_lines())
    assert total == len(sample.local)  # every click is on exactly one line


def test_provisional_spans_exist_exactly_for_provisional_days(sample: Sample) -> None:
    # 10-12 is provisional but outside the plotted range; 10-01..10-08 are final.
    df = with_days(
        sample.df,
        provisional=["2026-10-09", "2026-10-10", "2026-10-12"],
        final=[f"2026-10-{d:02d}" for d in range(1, 9)],
    )
    ax = plots.daily(df)
    spans = provisional_patches(ax)
    assert len(spans) == 2
    for span, day in zip(spans, [dt.date(2026, 10, 9), dt.date(2026, 10, 10)], strict=True):
        left, right = span.get_x(), span.get_x() + span.get_width()
        assert left < local_midnight(day) < right  # the day's point is inside
        before = local_midnight(day - dt.timedelta(days=1))
        assert not left < before < right  # the previous (final) day's point is not
        assert span.get_hatch() == "//"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts.count("provisional") == 1
    # Without provenance nothing is provisional.
    ax = plots.daily(sample.df, ax=plt.figure().gca())
    assert provisional_patches(ax) == []


def test_provisional_span_covers_the_days_hours(sample: Sample) -> None:
    df = with_days(sample.df, provisional=["2026-10-10"], final=[])
    ax = plots.daily(df, freq="h")
    (span,) = provisional_patches(ax)
    (line,) = ax.get_lines()
    x = mdates.date2num(line.get_xdata())
    inside = x[(x > span.get_x()) & (x < span.get_x() + span.get_width())]
    day = dt.date(2026, 10, 10)
    hours = {mdates.num2date(v, tz=ZoneInfo(NY)).date() for v in inside}
    assert hours == {day} and len(inside) == 24
    assert {"provisional"} <= {t.get_text() for t in ax.get_legend().get_texts()}


def test_provisional_days_marked_in_breakdown_and_unique_share(sample: Sample) -> None:
    df = with_days(sample.df, provisional=["2026-10-10"], final=[])
    assert len(provisional_patches(plots.breakdown(df, "device_type"))) == 1
    assert len(provisional_patches(plots.unique_share(df, ax=plt.figure().gca()))) == 1


# ---------------------------------------------------------------------------------------
# hourly_heatmap


def test_heatmap_is_the_weekday_hour_mean_per_day_in_the_account_zone(dst_sample: Sample) -> None:
    ax = plots.hourly_heatmap(dst_sample.df)
    (image,) = ax.get_images()
    counts = np.zeros((7, 24), dtype=int)
    for t in dst_sample.local:
        counts[t.weekday(), t.hour] += 1
    # 2026-10-26 (a Monday) to 2026-11-08 (a Sunday): every weekday occurs twice.
    np.testing.assert_allclose(image.get_array(), counts / 2)
    # The same clicks binned in UTC differ: the plot really uses New York hours.
    in_utc = np.zeros((7, 24), dtype=int)
    for t in dst_sample.local:
        u = t.astimezone(UTC)
        in_utc[u.weekday(), u.hour] += 1
    assert not np.array_equal(counts, in_utc)
    assert image.colorbar is not None
    assert image.colorbar.ax.get_ylabel() == "mean clicks per day"
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{d} (2)" for d in plots._WEEKDAYS]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{h:02d}" for h in range(24)]
    assert ax.get_xlabel() == f"hour of day ({NY})"
    assert ax.get_title() == "Mean clicks per day by weekday and hour, 2026-10-26 to 2026-11-08"


def test_heatmap_over_unequal_weeks_averages_and_leaves_missing_weekdays_blank() -> None:
    # Three days, Wednesday to Friday: four weekdays have no day at all in the range.
    three = make_sample("2026-10-07", "2026-10-09", n=600, seed=3)
    ax = plots.hourly_heatmap(three.df)
    grid = ax.get_images()[0].get_array()
    assert grid.mask[[0, 1, 5, 6]].all() and not grid.mask[[2, 3, 4]].any()  # blank, not 0
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Mon (0)", "Tue (0)", "Wed (1)", "Thu (1)", "Fri (1)", "Sat (0)", "Sun (0)"]
    assert ax.get_title().endswith("2026-10-07 to 2026-10-09")
    # The range of the call, when the frame says it, decides the weekdays counted.
    df = three.df.copy()
    df.attrs["clickkit"] = {"start": "2026-10-05", "end": "2026-10-18", "days": []}
    ax = plots.hourly_heatmap(df, ax=plt.figure().gca())
    grid = ax.get_images()[0].get_array()
    assert not grid.mask.any()  # two of every weekday in the range: Mon/Tue are 0, not blank
    assert grid[2].sum() == pytest.approx((three.df["event_date"].dt.day_of_week == 2).sum() / 2)


def test_heatmap_cmap_and_kwargs(sample: Sample) -> None:
    ax = plots.hourly_heatmap(sample.df, cmap="cividis", vmax=5, alpha=0.5)
    (image,) = ax.get_images()
    assert image.get_cmap().name == "cividis"
    assert image.get_clim() == (0, 5)
    assert image.get_alpha() == 0.5


# ---------------------------------------------------------------------------------------
# top


def test_top_bars_match_value_counts(sample: Sample) -> None:
    ax = plots.top(sample.df, "sub_id1", n=5)
    counts = sample.df["sub_id1"].value_counts()
    distinct = len(counts)
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))].head(5)
    bars = ax.patches
    assert [b.get_width() for b in bars] == counts.tolist()
    assert [t.get_text() for t in ax.get_yticklabels()] == counts.index.tolist()
    # Largest on top: the first bar is drawn highest on screen.
    tops = [ax.transData.transform((0, b.get_y() + b.get_height() / 2))[1] for b in bars]
    assert tops == sorted(tops, reverse=True)
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"{c:,}" for c in counts]
    assert ax.get_xlabel() == "clicks" and ax.get_ylabel() == "sub_id1"
    title = f"Top 5 of {distinct} sub_id1 values by clicks, 2026-10-01 to 2026-10-10"
    assert ax.get_title() == title
    assert ax.xaxis.get_major_formatter()(1234) == "1,234"


def test_top_shows_missing_values_only_when_asked(sample: Sample) -> None:
    ax = plots.top(sample.df, "customer_country", n=10)
    assert "(none)" not in [t.get_text() for t in ax.get_yticklabels()]
    ax = plots.top(sample.df, "customer_country", n=10, dropna=False, ax=plt.figure().gca())
    names = [t.get_text() for t in ax.get_yticklabels()]
    widths = dict(zip(names, [b.get_width() for b in ax.patches], strict=True))
    assert widths["(none)"] == sample.raw["CustomerCountry"].count("")


def test_top_works_on_categories_and_kwargs_reach_barh(sample: Sample) -> None:
    ax = plots.top(sample.df, "device_type", color="#D55E00", height=0.5)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(names) == sorted(DEVICES)  # unused categories are not drawn
    assert all(b.get_height() == 0.5 for b in ax.patches)
    assert matplotlib.colors.to_hex(ax.patches[0].get_facecolor()) == "#d55e00"


# ---------------------------------------------------------------------------------------
# breakdown and unique_share


def test_breakdown_shares_sum_to_one_per_day(sample: Sample) -> None:
    ax = plots.breakdown(sample.df, "device_type", top=3)
    layers = ax.collections
    assert [p.get_label() for p in layers] == ["DESKTOP", "PHONE", "TABLET", "Other"]
    per_day = Counter(
        (t.date(), d) for t, d in zip(sample.local, sample.raw["DeviceType"], strict=True)
    )
    totals = Counter(t.date() for t in sample.local)
    edges = [layer_edges(p) for p in layers]
    for day in days_between(dt.date(2026, 10, 1), dt.date(2026, 10, 10)):
        x = local_midnight(day)
        if totals[day] == 0:
            assert all(x not in e for e in edges)  # no share for a day without clicks
            continue
        expected = [per_day[(day, d)] / totals[day] for d in ("DESKTOP", "PHONE", "TABLET")]
        expected.append(1 - sum(expected))
        shares = [e[x][1] - e[x][0] for e in edges]
        np.testing.assert_allclose(shares, expected)
        assert edges[-1][x][1] == pytest.approx(1.0)
    assert ax.get_ylim() == (0, 1)
    assert ax.yaxis.get_major_formatter()(0.25) == "25%"
    assert ax.get_ylabel() == "share of clicks (%)"
    assert ax.get_title() == "Share of clicks by device_type per day, 2026-10-01 to 2026-10-10"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Other", "TABLET", "PHONE", "DESKTOP"]  # top layer first


def test_breakdown_counts_stack_to_the_daily_total(sample: Sample) -> None:
    ax = plots.breakdown(sample.df, "program_name", normalize=False, alpha=0.6)
    totals = Counter(t.date() for t in sample.local)
    top_edge = layer_edges(ax.collections[-1])
    for day in days_between(dt.date(2026, 10, 1), dt.date(2026, 10, 10)):
        assert top_edge[local_midnight(day)][1] == totals[day]
    assert all(p.get_alpha() == 0.6 for p in ax.collections)
    assert ax.get_ylabel() == "clicks per day"


def test_unique_share_values(sample: Sample) -> None:
    ax = plots.unique_share(sample.df)
    (line,) = ax.get_lines()
    unique, known = Counter(), Counter()
    for t, flag in zip(sample.local, sample.raw["UniqueClick"], strict=True):
        if flag:
            known[t.date()] += 1
            unique[t.date()] += flag == "true"
    days = days_between(dt.date(2026, 10, 1), dt.date(2026, 10, 10))
    expected = [unique[d] / known[d] if known[d] else np.nan for d in days]
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert np.isnan(line.get_ydata()[3])  # no clicks that day: a gap, not 0%
    assert ax.get_ylim() == (0, 1)
    assert ax.yaxis.get_major_formatter()(1.0) == "100%"
    assert ax.get_ylabel() == "unique clicks (% of clicks)"
    assert ax.get_title() == "Unique clicks per day, 2026-10-01 to 2026-10-10"


# ---------------------------------------------------------------------------------------
# Conventions shared by every function


@pytest.mark.parametrize("name", ALL_PLOTS)
def test_ax_is_honoured_and_gca_used_otherwise(sample: Sample, name: str) -> None:
    _, (left, right) = plt.subplots(1, 2)
    assert ALL_PLOTS[name](sample.df, ax=left) is left
    assert not right.has_data() and right.get_title() == ""
    assert left.has_data()
    plt.figure()
    current = plt.gca()
    assert ALL_PLOTS[name](sample.df) is current


@pytest.mark.parametrize("name", ALL_PLOTS)
def test_rcparams_are_unchanged(sample: Sample, name: str) -> None:
    df = with_days(sample.df, provisional=["2026-10-10"], final=[])
    before = dict(matplotlib.rcParams)
    ALL_PLOTS[name](df)
    assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize("name", ALL_PLOTS)
def test_empty_frame_draws_a_no_clicks_note(name: str) -> None:
    ax = ALL_PLOTS[name](schema.empty_frame(NY))
    assert "no clicks" in [t.get_text() for t in ax.texts]
    assert not ax.get_lines() and not ax.get_images()
    assert ax.get_title()


def test_kwargs_reach_the_line_calls(sample: Sample) -> None:
    ax = plots.daily(sample.df, color="red", linewidth=3)
    (line,) = ax.get_lines()
    assert line.get_color() == "red" and line.get_linewidth() == 3
    ax = plots.daily(sample.df, by="program_name", lw=0.5, ax=plt.figure().gca())  # alias
    assert {line.get_linewidth() for line in ax.get_lines()} == {0.5}
    ax = plots.unique_share(sample.df, c="black", linestyle="--", ax=plt.figure().gca())
    (line,) = ax.get_lines()
    assert line.get_color() == "black" and line.get_linestyle() == "--"


def test_time_axes_use_the_account_zone(sample: Sample) -> None:
    ax = plots.daily(sample.df)
    assert str(ax.xaxis.get_major_locator().tz) == NY
    # Local midnights are whole days on the axis (in UTC they would read "04:00").
    ticks = [local_midnight(dt.date(2026, 10, d)) for d in (5, 6, 7)]
    labels = ax.xaxis.get_major_formatter().format_ticks(ticks)
    assert labels[1:] == ["06", "07"], labels


# ---------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda df: plots.daily(df, by="subid_1"), "Did you mean 'sub_id1'"),
        (lambda df: plots.top(df, "nope"), "by='nope' is not a column"),
        (lambda df: plots.breakdown(df, "devicetype"), "Did you mean 'device_type'"),
        (lambda df: plots.daily(df, freq="W"), "freq='D'"),
        (lambda df: plots.breakdown(df, "device_type", freq="month"), "freq='h'"),
        (lambda df: plots.daily(df.drop(columns="event_date")), "no 'event_date' column"),
        (lambda df: plots.hourly_heatmap(df.drop(columns="event_date")), "event_date"),
        (lambda df: plots.unique_share(df.drop(columns="unique_click")), "'unique_click'"),
        (lambda df: plots.daily(df.assign(event_date="x")), "must hold datetimes"),
        (lambda df: plots.top(df, "sub_id1", n=0), "positive integer"),
        (lambda df: plots.daily(df, top=0), "positive integer"),
        (lambda df: plots.daily(df.to_dict()), "pandas DataFrame"),
    ],
)
def test_bad_arguments_raise_invalid_request(sample: Sample, call, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        call(sample.df)


def test_missing_matplotlib_names_the_install(
    sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependency, match="pip install matplotlib"):
        plots.daily(sample.df)


# ---------------------------------------------------------------------------------------
# Accessor


def test_accessor_forwards_to_the_plot_functions(
    sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    accessor.register()
    accessor.register()  # idempotent
    calls = []
    for name in ("daily", "hourly_heatmap", "top", "breakdown", "unique_share"):
        monkeypatch.setattr(plots, name, lambda *a, _n=name, **k: calls.append((_n, a, k)) or _n)
    df = sample.df
    ax = object()
    assert df.clicks.daily(by="device_type", freq="h", ax=ax, color="red") == "daily"
    assert df.clicks.hourly_heatmap(cmap="magma") == "hourly_heatmap"
    assert df.clicks.top("sub_id1", n=3) == "top"
    assert df.clicks.breakdown("os", normalize=False) == "breakdown"
    assert df.clicks.unique_share(freq="h") == "unique_share"
    assert all(args[0] is df for _, args, _ in calls)
    by_name = {n: (a, k) for n, a, k in calls}
    assert by_name["daily"][1] == {
        "by": "device_type", "freq": "h", "top": 8, "dropna": True, "ax": ax, "color": "red"
    }  # fmt: skip
    assert by_name["top"][0][1] == "sub_id1" and by_name["top"][1]["n"] == 3
    assert by_name["breakdown"][0][1] == "os" and by_name["breakdown"][1]["normalize"] is False
    assert by_name["hourly_heatmap"][1]["cmap"] == "magma"
    assert by_name["unique_share"][1]["freq"] == "h"


def test_accessor_draws_the_same_plot(sample: Sample) -> None:
    accessor.register()
    ax = sample.df.clicks.daily(by="program_name")
    direct = plots.daily(sample.df, by="program_name", ax=plt.figure().gca())
    assert [list(a.get_ydata()) for a in ax.get_lines()] == [
        list(b.get_ydata()) for b in direct.get_lines()
    ]


def test_importing_and_registering_does_not_import_matplotlib() -> None:
    code = (
        "import sys, clickkit.plots, clickkit.accessor\n"
        "clickkit.accessor.register()\n"
        "import pandas as pd\n"
        "assert pd.DataFrame.clicks is clickkit.accessor.ClicksAccessor\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
