"""The held-out test volumes of a segmentation run: :class:`TestSplit` (a volume with its
own amplitude normalisation and section store, and the sections tracked every epoch in
sweep mode with their tracker) and :func:`volume_metrics` (the benchmark's figure on a whole
volume). The trainer evaluates them; its recorder (:mod:`.recorder`) writes each tracked
one to a child run store, ``<out_dir>/tests/<name>``.

No Qt, napari or printing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_forgetting.data.section_cache import SectionStore, sources, split_source
from napari_forgetting.data.sections import Section, all_sections, amplitude_stats, paper_split
from napari_forgetting.dynamics import ForgettingTracker

__all__ = ["TestSplit", "volume_metrics"]

#: ``evaluate(sections, store, **options) -> (metrics, predictions, labels, statistics)``:
#: the trainer's whole-section evaluation (:func:`~.evaluation.evaluate_steps` run to its end).
Evaluate = Callable[..., tuple[dict, list, list, Any]]


@dataclass
class TestSplit:
    """A held-out test volume of a :class:`~.segmentation.Trainer`; ``tracked`` and
    ``tracker`` are empty / None when its sections are not tracked every epoch."""

    name: str
    volume: Any
    shape: tuple[int, int, int]
    store: SectionStore
    tracked: list[Section]
    tracker: ForgettingTracker | None
    last_predictions: list[np.ndarray] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        name: str,
        volume: Any,
        every: int,
        volume_store: Callable[[Any, Any, Any], SectionStore],
        new_tracker: Callable[[list[Section], str], ForgettingTracker],
    ) -> TestSplit:
        """``volume`` normalised with its own statistics (``volume_store(image, labels,
        stats)``); with ``every > 0`` the validation sections of its paper split at that
        spacing are tracked (``new_tracker(sections, "sweep")``)."""
        image_src, label_src = sources(volume, f"test volume {name!r}")
        store = volume_store(image_src, label_src, amplitude_stats(image_src))
        tracked: list[Section] = []
        tracker = None
        if every > 0:
            tracked = list(paper_split(split_source(volume), every).validation)
            store.preload(tracked)
            tracker = new_tracker(tracked, "sweep")
        shape = tuple(int(n) for n in image_src.shape)
        return cls(name, volume, shape, store, tracked, tracker)  # type: ignore[arg-type]

    def track_epoch(self, epoch: int, evaluate: Evaluate, stats: bool) -> dict[str, Any]:
        """Evaluate the tracked sections after epoch ``epoch``, feeding the tracker; the
        metrics (kept in :attr:`history`)."""
        metrics, self.last_predictions, _, _ = evaluate(
            self.tracked, self.store, stats=stats, tracker=self.tracker
        )
        self.history.append({"epoch": epoch, **metrics})
        return metrics

    def state_dict(self, copy: bool = True) -> dict[str, Any]:
        """The checkpoint's part: the tracked sections' keys, the tracker, the history."""
        return {
            "sections": [s.key for s in self.tracked],
            "tracker": None if self.tracker is None else self.tracker.state_dict(copy),
            "history": [dict(h) for h in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.tracker is not None:
            self.tracker.load_state_dict(state["tracker"])
        self.history = [dict(h) for h in state["history"]]


def volume_metrics(
    volume: Any, store: SectionStore, kind: str, evaluate: Evaluate
) -> dict[str, Any]:
    """The benchmark metrics on every ``kind`` section ("inline", "crossline" or "both") of
    ``volume`` read through ``store``, with the ``confusion`` matrix so volumes pool, the
    number of sections and the volume's shape."""
    secs = all_sections(split_source(volume))
    if kind != "both":
        secs = [s for s in secs if s.kind == kind]
    metrics, _, _, _ = evaluate(secs, store, stats=False, confusion=True, keep=False)
    metrics["n_sections"] = len(secs)
    metrics["shape"] = [int(n) for n in store.image_src.shape]
    return metrics
