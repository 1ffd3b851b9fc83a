"""Forgetting-event density per class and section, and the ranking of sections by it.

Benkert et al. (2021), Section 2.2: "we sum all forgetting events ``f_{i ∈ c_k}`` within
class ``c_k`` of a heat map and divide by the number of pixels of class ``c_k`` in the image";
sections are then ranked by this density for a target class, and the top ones become style
sources.

A section without any pixel of class ``k`` has *no* density for ``k``: it is ``NaN``, not 0
(0 would rank it as perfectly learned). Rankings leave such sections out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_forgetting.dynamics._arrays import as_int_array, as_numpy

__all__ = ["class_density", "density_table", "rank_sections"]


def _events(heatmap: Any) -> np.ndarray:
    # a tracker HeatMap (events, never_learned) contributes its events
    events = getattr(heatmap, "events", heatmap)
    h = as_numpy(events)
    if h.dtype.kind not in "iubf":
        raise TypeError(f"a heat map must be numeric, got dtype {h.dtype}")
    return h


def class_density(heatmap: Any, labels: Any, class_id: int) -> float:
    """Forgetting-event density of class ``class_id`` in one section.

    Parameters
    ----------
    heatmap : numeric array, shape (H, W) (or any shape), or a tracker ``HeatMap``
        Forgetting events (or scores) per pixel.
    labels : int array, same shape
        True class id per pixel.
    class_id : int

    Returns
    -------
    float: ``Σ_{i: labels_i = k} heatmap_i / #{i: labels_i = k}``, or ``nan`` when no pixel
    is labelled ``k``.
    """
    h = _events(heatmap)
    lab = as_int_array(labels, "labels")
    if h.shape != lab.shape:
        raise ValueError(f"heatmap shape {h.shape} != labels shape {lab.shape}")
    mask = lab == class_id
    n = int(np.count_nonzero(mask))
    if n == 0:
        return float("nan")
    return float(h[mask].sum(dtype=np.float64) / n)


def density_table(
    heatmaps: Sequence[Any], labels_list: Sequence[Any], n_classes: int
) -> np.ndarray:
    """:func:`class_density` for every section and class.

    Parameters
    ----------
    heatmaps : sequence of S numeric arrays (or ``HeatMap``); shapes may differ per section
    labels_list : sequence of S int arrays, each the shape of its heat map
        Label ids outside ``0 .. n_classes-1`` (e.g. an ignore value) are not counted.
    n_classes : int

    Returns
    -------
    float64 array, shape (S, n_classes); ``nan`` where a section has no pixel of a class.
    """
    if len(heatmaps) != len(labels_list):
        raise ValueError(f"{len(heatmaps)} heat maps but {len(labels_list)} label maps")
    table = np.full((len(heatmaps), n_classes), np.nan, dtype=np.float64)
    for s, (heatmap, labels) in enumerate(zip(heatmaps, labels_list, strict=True)):
        h = _events(heatmap)
        lab = as_int_array(labels, "labels")
        if h.shape != lab.shape:
            raise ValueError(f"section {s}: heatmap shape {h.shape} != labels shape {lab.shape}")
        lab = lab.ravel().astype(np.int64, copy=False)
        keep = (lab >= 0) & (lab < n_classes)
        lab = lab[keep]
        sums = np.bincount(lab, weights=h.ravel()[keep].astype(np.float64), minlength=n_classes)
        counts = np.bincount(lab, minlength=n_classes)
        present = counts > 0
        table[s, present] = sums[present] / counts[present]
    return table


def rank_sections(density: Any, class_id: int, top: int | None = None) -> np.ndarray:
    """Section indices by decreasing density of ``class_id``, sections without it left out.

    Parameters
    ----------
    density : float array, shape (S, n_classes), from :func:`density_table`
    class_id : int
    top : int, optional
        Keep only the first ``top`` sections.

    Returns
    -------
    int64 array of section indices, length ``<= S``; ties keep ascending section order.
    """
    d = np.asarray(as_numpy(density), dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"density must have shape (n_sections, n_classes), got {d.shape}")
    col = d[:, class_id]
    idx = np.flatnonzero(~np.isnan(col))
    order = idx[np.argsort(-col[idx], kind="stable")].astype(np.int64)
    return order if top is None else order[:top]
