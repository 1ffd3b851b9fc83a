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

This layer never imports Qt, napari or magicgui; it loads torch (the faces import it only
when a transfer runs).
"""

from napari_forgetting.transfer.apply import (
    load_transfer_model,
    reconstruct,
    style_matrix,
    transfer,
)
from napari_forgetting.transfer.model import (
    MultiscalePatchDiscriminator,
    RegionStyleTransfer,
    TransferModelConfig,
    mix_styles,
)
from napari_forgetting.transfer.quality import (
    class_specificity,
    psnr,
    reconstruction_quality,
    source_sensitivity,
    transfer_quality,
)
from napari_forgetting.transfer.train import TransferConfig, TransferTrainer

__all__ = [
    "MultiscalePatchDiscriminator",
    "RegionStyleTransfer",
    "TransferConfig",
    "TransferModelConfig",
    "TransferTrainer",
    "class_specificity",
    "load_transfer_model",
    "mix_styles",
    "psnr",
    "reconstruct",
    "reconstruction_quality",
    "source_sensitivity",
    "style_matrix",
    "transfer",
    "transfer_quality",
]
