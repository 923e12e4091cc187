"""What the columnar JSON and XML readers share: threads, pooled arrays, scans, empty markers.

- A document's parts on two threads (:func:`_in_two`) or on Arrow's CPU threads
  (:func:`_in_parallel`): NumPy and Arrow let go of the GIL in the large steps.
- Large temporary arrays in Arrow's memory pool (:func:`_empty`, :func:`_tiled`), which
  keeps its pages for the next document.
- The positions of one byte in a body (:func:`_positions`), a large body's halves on two
  threads.
- The export's empty markers as null in Arrow string arrays (:func:`_blank_to_null`,
  :func:`_markers_by_length`).

Examples
--------
>>> _positions(b"<a><b/></a>", 0, 11, 0x3C).tolist()
[0, 3, 7]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


#: Documents above this size are read in parts (XML bodies: two halves), on two threads.
_SPLIT_BYTES = 1 << 20

#: Bytes scanned at a time (its positions fit NumPy's small, reused allocations), and
#: tag bytes compared at a time.
_SCAN = 1 << 18
_COMPARE = 1 << 20

#: Text read as null, as in CSV (:func:`_markers_by_length` knows them by their lengths).
_NULL_VALUES = ["", "n/a", "N/A"]


def _in_two(work: Callable[..., Any], first: tuple, second: tuple | None) -> list[Any]:
    """``work(*first)`` here and ``work(*second)`` on a second thread (or not, if None).

    NumPy and Arrow let go of the GIL in the large steps, so two parts of a document
    take about half the time when a second core is free.
    """
    import concurrent.futures

    if second is None:
        return [work(*first)]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        later = pool.submit(work, *second)
        return [work(*first), later.result()]


def _in_parallel(work: Callable[..., Any], calls: list[tuple]) -> list[Any]:
    """``work(*call)`` for each call, on as many threads as Arrow uses (in order)."""
    import concurrent.futures

    import pyarrow as pa

    if len(calls) == 1:
        return [work(*calls[0])]
    with concurrent.futures.ThreadPoolExecutor(min(len(calls), pa.cpu_count())) as pool:
        return list(pool.map(lambda call: work(*call), calls))


def _empty(shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised NumPy array in Arrow's memory pool.

    The pool keeps freed pages for the next document, while NumPy's allocator gives
    large blocks back to the system and then pays a page fault per 4 KiB to have them
    again: for a 13 MB document, half of the reader's time (measured).
    """
    import numpy as np
    import pyarrow as pa

    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    buffer = pa.allocate_buffer(max(count, 1) * dtype.itemsize)
    return np.frombuffer(buffer, dtype, count).reshape(shape)


def _tiled(pattern: np.ndarray, times: int) -> np.ndarray:
    """``np.tile(pattern, times)`` in Arrow's memory pool."""
    out = _empty((times, len(pattern)), pattern.dtype)
    out[:] = pattern
    return out.ravel()


def _scan(data: bytes, lo: int, hi: int, byte: int) -> list[np.ndarray]:
    """Where ``byte`` occurs in ``data[lo:hi]``: int32 positions, a block at a time."""
    import numpy as np

    raw = np.frombuffer(data, np.uint8)
    hits = np.empty(min(_SCAN, hi - lo), bool)
    found = []
    for start in range(lo, hi, _SCAN):
        part = raw[start : min(start + _SCAN, hi)]
        np.equal(part, byte, out=hits[: len(part)])
        at = np.flatnonzero(hits[: len(part)]).astype(np.int32)
        at += start
        found.append(at)
    return found


def _positions(data: bytes, lo: int, hi: int, byte: int) -> np.ndarray:
    """Where ``byte`` occurs in ``data[lo:hi]``, the halves of a large body on two threads."""
    import numpy as np

    if hi - lo < _SPLIT_BYTES:
        found = _scan(data, lo, hi, byte)
    else:
        mid = (lo + hi) // 2
        first, second = _in_two(_scan, (data, lo, mid, byte), (data, mid, hi, byte))
        found = first + second
    at = _empty(sum(len(f) for f in found), np.int32)
    if found:
        np.concatenate(found, out=at)
    return at


def _blank_to_null(array: pa.Array) -> pa.Array:
    """Text with the export's empty markers as null; numbers as their text (as JSON does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(array.type):
        array = pc.cast(array, pa.string())
    if pa.types.is_string(array.type):
        marked = _markers_by_length(array)
        if marked is not None:
            return marked
        blank = pc.is_in(array, pa.array(_NULL_VALUES))
        return pc.if_else(blank, pa.scalar(None, pa.string()), array)
    return array


def _markers_by_length(array: pa.StringArray) -> pa.StringArray | None:
    """``array`` with :data:`_NULL_VALUES` as null, found by their lengths (None: not here).

    ``""`` is the value of length 0, ``"n/a"`` and ``"N/A"`` the values of length 3
    with those bytes: a few NumPy passes over the offsets instead of a hash of every
    value (five times faster). The values stay in place, hidden by the validity bitmap.
    Arrays with nulls or an offset are left to the general path.

    Examples
    --------
    >>> import pyarrow as pa
    >>> _markers_by_length(pa.array(["a", "", "n/a", "N/A", "n/b", "abc"])).to_pylist()
    ['a', None, None, None, 'n/b', 'abc']
    """
    import numpy as np
    import pyarrow as pa

    if array.offset or array.null_count or not len(array):
        return None
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, len(array) + 1)
    lengths = offsets[1:] - offsets[:-1]
    keep = lengths != 0
    three = np.flatnonzero(lengths == 3)
    if len(three):
        text = np.frombuffer(data_buffer, np.uint8)
        at = offsets[three]
        slash = text[at + 1] == ord("/")
        at, three = at[slash], three[slash]
        first, last = text[at], text[at + 2]
        lower = (first == ord("n")) & (last == ord("a"))
        upper = (first == ord("N")) & (last == ord("A"))
        keep[three[lower | upper]] = False
    kept = int(np.count_nonzero(keep))
    if kept == len(array):
        return array
    validity = pa.py_buffer(np.packbits(keep, bitorder="little"))
    buffers = [validity, offsets_buffer, data_buffer]
    return pa.Array.from_buffers(array.type, len(array), buffers, null_count=len(array) - kept)


def _one_string(data: bytes) -> pa.StringArray | None:
    """The document as one Arrow string, without a copy; None if it is not UTF-8.

    The readers take their values as offsets into its data buffer (the UTF-8 check is
    done here, once for the whole document).

    Examples
    --------
    >>> _one_string(b"<a>x</a>").to_pylist(), _one_string(b"\\xff")
    (['<a>x</a>'], None)
    """
    import numpy as np
    import pyarrow as pa

    bounds = pa.py_buffer(np.array([0, len(data)], np.int32))
    whole = pa.BinaryArray.from_buffers(pa.binary(), 1, [None, bounds, pa.py_buffer(data)])
    try:
        return whole.cast(pa.string())
    except pa.ArrowInvalid:
        return None
