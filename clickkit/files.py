"""Atomic file writes: write a temporary file beside the target, then rename it into place.

A reader (or a process that starts after a crash) sees either the old file or the whole
new one, never half of it; temporary names start with a dot and are never read.

Examples
--------
>>> from pathlib import Path
>>> atomic_write(Path(tmp) / "a.txt", lambda p: Path(p).write_text("hi"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def atomic_write(
    path: Path, write: Callable[[str], T], *, suffix: str = ".tmp", fsync: bool = True
) -> T:
    """Call ``write(tmp_path)``, flush it to disk and rename it over ``path``.

    Returns what ``write`` returned. On any exception (including KeyboardInterrupt) the
    temporary file is removed and ``path`` is left as it was. ``write`` may replace the
    (empty, owner-only) temporary file, for example by a hard link; ``fsync=False``
    leaves flushing to ``write``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        result = write(tmp)
        if fsync:
            fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return result


def fsync_file(path: str) -> None:
    """Flush the file at ``path`` to disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())
