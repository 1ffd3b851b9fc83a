"""Fills that a transfer quality bar must fail: they carry a source's amplitudes, or its RMS,
but not its texture (issue 30). Each is a :class:`~.region.StratalTransfer` with another
``fill``, so :func:`~.apply.transfer` and :func:`~.quality.transfer_quality` take them as they
take a method; the test suite and ``benchmarks/bench_transfer_bar.py`` run them on several
synthetic geologies.

* :class:`AmplitudeDraws` -- the target's class region filled with independent draws from the
  source region's amplitudes (the source's amplitude distribution, no spatial structure).
* :class:`RescaledTarget` -- the target's own region rescaled to the source region's RMS (the
  source's RMS, the target's texture).
* :class:`ShuffledTraces` -- the stratal fill from the source with its traces in a random
  order (the source's vertical structure, no lateral continuity).
* :class:`TiledPatch` -- one small patch of the source's flattened region, tiled over the
  target's region (the source's local texture, repeated: no diversity).

The draws are seeded from the sections' contents, so a cheat is deterministic, as a
method is.

Two controls of the label-fidelity figure (a frozen segmentation model's recall of the
transferred region), in :data:`LABEL_CONTROLS`: :class:`ZeroFill` (the region emptied) and
:class:`ReversedPolarity` (the stratal fill with its sign flipped: the source's texture and RMS,
the opposite polarity -- the texture figures cannot see it, correlograms and RMS are even in
the sign).
"""

from __future__ import annotations

import zlib

import numpy as np

from napari_forgetting.transfer.region import (
    StratalTransfer,
    _flattened,
    _pingpong,
    _rms,
    stratal_fill,
)

__all__ = [
    "CHEATS",
    "LABEL_CONTROLS",
    "AmplitudeDraws",
    "RescaledTarget",
    "ReversedPolarity",
    "ShuffledTraces",
    "TiledPatch",
    "ZeroFill",
]


def _rng(*arrays: np.ndarray) -> np.random.Generator:
    """A generator seeded by the arrays' bytes (the same sections, the same draws)."""
    seed = 0
    for a in arrays:
        seed = zlib.crc32(np.ascontiguousarray(a).tobytes(), seed)
    return np.random.default_rng(seed)


def _regions(target_labels, source_labels, class_id):
    k = int(class_id)
    tl = np.asarray(target_labels) == k
    sl = np.asarray(source_labels) == k
    if not tl.any() or not sl.any():
        raise ValueError(f"class {k} must occur in both the target and the source")
    return tl, sl


class AmplitudeDraws(StratalTransfer):
    """Independent draws from the source region's amplitudes (see the module)."""

    name = "amplitude draws"

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        tl, sl = _regions(target_labels, source_labels, class_id)
        values = np.asarray(source_image, dtype=np.float32)[sl]
        out = np.zeros(tl.shape, dtype=np.float32)
        out[tl] = _rng(values).choice(values, size=int(tl.sum()), replace=True)
        return out


class RescaledTarget(StratalTransfer):
    """The target's own region at the source region's RMS (see the module)."""

    name = "rescaled target"

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        tl, sl = _regions(target_labels, source_labels, class_id)
        if target_image is None:
            raise ValueError("the rescaled-target cheat needs the target image")
        target = np.asarray(target_image, dtype=np.float32)
        out = np.zeros(tl.shape, dtype=np.float32)
        got = _rms(target[tl])
        want = _rms(np.asarray(source_image, dtype=np.float32)[sl])
        out[tl] = target[tl] * np.float32(want / got if got > 0 else 0.0)
        return out


class ShuffledTraces(StratalTransfer):
    """The stratal fill from the source with the source's traces shuffled (see the module)."""

    name = "shuffled traces"

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        _regions(target_labels, source_labels, class_id)
        img = np.asarray(source_image, dtype=np.float32)
        lab = np.asarray(source_labels)
        order = _rng(img).permutation(img.shape[1])
        return stratal_fill(target_labels, img[:, order], lab[:, order], class_id)


class TiledPatch(StratalTransfer):
    """One ``width``-trace patch of the source's flattened region tiled over the target's
    region (see the module), at the source region's RMS."""

    name = "tiled patch"

    def __init__(self, width: int = 6) -> None:
        self.width = int(width)

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        tl, sl = _regions(target_labels, source_labels, class_id)
        img = np.asarray(source_image, dtype=np.float32)
        flat = _flattened(img, sl, np.flatnonzero(sl.any(axis=0)))
        patch = flat[:, : max(1, min(self.width, flat.shape[1]))]
        out = np.zeros(tl.shape, dtype=np.float32)
        for j, c in enumerate(np.flatnonzero(tl.any(axis=0))):
            rows = np.flatnonzero(tl[:, c])
            out[rows, c] = patch[_pingpong(np.arange(rows.size), patch.shape[0]),
                                 j % patch.shape[1]]  # fmt: skip
        got, want = _rms(out[tl]), _rms(img[sl])
        if got > 0:
            out *= np.float32(want / got)
        return out


#: Every cheat's class, by name.
CHEATS = {c.name: c for c in (AmplitudeDraws, RescaledTarget, ShuffledTraces, TiledPatch)}


class ZeroFill(StratalTransfer):
    """The target's class region emptied (zeros): no signal at all (see the module)."""

    name = "zero fill"

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        tl, _ = _regions(target_labels, source_labels, class_id)
        return np.zeros(tl.shape, dtype=np.float32)


class ReversedPolarity(StratalTransfer):
    """The stratal fill with its sign flipped (see the module)."""

    name = "reversed polarity"

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        return -super().fill(target_labels, source_image, source_labels, class_id)


#: The label-fidelity controls' classes, by name.
LABEL_CONTROLS = {c.name: c for c in (ZeroFill, ReversedPolarity)}
