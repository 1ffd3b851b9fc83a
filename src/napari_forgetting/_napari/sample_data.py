"""npe2 sample data: the shipped F3-like synthetic volume with its facies labels."""

from __future__ import annotations

import os
from pathlib import Path

from napari_forgetting._napari.layers import volume_layers
from napari_forgetting.data import open_volume


def sample_data_dir() -> Path:
    """``sample_data/`` of a source checkout; elsewhere a cache regenerated deterministically."""
    checkout = Path(__file__).resolve().parents[2] / "sample_data"
    if (checkout / "f3_synthetic.sgy").exists():
        return checkout
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "napari-forgetting"
    if not (cache / "f3_synthetic.sgy").exists():
        from napari_forgetting.data.synthetic import write_sample_data

        write_sample_data(cache)
    return cache


def sample_path() -> Path:
    return sample_data_dir() / "f3_synthetic.sgy"


def f3_synthetic():
    """F3-like synthetic volume (grey seismic) and its six facies classes (Labels)."""
    return volume_layers(open_volume(sample_path()))
