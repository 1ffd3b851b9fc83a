"""Class-specific style transfer (SEAN-style region-adaptive normalisation); torch + data only.

Benkert, Aribido & AlRegib (ICIP 2021), Section 2.2: transfer the visual character of one
class (scruff) from a style-source section onto a target section without changing the
target's geology.

* :mod:`.model` -- :class:`RegionStyleTransfer` (style encoder + SEAN generator),
  :class:`MultiscalePatchDiscriminator`, :func:`mix_styles`.
* :mod:`.losses` -- hinge GAN, feature matching, multi-scale L1 + FFT-magnitude reconstruction.
* :mod:`.config` -- :class:`TransferConfig`, its fields' options (no torch).
* :mod:`.trainer` -- :class:`TransferTrainer` (on the one training loop,
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

#: The names this package offers, by the module that defines them.
_MODULES = {
    "apply": (
        "TRANSFER_METHODS",
        "load_transfer_model",
        "method_choice",
        "method_name",
        "reconstruct",
        "resolve_method",
        "style_matrix",
        "transfer",
    ),
    "character": ("CHARACTER", "region_character"),
    "config": ("TransferConfig",),
    "model": (
        "MultiscalePatchDiscriminator",
        "RegionStyleTransfer",
        "TransferModelConfig",
        "mix_styles",
    ),
    "quality": (
        "QUALITY_BAR",
        "QualityBar",
        "TooFewSections",
        "describe_quality",
        "held_out_with_class",
        "psnr",
        "reconstruction_quality",
        "transfer_quality",
        "triple_panels",
    ),
    "region": ("StratalTransfer", "composite"),
    "trainer": ("TransferTrainer",),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
