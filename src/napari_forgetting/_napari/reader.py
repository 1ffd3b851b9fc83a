"""npe2 reader: SEG-Y, F3 benchmark .npy and zarr volumes as lazy dask-backed layers."""

from __future__ import annotations

import os
from pathlib import Path

from napari_forgetting.data import VolumeError, open_volume
from napari_forgetting.data.volume import VOLUME_SUFFIXES


def get_reader(path):
    """Return a reader for one seismic path, or None (fast; reads no pixels, never raises)."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, (str, os.PathLike)):
        return None
    if Path(path).suffix.lower() not in VOLUME_SUFFIXES:
        return None
    return read_volume


def read_volume(path):
    """Open ``path`` lazily; a labels file beside it becomes a Labels layer.

    A bad file raises :class:`VolumeError` whose message names the file and the problem;
    napari shows it as an error notification and the viewer keeps working.
    """
    if isinstance(path, list):
        path = path[0]
    from napari_forgetting._napari.layers import show_depth_down_when_opened, volume_layers

    try:
        volume = open_volume(path)
        return show_depth_down_when_opened(volume_layers(volume))
    except VolumeError:
        raise
    except Exception as exc:  # noqa: BLE001 - never a bare traceback for a bad file
        raise VolumeError(path, f"could not be opened: {exc}") from exc
