"""What a finished job measured, read back from its run store: accuracy, the soft
endpoint and forgetting per split, with the style sources left out of validation."""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.workflow.compare.config import (
    POOLS_DIR,
    TEST_SPLIT,
    TRANSFER_ARMS,
    pool_dir_name,
)


def display_names(class_names: Sequence[str]) -> list[str]:
    """The F3 display names for the F3 classes, else the names as they are."""
    from napari_forgetting.data.classes import F3_CLASS_NAMES, F3_DISPLAY_NAMES

    table = dict(zip(F3_CLASS_NAMES, F3_DISPLAY_NAMES, strict=True))
    return [table.get(n, n) for n in class_names]


def _class_events(store: Any, exclude: Collection[str] = ()) -> np.ndarray:
    """Forgetting events per class summed over a run store's mapped sections (last epoch),
    but those whose keys are in ``exclude``."""
    n = store.n_classes
    events = np.zeros(n, np.float64)
    labels = store.all_map_labels()
    skip = set(exclude)
    # one read of the flat map, cut per section
    for sec, counts, lab in zip(
        store.map_sections, store.split_map(store.flat_map("forgetting_events")), labels,
        strict=True,
    ):  # fmt: skip
        if sec.key in skip:
            continue
        lab = lab.ravel()
        keep = lab < n  # uint8 ids: the ignore label (255) is out
        events += np.bincount(lab[keep], weights=counts.ravel()[keep], minlength=n)
    return events


def tracked_probability(
    store: Any, last_k: int, epochs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(probability, pixels)`` per class on a run store's tracked sections: the mean
    true-class probability over the last ``last_k`` epochs of its history (NaN where it has
    none) and the class's pixels there (what pools volumes). ``epochs``: as if the run had
    stopped after that many (its first epochs are a shorter run's: no schedule depends on
    the budget)."""
    n = store.n_classes
    pixels = np.zeros(n, np.int64)
    for lab in store.all_map_labels():
        lab = lab.ravel()
        pixels += np.bincount(lab[lab < n], minlength=n)
    history = store.history[: len(store.history) if epochs is None else int(epochs)]
    rows = [h.get("class_probability") for h in history[-int(last_k) :]]
    if not rows or any(r is None for r in rows):
        return np.full(n, math.nan), pixels
    a = np.asarray(rows, np.float64)
    seen = np.isfinite(a).sum(axis=0)  # a class absent there has no probability
    mean = np.where(seen > 0, np.nansum(a, axis=0) / np.maximum(seen, 1), math.nan)
    return mean, pixels


def pool_volumes(per_volume: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Per class, the volumes' ``(probability, pixels)`` (:func:`tracked_probability`)
    pooled: each volume weighted by its class pixels (NaN where no volume has any)."""
    probs = np.array([p for p, _ in per_volume], np.float64)
    px = np.array([x for _, x in per_volume], np.float64)
    px[~np.isfinite(probs)] = 0
    total = px.sum(axis=0)
    pooled = np.nansum(np.where(px > 0, probs, 0.0) * px, axis=0) / np.maximum(total, 1)
    return np.where(total > 0, pooled, math.nan)


def job_metrics(
    path: str | os.PathLike, exclude: Collection[str] = (), last_k: int = 10
) -> dict[str, Any]:
    """Per split -- ``validation`` (the validation sections, last epoch) and each held-out
    test volume (all its sections after the last epoch) -- the per-class accuracy, and the
    forgetting events per class on the sections tracked there (validation; every
    ``test_every``-th section of a test volume; NaN where none were tracked).

    ``exclude``: validation section keys left out of the validation figures (the transfer
    pool's style sources: a transfer arm trained on their texture), recomputed from the
    stored last-epoch predictions; ``validation_sections`` says how many remain.

    ``tracked_probability``: the soft endpoint on the sections tracked every epoch,
    averaged over the last ``last_k`` epochs (a test volume's every ``test_every``-th
    section; the validation sections, NaN there when some are excluded: per-epoch
    probabilities of a subset are not stored)."""
    from napari_forgetting.model.metrics import ConfusionMatrix
    from napari_forgetting.runs.store import RunStore

    store = RunStore.open(path)
    n = store.n_classes
    last = dict(store.history[-1])
    splits: dict[str, dict[str, Any]] = {}
    kept = [s for s in store.eval_sections if s.key not in set(exclude)]
    if len(kept) < len(store.eval_sections):
        cm = ConfusionMatrix(n)
        for sec in kept:
            cm.update(store.labels(sec), store.prediction(sec))
        scores = cm.compute()
        last["class_accuracy"] = scores["class_accuracy"]
        last["mean_class_accuracy"] = scores["mean_class_accuracy"]
        last["class_probability"] = None  # per-pixel probabilities are not stored

    def split(
        acc: Sequence[float], mca: float, events: np.ndarray, prob: Sequence[float] | None,
        tracked: np.ndarray,
    ) -> dict[str, Any]:  # fmt: skip
        p = [float(v) for v in prob] if prob is not None else [math.nan] * n
        finite = [v for v in p if math.isfinite(v)]
        return {
            "tracked_probability": [float(v) for v in tracked],
            "class_accuracy": [float(a) for a in acc],
            "mean_class_accuracy": float(mca),
            "class_probability": p,  # the soft endpoint (NaN for runs older than it)
            "mean_class_probability": float(np.mean(finite)) if finite else math.nan,
            "events": events,
            "total_events": float(events.sum()),
        }

    has_maps = "forgetting_events" in store.map_names
    val_events = _class_events(store, exclude) if has_maps else np.full(n, math.nan)
    whole = len(kept) == len(store.eval_sections)
    val_tracked = tracked_probability(store, last_k)[0] if whole else np.full(n, math.nan)
    splits["validation"] = split(
        last["class_accuracy"], last.get("mean_class_accuracy", math.nan), val_events,
        last.get("class_probability"), val_tracked,
    )  # fmt: skip
    tracked = set(store.test_names)
    tests = sorted((store.state.get("test_metrics") or {}).items())
    pixels: dict[str, list[int]] = {}
    per_volume: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, metrics in tests:
        events = _class_events(store.test(name)) if name in tracked else np.full(n, math.nan)
        if name in tracked:
            per_volume[name] = tracked_probability(store.test(name), last_k)
        if "confusion" in metrics:  # rows are the true classes: each class's pixels there
            pixels[name] = [int(v) for v in np.asarray(metrics["confusion"]).sum(axis=1)]
        splits[name] = split(
            metrics["class_accuracy"], metrics.get("mean_class_accuracy", math.nan), events,
            metrics.get("class_probability"),
            per_volume.get(name, (np.full(n, math.nan),))[0],
        )  # fmt: skip
    if len(tests) > 1 and all("confusion" in m for _, m in tests):
        # every test volume's pixels together (test1 + test2: the benchmark's test set)
        from napari_forgetting.model.metrics import scores_from_matrix

        pooled = scores_from_matrix(np.sum([m["confusion"] for _, m in tests], axis=0))
        events = np.sum([splits[name]["events"] for name, _ in tests], axis=0)
        prob = None
        if all("probability_sums" in m for _, m in tests):
            sums = np.sum([m["probability_sums"] for _, m in tests], axis=0)
            counts = np.sum([m["probability_counts"] for _, m in tests], axis=0)
            prob = [float(a / b) if b else math.nan for a, b in zip(sums, counts, strict=True)]
        pooled_tracked = np.full(n, math.nan)
        if len(per_volume) == len(tests):
            pooled_tracked = pool_volumes([per_volume[name] for name, _ in tests])
        splits[TEST_SPLIT] = split(
            pooled["class_accuracy"], pooled["mean_class_accuracy"], events, prob,
            pooled_tracked,
        )  # fmt: skip
    return {
        "class_names": store.class_names,
        "epochs": store.n_epochs,
        "splits": splits,
        "validation_sections": [len(kept), len(store.eval_sections)],
        "class_pixels": pixels,
    }


def absent_classes(
    per_job: dict[tuple[str, int], dict[str, Any]], class_names: Sequence[str], cls: str
) -> list[str]:
    """Report lines naming each test volume that holds no pixel of ``cls`` (its accuracy
    there is absent, and the pooled ``test`` figure is the other volumes' alone), or
    nothing when every test volume holds some."""
    if cls not in class_names:
        return []
    k = list(class_names).index(cls)
    counts: dict[str, int] = {}
    for m in per_job.values():
        for name, px in (m.get("class_pixels") or {}).items():
            counts[name] = px[k]
    empty = sorted(name for name, c in counts.items() if c == 0)
    if not empty:
        return []
    held = sorted(name for name, c in counts.items() if c > 0)
    rest = (f"`{TEST_SPLIT}` is {', '.join(held)}'s {cls} alone" if held
            else f"no test volume holds {cls}: no test figure of it")  # fmt: skip
    return [f"**{cls} is absent from {', '.join(empty)}** (0 pixels): its accuracy there is "
            f"absent, and {rest}.", ""]  # fmt: skip


def read_on(per_job: dict[tuple[str, int], dict[str, Any]]) -> str:
    """Which sections the validation figures were read on (the report says it)."""
    counts = sorted({tuple(m.get("validation_sections", ())) for m in per_job.values()})
    if not counts or all(len(c) != 2 or c[0] == c[1] for c in counts):
        return "Every figure of this report is read on all the validation sections."
    kept = ", ".join(f"{a} of {b}" for a, b in counts)
    return (
        f"Validation figures (accuracy, forgetting events, regions) are read on {kept} "
        "validation sections: the transfer pool's style sources of each seed are left out "
        "for every arm of that seed (the transfer arm trained on their texture); the test "
        "volumes are never a source or a target."
    )


def style_sources(out: Path, seed: int) -> list[str]:
    """The validation sections the transfer arms of ``seed`` (the transfer and its
    random-sources and consensus-sources controls) took their styles from (their pools'
    ``sources``; none without a pool): left out of every arm's validation figures of that
    seed, so no figure is read where an arm trained on the texture."""
    from napari_forgetting.workflow.augment import read_pool_record

    keys: list[str] = []
    for variant in TRANSFER_ARMS:
        pool_file = out / POOLS_DIR / pool_dir_name(variant, seed) / "pool.json"
        if pool_file.is_file():
            keys += [str(k) for k in read_pool_record(pool_file)[1].get("sources", [])]
    return sorted(set(keys))
