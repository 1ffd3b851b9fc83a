"""npe2 writers: save an Image layer as SEG-Y, F3 ``.npy`` or zarr, a Labels layer as ``.npy``
or zarr. Files are written under a temporary name and renamed into place (atomic); the
inline/crossline numbers and sample interval of layers opened by this plugin's reader are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.segy import write_segy
from napari_forgetting.data.writers import save_npy, save_zarr


def _geometry(data: np.ndarray, attributes: dict) -> tuple[Any, Any, float, Any]:
    meta = attributes.get("metadata") or {}
    inl, xl = meta.get("inlines"), meta.get("crosslines")
    if inl is not None and len(inl) != data.shape[0]:
        inl = None
    if xl is not None and len(xl) != data.shape[1]:
        xl = None
    interval = float(meta.get("sample_interval") or 4.0)
    return inl, xl, interval, meta.get("samples")


def _volume(data: Any, name: str) -> np.ndarray:
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise ValueError(
            f"layer {name!r} is {arr.ndim}-D; seismic formats hold 3-D (inline, crossline, "
            "sample) volumes"
        )
    return arr


def write_image(path: str, data: Any, attributes: dict) -> list[str]:
    """Write an Image layer: ``.sgy``/``.segy`` (IEEE float, headers from the layer's
    metadata), ``.npy`` (float32) or ``.zarr`` (a group with a ``seismic`` array)."""
    p = Path(path)
    arr = _volume(data, attributes.get("name", p.stem)).astype(np.float32, copy=False)
    inl, xl, interval, samples = _geometry(arr, attributes)
    suffix = p.suffix.lower()
    if suffix in (".sgy", ".segy"):
        write_segy(p, arr, inl, xl, interval)
    elif suffix == ".npy":
        save_npy(p, arr)
    elif suffix == ".zarr":
        attrs = {"sample_interval": interval}
        for key, value in (("inlines", inl), ("crosslines", xl), ("samples", samples)):
            if value is not None:
                attrs[key] = np.asarray(value).tolist()
        save_zarr(p, arr, None, attrs)
    else:
        raise ValueError(f"{p}: unknown extension {p.suffix!r}; use .sgy, .npy or .zarr")
    return [str(p)]


def write_labels(path: str, data: Any, attributes: dict) -> list[str]:
    """Write a Labels layer as ``.npy`` (uint8 class ids, F3 layout) or ``.zarr``."""
    p = Path(path)
    arr = _volume(data, attributes.get("name", p.stem))
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"{p}: labels outside 0..255 cannot be stored as uint8 class ids")
    arr = arr.astype(np.uint8)
    if p.suffix.lower() == ".npy":
        save_npy(p, arr)
    elif p.suffix.lower() == ".zarr":
        save_zarr(p, None, arr, {})
    else:
        raise ValueError(f"{p}: unknown extension {p.suffix!r}; use .npy or .zarr")
    return [str(p)]
