"""The per-pixel state of a forgetting tracker, and everything that reads or saves it.

:class:`TrackerState` holds what :class:`~.tracker.ForgettingTracker` keeps for every tracked
pixel -- its arrays, where they live (memory or a :class:`~napari_forgetting.data.spill.Spill`'s
files), their size -- and answers every question about them: the maps of one section
(:meth:`~TrackerState.heatmap`, :meth:`~TrackerState.maps`, ...), all sections flat
(:meth:`~TrackerState.flat_maps`) and the checkpoint state (:meth:`~TrackerState.state_dict`).
It changes the arrays only when a state is loaded; the update rules that fill them are
:class:`~.tracker.ForgettingTracker`'s. :class:`TrackerConfig` fixes the layout.

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
presentation count (uint16). :attr:`TrackerState.nbytes_per_pixel` reports the sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple, TypeVar

import numpy as np

from napari_forgetting.data.spill import Spill
from napari_forgetting.dynamics._arrays import as_int_array, as_numpy
from napari_forgetting.dynamics.events import (
    NEVER_LEARNED_SENTINEL,
    NeverLearned,
    forgetting_scores,
)

__all__ = ["BytesPerPixel", "HeatMap", "TrackerConfig", "TrackerState"]

SWEEP = "sweep"
ONLINE = "online"
MODES = (SWEEP, ONLINE)
#: Class ids are packed into 7 bits of the flags byte (0 = no previous prediction).
MAX_CLASSES = 127
_STATE_VERSION = 1

_State = TypeVar("_State", bound="TrackerState")


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
    :class:`~.events.NeverLearned` convention of :meth:`TrackerState.heatmap`.
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


class TrackerState:
    """The per-pixel state of a :class:`~.tracker.ForgettingTracker` for ``config``: the
    arrays (in ``spill``'s files when given, else in memory), the epoch and the position of an
    open sweep pass, with their readers and the checkpoint state.

    Every map a reader returns is the pure function of :mod:`.events` / :mod:`.stats` applied
    to the history the update rules have seen so far.
    """

    def __init__(self, config: TrackerConfig, spill: Spill | None = None) -> None:
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

    @classmethod
    def from_config(cls: type[_State], config: TrackerConfig, spill: Spill | None = None) -> _State:
        """A fresh tracker for ``config`` (its state in ``spill``'s files, if given)."""
        self = cls.__new__(cls)
        TrackerState.__init__(self, config, spill)
        return self

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
        """Completed epochs: sweep passes applied, or online epochs closed by
        :meth:`~.tracker.ForgettingTracker.end_epoch`. This is ``T`` for the ``"epochs"``
        convention (also in online mode, where a pixel may have had more or fewer
        presentations) and the epoch a newly learned pixel records."""
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
        next access reads them back). Called after each
        :meth:`~.tracker.ForgettingTracker.update_sections` and range of :meth:`flat_maps`;
        nothing otherwise."""
        if self._spill is not None:
            self._spill.release()

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

    # ------------------------------------------------------------------ layout

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
        return {k: v.dtype for k, v in TrackerState(one).flat_maps().items()}

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
    def from_state_dict(cls: type[_State], state: dict[str, Any]) -> _State:
        """A tracker restored from :meth:`state_dict`."""
        self = cls.from_config(TrackerConfig.from_dict(state["config"]))
        self.load_state_dict(state)
        return self
