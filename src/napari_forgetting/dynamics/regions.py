"""High-density forgetting regions and what another training run does to them (numpy).

The paper's Fig. 5 claim: with the forgetting-guided transfer "high-density forgetting
regions disappear or move", while flip and rotate only weaken them. To measure it:

* a **density map** is a section's forgetting-event counts averaged over a
  ``window x window`` neighbourhood (:data:`WINDOW`, 5 pixels; edges reflected);
* a **high-density region** of the baseline is a connected component (8-connected) of the
  pixels whose density is at least a threshold, of at least :data:`MIN_REGION` pixels. The
  threshold is one number per (seed, split): the :data:`QUANTILE` (95th) percentile of the
  baseline's densities over all the split's mapped pixels, and at least
  :data:`MIN_DENSITY` (1 event);
* a region's **fate** under another run of the same seed, on the same section, with the same
  threshold: the share of the region's pixels still at or above it. ``disappears`` below
  :data:`GONE` (10 %), ``shrinks`` below :data:`KEPT` (50 %), else ``stays``.

Measured against the same seed's baseline, each method's fates include the run-to-run
variation of training itself; :func:`region_fates` of the baseline against *another seed's*
baseline measures that variation alone (the report's control row).

A fate at the baseline's threshold also measures the overall forgetting level: the same
pattern at 0.7 of its counts "disappears" in most regions. :func:`compare_masks` therefore
puts each run at **its own** percentile threshold and reports where the high-density pixels
are, apart from how many events there are: the overlap (Dice) of the two runs' high-density
masks, the fates at each run's own threshold, the regions that **appear** (the other run's
regions touching none of the baseline's), and the ratio of the overall levels on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

__all__ = [
    "FATES",
    "GONE",
    "KEPT",
    "MIN_DENSITY",
    "MIN_REGION",
    "QUANTILE",
    "WINDOW",
    "density_map",
    "fate_shares",
    "compare_masks",
    "high_density_regions",
    "region_fates",
    "region_threshold",
]

#: Side of the averaging window of a density map (pixels).
WINDOW = 5
#: Percentile of the baseline's densities that defines "high density" (per seed and split).
QUANTILE = 95.0
#: The threshold is never below this many events per pixel (a map of rare events has no
#: high-density region).
MIN_DENSITY = 1.0
#: Smallest region (pixels).
MIN_REGION = 16
#: Share of a region still above the threshold below which it disappeared ...
GONE = 0.10
#: ... and below which it shrank (else it stays).
KEPT = 0.50
FATES = ("disappears", "shrinks", "stays")


def density_map(events: Any, window: int = WINDOW) -> np.ndarray:
    """A section's forgetting-event counts averaged over ``window x window`` pixels
    (float64; non-finite counts are taken as 0)."""
    e = np.asarray(events, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"a density map needs a 2-D section, got shape {e.shape}")
    e = np.where(np.isfinite(e), e, 0.0)
    return ndimage.uniform_filter(e, size=int(window), mode="reflect")


def region_threshold(
    baseline_maps: Sequence[Any], quantile: float = QUANTILE, floor: float = MIN_DENSITY
) -> float:
    """The high-density threshold of one (seed, split): the ``quantile`` percentile of the
    baseline's :func:`density_map` values over all its sections, at least ``floor``."""
    if not baseline_maps:
        raise ValueError("no baseline maps to set a threshold from")
    values = np.concatenate([density_map(m).ravel() for m in baseline_maps])
    return max(float(floor), float(np.percentile(values, quantile)))


def high_density_regions(
    events: Any, threshold: float, min_size: int = MIN_REGION
) -> tuple[np.ndarray, int]:
    """``(labels, n)``: the connected components (8-connected) of ``density_map(events) >=
    threshold`` with at least ``min_size`` pixels, numbered ``1 .. n`` (0 elsewhere)."""
    return _components(density_map(events) >= threshold, min_size)


def _components(mask: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """The 8-connected components of ``mask`` with at least ``min_size`` pixels, 1 .. n."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return labels, 0
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = np.flatnonzero(sizes >= int(min_size))
    keep = keep[keep > 0]
    relabel = np.zeros(n + 1, np.int64)
    relabel[keep] = np.arange(1, keep.size + 1)
    return relabel[labels], int(keep.size)


def _fate(kept: float) -> str:
    """The fate of a region of which the share ``kept`` is still high-density."""
    return "disappears" if kept < GONE else "shrinks" if kept < KEPT else "stays"


def region_fates(
    baseline_events: Any, other_events: Any, threshold: float, min_size: int = MIN_REGION
) -> list[dict[str, Any]]:
    """The fate of each high-density region of ``baseline_events`` in ``other_events`` (the
    same section, another run), at the same ``threshold``: one dict per region with its
    ``size`` (pixels), ``kept`` (the share of its pixels still at or above the threshold),
    ``fate`` (one of :data:`FATES`) and the mean density of each run over it."""
    base = np.asarray(baseline_events)
    other = np.asarray(other_events)
    if base.shape != other.shape:
        raise ValueError(f"the two maps differ in shape: {base.shape} vs {other.shape}")
    d_base = density_map(base)  # once: the regions and their mean density
    labels, n = _components(d_base >= threshold, min_size)
    if n == 0:
        return []
    d_other = density_map(other)
    above = d_other >= threshold
    out = []
    for r in range(1, n + 1):
        region = labels == r
        kept = float(above[region].mean())
        fate = _fate(kept)
        out.append(
            {
                "size": int(region.sum()),
                "kept": kept,
                "fate": fate,
                "baseline_density": float(d_base[region].mean()),
                "density": float(d_other[region].mean()),
            }
        )
    return out


def fate_shares(fates: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The share of regions of each fate (NaN for all when there are none) and their count
    ``n``."""
    n = len(fates)
    shares: dict[str, float] = {
        f: (sum(r["fate"] == f for r in fates) / n if n else float("nan")) for f in FATES
    }
    shares["n"] = float(n)
    return shares


def compare_masks(
    baseline_maps: Sequence[Any],
    other_maps: Sequence[Any],
    quantile: float = QUANTILE,
    min_size: int = MIN_REGION,
) -> dict[str, Any]:
    """Where two runs forget most, each at its own threshold (see the module).

    ``baseline_maps`` / ``other_maps``: the same sections' event maps of the two runs. Each
    run's threshold is the ``quantile`` percentile of its own densities over all the
    sections (no floor: a run is compared with itself). Returns ``dice`` (the overlap of the
    two high-density masks pooled over the sections; NaN when both are empty), ``fates``
    (:func:`region_fates`-style rows of the baseline's regions, ``kept`` measured against
    the other run's own mask), ``n_regions`` / ``appear`` (the baseline's regions, and the
    other run's regions touching none of them), ``thresholds`` and ``level_ratio`` (mean
    events of the other run over the baseline's: the overall level, apart)."""
    if len(baseline_maps) != len(other_maps) or not baseline_maps:
        raise ValueError("compare_masks needs the same, non-empty list of sections of both runs")
    d_base = [density_map(m) for m in baseline_maps]
    d_other = [density_map(m) for m in other_maps]
    for a, b in zip(d_base, d_other, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"the two maps differ in shape: {a.shape} vs {b.shape}")
    t_base = float(np.percentile(np.concatenate([d.ravel() for d in d_base]), quantile))
    t_other = float(np.percentile(np.concatenate([d.ravel() for d in d_other]), quantile))
    both = inter = 0
    fates: list[dict[str, Any]] = []
    appear = n_regions = 0
    for db, do in zip(d_base, d_other, strict=True):
        # strictly above a positive threshold: a map of mostly zeros has no "top 5 %" of ties
        mb = db > t_base if t_base > 0 else db > 0
        mo = do > t_other if t_other > 0 else do > 0
        both += int(mb.sum()) + int(mo.sum())
        inter += int((mb & mo).sum())
        lb, nb = _components(mb, min_size)
        lo, no = _components(mo, min_size)
        n_regions += nb
        for r in range(1, nb + 1):
            region = lb == r
            kept = float(mo[region].mean())
            fate = _fate(kept)
            fates.append({"size": int(region.sum()), "kept": kept, "fate": fate})
        for r in range(1, no + 1):
            if not (lb[lo == r] > 0).any():
                appear += 1
    level_base = float(np.mean([np.nanmean(np.asarray(m, np.float64)) for m in baseline_maps]))
    level_other = float(np.mean([np.nanmean(np.asarray(m, np.float64)) for m in other_maps]))
    return {
        "dice": 2 * inter / both if both else float("nan"),
        "fates": fates,
        "n_regions": n_regions,
        "appear": appear,
        "thresholds": [t_base, t_other],
        "level_ratio": level_other / level_base if level_base > 0 else float("nan"),
    }
