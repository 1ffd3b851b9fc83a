"""napari-forgetting: explain a seismic segmentation model by its forgettable learning dynamics.

The core (``napari_forgetting.data`` and the layers above it) is plain numpy / dask / torch
and never imports Qt or napari; the napari face lives in the private ``_*.py`` modules named
in ``napari.yaml``.
"""

__version__ = "0.1.0"
