"""Live training as a stream of small typed events, and the run geometry the layers need.

No Qt and no napari here: :class:`TrainingJob.events` is a plain generator that napari's
``thread_worker`` runs off the GUI thread; the widget (``training.py``) turns each event into
layer updates on the GUI thread. The trainer itself runs in one more plain thread, started by
the generator, and talks to it through a queue (a callback cannot ``yield``). Stopping sets
``trainer.should_stop``: the trainer checks it after every batch, discards the partial epoch
and leaves the checkpoint and run store at the last complete epoch.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section, volume_to_section_coords

__all__ = [
    "BatchDone",
    "EpochDone",
    "PixelHistory",
    "RunGeometry",
    "TrainingFailed",
    "TrainingFinished",
    "TrainingJob",
    "TrainingStarted",
    "gui_friendly_threads",
    "heat_limit",
    "pixel_history",
]


# ---------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class TrainingStarted:
    """The trainer is built; ``start_epoch`` > 0 when resuming."""

    run_dir: Path
    epochs: int
    start_epoch: int
    n_batches: int
    eval_sections: tuple[Section, ...]
    map_sections: tuple[Section, ...]
    volume_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    device: str
    threads: int


@dataclass(frozen=True)
class BatchDone:
    """Latest finished batch (several batches may be merged into one event)."""

    epoch: int
    batch: int
    n_batches: int
    loss: float


@dataclass(frozen=True)
class EpochDone:
    """One complete epoch, committed to the run store.

    ``predictions``: uint8, flat over the evaluated sections (row-major, depth-down);
    ``maps``: the tracker's flat maps over the mapped sections (``forgetting_events``,
    ``never_learned``, ``first_learned``, and when tracked ``confidence``, ``variability``,
    ``margin``), empty in ``"off"`` mode. ``history``: every epoch's logs so far.
    ``heat_upper``: :func:`heat_limit` of the forgetting events (None without them),
    computed off the GUI thread.
    """

    epoch: int
    logs: dict[str, Any]
    predictions: np.ndarray
    maps: dict[str, np.ndarray]
    history: tuple[dict[str, Any], ...]
    heat_upper: float | None = None


@dataclass(frozen=True)
class TrainingFinished:
    """The run ended normally (``stopped``: by Stop, before its last epoch)."""

    epochs_complete: int
    epochs: int
    stopped: bool
    run_dir: Path
    seconds: float


@dataclass(frozen=True)
class TrainingFailed:
    """Training raised; the run store says ``failed`` and the last good checkpoint is kept."""

    message: str
    error: BaseException
    epochs_complete: int
    run_dir: Path | None


def heat_limit(counts: np.ndarray, q: float = 99.5) -> float:
    """The heat map's display maximum: ``ceil`` of the ``q``-th percentile of the event
    counts, exactly ``np.percentile``'s (linear) value.

    Large inputs are narrowed first: a strided sample's percentile one point lower bounds the
    wanted order statistics from below, so only the values at or above it (about 1 % for
    the default ``q``) are partially sorted (verified by counting; the whole array is used
    when the bound fails). At F3 size (29 M tracked pixels) that is 3-4x faster than
    ``np.percentile``.
    """
    flat = np.asarray(counts).ravel()
    n = flat.size
    if n == 0:
        raise ValueError("no counts")
    pos = q / 100.0 * (n - 1)
    k = int(np.floor(pos))
    k1 = min(k + 1, n - 1)
    part, skip = flat, 0
    if n > 1 << 16:
        bound = np.percentile(flat[:: n >> 14], max(0.0, q - 1.0))
        keep = flat >= bound
        below = n - int(np.count_nonzero(keep))
        if below <= k:  # the order statistics k, k1 are among the kept values
            part, skip = flat[keep], below
    kk, kk1 = k - skip, k1 - skip
    part = np.partition(part, [kk, kk1] if kk1 != kk else [kk])
    lo, hi, t = float(part[kk]), float(part[kk1]), pos - k
    # numpy's lerp, both branches, so that ceil agrees where the value is a whole number
    value = lo + (hi - lo) * t if t < 0.5 else hi - (hi - lo) * (1 - t)
    return float(np.ceil(value))


# ---------------------------------------------------------------------------------- job


def gui_friendly_threads(device: str | None) -> int | None:
    """torch CPU threads for training next to a GUI: all cores but one (None off the CPU)."""
    if device not in (None, "cpu"):
        return None
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass
class TrainingJob:
    """Everything one run needs; :meth:`events` trains and yields events.

    ``data``: a ``(seismic, labels)`` pair of 3-D ``(inline, crossline, sample)`` arrays (numpy
    or dask) or a volume. ``callbacks``: extra trainer callbacks (tests inject failures here).
    """

    data: Any
    config: Any  # TrainConfig (kept untyped so this module does not import torch)
    run_dir: Path
    resume: bool = False
    tracked_sections: Sequence[Section] | None = None
    class_names: Sequence[str] | None = None
    source: dict[str, Any] = field(default_factory=dict)
    callbacks: list = field(default_factory=list)
    trainer: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Ask the run to stop after the current batch (thread-safe; returns at once)."""
        self._stop.set()
        if self.trainer is not None:
            self.trainer.should_stop = True

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def events(self) -> Iterator[Any]:
        """Build the trainer, run ``fit`` in a helper thread and yield its events.

        Never raises: an error becomes :class:`TrainingFailed` (a ``RuntimeError`` escaping a
        napari generator worker would be swallowed as "worker deleted"). The model and
        optimiser are released before the last event.
        """
        t0 = time.perf_counter()
        trainer = None
        try:
            trainer = self._build()
            self.trainer = trainer
            if self._stop.is_set():
                trainer.should_stop = True
            yield from self._run(trainer, t0)
        except Exception as exc:  # noqa: BLE001 - reported to the user, never re-raised
            done = 0 if trainer is None else int(trainer.epoch)
            yield TrainingFailed(f"{type(exc).__name__}: {exc}", exc, done, self.run_dir)
        finally:
            if trainer is not None:
                trainer.should_stop = True  # the generator was closed early: stop the fit
                trainer.release()

    def _build(self) -> Any:
        from napari_forgetting.training.segmentation import Trainer

        return Trainer(
            self.data,
            self.config,
            callbacks=[_QueueCallback(self._stop), *self.callbacks],
            tracked_sections=self.tracked_sections,
            out_dir=self.run_dir,
            source=self.source,
            class_names=self.class_names,
        )

    def _run(self, trainer: Any, t0: float) -> Iterator[Any]:
        events: queue.Queue = trainer.callbacks[0].queue
        outcome: dict[str, BaseException] = {}

        def fit() -> None:
            _lower_priority_of_this_thread()
            try:
                trainer.fit(resume=self.resume, overwrite=not self.resume)
            except BaseException as exc:  # noqa: BLE001 - handed to the generator
                outcome["error"] = exc
            finally:
                events.put(_DONE)

        thread = threading.Thread(target=fit, name="napari-forgetting-fit", daemon=True)
        thread.start()
        try:
            while True:
                batch = None
                item = events.get()
                pending = [item]
                with contextlib.suppress(queue.Empty):
                    while True:  # drain: several batches since the last look become one event
                        pending.append(events.get_nowait())
                done = False
                for ev in pending:
                    if ev is _DONE:
                        done = True
                    elif isinstance(ev, BatchDone):
                        batch = ev
                    else:
                        if batch is not None:
                            yield batch
                            batch = None
                        yield ev
                if batch is not None:
                    yield batch
                if done:
                    break
        finally:
            if thread.is_alive():
                trainer.should_stop = True
                thread.join()
        if "error" in outcome:
            raise outcome["error"]
        yield TrainingFinished(
            int(trainer.epoch),
            int(trainer.config.epochs),
            bool(trainer.stopped),
            self.run_dir,
            time.perf_counter() - t0,
        )


_DONE = object()


def _lower_priority_of_this_thread(niceness: int = 10) -> None:
    """Let the GUI thread win the CPU when cores are busy: on Linux a thread is a task with
    its own nice value (elsewhere, or without permission, this does nothing)."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


class _QueueCallback:
    """Trainer callback that turns hooks into events on a queue (the fit thread's side)."""

    def __init__(self, stop: threading.Event) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.stop = stop
        self.n_batches = 0

    def on_train_start(self, trainer: Any) -> None:
        cfg = trainer.config
        if self.stop.is_set():  # fit() clears should_stop; a Stop pressed before counts
            trainer.should_stop = True
        self.n_batches = -(-trainer.patches_per_epoch // cfg.batch_size)
        import torch

        self.queue.put(
            TrainingStarted(
                run_dir=Path(trainer.out_dir),
                epochs=int(cfg.epochs),
                start_epoch=int(trainer.epoch),
                n_batches=self.n_batches,
                eval_sections=tuple(trainer.tracked_sections),
                map_sections=tuple(trainer.tracker_sections),
                volume_shape=tuple(trainer.shape),
                class_names=tuple(trainer.class_names),
                device=str(trainer.device),
                threads=torch.get_num_threads(),
            )
        )

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Any, epoch: int, batch: int, loss: float) -> None:
        self.queue.put(BatchDone(epoch, batch, self.n_batches, float(loss)))
        if self.stop.is_set():
            trainer.should_stop = True

    def on_evaluation(self, trainer: Any, epoch: int, metrics: dict) -> None:
        pass

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict) -> None:
        maps = trainer.epoch_maps()
        preds = trainer.last_predictions
        flat = np.concatenate([p.ravel() for p in preds]) if preds else np.zeros(0, np.uint8)
        counts = maps.get("forgetting_events")
        upper = heat_limit(counts) if counts is not None and counts.size else None
        self.queue.put(EpochDone(epoch, dict(logs), flat, maps, tuple(trainer.history), upper))

    def on_test(self, trainer: Any, name: str, metrics: dict) -> None:
        pass

    def on_exception(self, trainer: Any, exc: BaseException) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass


def config_for_resume(stored: dict[str, Any], epochs: int, device: str | None) -> Any:
    """The stored run's :class:`TrainConfig` with a new epoch count and device (the only
    changes a checkpoint accepts besides the thread count)."""
    from napari_forgetting.training.segmentation import TrainConfig

    cfg = TrainConfig.from_dict(dict(stored))
    return replace(
        cfg,
        epochs=max(int(epochs), 1),
        device=device,
        num_threads=gui_friendly_threads(device),
    )


# ---------------------------------------------------------------------------------- geometry


def _offsets(sections: Sequence[Section]) -> np.ndarray:
    sizes = [r * c for r, c in (s.shape for s in sections)]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@dataclass
class RunGeometry:
    """Where a run's flat per-pixel arrays live in the volume.

    ``eval_sections``: the sections predicted every epoch (flat predictions);
    ``map_sections``: the tracker's (flat maps; the same in sweep mode).
    """

    volume_shape: tuple[int, int, int]
    eval_sections: list[Section]
    map_sections: list[Section]

    def __post_init__(self) -> None:
        self.volume_shape = tuple(int(n) for n in self.volume_shape)  # type: ignore[assignment]
        self.eval_sections = list(self.eval_sections)
        self.map_sections = list(self.map_sections)
        self.eval_offsets = _offsets(self.eval_sections)
        self.map_offsets = _offsets(self.map_sections)

    @classmethod
    def of_store(cls, store: Any) -> RunGeometry:
        return cls(store.volume_shape, store.eval_sections, store.map_sections)

    def scatter(self, out: np.ndarray, flat: np.ndarray, which: str = "map") -> np.ndarray:
        """Write a flat per-pixel array into the volume ``out`` in place, section by section
        (later sections win where an inline and a crossline cross, as in
        :func:`~napari_forgetting.data.sections.scatter_sections`). Voxels on no section are
        left untouched."""
        secs, offs = self._which(which)
        flat = np.asarray(flat).ravel()
        if flat.size != offs[-1]:
            raise ValueError(f"{flat.size} values for {offs[-1]} {which} pixels")
        for k, sec in enumerate(secs):
            m = flat[offs[k] : offs[k + 1]].reshape(sec.shape)
            if sec.kind == "inline":
                out[sec.index, :, :] = m.T
            else:
                out[:, sec.index, :] = m.T
        return out

    def _which(self, which: str) -> tuple[list[Section], np.ndarray]:
        if which == "map":
            return self.map_sections, self.map_offsets
        if which == "eval":
            return self.eval_sections, self.eval_offsets
        raise ValueError(f"which must be 'map' or 'eval', got {which!r}")

    def locate(
        self, inline_idx: int, crossline_idx: int, sample_idx: int, which: str = "eval"
    ) -> tuple[int, int, int] | None:
        """``(section position, row, col)`` of a voxel on one of the sections (the last one
        listed where two cross, as :meth:`scatter`), or ``None`` when it is on none of them
        or outside the volume."""
        shape = self.volume_shape
        pos = (int(inline_idx), int(crossline_idx), int(sample_idx))
        if any(not 0 <= p < n for p, n in zip(pos, shape, strict=True)):
            return None
        secs, _ = self._which(which)
        for k in range(len(secs) - 1, -1, -1):
            sec = secs[k]
            on = pos[0] == sec.index if sec.kind == "inline" else pos[1] == sec.index
            if on:
                rows, cols = volume_to_section_coords(sec, *pos)
                return k, int(rows), int(cols)
        return None

    def describe_sections(self, which: str = "eval") -> str:
        """``"inlines 100, 105; crosslines 300, 305"`` (header numbers)."""
        secs, _ = self._which(which)
        parts = []
        for kind in ("inline", "crossline"):
            nums = [s.number for s in secs if s.kind == kind]
            if nums:
                parts.append(f"{kind}s " + ", ".join(f"{n:g}" for n in nums))
        return "; ".join(parts) if parts else "no sections"


def geometry_from_sections(
    volume_shape: Sequence[int], sections: Sequence[Section]
) -> dict[str, tuple[float, float, float]]:
    """``scale``/``translate`` making world coordinates inline/crossline numbers, recovered
    from the sections' header numbers (when a run is opened without its seismic layer)."""
    scale, translate = [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]
    for axis, kind in enumerate(("inline", "crossline")):
        secs = sorted({(s.index, float(s.number)) for s in sections if s.kind == kind})
        if len(secs) >= 2 and secs[-1][0] != secs[0][0]:
            step = (secs[-1][1] - secs[0][1]) / (secs[-1][0] - secs[0][0])
            scale[axis] = step if step else 1.0
            translate[axis] = secs[0][1] - secs[0][0] * scale[axis]
        elif secs:
            translate[axis] = secs[0][1] - secs[0][0]
    return {"scale": tuple(scale), "translate": tuple(translate)}


# ---------------------------------------------------------------------------------- inspection


@dataclass(frozen=True)
class PixelHistory:
    """One tracked pixel's learning history, read from a run store.

    ``correct``: bool (E,) per committed epoch; ``forgotten_at``: epochs (0-based) whose
    prediction was wrong after a correct previous epoch; ``density``: the section's forgetting
    density per class at the last epoch (``nan`` for classes absent from the section).
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

    @property
    def current_prediction(self) -> int | None:
        return int(self.predictions[-1]) if self.predictions.size else None

    def summary(self) -> str:
        names = self.class_names
        cur = self.current_prediction
        now = "no epoch yet" if cur is None else names[cur] if cur < len(names) else str(cur)
        sec = self.section
        where = f"{sec.kind} {sec.number:g}, row (sample) {self.row}, col {self.col}"
        return (
            f"{where}: true {names[self.true_class]}, predicted {now}; "
            f"{len(self.forgotten_at)} forgetting event(s) in {self.correct.size} epoch(s)"
        )


def pixel_history(store: Any, section: int, row: int, col: int, epoch: int | None = None):
    """:class:`PixelHistory` of evaluated section ``section`` (position), pixel ``(row, col)``
    up to ``epoch`` (default: the last committed)."""
    from napari_forgetting.dynamics import density_table

    n = store.n_epochs if epoch is None else min(int(epoch) + 1, store.n_epochs)
    preds = np.asarray(store.prediction_history(section, row, col))[:n]
    labels = store.labels(section)
    true = int(labels[row, col])
    correct = preds == true
    forgotten = np.flatnonzero(correct[:-1] & ~correct[1:]) + 1
    n_classes = len(store.class_names)
    density = np.full(n_classes, np.nan)
    if n and "forgetting_events" in store.map_names:
        sec = store.eval_sections[section]
        with contextlib.suppress(KeyError):
            heat = store.heatmap(sec, n - 1)
            density = density_table([heat], [store.map_labels(sec)], n_classes)[0]
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
    )
