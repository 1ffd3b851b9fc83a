"""Hotspot statistics: one score per section for a class, and the ranking by it (pure numpy).

Benkert et al. (2021), Section 2.2 rank sections by the forgetting-event density of a target
class (:func:`~napari_forgetting.dynamics.density.class_density`). The same ranking works for
the other per-pixel learning statistics; each is a per-pixel value (:func:`pixel_values`)
averaged over the pixels of the class in a section (:func:`section_scores`):

==================  ==========================================  ===========================
statistic           per-pixel value                             section score
==================  ==========================================  ===========================
``forgetting``      forgetting events (the heat map)            class density (the paper's)
``never_learned``   1 if never classified correctly, else 0     fraction never learned
``low_confidence``  1 - mean true-class probability             1 - mean confidence
``high_variability`` std of the true-class probability           mean variability
``total``           forgetting events                           events / pixels, all classes
==================  ==========================================  ===========================

A section without a pixel of the class has no score (``NaN``) and is left out of a ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_forgetting.dynamics._arrays import as_int_array, as_numpy
from napari_forgetting.dynamics.density import rank_sections

__all__ = [
    "CLASS_FREE_STATISTICS",
    "DEFAULT_MIN_PIXELS",
    "STATISTICS",
    "check_statistic",
    "pixel_values",
    "rank_scores",
    "section_scores",
]

#: Ranking statistics, the paper's first.
STATISTICS: tuple[str, ...] = (
    "forgetting",
    "never_learned",
    "low_confidence",
    "high_variability",
    "total",
)
#: Statistics computed over all pixels of a section, irrespective of class.
CLASS_FREE_STATISTICS: tuple[str, ...] = ("total",)

#: The fewest class pixels a section needs to serve as a style source (and in the transfer
#: quality measurement). A style code is a mean over the class region; measured on the
#: F3-like benchmark (100 x 175 x 255), the RMS amplitude of a Scruff region of 32-128
#: pixels differs from its whole section's by a median 21-23 %, of 256 pixels by 17 %, of
#: 512 by 8 %: below 256 pixels a "style" is mostly the noise of a small sample.
DEFAULT_MIN_PIXELS = 256


def check_statistic(statistic: str) -> str:
    """``statistic`` if it is one of :data:`STATISTICS`, else a ``ValueError`` naming them."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; choose one of {', '.join(STATISTICS)}")
    return statistic


def pixel_values(
    statistic: str,
    *,
    events: Any = None,
    never_learned: Any = None,
    confidence: Any = None,
    variability: Any = None,
) -> np.ndarray:
    """The per-pixel value that ``statistic`` averages (see the module table).

    Parameters
    ----------
    statistic : one of :data:`STATISTICS`
    events : numeric array, shape (...), needed for ``forgetting`` and ``total``
    never_learned : bool array, shape (...), needed for ``never_learned``
    confidence : float array, shape (...), needed for ``low_confidence``
    variability : float array, shape (...), needed for ``high_variability``

    Returns
    -------
    float64 array, shape (...).
    """
    check_statistic(statistic)
    source = {
        "forgetting": ("events", events),
        "total": ("events", events),
        "never_learned": ("never_learned", never_learned),
        "low_confidence": ("confidence", confidence),
        "high_variability": ("variability", variability),
    }[statistic]
    name, array = source
    if array is None:
        raise ValueError(f"statistic {statistic!r} needs the {name} map")
    values = np.asarray(as_numpy(array), dtype=np.float64)
    return 1.0 - values if statistic == "low_confidence" else values


def section_scores(
    values: Sequence[Any],
    labels_list: Sequence[Any],
    class_id: int | None,
    events: Sequence[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per section: the mean of ``values`` over the pixels of ``class_id``, their number and
    the forgetting events on them.

    Parameters
    ----------
    values : sequence of S numeric arrays (per-pixel values, :func:`pixel_values`)
    labels_list : sequence of S int arrays, each the shape of its values
    class_id : int, or None for all pixels of a section
    events : sequence of S numeric arrays, optional
        Forgetting events per pixel; default ``values``.

    Returns
    -------
    scores : float64 (S,), ``nan`` where a section has no pixel of the class
    n_pixels : int64 (S,), pixels of the class per section
    class_events : float64 (S,), the events summed over those pixels
    """
    if len(values) != len(labels_list):
        raise ValueError(f"{len(values)} value maps but {len(labels_list)} label maps")
    events = values if events is None else events
    if len(events) != len(values):
        raise ValueError(f"{len(events)} event maps but {len(values)} value maps")
    n = len(values)
    scores = np.full(n, np.nan, dtype=np.float64)
    n_pixels = np.zeros(n, dtype=np.int64)
    class_events = np.zeros(n, dtype=np.float64)
    for s in range(n):
        # summed in float64 after masking: only the class's pixels are converted
        v = np.asarray(as_numpy(values[s]))
        ev = np.asarray(as_numpy(events[s]))
        lab = as_int_array(labels_list[s], "labels")
        if not v.shape == ev.shape == lab.shape:
            raise ValueError(
                f"section {s}: values {v.shape}, events {ev.shape} and labels {lab.shape} differ"
            )
        pick: Any = ... if class_id is None else lab == class_id  # all pixels, or the class's
        count = lab.size if class_id is None else int(np.count_nonzero(pick))
        n_pixels[s] = count
        if count:
            scores[s] = v[pick].sum(dtype=np.float64) / count
            class_events[s] = ev[pick].sum(dtype=np.float64)
    return scores, n_pixels, class_events


def rank_scores(scores: Any, top: int | None = None) -> np.ndarray:
    """Section indices by decreasing score, ``nan`` sections left out, ties in section order.

    Parameters
    ----------
    scores : float array, shape (S,), from :func:`section_scores`
    top : int, optional; keep only the first ``top``

    Returns
    -------
    int64 array of section indices, length ``<= S``.
    """
    s = np.asarray(as_numpy(scores), dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (n_sections,), got {s.shape}")
    return rank_sections(s[:, None], 0, top)
