"""Measured quality of a transfer model: the evidence that a transfer does what the paper needs.

* :func:`reconstruction_quality` -- PSNR of the model's reconstruction of held-out
  (validation) sections against the trivial baseline that predicts each section's mean.
  PSNR uses each reference section's own range (``max - min``) as the peak, so it does not
  depend on the amplitude units; the baseline's MSE is the section's variance.
* :func:`class_specificity` -- mean ``|transfer - reconstruction|`` inside the target's
  ``class_id`` region divided by the same outside it (goal: much greater than 1).
* :func:`source_sensitivity` -- the same target transferred from two different sources: the
  mean absolute difference inside the class region over outside it (the paper's Fig. 3
  difference image).
* :func:`transfer_quality` -- both figures averaged over random (target, source A, source B)
  triples of validation sections that contain the class.

All return plain dicts of floats (and lists), ready for JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section, paper_split
from napari_forgetting.data.store import SectionStore, sources, split_source
from napari_forgetting.transfer.apply import ModelLike, _resolve, reconstruct, transfer

__all__ = [
    "class_specificity",
    "psnr",
    "reconstruction_quality",
    "source_sensitivity",
    "transfer_quality",
]


def psnr(prediction: Any, reference: Any, data_range: float | None = None) -> float:
    """``10 log10(data_range**2 / MSE)``; ``data_range`` defaults to the reference's
    ``max - min``. ``inf`` for a perfect prediction."""
    p = np.asarray(prediction, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if p.shape != r.shape:
        raise ValueError(f"prediction {p.shape} and reference {r.shape} differ in shape")
    rng = float(r.max() - r.min()) if data_range is None else float(data_range)
    mse = float(np.mean((p - r) ** 2))
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(max(rng, 1e-12) ** 2 / mse))


def reconstruction_quality(
    model_or_checkpoint: ModelLike,
    volume_or_arrays: Any,
    sections: Sequence[Section] | None = None,
    *,
    every: int = 5,
    max_sections: int | None = None,
) -> dict[str, Any]:
    """Reconstruction PSNR on held-out sections vs the section-mean baseline.

    ``sections`` default: the validation sections of ``paper_split(volume, every)`` (at most
    ``max_sections``, evenly spaced). Returns ``{"psnr", "baseline_psnr", "psnr_gain_db",
    "psnr_ratio", "mse", "baseline_mse", "n_sections", "sections", "per_section"}``; PSNR and
    MSE are means over sections (MSE in normalised units, i.e. divided by the model's std**2).
    """
    model = _resolve(model_or_checkpoint, None)
    image_src, label_src = sources(volume_or_arrays, "style transfer")
    if sections is None:
        sections = paper_split(split_source(volume_or_arrays), every).validation
        if max_sections is not None and len(sections) > max_sections:
            picks = np.linspace(0, len(sections) - 1, max_sections).round().astype(int)
            sections = [sections[i] for i in picks]
    sections = list(sections)
    if not sections:
        raise ValueError("no sections to evaluate")
    store = SectionStore(image_src, label_src)
    store.preload(sections)
    std = float(model.amplitude_stats[1]) or 1.0
    rows = []
    for sec in sections:
        img, lab = store.get(sec)
        rec = reconstruct(model, img, lab)
        baseline = np.full_like(img, img.mean(dtype=np.float64))
        rows.append(
            {
                "section": sec.key,
                "psnr": psnr(rec, img),
                "baseline_psnr": psnr(baseline, img),
                "mse": float(np.mean((rec.astype(np.float64) - img) ** 2)) / std**2,
                "baseline_mse": float(np.var(img, dtype=np.float64)) / std**2,
            }
        )
    out: dict[str, Any] = {
        k: float(np.mean([r[k] for r in rows]))
        for k in ("psnr", "baseline_psnr", "mse", "baseline_mse")
    }
    out["psnr_gain_db"] = out["psnr"] - out["baseline_psnr"]
    out["psnr_ratio"] = out["psnr"] / out["baseline_psnr"] if out["baseline_psnr"] else float("nan")
    out["n_sections"] = len(rows)
    out["sections"] = [r["section"] for r in rows]
    out["per_section"] = rows
    return out


def _inside_outside(diff: np.ndarray, region: np.ndarray) -> dict[str, float]:
    inside = float(diff[region].mean())
    outside = float(diff[~region].mean()) if (~region).any() else 0.0
    ratio = inside / outside if outside > 0 else float("inf")
    return {"inside": inside, "outside": outside, "ratio": ratio}


def class_specificity(
    model_or_checkpoint: ModelLike,
    target_image: Any,
    target_labels: Any,
    source_image: Any,
    source_labels: Any,
    class_id: int,
) -> dict[str, float]:
    """Mean ``|transfer - reconstruction|`` inside the target's ``class_id`` region
    (``"inside"``), outside it (``"outside"``) and their ``"ratio"`` (inside / outside)."""
    model = _resolve(model_or_checkpoint, None)
    moved = transfer(model, target_image, target_labels, source_image, source_labels, class_id)
    rec = reconstruct(model, target_image, target_labels)
    region = np.asarray(target_labels) == int(class_id)
    return _inside_outside(np.abs(moved.astype(np.float64) - rec), region)


def source_sensitivity(
    model_or_checkpoint: ModelLike,
    target_image: Any,
    target_labels: Any,
    source_a: tuple[Any, Any],
    source_b: tuple[Any, Any],
    class_id: int,
) -> dict[str, float]:
    """The same target transferred from ``source_a`` and ``source_b`` (each ``(image,
    labels)``): mean ``|difference|`` inside the class region, outside it and their ratio."""
    model = _resolve(model_or_checkpoint, None)
    a = transfer(model, target_image, target_labels, *source_a, class_id)
    b = transfer(model, target_image, target_labels, *source_b, class_id)
    region = np.asarray(target_labels) == int(class_id)
    return _inside_outside(np.abs(a.astype(np.float64) - b), region)


def transfer_quality(
    model_or_checkpoint: ModelLike,
    volume_or_arrays: Any,
    class_id: int,
    *,
    n_triples: int = 4,
    seed: int = 0,
    every: int = 5,
    sections: Sequence[Section] | None = None,
) -> dict[str, Any]:
    """:func:`class_specificity` and :func:`source_sensitivity` over random triples.

    Draws ``n_triples`` (target, source A, source B) triples of distinct sections (default: the
    validation sections) that contain ``class_id``. Returns ``{"specificity": mean ratio,
    "sensitivity": mean ratio, "specificity_inside", "specificity_outside",
    "sensitivity_inside", "sensitivity_outside", "n_triples", "triples"}``; ratios are the means
    of the per-triple ratios.
    """
    model = _resolve(model_or_checkpoint, None)
    image_src, label_src = sources(volume_or_arrays, "style transfer")
    if sections is None:
        sections = paper_split(split_source(volume_or_arrays), every).validation
    store = SectionStore(image_src, label_src)
    store.preload(sections)
    having = [s for s in sections if (store.get(s)[1] == int(class_id)).any()]
    if len(having) < 3:
        raise ValueError(
            f"class {class_id} occurs in {len(having)} of the sections; three are needed"
        )
    rng = np.random.default_rng(seed)
    spec, sens, triples = [], [], []
    for _ in range(int(n_triples)):
        t, a, b = (having[i] for i in rng.choice(len(having), 3, replace=False))
        timg, tlab = store.get(t)
        spec.append(class_specificity(model, timg, tlab, *store.get(a), class_id))
        sens.append(source_sensitivity(model, timg, tlab, store.get(a), store.get(b), class_id))
        triples.append([t.key, a.key, b.key])
    return {
        "specificity": float(np.mean([s["ratio"] for s in spec])),
        "specificity_inside": float(np.mean([s["inside"] for s in spec])),
        "specificity_outside": float(np.mean([s["outside"] for s in spec])),
        "sensitivity": float(np.mean([s["ratio"] for s in sens])),
        "sensitivity_inside": float(np.mean([s["inside"] for s in sens])),
        "sensitivity_outside": float(np.mean([s["outside"] for s in sens])),
        "n_triples": len(triples),
        "triples": triples,
    }
