"""One tracked pixel's learning history, read from a run store (click-to-inspect)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section

__all__ = ["PixelHistory", "pixel_history"]


@dataclass(frozen=True)
class PixelHistory:
    """One tracked pixel's learning history, read from a run store.

    ``correct``: bool (E,) per committed epoch; ``forgotten_at``: epochs (0-based) whose
    prediction was wrong after a correct previous epoch; ``density``: the section's forgetting
    density per class at the last epoch (``nan`` for classes absent from the section).

    Of a consensus run over ``seeds`` seeds (:mod:`.consensus`; 0 for a single run) the
    predictions are the seeds' majority, and ``mean_events`` is the pixel's stored mean
    forgetting-event count over the seeds at the last epoch (a float: what its heat map
    shows, not the majority's own events).
    """

    section: Section
    row: int
    col: int
    true_class: int
    predictions: np.ndarray
    correct: np.ndarray
    forgotten_at: np.ndarray
    density: np.ndarray
    class_names: tuple[str, ...]
    seeds: int = 0
    mean_events: float | None = None

    @property
    def current_prediction(self) -> int | None:
        return int(self.predictions[-1]) if self.predictions.size else None

    def summary(self) -> str:
        names = self.class_names
        cur = self.current_prediction
        now = "no epoch yet" if cur is None else names[cur] if cur < len(names) else str(cur)
        sec = self.section
        where = f"{sec.kind} {sec.number:g}, row (sample) {self.row}, col {self.col}"
        if self.seeds:
            mean = "n/a" if self.mean_events is None else f"{self.mean_events:.2f}"
            return (
                f"{where}: true {names[self.true_class]}, predicted {now} (majority of "
                f"{self.seeds} seeds); mean {mean} forgetting events over the seeds in "
                f"{self.correct.size} epoch(s)"
            )
        return (
            f"{where}: true {names[self.true_class]}, predicted {now}; "
            f"{len(self.forgotten_at)} forgetting event(s) in {self.correct.size} epoch(s)"
        )


def pixel_history(store: Any, section: int, row: int, col: int, epoch: int | None = None):
    """:class:`PixelHistory` of evaluated section ``section`` (position), pixel ``(row, col)``
    up to ``epoch`` (default: the last committed)."""
    from napari_forgetting.dynamics import density_table
    from napari_forgetting.runs.consensus import consensus_record

    n = store.n_epochs if epoch is None else min(int(epoch) + 1, store.n_epochs)
    preds = np.asarray(store.prediction_history(section, row, col))[:n]
    labels = store.labels(section)
    true = int(labels[row, col])
    correct = preds == true
    forgotten = np.flatnonzero(correct[:-1] & ~correct[1:]) + 1
    n_classes = len(store.class_names)
    density = np.full(n_classes, np.nan)
    record = consensus_record(store)
    seeds = int(record.get("n_runs") or len(record.get("runs") or ())) if record else 0
    mean_events = None
    if n and "forgetting_events" in store.map_names:
        sec = store.eval_sections[section]
        with contextlib.suppress(KeyError):
            heat = store.heatmap(sec, n - 1)
            density = density_table([heat], [store.map_labels(sec)], n_classes)[0]
            if seeds:
                mean_events = float(store.map("forgetting_events", sec, n - 1)[row, col])
    return PixelHistory(
        store.eval_sections[section],
        int(row),
        int(col),
        true,
        preds,
        correct,
        forgotten,
        density,
        tuple(store.class_names),
        seeds,
        mean_events,
    )
