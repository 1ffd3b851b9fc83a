"""Seismic volumes: one lazy type for SEG-Y, F3 benchmark ``.npy`` pairs and zarr.

:func:`open_volume` is the single entry point. It reads headers only; amplitudes are read when
a dask chunk of :attr:`SeismicVolume.data` is computed. Axis order is always
``(inline, crossline, sample)``, as in the F3 facies benchmark files.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from napari_forgetting.data.classes import default_class_names
from napari_forgetting.data.errors import VolumeError
from napari_forgetting.data.segy import open_segy

__all__ = [
    "SEGY_SUFFIXES",
    "VOLUME_SUFFIXES",
    "SeismicVolume",
    "find_labels",
    "open_volume",
    "symmetric_limits",
]

SEGY_SUFFIXES = (".sgy", ".segy")
VOLUME_SUFFIXES = (*SEGY_SUFFIXES, ".npy", ".zarr")
_NONFINITE_POLICIES = ("raise", "mask")


@dataclass(frozen=True, eq=False)
class SeismicVolume:
    """A seismic volume with optional facies labels.

    Attributes
    ----------
    data : dask.array.Array
        float32 amplitudes, axes ``(inline, crossline, sample)``; lazy.
    inlines, crosslines : numpy.ndarray
        Header numbers along axes 0 and 1 (``0..n-1`` for files without headers).
    samples : numpy.ndarray
        Sample times or depths along axis 2 (sample index for files without headers).
    labels : dask.array.Array or None
        Integer class ids ``0..n_classes-1``, same shape as ``data``.
    class_names : tuple of str
        One name per class id.
    source : dict
        ``{"path": ..., "format": "segy" | "npy" | "zarr", ...}`` plus format details
        (sorting, endian, sample format for SEG-Y) and ``"labels_path"`` when labels were opened.
    """

    data: da.Array
    inlines: np.ndarray
    crosslines: np.ndarray
    samples: np.ndarray
    labels: da.Array | None = None
    class_names: tuple[str, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def sample_interval(self) -> float:
        return float(self.samples[1] - self.samples[0]) if len(self.samples) > 1 else 1.0

    @property
    def name(self) -> str:
        return Path(self.source.get("path", "volume")).stem

    def estimate_contrast_limits(
        self, n_sections: int = 3, percentile: float = 99.0
    ) -> tuple[float, float]:
        """Symmetric display limits ``(-a, a)`` from a few inlines, never the whole volume.

        ``a`` is the ``percentile`` of ``|amplitude|`` over ``n_sections`` evenly spaced
        inlines (each read costs about one chunk).
        """
        n_il = self.shape[0]
        picks = np.unique(np.linspace(0, n_il - 1, min(n_sections, n_il)).round().astype(int))
        # one dask compute for all picked inlines; every 4th value is plenty for a percentile
        sections = da.compute(*[self.data[int(i)] for i in picks], scheduler="synchronous")
        return symmetric_limits(
            np.concatenate([np.asarray(s).ravel()[::4] for s in sections]), percentile
        )

    def count_nonfinite(self) -> int:
        """Number of NaN / infinite amplitudes in the whole volume (reads everything)."""
        raw = self.source.get("_raw")
        arr = raw if raw is not None else self.data
        return int((~da.isfinite(arr)).sum().compute())


def symmetric_limits(values: Any, percentile: float = 99.0) -> tuple[float, float]:
    """Grey display limits ``(-a, a)`` of amplitudes: ``a`` the ``percentile`` of
    ``|values|`` over the finite ones; their maximum where that is 0, 1 where all are 0 or
    none is finite."""
    sample = np.abs(np.asarray(values).ravel())
    sample = sample[np.isfinite(sample)]
    a = float(np.percentile(sample, percentile)) if sample.size else 1.0
    if not a > 0:
        a = float(sample.max()) if sample.size and sample.max() > 0 else 1.0
    return (-a, a)


def _guard_nonfinite(data: da.Array, path: str, policy: str) -> da.Array:
    """Check each chunk for NaN/inf when it is computed: raise, or replace by 0 with a warning."""

    def check(block: np.ndarray, block_info=None) -> np.ndarray:
        bad = ~np.isfinite(block)
        if not bad.any():
            return block
        n = int(bad.sum())
        where = ""
        if block_info and 0 in block_info:
            loc = block_info[0]["array-location"]
            axes = ("inline", "crossline", "sample")
            where = " in " + ", ".join(
                f"{axis} index {a}..{b - 1}" for axis, (a, b) in zip(axes, loc, strict=True)
            )
        if policy == "raise":
            raise VolumeError(
                path,
                f"{n} non-finite amplitude(s) (NaN or infinity){where}; open with "
                "nonfinite='mask' to replace them with 0",
            )
        warnings.warn(f"{path}: {n} non-finite amplitude(s){where} replaced with 0", stacklevel=2)
        out = block.copy()
        out[bad] = 0
        return out

    # an explicit name and meta skip tokenizing the closure and a trial call on an empty block
    return data.map_blocks(
        check,
        dtype=data.dtype,
        name=f"nonfinite-{policy}-{data.name}",
        meta=np.empty((0, 0, 0), data.dtype),
    )


def _npy_array(path: Path) -> Any:
    """The array of a .npy file, not read yet: a :class:`NpyFile` (C order, the usual), else
    a read-only memory map."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any numpy failure is a bad file
        raise VolumeError(path, f"not a readable .npy array ({exc})") from exc
    if arr.ndim >= 1 and arr.flags.c_contiguous and isinstance(arr, np.memmap):
        return NpyFile(path, arr.shape, arr.dtype, int(arr.offset))
    return arr


class NpyFile:
    """A C-order .npy array read by ordinary file reads of whole first-axis slabs (inlines).

    A memory map would do the same reads, but every page it touches stays counted in the
    process's resident memory while the map lives: a training run that reads a 287 MB
    volume once held 287 MB more for good. Read this way, the file's pages sit in the
    operating system's page cache, which the process does not hold. Indexed like an array
    (what ``dask.array.from_array`` asks of it); each read opens the file afresh, so dask's
    threads may read at once.
    """

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype, offset: int):
        self.path = Path(path)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.offset = int(offset)

    def __repr__(self) -> str:
        return f"NpyFile({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"

    def __dask_tokenize__(self) -> tuple:
        stat = self.path.stat()
        return ("NpyFile", str(self.path.resolve()), stat.st_mtime_ns, stat.st_size, self.offset)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        n = self.shape[0]
        if isinstance(first, slice):
            rows = range(*first.indices(n))
            if not rows:
                return self._read(0, 0)[(slice(None), *rest)]
            lo, hi = min(rows[0], rows[-1]), max(rows[0], rows[-1]) + 1
            end = rows[-1] - lo + (1 if rows.step > 0 else -1)
            pick: Any = slice(rows[0] - lo, end if end >= 0 else None, rows.step)
        elif isinstance(first, (int, np.integer)):
            i = int(first) + (n if int(first) < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"index {int(first)} is out of bounds for axis 0 of size {n}")
            lo, hi, pick = i, i + 1, 0
        else:  # fancy or anything else: read it all, numpy does the rest
            return self._read(0, n)[key]
        return self._read(lo, hi)[(pick, *rest)]

    def _read(self, lo: int, hi: int) -> np.ndarray:
        per_line = int(np.prod(self.shape[1:], dtype=np.int64))
        count = max(0, hi - lo) * per_line
        if count == 0:
            return np.empty((0, *self.shape[1:]), self.dtype)
        with open(self.path, "rb") as f:
            f.seek(self.offset + lo * per_line * self.dtype.itemsize)
            block = np.fromfile(f, dtype=self.dtype, count=count)
        if block.size != count:
            raise VolumeError(self.path, f"file ends inside inline {lo + block.size // per_line}")
        return block.reshape((hi - lo, *self.shape[1:]))


def _line_chunks(shape: tuple[int, ...], itemsize: int, chunk_mb: float) -> tuple:
    per_line = max(1, int(np.prod(shape[1:])) * itemsize)
    return (max(1, int(chunk_mb * 2**20 // per_line)), *shape[1:])


def _open_npy(path: Path, chunk_mb: float) -> tuple[da.Array, dict]:
    arr = _npy_array(path)
    if arr.ndim != 3:
        raise VolumeError(
            path, f"expected a 3-D (inline, crossline, sample) array, got shape {arr.shape}"
        )
    data = da.from_array(
        arr, chunks=_line_chunks(arr.shape, arr.dtype.itemsize, chunk_mb), asarray=False
    )
    return data, {"format": "npy"}


def _open_zarr_array(path: Path, key: str | None):
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001
        raise VolumeError(path, f"not a readable zarr store ({exc})") from exc
    attrs: dict = {}
    if hasattr(node, "shape"):  # an array
        arr = node
    else:
        names = [key] if key else ["seismic", "data", "amplitude"]
        arr = None
        for name in names:
            if name in node:
                arr = node[name]
                break
        if arr is None:
            raise VolumeError(
                path, f"zarr group has none of the arrays {names}; found {sorted(node.keys())}"
            )
        attrs = dict(node.attrs)
    attrs = {**attrs, **dict(arr.attrs)}
    if arr.ndim != 3:
        raise VolumeError(
            path, f"expected a 3-D (inline, crossline, sample) array, got shape {arr.shape}"
        )
    data = da.from_zarr(arr)
    return data, attrs, node


def find_labels(path: str | os.PathLike) -> Path | None:
    """The labels file beside a seismic file, if any.

    Tried in order, for a seismic file ``DIR/STEM.EXT``: ``STEM`` with ``seismic`` replaced by
    ``labels`` (the F3 benchmark's ``train_seismic.npy`` -> ``train_labels.npy``), then
    ``STEM_labels`` and ``STEM-labels``; each with ``.npy``, ``.zarr``, ``.sgy``, ``.segy``.
    """
    p = Path(path)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    stems = []
    if "seismic" in stem:
        stems.append(stem.replace("seismic", "labels"))
    stems += [f"{stem}_labels", f"{stem}-labels"]
    for s in stems:
        for ext in (".npy", ".zarr", ".sgy", ".segy"):
            cand = p.with_name(s + ext)
            if cand.exists() and cand != p:
                return cand
    return None


def _open_labels(labels, shape, n_classes, chunks, seg_options) -> tuple[da.Array, str | None]:
    """Open labels (path or array), check shape and class range; returns (dask int array, path)."""
    lpath = None
    if isinstance(labels, (str, os.PathLike)):
        lpath = Path(labels)
        if not lpath.exists():
            raise VolumeError(lpath, "labels file does not exist")
        suffix = lpath.suffix.lower()
        if suffix == ".npy":
            mm = _npy_array(lpath)
            arr = da.from_array(
                mm, chunks=chunks if mm.shape == tuple(shape) else -1, asarray=False
            )
        elif suffix == ".zarr":
            arr, _, _ = _open_zarr_array(lpath, "labels")
        elif suffix in SEGY_SUFFIXES:
            arr = open_segy(lpath, **seg_options).data
        else:
            raise VolumeError(lpath, f"unknown labels file type {suffix!r}")
    else:
        arr = labels if isinstance(labels, da.Array) else da.asarray(np.asarray(labels))
    where = lpath if lpath is not None else "labels"
    if tuple(arr.shape) != tuple(shape):
        raise VolumeError(
            where, f"labels shape {tuple(arr.shape)} differs from the seismic shape {tuple(shape)}"
        )
    if arr.dtype.kind == "f":
        if not bool(da.all(da.isfinite(arr) & (arr == da.floor(arr))).compute()):
            raise VolumeError(
                where, "labels must be whole class ids; found fractional or NaN values"
            )
    elif arr.dtype.kind not in "iub":
        raise VolumeError(where, f"labels must be integer class ids, got dtype {arr.dtype}")
    lo, hi = (int(v) for v in da.compute(arr.min(), arr.max()))
    if lo < 0 or hi > n_classes - 1:
        raise VolumeError(
            where,
            f"label values {lo}..{hi} outside the class ids 0..{n_classes - 1} "
            f"({n_classes} classes); pass class_names= or n_classes= for another class set",
        )
    if arr.dtype != np.uint8 and n_classes <= 256:
        arr = arr.astype(np.uint8)
    return arr.rechunk(chunks), (str(lpath) if lpath else None)


def open_volume(
    path: str | os.PathLike,
    labels: str | os.PathLike | np.ndarray | da.Array | None = None,
    *,
    find_labels_beside: bool = True,
    class_names: tuple[str, ...] | list[str] | None = None,
    n_classes: int | None = None,
    nonfinite: str = "raise",
    iline: int = 189,
    xline: int = 193,
    endian: str | None = None,
    chunk_mb: float = 2.0,
    key: str | None = None,
) -> SeismicVolume:
    """Open a seismic volume lazily.

    Parameters
    ----------
    path : str or path
        ``.sgy``/``.segy`` (post-stack, inline- or crossline-sorted), ``.npy`` (3-D, memory
        mapped) or ``.zarr`` (an array, or a group holding ``seismic`` [+ ``labels``] arrays with
        optional ``inlines``/``crosslines``/``samples``/``class_names`` attributes).
    labels : path or array, optional
        Class ids of the same shape. Default: a labels file found beside the seismic
        (:func:`find_labels`) when ``find_labels_beside``.
    class_names, n_classes : optional
        The class set; default the six F3 classes.
    nonfinite : {"raise", "mask"}
        NaN/inf amplitudes are never passed on silently: ``"raise"`` raises
        :class:`VolumeError` when a chunk holding them is computed, ``"mask"`` replaces them
        with 0 and warns.
    iline, xline, endian : SEG-Y options (header byte positions, ``None`` = auto endian).
    chunk_mb : approximate chunk size; chunks are whole lines of the file's fast direction.
    key : zarr array name inside a group.

    Raises
    ------
    VolumeError
        For every bad input, with the file and the problem in the message.
    """
    p = Path(path)
    if nonfinite not in _NONFINITE_POLICIES:
        raise ValueError(f"nonfinite must be one of {_NONFINITE_POLICIES}, got {nonfinite!r}")
    if not p.exists():
        raise VolumeError(p, "file does not exist")
    suffix = p.suffix.lower()
    seg_options = {"iline": iline, "xline": xline, "endian": endian, "chunk_mb": chunk_mb}
    attrs: dict = {}
    node = None
    if suffix in SEGY_SUFFIXES:
        cube = open_segy(p, **seg_options)
        data = cube.data
        inlines, crosslines, samples = cube.inlines, cube.crosslines, cube.samples
        source = {
            "format": "segy",
            "iline": int(iline),
            "xline": int(xline),
            "sorting": cube.sorting,
            "endian": cube.endian,
            "sample_format": cube.sample_format,
        }
    elif suffix == ".npy":
        data, source = _open_npy(p, chunk_mb)
        inlines = crosslines = samples = None
    elif suffix == ".zarr":
        data, attrs, node = _open_zarr_array(p, key)
        source = {"format": "zarr"}
        inlines = attrs.get("inlines")
        crosslines = attrs.get("crosslines")
        samples = attrs.get("samples")
    else:
        raise VolumeError(
            p, f"unknown file type {p.suffix!r}; expected one of {', '.join(VOLUME_SUFFIXES)}"
        )
    shape = tuple(int(n) for n in data.shape)
    inlines = np.arange(shape[0]) if inlines is None else np.asarray(inlines)
    crosslines = np.arange(shape[1]) if crosslines is None else np.asarray(crosslines)
    samples = np.arange(shape[2], dtype=float) if samples is None else np.asarray(samples, float)
    for name, axis, arr in (
        ("inlines", 0, inlines),
        ("crosslines", 1, crosslines),
        ("samples", 2, samples),
    ):
        if arr.shape != (shape[axis],):
            raise VolumeError(
                p, f"{name} has {arr.size} values for an axis of length {shape[axis]}"
            )

    if data.dtype.kind not in "f" or data.dtype != np.float32:
        data = data.astype(np.float32)
    source = {"path": str(p), **source}
    if data.dtype.kind == "f":
        source["_raw"] = data
        data = _guard_nonfinite(data, str(p), nonfinite)

    if class_names is None:
        class_names = attrs.get("class_names")
    if class_names is None:
        class_names = default_class_names(n_classes or 6)
    class_names = tuple(class_names)
    if n_classes is not None and n_classes != len(class_names):
        raise ValueError(f"n_classes={n_classes} but {len(class_names)} class names given")

    if labels is None and node is not None and not hasattr(node, "shape") and "labels" in node:
        labels = da.from_zarr(node["labels"])
    if labels is None and find_labels_beside:
        labels = find_labels(p)
    label_arr = None
    if labels is not None:
        label_arr, lpath = _open_labels(labels, shape, len(class_names), data.chunks, seg_options)
        if lpath:
            source["labels_path"] = lpath
    return SeismicVolume(
        data=data,
        inlines=inlines,
        crosslines=crosslines,
        samples=samples,
        labels=label_arr,
        class_names=class_names,
        source=source,
    )
