"""How much of a forgetting explanation is the data and how much is the seed (numpy, scipy).

A heat map or a hotspot ranking explains the model only if it survives a change of seed:
Toneva et al. (ICLR 2019) show that example-forgetting orderings are stable across seeds
(one seed against the mean of five: Spearman about 0.89 on CIFAR-10). Here the same is
measured for the sections and pixels of a seismic survey, over ``R`` runs that differ only in
their seed:

* **sections** (``values``: ``(R, S)``, each run's class forgetting density of ``S`` eligible
  sections): pairwise Spearman and Kendall tau-b, top-``k`` Jaccard beside its chance level
  (:func:`jaccard_chance`), each run against the mean of the others (:func:`leave_one_out`),
  the split-half reliability of the mean (:func:`split_half`) and the Spearman-Brown estimate
  of how many seeds a ranking needs (:func:`seeds_needed`), and per section the probability
  of being in the top ``k`` and an interval of its density (:func:`bootstrap_sections`);
* **pixels** (``(R, P)`` per-pixel counts): the same pairwise and leave-one-out Spearman on a
  class's pixels, on their interior (:func:`interior_mask`: more than 2 px from any label
  boundary, where boundary geometry cannot make maps agree trivially) and on all pixels;
* a **consensus** (:func:`consensus_maps`): the mean counts and the per-pixel agreement (the
  share of runs in whose own top 5 % the pixel lies).

Conventions. Ranks are average ranks (ties share their mean rank, as scipy's). A correlation
with a constant side is undefined (``nan``), never 0: a run that never learned a class gives
every section the same density, and its "ranking" is the section order, not an explanation
(:func:`constant_runs` names such runs; the summaries leave them out and say so). Top ``k``:
the first ``k`` by decreasing value, ties in section order (as
:func:`~napari_forgetting.dynamics.density.rank_sections`). Bootstraps draw with a fixed
seed, so a report is the same every time it is made.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage, stats

from napari_forgetting.dynamics._arrays import as_int_array, as_numpy

__all__ = [
    "AGREEMENT_QUANTILE",
    "INTERIOR_MARGIN",
    "TARGET_RHO",
    "PixelStability",
    "SectionBootstrap",
    "SectionStability",
    "bootstrap_sections",
    "consensus_maps",
    "finite_mean",
    "constant_runs",
    "interior_mask",
    "jaccard",
    "jaccard_chance",
    "json_floats",
    "kendall",
    "leave_one_out",
    "pairwise",
    "pixel_stability",
    "section_stability",
    "seeds_needed",
    "spearman",
    "spearman_brown",
    "split_half",
    "top_k",
    "top_k_jaccard",
]

#: A pixel is "interior" when no other label lies within this many pixels (Chebyshev).
INTERIOR_MARGIN = 2
#: The agreement map counts a pixel in a run's top (1 - 0.95) = 5 % of that run's counts.
AGREEMENT_QUANTILE = 0.95
#: The reliability a ranking of sections should reach (:func:`seeds_needed`).
TARGET_RHO = 0.9
#: Bootstrap draws over seeds and the generator's seed (a report never depends on the clock).
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0


# ------------------------------------------------------------------------------ two vectors


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(as_numpy(a), dtype=np.float64).ravel()
    y = np.asarray(as_numpy(b), dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"two rankings of different lengths: {x.size} and {y.size}")
    return x, y


def _defined(x: np.ndarray, y: np.ndarray) -> bool:
    # fewer than 2 values, or a constant side: no ordering to compare
    return x.size >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0


def spearman(a: Any, b: Any) -> float:
    """Spearman's rho (average ranks for ties); ``nan`` when either side is constant."""
    x, y = _pair(a, b)
    if not _defined(x, y):
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def kendall(a: Any, b: Any) -> float:
    """Kendall's tau-b (ties corrected); ``nan`` when either side is constant."""
    x, y = _pair(a, b)
    if not _defined(x, y):
        return float("nan")
    return float(stats.kendalltau(x, y, variant="b").statistic)


def top_k(values: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, by decreasing value, ties in index order."""
    v = np.asarray(as_numpy(values), dtype=np.float64).ravel()
    return np.argsort(-v, kind="stable")[: max(0, int(k))].astype(np.int64)


def jaccard(a: Any, b: Any) -> float:
    """``|A ∩ B| / |A ∪ B|`` of two index sets (1.0 for two empty sets)."""
    sa, sb = set(np.asarray(a).ravel().tolist()), set(np.asarray(b).ravel().tolist())
    union = sa | sb
    return 1.0 if not union else len(sa & sb) / len(union)


def jaccard_chance(n: int, k: int) -> float:
    """The expected Jaccard index of two independent random ``k``-subsets of ``n`` items.

    Their overlap ``X`` is hypergeometric, ``P(X = x) = C(k, x) C(n - k, k - x) / C(n, k)``,
    and the index is ``X / (2k - X)``. With ``k >= n`` both sets are everything: 1.
    """
    n, k = int(n), int(k)
    if n < 1 or k < 1:
        raise ValueError(f"need n >= 1 and k >= 1, got n={n}, k={k}")
    if k >= n:
        return 1.0
    total = math.comb(n, k)
    return sum(
        math.comb(k, x) * math.comb(n - k, k - x) / total * x / (2 * k - x)
        for x in range(max(0, 2 * k - n), k + 1)
    )


# ------------------------------------------------------------------------------ R runs


def _runs(values: Any, name: str = "values") -> np.ndarray:
    v = np.asarray(as_numpy(values), dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"{name} must have shape (runs, items), got {v.shape}")
    return v


def constant_runs(values: Any) -> list[int]:
    """The runs (rows) whose values are all equal: no ordering (a class never learned)."""
    v = _runs(values)
    return [r for r in range(v.shape[0]) if v.shape[1] < 2 or np.ptp(v[r]) == 0]


def pairwise(values: Any, measure: Any = spearman) -> np.ndarray:
    """``measure`` between every pair of runs: a symmetric ``(R, R)`` matrix, 1 on the
    diagonal (``nan`` where a run is constant)."""
    v = _runs(values)
    r = v.shape[0]
    out = np.full((r, r), np.nan)
    for i in range(r):
        out[i, i] = np.nan if v.shape[1] < 2 or np.ptp(v[i]) == 0 else 1.0
        for j in range(i + 1, r):
            out[i, j] = out[j, i] = measure(v[i], v[j])
    return out


def _upper(m: np.ndarray) -> np.ndarray:
    return m[np.triu_indices(m.shape[0], 1)]


def leave_one_out(values: Any, measure: Any = spearman) -> np.ndarray:
    """Each run against the mean of the others (Toneva et al.'s comparison): ``(R,)``.

    Runs with constant values are left out of the others' means and get ``nan``."""
    v = _runs(values)
    bad = set(constant_runs(v))
    good = [r for r in range(v.shape[0]) if r not in bad]
    out = np.full(v.shape[0], np.nan)
    if len(good) < 2:
        return out
    total = v[good].sum(axis=0)
    for r in good:
        out[r] = measure(v[r], (total - v[r]) / (len(good) - 1))
    return out


def spearman_brown(r1: float, m: float) -> float:
    """The reliability of a mean of ``m`` runs from a single run's ``r1``:
    ``m r1 / (1 + (m - 1) r1)``."""
    if not np.isfinite(r1):
        return float("nan")
    den = 1.0 + (m - 1.0) * r1
    return float("nan") if den == 0 else float(m * r1 / den)


def seeds_needed(r1: float, target: float = TARGET_RHO) -> float:
    """How many seeds a mean needs for two independent such means to correlate at ``target``
    (Spearman-Brown solved for ``m``: ``target (1 - r1) / (r1 (1 - target))``), rounded up;
    ``inf`` when a single run's reliability ``r1`` is not positive, ``nan`` if unknown."""
    if not np.isfinite(r1):
        return float("nan")
    if r1 <= 0:
        return float("inf")
    if r1 >= target:
        return 1.0
    return float(math.ceil(target * (1.0 - r1) / (r1 * (1.0 - target)) - 1e-9))


def _disjoint_pairs(good: list[int], h: int, most: int = 35) -> list[tuple[list[int], list[int]]]:
    """Pairs of disjoint ``h``-subsets of ``good``: all of them when there are at most
    ``most``, else ``most`` drawn with a fixed seed (never only those holding the first runs)."""
    if math.comb(len(good), h) <= 400:
        combos = list(itertools.combinations(good, h))
        pairs = [(list(a), list(b)) for i, a in enumerate(combos) for b in combos[i + 1 :]
                 if not set(a) & set(b)]  # fmt: skip
        if len(pairs) <= most:
            return pairs
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        return [pairs[i] for i in sorted(rng.choice(len(pairs), most, replace=False))]
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    out = []
    for _ in range(most):
        perm = [int(x) for x in rng.permutation(good)[: 2 * h]]
        out.append((sorted(perm[:h]), sorted(perm[h:])))
    return out


def split_half(values: Any, measure: Any = spearman, half: int | None = None) -> tuple[float, int]:
    """The mean ``measure`` between the means of two disjoint sets of ``half`` runs each
    (default ``R // 2``: the split-half reliability), over every such pair of sets (or 35
    drawn with a fixed seed when there are more), and the set size. ``(nan, 0)`` with fewer
    than ``2 half`` usable runs (or fewer than 4 when ``half`` is not given: halves of one
    run are no means). Pairs whose measure is undefined (a flat mean) are left out."""
    v = _runs(values)
    bad = set(constant_runs(v))
    good = [r for r in range(v.shape[0]) if r not in bad]
    h = len(good) // 2 if half is None else int(half)
    if h < 1 or 2 * h > len(good) or (half is None and h < 2):
        return float("nan"), 0
    rhos = [measure(v[a].mean(axis=0), v[b].mean(axis=0)) for a, b in _disjoint_pairs(good, h)]
    rhos = [x for x in rhos if np.isfinite(x)]
    return (float(np.mean(rhos)) if rhos else float("nan")), h


def top_k_jaccard(k: int) -> Any:
    """A ``measure`` for :func:`pairwise` / :func:`split_half`: the Jaccard index of two
    rankings' top ``k``."""

    def measure(a: Any, b: Any) -> float:
        return jaccard(top_k(a, k), top_k(b, k))

    return measure


def finite_mean(x: Any) -> float:
    """The mean of the finite values of ``x``; ``nan`` (no warning) when there are none."""
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


# ------------------------------------------------------------------------------ sections


@dataclass(frozen=True)
class SectionBootstrap:
    """Per section, over bootstrap draws of the seeds: ``p_top`` the share of draws whose
    mean density puts the section in the top ``k``, ``low`` / ``high`` the percentile
    interval of its mean density (``level``), ``mean`` its mean over the runs."""

    k: int
    level: float
    mean: np.ndarray
    p_top: np.ndarray
    low: np.ndarray
    high: np.ndarray
    draws: int


def bootstrap_sections(
    values: Any,
    k: int,
    *,
    draws: int = BOOTSTRAP_DRAWS,
    level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> SectionBootstrap:
    """P(top ``k``) and an interval of the mean density per section, runs drawn with
    replacement (``values``: ``(R, S)``; the ``R`` rows, never the sections, are resampled).
    A single run gives P(top k) 0 or 1 and a zero-width interval: say so beside it."""
    v = _runs(values)
    r, s = v.shape
    if r < 1 or s < 1:
        raise ValueError(f"need at least one run and one section, got {v.shape}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, r, size=(int(draws), r))
    means = v[picks].mean(axis=1)  # (draws, S)
    k = min(int(k), s)
    order = np.argsort(-means, axis=1, kind="stable")[:, :k]
    hits = np.zeros(s, dtype=np.int64)
    np.add.at(hits, order.ravel(), 1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return SectionBootstrap(
        k=k,
        level=level,
        mean=v.mean(axis=0),
        p_top=hits / float(draws),
        low=low,
        high=high,
        draws=int(draws),
    )


@dataclass(frozen=True)
class SectionStability:
    """How a ranking of ``S`` sections moves over ``R`` runs (see :func:`section_stability`).

    ``pairs``: per pair ``(i, j, spearman, kendall, jaccard)``; ``mean_*``: their means over
    the pairs of usable runs; ``loo_spearman``: each run against the mean of the others;
    ``split_half``: Spearman between the means of two halves of ``half`` runs each;
    ``r1``: a single run's reliability (the mean pairwise Spearman); ``seeds_needed``: the
    Spearman-Brown estimate of the seeds a consensus needs to reach :data:`TARGET_RHO`;
    ``predicted``: ``{m: Spearman-Brown reliability of a mean of m seeds}``; ``constant``:
    runs left out (every density equal: the class never learned)."""

    n_runs: int
    n_sections: int
    k: int
    pairs: tuple[tuple[int, int, float, float, float], ...]
    mean_spearman: float
    mean_kendall: float
    mean_jaccard: float
    jaccard_chance: float
    loo_spearman: tuple[float, ...]
    split_half: float
    half: int
    r1: float
    seeds_needed: float
    predicted: dict[int, float] = field(default_factory=dict)
    constant: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["pairs"] = [list(p) for p in self.pairs]
        d["loo_spearman"] = list(self.loo_spearman)
        d["predicted"] = {str(m): v for m, v in self.predicted.items()}
        d["constant"] = list(self.constant)
        return json_floats(d)


def json_floats(x: Any) -> Any:
    """``x`` with nan as ``None`` and infinities as ``"inf"`` / ``"-inf"``, at any depth (strict
    JSON has neither)."""
    if isinstance(x, dict):
        return {k: json_floats(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_floats(v) for v in x]
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if math.isnan(f):
            return None
        return f if not math.isinf(f) else ("inf" if f > 0 else "-inf")
    if isinstance(x, np.integer):
        return int(x)
    return x


def section_stability(values: Any, k: int = 6) -> SectionStability:
    """Every section-level figure of the module docstring for ``values`` ``(R, S)``: the
    class's forgetting density of the same ``S`` sections in ``R`` runs."""
    v = _runs(values)
    r, s = v.shape
    k = min(int(k), s) if s else 0
    bad = tuple(constant_runs(v))
    rho = pairwise(v, spearman)
    tau = pairwise(v, kendall)
    pairs = []
    jac = []
    for i, j in itertools.combinations(range(r), 2):
        usable = i not in bad and j not in bad
        jj = jaccard(top_k(v[i], k), top_k(v[j], k)) if usable else float("nan")
        jac.append(jj)
        pairs.append((i, j, float(rho[i, j]), float(tau[i, j]), float(jj)))
    r1 = finite_mean(_upper(rho)) if r > 1 else float("nan")
    sh, half = split_half(v)
    return SectionStability(
        n_runs=r,
        n_sections=s,
        k=k,
        pairs=tuple(pairs),
        mean_spearman=r1,
        mean_kendall=finite_mean(_upper(tau)) if r > 1 else float("nan"),
        mean_jaccard=finite_mean(np.asarray(jac, dtype=np.float64)),
        jaccard_chance=jaccard_chance(s, k) if s and k else float("nan"),
        loo_spearman=tuple(float(x) for x in leave_one_out(v)),
        split_half=sh,
        half=half,
        r1=r1,
        seeds_needed=seeds_needed(r1),
        predicted={m: spearman_brown(r1, m) for m in (1, 2, 4, 8, 16)},
        constant=bad,
    )


# ------------------------------------------------------------------------------ pixels


def interior_mask(labels: Any, class_id: int | None = None, margin: int = INTERIOR_MARGIN):
    """Pixels of a 2-D section with no other label within ``margin`` pixels (a
    ``(2 margin + 1)²`` square); the section's own edge is no label boundary. With
    ``class_id``, only that class's interior."""
    lab = as_int_array(labels, "labels")
    if lab.ndim != 2:
        raise ValueError(f"labels of one section are 2-D, got {lab.shape}")
    size = 2 * int(margin) + 1
    footprint = np.ones((size, size), dtype=bool)
    # same class as every neighbour within `margin`: the max and min filters agree
    hi = ndimage.maximum_filter(lab, footprint=footprint, mode="nearest")
    lo = ndimage.minimum_filter(lab, footprint=footprint, mode="nearest")
    inside = hi == lo
    return inside if class_id is None else inside & (lab == class_id)


@dataclass(frozen=True)
class PixelStability:
    """Per-pixel agreement over runs on one set of pixels (``where``): ``n_pixels``, the
    mean pairwise Spearman, each run against the mean of the others and its mean."""

    where: str
    n_pixels: int
    mean_pairwise: float
    loo: tuple[float, ...]
    mean_loo: float

    def to_dict(self) -> dict[str, Any]:
        return json_floats(
            {
                "where": self.where,
                "n_pixels": self.n_pixels,
                "mean_pairwise": self.mean_pairwise,
                "loo": list(self.loo),
                "mean_loo": self.mean_loo,
            }
        )


def pixel_stability(counts: Any, mask: Any, where: str = "") -> PixelStability:
    """Spearman of the per-pixel counts ``(R, P)`` over the pixels in ``mask`` ``(P,)``."""
    c = _runs(counts, "counts")
    m = np.asarray(as_numpy(mask), dtype=bool).ravel()
    if m.shape != (c.shape[1],):
        raise ValueError(f"mask of {m.size} pixels for counts of {c.shape[1]}")
    sub = c[:, m]
    rho = pairwise(sub)
    loo = leave_one_out(sub)
    return PixelStability(
        where=where,
        n_pixels=int(m.sum()),
        mean_pairwise=finite_mean(_upper(rho)) if c.shape[0] > 1 else float("nan"),
        loo=tuple(float(x) for x in loo),
        mean_loo=finite_mean(loo),
    )


def consensus_maps(
    counts: Any, quantile: float = AGREEMENT_QUANTILE
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, agreement)`` of per-pixel counts ``(R, P)``: the mean over runs (float32) and
    the share of runs in whose top ``1 - quantile`` the pixel lies (at or above that run's
    ``quantile`` of its counts, and above 0: a run that forgot nothing marks no pixel)."""
    c = _runs(counts, "counts")
    if c.shape[1] == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    thresholds = np.quantile(c, quantile, axis=1, keepdims=True)
    top = (c >= thresholds) & (c > 0)
    return c.mean(axis=0).astype(np.float32), top.mean(axis=0).astype(np.float32)
