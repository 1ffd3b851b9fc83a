"""The tracker's state and its update rules are apart: a :class:`TrackerState` reads and
saves what a :class:`ForgettingTracker` counted, without the update rules."""

from __future__ import annotations

import numpy as np

from napari_forgetting.dynamics import ForgettingTracker
from napari_forgetting.dynamics.tracker_state import TrackerState


def _counted() -> ForgettingTracker:
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (2, 5)]
    tracker = ForgettingTracker(shapes, 3, track_confidence=True, track_margin=True)
    for _ in range(4):
        preds = [rng.integers(0, 3, s) for s in shapes]
        labels = [rng.integers(0, 3, s) for s in shapes]
        logits = [rng.normal(size=(3, *s)).astype(np.float32) for s in shapes]
        tracker.update_epoch(preds, labels, logits=logits)
    return tracker


def test_a_state_reads_what_the_tracker_counted():
    tracker = _counted()
    state = TrackerState.from_state_dict(tracker.state_dict())
    assert type(state) is TrackerState and not hasattr(state, "update_epoch")
    assert state.epoch == tracker.epoch == 4
    for s in range(tracker.n_sections):
        mine, theirs = state.maps(s), tracker.maps(s)
        assert mine.keys() == theirs.keys()
        for name in mine:
            np.testing.assert_array_equal(mine[name], theirs[name])
    flat, flat_t = state.flat_maps(2, 17), tracker.flat_maps(2, 17)
    assert {k: v.dtype for k, v in flat.items()} == state.map_dtypes()
    for name in flat:
        np.testing.assert_array_equal(flat[name], flat_t[name])


def test_a_tracker_restored_from_a_state_keeps_counting():
    tracker = _counted()
    restored = ForgettingTracker.from_state_dict(
        TrackerState.from_state_dict(tracker.state_dict()).state_dict()
    )
    assert type(restored) is ForgettingTracker
    preds = [np.zeros(s, dtype=np.int64) for s in tracker.section_shapes]
    logits = [np.zeros((3, *s), dtype=np.float32) for s in tracker.section_shapes]
    for t in (tracker, restored):
        t.update_epoch(preds, preds, logits=logits)
    for name, a in tracker.state_dict()["arrays"].items():
        np.testing.assert_array_equal(a, restored.state_dict()["arrays"][name])
