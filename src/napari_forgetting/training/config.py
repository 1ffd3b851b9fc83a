"""The trainers' configs as plain dataclasses: :class:`JsonConfig` (to and from JSON dicts),
the segmentation trainer's :class:`TrainConfig`, and what both trainers' configs say of the
fields they share (:data:`SHARED`, :func:`shared`). Each field carries its options
(:mod:`.options`): the command line's and the docks' are derived from it.

No torch here: a viewer builds and checks a config from its form on the GUI thread, and
the trainer (and torch, seconds to import) is loaded in the background worker.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from napari_forgetting.dynamics import NeverLearned
from napari_forgetting.training.options import option

__all__ = [
    "AUGMENTATIONS",
    "EXECUTION",
    "MODES",
    "PYTHON_API",
    "SHARED",
    "JsonConfig",
    "TrainConfig",
    "shared",
]

MODES = ("sweep", "online", "off")
#: Training-patch augmentations of the paper's comparison (random horizontal flip, random
#: rotation); the support-vector transfer is an extra pool of sections (``extra_pool``).
AUGMENTATIONS = ("none", "flip", "rotate")

#: Why the command line offers no option for a field (``Option.no_flag``).
PYTHON_API = "the command line keeps the default; the Python API (the config) changes it"
EXECUTION = "how a run executes, not what it learns: every command line run keeps the default"
CONTROL = "compare's {} control sets it per job"
#: What both trainers' configs say of the fields they share (:func:`~.options.option`'s
#: keywords but the default, :func:`shared`). ``device``: the command line takes any torch
#: device, the docks offer the kinds beside ``auto`` (the default ``None``); the docks choose
#: the threads themselves (``gui_friendly_threads``); a patch side steps by 16 in the docks,
#: the output stride.
SHARED: dict[str, dict[str, Any]] = {
    "batch_size": {"help": "patches per optimiser step", "min": 1},
    "patch_size": {
        "help": "training patch size, in pixels",
        "min": 1,
        "metavar": ("ROWS", "COLS"),
        "dock": {"min": 16, "step": 16},
    },
    "patches_per_epoch": {
        "help": "training patches drawn per epoch",
        "min": 1,
        "none": "as many as cover the training pixels once",
        "label": "patches / epoch",
    },
    "device": {
        "help": "cpu, cuda, cuda:N or mps",
        "none": "the best available: CUDA, else MPS, else CPU",
        "dock": {"choices": ("cpu", "cuda", "mps")},
    },
    "every": {
        "help": "validation sections: every N-th inline and crossline, held out of training "
        "and evaluated",
        "min": 2,
        "label": "validation every",
    },
    "num_threads": {
        "help": "torch CPU threads per training run",
        "flag": "--threads",
        "min": 1,
        "none": "torch's",
    },
    "amp": {"help": "autocast (bf16/fp16) on CUDA", "no_flag": EXECUTION},
    "deterministic": {"help": "deterministic algorithms", "no_flag": EXECUTION},
}


def shared(name: str, default: Any, dock_value: Any = MISSING, **kw: Any) -> Any:
    """The field ``name`` that both trainers' configs have (:data:`SHARED`), with this
    config's ``default``, where given where its dock starts (``dock_value``), and ``kw``
    (``no_flag``: why this config's command line does not offer it)."""
    kw = {**SHARED[name], **kw}
    if dock_value is not MISSING:
        kw["dock"] = {**kw.get("dock", {}), "value": dock_value}
    return option(default, **kw)


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

    # The fields carry their options (:mod:`.options`): the command line's and the docks'.
    # dock "value": the Live training dock starts with a run of minutes (the tutorial's),
    # not the paper's hours.
    epochs: int = option(
        60,
        "passes over the training patches; forgetting is counted between epochs",
        min=1,
        dock={"value": 30},
    )
    batch_size: int = shared("batch_size", 16, dock_value=8)
    patch_size: tuple[int, int] = shared("patch_size", (128, 128), dock_value=(64, 64))
    patches_per_epoch: int | None = shared("patches_per_epoch", None, dock_value=32)
    optimizer: str = option("adam", "the optimiser", choices=("adam", "sgd"), no_flag=PYTHON_API)
    lr: float = option(1e-3, "learning rate", above=0, label="learning rate")
    momentum: float = option(0.9, "SGD's momentum", min=0, no_flag=PYTHON_API)
    weight_decay: float = option(0.0, "weight decay", min=0, no_flag=PYTHON_API)
    seed: int = option(
        0,
        "the training seed (initial weights, patch order); run two seeds to see how stable a "
        "map is",
        min=0,
    )
    device: str | None = shared("device", None)
    output_stride: int = option(16, "the backbone's output stride", choices=(8, 16))
    mode: str = option(
        "sweep",
        "forgetting tracking: sweep predicts the tracked sections after each epoch (the "
        "paper's), online scores them as they are trained on, off tracks nothing",
        choices=MODES,
        label="tracking",
    )
    n_classes: int = option(6, "classes of the labels", min=1, no_flag="the data's classes")
    every: int = shared("every", 5)
    num_threads: int | None = shared("num_threads", None)
    amp: bool = shared("amp", True)
    deterministic: bool = shared("deterministic", True)
    track_stats: bool = option(
        True, "the per-pixel confidence, variability and margin maps", flag="--no-stats"
    )
    never_learned: str = option(
        "zero",
        "score of never-learned pixels (the mask is always stored)",
        choices=tuple(n.value for n in NeverLearned),
    )
    augment: str = option(
        "none",
        "training-patch augmentation",
        choices=AUGMENTATIONS,
        no_flag="an arm of compare (flip, rotate) sets it per job",
    )
    rotate_degrees: float = option(
        10.0, "the largest rotation of augment='rotate'", above=0, no_flag=PYTHON_API
    )
    test_every: int = option(
        5,
        "track every N-th test inline and crossline each epoch (sweep mode; 0: only evaluate "
        "all of them after the last epoch)",
        min=0,
    )
    aspp_rates: tuple[int, ...] | None = option(
        None,
        "the ASPP's dilation rates",
        min=1,
        none="rates whose every tap sees features inside a training patch",
        no_flag="the rates follow the patch size (rates); explicit ones are for the Python API",
    )
    augment_share: float = option(
        0.3,
        "share of a batch's positions augmented (augment, or an extra pool)",
        above=0,
        max=1,
        no_flag=PYTHON_API,
    )
    exclude_validation_traces: bool = option(
        False,
        "leave the training pixels that lie on validation traces out of the loss (the paper's "
        "split keeps them: validation and training sections cross at single traces)",
    )
    init_seed: int | None = option(
        None, "the initial weights' seed", min=0, none="seed", no_flag=CONTROL.format("reinit")
    )
    draw_seed: int | None = option(
        None, "the training draws' seed", min=0, none="seed", no_flag=CONTROL.format("redraw")
    )

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
