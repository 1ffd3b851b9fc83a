"""Class-specific style transfer (SEAN-style region-adaptive normalisation); torch + data only.

Benkert, Aribido & AlRegib (ICIP 2021), Section 2.2: transfer the visual character of one
class (scruff) from a style-source section onto a target section without changing the
target's geology.

* :mod:`.model` -- :class:`RegionStyleTransfer` (style encoder + SEAN generator),
  :class:`MultiscalePatchDiscriminator`, :func:`mix_styles`.
* :mod:`.losses` -- hinge GAN, feature matching, multi-scale L1 + FFT-magnitude reconstruction.
* :mod:`.train` -- :class:`TransferTrainer`, :class:`TransferConfig` (on the one training
  loop, :mod:`napari_forgetting.training.loop`).
* :mod:`.apply` -- :func:`transfer` (a learned model or the training-free
  :class:`StratalTransfer`), :func:`reconstruct`, :func:`style_matrix`,
  :func:`load_transfer_model`.
* :mod:`.region` -- the class region's seam (:func:`composite`) and :class:`StratalTransfer`.
* :mod:`.character` -- a class region's RMS amplitude, vertical frequency and continuity.
* :mod:`.quality` -- :func:`transfer_quality` against :data:`QUALITY_BAR` on held-out
  triples; reconstruction PSNR vs a section-mean baseline.

This layer never imports Qt, napari or magicgui; it loads torch (the faces import it only
when a transfer runs).
"""

from napari_forgetting.transfer.apply import (
    TRANSFER_METHODS,
    load_transfer_model,
    method_choice,
    method_name,
    reconstruct,
    resolve_method,
    style_matrix,
    transfer,
)
from napari_forgetting.transfer.character import CHARACTER, region_character
from napari_forgetting.transfer.model import (
    MultiscalePatchDiscriminator,
    RegionStyleTransfer,
    TransferModelConfig,
    mix_styles,
)
from napari_forgetting.transfer.quality import (
    QUALITY_BAR,
    QualityBar,
    TooFewSections,
    describe_quality,
    held_out_with_class,
    psnr,
    reconstruction_quality,
    transfer_quality,
    triple_panels,
)
from napari_forgetting.transfer.region import StratalTransfer, composite
from napari_forgetting.transfer.train import TransferConfig, TransferTrainer

__all__ = [
    "CHARACTER",
    "QUALITY_BAR",
    "TRANSFER_METHODS",
    "MultiscalePatchDiscriminator",
    "QualityBar",
    "RegionStyleTransfer",
    "StratalTransfer",
    "TooFewSections",
    "TransferConfig",
    "TransferModelConfig",
    "TransferTrainer",
    "composite",
    "describe_quality",
    "held_out_with_class",
    "load_transfer_model",
    "method_choice",
    "method_name",
    "mix_styles",
    "psnr",
    "reconstruct",
    "reconstruction_quality",
    "region_character",
    "resolve_method",
    "style_matrix",
    "transfer",
    "transfer_quality",
    "triple_panels",
]
