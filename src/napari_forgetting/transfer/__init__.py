"""Class-specific style transfer (SEAN-style region-adaptive normalisation); torch + data only.

Benkert, Aribido & AlRegib (ICIP 2021), Section 2.2: transfer the visual character of one
class (scruff) from a style-source section onto a target section without changing the
target's geology.

* :mod:`.model` -- :class:`RegionStyleTransfer` (style encoder + SEAN generator),
  :class:`MultiscalePatchDiscriminator`, :func:`mix_styles`.
* :mod:`.losses` -- hinge GAN, feature matching, multi-scale L1 + FFT-magnitude reconstruction.
* :mod:`.config` -- :class:`TransferConfig`, its fields' options (no torch).
* :mod:`.train` -- :class:`TransferTrainer` (on the one training loop,
  :mod:`napari_forgetting.training.loop`).
* :mod:`.apply` -- :func:`transfer` (a learned model or the training-free
  :class:`StratalTransfer`), :func:`reconstruct`, :func:`style_matrix`,
  :func:`load_transfer_model`.
* :mod:`.region` -- the class region's seam (:func:`composite`) and :class:`StratalTransfer`.
* :mod:`.character` -- a class region's RMS amplitude, vertical frequency and continuity.
* :mod:`.quality` -- :func:`transfer_quality` against :data:`QUALITY_BAR` on held-out
  triples; reconstruction PSNR vs a section-mean baseline.

This layer never imports Qt, napari or magicgui; it loads torch (the faces import it only
when a transfer runs). Names are imported lazily (PEP 562): importing :mod:`.config` does not
load torch.
"""

from __future__ import annotations

from napari_forgetting import lazy_exports

_EXPORTS = {
    "CHARACTER": "character",
    "MultiscalePatchDiscriminator": "model",
    "QUALITY_BAR": "quality",
    "QualityBar": "quality",
    "RegionStyleTransfer": "model",
    "StratalTransfer": "region",
    "TRANSFER_METHODS": "apply",
    "TooFewSections": "quality",
    "TransferConfig": "config",
    "TransferModelConfig": "model",
    "TransferTrainer": "train",
    "composite": "region",
    "describe_quality": "quality",
    "held_out_with_class": "quality",
    "load_transfer_model": "apply",
    "method_choice": "apply",
    "method_name": "apply",
    "mix_styles": "model",
    "psnr": "quality",
    "reconstruct": "apply",
    "reconstruction_quality": "quality",
    "region_character": "character",
    "resolve_method": "apply",
    "style_matrix": "apply",
    "transfer": "apply",
    "transfer_quality": "quality",
    "triple_panels": "quality",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
