"""The amplitude character of a class region: what a class-specific transfer must carry.

Three statistics of the pixels of one class in a depth-down section, each defined so that it
can be compared between regions of different shapes and sizes (a target's Scruff and a
source's), and each differentiable (the transfer model is trained on them, see
:mod:`.losses`):

* ``rms`` -- root-mean-square amplitude over the region.
* ``frequency`` -- the dominant vertical frequency, in cycles per sample:
  ``arccos(rho_v) / (2 pi)`` where ``rho_v`` is the lag-1 vertical autocorrelation over the
  pairs of vertically adjacent region pixels (the frequency of the sinusoid with that
  autocorrelation; for a narrow-band trace, its zero-crossing frequency). A spectrum's peak
  would be quantised to ``1 / thickness``: a Scruff region is 4 to 16 samples thick.
  Divide by the sample interval (s) for Hz.
* ``continuity`` -- the lag-1 lateral correlation ``rho_h`` *along the region's strata*:
  between the ``d``-th region sample of one trace and the ``d``-th of the next (the region
  flattened on its top), over the pairs of adjacent traces that both have a ``d``-th
  sample. Near 1 for continuous reflectors, near 0 for chaotic texture; flattening makes it
  a property of the texture, not of how the region dips in a particular section.

Correlations are not mean-removed (seismic amplitudes are zero-mean; a region's own mean is
poorly estimated from a few wavelengths). A region with fewer than two pixel pairs in a
direction gets NaN for that statistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["CHARACTER", "character", "region_character"]

#: The statistics, in the order :func:`character` returns them.
CHARACTER = ("rms", "frequency", "continuity")

_EPS = 1e-8


def _pair_correlation(x: torch.Tensor, m: torch.Tensor, dim: int) -> tuple[torch.Tensor, ...]:
    """Uncentred lag-1 correlation along ``dim`` over pairs with both pixels in the mask.

    ``x`` ``(N, 1 or K, H, W)``, ``m`` ``(N, K, H, W)`` -> ``(rho (N, K), pairs (N, K))``."""
    n = x.shape[dim]
    a, b = x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1)
    pm = m.narrow(dim, 0, n - 1) * m.narrow(dim, 1, n - 1)
    ab = (a * b * pm).sum(dim=(2, 3))
    aa = (a * a * pm).sum(dim=(2, 3))
    bb = (b * b * pm).sum(dim=(2, 3))
    rho = ab / torch.sqrt(aa * bb + _EPS)
    return rho, pm.sum(dim=(2, 3))


def _stratal_lateral(x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lag-1 lateral correlation of each region flattened on its top (see the module)."""
    n, k, h, w = m.shape
    rows = torch.arange(h, device=m.device).view(1, 1, h, 1)
    # per trace, the region's rows first (in depth order), then the others
    key = torch.where(m > 0, rows, rows + h).expand(n, k, h, w)
    order = torch.argsort(key, dim=2)
    flat = torch.gather(x.expand(n, k, h, w), 2, order)
    count = m.sum(dim=2, keepdim=True)  # (n, k, 1, w)
    valid = (rows < count).to(x.dtype)  # the first `count` entries of each trace
    return _pair_correlation(flat, valid, 3)


def character(x: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """The character of every region: ``x`` ``(N, 1, H, W)`` amplitudes, ``masks``
    ``(N, K, H, W)`` (0/1, one region per channel) -> ``{"rms", "rho_v", "rho_h", "pixels",
    "pairs_v", "pairs_h"}``, each ``(N, K)``; differentiable in ``x``.

    ``rho_v`` / ``rho_h`` are the vertical / stratal lateral lag-1 correlations (``frequency`` is
    ``arccos(rho_v) / 2 pi``, ``continuity`` is ``rho_h``); where a region has no pixel or
    no pair, the value is meaningless and its count is 0.
    """
    x = x.float()
    m = masks.to(x.dtype)
    pixels = m.sum(dim=(2, 3))
    rms = torch.sqrt((x * x * m).sum(dim=(2, 3)) / pixels.clamp(min=1.0) + _EPS)
    rho_v, pairs_v = _pair_correlation(x, m, 2)
    rho_h, pairs_h = _stratal_lateral(x, m)
    return {
        "rms": rms,
        "rho_v": rho_v,
        "rho_h": rho_h,
        "pixels": pixels,
        "pairs_v": pairs_v,
        "pairs_h": pairs_h,
    }


def region_character(image: Any, region: Any, scale: float = 1.0) -> dict[str, float]:
    """:data:`CHARACTER` of one region of a 2-D depth-down section (numpy in, floats out).

    ``image`` ``(H, W)`` amplitudes, ``region`` ``(H, W)`` bool; amplitudes are divided by
    ``scale`` (e.g. the volume's amplitude std, so that ``rms`` is in std units). Also
    returns ``pixels``.
    """
    img = np.asarray(image, dtype=np.float64) / float(scale)
    reg = np.asarray(region, dtype=bool)
    if img.ndim != 2 or img.shape != reg.shape:
        raise ValueError(f"image {img.shape} and region {reg.shape} must be equal 2-D shapes")
    with torch.no_grad():
        c = character(torch.from_numpy(img)[None, None], torch.from_numpy(reg)[None, None])
    pixels = int(c["pixels"][0, 0])
    nan = float("nan")
    rho_v = float(c["rho_v"][0, 0]) if c["pairs_v"][0, 0] >= 2 else nan
    rho_h = float(c["rho_h"][0, 0]) if c["pairs_h"][0, 0] >= 2 else nan
    return {
        "rms": float(c["rms"][0, 0]) if pixels else nan,
        "frequency": math.acos(max(-1.0, min(1.0, rho_v))) / (2 * math.pi)
        if math.isfinite(rho_v)
        else nan,
        "continuity": rho_h,
        "pixels": pixels,
    }
