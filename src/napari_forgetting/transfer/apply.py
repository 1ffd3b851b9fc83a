"""Applying a trained transfer model: class-specific style transfer between sections.

:func:`transfer` keeps the target section's style codes for every class except ``class_id``,
whose code comes from the style source, and generates from the *target's* labels: the result
has the target's shape and geology (labels); only the character of ``class_id`` changes.
Target and source may have different sizes (codes are per class, not per pixel).

Images are 2-D depth-down sections in the training volume's amplitude units: they are
normalised with the model's ``amplitude_stats`` (the training volume's ``(mean, std)``) and
results are scaled back. Labels are 2-D integer class ids ``0 .. n_classes - 1``.

Inference runs in ``eval()`` mode in float32 (BatchNorm running statistics, no noise), so it
is deterministic and local: see :mod:`.model`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_forgetting.model.checkpoint import CHECKPOINT_NAME, load_checkpoint
from napari_forgetting.transfer.model import RegionStyleTransfer, TransferModelConfig, mix_styles

__all__ = [
    "load_transfer_model",
    "reconstruct",
    "style_matrix",
    "transfer",
]

ModelLike = RegionStyleTransfer | str | os.PathLike


def load_transfer_model(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    *,
    n_classes: int | None = None,
) -> RegionStyleTransfer:
    """The :class:`RegionStyleTransfer` of a transfer checkpoint, in ``eval()`` mode.

    ``path`` is the ``checkpoint.pt`` written by :class:`~.train.TransferTrainer` or its
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
    config = TransferModelConfig.from_dict(state["model_config"])
    if n_classes is not None and int(n_classes) != config.n_classes:
        raise ValueError(f"{p} was trained for {config.n_classes} classes, not {int(n_classes)}")
    model = RegionStyleTransfer(config)
    model.load_state_dict(state["model"])
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
    if lo < 0 or hi >= model.n_classes:
        raise ValueError(
            f"{role} labels hold class id {hi if hi >= model.n_classes else lo}, but the "
            f"model was trained for {model.n_classes} classes (0..{model.n_classes - 1})"
        )
    mean, std = _stats(model)
    device = _device(model)
    x = torch.from_numpy(((img.astype(np.float64) - mean) / std).astype(np.float32))
    return x[None, None].to(device), torch.from_numpy(lab)[None].to(device)


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
    """``(style (n_classes, style_dim) float32, present (n_classes,) bool)`` of one section."""
    model = _resolve(model_or_checkpoint, None)
    x, y = _section_tensors(model, image, labels, "section")
    with _Eval(model):
        style, present = model.encode_style(x, y)
    return style[0].cpu().numpy(), present[0].cpu().numpy()


@torch.no_grad()
def reconstruct(model_or_checkpoint: ModelLike, image: Any, labels: Any) -> np.ndarray:
    """The model's reconstruction of a section from its own labels and style codes."""
    model = _resolve(model_or_checkpoint, None)
    x, y = _section_tensors(model, image, labels, "section")
    with _Eval(model):
        out = model(x, y)
    return _to_image(model, out)


@torch.no_grad()
def transfer(
    model_or_checkpoint: ModelLike,
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
        A :class:`RegionStyleTransfer` or the path of a transfer checkpoint (or its folder).
    target_image, target_labels
        The target section ``(H, W)`` (amplitudes) and its class ids ``(H, W)``.
    source_image, source_labels
        The style source ``(H2, W2)``, any size.
    class_id
        The class whose style is transferred; it must occur in both sections.
    n_classes
        Optional check: the class count of the caller's data must equal the model's.

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W)``: the target's labels generated with the target's style codes for
        every class but ``class_id``, whose code comes from the source.

    Raises
    ------
    ValueError
        ``class_id`` out of range or absent from the source or the target; image / label
        shapes that differ; label ids outside the model's classes; a checkpoint trained for
        another class count (``n_classes``).
    """
    model = _resolve(model_or_checkpoint, n_classes)
    k = int(class_id)
    if not 0 <= k < model.n_classes:
        raise ValueError(
            f"class_id {class_id} outside 0..{model.n_classes - 1} (the model has "
            f"{model.n_classes} classes)"
        )
    xt, yt = _section_tensors(model, target_image, target_labels, "target")
    xs, ys = _section_tensors(model, source_image, source_labels, "source")
    with _Eval(model):
        style_t, present_t = model.encode_style(xt, yt)
        style_s, present_s = model.encode_style(xs, ys)
        if not bool(present_s[0, k]):
            raise ValueError(f"class {k} does not occur in the style source: nothing to transfer")
        if not bool(present_t[0, k]):
            raise ValueError(f"class {k} does not occur in the target: nowhere to transfer to")
        mixed = mix_styles(style_t, style_s, k)
        out = model.generate(yt, mixed)
    return _to_image(model, out)
