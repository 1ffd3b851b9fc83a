"""Lazy reading and atomic writing of post-stack SEG-Y cubes (numpy / dask / segyio only).

:func:`open_segy` opens a post-stack, regularly sorted SEG-Y file as a :class:`SegyCube` whose
``data`` is a lazy dask array with axes ``(inline, crossline, sample)``. Opening reads headers
only; trace data are read when a dask chunk is computed. Chunks follow the file's fast
direction (blocks of whole inlines in an inline-sorted file, blocks of whole crosslines in a
crossline-sorted one), so every chunk is one contiguous run of traces, read with a single
``f.trace.raw[start:stop]`` call from a file handle the chunk opens itself (as segysak does), so
dask threads never share a handle.

:func:`write_segy` writes a numpy (or any array-like, e.g. dask) cube ``(inline, crossline,
sample)`` through ``segyio.create`` with proper binary and trace headers, atomically (temporary
file in the same folder, then :func:`os.replace`).

Every failure to open a file raises :class:`~napari_forgetting.data.errors.VolumeError`, whose
message names the file and says what is wrong.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import segyio
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from napari_forgetting.data.errors import VolumeError
from napari_forgetting.data.writers import atomic_path

__all__ = ["SegyCube", "open_segy", "write_segy"]

#: SEG-Y binary-header sample format codes that segyio reads, with our short names.
SAMPLE_FORMATS: dict[int, str] = {
    1: "ibm",
    2: "int32",
    3: "int16",
    5: "ieee",
    6: "ieee64",
    8: "int8",
    10: "uint32",
    11: "uint16",
    12: "uint64",
    15: "uint24",
    16: "uint8",
}
#: Formats :func:`write_segy` can write, name -> SEG-Y code.
_WRITE_FORMATS: dict[str, int] = {"ibm": 1, "int32": 2, "int16": 3, "ieee": 5, "int8": 8}
_INT_RANGES = {"int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1), "int8": (-128, 127)}

_TEXT_HEADER = 3200
_BIN_HEADER = 400
_TRACE_HEADER = 240
_FORMAT_OFFSET = 3224  # bytes 3225-3226 (1-based) of the binary header
_EXT_HEADERS_OFFSET = 3504  # bytes 3505-3506: number of extended textual headers
_SORTING_NAMES = {
    segyio.TraceSortingFormat.INLINE_SORTING: "inline",
    segyio.TraceSortingFormat.CROSSLINE_SORTING: "crossline",
}


@dataclass(frozen=True, eq=False)
class SegyCube:
    """A post-stack SEG-Y cube opened lazily by :func:`open_segy`.

    Attributes
    ----------
    path : str
        The file.
    data : dask.array.Array
        float32, axes ``(inline, crossline, sample)``; computing a chunk reads the file.
    inlines, crosslines : numpy.ndarray
        The inline / crossline header numbers along axes 0 and 1 (file order).
    samples : numpy.ndarray
        Sample times or depths from the headers (e.g. 0, 4, 8, ... ms).
    sorting : str
        ``"inline"`` or ``"crossline"``: the file's fast (trace order) direction.
    endian : str
        ``"big"`` or ``"little"``.
    sample_format : str
        ``"ibm"``, ``"ieee"``, ``"int16"``, ``"int32"``, ... (see ``SAMPLE_FORMATS``).
    sample_interval : float
        Sample interval in the file's unit (ms or m).
    """

    path: str
    data: da.Array
    inlines: np.ndarray
    crosslines: np.ndarray
    samples: np.ndarray
    sorting: str
    endian: str
    sample_format: str
    sample_interval: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def _read_traces(path: str, start: int, stop: int, endian: str) -> np.ndarray:
    """Read traces ``start:stop`` (file order) as an ``(n_traces, n_samples)`` array.

    Opens its own memory-mapped handle, so it is safe to call from several threads.
    """
    with segyio.open(path, "r", ignore_geometry=True, endian=endian) as f:
        f.mmap()
        return f.trace.raw[start:stop]


def _read_line_numbers(
    path: str, start: int, stop: int, endian: str, iline: int, xline: int
) -> tuple[np.ndarray, np.ndarray]:
    """The inline and crossline header numbers of traces ``start:stop``."""
    with segyio.open(path, "r", ignore_geometry=True, endian=endian) as f:
        f.mmap()
        return f.attributes(iline)[start:stop], f.attributes(xline)[start:stop]


def _read_block(
    path: str,
    start: int,
    stop: int,
    endian: str,
    n_fast: int,
    n_slow: int,
    crossline_sorted: bool,
    iline: int,
    xline: int,
    fast_numbers: np.ndarray,
    slow_numbers: np.ndarray,
) -> np.ndarray:
    """One dask chunk: ``n_fast`` whole lines (``n_slow`` traces each) from trace ``start``.

    Checks the block's inline/crossline headers against the grid inferred when the file was
    opened, so a file whose traces are not in regular order never gives a silently wrong
    array. Returns float32 ``(inline, crossline, sample)``.
    """
    il, xl = _read_line_numbers(path, start, stop, endian, iline, xline)
    fast_hdr, slow_hdr = (xl, il) if crossline_sorted else (il, xl)
    expected_fast = np.repeat(fast_numbers, n_slow)
    expected_slow = np.tile(slow_numbers, n_fast)
    bad = np.flatnonzero((fast_hdr != expected_fast) | (slow_hdr != expected_slow))
    if bad.size:
        t = int(bad[0])
        want_il, want_xl = (
            (expected_slow[t], expected_fast[t])
            if crossline_sorted
            else (expected_fast[t], expected_slow[t])
        )
        raise VolumeError(
            path,
            f"irregular trace order: trace {start + t} has inline {int(il[t])} crossline "
            f"{int(xl[t])} (header bytes {iline}/{xline}), but a regular "
            f"{'crossline' if crossline_sorted else 'inline'}-sorted grid needs inline "
            f"{int(want_il)} crossline {int(want_xl)} there",
        )
    traces = _read_traces(path, start, stop, endian)
    block = np.asarray(traces, dtype=np.float32).reshape(n_fast, n_slow, -1)
    if crossline_sorted:
        block = np.ascontiguousarray(block.transpose(1, 0, 2))
    return block


def _detect_endian(path: str, head: bytes, endian: str | None) -> tuple[str, int]:
    """Endianness and sample-format code from the binary header (bytes 3225-3226)."""
    raw = head[_FORMAT_OFFSET : _FORMAT_OFFSET + 2]
    codes = {"big": struct.unpack(">h", raw)[0], "little": struct.unpack("<h", raw)[0]}
    valid = ", ".join(str(c) for c in SAMPLE_FORMATS)
    if endian is None:
        for candidate in ("big", "little"):
            if codes[candidate] in SAMPLE_FORMATS:
                return candidate, codes[candidate]
        raise VolumeError(
            path,
            "not a readable SEG-Y file: the binary-header sample format code (bytes 3225-3226) "
            f"is {codes['big']} read big-endian and {codes['little']} read little-endian, "
            f"neither a supported code ({valid})",
        )
    key = {"big": "big", "msb": "big", "little": "little", "lsb": "little"}.get(str(endian))
    if key is None:
        raise ValueError(f"endian must be None, 'big' or 'little', not {endian!r}")
    if codes[key] not in SAMPLE_FORMATS:
        other = "little" if key == "big" else "big"
        hint = (
            f"; the file looks {other}-endian (try endian={other!r} or endian=None)"
            if codes[other] in SAMPLE_FORMATS
            else ""
        )
        raise VolumeError(
            path,
            f"the binary-header sample format code read {key}-endian is {codes[key]}, not a "
            f"supported SEG-Y format code ({valid}){hint}",
        )
    return key, codes[key]


def _open_error(path: str, exc: Exception, iline: int, xline: int) -> VolumeError:
    """Translate a segyio open failure into a VolumeError with a plain-words problem."""
    msg = str(exc)
    low = msg.lower()
    if "inconsistent with file size" in low:
        return VolumeError(
            path,
            "truncated or corrupt SEG-Y file: the trace count is inconsistent with the file "
            f"size (the file is cut off or its sample count/format is wrong) [segyio: {msg}]",
        )
    if "sorting" in low or "geometry" in low or "unstructured" in low:
        return VolumeError(
            path,
            f"no regular geometry: the inline/crossline trace headers at bytes {iline}/{xline} "
            "do not describe a regular sorted inline x crossline grid (segyio: unable to "
            "find sorting); if this file stores its line numbers elsewhere, pass the header "
            "byte positions with the iline=/xline= options (e.g. iline=9, xline=21)",
        )
    if "invalid dimensions" in low or "number of traces" in low:
        return VolumeError(
            path,
            f"irregular geometry: the inline/crossline headers at bytes {iline}/{xline} do not "
            "describe a complete regular grid (traces are missing or extra) "
            f"[segyio: {msg}]",
        )
    return VolumeError(path, f"cannot be read as SEG-Y ({type(exc).__name__}: {msg})")


def open_segy(
    path: str | os.PathLike,
    *,
    iline: int = 189,
    xline: int = 193,
    endian: str | None = None,
    chunk_mb: float = 2.0,
) -> SegyCube:
    """Open a post-stack SEG-Y file lazily as an ``(inline, crossline, sample)`` cube.

    Parameters
    ----------
    path : path-like
        The SEG-Y file.
    iline, xline : int
        Trace-header byte positions (1-based) of the inline and crossline numbers.
    endian : {None, "big", "little"}
        ``None`` detects it from the binary-header sample format code.
    chunk_mb : float
        Target dask chunk size in megabytes (10**6 bytes) of float32 output. A chunk is a
        block of whole lines along the file's fast direction; at least one line.

    Returns
    -------
    SegyCube
        Headers are read now; trace data only when a chunk of ``data`` is computed.

    Raises
    ------
    VolumeError
        The file is missing, not SEG-Y, truncated, has no traces, has no regular post-stack
        geometry at the given header bytes, or is pre-stack.
    """
    path = os.fspath(path)
    iline, xline = int(iline), int(xline)
    p = Path(path)
    if not p.exists():
        raise VolumeError(path, "file does not exist")
    if not p.is_file():
        raise VolumeError(path, "not a file (is it a folder?)")
    _check_header_bytes(iline, xline)
    if not chunk_mb > 0:
        raise ValueError(f"chunk_mb must be positive, not {chunk_mb!r}")
    size = p.stat().st_size
    try:
        with open(path, "rb") as fh:
            head = fh.read(_TEXT_HEADER + _BIN_HEADER)
    except OSError as exc:
        raise VolumeError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if len(head) < _TEXT_HEADER + _BIN_HEADER:
        raise VolumeError(
            path,
            f"not a SEG-Y file: only {size} bytes, shorter than the 3600-byte textual and "
            "binary headers",
        )
    endian, code = _detect_endian(path, head, endian)
    fmt = ">h" if endian == "big" else "<h"
    n_ext = max(struct.unpack(fmt, head[_EXT_HEADERS_OFFSET : _EXT_HEADERS_OFFSET + 2])[0], 0)
    if size <= _TEXT_HEADER + _BIN_HEADER + n_ext * _TEXT_HEADER:
        raise VolumeError(
            path, "SEG-Y file has no traces (it holds only the textual and binary headers)"
        )

    try:
        f = segyio.open(path, "r", iline=iline, xline=xline, strict=True, endian=endian)
    except (RuntimeError, IndexError, ValueError, KeyError, OSError) as exc:
        raise _open_error(path, exc, iline, xline) from exc
    try:
        if f.tracecount == 0:
            raise VolumeError(path, "SEG-Y file has no traces")
        if f.unstructured or f.ilines is None or f.xlines is None:
            raise VolumeError(
                path,
                f"unstructured SEG-Y: the trace headers at bytes {iline}/{xline} do not "
                "describe a regular inline x crossline grid; pass the right header byte "
                "positions with the iline=/xline= options",
            )
        offsets = np.asarray(f.offsets)
        if len(offsets) > 1:
            shown = ", ".join(str(int(o)) for o in offsets[:8])
            if len(offsets) > 8:
                shown += ", ..."
            raise VolumeError(
                path,
                f"pre-stack SEG-Y with {len(offsets)} offsets ({shown}); stack it to a "
                "post-stack volume first",
            )
        if f.sorting not in _SORTING_NAMES:
            raise VolumeError(
                path, f"unknown trace sorting {f.sorting!r}: neither inline nor crossline sorted"
            )
        sorting = _SORTING_NAMES[f.sorting]
        inlines = np.asarray(f.ilines).astype(np.int64)
        crosslines = np.asarray(f.xlines).astype(np.int64)
        samples = np.asarray(f.samples, dtype=np.float64).copy()
        n_il, n_xl, n_s = len(inlines), len(crosslines), len(samples)
        if n_il * n_xl != f.tracecount:
            raise VolumeError(
                path,
                f"irregular geometry: {n_il} inlines x {n_xl} crosslines = {n_il * n_xl} "
                f"traces expected but the file holds {f.tracecount} (headers at bytes "
                f"{iline}/{xline}); it is not a complete regular grid",
            )
        if n_s == 0:
            raise VolumeError(path, "SEG-Y traces have no samples")
        crossline_sorted = sorting == "crossline"
        fast, slow = (crosslines, inlines) if crossline_sorted else (inlines, crosslines)
        # Cheap sanity check of the grid: segyio read the line numbers from the first trace
        # of every fast line; check the last trace of every line too, so a line that is
        # short or long shows up now (every chunk checks all its traces when computed).
        n_slow = len(slow)
        il_last = f.attributes(iline)[n_slow - 1 :: n_slow]
        xl_last = f.attributes(xline)[n_slow - 1 :: n_slow]
        fast_last, slow_last = (xl_last, il_last) if crossline_sorted else (il_last, xl_last)
        ok = np.array_equal(fast_last, fast) and bool(np.all(slow_last == slow[-1]))
        if not ok:
            raise VolumeError(
                path,
                f"irregular geometry: the inline/crossline headers at bytes {iline}/{xline} do "
                f"not form a regular {sorting}-sorted grid (the last trace of some line is not "
                "where a regular grid puts it: a line is short, long or out of order)",
            )
        dt = float(segyio.tools.dt(f, fallback_dt=4000.0)) / 1000.0
        sample_interval = float(samples[1] - samples[0]) if n_s > 1 else dt
    finally:
        f.close()

    sample_format = SAMPLE_FORMATS[code]
    line_bytes = n_slow * n_s * 4
    per_chunk = max(1, int(chunk_mb * 1e6 // line_bytes))
    n_fast = len(fast)
    starts = list(range(0, n_fast, per_chunk))
    name = "segy-" + tokenize(path, size, p.stat().st_mtime_ns, endian, iline, xline, per_chunk)
    dsk = {}
    for b, first in enumerate(starts):
        last = min(first + per_chunk, n_fast)
        key = (name, 0, b, 0) if crossline_sorted else (name, b, 0, 0)
        dsk[key] = (
            _read_block,
            path,
            first * n_slow,
            last * n_slow,
            endian,
            last - first,
            n_slow,
            crossline_sorted,
            iline,
            xline,
            fast[first:last],
            slow,
        )
    fast_chunks = tuple(min(per_chunk, n_fast - s) for s in starts)
    chunks = ((n_il,), fast_chunks, (n_s,)) if crossline_sorted else (fast_chunks, (n_xl,), (n_s,))
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    data = da.Array(graph, name, chunks, dtype=np.float32)
    for arr in (inlines, crosslines, samples):
        arr.setflags(write=False)
    return SegyCube(
        path=path,
        data=data,
        inlines=inlines,
        crosslines=crosslines,
        samples=samples,
        sorting=sorting,
        endian=endian,
        sample_format=sample_format,
        sample_interval=sample_interval,
    )


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


def _check_header_bytes(iline: int, xline: int) -> None:
    fields = {int(v) for v in segyio.TraceField.enums()}
    for what, b in (("iline", iline), ("xline", xline)):
        if b not in fields:
            raise ValueError(
                f"{what}={b} is not the byte position of a SEG-Y trace-header field "
                "(e.g. 189, 193, 9, 17, 21)"
            )
    if iline == xline:
        raise ValueError(f"iline and xline must be different header bytes, both are {iline}")


def _line_numbers(numbers, n: int, what: str) -> np.ndarray:
    if numbers is None:
        return np.arange(1, n + 1, dtype=np.int64)
    arr = np.asarray(numbers)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{what} must be a 1-D sequence of {n} numbers, got shape {arr.shape}")
    if not np.all(np.asarray(arr) == np.round(arr)):
        raise ValueError(f"{what} must be integers")
    arr = arr.astype(np.int64)
    if len(np.unique(arr)) != n:
        raise ValueError(f"{what} must be unique")
    if n and (arr.min() < -(2**31) or arr.max() > 2**31 - 1):
        raise ValueError(f"{what} must fit in 32-bit integers")
    return arr


def write_segy(
    path,
    data,
    inlines=None,
    crosslines=None,
    sample_interval=4.0,
    *,
    sorting="inline",
    endian="big",
    sample_format="ieee",
    iline=189,
    xline=193,
    delay=0.0,
):
    """Write a post-stack cube ``(inline, crossline, sample)`` as a SEG-Y file, atomically.

    Parameters
    ----------
    path : path-like
        Destination. Written to a temporary file in the same folder, then moved into place
        with :func:`os.replace`, so readers never see a half-written file.
    data : array-like, 3-D
        ``(inline, crossline, sample)``; numpy, or anything sliceable whose slices convert
        with ``np.asarray`` (e.g. dask, zarr), read one inline at a time.
    inlines, crosslines : sequence of int, optional
        Header numbers of axes 0 and 1 (unique integers; default ``1..n``).
    sample_interval : float
        Sample interval in ms (or m), stored in microseconds (or mm) in the binary header and
        in every trace header; must be in (0, 65.535].
    sorting : {"inline", "crossline"}
        Trace order: whole inlines one after the other, or whole crosslines.
    endian : {"big", "little"}
    sample_format : {"ibm", "ieee", "int16", "int32", "int8"}
        ``"ibm"``: 4-byte IBM float; ``"ieee"``: 4-byte IEEE float. The integer formats round
        values to the nearest integer and clip them to the type's range (e.g. -32768..32767
        for ``"int16"``), so scale the data first if it is not already in integer units.
        IBM and integer formats cannot store NaN/inf: such data raises ``ValueError``.
    iline, xline : int
        Trace-header byte positions (1-based) for the inline / crossline numbers. Only these
        bytes get the line numbers (not 189/193 too), so a reader needs the same options.
    delay : float
        Time/depth of the first sample (DelayRecordingTime, whole ms/m in a 2-byte field).

    Besides the line numbers, every trace header gets TRACE_SEQUENCE_LINE/FILE, CDP_X/CDP_Y
    on a nominal 25 m grid (crossline * 25, inline * 25; skipped where they would overlap the
    iline/xline bytes), TRACE_SAMPLE_COUNT, TRACE_SAMPLE_INTERVAL and DelayRecordingTime.

    The textual header (:func:`text_header`) describes the geometry and holds no date, so the
    same cube always gives the same bytes (segyio's default header is dated).
    """
    path = os.fspath(path)
    shape = getattr(data, "shape", None)
    if shape is None:
        data = np.asarray(data)
        shape = data.shape
    if len(shape) != 3:
        raise ValueError(f"data must be 3-D (inline, crossline, sample), got shape {shape}")
    n_il, n_xl, n_s = (int(s) for s in shape)
    if min(n_il, n_xl, n_s) < 1:
        raise ValueError(f"data must not be empty, got shape {shape}")
    ils = _line_numbers(inlines, n_il, "inlines")
    xls = _line_numbers(crosslines, n_xl, "crosslines")
    if sorting not in ("inline", "crossline"):
        raise ValueError(f"sorting must be 'inline' or 'crossline', not {sorting!r}")
    if endian not in ("big", "little"):
        raise ValueError(f"endian must be 'big' or 'little', not {endian!r}")
    if sample_format not in _WRITE_FORMATS:
        raise ValueError(
            f"sample_format must be one of {sorted(_WRITE_FORMATS)}, not {sample_format!r}"
        )
    interval_us = int(round(float(sample_interval) * 1000))
    if not 0 < interval_us <= 65535:
        raise ValueError(
            f"sample_interval must be in (0, 65.535] (stored in microseconds in 2 bytes), "
            f"not {sample_interval!r}"
        )
    if float(delay) != round(float(delay)) or not -32768 <= delay <= 32767:
        raise ValueError(f"delay must be a whole number of ms/m in -32768..32767, not {delay!r}")
    delay = int(round(float(delay)))
    iline, xline = int(iline), int(xline)
    _check_header_bytes(iline, xline)
    if n_s > 65535:
        raise ValueError(f"at most 65535 samples per trace, got {n_s}")

    code = _WRITE_FORMATS[sample_format]
    out_dtype = np.float32 if sample_format in ("ibm", "ieee") else np.dtype(sample_format)
    crossline_sorted = sorting == "crossline"

    spec = segyio.spec()
    spec.iline = iline
    spec.xline = xline
    spec.format = code
    spec.sorting = (
        segyio.TraceSortingFormat.CROSSLINE_SORTING
        if crossline_sorted
        else segyio.TraceSortingFormat.INLINE_SORTING
    )
    spec.endian = endian
    spec.ilines = ils
    spec.xlines = xls
    spec.offsets = [1]
    spec.samples = delay + np.arange(n_s) * (interval_us / 1000.0)

    # Header fields in write order; the line numbers come last so they win any overlap.
    tf = segyio.TraceField
    line_fields = {iline, xline}
    # segyio field byte positions and sizes: 4-byte fields at 181/185, 2-byte at 71.
    aux_spans = {
        tf.CDP_X: (181, 4),
        tf.CDP_Y: (185, 4),
        tf.SourceGroupScalar: (71, 2),
        tf.TRACE_SEQUENCE_LINE: (1, 4),
        tf.TRACE_SEQUENCE_FILE: (5, 4),
        tf.TRACE_SAMPLE_COUNT: (115, 2),
        tf.TRACE_SAMPLE_INTERVAL: (117, 2),
        tf.DelayRecordingTime: (109, 2),
    }

    def _overlaps(start: int, size: int) -> bool:
        return any(start <= b < start + size or b <= start < b + 4 for b in line_fields)

    keep = {k for k, (s, n) in aux_spans.items() if not _overlaps(s, n)}

    with atomic_path(path) as tmp:
        with segyio.create(tmp, spec) as f:
            f.text[0] = text_header(
                ils, xls, n_s, interval_us / 1000.0, delay, sorting, endian, sample_format,
                iline, xline,
            )  # fmt: skip
            header = {}
            if tf.TRACE_SAMPLE_COUNT in keep:
                header[tf.TRACE_SAMPLE_COUNT] = n_s
            if tf.TRACE_SAMPLE_INTERVAL in keep:
                header[tf.TRACE_SAMPLE_INTERVAL] = interval_us
            if tf.DelayRecordingTime in keep:
                header[tf.DelayRecordingTime] = delay
            if tf.SourceGroupScalar in keep:
                header[tf.SourceGroupScalar] = 1
            n_fast, n_slow = (n_xl, n_il) if crossline_sorted else (n_il, n_xl)
            trace = 0
            for a in range(n_fast):
                # One whole fast line at a time: (n_slow, n_s) in trace order.
                if crossline_sorted:
                    line = np.asarray(data[:, a, :])
                else:
                    line = np.asarray(data[a])
                line = _convert(line, sample_format, out_dtype)
                for s in range(n_slow):
                    il_i, xl_i = (s, a) if crossline_sorted else (a, s)
                    h = dict(header)
                    if tf.TRACE_SEQUENCE_LINE in keep:
                        h[tf.TRACE_SEQUENCE_LINE] = s + 1
                    if tf.TRACE_SEQUENCE_FILE in keep:
                        h[tf.TRACE_SEQUENCE_FILE] = trace + 1
                    if tf.CDP_X in keep:
                        h[tf.CDP_X] = int(xls[xl_i]) * 25
                    if tf.CDP_Y in keep:
                        h[tf.CDP_Y] = int(ils[il_i]) * 25
                    h[iline] = int(ils[il_i])
                    h[xline] = int(xls[xl_i])
                    f.header[trace] = h
                    f.trace[trace] = line[s]
                    trace += 1


def text_header(
    inlines: np.ndarray,
    crosslines: np.ndarray,
    n_samples: int,
    sample_interval: float,
    delay: int,
    sorting: str,
    endian: str,
    sample_format: str,
    iline: int,
    xline: int,
) -> bytes:
    """The 3200-byte textual header :func:`write_segy` writes: what the file holds and where
    its line numbers are, without a date (the file's bytes depend on its content only)."""
    lines = {
        1: "WRITTEN BY NAPARI-FORGETTING (LIBSEGYIO)",
        2: "POST-STACK 3-D VOLUME, ONE TRACE PER INLINE X CROSSLINE",
        3: f"INLINES {inlines[0]}-{inlines[-1]} ({len(inlines)})  "
        f"CROSSLINES {crosslines[0]}-{crosslines[-1]} ({len(crosslines)})",
        4: f"SAMPLES {n_samples} AT {sample_interval:g} MS (OR M), FIRST AT {delay}",
        5: f"SAMPLE FORMAT {sample_format.upper()}, {endian.upper()}-ENDIAN, "
        f"{sorting.upper()}-SORTED",
        11: "TRACE HEADER POSITION:",
        12: f"  INLINE BYTES {iline:03d}-{iline + 3:03d}",
        13: f"  CROSSLINE BYTES {xline:03d}-{xline + 3:03d}",
        40: "END TEXTUAL HEADER",
    }
    return segyio.tools.create_text_header(lines).encode("ascii")


def _convert(line: np.ndarray, sample_format: str, out_dtype) -> np.ndarray:
    """Cast one line ``(n_traces, n_samples)`` to the on-disk dtype segyio expects."""
    if sample_format == "ieee":
        return np.ascontiguousarray(line, dtype=np.float32)
    line = np.asarray(line, dtype=np.float64 if sample_format != "ibm" else np.float32)
    if not np.all(np.isfinite(line)):
        raise ValueError(f"data holds NaN or inf, which {sample_format!r} SEG-Y cannot store")
    if sample_format == "ibm":
        return np.ascontiguousarray(line)
    lo, hi = _INT_RANGES[sample_format]
    return np.ascontiguousarray(np.clip(np.rint(line), lo, hi).astype(out_dtype))
