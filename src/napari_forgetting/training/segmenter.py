"""A trained segmentation model, frozen, as a function of a section: :func:`load_segmenter`.

What the transfer quality's *label fidelity* asks of a baseline (does the model recognise a
transferred class region as well as a real one?): a run's checkpoint read with
``weights_only=True``, the DeepLabV3-ResNet18 rebuilt from its training config, sections
normalised with the training volume's amplitude statistics as in training, class ids out.
A checkpoint of no trained epoch is refused: its weights are the initial ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_forgetting.data.sections import normalize
from napari_forgetting.model.checkpoint import CheckpointError, checkpoint_path, load_checkpoint
from napari_forgetting.model.deeplab import build_deeplabv3_resnet18, class_ids, predict_section
from napari_forgetting.training.config import TrainConfig

__all__ = ["Segmenter", "load_segmenter"]


@dataclass
class Segmenter:
    """A frozen segmentation model: ``segmenter(image)`` -> class ids of a depth-down
    section ``(rows, cols)`` of raw amplitudes (normalised here with ``stats``)."""

    model: torch.nn.Module
    stats: tuple[float, float]
    n_classes: int
    epochs: int
    path: Path

    def __call__(self, image: Any) -> np.ndarray:
        logits = predict_section(self.model, normalize(image, self.stats))
        return class_ids(logits, dim=0).cpu().numpy().astype(np.uint8)


def load_segmenter(path: str | os.PathLike, device: str = "cpu") -> Segmenter:
    """The model of a segmentation run: ``path`` its folder or its ``checkpoint.pt``.

    Raises :class:`FileNotFoundError` without a checkpoint and
    :class:`~napari_forgetting.model.checkpoint.CheckpointError` for one that is not a
    segmentation checkpoint (a transfer model's, say) or holds no trained epoch."""
    p = Path(path)
    file = checkpoint_path(p) if p.is_dir() else p
    state = load_checkpoint(file)
    if not isinstance(state.get("model"), dict) or "stats" not in state or "config" not in state:
        raise CheckpointError(f"{file}: not a segmentation run's checkpoint (train writes them)")
    try:
        config = TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{file}: not a segmentation run's checkpoint ({exc})") from None
    epochs = int(state.get("epoch", 0))
    if epochs < 1:
        raise CheckpointError(f"{file}: no epoch trained yet: its weights are the initial ones")
    model = build_deeplabv3_resnet18(
        config.n_classes, 1, config.output_stride, atrous_rates=config.rates
    )
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{file}: its weights do not fit the model ({exc})") from None
    model.to(device).eval()
    mean, std = (float(v) for v in state["stats"])
    return Segmenter(model, (mean, std), int(config.n_classes), epochs, file)
