"""The class region of a transfer: where the result may differ from the target, and how its
seam is blended; the training-free stratal transfer (numpy only).

Every transfer method changes only the target's class region: the result is the target
itself outside the region and the method's pixels inside, cross-faded with the target on
the region's edge pixels (:func:`composite`). Without the fade, the region's edge would be
a discontinuity that no real section has, and a segmentation model trained on the result
could find the class by that edge alone (a shortcut); :func:`~.quality.transfer_quality`
checks the seam's gradient against the real boundaries'.

:class:`StratalTransfer` is the training-free method: the source's class region is mapped
onto the target's along stratal coordinates (depth below the region's top in each trace,
trace order within the region), without stretching, so the source's vertical frequency and
lateral continuity arrive unchanged on the target's geometry, scaled to the source region's
RMS amplitude.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["StratalTransfer", "blend_weights", "composite", "stratal_exemplar", "stratal_fill"]


def _smooth_121(a: np.ndarray, axis: int) -> np.ndarray:
    """``[1, 2, 1] / 4`` along ``axis`` with edge padding."""
    p = np.pad(a, [(1, 1) if d == axis else (0, 0) for d in range(a.ndim)], mode="edge")
    n = a.shape[axis]
    lo = np.take(p, range(0, n), axis=axis)
    mid = np.take(p, range(1, n + 1), axis=axis)
    hi = np.take(p, range(2, n + 2), axis=axis)
    return 0.25 * lo + 0.5 * mid + 0.25 * hi


def blend_weights(region: Any) -> np.ndarray:
    """Weights of the transferred pixels (float32 in [0, 1]): 0 outside the region, 1 inside
    it from one pixel in from its edge, and on the edge pixels the region mask smoothed by
    ``[1, 2, 1] / 4`` vertically and laterally (0.56-0.75; at least 0.5), so the edge row is
    a cross-fade of the target and the transfer."""
    m = np.asarray(region, dtype=np.float32)
    w = _smooth_121(_smooth_121(m, 0), 1)
    return np.where(m > 0, np.maximum(w, 0.5), 0.0).astype(np.float32)


def composite(target: Any, transferred: Any, region: Any) -> np.ndarray:
    """``w * transferred + (1 - w) * target`` with ``w = blend_weights(region)``: exactly
    the target outside the region, the transfer inside, both on its edge (float32)."""
    t = np.asarray(target, dtype=np.float32)
    x = np.asarray(transferred, dtype=np.float32)
    if t.shape != x.shape:
        raise ValueError(f"target {t.shape} and transfer {x.shape} differ in shape")
    w = blend_weights(region)
    return (w * x + (1 - w) * t).astype(np.float32)


def _pingpong(i: np.ndarray, n: int) -> np.ndarray:
    """Indices ``0 1 .. n-1 n-2 .. 1 0 1 ..``: reflect ``i`` into ``0 .. n-1``."""
    if n <= 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    j = np.mod(i, period)
    return np.where(j < n, j, period - j)


def stratal_fill(
    target_labels: Any, source_image: Any, source_labels: Any, class_id: int
) -> np.ndarray:
    """The source's class-``class_id`` texture on the target's region (zeros elsewhere).

    Both regions are read along their strata: trace by trace (the traces holding the
    class, in order), and in each trace the class's samples from the top down. The ``c``-th
    target trace takes the ``c``-th source trace, and its ``d``-th class sample the ``d``-th
    class sample of that trace; both indices are reflected at the ends (... 2 1 0 1 2 ...)
    where the target's region is wider or thicker (in depth, at the source traces' median
    thickness, the same for every trace, so reflectors stay aligned across traces: see
    :func:`_flattened`). Nothing is resampled or stretched, so the vertical frequency and
    lateral continuity are the source region's; the result is scaled so that its RMS over
    the target's region is the source region's.
    """
    k = int(class_id)
    tl = np.asarray(target_labels) == k
    sl = np.asarray(source_labels) == k
    simg = np.asarray(source_image, dtype=np.float32)
    t_cols = np.flatnonzero(tl.any(axis=0))
    s_cols = np.flatnonzero(sl.any(axis=0))
    if t_cols.size == 0 or s_cols.size == 0:
        raise ValueError(f"class {k} must occur in both the target and the source")
    flat = _flattened(simg, sl, s_cols)
    out = np.zeros(tl.shape, dtype=np.float32)
    picks = _pingpong(np.arange(t_cols.size), s_cols.size)
    for tc, j in zip(t_cols, picks, strict=True):
        t_rows = np.flatnonzero(tl[:, tc])
        out[t_rows, tc] = flat[_pingpong(np.arange(t_rows.size), flat.shape[0]), j]
    # the rows of the flattened region need not have the region's RMS (its top rows carry
    # the boundary reflection): match the whole source region's
    want = _rms(simg[sl])
    got = _rms(out[tl])
    if got > 0:
        out *= np.float32(want / got)
    return out


def stratal_exemplar(
    image: Any,
    labels: Any,
    class_ids: Any,
    source_image: Any = None,
    source_labels: Any = None,
) -> np.ndarray:
    """``image`` with the region of each class of ``class_ids`` replaced by its
    :func:`stratal_fill`: from the source section where one is given, else from ``image``
    itself (the region laid along its own strata: the same texture, with the fill's
    reflections where its thickness varies). What an exemplar-conditioned model
    (``TransferModelConfig.exemplar``) is given to generate from (float32)."""
    img = np.asarray(image, dtype=np.float32)
    lab = np.asarray(labels)
    src_img = img if source_image is None else np.asarray(source_image, dtype=np.float32)
    src_lab = lab if source_labels is None else np.asarray(source_labels)
    out = img.copy()
    for k in np.atleast_1d(np.asarray(class_ids, dtype=np.int64)):
        region = lab == k
        if region.any() and (src_lab == k).any():
            out[region] = stratal_fill(lab, src_img, src_lab, int(k))[region]
    return out


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values, dtype=np.float64))))


def _flattened(image: np.ndarray, region: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The region flattened on its top: ``(depth, trace)`` with the ``d``-th class sample
    of each of ``cols`` in row ``d``, for the rows down to the traces' median thickness
    (``H``). A trace thinner than ``H`` continues with its own samples reflected at its
    base (so every column keeps its own amplitudes and frequency); the rows above a
    trace's thickness are exactly the source's, aligned across traces."""
    rows = [np.flatnonzero(region[:, c]) for c in cols]
    depth = max(1, int(np.median([r.size for r in rows])))
    flat = np.empty((depth, cols.size), dtype=np.float32)
    for j, (c, r) in enumerate(zip(cols, rows, strict=True)):
        flat[:, j] = image[r[_pingpong(np.arange(depth), r.size)], c]
    return flat


class StratalTransfer:
    """The training-free transfer method (``--transfer-method stratal``): for
    :func:`~.apply.transfer` in place of a trained model.

    :func:`stratal_fill` gives the region's pixels; the amplitudes are the source's, in the
    units of the volume (the two sections must come from volumes with the same amplitude
    scale, as a target and a source of one survey do).
    """

    name = "stratal"

    def __repr__(self) -> str:
        return "StratalTransfer()"

    def fill(
        self, target_labels: np.ndarray, source_image: np.ndarray, source_labels: np.ndarray,
        class_id: int, target_image: np.ndarray | None = None,
    ) -> np.ndarray:  # fmt: skip
        """The region's new pixels (zeros elsewhere). ``target_image``: the target's
        amplitudes, for a fill that uses them (the stratal transfer does not)."""
        return stratal_fill(target_labels, source_image, source_labels, class_id)
