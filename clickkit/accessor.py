"""The ``df.clicks`` pandas accessor: the plots of :mod:`clickkit.plots` as DataFrame methods.

Registration is explicit (:func:`register`) and cheap: it imports pandas but not
matplotlib, which loads only when a plot is drawn.

Examples
--------
>>> import clickkit.accessor
>>> clickkit.accessor.register()
>>> ax = df.clicks.daily(by="device_type")  # doctest: +SKIP
>>> ax = df.clicks.top("sub_id1", n=15)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from clickkit import plots

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap

__all__ = ["ACCESSOR_NAME", "ClicksAccessor", "register"]

#: The attribute name under which the accessor is registered on ``pandas.DataFrame``.
ACCESSOR_NAME = "clicks"


class ClicksAccessor:
    """Plot a click DataFrame: ``df.clicks.daily()``, ``.top("sub_id1")``...

    Each method forwards to the function of the same name in :mod:`clickkit.plots`
    with the DataFrame as ``data``; see those functions for the parameters.

    Parameters
    ----------
    data : pandas.DataFrame
        The frame the accessor was reached from.

    Examples
    --------
    >>> ax = df.clicks.hourly_heatmap(cmap="cividis")  # doctest: +SKIP
    """

    def __init__(self, data: pd.DataFrame) -> None:
        self._data = data

    def daily(
        self,
        *,
        by: Hashable | None = None,
        freq: str = "D",
        top: int = 8,
        dropna: bool = True,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> Axes:
        """Clicks over time; see :func:`clickkit.plots.daily`."""
        return plots.daily(self._data, by=by, freq=freq, top=top, dropna=dropna, ax=ax, **kwargs)

    def hourly_heatmap(
        self, *, cmap: str | Colormap = "viridis", ax: Axes | None = None, **kwargs: Any
    ) -> Axes:
        """Clicks by weekday and hour; see :func:`clickkit.plots.hourly_heatmap`."""
        return plots.hourly_heatmap(self._data, cmap=cmap, ax=ax, **kwargs)

    def top(
        self,
        by: Hashable,
        *,
        n: int = 10,
        dropna: bool = True,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> Axes:
        """The most frequent values of a column; see :func:`clickkit.plots.top`."""
        return plots.top(self._data, by, n=n, dropna=dropna, ax=ax, **kwargs)

    def breakdown(
        self,
        by: Hashable,
        *,
        freq: str = "D",
        top: int = 6,
        normalize: bool = True,
        dropna: bool = True,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> Axes:
        """Each group's share of clicks over time; see :func:`clickkit.plots.breakdown`."""
        return plots.breakdown(
            self._data,
            by,
            freq=freq,
            top=top,
            normalize=normalize,
            dropna=dropna,
            ax=ax,
            **kwargs,
        )

    def unique_share(self, *, freq: str = "D", ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Share of unique clicks over time; see :func:`clickkit.plots.unique_share`."""
        return plots.unique_share(self._data, freq=freq, ax=ax, **kwargs)


def register() -> None:
    """Register ``df.clicks`` on ``pandas.DataFrame`` (safe to call more than once).

    Examples
    --------
    >>> register()
    >>> import pandas as pd
    >>> hasattr(pd.DataFrame, "clicks")
    True
    """
    import pandas as pd

    # Re-registering would make pandas warn about overriding an existing attribute.
    if getattr(pd.DataFrame, ACCESSOR_NAME, None) is ClicksAccessor:
        return
    pd.api.extensions.register_dataframe_accessor(ACCESSOR_NAME)(ClicksAccessor)
