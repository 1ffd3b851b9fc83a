"""The texture of a class region: what a segmentation model can learn from, beyond its RMS.

A region's texture is described, as in geostatistics, by its correlogram: the (uncentred)
correlation of amplitudes ``h`` samples apart, for a few lags in the two directions that
matter in a depth-down section (the variogram is ``1 - rho`` in units of the variance):

* ``vertical`` -- between samples ``h`` apart in the same trace, both in the region
  (:data:`LAGS_V`): the wavelet and the layering's frequency content (lag 1 is
  :mod:`.character`'s frequency);
* ``lateral`` -- between the ``d``-th region sample of a trace and the ``d``-th of the trace
  ``h`` traces on, the region flattened on its top (:data:`LAGS_H`): how far the reflectors
  carry along the strata (lag 1 is :mod:`.character`'s continuity).

Two regions' textures are compared by :func:`texture_distance` (the RMS difference of their
correlograms over the lags both can measure). Uncentred correlations: seismic amplitudes are
zero-mean and a region's own mean is poorly estimated from a few wavelengths.

:func:`repeated_traces` measures a texture's *diversity*: the share of a region's traces that
repeat another trace of it (correlation >= :data:`REPEAT_CORRELATION` over the region's
flattened depth) at least two traces away -- a tiled copy of a small patch repeats nearly all
of them, a real region (nearly) none. Texture-synthesis work judges verbatim repetition the
same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "LAGS_H",
    "LAGS_V",
    "REPEAT_CORRELATION",
    "region_texture",
    "repeated_traces",
    "texture_distance",
]

#: Vertical lags (samples): a Scruff region is 4-16 samples thick.
LAGS_V = (1, 2, 3)
#: Lateral lags (traces) along the strata.
LAGS_H = (1, 2, 4, 8)
#: The fewest pixel pairs a lag's correlation is computed from (else NaN).
MIN_PAIRS = 16
#: Two traces this correlated over the region's depth are one repeated.
REPEAT_CORRELATION = 0.99


def _corr(a: np.ndarray, b: np.ndarray, least: int = MIN_PAIRS) -> float:
    """Uncentred correlation of paired samples; NaN on fewer than ``least`` pairs."""
    if a.size < least:
        return float("nan")
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum()) / den if den > 0 else float("nan")


def _flat(image: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, valid)`` ``(H, W')``: each region trace's samples from its top down (the
    traces holding the region, in order), ``valid`` where a trace has a ``d``-th sample."""
    cols = np.flatnonzero(region.any(axis=0))
    h = region.shape[0]
    values = np.zeros((h, cols.size))
    valid = np.zeros((h, cols.size), dtype=bool)
    for j, c in enumerate(cols):
        rows = np.flatnonzero(region[:, c])
        values[: rows.size, j] = image[rows, c]
        valid[: rows.size, j] = True
    return values, valid


def region_texture(image: Any, region: Any, scale: float = 1.0) -> dict[str, Any]:
    """``{"vertical": (len(LAGS_V),), "lateral": (len(LAGS_H),), "repeated": float}`` of
    one region of a depth-down section (NaN where a lag has fewer than :data:`MIN_PAIRS`
    pairs); amplitudes divided by ``scale``."""
    img = np.asarray(image, dtype=np.float64) / float(scale)
    reg = np.asarray(region, dtype=bool)
    vertical = []
    for h in LAGS_V:
        both = reg[:-h] & reg[h:]
        vertical.append(_corr(img[:-h][both], img[h:][both]))
    values, valid = _flat(img, reg)
    lateral = []
    for h in LAGS_H:
        if values.shape[1] <= h:
            lateral.append(float("nan"))
            continue
        both = valid[:, :-h] & valid[:, h:]
        lateral.append(_corr(values[:, :-h][both], values[:, h:][both]))
    return {
        "vertical": np.array(vertical),
        "lateral": np.array(lateral),
        "repeated": repeated_traces(values, valid),
    }


def repeated_traces(values: np.ndarray, valid: np.ndarray) -> float:
    """The share of a flattened region's traces (:func:`_flat`) that repeat another trace
    at least two traces away (correlation >= :data:`REPEAT_CORRELATION` over the depth both
    have, at least three samples); NaN with fewer than four traces."""
    n = values.shape[1]
    if n < 4:
        return float("nan")
    depth = int(np.median(valid.sum(axis=0)))
    if depth < 3:
        return float("nan")
    keep = valid[:depth].all(axis=0)
    x = np.where(keep, values[:depth], 0.0)
    norms = np.sqrt((x * x).sum(axis=0))
    ok = keep & (norms > 0)
    x = x[:, ok] / norms[ok]
    m = x.shape[1]
    if m < 4:
        return float("nan")
    corr = x.T @ x
    far = np.abs(np.arange(m)[:, None] - np.arange(m)[None, :]) >= 2
    return float(((corr >= REPEAT_CORRELATION) & far).any(axis=1).mean())


def texture_distance(a: dict[str, Any], b: dict[str, Any], direction: str) -> float:
    """RMS difference of two textures' correlograms in ``direction`` (``vertical`` or
    ``lateral``) over the lags both measure; NaN where they share none."""
    x, y = np.asarray(a[direction]), np.asarray(b[direction])
    both = np.isfinite(x) & np.isfinite(y)
    if not both.any():
        return float("nan")
    return float(np.sqrt(np.mean((x[both] - y[both]) ** 2)))
