"""The segmentation model, its metrics and device helpers (torch, torchvision, numpy only).

* :mod:`.deeplab` -- DeepLabV3 on an atrous ResNet-18 (:func:`build_deeplabv3_resnet18`),
  padding helpers and whole-section inference (:func:`predict_section`).
* :mod:`.metrics` -- :class:`ConfusionMatrix` and the F3 facies benchmark metrics.
* :mod:`.device` -- :func:`select_device`, :func:`autocast_context`, :func:`make_grad_scaler`.
* :mod:`.checkpoint` -- atomic ``checkpoint.pt`` save / load (tensors and plain types only).

Training lives one layer up, in :mod:`napari_forgetting.training`. This layer never imports
Qt, napari or magicgui.
"""

from napari_forgetting.model.checkpoint import (
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from napari_forgetting.model.deeplab import (
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
from napari_forgetting.model.device import (
    autocast_context,
    autocast_dtype,
    make_grad_scaler,
    mps_available,
    select_device,
)
from napari_forgetting.model.metrics import ConfusionMatrix, scores_from_matrix

__all__ = [
    "ASPP_RATES",
    "CheckpointError",
    "ConfusionMatrix",
    "Crop",
    "DeepLabV3ResNet18",
    "ImagePooling",
    "ResNet18Backbone",
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
