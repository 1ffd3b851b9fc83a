"""The paper's workflow end to end: augmented pool, retraining, method comparison, export.

* :mod:`.data` -- reopen a run's data from its recorded source.
* :mod:`.export` -- F3 ``.npy`` / SEG-Y / zarr exports with a manifest, atomic.
* :mod:`.augment` -- the augmented pool (style transfers from hotspot sections) and
  retraining on it.

This layer never imports Qt or napari.
"""
