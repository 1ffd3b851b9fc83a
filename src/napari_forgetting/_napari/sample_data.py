"""npe2 sample data: the shipped F3-like synthetic volume with its facies labels."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from napari_forgetting._napari.layers import show_depth_down_when_opened, volume_layers
from napari_forgetting.data import open_volume

#: ``sample_data/`` of a source checkout (an editable install), whether it exists or not.
CHECKOUT_SAMPLE_DIR = Path(__file__).resolve().parents[3] / "sample_data"


#: Where a wheel installs the same files (pyproject's ``tool.setuptools.data-files``),
#: relative to the environment's prefix.
INSTALLED_SAMPLE_DIR = Path("share") / "napari-forgetting" / "sample_data"


def sample_data_dir() -> Path:
    """The shipped sample: ``sample_data/`` of a source checkout, else the copy a wheel
    installed under ``<sys.prefix>/share/napari-forgetting/sample_data``; only where neither
    exists (a ``--user`` or ``--target`` install) a cache regenerated deterministically.

    This file is ``src/napari_forgetting/_napari/sample_data.py``: the checkout's root is
    three folders up (``parents[3]``).
    """
    for shipped in (CHECKOUT_SAMPLE_DIR, Path(sys.prefix) / INSTALLED_SAMPLE_DIR):
        if (shipped / "f3_synthetic.sgy").exists():
            return shipped
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "napari-forgetting"
    if not (cache / "f3_synthetic.sgy").exists():
        from napari_forgetting.data.synthetic import write_sample_data

        write_sample_data(cache)
    return cache


def sample_path() -> Path:
    return sample_data_dir() / "f3_synthetic.sgy"


def f3_synthetic():
    """F3-like synthetic volume (grey seismic) and its six facies classes (Labels)."""
    return show_depth_down_when_opened(volume_layers(open_volume(sample_path())))
