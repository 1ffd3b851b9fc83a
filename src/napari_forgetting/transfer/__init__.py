"""Class-specific style transfer (SEAN-style region-adaptive normalisation); torch + data only.

Benkert, Aribido & AlRegib (ICIP 2021), Section 2.2: transfer the visual character of one
class (scruff) from a style-source section onto a target section without changing the
target's geology.

* :mod:`.model` -- :class:`RegionStyleTransfer` (style encoder + SEAN generator),
  :class:`MultiscalePatchDiscriminator`, :func:`mix_styles`.
* :mod:`.losses` -- hinge GAN, feature matching, multi-scale L1 + FFT-magnitude reconstruction.
* :mod:`.train` -- :class:`TransferTrainer`, :class:`TransferConfig` (on the one training
  loop, :mod:`napari_forgetting.training.loop`).
* :mod:`.apply` -- :func:`transfer`, :func:`reconstruct`, :func:`style_matrix`,
  :func:`load_transfer_model`.
* :mod:`.quality` -- reconstruction PSNR vs a section-mean baseline, class specificity,
  source sensitivity.

Names are imported lazily (PEP 562): importing the package does not load torch.

This layer never imports Qt, napari or magicgui.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RegionStyleTransfer": "model",
    "TransferModelConfig": "model",
    "MultiscalePatchDiscriminator": "model",
    "mix_styles": "model",
    "TransferTrainer": "train",
    "TransferConfig": "train",
    "transfer": "apply",
    "reconstruct": "apply",
    "style_matrix": "apply",
    "load_transfer_model": "apply",
    "class_specificity": "quality",
    "reconstruction_quality": "quality",
    "source_sensitivity": "quality",
    "transfer_quality": "quality",
    "psnr": "quality",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
