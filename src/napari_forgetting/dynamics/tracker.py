"""Incremental per-pixel forgetting tracker for a set of sections.

:class:`ForgettingTracker` is fed the model's predictions as training runs and keeps, for
every tracked pixel, what :mod:`.events` computes from a full history -- without keeping the
history. At every point its maps equal the pure functions applied to the history so far.

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

Storage
-------
The sections (shapes may differ: an inline section is ``(n_samples, n_crosslines)``, a
crossline section ``(n_samples, n_inlines)``) are stored concatenated, flat, row-major, section
``s`` at ``offsets[s] : offsets[s + 1]``. Core state per pixel, 3 bytes when
``max_epochs <= 255``:

* ``count``  uint8 -- forgetting events, saturating at 255;
* ``first``  uint8 -- epoch first learned, 255 = never;
* ``flags``  uint8 -- bit 0: correct at the last step; bits 1-7: previous predicted class + 1
  (0 = no step yet), hence at most 127 classes.

With ``max_epochs`` in 256 .. 65535 ``count`` and ``first`` are uint16 (5 bytes). Optional
maps: ``switches`` (same dtype as ``count``, saturating), confidence mean and M2 (2 x float32,
Welford), margin mean (float32) and, in online mode with either statistic, a per-pixel
presentation count (uint16). :attr:`ForgettingTracker.nbytes_per_pixel` reports the sizes.

Saturation: in sweep mode a pixel has at most ``floor(T / 2)`` forgetting events and
``T - 1`` switches in ``T <= max_epochs`` epochs, so the counters never saturate. In online
mode a pixel presented more than ~510 times (uint8) could reach the cap; counts then stay at
the dtype maximum (255 or 65535) instead of wrapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from napari_forgetting.data.spill import Spill
from napari_forgetting.dynamics._arrays import as_int_array, as_numpy
from napari_forgetting.dynamics.events import (
    NEVER_LEARNED_SENTINEL,
    NeverLearned,
    forgetting_scores,
)
from napari_forgetting.dynamics.stats import (
    margin_from_probs,
    softmax,
    true_class_confidence,
    true_class_margin,
)

__all__ = ["BytesPerPixel", "ForgettingTracker", "HeatMap", "TrackerConfig"]

SWEEP = "sweep"
ONLINE = "online"
MODES = (SWEEP, ONLINE)
#: Class ids are packed into 7 bits of the flags byte (0 = no previous prediction).
MAX_CLASSES = 127
_STATE_VERSION = 1


class HeatMap(NamedTuple):
    """A section's forgetting heat map with its never-learned mask beside it.

    ``events``: int64 (n_rows, n_cols), forgetting events scored by the tracker's
    never-learned convention. ``never_learned``: bool (n_rows, n_cols).
    """

    events: np.ndarray
    never_learned: np.ndarray


class BytesPerPixel(NamedTuple):
    """Bytes of tracker state per tracked pixel: ``core`` (count, first learned, flags) and
    ``total`` (core plus the enabled optional maps)."""

    core: int
    total: int


@dataclass(frozen=True)
class TrackerConfig:
    """Everything that fixes a tracker's layout and meaning; JSON-able via :meth:`to_dict`.

    ``section_shapes``: (n_rows, n_cols) per tracked section. ``n_classes``: at most 127.
    ``mode``: ``"sweep"`` or ``"online"``. ``max_epochs``: epochs the tracker may see (<= 255
    keeps the core state at 3 bytes per pixel; at most 65535). ``never_learned``: the
    :class:`~.events.NeverLearned` convention of :meth:`ForgettingTracker.heatmap`.
    """

    section_shapes: tuple[tuple[int, int], ...]
    n_classes: int
    mode: str = SWEEP
    max_epochs: int = 255
    track_switches: bool = True
    track_confidence: bool = False
    track_margin: bool = False
    never_learned: str = NeverLearned.ZERO.value
    sentinel: int = NEVER_LEARNED_SENTINEL

    def __post_init__(self) -> None:
        shapes = tuple((int(r), int(c)) for r, c in self.section_shapes)
        if any(r < 1 or c < 1 for r, c in shapes):
            raise ValueError(f"section shapes must be positive, got {shapes}")
        object.__setattr__(self, "section_shapes", shapes)
        if not 1 <= int(self.n_classes) <= MAX_CLASSES:
            raise ValueError(f"n_classes must be in 1..{MAX_CLASSES}, got {self.n_classes}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 1 <= int(self.max_epochs) <= 65535:
            raise ValueError(f"max_epochs must be in 1..65535, got {self.max_epochs}")
        object.__setattr__(self, "never_learned", NeverLearned(self.never_learned).value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (lists for tuples)."""
        d = asdict(self)
        d["section_shapes"] = [list(s) for s in self.section_shapes]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrackerConfig:
        d = dict(d)
        d["section_shapes"] = tuple(tuple(s) for s in d["section_shapes"])
        return cls(**d)


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


class ForgettingTracker:
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
        self._init_from_config(config, spill)

    @classmethod
    def from_config(cls, config: TrackerConfig, spill: Spill | None = None) -> ForgettingTracker:
        """A fresh tracker for ``config`` (its state in ``spill``'s files, if given)."""
        self = cls.__new__(cls)
        self._init_from_config(config, spill)
        return self

    def _init_from_config(self, config: TrackerConfig, spill: Spill | None = None) -> None:
        self._config = config
        self._spill = spill
        zeros = np.zeros if spill is None else spill.zeros
        full = np.full if spill is None else spill.full
        sizes = [r * c for r, c in config.section_shapes]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._n_rows = np.array([r for r, _ in config.section_shapes], dtype=np.int64)
        self._n_cols = np.array([c for _, c in config.section_shapes], dtype=np.int64)
        n = int(self._offsets[-1])
        small = config.max_epochs <= 255
        counter = np.uint8 if small else np.uint16
        self._never = int(np.iinfo(counter).max)
        self._epoch = 0
        self._sweep_next = 0
        self._arrays: dict[str, np.ndarray] = {
            "count": zeros(n, dtype=counter),
            "first": full(n, self._never, dtype=counter),
            "flags": zeros(n, dtype=np.uint8),
        }
        if config.track_switches:
            self._arrays["switches"] = zeros(n, dtype=counter)
        if config.track_confidence:
            self._arrays["confidence_mean"] = zeros(n, dtype=np.float32)
            self._arrays["confidence_m2"] = zeros(n, dtype=np.float32)
        if config.track_margin:
            self._arrays["margin_mean"] = zeros(n, dtype=np.float32)
        if config.mode == ONLINE and (config.track_confidence or config.track_margin):
            self._arrays["presentations"] = zeros(n, dtype=np.uint16)

    # ------------------------------------------------------------------ description

    @property
    def config(self) -> TrackerConfig:
        return self._config

    @property
    def mode(self) -> str:
        return self._config.mode

    @property
    def n_classes(self) -> int:
        return self._config.n_classes

    @property
    def section_shapes(self) -> tuple[tuple[int, int], ...]:
        return self._config.section_shapes

    @property
    def n_sections(self) -> int:
        return len(self._config.section_shapes)

    @property
    def offsets(self) -> np.ndarray:
        """int64 (n_sections + 1,): section ``s`` is flat pixels ``offsets[s]:offsets[s+1]``."""
        return self._offsets.copy()

    @property
    def n_pixels(self) -> int:
        return int(self._offsets[-1])

    @property
    def epoch(self) -> int:
        """Completed epochs: sweep passes applied, or online epochs closed by :meth:`end_epoch`.
        This is ``T`` for the ``"epochs"`` convention (also in online mode, where a pixel may
        have had more or fewer presentations) and the epoch a newly learned pixel records."""
        return self._epoch

    @property
    def count_max(self) -> int:
        """The value at which forgetting and switch counts saturate (255 or 65535)."""
        return self._never

    @property
    def nbytes_per_pixel(self) -> BytesPerPixel:
        a = self._arrays
        core = a["count"].itemsize + a["first"].itemsize + a["flags"].itemsize
        return BytesPerPixel(core=core, total=sum(x.itemsize for x in a.values()))

    @property
    def nbytes(self) -> int:
        """Total bytes of per-pixel state."""
        return sum(x.nbytes for x in self._arrays.values())

    @property
    def spilled(self) -> bool:
        """Whether the per-pixel state lives in files (a :class:`~napari_forgetting.data.spill.
        Spill`) rather than in memory."""
        return self._spill is not None

    def release(self) -> None:
        """With the state in files: drop its pages from resident memory (kept on disk; the
        next access reads them back). Called after each :meth:`update_sections` and range
        of :meth:`flat_maps`; nothing otherwise."""
        if self._spill is not None:
            self._spill.release()

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

    def _check_classes(self, x: np.ndarray, name: str) -> None:
        if x.size and (int(x.min()) < 0 or int(x.max()) >= self.n_classes):
            raise ValueError(f"{name} must be class ids in 0..{self.n_classes - 1}")

    def _check_open(self) -> None:
        if self._epoch >= self._config.max_epochs:
            raise RuntimeError(
                f"the tracker was configured for max_epochs={self._config.max_epochs} "
                "and has seen them all"
            )

    def _require_mode(self, mode: str, what: str) -> None:
        if self.mode != mode:
            raise RuntimeError(f"{what} is for a {mode!r} tracker; this one is {self.mode!r}")

    def _stats_inputs_required(self, given: dict[str, Any], have_maps: bool) -> None:
        """Raise naming each tracked statistic that was neither given precomputed nor can be
        derived (no ``probs`` / ``logits``)."""
        if have_maps:
            return
        cfg = self._config
        missing = [
            name
            for name, tracked in (
                ("confidence", cfg.track_confidence),
                ("margin", cfg.track_margin),
            )
            if tracked and name not in given
        ]
        if missing:
            raise ValueError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} tracked: pass "
                f"{' and '.join(f'{m}=' for m in missing)}, or probs or logits"
            )

    def _given_stats(
        self, confidence: Any, margin: Any, convert: Any
    ) -> tuple[dict[str, Any], bool]:
        """The precomputed statistics a caller passed for the tracked ones, checked and
        converted by ``convert(x, name)``, and whether class maps (probs / logits) are still
        needed for a tracked statistic that was not given."""
        cfg = self._config
        given = {}
        for name, x, tracked in (
            ("confidence", confidence, cfg.track_confidence),
            ("margin", margin, cfg.track_margin),
        ):
            if x is not None and tracked:
                given[name] = convert(x, name)
        need_maps = (cfg.track_confidence and "confidence" not in given) or (
            cfg.track_margin and "margin" not in given
        )
        return given, bool(need_maps)

    def _derived(
        self, probs: np.ndarray | None, logits: np.ndarray | None, true: np.ndarray, axis: int
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-pixel true-class confidence and margin from class maps, as tracked."""
        conf = margin = None
        if self._config.track_confidence:
            p = probs if probs is not None else softmax(logits, class_axis=axis)
            conf = true_class_confidence(p, true, class_axis=axis)
        if self._config.track_margin:
            if logits is not None:
                margin = true_class_margin(logits, true, class_axis=axis)
            else:
                margin = margin_from_probs(probs, true, class_axis=axis)
        return conf, margin

    # ------------------------------------------------------------------ sweep mode

    def _per_section(
        self, x: Any, name: str, ndim: int, count: int | None = None
    ) -> list[np.ndarray]:
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

    @property
    def sweep_position(self) -> int:
        """Sweep mode: the next section the current pass expects (0 between passes)."""
        return self._sweep_next

    def _check_between_sweeps(self, what: str) -> None:
        if self._sweep_next:
            raise RuntimeError(
                f"{what}: the pass of epoch {self._epoch} is at section {self._sweep_next} "
                f"of {self.n_sections}; finish it first"
            )

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
        preds = self._per_section(predictions, "predictions", 2, count)
        count = len(preds)
        if count < 1 or first + count > self.n_sections:
            raise ValueError(
                f"sections {first}..{first + count - 1} given; the tracker has {self.n_sections}"
            )
        shapes = self.section_shapes[first : first + count]
        labs = self._per_section(labels, "labels", 2, count)

        def per_section(x: Any, name: str) -> list[np.ndarray]:
            parts = [p.astype(np.float32, copy=False) for p in self._per_section(x, name, 2, count)]
            for s_, (part, shape) in enumerate(zip(parts, shapes, strict=True)):
                if part.shape != shape:
                    raise ValueError(
                        f"{name}[{first + s_}] has shape {part.shape}, section is {shape}"
                    )
            return parts

        given, stats = self._given_stats(confidence, margin, per_section)
        if stats:  # a tracked statistic still comes from the class maps
            self._stats_inputs_required(given, probs is not None or logits is not None)
        probs_l = (
            self._per_section(probs, "probs", 3, count) if stats and probs is not None else None
        )
        logits_l = (
            self._per_section(logits, "logits", 3, count) if stats and logits is not None else None
        )
        for k, shape in enumerate(shapes):
            s = first + k
            for name, part in (("predictions", preds[k]), ("labels", labs[k])):
                if part.shape != shape:
                    raise ValueError(f"{name}[{s}] has shape {part.shape}, section is {shape}")
                if part.dtype.kind not in "iub":
                    raise TypeError(f"{name}[{s}] must hold integer class ids")
                self._check_classes(part, f"{name}[{s}]")
            for name, maps in (("probs", probs_l), ("logits", logits_l)):
                if maps is not None and maps[k].shape != (self.n_classes, *shape):
                    raise ValueError(
                        f"{name}[{s}] has shape {maps[k].shape}, "
                        f"expected {(self.n_classes, *shape)}"
                    )
        for k in range(count):
            s = first + k
            conf = marg = None
            if stats:
                conf, marg = self._derived(
                    None if probs_l is None else probs_l[k],
                    None if logits_l is None else logits_l[k],
                    labs[k],
                    axis=0,
                )
            if "confidence" in given:
                conf = given["confidence"][k]
            if "margin" in given:
                marg = given["margin"][k]
            sel = slice(int(self._offsets[s]), int(self._offsets[s + 1]))
            self._step(
                sel,
                preds[k].ravel(),
                labs[k].ravel(),
                None if conf is None else conf.ravel(),
                None if marg is None else marg.ravel(),
            )
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
        conf = self._flat_stat(probs_true, "probs_true", self._config.track_confidence, idx.size)
        marg = self._flat_stat(margin, "margin", self._config.track_margin, idx.size)
        if idx.size == 0:
            return
        if int(idx.min()) < 0 or int(idx.max()) >= self.n_pixels:
            raise IndexError(f"pixel_index out of range 0..{self.n_pixels - 1}")
        self._check_classes(pred, "predicted")
        self._check_classes(lab, "true")
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

    def _flat_stat(self, x: Any | None, name: str, tracked: bool, size: int) -> np.ndarray | None:
        if not tracked:
            return None
        if x is None:
            raise ValueError(f"{name} is tracked: pass it with every update")
        v = as_numpy(x).astype(np.float32, copy=False).ravel()
        if v.size != size:
            raise ValueError(f"{name} has {v.size} values for {size} pixels")
        return v

    def flat_index(self, section_index: Any, rows: Any, cols: Any) -> np.ndarray:
        """Flat pixel index of (section, row, col); arguments broadcast. int64, their shape."""
        sec, r, c = np.broadcast_arrays(
            as_int_array(section_index, "section_index").astype(np.int64),
            as_int_array(rows, "rows").astype(np.int64),
            as_int_array(cols, "cols").astype(np.int64),
        )
        if sec.size and (sec.min() < 0 or sec.max() >= self.n_sections):
            raise IndexError(f"section index out of range 0..{self.n_sections - 1}")
        n_rows, n_cols = self._n_rows[sec], self._n_cols[sec]
        if np.any((r < 0) | (r >= n_rows) | (c < 0) | (c >= n_cols)):
            raise IndexError("(row, col) outside its section")
        return self._offsets[sec] + r * n_cols + c

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
        pred = as_int_array(predicted, "predicted")
        lab = as_int_array(true, "true")
        single = pred.ndim == 2
        if single:
            pred, lab = pred[None], lab[None]
        if pred.ndim != 3 or pred.shape != lab.shape:
            raise ValueError(
                f"predicted and true must both be (h, w) or (B, h, w); "
                f"got {pred.shape} and {lab.shape}"
            )
        b, h, w = pred.shape
        if b == 0:
            return
        sec, r0, c0 = (
            np.broadcast_to(as_int_array(v, name).astype(np.int64), (b,))
            for v, name in ((section_index, "section_index"), (row0, "row0"), (col0, "col0"))
        )
        if sec.min() < 0 or sec.max() >= self.n_sections:
            raise IndexError(f"section index out of range 0..{self.n_sections - 1}")
        if sizes is None:
            hs, ws = np.full(b, h, dtype=np.int64), np.full(b, w, dtype=np.int64)
        else:
            hw = np.broadcast_to(as_int_array(sizes, "sizes").astype(np.int64), (b, 2))
            hs, ws = hw[:, 0], hw[:, 1]
            if np.any((hs < 0) | (hs > h) | (ws < 0) | (ws > w)):
                raise ValueError(f"sizes must lie in 0..{h} x 0..{w} (the patch shape)")
        outside = (
            (r0 < 0) | (c0 < 0) | (r0 + hs > self._n_rows[sec]) | (c0 + ws > self._n_cols[sec])
        )
        if np.any(outside):
            b0 = int(np.flatnonzero(outside)[0])
            raise IndexError(
                f"patch {b0} ({int(hs[b0])}x{int(ws[b0])} at row {int(r0[b0])}, col "
                f"{int(c0[b0])}) reaches outside its section {int(sec[b0])}"
            )
        keep = None
        if not (np.all(hs == h) and np.all(ws == w)):
            keep = (np.arange(h)[None, :, None] < hs[:, None, None]) & (
                np.arange(w)[None, None, :] < ws[:, None, None]
            )  # (B, h, w)
            lab = np.where(keep, lab, 0)  # padding (e.g. an ignore label) is never presented

        def per_patch(x: Any, name: str) -> np.ndarray:
            a = as_numpy(x).astype(np.float32, copy=False)
            a = a[None] if single and a.ndim == 2 else a
            if a.shape != (b, h, w):
                raise ValueError(f"{name} has shape {a.shape}, expected {(b, h, w)}")
            return a

        given, stats = self._given_stats(confidence, margin, per_patch)
        conf = marg = None
        if stats:
            self._stats_inputs_required(given, probs is not None or logits is not None)
            maps = {}
            for name, x in (("probs", probs), ("logits", logits)):
                if x is None:
                    maps[name] = None
                    continue
                m = as_numpy(x)
                m = m[None] if single and m.ndim == 3 else m
                if m.shape != (b, self.n_classes, h, w):
                    raise ValueError(f"{name} has shape {m.shape}, expected (B, C, h, w)")
                maps[name] = m
            self._check_classes(lab, "true")
            conf, marg = self._derived(maps["probs"], maps["logits"], lab, axis=1)
        if given:
            self._check_classes(lab, "true")
            conf = given.get("confidence", conf)
            marg = given.get("margin", marg)
        # patches of different sections, or disjoint windows, cannot repeat a pixel: then the
        # (cheap, B x B) window test replaces sorting all B*h*w indices for repeats
        ov = (
            (sec[:, None] == sec[None, :])
            & (r0[:, None] < r0[None, :] + hs[None, :])
            & (r0[None, :] < r0[:, None] + hs[:, None])
            & (c0[:, None] < c0[None, :] + ws[None, :])
            & (c0[None, :] < c0[:, None] + ws[:, None])
        )
        np.fill_diagonal(ov, False)
        rows = r0[:, None, None] + np.arange(h)[None, :, None]
        cols = c0[:, None, None] + np.arange(w)[None, None, :]
        idx = self._offsets[sec][:, None, None] + rows * self._n_cols[sec][:, None, None] + cols
        if keep is not None:  # boolean indexing keeps batch order, then row-major
            idx, pred, lab = idx[keep], pred[keep], lab[keep]
            conf = None if conf is None else conf[keep]
            marg = None if marg is None else marg[keep]
        self.update_flat(idx, pred, lab, conf, marg, distinct=not ov.any())

    def end_epoch(self) -> None:
        """Online mode: close the current epoch (``epoch`` += 1)."""
        self._require_mode(ONLINE, "end_epoch")
        self._check_open()
        self._epoch += 1

    # ------------------------------------------------------------------ maps per section

    def _passes(self, section: int) -> int:
        """Sweep mode: the passes section ``section`` has seen (the open pass included)."""
        return self._epoch + (1 if section < self._sweep_next else 0)

    def _section(self, name: str, section: int) -> np.ndarray:
        if not 0 <= section < self.n_sections:
            raise IndexError(f"section {section} out of range 0..{self.n_sections - 1}")
        if name not in self._arrays:
            raise RuntimeError(f"{name!r} is not tracked by this tracker")
        lo, hi = int(self._offsets[section]), int(self._offsets[section + 1])
        return self._arrays[name][lo:hi].reshape(self.section_shapes[section])

    def never_learned_mask(self, section: int) -> np.ndarray:
        """bool (n_rows, n_cols): pixels never correct so far (unseen pixels included)."""
        return self._section("first", section) == self._never

    def heatmap(self, section: int, convention: NeverLearned | str | None = None) -> HeatMap:
        """Forgetting events of one section, never-learned pixels scored by ``convention``
        (default: the tracker's), with the never-learned mask. int64 / bool (n_rows, n_cols).
        """
        conv = self._config.never_learned if convention is None else convention
        mask = self.never_learned_mask(section)
        events = forgetting_scores(
            self._section("count", section),
            mask,
            self._passes(section) if self.mode == SWEEP else self._epoch,
            conv,
            sentinel=self._config.sentinel,
        )
        return HeatMap(events, mask)

    def heatmaps(self, convention: NeverLearned | str | None = None) -> list[HeatMap]:
        """:meth:`heatmap` of every section, in section order."""
        return [self.heatmap(s, convention) for s in range(self.n_sections)]

    def first_learned(self, section: int) -> np.ndarray:
        """int64 (n_rows, n_cols): epoch of the first correct step, -1 if never."""
        first = self._section("first", section).astype(np.int64)
        first[first == self._never] = -1
        return first

    def switches(self, section: int) -> np.ndarray:
        """int64 (n_rows, n_cols): predicted-class changes between consecutive steps."""
        return self._section("switches", section).astype(np.int64)

    def correct(self, section: int) -> np.ndarray:
        """bool (n_rows, n_cols): correct at the pixel's last step (False if never seen)."""
        return (self._section("flags", section) & 1).astype(bool)

    def last_prediction(self, section: int) -> np.ndarray:
        """int64 (n_rows, n_cols): class predicted at the pixel's last step, -1 if never seen."""
        return (self._section("flags", section) >> 1).astype(np.int64) - 1

    def presentations(self, section: int) -> np.ndarray:
        """int64 (n_rows, n_cols): steps seen per pixel. Sweep mode: ``epoch`` everywhere;
        online mode: available when confidence or margin is tracked."""
        if self.mode == SWEEP:
            return np.full(self.section_shapes[section], self._passes(section), dtype=np.int64)
        return self._section("presentations", section).astype(np.int64)

    def _n_obs(self, section: int) -> np.ndarray:
        return self.presentations(section).astype(np.float32)

    def confidence(self, section: int) -> np.ndarray:
        """float32 (n_rows, n_cols): mean true-class probability (cartography); nan unseen."""
        mean = self._section("confidence_mean", section).copy()
        mean[self._n_obs(section) == 0] = np.nan
        return mean

    def variability(self, section: int) -> np.ndarray:
        """float32 (n_rows, n_cols): population std of the true-class probability; nan unseen."""
        n = self._n_obs(section)
        m2 = self._section("confidence_m2", section)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.maximum(m2, np.float32(0)) / n
        return np.sqrt(var).astype(np.float32, copy=False)

    def margin(self, section: int) -> np.ndarray:
        """float32 (n_rows, n_cols): mean true-class margin (AUM); nan unseen."""
        mean = self._section("margin_mean", section).copy()
        mean[self._n_obs(section) == 0] = np.nan
        return mean

    def maps(self, section: int, convention: NeverLearned | str | None = None) -> dict:
        """Every tracked map of one section by name (``events``, ``never_learned``,
        ``first_learned``, ``correct``, and when tracked ``switches``, ``confidence``,
        ``variability``, ``margin``, ``presentations``)."""
        heat = self.heatmap(section, convention)
        out = {
            "events": heat.events,
            "never_learned": heat.never_learned,
            "first_learned": self.first_learned(section),
            "correct": self.correct(section),
        }
        if self._config.track_switches:
            out["switches"] = self.switches(section)
        if self._config.track_confidence:
            out["confidence"] = self.confidence(section)
            out["variability"] = self.variability(section)
        if self._config.track_margin:
            out["margin"] = self.margin(section)
        if self.mode == SWEEP or "presentations" in self._arrays:
            out["presentations"] = self.presentations(section)
        return out

    def map_dtypes(self) -> dict[str, np.dtype]:
        """``{name: dtype}`` of :meth:`flat_maps`, without computing them (those of a
        one-pixel tracker of the same configuration)."""
        one = replace(self._config, section_shapes=((1, 1),))
        return {k: v.dtype for k, v in ForgettingTracker.from_config(one).flat_maps().items()}

    def flat_maps(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Every tracked map of all sections, flat in storage order (section ``s`` at
        ``offsets[s]:offsets[s + 1]``, row-major), in compact dtypes for storing per epoch;
        those of the flat pixels ``start:stop`` only when given (a store writes them range
        by range, never holding all at once).

        ``forgetting_events`` (raw counts, the count dtype: never-learned pixels have 0 --
        apply a convention with :func:`~.events.forgetting_scores`), ``never_learned`` (bool),
        ``first_learned`` (count dtype; ``count_max`` = never), and when tracked
        ``switches`` (count dtype), ``confidence`` / ``variability`` / ``margin`` (float16,
        NaN where a pixel was never seen). Arrays are copies.
        """
        start, stop, _ = slice(start, stop).indices(self.n_pixels)
        stop = max(start, stop)
        a = {k: v[start:stop] for k, v in self._arrays.items()}
        out: dict[str, np.ndarray] = {
            "forgetting_events": a["count"].copy(),
            "never_learned": a["first"] == self._never,
            "first_learned": a["first"].copy(),
        }
        if "switches" in a:
            out["switches"] = a["switches"].copy()
        stats = self._config.track_confidence or self._config.track_margin
        if stats:
            if self.mode == SWEEP:
                n = np.full(stop - start, self._epoch, dtype=np.float32)
                # applied in the open pass
                n[: max(0, int(self._offsets[self._sweep_next]) - start)] += 1
            else:
                n = a["presentations"].astype(np.float32)
            unseen = n == 0
        if self._config.track_confidence:
            conf = a["confidence_mean"].astype(np.float16)
            conf[unseen] = np.nan
            with np.errstate(invalid="ignore", divide="ignore"):
                var = np.sqrt(np.maximum(a["confidence_m2"], np.float32(0)) / n)
            out["confidence"] = conf
            out["variability"] = var.astype(np.float16)
        if self._config.track_margin:
            marg = a["margin_mean"].astype(np.float16)
            marg[unseen] = np.nan
            out["margin"] = marg
        self.release()
        return out

    # ------------------------------------------------------------------ checkpointing

    def state_dict(self, copy: bool = True) -> dict[str, Any]:
        """``{"version", "config" (JSON-able dict), "epoch" (int), "arrays" {name: array}}``:
        the arrays are copies, or with ``copy=False`` the tracker's own (to be written at
        once, e.g. into a checkpoint, without doubling the tracker's memory)."""
        self._check_between_sweeps("state_dict")
        return {
            "version": _STATE_VERSION,
            "config": self._config.to_dict(),
            "epoch": self._epoch,
            "arrays": {k: v.copy() if copy else v for k, v in self._arrays.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; its config must match this tracker's layout (the
        never-learned convention and sentinel are taken from the state)."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown tracker state version {state.get('version')!r}")
        config = TrackerConfig.from_dict(state["config"])
        mine = self._config.to_dict()
        theirs = config.to_dict()
        for key in ("never_learned", "sentinel"):
            mine.pop(key)
            theirs.pop(key)
        if mine != theirs:
            raise ValueError(f"state config {theirs} does not match this tracker's {mine}")
        arrays = state["arrays"]
        if set(arrays) != set(self._arrays):
            raise ValueError(f"state arrays {sorted(arrays)} != expected {sorted(self._arrays)}")
        given = {}
        for name, current in self._arrays.items():
            a = as_numpy(arrays[name])
            if a.shape != current.shape or a.dtype != current.dtype:
                raise ValueError(
                    f"state array {name!r}: {a.shape} {a.dtype}, "
                    f"expected {current.shape} {current.dtype}"
                )
            given[name] = a
        for name, a in given.items():
            if self._spill is None:
                self._arrays[name] = a.copy()
            else:  # into the tracker's own files
                self._arrays[name][...] = a
                self.release()
        self._config = config
        self._epoch = int(state["epoch"])
        self._sweep_next = 0

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ForgettingTracker:
        """A tracker restored from :meth:`state_dict`."""
        self = cls.from_config(TrackerConfig.from_dict(state["config"]))
        self.load_state_dict(state)
        return self
