"""The segmentation model, its metrics and device helpers (torch, torchvision, numpy only).

* :mod:`.deeplab` -- DeepLabV3 on an atrous ResNet-18 (:func:`build_deeplabv3_resnet18`),
  padding helpers and whole-section inference (:func:`predict_section`).
* :mod:`.metrics` -- :class:`ConfusionMatrix` and the F3 facies benchmark metrics.
* :mod:`.device` -- :func:`select_device`, :func:`autocast_context`, :func:`make_grad_scaler`.
* :mod:`.trainer` -- :class:`Trainer`, :class:`TrainConfig`, :class:`Callback`,
  :class:`TrainingError` (patch training with per-epoch forgetting tracking).
* :mod:`.checkpoint` -- atomic ``checkpoint.pt`` save / load.

This layer never imports Qt, napari or magicgui.
"""

from .checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from .deeplab import (
    ASPP_RATES,
    Crop,
    DeepLabV3ResNet18,
    ImagePooling,
    ResNet18Backbone,
    build_deeplabv3_resnet18,
    crop_back,
    pad_to_multiple,
    predict_section,
)
from .device import (
    autocast_context,
    autocast_dtype,
    make_grad_scaler,
    mps_available,
    select_device,
)
from .metrics import ConfusionMatrix, scores_from_matrix
from .trainer import Callback, TrainConfig, Trainer, TrainingError

__all__ = [
    "ASPP_RATES",
    "Callback",
    "ConfusionMatrix",
    "Crop",
    "DeepLabV3ResNet18",
    "ImagePooling",
    "ResNet18Backbone",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "autocast_context",
    "autocast_dtype",
    "build_deeplabv3_resnet18",
    "checkpoint_path",
    "crop_back",
    "load_checkpoint",
    "make_grad_scaler",
    "mps_available",
    "pad_to_multiple",
    "predict_section",
    "save_checkpoint",
    "scores_from_matrix",
    "select_device",
]
