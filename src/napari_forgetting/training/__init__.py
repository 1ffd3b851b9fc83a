"""Training: one loop for every trainer, its callbacks, and the segmentation trainer.

* :mod:`.config` -- :class:`JsonConfig` and the segmentation trainer's :class:`TrainConfig`
  (no torch: a viewer checks a config on its GUI thread).
* :mod:`.loop` -- :class:`TrainingLoop`: ``fit()`` / ``fit_steps()``, checkpoints, resume,
  the non-finite loss guard; :class:`TrainingError`.
* :mod:`.callbacks` -- the one :class:`Callback` base and the command line's
  :class:`ProgressBar`.
* :mod:`.steps` -- the loop's typed steps and :func:`drain`, which runs any step generator
  to its end.
* :mod:`.live` -- :func:`live_events`: training as events for a live view.
* :mod:`.segmentation` -- :class:`Trainer`: DeepLabV3-ResNet18 on patches, with per-epoch
  forgetting tracking into a run store.
* :mod:`.segmenter` -- :func:`load_segmenter`: a run's trained model, frozen, as a function of
  a section (the transfer quality's label fidelity).

Names are imported lazily (PEP 562): importing :mod:`.config`, :mod:`.steps`,
:mod:`.live` or :mod:`.callbacks` does not load torch. No Qt, napari or printing here.
"""

from __future__ import annotations

from napari_forgetting import lazy_exports

_EXPORTS = {
    "Callback": "callbacks",
    "ProgressBar": "callbacks",
    "JsonConfig": "config",
    "TrainingError": "loop",
    "TrainingLoop": "loop",
    "TrainConfig": "config",
    "Segmenter": "segmenter",
    "Trainer": "segmentation",
    "load_segmenter": "segmenter",
    "live_events": "live",
    "drain": "steps",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
