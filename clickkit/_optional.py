"""One way to import an optional dependency, with one message when it is missing.

``import clickkit`` never needs the optional parts (matplotlib, ipywidgets, Dask,
boto3); a feature imports its library when it is used, through :func:`import_optional`,
so every missing install reads the same way and names the command that fixes it.

Examples
--------
>>> import_optional("json", feature="the test", install="pip install json").__name__
'json'
>>> import_optional("no_such_module", feature="x", install="pip install y")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
clickkit.errors.MissingDependency: x needs no_such_module, which is not installed. Install ...
"""

from __future__ import annotations

import importlib
from types import ModuleType

from clickkit.errors import MissingDependency

__all__ = ["import_optional"]


def import_optional(name: str, *, feature: str, install: str, hint: str = "") -> ModuleType:
    """Import and return module ``name``, or raise :class:`~clickkit.MissingDependency`.

    Parameters
    ----------
    name : str
        The module, dotted names included (``"matplotlib.pyplot"``).
    feature : str
        What needs it, as the message's subject (``"clickkit.plots"``).
    install : str
        The command that installs it (``'pip install "clickkit[dask]"'``).
    hint : str
        Appended to the message (another way to go without it).
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        package = name.partition(".")[0]
        message = f"{feature} needs {package}, which is not installed. Install it with `{install}`."
        raise MissingDependency(f"{message} {hint}".rstrip()) from exc
