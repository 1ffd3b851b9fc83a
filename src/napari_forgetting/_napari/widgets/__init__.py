"""napari dock widgets (npe2 contributions). Thin: the logic lives in the core packages.

* :mod:`.training` -- live training, run replay / follow, click-to-inspect.
* :mod:`.plots` -- matplotlib plots embedded in Qt (metrics, pixel history).
* :mod:`._live` -- the Qt-free event stream and run geometry behind them.
* :mod:`.hotspots` -- sections ranked by class forgetting density.
* :mod:`.compare` -- a ``compare`` report as Fig. 5: one section under every method.
"""
