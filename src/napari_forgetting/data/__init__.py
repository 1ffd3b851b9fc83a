"""Seismic volumes, SEG-Y I/O and the F3-like synthetic benchmark (numpy, dask, segyio, zarr)."""

from napari_forgetting.data.classes import (
    F3_CLASS_COLORS,
    F3_CLASS_NAMES,
    F3_DISPLAY_NAMES,
    class_colors,
    default_class_names,
)
from napari_forgetting.data.errors import VolumeError
from napari_forgetting.data.segy import SegyCube, open_segy, write_segy
from napari_forgetting.data.volume import SeismicVolume, find_labels, open_volume

__all__ = [
    "F3_CLASS_COLORS",
    "F3_CLASS_NAMES",
    "F3_DISPLAY_NAMES",
    "SegyCube",
    "SeismicVolume",
    "VolumeError",
    "class_colors",
    "default_class_names",
    "find_labels",
    "open_segy",
    "open_volume",
    "write_segy",
]
