"""Export volumes, run results and augmented datasets: F3 ``.npy``, SEG-Y and zarr + manifest.

Every export writes a *set* of files for one name:

* ``"npy"``  -- the F3 facies benchmark layout: ``<name>_seismic.npy`` (float32) and
  ``<name>_labels.npy`` (uint8), axes ``(inline, crossline, sample)``;
* ``"segy"`` -- ``<name>.sgy`` (IEEE float, inline-sorted, inline / crossline numbers at
  bytes 189 / 193, the sample interval in the headers) with ``<name>_labels.npy`` beside it
  (where this project's reader looks for labels);
* ``"zarr"`` -- ``<name>.zarr``, a group with ``seismic`` and ``labels`` arrays and the
  ``inlines`` / ``crosslines`` / ``samples`` / ``class_names`` attributes the reader uses;
* ``<name>.manifest.json`` -- what was written, from what, with which seeds and checkpoints.

Atomic: every file (and the zarr folder) is written under a temporary name in the output
folder and renamed into place; the manifest is renamed last, so an interrupted export never
leaves a file that looks complete, and a set without its manifest is recognisably incomplete.
Existing outputs are never replaced unless ``overwrite=True``.

numpy, zarr and segyio only (no torch, Qt or napari).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.segy import write_segy
from napari_forgetting.data.writers import save_npy, save_zarr, write_json

__all__ = ["FORMATS", "export_paths", "export_volume"]

FORMATS = ("npy", "segy", "zarr")


def export_paths(out_dir: str | os.PathLike, name: str, formats: Sequence[str]) -> dict[str, Path]:
    """The files an export of ``name`` in ``formats`` writes (keys: seismic_npy, labels,
    segy, zarr, manifest)."""
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    if "npy" in formats:
        paths["seismic_npy"] = out / f"{name}_seismic.npy"
    if "npy" in formats or "segy" in formats:
        paths["labels"] = out / f"{name}_labels.npy"
    if "segy" in formats:
        paths["segy"] = out / f"{name}.sgy"
    if "zarr" in formats:
        paths["zarr"] = out / f"{name}.zarr"
    paths["manifest"] = out / f"{name}.manifest.json"
    return paths


def _check(name: str, formats: Sequence[str]) -> tuple[str, ...]:
    if not name or os.sep in name or (os.altsep and os.altsep in name) or name.startswith("."):
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")
    return formats


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def export_volume(
    out_dir: str | os.PathLike,
    name: str,
    seismic: Any,
    labels: Any = None,
    *,
    inlines: Sequence[int] | None = None,
    crosslines: Sequence[int] | None = None,
    sample_interval: float = 4.0,
    samples: Sequence[float] | None = None,
    class_names: Sequence[str] | None = None,
    formats: Sequence[str] = FORMATS,
    manifest: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write one ``(inline, crossline, sample)`` volume (and its labels) in ``formats``.

    ``seismic`` float (numpy, dask or anything ``np.asarray`` takes), ``labels`` uint8 of the
    same shape or ``None``. ``inlines`` / ``crosslines``: header numbers (default ``1..n``).
    ``manifest``: extra fields for ``<name>.manifest.json``. Returns the written paths.

    Raises :class:`FileExistsError` naming every existing output unless ``overwrite``;
    nothing is written then.
    """
    formats = _check(name, formats)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = export_paths(out, name, formats)
    if labels is None:
        paths.pop("labels", None)
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"export would replace {', '.join(existing)}; pass overwrite (--overwrite) to do so"
        )
    seis = np.asarray(seismic, dtype=np.float32)
    if seis.ndim != 3:
        raise ValueError(f"seismic must be 3-D (inline, crossline, sample), got {seis.shape}")
    lab = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != seis.shape:
            raise ValueError(f"labels {lab.shape} and seismic {seis.shape} differ in shape")
        lab = lab.astype(np.uint8)
    n_il, n_xl, n_s = seis.shape
    inl = np.arange(1, n_il + 1) if inlines is None else np.asarray(inlines, dtype=np.int64)
    xl = np.arange(1, n_xl + 1) if crosslines is None else np.asarray(crosslines, dtype=np.int64)
    if inl.shape != (n_il,) or xl.shape != (n_xl,):
        raise ValueError("inlines / crosslines must give one number per inline / crossline")
    smp = (
        np.arange(n_s, dtype=np.float64) * float(sample_interval)
        if samples is None
        else np.asarray(samples, dtype=np.float64)
    )
    # the manifest is removed first so an overwritten set is never paired with an old manifest
    if overwrite:
        with contextlib.suppress(FileNotFoundError):
            paths["manifest"].unlink()
    if lab is not None and "labels" in paths:
        save_npy(paths["labels"], lab)
    if "seismic_npy" in paths:
        save_npy(paths["seismic_npy"], seis)
    if "segy" in paths:
        write_segy(paths["segy"], seis, inl, xl, float(sample_interval))
    if "zarr" in paths:
        attrs = {
            "inlines": inl.tolist(),
            "crosslines": xl.tolist(),
            "samples": smp.tolist(),
        }
        if class_names is not None:
            attrs["class_names"] = list(class_names)
        save_zarr(paths["zarr"], seis, lab, attrs)
    record = {
        "name": name,
        "written": _now(),
        "formats": list(formats),
        "files": {k: p.name for k, p in paths.items() if k != "manifest"},
        "shape": [n_il, n_xl, n_s],
        "axes": ["inline", "crossline", "sample"],
        "inlines": [int(inl[0]), int(inl[-1])],
        "crosslines": [int(xl[0]), int(xl[-1])],
        "sample_interval": float(sample_interval),
        "class_names": None if class_names is None else list(class_names),
        **(manifest or {}),
    }
    write_json(paths["manifest"], record, fsync=True)
    return paths
