"""What a segmentation model predicts on whole sections and on training patches, and how a
forgetting tracker hears it.

* :func:`evaluate_steps` -- whole-section inference (eval mode, :func:`~napari_forgetting.
  model.deeplab.predict_section`) section by section, as steps: the benchmark metrics, the
  soft endpoint (each class's mean true-class probability) and, in sweep mode, each
  section fed to the tracker as soon as it is predicted (the paper's tracking);
* :func:`track_patches` -- online tracking (Toneva et al.'s): the argmax of a training
  forward pass fed to the tracker, no extra forward;
* :func:`true_class_stats` -- per-pixel true-class probability and margin.

No Qt, napari or printing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from napari_forgetting.data.section_cache import SectionStore
from napari_forgetting.data.sections import Section
from napari_forgetting.dynamics import ForgettingTracker
from napari_forgetting.model.deeplab import class_ids, predict_section
from napari_forgetting.model.metrics import ConfusionMatrix

__all__ = ["describe_metrics", "evaluate_steps", "track_patches", "true_class_stats"]


def true_class_stats(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """True-class probability and margin (true logit minus the largest other) per pixel.

    ``logits`` ``(..., C, H, W)`` with the class axis at -3, ``y`` ``(..., H, W)`` class ids
    (ids outside ``0..C-1``, e.g. the ignore label, are clamped; crop those pixels away).
    """
    z = logits.detach().float()
    idx = y.long().clamp(0, z.shape[-3] - 1).unsqueeze(-3)
    true = z.gather(-3, idx)
    conf = (true - torch.logsumexp(z, dim=-3, keepdim=True)).exp().squeeze(-3)
    other = z.scatter(-3, idx, float("-inf")).amax(dim=-3)
    return conf, true.squeeze(-3) - other


def _jsonable(scores: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in scores.items():
        out[k] = [float(x) for x in v] if isinstance(v, np.ndarray) else v
    return out


def evaluate_steps(
    model: torch.nn.Module,
    sections: Sequence[Section],
    store: SectionStore,
    n_classes: int,
    *,
    amp: bool = False,
    stats: bool = False,
    confusion: bool = False,
    tracker: ForgettingTracker | None = None,
    keep: bool = True,
    tracking: Callable[[float], None] | None = None,
) -> Iterator[list[np.ndarray]]:
    """Predict ``sections`` one by one, yielding the predictions so far after each.
    With a sweep ``tracker`` each section is applied to it as soon as it is predicted
    (with its confidence and margin when ``stats``), so a pass holds one section's
    outputs at a time, not the whole pass's; then no labels or statistics are returned
    (``[]``, ``None``). Without ``keep`` only the metrics are kept (no predictions,
    labels or statistics). Returns ``(metrics, predictions, labels, statistics)``: the
    benchmark metrics (:class:`~napari_forgetting.model.metrics.ConfusionMatrix`) with each
    class's mean true-class probability (``class_probability``; with ``confusion`` also the
    matrix and the sums that pool it over volumes). ``tracking`` gets the seconds each
    tracker update took."""
    sections = list(sections)
    cm = ConfusionMatrix(n_classes)
    # the soft endpoint: each class's mean true-class probability over its pixels
    prob_sum, prob_n = np.zeros(n_classes), np.zeros(n_classes, np.int64)
    preds, labs = [], []
    derived: dict[str, list] | None = {"confidence": [], "margin": []} if stats else None
    for i, sec in enumerate(sections):
        img, lab = store.get(sec)
        logits = predict_section(model, img, amp=amp)
        pred = class_ids(logits, dim=0).cpu().numpy()
        given = {}
        y = torch.from_numpy(np.ascontiguousarray(lab)).to(logits.device)
        conf, marg = true_class_stats(logits, y)
        if stats:
            given = {"confidence": [conf.cpu().numpy()], "margin": [marg.cpu().numpy()]}
        valid = lab < n_classes  # the ignore label is out
        ids = lab[valid].astype(np.int64)
        prob_sum += np.bincount(ids, weights=conf.cpu().numpy()[valid], minlength=n_classes)
        prob_n += np.bincount(ids, minlength=n_classes)
        del logits, conf, marg
        cm.update(lab, pred)
        if keep:
            preds.append(pred)
        if tracker is not None:
            t_track = time.perf_counter()
            tracker.update_sections(i, [pred], [lab], **given)
            if tracking is not None:
                tracking(time.perf_counter() - t_track)
        elif keep:
            labs.append(lab)
            if derived is not None:
                for key, value in given.items():
                    derived[key].extend(value)
        store.release()
        yield preds
    metrics = _jsonable(cm.compute()) if sections else {}
    if sections:
        with np.errstate(invalid="ignore", divide="ignore"):
            metrics["class_probability"] = [
                float(v) for v in np.where(prob_n > 0, prob_sum / prob_n, np.nan)
            ]
    if confusion and sections:
        metrics["confusion"] = cm.state_dict()["matrix"].tolist()
        # with the confusion matrix, what pools the soft endpoint over volumes
        metrics["probability_sums"] = [float(v) for v in prob_sum]
        metrics["probability_counts"] = [int(v) for v in prob_n]
    return metrics, preds, labs, None if tracker is not None else derived


def track_patches(
    tracker: ForgettingTracker,
    draws: list[tuple[int, int, int]],
    windows: list[tuple[int, int]],
    logits: torch.Tensor,
    y: torch.Tensor,
    stats: bool,
) -> None:
    """Online tracking (Toneva et al.): the argmax of a training forward pass's ``logits``
    for the patches ``draws`` (tracker section, row0, col0) with their clipped ``windows``,
    against their labels ``y``; with their confidence and margin when ``stats``. Patches
    of sections past the tracker's (an augmentation pool's) are left out."""
    own = [i for i, d in enumerate(draws) if d[0] < tracker.n_sections]
    if not own:
        return
    if len(own) < len(draws):
        sel = torch.tensor(own, device=logits.device)
        draws, windows = [draws[i] for i in own], [windows[i] for i in own]
        logits, y = logits[sel], y[sel]
    pred = class_ids(logits.detach(), dim=1).cpu().numpy()
    true = y.to(torch.uint8).cpu().numpy()
    conf = marg = None
    if stats:
        c, m = true_class_stats(logits, y)
        conf, marg = c.cpu().numpy(), m.cpu().numpy()
    sec, r0, c0 = np.asarray(draws, dtype=np.int64).reshape(-1, 3).T
    tracker.update_patch(
        sec, r0, c0, pred, true, confidence=conf, margin=marg, sizes=np.asarray(windows)
    )


def describe_metrics(logs: dict[str, Any], class_names: Sequence[str]) -> str:
    """One line of an epoch's (or a test volume's) logs: loss, PA, MCA, mIoU, FWIoU and
    per-class accuracy."""
    parts = [f"loss {logs['loss']:.4f}"] if "loss" in logs else []
    for key, short in (
        ("pixel_accuracy", "PA"),
        ("mean_class_accuracy", "MCA"),
        ("mean_iou", "mIoU"),
        ("fw_iou", "FWIoU"),
    ):
        if key in logs:
            parts.append(f"{short} {logs[key]:.3f}")
    acc = logs.get("class_accuracy")
    if acc is not None:
        pairs = zip(class_names, acc, strict=False)
        parts.append("acc[" + " ".join(f"{n}:{a:.2f}" for n, a in pairs) + "]")
    return "  ".join(parts)
