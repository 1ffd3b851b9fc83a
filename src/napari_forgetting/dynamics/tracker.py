"""Incremental per-pixel forgetting tracker for a set of sections: its update rules.

:class:`ForgettingTracker` is fed the model's predictions as training runs and keeps, for
every tracked pixel, what :mod:`.events` computes from a full history -- without keeping the
history. At every point its maps equal the pure functions applied to the history so far.

This module holds how the tracker counts: the one update step (:meth:`ForgettingTracker._step`)
and the entry points that feed it. What it keeps per pixel -- the arrays, their storage and
spilling, the maps read from them and the checkpoint state -- is its
:class:`~.tracker_state.TrackerState` (:mod:`.tracker_state`); the entry points' arguments are
checked and converted by :mod:`.tracker_inputs`.

Two modes
---------
``"sweep"`` (the paper's): after each epoch, the trainer evaluates every tracked section and
calls :meth:`ForgettingTracker.update_epoch` once; step ``t`` of a pixel's history is epoch
``t``.

``"online"`` (Toneva et al.'s): pixels are scored from the training batches as they are seen
(:meth:`~ForgettingTracker.update_patch`, :meth:`~ForgettingTracker.update_pixels`,
:meth:`~ForgettingTracker.update_flat`); every presentation of a pixel is one step of *its*
history, so a pixel may have 0, 1 or several steps per epoch, and forgetting is counted
between consecutive presentations of the same pixel. :meth:`~ForgettingTracker.end_epoch`
closes an epoch (the epoch index is what ``first_learned`` records). When one call presents
the same pixel more than once (overlapping patches in a batch), the presentations are applied
in the order of the flattened input: patch ``b`` before patch ``b + 1``, and within a patch
row-major -- exactly as if the patches had been passed one call at a time.

Saturation: in sweep mode a pixel has at most ``floor(T / 2)`` forgetting events and
``T - 1`` switches in ``T <= max_epochs`` epochs, so the counters never saturate. In online
mode a pixel presented more than ~510 times (uint8) could reach the cap; counts then stay at
the dtype maximum (255 or 65535) instead of wrapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_forgetting.data.spill import Spill
from napari_forgetting.dynamics._arrays import as_int_array
from napari_forgetting.dynamics.events import NEVER_LEARNED_SENTINEL, NeverLearned
from napari_forgetting.dynamics.tracker_inputs import (
    check_classes,
    check_sections,
    flat_stat,
    patch_labels,
    patch_stats,
    patch_windows,
    per_section,
    sweep_stats,
)
from napari_forgetting.dynamics.tracker_state import (
    ONLINE,
    SWEEP,
    BytesPerPixel,
    HeatMap,
    TrackerConfig,
    TrackerState,
)

__all__ = ["BytesPerPixel", "ForgettingTracker", "HeatMap", "TrackerConfig"]


def _sat_add(counter: np.ndarray, increment: np.ndarray) -> np.ndarray:
    """``counter + increment`` (bool increment), held at the dtype maximum instead of wrapping."""
    top = np.iinfo(counter.dtype).max
    return counter + (increment & (counter < top)).astype(counter.dtype)


def _presentation_rounds(pixel_index: np.ndarray) -> list[np.ndarray] | None:
    """Split positions of ``pixel_index`` (N,) into rounds of unique pixels.

    Round ``r`` holds, for every pixel, the position of its ``r``-th occurrence in input
    order, so applying the rounds in turn applies each pixel's presentations in input order.
    Returns None when all pixels are distinct (one round, the input itself).
    """
    n = pixel_index.size
    order = np.argsort(pixel_index, kind="stable")
    s = pixel_index[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(s[1:], s[:-1], out=new_group[1:])
    if new_group.all():
        return None
    starts = np.flatnonzero(new_group)
    rank = np.arange(n) - starts[np.cumsum(new_group) - 1]
    positions = order[np.argsort(rank, kind="stable")]
    return np.split(positions, np.cumsum(np.bincount(rank))[:-1])


class ForgettingTracker(TrackerState):
    """Per-pixel forgetting events, first-learned epoch, switches and optional cartography /
    margin statistics for a set of 2D sections, updated incrementally.

    Parameters
    ----------
    section_shapes : sequence of (n_rows, n_cols)
        One per tracked section; shapes may differ.
    n_classes : int
        Number of classes (class ids ``0 .. n_classes-1``), at most 127.
    mode : ``"sweep"`` or ``"online"``
        See the module docstring.
    max_epochs : int
        The most epochs this tracker will see; <= 255 gives 3 bytes of core state per pixel.
    track_switches : bool
        Keep per-pixel counts of predicted-class changes (1 or 2 bytes per pixel).
    track_confidence : bool
        Keep mean and variability of the true-class probability (8 bytes per pixel).
    track_margin : bool
        Keep the mean true-class margin, AUM (4 bytes per pixel).
    never_learned : NeverLearned or str
        Default convention of :meth:`heatmap` for never-learned pixels.
    sentinel : int
        Score of never-learned pixels under ``"sentinel"``.
    """

    def __init__(
        self,
        section_shapes: Sequence[Sequence[int]],
        n_classes: int,
        *,
        mode: str = SWEEP,
        max_epochs: int = 255,
        track_switches: bool = True,
        track_confidence: bool = False,
        track_margin: bool = False,
        never_learned: NeverLearned | str = NeverLearned.ZERO,
        sentinel: int = NEVER_LEARNED_SENTINEL,
        spill: Spill | None = None,
    ) -> None:
        config = TrackerConfig(
            section_shapes=tuple(tuple(s) for s in section_shapes),  # type: ignore[misc]
            n_classes=int(n_classes),
            mode=mode,
            max_epochs=int(max_epochs),
            track_switches=bool(track_switches),
            track_confidence=bool(track_confidence),
            track_margin=bool(track_margin),
            never_learned=NeverLearned(never_learned).value,
            sentinel=int(sentinel),
        )
        super().__init__(config, spill)

    # ------------------------------------------------------------------ the one update step

    def _step(
        self,
        sel: slice | np.ndarray,
        pred: np.ndarray,
        true: np.ndarray,
        conf: np.ndarray | None,
        margin: np.ndarray | None,
    ) -> None:
        """Append one step to the history of the pixels ``sel`` (a slice or unique indices).

        ``pred``, ``true``: int (n,); ``conf``, ``margin``: float32 (n,) or None.
        """
        a = self._arrays
        correct = pred == true
        flags = a["flags"][sel]
        was_correct = (flags & 1).astype(bool)
        prev_code = flags >> 1
        a["count"][sel] = _sat_add(a["count"][sel], was_correct & ~correct)
        first = a["first"][sel]
        newly = correct & (first == self._never)
        if newly.any():
            first[newly] = self._epoch
            a["first"][sel] = first
        code = pred.astype(np.uint8) + np.uint8(1)
        if "switches" in a:
            changed = (prev_code != 0) & (prev_code != code)
            a["switches"][sel] = _sat_add(a["switches"][sel], changed)
        a["flags"][sel] = correct.astype(np.uint8) | (code << np.uint8(1))

        if conf is None and margin is None:
            return
        if self.mode == SWEEP:
            n_obs: np.ndarray | np.float32 = np.float32(self._epoch + 1)
        else:
            seen = a["presentations"][sel] + np.uint16(1)
            a["presentations"][sel] = seen
            n_obs = seen.astype(np.float32)
        if conf is not None:
            mean = a["confidence_mean"][sel]
            delta = conf - mean
            mean += delta / n_obs
            a["confidence_mean"][sel] = mean
            a["confidence_m2"][sel] = a["confidence_m2"][sel] + delta * (conf - mean)
        if margin is not None:
            mean = a["margin_mean"][sel]
            mean += (margin - mean) / n_obs
            a["margin_mean"][sel] = mean

    def _check_open(self) -> None:
        if self._epoch >= self._config.max_epochs:
            raise RuntimeError(
                f"the tracker was configured for max_epochs={self._config.max_epochs} "
                "and has seen them all"
            )

    def _require_mode(self, mode: str, what: str) -> None:
        if self.mode != mode:
            raise RuntimeError(f"{what} is for a {mode!r} tracker; this one is {self.mode!r}")

    # ------------------------------------------------------------------ sweep mode

    def update_epoch(
        self,
        predictions: Any,
        labels: Any,
        probs: Any | None = None,
        logits: Any | None = None,
        *,
        confidence: Any | None = None,
        margin: Any | None = None,
    ) -> None:
        """Sweep mode: apply one full evaluation pass (epoch ``self.epoch``) to every section.

        Parameters
        ----------
        predictions : list of S int arrays (n_rows_s, n_cols_s), or int (S, n_rows, n_cols)
            Predicted class per pixel (numpy or torch), in the tracker's section order.
        labels : same layout as ``predictions``
            True class per pixel, ``0 .. n_classes-1``.
        probs : list of S float arrays (n_classes, n_rows_s, n_cols_s), or (S, C, H, W)
            Softmax output; needed (or ``logits``) when confidence or margin is tracked.
        logits : same layout as ``probs``
            Raw outputs; the margin uses them when given (else ``log(probs)``), the
            confidence uses their softmax when ``probs`` is not given.
        confidence, margin : lists of S float arrays (n_rows_s, n_cols_s), optional
            Per-pixel true-class probability and true-class margin computed elsewhere (e.g.
            on the GPU, so the class maps need not be copied); used instead of
            ``probs``/``logits`` for the statistic they give.

        Nothing is changed when an argument is invalid. The same pass may be applied a few
        sections at a time instead: :meth:`update_sections`.
        """
        self._check_between_sweeps("update_epoch")
        self.update_sections(
            0, predictions, labels, probs, logits, confidence=confidence, margin=margin,
            count=self.n_sections,
        )  # fmt: skip

    def update_sections(
        self,
        first: int,
        predictions: Any,
        labels: Any,
        probs: Any | None = None,
        logits: Any | None = None,
        *,
        confidence: Any | None = None,
        margin: Any | None = None,
        count: int | None = None,
    ) -> None:
        """Sweep mode: apply the current pass to sections ``first, first + 1, ...`` (as many
        as ``predictions`` holds; the arguments as in :meth:`update_epoch`, for these
        sections only). A pass goes through the sections in order, each once: ``first``
        must be :attr:`sweep_position`. When the last section is applied the pass is
        complete and :attr:`epoch` advances, exactly as one :meth:`update_epoch` call would
        have done; in between, the sections applied already read as after this pass.

        An evaluation can so hand each few sections to the tracker as they are predicted,
        instead of holding the whole pass's outputs. Nothing is changed when an argument is
        invalid.
        """
        self._require_mode(SWEEP, "update_sections")
        self._check_open()
        if first != self._sweep_next:
            raise ValueError(
                f"the pass of epoch {self._epoch} continues at section {self._sweep_next}, "
                f"not {first}"
            )
        preds = per_section(predictions, "predictions", 2, count)
        count = len(preds)
        if count < 1 or first + count > self.n_sections:
            raise ValueError(
                f"sections {first}..{first + count - 1} given; the tracker has {self.n_sections}"
            )
        shapes = self.section_shapes[first : first + count]
        labs = per_section(labels, "labels", 2, count)
        stats = sweep_stats(self._config, first, shapes, probs, logits, confidence, margin)
        check_sections(first, shapes, self.n_classes, preds, labs, stats)
        for k in range(count):
            s = first + k
            conf, marg = stats.of_section(self._config, k, labs[k])
            sel = slice(int(self._offsets[s]), int(self._offsets[s + 1]))
            self._step(sel, preds[k].ravel(), labs[k].ravel(), conf, marg)
        self._sweep_next = first + count
        if self._sweep_next == self.n_sections:
            self._sweep_next = 0
            self._epoch += 1
        self.release()

    # ------------------------------------------------------------------ online mode

    def update_flat(
        self,
        pixel_index: Any,
        predicted: Any,
        true: Any,
        probs_true: Any | None = None,
        margin: Any | None = None,
        *,
        distinct: bool = False,
    ) -> None:
        """Online mode: one presentation per element, addressed by flat pixel index.

        Parameters
        ----------
        pixel_index : int array (N,) (any shape, flattened)
            Flat index into the concatenated sections (``offsets[s] + row * n_cols_s + col``).
            Repeats are allowed and applied in input order.
        predicted, true : int arrays, same size
        probs_true : float array, same size -- true-class probability (confidence tracking)
        margin : float array, same size -- true-class margin (margin tracking)
        distinct : bool
            The caller guarantees that ``pixel_index`` has no repeats (skips the sort that
            splits repeats into rounds; wrong results if the guarantee is false).

        Nothing is changed when an argument is invalid.
        """
        self._require_mode(ONLINE, "update_flat")
        self._check_open()
        idx = as_int_array(pixel_index, "pixel_index").ravel().astype(np.int64, copy=False)
        pred = as_int_array(predicted, "predicted").ravel()
        lab = as_int_array(true, "true").ravel()
        if not idx.size == pred.size == lab.size:
            raise ValueError(
                f"pixel_index, predicted and true differ in size: "
                f"{idx.size}, {pred.size}, {lab.size}"
            )
        conf = flat_stat(probs_true, "probs_true", self._config.track_confidence, idx.size)
        marg = flat_stat(margin, "margin", self._config.track_margin, idx.size)
        if idx.size == 0:
            return
        if int(idx.min()) < 0 or int(idx.max()) >= self.n_pixels:
            raise IndexError(f"pixel_index out of range 0..{self.n_pixels - 1}")
        check_classes(pred, self.n_classes, "predicted")
        check_classes(lab, self.n_classes, "true")
        rounds = None if distinct else _presentation_rounds(idx)
        if "presentations" in self._arrays:
            n_rounds = 1 if rounds is None else len(rounds)
            if int(self._arrays["presentations"][idx].max()) + n_rounds > 65535:
                raise OverflowError("a pixel would exceed 65535 presentations")
        if rounds is None:
            self._step(idx, pred, lab, conf, marg)
            return
        for pos in rounds:
            self._step(
                idx[pos],
                pred[pos],
                lab[pos],
                None if conf is None else conf[pos],
                None if marg is None else marg[pos],
            )

    def update_pixels(
        self,
        section_index: Any,
        rows: Any,
        cols: Any,
        predicted: Any,
        true: Any,
        probs_true: Any | None = None,
        margin: Any | None = None,
    ) -> None:
        """Online mode: presentations addressed by (section, row, col).

        ``section_index`` (int or int array), ``rows``, ``cols`` broadcast to one shape; the
        other arguments have that shape (see :meth:`update_flat`).
        """
        self._require_mode(ONLINE, "update_pixels")
        idx = self.flat_index(section_index, rows, cols)
        self.update_flat(idx, predicted, true, probs_true, margin)

    def update_patch(
        self,
        section_index: Any,
        row0: Any,
        col0: Any,
        predicted: Any,
        true: Any,
        probs: Any | None = None,
        logits: Any | None = None,
        *,
        confidence: Any | None = None,
        margin: Any | None = None,
        sizes: Any | None = None,
    ) -> None:
        """Online mode: a patch, or a batch of patches, cut from tracked sections.

        Parameters
        ----------
        section_index, row0, col0 : int, or int arrays (B,)
            Section of each patch and the section (row, col) of its top-left pixel.
        predicted, true : int arrays (h, w) or (B, h, w)
            Predicted and true class per patch pixel (numpy or torch); patches must lie
            inside their section.
        probs, logits : float arrays (C, h, w) or (B, C, h, w), optional
            Class maps for confidence / margin tracking, as in :meth:`update_epoch`.
        confidence, margin : float arrays (h, w) or (B, h, w), optional
            Per-pixel true-class probability / margin computed elsewhere (used instead of
            ``probs``/``logits`` for the statistic they give).
        sizes : int array (B, 2) or (2,), optional
            The valid ``(h_b, w_b)`` of each patch, for patches clipped at a section's edge and
            padded to the batch's ``(h, w)``: only the top-left ``h_b x w_b`` pixels of patch
            ``b`` are presented (and only they must lie inside the section). Default: all.

        Overlapping patches of one batch present their common pixels several times, in
        batch order (patch ``b`` before ``b + 1``), each presentation one step.
        """
        self._require_mode(ONLINE, "update_patch")
        pred, lab, single = patch_labels(predicted, true)
        b, h, w = pred.shape
        if b == 0:
            return
        win = patch_windows(section_index, row0, col0, sizes, (b, h, w), self._n_rows, self._n_cols)
        keep = win.valid(h, w)  # (B, h, w), None when every pixel is
        if keep is not None:
            lab = np.where(keep, lab, 0)  # padding (e.g. an ignore label) is never presented
        conf, marg = patch_stats(self._config, lab, single, probs, logits, confidence, margin)
        sec = win.section[:, None, None]
        rows = win.row0[:, None, None] + np.arange(h)[None, :, None]
        cols = win.col0[:, None, None] + np.arange(w)[None, None, :]
        idx = self._offsets[sec] + rows * self._n_cols[sec] + cols
        if keep is not None:  # boolean indexing keeps batch order, then row-major
            idx, pred, lab = idx[keep], pred[keep], lab[keep]
            conf = None if conf is None else conf[keep]
            marg = None if marg is None else marg[keep]
        self.update_flat(idx, pred, lab, conf, marg, distinct=not win.overlap())

    def end_epoch(self) -> None:
        """Online mode: close the current epoch (``epoch`` += 1)."""
        self._require_mode(ONLINE, "end_epoch")
        self._check_open()
        self._epoch += 1
