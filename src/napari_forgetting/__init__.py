"""napari-forgetting: explain a seismic segmentation model by its forgettable learning dynamics.

Two faces over one core. The core -- ``data`` (volumes, SEG-Y, the synthetic benchmark,
sections, writers), ``dynamics`` (forgetting events and statistics, pure numpy), ``model``
(the network, metrics, checkpoints), ``runs`` (the run store, hotspots), ``training`` (one
loop for both trainers), ``transfer`` (the style transfer) and ``workflow`` (pool, retrain,
export, comparison) -- never imports Qt or napari. The command line is ``cli``; the napari
plugin is ``_napari``, named in ``napari.yaml``. ``pyproject.toml`` holds the layer order as
import-linter contracts.
"""

__version__ = "0.1.0"
