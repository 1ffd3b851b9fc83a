"""Training runs on disk and what is read from them (numpy, zarr; no torch, Qt or napari).

* :mod:`.store` -- :class:`~.store.RunStore`: a run's zarr + JSON folder, written epoch by
  epoch by the segmentation trainer and readable while it is written.
* :mod:`.hotspots` -- a run's sections ranked for a class (forgetting density and the other
  statistics of :mod:`napari_forgetting.dynamics.ranking`); the style sources kept with it.
* :mod:`.geometry` -- where a run's flat per-pixel arrays live in the volume.
* :mod:`.pixel_history` -- one pixel's learning history (click-to-inspect).
"""
