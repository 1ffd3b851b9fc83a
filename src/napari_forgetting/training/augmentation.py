"""What a training batch is drawn from and how it is augmented: :func:`training_sampler`
(the training sections and, with an augmentation pool checked by :func:`check_pool`, the
pool's sections at a fixed share of the draws) and :func:`augment_patches` (the classical
flips or rotations of a random share of the patches, images and labels together:
``TrainConfig.augment``). No Qt, napari or printing here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from napari_forgetting.data.sections import PatchSampler, PooledSampler, Section

__all__ = ["IGNORE_INDEX", "augment_patches", "check_pool", "training_sampler"]

#: Label value of padded patch pixels (ignored by the loss).
IGNORE_INDEX = 255


def augment_patches(
    x: torch.Tensor,
    y: torch.Tensor,
    kind: str,
    share: float,
    degrees: float,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random ``share`` of the patches ``x`` ``(B, 1, h, w)`` and their labels ``y``
    ``(B, h, w)`` (CPU tensors, changed in place) flipped left-right (``kind="flip"``) or
    rotated by a uniform angle in ``+-degrees`` (``"rotate"``: bilinear images, nearest
    labels, corners outside the patch :data:`IGNORE_INDEX`), drawn from ``rng``."""
    chosen = rng.random(len(x)) < share
    if kind == "flip":
        idx = torch.from_numpy(np.flatnonzero(chosen))
        x[idx] = x[idx].flip(-1)
        y[idx] = y[idx].flip(-1)
        return x, y
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    angles = rng.uniform(-degrees, degrees, len(x))
    for b in np.flatnonzero(chosen):
        x[b] = TF.rotate(x[b], float(angles[b]), InterpolationMode.BILINEAR, fill=0.0)
        y[b] = TF.rotate(
            y[b : b + 1], float(angles[b]), InterpolationMode.NEAREST, fill=IGNORE_INDEX
        )[0]
    return x, y


def check_pool(
    pool: Sequence[tuple[np.ndarray, np.ndarray]] | None, n_classes: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Extra training sections ``(normalised image, labels)``, depth-down, checked."""
    out = []
    for i, item in enumerate(pool or ()):
        img, lab = (np.asarray(a) for a in item)
        if img.ndim != 2 or img.shape != lab.shape:
            raise ValueError(
                f"extra_pool[{i}]: image {img.shape} and labels {lab.shape} must be one 2-D shape"
            )
        if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
            raise ValueError(f"extra_pool[{i}]: labels outside 0..{n_classes - 1}")
        out.append((img.astype(np.float32, copy=False), lab.astype(np.uint8, copy=False)))
    return out


def training_sampler(
    sections: Sequence[Section],
    pool: Sequence[tuple[np.ndarray, np.ndarray]],
    patch_size: tuple[int, int],
    draws_seed: int,
    share: float,
) -> PatchSampler | PooledSampler:
    """The training patches' sampler: windows on the training ``sections`` and, with an
    augmentation ``pool`` (:func:`check_pool`), on the pool's sections at ``share`` of the
    positions.

    Common random numbers: every arm of one seed draws the same training stream; a pool
    takes ``share`` of the positions (whatever its size), each chosen by a stream of its
    own, so the positions it leaves hold the baseline's draws."""
    sampler = PatchSampler(sections, None, patch_size, draws_seed)
    if not pool:
        return sampler
    # shape-only stand-ins: the sampler draws windows on them like on sections
    stand_ins = [Section("inline", 0, 0, img.shape) for img, _ in pool]
    return PooledSampler(
        sampler, PatchSampler(stand_ins, None, patch_size, [draws_seed, 11]), share,
        [draws_seed, 13],
    )  # fmt: skip
