"""The trainers' configs as plain dataclasses: :class:`JsonConfig` (to and from JSON dicts)
and the segmentation trainer's :class:`TrainConfig`.

No torch here: a viewer builds and checks a config from its form on the GUI thread, and
the trainer (and torch, seconds to import) is loaded in the background worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from napari_forgetting.dynamics import NeverLearned

__all__ = ["AUGMENTATIONS", "MODES", "JsonConfig", "TrainConfig"]

MODES = ("sweep", "online", "off")
#: Training-patch augmentations of the paper's comparison (random horizontal flip, random
#: rotation); the support-vector transfer is an extra pool of sections (``extra_pool``).
AUGMENTATIONS = ("none", "flip", "rotate")


class JsonConfig:
    """Mixin of the trainers' dataclass configs: ``to_dict`` (tuples become lists, so the
    dict is JSON as it is) and ``from_dict`` (unknown keys are an error naming them)."""

    def to_dict(self) -> dict[str, Any]:
        items = asdict(self).items()  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in items}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        return cls(**d)


@dataclass
class TrainConfig(JsonConfig):
    """Training hyper-parameters (JSON-serialisable with :meth:`to_dict` / :meth:`from_dict`).

    ``patches_per_epoch`` ``None``: as many patches as cover the training sections' pixels once
    (``ceil(training pixels / patch pixels)``). Optimizer default: Adam, lr 1e-3, no weight
    decay (the F3 benchmark's baselines train with Adam; the paper states no optimizer).
    ``optimizer="sgd"`` uses ``momentum``. ``amp`` only acts on CUDA (bf16/fp16 autocast).
    ``deterministic`` sets ``torch.use_deterministic_algorithms(True, warn_only=True)`` and
    disables the cuDNN benchmark during
    :meth:`~napari_forgetting.training.segmentation.Trainer.fit`. ``track_stats`` adds the
    per-pixel confidence, variability and margin maps (computed on the device from the same
    forward passes). ``never_learned``: the recorded convention for never-learned pixels
    (``"zero"`` -- the paper's Eq. 1-3 --, ``"epochs"`` or ``"sentinel"``). ``augment``:
    ``"flip"`` mirrors each training patch left-right with probability 1/2, ``"rotate"``
    rotates it by a uniform angle in ``[-rotate_degrees, rotate_degrees]`` (bilinear image,
    nearest labels, uncovered corners ignored by the loss); drawn from the trainer's own
    checkpointed RNG, so resumed runs stay identical. ``test_every``: in sweep mode, every
    ``test_every``-th inline and crossline of each test volume is predicted every epoch and
    its forgetting tracked, as the validation sections' (0: the test volumes are only
    evaluated after the last epoch, on all their sections, as always). ``aspp_rates``:
    ``None`` (default) builds the ASPP with rates whose every tap sees features inside a
    training patch (:attr:`rates`); explicit rates that leave taps untrained are recorded as
    such (the trainer's ``untrained_taps``, ``run.json``). ``exclude_validation_traces``: the
    pixels of training sections that lie on a validation trace (where a training inline
    crosses a validation crossline, and vice versa) are left out of the loss, so training
    sees no validation pixel (the paper's split keeps them).
    """

    epochs: int = 60
    batch_size: int = 16
    patch_size: tuple[int, int] = (128, 128)
    patches_per_epoch: int | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0
    device: str | None = None
    output_stride: int = 16
    mode: str = "sweep"
    n_classes: int = 6
    every: int = 5
    num_threads: int | None = None
    amp: bool = True
    deterministic: bool = True
    track_stats: bool = True
    never_learned: str = "zero"
    augment: str = "none"
    rotate_degrees: float = 10.0
    test_every: int = 5
    aspp_rates: tuple[int, ...] | None = None
    augment_share: float = 0.3
    exclude_validation_traces: bool = False
    init_seed: int | None = None
    draw_seed: int | None = None

    @property
    def weights_seed(self) -> int:
        """The initial weights' seed: ``init_seed``, else ``seed``."""
        return int(self.seed if self.init_seed is None else self.init_seed)

    @property
    def draws_seed(self) -> int:
        """The seed of every training draw -- patches, augmentation, the pool-or-training
        choice, dropout: ``draw_seed``, else ``seed``."""
        return int(self.seed if self.draw_seed is None else self.draw_seed)

    def __post_init__(self) -> None:
        self.patch_size = tuple(int(n) for n in self.patch_size)  # type: ignore[assignment]
        if len(self.patch_size) != 2 or min(self.patch_size) < 1:
            raise ValueError(f"patch_size must be two positive sizes, got {self.patch_size}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.optimizer.lower() not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        self.optimizer = self.optimizer.lower()
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError("epochs must be >= 0 and batch_size >= 1")
        if self.patches_per_epoch is not None and self.patches_per_epoch < 1:
            raise ValueError("patches_per_epoch must be >= 1 (or None)")
        if self.test_every < 0 or self.test_every == 1:
            raise ValueError(f"test_every must be 0 or >= 2, got {self.test_every}")
        if not 0 < self.augment_share <= 1:
            raise ValueError(f"augment_share must be in (0, 1], got {self.augment_share}")
        if self.output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {self.output_stride}")
        if self.aspp_rates is not None:
            self.aspp_rates = tuple(int(r) for r in self.aspp_rates)
            if not self.aspp_rates or min(self.aspp_rates) < 1:
                raise ValueError(f"aspp_rates must be rates >= 1, got {self.aspp_rates}")
        if self.exclude_validation_traces and self.mode == "online":
            raise ValueError(
                "exclude_validation_traces hides training pixels from the loss, which online "
                "tracking scores: use mode='sweep'"
            )
        self.never_learned = NeverLearned(self.never_learned).value
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        if self.augment != "none" and self.mode == "online":
            raise ValueError(
                "online tracking scores the training patches as the model sees them; with "
                f"augment={self.augment!r} those pixels move: use mode='sweep'"
            )

    @property
    def rates(self) -> tuple[int, ...]:
        """The ASPP rates the model is built with: :attr:`aspp_rates`, or rates whose every
        tap is trained on patches of :attr:`patch_size`
        (:func:`~napari_forgetting.model.deeplab.trainable_rates`)."""
        if self.aspp_rates is not None:
            return tuple(self.aspp_rates)
        from napari_forgetting.model.deeplab import trainable_rates

        return trainable_rates(self.patch_size, self.output_stride)
