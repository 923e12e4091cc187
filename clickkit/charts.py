"""Render the plots of :mod:`clickkit.plots` to PNG, off screen.

Each chart is drawn on its own :class:`matplotlib.figure.Figure` (never pyplot's global
figures, never ``rcParams``), so rendering is safe in scripts, servers and notebook
callbacks alike, and nothing has to be closed afterwards.

- :data:`CHARTS` names the charts the explorer widget offers;
- :func:`draw` draws one of them on given axes;
- :func:`chart_png` renders one to PNG bytes;
- :func:`write_charts` writes the main ones to a folder (used by ``clickkit demo``).

Examples
--------
>>> from clickkit.charts import write_charts
>>> paths = write_charts(df, Path("charts"))  # doctest: +SKIP
>>> [p.name for p in paths]  # doctest: +SKIP
['daily-clicks.png', 'hourly-heatmap.png', 'top-sub-ids.png', 'device-breakdown.png',
 'unique-share.png']
"""

from __future__ import annotations

import io
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickkit import plots
from clickkit._optional import import_optional
from clickkit.errors import InvalidRequestError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["CHARTS", "DEFAULT_BY", "chart_png", "draw", "write_charts"]

#: The charts, by the name shown to users.
CHARTS: tuple[str, ...] = ("daily", "hourly heatmap", "top", "breakdown", "unique share")

#: The column a chart that needs one uses when no group-by is chosen.
DEFAULT_BY: dict[str, str] = {"top": "sub_id1", "breakdown": "device_type"}

#: (file name, chart, group-by) of the files :func:`write_charts` writes.
_FILES: tuple[tuple[str, str, str | None], ...] = (
    ("daily-clicks.png", "daily", None),
    ("hourly-heatmap.png", "hourly heatmap", None),
    ("top-sub-ids.png", "top", "sub_id1"),
    ("device-breakdown.png", "breakdown", "device_type"),
    ("unique-share.png", "unique share", None),
)

_SIZE = (8.0, 4.0)
_DPI = 100


def draw(data: pd.DataFrame, chart: str, *, by: Hashable | None = None, ax: Axes) -> Axes:
    """Draw ``chart`` of ``data`` on ``ax``.

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout.
    chart : str
        One of :data:`CHARTS`.
    by : str, optional
        Group-by column. ``daily`` draws one line per group; ``top`` and ``breakdown``
        fall back to :data:`DEFAULT_BY` without one; the heatmap and the unique share
        have no groups and ignore it.
    ax : matplotlib.axes.Axes
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = draw(df, "top", by="customer_country", ax=Figure().subplots())  # doctest: +SKIP
    """
    if chart == "daily":
        return plots.daily(data, by=by, ax=ax)
    if chart == "hourly heatmap":
        return plots.hourly_heatmap(data, ax=ax)
    if chart == "top":
        return plots.top(data, by or DEFAULT_BY["top"], ax=ax)
    if chart == "breakdown":
        return plots.breakdown(data, by or DEFAULT_BY["breakdown"], ax=ax)
    if chart == "unique share":
        return plots.unique_share(data, ax=ax)
    raise InvalidRequestError(f"chart={chart!r} is not one of {', '.join(CHARTS)}.")


def _figure(size: tuple[float, float], dpi: int) -> Figure:
    figure = import_optional(
        "matplotlib.figure", feature="clickkit charts", install="pip install matplotlib"
    )
    # A bare Figure has no pyplot manager: it is freed with its last reference.
    return figure.Figure(figsize=size, dpi=dpi, layout="constrained")


def _render(
    data: pd.DataFrame,
    chart: str,
    by: Hashable | None,
    target: Any,
    size: tuple[float, float],
    dpi: int,
) -> None:
    fig = _figure(size, dpi)
    try:
        draw(data, chart, by=by, ax=fig.subplots())
        fig.savefig(target, format="png", dpi=dpi, facecolor="white")
    finally:
        fig.clear()


def chart_png(
    data: pd.DataFrame,
    chart: str,
    *,
    by: Hashable | None = None,
    size: tuple[float, float] = _SIZE,
    dpi: int = _DPI,
) -> bytes:
    """Render one chart to PNG bytes.

    Parameters
    ----------
    data : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout.
    chart : str
        One of :data:`CHARTS`.
    by : str, optional
        Group-by column (see :func:`draw`).
    size : tuple of float
        Figure size in inches.
    dpi : int
        Resolution.

    Returns
    -------
    bytes
        A PNG image.

    Examples
    --------
    >>> png = chart_png(df, "daily", by="device_type")  # doctest: +SKIP
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"  # doctest: +SKIP
    True
    """
    buffer = io.BytesIO()
    _render(data, chart, by, buffer, size, dpi)
    return buffer.getvalue()


def write_charts(
    df: pd.DataFrame, folder: Path, *, dpi: int = _DPI, size: tuple[float, float] = _SIZE
) -> list[Path]:
    """Write the main charts of ``df`` as PNG files into ``folder`` (created if needed).

    The charts are daily clicks, the weekday x hour heatmap, the top sub ids, the device
    breakdown over time and the unique-click share. Existing files of the same names are
    replaced.

    Parameters
    ----------
    df : pandas.DataFrame
        Clicks in the :mod:`clickkit.schema` layout, e.g. from ``Client.clicks()``.
    folder : pathlib.Path
        Where to write.
    dpi : int
        Resolution.
    size : tuple of float
        Figure size in inches.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order above.

    Examples
    --------
    >>> paths = write_charts(client.clicks("2026-10-01", "2026-10-07"), Path("charts"))
    ... # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, chart, by in _FILES:
        path = folder / name
        _render(df, chart, by, path, size, dpi)
        paths.append(path)
    return paths
