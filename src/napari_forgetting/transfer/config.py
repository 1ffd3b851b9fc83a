"""The transfer trainer's config, :class:`TransferConfig`, a plain dataclass whose fields
carry their options (:mod:`napari_forgetting.training.options`).

No torch at import: the command line builds its ``transfer-train`` options and the Transfer
dock its form from these fields; checking a config's architecture
(:meth:`TransferConfig.model_config`) loads :mod:`.model`, and torch with it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from napari_forgetting.training.config import PYTHON_API, JsonConfig, shared
from napari_forgetting.training.options import option

if TYPE_CHECKING:
    from napari_forgetting.transfer.model import TransferModelConfig

__all__ = ["TransferConfig"]

#: Why the command line offers no option for the architecture and the losses.
MEASURED = (
    "the architecture and losses measured in benchmarks/bench_transfer.py; the Python API "
    "changes them"
)


@dataclass
class TransferConfig(JsonConfig):
    """Transfer training hyper-parameters (JSON-serialisable: :meth:`to_dict`/:meth:`from_dict`).

    Architecture: ``n_classes``, ``style_dim``, ``ngf``, ``n_up``, ``encoder_width``,
    ``spade_hidden`` (see :class:`~.model.TransferModelConfig`); ``ndf``, ``num_d``,
    ``n_layers_d`` for the discriminator. Losses: ``gan_weight`` (hinge), ``fm_weight``
    (feature matching), ``l1_weight`` (multi-scale L1 over ``rec_scales`` scales),
    ``spectral_weight`` (FFT magnitude), ``style_weight`` (the style-swap character loss:
    a region generated with another patch's code must take that patch's RMS and
    correlations, :meth:`~.trainer.TransferTrainer._swap_losses`, for classes with
    ``swap_min_pixels``), ``cycle_weight`` (the swapped code read back). ``gan_weight =
    fm_weight = 0`` (the default) trains without the discriminator: the swap losses, not
    the GAN, make the codes matter (the GAN-trained model without them gives |T(A) - T(B)| of
    0.011 std inside the class; ``benchmarks/bench_transfer.py``).
    ``exemplar`` (default on): the generator also sees the patch with its class regions laid
    along their own strata (:func:`~.region.stratal_exemplar`), and in the swap pass one
    class region laid from the next patch
    (:meth:`~.trainer.TransferTrainer._swap_exemplars`); without it |T(A) - T(B)| reached
    0.217 std, with it 0.742 (``bench_transfer.py``). Optimisers: Adam, ``lr_g`` / ``lr_d``,
    ``betas``. ``patches_per_epoch`` ``None``: cover the training pixels once.
    ``eval_sections``: validation sections whose reconstruction PSNR is measured per epoch
    (0: none).
    """

    # The fields carry their options (napari_forgetting.training.options). dock "value": the
    # Transfer dock trains a small model in minutes (3 epochs of 32 patches 32 x 32, width 8,
    # batch 4, one PSNR section per epoch), not transfer-train's measured default.
    epochs: int = option(20, "transfer-model training epochs", min=1, dock={"value": 3})
    batch_size: int = shared("batch_size", 8, dock_value=4)
    patch_size: tuple[int, int] = shared("patch_size", (64, 64), dock_value=(32, 32))
    patches_per_epoch: int | None = shared("patches_per_epoch", None, dock_value=32)
    lr_g: float = option(
        5e-4,
        "learning rate of the generator and the discriminator",
        flag="--lr",
        above=0,
        also=("lr_d",),
    )
    lr_d: float = option(5e-4, "the discriminator's learning rate", above=0)
    betas: tuple[float, float] = option((0.5, 0.999), "Adam's betas", no_flag=PYTHON_API)
    n_classes: int = option(6, "number of classes", flag="--class-count", min=1)
    style_dim: int = option(32, "style code channels", min=1)
    ngf: int = option(
        32,
        "width of the generator (channels; the discriminator's too)",
        min=1,
        also=("ndf",),
        label="width (ngf)",
        dock={"value": 8, "also": ("style_dim", "encoder_width")},
    )
    n_up: int = option(3, "the generator's 2x upsamplings", min=1, max=6, no_flag=MEASURED)
    encoder_width: int = option(16, "the style encoder's base width", min=1, no_flag=MEASURED)
    spade_hidden: int | None = option(
        None, "the SPADE branch's hidden channels", min=1, none="ngf", no_flag=MEASURED
    )
    character_code: bool = option(
        True, "append the region's measured character to each code", no_flag=MEASURED
    )
    exemplar: bool = option(True, "the stratal exemplar input", no_flag=MEASURED)
    ndf: int = option(32, "width of the discriminator", min=1)
    num_d: int = option(2, "discriminator scales", min=1, no_flag=MEASURED)
    n_layers_d: int = option(3, "layers of each discriminator", min=1, no_flag=MEASURED)
    gan_weight: float = option(0.0, "hinge GAN loss weight", min=0, no_flag=MEASURED)
    fm_weight: float = option(0.0, "feature matching loss weight", min=0, no_flag=MEASURED)
    l1_weight: float = option(10.0, "multi-scale L1 loss weight", min=0, no_flag=MEASURED)
    spectral_weight: float = option(2.0, "FFT magnitude loss weight", min=0, no_flag=MEASURED)
    rec_scales: int = option(3, "scales of the L1 loss", min=1, no_flag=MEASURED)
    style_weight: float = option(10.0, "style-swap character loss weight", min=0, no_flag=MEASURED)
    cycle_weight: float = option(1.0, "swapped-code cycle loss weight", min=0, no_flag=MEASURED)
    swap_min_pixels: int = option(
        32, "fewest class pixels for the swap losses", min=2, no_flag=MEASURED
    )
    eval_sections: int = option(
        4,
        "validation sections whose reconstruction PSNR is measured per epoch (0: none)",
        min=0,
        no_flag=PYTHON_API,
        dock={"value": 1},
    )
    seed: int = option(0, "training seed", min=0)
    device: str | None = shared("device", None)
    every: int = shared("every", 5, no_flag="the segmentation runs' validation sections, 5")
    num_threads: int | None = shared("num_threads", None)
    amp: bool = shared("amp", True)
    deterministic: bool = shared("deterministic", True)

    def __post_init__(self) -> None:
        self.patch_size = tuple(int(n) for n in self.patch_size)  # type: ignore[assignment]
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]
        if len(self.patch_size) != 2 or min(self.patch_size) < 1:
            raise ValueError(f"patch_size must be two positive sizes, got {self.patch_size}")
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError("epochs must be >= 0 and batch_size >= 1")
        if self.patches_per_epoch is not None and self.patches_per_epoch < 1:
            raise ValueError("patches_per_epoch must be >= 1 (or None)")
        weights = (self.gan_weight, self.fm_weight, self.l1_weight, self.spectral_weight,
                   self.style_weight, self.cycle_weight)  # fmt: skip
        if self.swap_min_pixels < 2:
            raise ValueError("swap_min_pixels must be >= 2")
        if min(weights) < 0:
            raise ValueError("loss weights must be >= 0")
        if self.rec_scales < 1 or self.eval_sections < 0:
            raise ValueError("rec_scales must be >= 1 and eval_sections >= 0")
        self.model_config()  # validates the architecture

    def model_config(self) -> TransferModelConfig:
        """The :class:`~.model.TransferModelConfig` part: its fields, named as here (imports
        torch)."""
        from napari_forgetting.transfer.model import TransferModelConfig

        return TransferModelConfig(
            **{f.name: getattr(self, f.name) for f in fields(TransferModelConfig)}
        )

    @property
    def uses_discriminator(self) -> bool:
        return self.gan_weight > 0 or self.fm_weight > 0
