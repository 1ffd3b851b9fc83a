"""Tests of the forgetting dynamics layer (napari_forgetting.dynamics).

The pure functions are pinned to hand-counted histories and to direct Python loops over
Eq. 1-3 of Benkert et al. (2021); the incremental tracker is pinned to the pure functions.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from napari_forgetting.dynamics import (
    NEVER_LEARNED_SENTINEL,
    ForgettingTracker,
    HeatMap,
    NeverLearned,
    area_under_margin,
    cartography,
    class_density,
    correctness,
    density_table,
    first_learned,
    forgetting_events,
    forgetting_scores,
    heat_limit,
    learning_events,
    margin_from_probs,
    never_learned,
    rank_sections,
    softmax,
    switch_events,
    true_class_confidence,
    true_class_margin,
)


def _bits(s: str) -> list[bool]:
    return [c == "1" for c in s]


# ---------------------------------------------------------------------- reference loops


def _loop_forgetting(correct: np.ndarray) -> np.ndarray:
    """Eq. 2-3 literally: L_i = sum_t int(acc^{t+1} < acc^t)."""
    t_len = correct.shape[0]
    flat = correct.reshape(t_len, -1).astype(int)
    out = np.zeros(flat.shape[1], dtype=np.int64)
    for i in range(flat.shape[1]):
        for t in range(t_len - 1):
            out[i] += int(flat[t + 1, i] < flat[t, i])
    return out.reshape(correct.shape[1:])


def _loop_switches(pred: np.ndarray) -> np.ndarray:
    flat = pred.reshape(pred.shape[0], -1)
    out = np.zeros(flat.shape[1], dtype=np.int64)
    for i in range(flat.shape[1]):
        for t in range(flat.shape[0] - 1):
            out[i] += int(flat[t + 1, i] != flat[t, i])
    return out.reshape(pred.shape[1:])


def _loop_first(correct: np.ndarray) -> np.ndarray:
    flat = correct.reshape(correct.shape[0], -1)
    out = np.full(flat.shape[1], -1, dtype=np.int64)
    for i in range(flat.shape[1]):
        for t in range(flat.shape[0]):
            if flat[t, i]:
                out[i] = t
                break
    return out.reshape(correct.shape[1:])


# ---------------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ("0000000", 0),  # never learned: no event under Eq. 1-3
        ("0111111", 0),  # learned once and kept
        ("1111111", 0),  # correct from the start
        ("0111000", 1),  # learned, then forgotten once
        ("0011110", 1),  # forgotten at the very last step
        ("1010101", 3),  # oscillating: 1->0 at t=0, 2, 4
        ("0101010", 3),  # oscillating: 1->0 at t=1, 3, 5
        ("1", 0),  # a single step cannot hold an event
    ],
)
def test_forgetting_events_counts_hand_written_histories(history: str, expected: int) -> None:
    correct = np.array(_bits(history))
    assert forgetting_events(correct) == expected
    assert _loop_forgetting(correct[:, None])[0] == expected


def test_forgetting_events_keeps_trailing_shape() -> None:
    histories = ["0000000", "0111111", "0111000", "0011110", "1010101", "0101010"]
    expected = np.array([0, 0, 1, 1, 3, 3]).reshape(2, 3)
    correct = np.array([_bits(h) for h in histories]).T.reshape(7, 2, 3)
    out = forgetting_events(correct)
    assert out.shape == (2, 3)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    assert forgetting_events(np.zeros((0, 4, 5), dtype=bool)).shape == (4, 5)


def test_forgetting_events_matches_loop_on_random_histories() -> None:
    rng = np.random.default_rng(0)
    for shape in [(9, 13), (20, 3, 4), (2, 5, 2, 3), (1, 6)]:
        correct = rng.random(shape) < 0.5
        np.testing.assert_array_equal(forgetting_events(correct), _loop_forgetting(correct))


def test_learning_events_count_wrong_to_correct() -> None:
    assert learning_events(np.array(_bits("0101101"))) == 3
    assert learning_events(np.array(_bits("1111"))) == 0


def test_correctness_is_eq1_with_broadcast_labels() -> None:
    pred = np.array([[0, 1, 2], [1, 1, 2]])
    labels = np.array([1, 1, 2])
    np.testing.assert_array_equal(correctness(pred, labels), [[0, 1, 1], [1, 1, 1]])


def test_switch_first_and_never_learned_on_hand_cases() -> None:
    pred = np.array([[0, 0, 1, 1, 2, 0], [3, 3, 3, 3, 3, 3], [0, 1, 0, 1, 0, 1]]).T
    np.testing.assert_array_equal(switch_events(pred), [3, 0, 5])
    correct = np.array([_bits("001001"), _bits("000000"), _bits("100000")]).T
    np.testing.assert_array_equal(first_learned(correct), [2, -1, 0])
    np.testing.assert_array_equal(never_learned(correct), [False, True, False])
    assert first_learned(np.array(_bits("0010"))) == 2  # a single pixel's 1D history
    assert first_learned(np.zeros((0, 2), dtype=bool)).tolist() == [-1, -1]
    assert never_learned(np.zeros((0, 2), dtype=bool)).tolist() == [True, True]


def test_switch_first_and_never_learned_match_loops_on_random() -> None:
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 3, size=(15, 4, 6))
    labels = rng.integers(0, 3, size=(4, 6))
    correct = correctness(pred, labels)
    np.testing.assert_array_equal(switch_events(pred), _loop_switches(pred))
    np.testing.assert_array_equal(first_learned(correct), _loop_first(correct))
    np.testing.assert_array_equal(never_learned(correct), _loop_first(correct) == -1)


def test_never_learned_conventions() -> None:
    counts = np.array([[0, 2], [0, 1]])
    mask = np.array([[True, False], [False, False]])
    np.testing.assert_array_equal(forgetting_scores(counts, mask, 60), [[0, 2], [0, 1]])
    np.testing.assert_array_equal(forgetting_scores(counts, mask, 60, "epochs"), [[60, 2], [0, 1]])
    sentinel = forgetting_scores(counts, mask, 60, NeverLearned.SENTINEL)
    np.testing.assert_array_equal(sentinel, [[NEVER_LEARNED_SENTINEL, 2], [0, 1]])
    custom = forgetting_scores(counts, mask, 60, "sentinel", sentinel=999)
    assert custom[0, 0] == 999
    assert counts[0, 0] == 0  # inputs untouched
    with pytest.raises(ValueError):
        forgetting_scores(counts, mask, 60, "infinite")


# ---------------------------------------------------------------------- stats functions


def test_confidence_and_margin_per_step_against_numpy() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(4, 3, 5)).astype(np.float32)
    labels = rng.integers(0, 4, size=(3, 5))
    probs = np.exp(logits) / np.exp(logits).sum(axis=0)
    np.testing.assert_allclose(softmax(logits), probs, rtol=1e-5)
    expected_conf = np.take_along_axis(probs, labels[None], 0)[0]
    np.testing.assert_allclose(true_class_confidence(probs, labels), expected_conf, rtol=1e-6)
    expected_margin = np.empty((3, 5))
    for r in range(3):
        for c in range(5):
            k = labels[r, c]
            others = np.delete(logits[:, r, c], k)
            expected_margin[r, c] = logits[k, r, c] - others.max()
    np.testing.assert_allclose(true_class_margin(logits, labels), expected_margin, rtol=1e-5)
    np.testing.assert_allclose(margin_from_probs(probs, labels), expected_margin, atol=1e-5)
    conf, var = cartography(np.stack([expected_conf, expected_conf**2]))
    np.testing.assert_allclose(conf, (expected_conf + expected_conf**2) / 2)
    np.testing.assert_allclose(var, np.abs(expected_conf - expected_conf**2) / 2, atol=1e-12)
    np.testing.assert_allclose(area_under_margin(np.stack([expected_margin, -expected_margin])), 0)


# ---------------------------------------------------------------------- tracker, sweep mode

SHAPES = [(4, 5), (3, 7), (6, 2)]


def _random_epoch(rng, labels, n_classes, p_correct):
    preds = []
    for lab in labels:
        noise = rng.integers(0, n_classes, size=lab.shape)
        preds.append(np.where(rng.random(lab.shape) < p_correct, lab, noise))
    return preds


def test_sweep_tracker_equals_pure_functions_every_epoch() -> None:
    rng = np.random.default_rng(3)
    n_classes = 4
    labels = [rng.integers(0, n_classes, size=s) for s in SHAPES]
    tracker = ForgettingTracker(SHAPES, n_classes, mode="sweep", max_epochs=20)
    history: list[list[np.ndarray]] = [[] for _ in SHAPES]
    for epoch in range(20):
        preds = _random_epoch(rng, labels, n_classes, p_correct=0.2 + 0.03 * epoch)
        tracker.update_epoch(preds, labels)
        assert tracker.epoch == epoch + 1
        for s in range(len(SHAPES)):
            history[s].append(preds[s])
            pred_h = np.stack(history[s])
            correct = correctness(pred_h, labels[s])
            heat = tracker.heatmap(s)
            assert isinstance(heat, HeatMap)
            np.testing.assert_array_equal(heat.events, forgetting_events(correct))
            np.testing.assert_array_equal(heat.never_learned, never_learned(correct))
            np.testing.assert_array_equal(tracker.first_learned(s), first_learned(correct))
            np.testing.assert_array_equal(tracker.switches(s), switch_events(pred_h))
            np.testing.assert_array_equal(tracker.correct(s), correct[-1])
            np.testing.assert_array_equal(tracker.last_prediction(s), preds[s])
    assert sum(h.events.sum() for h in tracker.heatmaps()) > 0


def test_sweep_tracker_accepts_a_stacked_array() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, size=(3, 4, 6))
    a = ForgettingTracker([(4, 6)] * 3, 3)
    b = ForgettingTracker([(4, 6)] * 3, 3)
    for _ in range(5):
        preds = rng.integers(0, 3, size=(3, 4, 6))
        a.update_epoch(preds, labels)
        b.update_epoch(list(preds), list(labels))
    for s in range(3):
        np.testing.assert_array_equal(a.heatmap(s).events, b.heatmap(s).events)


def test_tracker_heatmap_conventions() -> None:
    labels = [np.array([[0, 1], [1, 0]])]
    tracker = ForgettingTracker([(2, 2)], 2, never_learned="epochs")
    for pred in ([[0, 0], [0, 0]], [[1, 0], [0, 0]], [[0, 0], [0, 0]]):
        tracker.update_epoch([np.array(pred)], labels)
    # pixel (0,0): 1 0 1 -> 1 event; (0,1) and (1,0): never learned; (1,1): always right
    np.testing.assert_array_equal(tracker.heatmap(0).events, [[1, 3], [3, 0]])
    np.testing.assert_array_equal(tracker.heatmap(0, "zero").events, [[1, 0], [0, 0]])
    sentinel = tracker.heatmap(0, NeverLearned.SENTINEL).events
    np.testing.assert_array_equal(
        sentinel, [[1, NEVER_LEARNED_SENTINEL], [NEVER_LEARNED_SENTINEL, 0]]
    )
    np.testing.assert_array_equal(tracker.never_learned_mask(0), [[False, True], [True, False]])


def test_core_state_is_three_bytes_per_pixel() -> None:
    small = ForgettingTracker(SHAPES, 6, track_switches=False)
    assert small.nbytes_per_pixel.core == 3
    assert small.nbytes_per_pixel.total == 3
    full = ForgettingTracker(SHAPES, 6, track_confidence=True, track_margin=True)
    assert full.nbytes_per_pixel.core == 3
    assert full.nbytes_per_pixel.total == 3 + 1 + 8 + 4
    assert full.nbytes == full.n_pixels * 16
    online = ForgettingTracker(SHAPES, 6, mode="online", track_confidence=True)
    assert online.nbytes_per_pixel.total == 3 + 1 + 8 + 2  # + uint16 presentation count
    wide = ForgettingTracker(SHAPES, 6, max_epochs=1000)
    assert wide.nbytes_per_pixel.core == 5
    assert wide.count_max == 65535


def test_tracker_refuses_more_epochs_than_configured_and_bad_input_leaves_it_unchanged() -> None:
    labels = [np.zeros((2, 3), dtype=int)]
    tracker = ForgettingTracker([(2, 3)], 3, max_epochs=2)
    tracker.update_epoch([np.zeros((2, 3), dtype=int)], labels)
    before = tracker.state_dict()
    with pytest.raises(ValueError):
        tracker.update_epoch([np.full((2, 3), 7)], labels)  # class out of range
    with pytest.raises(ValueError):
        tracker.update_epoch([np.zeros((3, 2), dtype=int)], labels)  # wrong shape
    with pytest.raises(TypeError):
        tracker.update_epoch([np.zeros((2, 3))], labels)  # floats, not class ids
    after = tracker.state_dict()
    assert after["epoch"] == before["epoch"]
    for name, arr in before["arrays"].items():
        np.testing.assert_array_equal(after["arrays"][name], arr)
    tracker.update_epoch([np.ones((2, 3), dtype=int)], labels)
    np.testing.assert_array_equal(tracker.heatmap(0).events, np.ones((2, 3)))
    with pytest.raises(RuntimeError):
        tracker.update_epoch([np.zeros((2, 3), dtype=int)], labels)
    with pytest.raises(ValueError):
        ForgettingTracker([(2, 3)], 200)  # more classes than the flags byte holds
    with pytest.raises(RuntimeError):
        tracker.update_patch(0, 0, 0, np.zeros((1, 1), int), np.zeros((1, 1), int))


def test_a_pass_applied_section_by_section_equals_one_update_epoch() -> None:
    """update_sections hands a pass over a few sections at a time (what an evaluation does
    to hold one section's outputs at a time): the same state as update_epoch, the epoch
    advancing only when the last section is applied; out of order, or a checkpoint in the
    middle of a pass, is refused."""
    rng = np.random.default_rng(8)
    n_classes = 4
    labels = [rng.integers(0, n_classes, size=s) for s in SHAPES]
    whole = ForgettingTracker(SHAPES, n_classes, track_confidence=True, track_margin=True)
    parts = ForgettingTracker(SHAPES, n_classes, track_confidence=True, track_margin=True)
    for epoch in range(4):
        preds = _random_epoch(rng, labels, n_classes, p_correct=0.5)
        conf = [rng.random(s).astype(np.float32) for s in SHAPES]
        marg = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
        whole.update_epoch(preds, labels, confidence=conf, margin=marg)
        with pytest.raises(ValueError, match="continues at section 0"):
            parts.update_sections(1, preds[1:2], labels[1:2], confidence=conf[1:2],
                                  margin=marg[1:2])  # fmt: skip
        parts.update_sections(0, preds[:1], labels[:1], confidence=conf[:1], margin=marg[:1])
        assert parts.epoch == epoch and parts.sweep_position == 1
        # the applied section reads as after this pass, the others as before
        np.testing.assert_array_equal(parts.presentations(0), epoch + 1)
        np.testing.assert_array_equal(parts.presentations(1), epoch)
        np.testing.assert_array_equal(parts.heatmap(0).events, whole.heatmap(0).events)
        with pytest.raises(RuntimeError, match="finish it first"):
            parts.state_dict()
        with pytest.raises(RuntimeError, match="finish it first"):
            parts.update_epoch(preds, labels, confidence=conf, margin=marg)
        parts.update_sections(1, preds[1:], labels[1:], confidence=conf[1:], margin=marg[1:])
        assert parts.epoch == epoch + 1 and parts.sweep_position == 0
        a, b = whole.state_dict(), parts.state_dict(copy=False)
        for name in a["arrays"]:
            np.testing.assert_array_equal(a["arrays"][name], b["arrays"][name])
    assert b["arrays"]["count"] is parts._arrays["count"]  # copy=False: the tracker's own
    assert a["arrays"]["count"] is not whole._arrays["count"]
    with pytest.raises(ValueError, match="the tracker has 3"):
        parts.update_sections(0, preds * 2, labels * 2)
    for tracker in (parts, ForgettingTracker(SHAPES, n_classes, max_epochs=300)):
        flat = tracker.flat_maps()  # what a run store is created with, without computing it
        assert tracker.map_dtypes() == {k: v.dtype for k, v in flat.items()}


def test_sweep_cartography_and_margin_against_numpy() -> None:
    rng = np.random.default_rng(5)
    n_classes, n_epochs = 3, 9
    labels = [rng.integers(0, n_classes, size=s) for s in SHAPES[:2]]
    from_logits = ForgettingTracker(SHAPES[:2], n_classes, track_confidence=True, track_margin=True)
    from_probs = ForgettingTracker(SHAPES[:2], n_classes, track_confidence=True, track_margin=True)
    conf_h: list[list[np.ndarray]] = [[], []]
    marg_h: list[list[np.ndarray]] = [[], []]
    for _ in range(n_epochs):
        logits = [
            rng.normal(scale=2.0, size=(n_classes, *s)).astype(np.float32) for s in SHAPES[:2]
        ]
        probs = [softmax(z) for z in logits]
        preds = [z.argmax(axis=0) for z in logits]
        from_logits.update_epoch(preds, labels, logits=logits)
        from_probs.update_epoch(preds, labels, probs=probs)
        for s in range(2):
            p64 = np.exp(logits[s].astype(np.float64))
            p64 /= p64.sum(axis=0)
            conf_h[s].append(np.take_along_axis(p64, labels[s][None], 0)[0])
            true = np.take_along_axis(logits[s], labels[s][None], 0)[0]
            other = np.where(
                np.arange(n_classes)[:, None, None] == labels[s][None], -np.inf, logits[s]
            )
            marg_h[s].append(true - other.max(axis=0))
    for s in range(2):
        conf = np.stack(conf_h[s])
        marg = np.stack(marg_h[s])
        for tracker in (from_logits, from_probs):
            np.testing.assert_allclose(tracker.confidence(s), conf.mean(0), atol=1e-5)
            np.testing.assert_allclose(tracker.variability(s), conf.std(0), atol=1e-4)
            np.testing.assert_allclose(tracker.margin(s), marg.mean(0), atol=1e-4)
            np.testing.assert_array_equal(tracker.presentations(s), n_epochs)
    maps = from_logits.maps(0)
    assert {"events", "never_learned", "confidence", "variability", "margin"} <= set(maps)
    with pytest.raises(ValueError):
        from_logits.update_epoch(preds, labels)  # statistics tracked but no probs / logits


def test_variability_is_stable_for_constant_high_confidence() -> None:
    tracker = ForgettingTracker([(1, 1)], 2, track_confidence=True)
    probs = np.array([0.999, 0.001], dtype=np.float32).reshape(2, 1, 1)[::-1].copy()
    for _ in range(200):
        tracker.update_epoch([np.ones((1, 1), int)], [np.ones((1, 1), int)], probs=[probs])
    assert tracker.variability(0)[0, 0] < 1e-4
    np.testing.assert_allclose(tracker.confidence(0)[0, 0], 0.999, rtol=1e-5)


# ---------------------------------------------------------------------- tracker, online mode


class _OnlineReference:
    """Per-pixel presentation histories, kept in full."""

    def __init__(self, shapes):
        self.shapes = shapes
        self.hist = {
            (s, r, c): [] for s, (h, w) in enumerate(shapes) for r in range(h) for c in range(w)
        }

    def present(self, s, r, c, epoch, pred, true, conf, margin):
        self.hist[(s, r, c)].append((epoch, pred, true, conf, margin))

    def check(self, tracker: ForgettingTracker) -> None:
        for s, (h, w) in enumerate(self.shapes):
            events = tracker.heatmap(s).events
            never = tracker.never_learned_mask(s)
            first = tracker.first_learned(s)
            switches = tracker.switches(s)
            seen = tracker.presentations(s)
            conf, var, marg = tracker.confidence(s), tracker.variability(s), tracker.margin(s)
            for r in range(h):
                for c in range(w):
                    steps = self.hist[(s, r, c)]
                    assert seen[r, c] == len(steps)
                    if not steps:
                        assert events[r, c] == 0 and never[r, c] and first[r, c] == -1
                        assert np.isnan(conf[r, c]) and np.isnan(marg[r, c])
                        continue
                    epochs, pred, true, cf, mg = (np.array(x) for x in zip(*steps, strict=True))
                    correct = pred == true
                    assert events[r, c] == forgetting_events(correct)
                    assert never[r, c] == never_learned(correct)
                    k = first_learned(correct)
                    assert first[r, c] == (-1 if k < 0 else epochs[k])
                    assert switches[r, c] == switch_events(pred)
                    np.testing.assert_allclose(conf[r, c], cf.mean(), atol=1e-5)
                    np.testing.assert_allclose(var[r, c], cf.std(), atol=1e-3)
                    np.testing.assert_allclose(marg[r, c], mg.mean(), atol=1e-4)


def test_online_tracker_equals_per_pixel_presentation_histories() -> None:
    rng = np.random.default_rng(6)
    shapes = [(6, 8), (5, 9)]
    n_classes, ph, pw = 3, 3, 4
    labels = [rng.integers(0, n_classes, size=s) for s in shapes]
    tracker = ForgettingTracker(
        shapes, n_classes, mode="online", track_confidence=True, track_margin=True
    )
    ref = _OnlineReference(shapes)
    for epoch in range(8):
        for _ in range(rng.integers(0, 4)):  # 0 batches: every pixel unseen this epoch
            b = int(rng.integers(1, 5))
            sec = rng.integers(0, 2, size=b)
            r0 = np.array([rng.integers(0, shapes[s][0] - ph + 1) for s in sec])
            c0 = np.array([rng.integers(0, shapes[s][1] - pw + 1) for s in sec])
            if b > 1:  # force an overlap: patch 1 shifted by one column from patch 0
                sec[1], r0[1] = sec[0], r0[0]
                c0[1] = min(c0[0] + 1, shapes[sec[0]][1] - pw)
            true = np.stack(
                [labels[s][r : r + ph, c : c + pw] for s, r, c in zip(sec, r0, c0, strict=True)]
            )
            logits = rng.normal(scale=1.5, size=(b, n_classes, ph, pw)).astype(np.float32)
            logits += (
                2.0 * (np.arange(n_classes)[None, :, None, None] == true[:, None]) * (epoch / 8)
            )
            pred = logits.argmax(axis=1)
            tracker.update_patch(sec, r0, c0, pred, true, logits=logits)
            conf = true_class_confidence(softmax(logits, class_axis=1), true, class_axis=1)
            marg = true_class_margin(logits, true, class_axis=1)
            for i in range(b):  # the documented order: batch order, then row-major
                for y in range(ph):
                    for x in range(pw):
                        ref.present(
                            sec[i], r0[i] + y, c0[i] + x, epoch,
                            pred[i, y, x], true[i, y, x], conf[i, y, x], marg[i, y, x],
                        )  # fmt: skip
        # single pixels, one of them twice in the same call
        rows = np.array([0, 2, 0])
        cols = np.array([1, 3, 1])
        true = labels[1][rows, cols]
        pred = rng.integers(0, n_classes, size=3)
        conf = rng.random(3).astype(np.float32)
        marg = rng.normal(size=3).astype(np.float32)
        tracker.update_pixels(1, rows, cols, pred, true, probs_true=conf, margin=marg)
        for j in range(3):
            ref.present(1, rows[j], cols[j], epoch, pred[j], true[j], conf[j], marg[j])
        ref.check(tracker)
        tracker.end_epoch()
    assert tracker.epoch == 8
    assert any(len(h) > 8 for h in ref.hist.values())  # several presentations per epoch


def test_overlapping_patches_in_one_batch_equal_sequential_calls() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, size=(5, 5))
    batched = ForgettingTracker([(5, 5)], 2, mode="online")
    sequential = ForgettingTracker([(5, 5)], 2, mode="online")
    r0, c0 = np.array([0, 1, 0]), np.array([0, 1, 0])  # patches 0 and 2 coincide
    for _ in range(6):
        pred = rng.integers(0, 2, size=(3, 3, 3))
        true = np.stack([labels[r : r + 3, c : c + 3] for r, c in zip(r0, c0, strict=True)])
        batched.update_patch(0, r0, c0, pred, true)
        for i in range(3):
            sequential.update_patch(0, r0[i], c0[i], pred[i], true[i])
        batched.end_epoch()
        sequential.end_epoch()
    for name, arr in batched.state_dict()["arrays"].items():
        np.testing.assert_array_equal(arr, sequential.state_dict()["arrays"][name])
    with pytest.raises(IndexError):
        batched.update_patch(0, 3, 3, pred[0], true[0])  # reaches outside the 5x5 section


def test_clipped_padded_patches_in_one_call_equal_cropped_sequential_calls() -> None:
    """``sizes``: patches clipped at the section edge, padded with an ignore label to the
    batch shape, give the same state as presenting each cropped window on its own."""
    rng = np.random.default_rng(11)
    shapes = [(6, 4), (5, 7)]
    labels = [rng.integers(0, 3, size=s) for s in shapes]
    batched = ForgettingTracker(shapes, 3, mode="online", track_confidence=True, track_margin=True)
    sequential = ForgettingTracker(
        shapes, 3, mode="online", track_confidence=True, track_margin=True
    )
    # (section, row0, col0, h, w): clipped windows, overlaps inside the batch, a full patch
    wins = [(0, 2, 1, 4, 3), (0, 3, 2, 3, 2), (1, 0, 0, 4, 4), (1, 1, 5, 4, 2), (0, 2, 1, 4, 3)]
    sec, r0, c0, hs, ws = (np.array(v) for v in zip(*wins, strict=True))
    for _ in range(5):
        pred = rng.integers(0, 3, size=(len(wins), 4, 4))
        conf = rng.random((len(wins), 4, 4)).astype(np.float32)
        marg = rng.normal(size=(len(wins), 4, 4)).astype(np.float32)
        true = np.full((len(wins), 4, 4), 255)
        for b, (s, r, c, h, w) in enumerate(wins):
            true[b, :h, :w] = labels[s][r : r + h, c : c + w]
        batched.update_patch(
            sec, r0, c0, pred, true, confidence=conf, margin=marg, sizes=np.stack([hs, ws], 1)
        )
        for b, (s, r, c, h, w) in enumerate(wins):
            sequential.update_patch(
                s, r, c, pred[b, :h, :w], true[b, :h, :w],
                confidence=conf[b, :h, :w], margin=marg[b, :h, :w],
            )  # fmt: skip
        batched.end_epoch()
        sequential.end_epoch()
    assert batched.presentations(0).max() >= 3  # the overlaps were presented repeatedly
    for name, arr in batched.state_dict()["arrays"].items():
        np.testing.assert_array_equal(arr, sequential.state_dict()["arrays"][name], err_msg=name)
    with pytest.raises(IndexError, match="patch 1 .*outside its section 0"):
        batched.update_patch(0, [0, 3], [0, 0], pred[:2], true[:2], sizes=[[4, 4], [4, 4]],
                             confidence=conf[:2], margin=marg[:2])  # fmt: skip
    with pytest.raises(ValueError, match="sizes"):
        batched.update_patch(0, 0, 0, pred[0], true[0], sizes=[5, 4])


def test_online_counts_saturate_instead_of_wrapping() -> None:
    tracker = ForgettingTracker([(1, 2)], 2, mode="online")
    n = 600  # 300 forgetting events at pixel 0, more than uint8 holds
    pred = np.tile([1, 0], n // 2)
    tracker.update_flat(np.zeros(n, dtype=int), pred, np.ones(n, dtype=int))
    tracker.update_flat([1, 1, 1], [1, 0, 1], [1, 1, 1])
    assert forgetting_events(pred == 1) == 300
    np.testing.assert_array_equal(tracker.heatmap(0).events, [[255, 1]])
    np.testing.assert_array_equal(tracker.switches(0), [[255, 2]])
    assert tracker.count_max == 255


# ---------------------------------------------------------------------- checkpointing


def _feed(tracker, rng, labels, epochs):
    for _ in range(epochs):
        logits = [rng.normal(size=(3, *lab.shape)).astype(np.float32) for lab in labels]
        if tracker.mode == "sweep":
            tracker.update_epoch([z.argmax(0) for z in logits], labels, logits=logits)
        else:
            for s, lab in enumerate(labels):
                z = logits[s][None, :, :3, :3]
                tracker.update_patch(s, 0, 0, z.argmax(1), lab[None, :3, :3], logits=z)
            tracker.end_epoch()


@pytest.mark.parametrize("mode", ["sweep", "online"])
def test_state_dict_round_trip_then_continue_equals_uninterrupted(mode: str) -> None:
    labels = [np.random.default_rng(8).integers(0, 3, size=s) for s in SHAPES[:2]]
    kwargs = dict(mode=mode, track_confidence=True, track_margin=True, max_epochs=10)
    straight = ForgettingTracker(SHAPES[:2], 3, **kwargs)
    _feed(straight, np.random.default_rng(9), labels, 10)

    first = ForgettingTracker(SHAPES[:2], 3, **kwargs)
    rng = np.random.default_rng(9)
    _feed(first, rng, labels, 4)
    state = first.state_dict()
    json.dumps(state["config"])  # the config is JSON-able
    assert all(isinstance(a, np.ndarray) for a in state["arrays"].values())
    resumed = ForgettingTracker.from_state_dict(state)
    _feed(first, np.random.default_rng(0), labels, 1)  # later changes do not leak into state
    _feed(resumed, rng, labels, 6)

    assert resumed.epoch == straight.epoch == 10
    for name, arr in straight.state_dict()["arrays"].items():
        np.testing.assert_array_equal(resumed.state_dict()["arrays"][name], arr)
    other = ForgettingTracker(SHAPES[:1], 3, **kwargs)
    with pytest.raises(ValueError):
        other.load_state_dict(state)


# ---------------------------------------------------------------------- class density


def test_class_density_on_a_hand_made_section() -> None:
    labels = np.array(
        [
            [0, 0, 0, 0],
            [0, 0, 1, 1],
            [1, 1, 1, 1],
            [2, 2, 2, 2],
        ]
    )
    heat = np.array(
        [
            [0, 0, 0, 2],  # class 0: 6 pixels, 2 + 4 = 6 events -> 1.0
            [0, 4, 3, 0],  # class 1: 6 pixels, 3 + 1 + 2 = 6 events -> 1.0
            [1, 0, 2, 0],
            [5, 5, 5, 5],  # class 2: 4 pixels, 20 events -> 5.0
        ]
    )
    assert class_density(heat, labels, 0) == pytest.approx(6 / 6)
    assert class_density(heat, labels, 1) == pytest.approx((3 + 0 + 1 + 0 + 2 + 0) / 6)
    assert class_density(heat, labels, 2) == pytest.approx(5.0)
    assert np.isnan(class_density(heat, labels, 3))  # absent class: no density, not 0
    assert class_density(HeatMap(heat, heat < 0), labels, 2) == pytest.approx(5.0)

    other_labels = np.zeros((2, 3), dtype=int)
    other_heat = np.full((2, 3), 9)
    table = density_table([heat, other_heat], [labels, other_labels], n_classes=4)
    assert table.shape == (2, 4)
    np.testing.assert_allclose(table[0], [1.0, 1.0, 5.0, np.nan])
    np.testing.assert_allclose(table[1], [9.0, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(rank_sections(table, 0), [1, 0])
    np.testing.assert_array_equal(rank_sections(table, 0, top=1), [1])
    np.testing.assert_array_equal(rank_sections(table, 2), [0])  # section 1 has no class 2
    assert rank_sections(table, 3).size == 0


def test_density_table_matches_class_density_on_random_sections() -> None:
    rng = np.random.default_rng(10)
    heats = [rng.integers(0, 5, size=s) for s in SHAPES]
    labels = [rng.integers(0, 4, size=s) for s in SHAPES]
    labels[1][labels[1] == 2] = 255  # an ignore value outside the classes is not counted
    table = density_table(heats, labels, 4)
    for s in range(len(SHAPES)):
        for k in range(4):
            np.testing.assert_equal(table[s, k], class_density(heats[s], labels[s], k))


# ---------------------------------------------------------------------- layering


def test_dynamics_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import napari_forgetting.dynamics as d\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_torch_tensors_are_accepted() -> None:
    torch = pytest.importorskip("torch")
    pred = torch.tensor([[0, 1, 1], [1, 1, 0]])
    assert forgetting_events(pred == 1).tolist() == [0, 0, 1]
    tracker = ForgettingTracker([(2, 3)], 2, track_margin=True)
    logits = torch.zeros((1, 2, 2, 3), requires_grad=True)
    tracker.update_epoch(pred[None], torch.ones((1, 2, 3), dtype=torch.long), logits=logits)
    np.testing.assert_array_equal(tracker.correct(0), [[False, True, True], [True, True, False]])


def test_precomputed_confidence_and_margin_equal_class_maps() -> None:
    from napari_forgetting.dynamics import ForgettingTracker, softmax
    from napari_forgetting.dynamics.stats import true_class_confidence, true_class_margin

    rng = np.random.default_rng(0)
    shapes = [(5, 7), (4, 3)]
    kw = dict(track_confidence=True, track_margin=True)
    a, b = ForgettingTracker(shapes, 3, **kw), ForgettingTracker(shapes, 3, **kw)
    for _ in range(3):
        logits = [rng.normal(size=(3, *s)).astype(np.float32) for s in shapes]
        labels = [rng.integers(0, 3, s) for s in shapes]
        preds = [z.argmax(0) for z in logits]
        pairs = list(zip(logits, labels, strict=True))
        a.update_epoch(preds, labels, logits=logits)
        b.update_epoch(
            preds,
            labels,
            confidence=[true_class_confidence(softmax(z), y) for z, y in pairs],
            margin=[true_class_margin(z, y) for z, y in pairs],
        )
    for s in range(2):
        np.testing.assert_allclose(a.confidence(s), b.confidence(s), rtol=1e-6)
        np.testing.assert_allclose(a.variability(s), b.variability(s), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(a.margin(s), b.margin(s), rtol=1e-6)
    online = ForgettingTracker(shapes, 3, mode="online", **kw)
    z, y = logits[0][:, :2, :3], labels[0][:2, :3]
    conf = true_class_confidence(softmax(z), y)
    with pytest.raises(ValueError, match=r"^margin is tracked: pass margin=, or probs"):
        online.update_patch(0, 0, 0, z.argmax(0), y, confidence=conf)  # margin missing only
    with pytest.raises(ValueError, match=r"^confidence and margin are tracked"):
        online.update_patch(0, 0, 0, z.argmax(0), y)
    online.update_patch(
        0, 0, 0, z.argmax(0), y,
        confidence=conf, margin=true_class_margin(z, y),
    )  # fmt: skip
    np.testing.assert_allclose(online.margin(0)[:2, :3], true_class_margin(z, y), rtol=1e-6)


# --- heat_limit: the display maximum of a forgetting-event map


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64])
@pytest.mark.parametrize("n", [1, 2, 7, 200, 10_001, 70_001])
def test_heat_limit_is_the_ceiled_percentile(dtype, n):
    rng = np.random.default_rng(n)
    for high in (1, 3, 60):
        counts = rng.integers(0, high, n).astype(dtype)
        assert heat_limit(counts) == np.ceil(np.percentile(counts, 99.5))
        for q in (33.3, 50.0, 66.7, 90.0):  # interpolation weights below and above 0.5
            assert heat_limit(counts, q=q) == np.ceil(np.percentile(counts, q))
    skew = np.zeros(n, dtype)
    skew[-1] = 9  # one hot pixel: above the 99.5th percentile unless n is tiny
    assert heat_limit(skew) == np.ceil(np.percentile(skew, 99.5))
    with pytest.raises(ValueError, match="no counts"):
        heat_limit(np.zeros(0, dtype))


def test_heat_limit_on_a_sample_that_misleads_its_narrowing():
    n = 4_000_000
    counts = np.zeros(n, np.uint8)
    counts[:: n >> 14] = 50  # exactly the strided sample: its percentile says 50
    assert np.count_nonzero(counts) < 0.005 * n
    assert heat_limit(counts) == np.ceil(np.percentile(counts, 99.5)) == 0.0
    counts[-2000:] = 7  # and a genuine tail
    assert heat_limit(counts) == np.ceil(np.percentile(counts, 99.5))
