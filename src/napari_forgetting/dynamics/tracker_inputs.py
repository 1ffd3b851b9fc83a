"""The arguments of :class:`~.tracker.ForgettingTracker`'s updates, checked and converted.

Each function takes what an update entry point was given (numpy or torch), checks it against
the tracker's :class:`~.tracker_state.TrackerConfig` and returns the numpy arrays the update
rule applies; an invalid argument raises before the tracker changes. The per-pixel
true-class confidence and margin are taken as given, or derived from the class maps
(:mod:`.stats`) here:

* every update: :func:`check_classes`, :func:`given_stats`, :func:`require_stats_inputs`,
  :func:`derived_stats`;
* sweep mode (:meth:`~.tracker.ForgettingTracker.update_sections`): :func:`per_section`,
  :func:`sweep_stats` (a :class:`SweepStats`), :func:`check_sections`;
* online mode: :func:`flat_stat` (:meth:`~.tracker.ForgettingTracker.update_flat`), and for
  :meth:`~.tracker.ForgettingTracker.update_patch` :func:`patch_labels`,
  :func:`patch_windows` (a :class:`PatchWindows`) and :func:`patch_stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from napari_forgetting.dynamics._arrays import as_int_array, as_numpy
from napari_forgetting.dynamics.stats import (
    margin_from_probs,
    softmax,
    true_class_confidence,
    true_class_margin,
)
from napari_forgetting.dynamics.tracker_state import TrackerConfig

__all__ = [
    "PatchWindows",
    "SweepStats",
    "check_classes",
    "check_sections",
    "derived_stats",
    "flat_stat",
    "given_stats",
    "patch_labels",
    "patch_stats",
    "patch_windows",
    "per_section",
    "require_stats_inputs",
    "sweep_stats",
]

Stats = tuple[np.ndarray | None, np.ndarray | None]

# ------------------------------------------------------------------ every update


def check_classes(x: np.ndarray, n_classes: int, name: str) -> None:
    """Raise unless ``x`` holds class ids ``0 .. n_classes - 1``."""
    if x.size and (int(x.min()) < 0 or int(x.max()) >= n_classes):
        raise ValueError(f"{name} must be class ids in 0..{n_classes - 1}")


def require_stats_inputs(config: TrackerConfig, given: dict[str, Any], have_maps: bool) -> None:
    """Raise naming each tracked statistic that was neither given precomputed nor can be
    derived (no ``probs`` / ``logits``)."""
    if have_maps:
        return
    missing = [
        name
        for name, tracked in (
            ("confidence", config.track_confidence),
            ("margin", config.track_margin),
        )
        if tracked and name not in given
    ]
    if missing:
        raise ValueError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} tracked: pass "
            f"{' and '.join(f'{m}=' for m in missing)}, or probs or logits"
        )


def given_stats(
    config: TrackerConfig, confidence: Any, margin: Any, convert: Callable[[Any, str], Any]
) -> tuple[dict[str, Any], bool]:
    """The precomputed statistics a caller passed for the tracked ones, checked and
    converted by ``convert(x, name)``, and whether class maps (probs / logits) are still
    needed for a tracked statistic that was not given."""
    given = {}
    for name, x, tracked in (
        ("confidence", confidence, config.track_confidence),
        ("margin", margin, config.track_margin),
    ):
        if x is not None and tracked:
            given[name] = convert(x, name)
    need_maps = (config.track_confidence and "confidence" not in given) or (
        config.track_margin and "margin" not in given
    )
    return given, bool(need_maps)


def derived_stats(
    config: TrackerConfig,
    probs: np.ndarray | None,
    logits: np.ndarray | None,
    true: np.ndarray,
    axis: int,
) -> Stats:
    """Per-pixel true-class confidence and margin from class maps, as tracked."""
    conf = margin = None
    if config.track_confidence:
        p = probs if probs is not None else softmax(logits, class_axis=axis)
        conf = true_class_confidence(p, true, class_axis=axis)
    if config.track_margin:
        if logits is not None:
            margin = true_class_margin(logits, true, class_axis=axis)
        else:
            margin = margin_from_probs(probs, true, class_axis=axis)
    return conf, margin


# ------------------------------------------------------------------ sweep mode


def per_section(x: Any, name: str, ndim: int, count: int | None = None) -> list[np.ndarray]:
    """``x`` as a list of per-section arrays: ``count`` of them, or (``None``) as many as
    given, a lone ``ndim``-D array being one."""
    if isinstance(x, (list, tuple)):
        parts = [as_numpy(p) for p in x]
    else:
        arr = as_numpy(x)
        if arr.ndim == ndim + 1:
            parts = list(arr)
        elif arr.ndim == ndim and count in (None, 1):
            parts = [arr]
        else:
            raise ValueError(
                f"{name}: expected a list of {ndim}D arrays or one stacked "
                f"{ndim + 1}D array, got shape {arr.shape}"
            )
    if count is not None and len(parts) != count:
        raise ValueError(f"{name}: {len(parts)} sections given, {count} expected")
    return parts


class SweepStats(NamedTuple):
    """The statistics inputs of a sweep update, per section given: ``given`` the precomputed
    ones by name, ``derive`` whether a tracked one comes from the class maps ``probs`` /
    ``logits`` (None when not given or not needed)."""

    given: dict[str, list[np.ndarray]]
    derive: bool
    probs: list[np.ndarray] | None
    logits: list[np.ndarray] | None

    def of_section(self, config: TrackerConfig, k: int, labels: np.ndarray) -> Stats:
        """Flat confidence and margin of the ``k``-th section given (None: not tracked);
        derived ones are computed here, one section at a time."""
        conf = marg = None
        if self.derive:
            conf, marg = derived_stats(
                config,
                None if self.probs is None else self.probs[k],
                None if self.logits is None else self.logits[k],
                labels,
                axis=0,
            )
        if "confidence" in self.given:
            conf = self.given["confidence"][k]
        if "margin" in self.given:
            marg = self.given["margin"][k]
        return (None if conf is None else conf.ravel(), None if marg is None else marg.ravel())


def sweep_stats(
    config: TrackerConfig,
    first: int,
    shapes: Sequence[tuple[int, int]],
    probs: Any | None,
    logits: Any | None,
    confidence: Any | None,
    margin: Any | None,
) -> SweepStats:
    """The statistics inputs of sections ``first, first + 1, ...`` (of ``shapes``): the
    precomputed ones converted to float32 and checked against the section shapes, the class
    maps split per section when a tracked statistic still needs them."""
    count = len(shapes)

    def floats(x: Any, name: str) -> list[np.ndarray]:
        parts = [p.astype(np.float32, copy=False) for p in per_section(x, name, 2, count)]
        for s_, (part, shape) in enumerate(zip(parts, shapes, strict=True)):
            if part.shape != shape:
                raise ValueError(f"{name}[{first + s_}] has shape {part.shape}, section is {shape}")
        return parts

    given, stats = given_stats(config, confidence, margin, floats)
    if stats:  # a tracked statistic still comes from the class maps
        require_stats_inputs(config, given, probs is not None or logits is not None)
    probs_l = per_section(probs, "probs", 3, count) if stats and probs is not None else None
    logits_l = per_section(logits, "logits", 3, count) if stats and logits is not None else None
    return SweepStats(given, stats, probs_l, logits_l)


def check_sections(
    first: int,
    shapes: Sequence[tuple[int, int]],
    n_classes: int,
    preds: list[np.ndarray],
    labs: list[np.ndarray],
    stats: SweepStats,
) -> None:
    """Raise unless every section's predictions and labels are class ids of its shape and its
    class maps (when given) are ``(n_classes, *shape)``."""
    for k, shape in enumerate(shapes):
        s = first + k
        for name, part in (("predictions", preds[k]), ("labels", labs[k])):
            if part.shape != shape:
                raise ValueError(f"{name}[{s}] has shape {part.shape}, section is {shape}")
            if part.dtype.kind not in "iub":
                raise TypeError(f"{name}[{s}] must hold integer class ids")
            check_classes(part, n_classes, f"{name}[{s}]")
        for name, maps in (("probs", stats.probs), ("logits", stats.logits)):
            if maps is not None and maps[k].shape != (n_classes, *shape):
                raise ValueError(
                    f"{name}[{s}] has shape {maps[k].shape}, expected {(n_classes, *shape)}"
                )


# ------------------------------------------------------------------ online mode


def flat_stat(x: Any | None, name: str, tracked: bool, size: int) -> np.ndarray | None:
    """A tracked statistic of :meth:`~.tracker.ForgettingTracker.update_flat` as float32
    ``(size,)`` (None when not tracked)."""
    if not tracked:
        return None
    if x is None:
        raise ValueError(f"{name} is tracked: pass it with every update")
    v = as_numpy(x).astype(np.float32, copy=False).ravel()
    if v.size != size:
        raise ValueError(f"{name} has {v.size} values for {size} pixels")
    return v


def patch_labels(predicted: Any, true: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Predicted and true class ids of a patch or a batch of patches as ``(B, h, w)``, and
    whether one ``(h, w)`` patch was given."""
    pred = as_int_array(predicted, "predicted")
    lab = as_int_array(true, "true")
    single = pred.ndim == 2
    if single:
        pred, lab = pred[None], lab[None]
    if pred.ndim != 3 or pred.shape != lab.shape:
        raise ValueError(
            f"predicted and true must both be (h, w) or (B, h, w); got {pred.shape} and {lab.shape}"
        )
    return pred, lab, single


class PatchWindows(NamedTuple):
    """Where a batch of patches lies: per patch ``(B,)`` int64, its ``section``, the section
    (``row0``, ``col0``) of its top-left pixel and its valid ``height`` x ``width``."""

    section: np.ndarray
    row0: np.ndarray
    col0: np.ndarray
    height: np.ndarray
    width: np.ndarray

    def valid(self, h: int, w: int) -> np.ndarray | None:
        """bool (B, h, w): the valid pixels of ``(h, w)`` patches; None when all are."""
        hs, ws = self.height, self.width
        if np.all(hs == h) and np.all(ws == w):
            return None
        return (np.arange(h)[None, :, None] < hs[:, None, None]) & (
            np.arange(w)[None, None, :] < ws[:, None, None]
        )

    def overlap(self) -> bool:
        """Whether two windows of one section overlap (else no pixel can repeat: this cheap,
        B x B test replaces sorting all B*h*w indices for repeats)."""
        sec, r0, c0, hs, ws = self
        ov = (
            (sec[:, None] == sec[None, :])
            & (r0[:, None] < r0[None, :] + hs[None, :])
            & (r0[None, :] < r0[:, None] + hs[:, None])
            & (c0[:, None] < c0[None, :] + ws[None, :])
            & (c0[None, :] < c0[:, None] + ws[:, None])
        )
        np.fill_diagonal(ov, False)
        return bool(ov.any())


def patch_windows(
    section_index: Any,
    row0: Any,
    col0: Any,
    sizes: Any | None,
    shape: tuple[int, int, int],
    n_rows: np.ndarray,
    n_cols: np.ndarray,
) -> PatchWindows:
    """The windows of ``shape`` ``(B, h, w)`` patches (arguments as in
    :meth:`~.tracker.ForgettingTracker.update_patch`), each checked to lie inside its
    section of ``n_rows`` x ``n_cols`` (per section)."""
    b, h, w = shape
    sec, r0, c0 = (
        np.broadcast_to(as_int_array(v, name).astype(np.int64), (b,))
        for v, name in ((section_index, "section_index"), (row0, "row0"), (col0, "col0"))
    )
    if sec.min() < 0 or sec.max() >= len(n_rows):
        raise IndexError(f"section index out of range 0..{len(n_rows) - 1}")
    if sizes is None:
        hs, ws = np.full(b, h, dtype=np.int64), np.full(b, w, dtype=np.int64)
    else:
        hw = np.broadcast_to(as_int_array(sizes, "sizes").astype(np.int64), (b, 2))
        hs, ws = hw[:, 0], hw[:, 1]
        if np.any((hs < 0) | (hs > h) | (ws < 0) | (ws > w)):
            raise ValueError(f"sizes must lie in 0..{h} x 0..{w} (the patch shape)")
    outside = (r0 < 0) | (c0 < 0) | (r0 + hs > n_rows[sec]) | (c0 + ws > n_cols[sec])
    if np.any(outside):
        b0 = int(np.flatnonzero(outside)[0])
        raise IndexError(
            f"patch {b0} ({int(hs[b0])}x{int(ws[b0])} at row {int(r0[b0])}, col "
            f"{int(c0[b0])}) reaches outside its section {int(sec[b0])}"
        )
    return PatchWindows(sec, r0, c0, hs, ws)


def patch_stats(
    config: TrackerConfig,
    lab: np.ndarray,
    single: bool,
    probs: Any | None,
    logits: Any | None,
    confidence: Any | None,
    margin: Any | None,
) -> Stats:
    """Confidence and margin ``(B, h, w)`` of patches with true classes ``lab`` (B, h, w),
    as tracked: given precomputed, or derived from the class maps (arguments as in
    :meth:`~.tracker.ForgettingTracker.update_patch`; ``single``: one patch was given)."""
    b, h, w = lab.shape

    def per_patch(x: Any, name: str) -> np.ndarray:
        a = as_numpy(x).astype(np.float32, copy=False)
        a = a[None] if single and a.ndim == 2 else a
        if a.shape != (b, h, w):
            raise ValueError(f"{name} has shape {a.shape}, expected {(b, h, w)}")
        return a

    given, stats = given_stats(config, confidence, margin, per_patch)
    conf = marg = None
    if stats:
        require_stats_inputs(config, given, probs is not None or logits is not None)
        maps = {}
        for name, x in (("probs", probs), ("logits", logits)):
            if x is None:
                maps[name] = None
                continue
            m = as_numpy(x)
            m = m[None] if single and m.ndim == 3 else m
            if m.shape != (b, config.n_classes, h, w):
                raise ValueError(f"{name} has shape {m.shape}, expected (B, C, h, w)")
            maps[name] = m
        check_classes(lab, config.n_classes, "true")
        conf, marg = derived_stats(config, maps["probs"], maps["logits"], lab, axis=1)
    if given:
        check_classes(lab, config.n_classes, "true")
        conf = given.get("confidence", conf)
        marg = given.get("margin", marg)
    return conf, marg
