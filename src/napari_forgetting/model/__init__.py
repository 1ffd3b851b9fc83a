"""The segmentation model, its metrics and device helpers (torch, torchvision, numpy only).

* :mod:`.deeplab` -- DeepLabV3 on an atrous ResNet-18 (:func:`build_deeplabv3_resnet18`),
  padding helpers and whole-section inference (:func:`predict_section`).
* :mod:`.metrics` -- :class:`ConfusionMatrix` and the F3 facies benchmark metrics.
* :mod:`.device` -- :func:`select_device`, :func:`autocast_context`, :func:`make_grad_scaler`.

This layer never imports Qt, napari or magicgui.
"""

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

__all__ = [
    "ASPP_RATES",
    "ConfusionMatrix",
    "Crop",
    "DeepLabV3ResNet18",
    "ImagePooling",
    "ResNet18Backbone",
    "autocast_context",
    "autocast_dtype",
    "build_deeplabv3_resnet18",
    "crop_back",
    "make_grad_scaler",
    "mps_available",
    "pad_to_multiple",
    "predict_section",
    "scores_from_matrix",
    "select_device",
]
