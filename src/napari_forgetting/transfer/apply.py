"""Applying a trained transfer model: class-specific style transfer between sections.

:func:`transfer` keeps the target section's style codes for every class except ``class_id``,
whose code comes from the style source, and generates from the *target's* labels: the result
has the target's shape and geology (labels); only the character of ``class_id`` changes.
Target and source may differ in width (codes are per class, not per pixel), not in sample count.

Images are 2-D depth-down sections in the training volume's amplitude units: they are
normalised with the model's ``amplitude_stats`` (the training volume's ``(mean, std)``) and
results are scaled back. Labels are 2-D integer class ids ``0 .. n_classes - 1``.

Inference runs in ``eval()`` mode in float32 (BatchNorm running statistics, the texture noise
drawn with the fixed seed :data:`NOISE_SEED`), so it is deterministic and local: see
:mod:`.model`. Only the target's ``class_id`` region changes (:func:`~.region.composite`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_forgetting.data.errors import one_line
from napari_forgetting.model.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
from napari_forgetting.transfer.model import RegionStyleTransfer, TransferModelConfig, mix_styles
from napari_forgetting.transfer.region import StratalTransfer, composite, stratal_exemplar

__all__ = [
    "TRANSFER_METHODS",
    "load_transfer_model",
    "resolve_method",
    "reconstruct",
    "style_matrix",
    "transfer",
]

ModelLike = RegionStyleTransfer | str | os.PathLike
#: The seed of the generator's texture noise at inference: every transfer and reconstruction
#: of a section of a given size sees the same noise field, so results are reproducible and
#: two transfers onto one target differ only through their style codes.
NOISE_SEED = 0
#: What :func:`transfer` accepts: a learned model (or its checkpoint) or a training-free method.
MethodLike = RegionStyleTransfer | StratalTransfer | str | os.PathLike
#: The transfer methods a user chooses between (``--transfer-method``): ``learned`` (a model
#: of :class:`~.trainer.TransferTrainer`, given by its checkpoint) and ``stratal``
#: (:class:`~.region.StratalTransfer`, training-free).
TRANSFER_METHODS = ("learned", "stratal")


def method_choice(method: str | None, has_checkpoint: bool) -> str:
    """The method a ``--transfer-method`` value names: ``None`` is learned when a checkpoint
    is given, else stratal. Raises ``ValueError`` for an unknown name and for ``stratal``
    with a checkpoint."""
    if method is None:
        return "learned" if has_checkpoint else "stratal"
    if method not in TRANSFER_METHODS:
        choices = " or ".join(TRANSFER_METHODS)
        raise ValueError(f"unknown transfer method {method!r}; choose {choices}")
    if method == "stratal" and has_checkpoint:
        raise ValueError("the stratal transfer is training-free: it takes no checkpoint")
    return method


def method_name(method: MethodLike) -> str:
    """How figures and pools name a method: a training-free one by its ``name``, any model
    or checkpoint ``learned``."""
    return method.name if isinstance(method, StratalTransfer) else "learned"


def resolve_method(method: str | None, checkpoint: Any = None) -> MethodLike:
    """What :func:`transfer` takes for a method name (:func:`method_choice`): the
    ``checkpoint`` (a path or a model) for ``learned``, a :class:`~.region.StratalTransfer`
    for ``stratal``. Raises ``ValueError`` as :func:`method_choice` does, and for ``learned``
    without a checkpoint."""
    if method_choice(method, checkpoint is not None) == "stratal":
        return StratalTransfer()
    if checkpoint is None:
        raise ValueError(
            "the learned transfer needs a checkpoint (napari-forgetting transfer-train)"
        )
    return checkpoint


def load_transfer_model(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    *,
    n_classes: int | None = None,
) -> RegionStyleTransfer:
    """The :class:`RegionStyleTransfer` of a transfer checkpoint, in ``eval()`` mode.

    ``path`` is the ``checkpoint.pt`` written by :class:`~.trainer.TransferTrainer` or its
    ``out_dir``; the model is moved to ``device``. ``n_classes`` (optional): the class count
    of the caller's data; a checkpoint trained for another count raises :class:`ValueError`.
    Load only checkpoints you trust (they are unpickled).
    """
    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    state = load_checkpoint(p, map_location="cpu")
    if state.get("kind") != "napari_forgetting.transfer" or "model_config" not in state:
        raise ValueError(f"{p} is not a style transfer checkpoint")
    try:
        config = TransferModelConfig.from_dict(state["model_config"])
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{p}: its model_config does not fit ({exc})") from None
    if n_classes is not None and int(n_classes) != config.n_classes:
        raise ValueError(f"{p} was trained for {config.n_classes} classes, not {int(n_classes)}")
    model = RegionStyleTransfer(config)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{p}: its tensors do not fit the model ({one_line(exc, last=True)})"
        ) from None
    model.to(device)
    return model.eval()


def _resolve(model_or_checkpoint: ModelLike, n_classes: int | None) -> RegionStyleTransfer:
    if isinstance(model_or_checkpoint, RegionStyleTransfer):
        model = model_or_checkpoint
        if n_classes is not None and int(n_classes) != model.n_classes:
            raise ValueError(
                f"the model was trained for {model.n_classes} classes, not {int(n_classes)}"
            )
        return model
    if isinstance(model_or_checkpoint, (str, os.PathLike)):
        return load_transfer_model(model_or_checkpoint, n_classes=n_classes)
    raise TypeError(
        f"expected a RegionStyleTransfer or a checkpoint path, got {type(model_or_checkpoint)!r}"
    )


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _stats(model: RegionStyleTransfer) -> tuple[float, float]:
    mean, std = (float(v) for v in model.amplitude_stats)
    return mean, (std if np.isfinite(std) and std > 0 else 1.0)


def _section_tensors(
    model: RegionStyleTransfer, image: Any, labels: Any, role: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked ``(1, 1, H, W)`` normalised image and ``(1, H, W)`` labels on the model's device."""
    img, lab = _checked_section(image, labels, role, model.n_classes)
    mean, std = _stats(model)
    device = _device(model)
    x = torch.from_numpy(((img.astype(np.float64) - mean) / std).astype(np.float32))
    return x[None, None].to(device), torch.from_numpy(lab)[None].to(device)


def _exemplar(model: RegionStyleTransfer, exemplar: np.ndarray) -> torch.Tensor | None:
    """An exemplar-conditioned model's input ``(1, 1, H, W)`` (normalised); ``None`` for a
    model without one."""
    if not model.config.exemplar:
        return None
    mean, std = _stats(model)
    x = torch.from_numpy(((exemplar.astype(np.float64) - mean) / std).astype(np.float32))
    return x[None, None].to(_device(model))


def _to_image(model: RegionStyleTransfer, out: torch.Tensor) -> np.ndarray:
    mean, std = _stats(model)
    y = out[0, 0].detach().float().cpu().numpy().astype(np.float64)
    return (y * std + mean).astype(np.float32)


class _Eval:
    """``eval()`` for the duration of a block; the previous mode is restored afterwards."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def __enter__(self) -> None:
        self.was_training = self.model.training
        self.model.eval()

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)


@torch.no_grad()
def style_matrix(
    model_or_checkpoint: ModelLike, image: Any, labels: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``(style (n_classes, code_dim) float32, present (n_classes,) bool)`` of one section."""
    model = _resolve(model_or_checkpoint, None)
    x, y = _section_tensors(model, image, labels, "section")
    with _Eval(model):
        style, present = model.encode_style(x, y)
    return style[0].cpu().numpy(), present[0].cpu().numpy()


@torch.no_grad()
def reconstruct(model_or_checkpoint: ModelLike, image: Any, labels: Any) -> np.ndarray:
    """The model's reconstruction of a section from its own labels and style codes (an
    exemplar model's exemplar: every class region laid along its own strata,
    :func:`~.region.stratal_exemplar`)."""
    model = _resolve(model_or_checkpoint, None)
    x, y = _section_tensors(model, image, labels, "section")
    ex = None
    if model.config.exemplar:
        img, lab = np.asarray(image), np.asarray(labels)
        ex = _exemplar(model, stratal_exemplar(img, lab, np.unique(lab)))
    with _Eval(model):
        style, _ = model.encode_style(x, y)
        out = model.generate(y, style, noise_seed=NOISE_SEED, exemplar=ex)
    return _to_image(model, out)


def transfer(
    model_or_checkpoint: MethodLike,
    target_image: Any,
    target_labels: Any,
    source_image: Any,
    source_labels: Any,
    class_id: int,
    *,
    n_classes: int | None = None,
) -> np.ndarray:
    """Transfer the style of class ``class_id`` from a source section onto a target section.

    Parameters
    ----------
    model_or_checkpoint
        A :class:`RegionStyleTransfer` or the path of a transfer checkpoint (or its folder),
        or the training-free :class:`~.region.StratalTransfer`.
    target_image, target_labels
        The target section ``(H, W)`` (amplitudes) and its class ids ``(H, W)``.
    source_image, source_labels
        The style source ``(H, W2)``: any width, but as many samples per trace as the target
        (a section of the same survey; frequencies are compared per sample).
    class_id
        The class whose style is transferred; it must occur in both sections.
    n_classes
        Optional check: the class count of the caller's data must equal the model's.

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W)``: the target outside its ``class_id`` region, the transferred
        pixels inside it, cross-faded with the target on its edge (:func:`~.region.composite`).
        A learned model generates the region from the target's labels with the target's
        style codes for every class but ``class_id``, whose code comes from the source.

    Raises
    ------
    ValueError
        ``class_id`` out of range or absent from the source or the target; image / label
        shapes that differ; a source and a target with different sample counts; label ids
        outside the model's classes; a checkpoint trained for another class count
        (``n_classes``).
    """
    if isinstance(model_or_checkpoint, StratalTransfer):
        t_img, t_lab, s_img, s_lab, k = _checked_pair(
            target_image, target_labels, source_image, source_labels, class_id, n_classes
        )
        moved = model_or_checkpoint.fill(t_lab, s_img, s_lab, k, target_image=t_img)
        return composite(t_img, moved, t_lab == k)
    model = _resolve(model_or_checkpoint, n_classes)
    t_img, t_lab, s_img, s_lab, k = _checked_pair(
        target_image, target_labels, source_image, source_labels, class_id, model.n_classes
    )
    generated = _generate_transfer(model, t_img, t_lab, s_img, s_lab, k)
    return composite(t_img, generated, t_lab == k)


@torch.no_grad()
def _generate_transfer(
    model: RegionStyleTransfer,
    t_img: np.ndarray,
    t_lab: np.ndarray,
    s_img: np.ndarray,
    s_lab: np.ndarray,
    k: int,
) -> np.ndarray:
    """The generator's whole section from the target's labels and codes, class ``k``'s code
    from the source (not yet composited). An exemplar model also sees the target with the
    source's class region laid along the target's strata (:func:`~.region.stratal_exemplar`)."""
    xt, yt = _section_tensors(model, t_img, t_lab, "target")
    xs, ys = _section_tensors(model, s_img, s_lab, "source")
    ex = None
    if model.config.exemplar:
        ex = _exemplar(model, stratal_exemplar(t_img, t_lab, [k], s_img, s_lab))
    with _Eval(model):
        style_t, _ = model.encode_style(xt, yt)
        style_s, _ = model.encode_style(xs, ys)
        out = model.generate(
            yt, mix_styles(style_t, style_s, k), noise_seed=NOISE_SEED, exemplar=ex
        )
    return _to_image(model, out)


def _checked_section(
    image: Any, labels: Any, role: str, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D float image and int64 labels of equal shape, finite, ids in ``0..n_classes-1``."""
    img = np.asarray(image)
    lab = np.asarray(labels)
    if img.ndim != 2 or lab.ndim != 2:
        raise ValueError(
            f"{role} image and labels must be 2-D sections, got shapes {img.shape} and {lab.shape}"
        )
    if img.shape != lab.shape:
        raise ValueError(f"{role} image {img.shape} and labels {lab.shape} differ in shape")
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.all(np.equal(np.mod(lab, 1), 0)):
            raise ValueError(f"{role} labels must be integer class ids")
    if not np.all(np.isfinite(img)):
        raise ValueError(f"{role} image holds NaN or infinite amplitudes")
    lab = lab.astype(np.int64)
    lo, hi = int(lab.min()), int(lab.max())
    if lo < 0 or (n_classes is not None and hi >= n_classes):
        raise ValueError(
            f"{role} labels hold class id {hi if lo >= 0 else lo}, but the "
            f"model was trained for {n_classes} classes (0..{n_classes - 1})"
            if lo >= 0
            else f"{role} labels hold the negative class id {lo}"
        )
    return img.astype(np.float32, copy=False), lab


def _checked_pair(
    target_image: Any,
    target_labels: Any,
    source_image: Any,
    source_labels: Any,
    class_id: int,
    n_classes: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Checked target and source sections of one sample count, and the class."""
    t_img, t_lab = _checked_section(target_image, target_labels, "target", n_classes)
    s_img, s_lab = _checked_section(source_image, source_labels, "source", n_classes)
    if t_img.shape[0] != s_img.shape[0]:
        raise ValueError(
            f"the target has {t_img.shape[0]} samples per trace and the source "
            f"{s_img.shape[0]}: a style source must be a section of the same survey (the "
            "same sample count), or its frequencies would not be the target's"
        )
    return t_img, t_lab, s_img, s_lab, _checked_class(class_id, t_lab, s_lab, n_classes)


def _checked_class(
    class_id: int, t_lab: np.ndarray, s_lab: np.ndarray, n_classes: int | None
) -> int:
    k = int(class_id)
    if k < 0 or (n_classes is not None and k >= n_classes):
        raise ValueError(
            f"class_id {class_id} outside 0..{n_classes - 1} (the model has {n_classes} classes)"
            if n_classes is not None
            else f"class_id {class_id} is negative"
        )
    if not (s_lab == k).any():
        raise ValueError(f"class {k} does not occur in the style source: nothing to transfer")
    if not (t_lab == k).any():
        raise ValueError(f"class {k} does not occur in the target: nowhere to transfer to")
    return k
