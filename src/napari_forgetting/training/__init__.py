"""Training: one loop for every trainer, its callbacks, and the segmentation trainer.

* :mod:`.loop` -- :class:`TrainingLoop`: ``fit()`` / ``fit_steps()``, checkpoints, resume,
  the non-finite loss guard; :class:`JsonConfig`; :class:`TrainingError`.
* :mod:`.segmentation` -- :class:`Trainer` and :class:`TrainConfig`: DeepLabV3-ResNet18 on
  patches, with per-epoch forgetting tracking into a run store.

No Qt, napari or printing here.
"""

from napari_forgetting.training.loop import JsonConfig, TrainingError
from napari_forgetting.training.segmentation import Callback, TrainConfig, Trainer

__all__ = ["Callback", "JsonConfig", "TrainConfig", "Trainer", "TrainingError"]
