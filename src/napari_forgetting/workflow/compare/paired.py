"""Paired statistics over seeds: intervals, minimum detectable effects, the difference
tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_forgetting.workflow.compare.config import CONTRASTS, CompareConfig


def paired_interval(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of paired differences over seeds: the mean of the finite
    values and its Student-t interval at ``level`` (NaN bounds with fewer than two)."""
    from scipy import stats

    a = np.asarray(diffs, np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(a.mean())
    if a.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return mean, mean - half, mean + half


#: The paper's effect on Scruff accuracy (transfer minus baseline): what a comparison should
#: be able to detect.
PAPER_EFFECT = 0.055


def detectable(
    diffs: Sequence[float], effect: float = PAPER_EFFECT, power: float = 0.8, level: float = 0.95
) -> tuple[float, float, float]:
    """``(sd, mde, seeds)`` of paired differences over seeds: their standard deviation, the
    minimum detectable effect of a two-sided paired t-test at ``level`` with ``power`` on
    this many seeds (``(t_(1+level)/2 + t_power) sd / sqrt(n)``, t with n - 1 degrees of
    freedom), and the seeds ``effect`` would need at that SD (NaN with fewer than two
    finite differences; ``inf`` beyond 10,000 seeds)."""
    a = np.asarray(diffs, np.float64)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return math.nan, math.nan, math.nan
    sd = float(a.std(ddof=1))
    if sd == 0:
        return sd, 0.0, 2.0
    need = next(
        (n for n in range(2, 10_001) if mde_at(sd, n, power, level) <= abs(effect)), math.inf
    )
    return sd, mde_at(sd, a.size, power, level), float(need)


def mde_at(sd: float, n: int, power: float = 0.8, level: float = 0.95) -> float:
    """The minimum detectable effect of a two-sided paired t-test on ``n`` seeds whose
    paired differences have standard deviation ``sd`` (:func:`detectable`'s formula; what a
    design on the baseline alone predicts for a preset's seeds)."""
    from scipy import stats

    t = stats.t.ppf(0.5 + level / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * sd / math.sqrt(n))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1) of the finite values; NaN where there are none
    (a class absent from a split has no accuracy)."""
    a = np.asarray(values, np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def paired_differences(
    config: CompareConfig,
    per_job: dict[tuple[str, int], dict[str, Any]],
    splits: Sequence[str],
    class_names: Sequence[str],
) -> list[list[Any]]:
    """Rows ``[method, split, quantity, n_seeds, mean, low, high, sd, mde, seeds_needed]``:
    each method's difference from the baseline of the same seed (same data, same
    initialisation seed), mean and 95 % Student-t interval over the seeds both finished, and
    what those seeds can detect (:func:`detectable`; ``seeds_needed``: for the paper's
    +0.055, meaningful for the accuracies). Quantities: each class's accuracy, true-class
    probability (``prob_``) and its mean over the last epochs on the tracked sections
    (``tracked_``), the mean class accuracy and probability, total forgetting events and
    those of ``config.cls``."""
    rows: list[list[Any]] = []
    if "baseline" not in config.methods:
        return rows
    cid = class_names.index(config.cls) if config.cls in class_names else None

    def quantities(r: dict[str, Any]) -> dict[str, float]:
        q = {f"acc_{c}": float(r["class_accuracy"][i]) for i, c in enumerate(class_names)}
        q["mean_class_accuracy"] = float(r["mean_class_accuracy"])
        q.update({f"prob_{c}": float(r["class_probability"][i]) for i, c in enumerate(class_names)})
        q["mean_class_probability"] = float(r["mean_class_probability"])
        tracked = r.get("tracked_probability") or [math.nan] * len(class_names)
        q.update({f"tracked_{c}": float(tracked[i]) for i, c in enumerate(class_names)})
        q["events_total"] = float(r["total_events"])
        if cid is not None:
            q[f"events_{config.cls}"] = float(r["events"][cid])
        return q

    arms = [(m, "baseline", m) for m in config.methods if m != "baseline"]
    arms += [(a, b, f"{a} - {b}") for a, b in CONTRASTS
             if a in config.methods and b in config.methods]  # fmt: skip
    for method, other, label in arms:
        for sp in splits:
            pairs = [
                (quantities(per_job[(method, s)]["splits"][sp]),
                 quantities(per_job[(other, s)]["splits"][sp]))
                for s in range(config.seeds)
                if (method, s) in per_job and (other, s) in per_job
                and sp in per_job[(method, s)]["splits"]
                and sp in per_job[(other, s)]["splits"]
            ]  # fmt: skip
            if not pairs:
                continue
            for key in pairs[0][0]:
                diffs = [m[key] - b[key] for m, b in pairs]
                n = int(np.isfinite(diffs).sum())
                rows.append([label, sp, key, n, *paired_interval(diffs), *detectable(diffs)])
    return rows
