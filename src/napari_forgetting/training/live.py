"""Training as a stream of small typed events (no Qt, no napari, no torch at import).

The loop's own steps (:class:`TrainStart`, :class:`BatchEnd`, :class:`SweepProgress`,
:class:`EpochEnd`) are :mod:`.steps`.

:func:`live_events` drives a trainer's :meth:`~.loop.TrainingLoop.fit_steps` and turns its
steps into the events a viewer shows: :class:`TrainStart` and :class:`BatchEnd` (passed
through), :class:`SweepShown` while an epoch's evaluation is under way (every
``sweep_seconds``: the sections evaluated so far, drawn before the epoch ends -- on a large
volume the first heat map then comes long before the first full pass), :class:`EpochDone`
(with the arrays to display, computed here, off the GUI thread) and finally
:class:`TrainingFinished` or :class:`TrainingFailed`. napari runs it in a ``thread_worker``
(``_napari/worker.py``); closing it (the worker's quit) closes ``fit_steps``, which stops the
run cleanly after the current batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.training.steps import BatchEnd, EpochEnd, SweepProgress, TrainStart

__all__ = [
    "BatchEnd",
    "EpochDone",
    "EpochEnd",
    "SweepProgress",
    "SweepShown",
    "TrainingFailed",
    "TrainingFinished",
    "TrainStart",
    "epoch_display",
    "live_events",
    "sweep_display",
]

# ------------------------------------------------------------------ what a live view gets


@dataclass(frozen=True)
class EpochDone:
    """One complete epoch, checkpointed (and committed to the run store).

    ``history``: every epoch's logs so far. Segmentation runs also carry ``predictions``
    (uint8, flat over the evaluated sections, row-major, depth-down), ``maps`` (the
    tracker's flat maps over the mapped sections: ``forgetting_events``, ``never_learned``,
    ``first_learned`` and, when tracked, ``confidence``, ``variability``, ``margin``; empty
    without tracking) and ``heat_upper`` (the forgetting events' display maximum).
    """

    epoch: int
    logs: dict[str, Any]
    history: tuple[dict[str, Any], ...]
    predictions: np.ndarray | None = None
    maps: dict[str, np.ndarray] | None = None
    heat_upper: float | None = None


@dataclass(frozen=True)
class SweepShown:
    """Part of epoch ``epoch``'s evaluation, to draw before the epoch ends: ``done`` of
    ``total`` sections evaluated; ``predictions``, ``maps`` and ``heat_upper`` as in
    :class:`EpochDone` (sections not evaluated yet keep the previous epoch's values)."""

    epoch: int
    done: int
    total: int
    predictions: np.ndarray | None = None
    maps: dict[str, np.ndarray] | None = None
    heat_upper: float | None = None


@dataclass(frozen=True)
class TrainingFinished:
    """The run reached its last epoch (or ``stopped`` through ``should_stop``)."""

    epochs_complete: int
    epochs: int
    stopped: bool
    run_dir: Path | None
    seconds: float


@dataclass(frozen=True)
class TrainingFailed:
    """Building or training raised; a segmentation run store says ``failed`` and the last
    good checkpoint is kept."""

    message: str
    error: BaseException
    epochs_complete: int
    run_dir: Path | None


# ------------------------------------------------------------------ what it draws


def _display(predictions: list[np.ndarray], maps: dict[str, np.ndarray]) -> dict[str, Any]:
    """The predictions flat, the maps, and the forgetting events' display maximum
    (:func:`~napari_forgetting.runs.store.display_arrays`)."""
    from napari_forgetting.runs.store import display_arrays

    flat = (
        np.concatenate([p.ravel() for p in predictions]) if predictions else np.zeros(0, np.uint8)
    )
    return display_arrays(flat, maps)


def epoch_display(trainer: Any) -> dict[str, Any]:
    """A segmentation trainer's last epoch as a live view shows it: ``predictions`` (uint8,
    flat over the evaluated sections), ``maps`` (its ``epoch_maps()``) and ``heat_upper``
    (the forgetting events' display maximum, or None); ``{}`` for a trainer with no
    predictions to show (style transfer)."""
    if getattr(trainer, "last_predictions", None) is None:
        return {}
    return _display(trainer.last_predictions, trainer.epoch_maps())


def sweep_display(trainer: Any) -> dict[str, Any]:
    """:func:`epoch_display` in the middle of a sweep (after a :class:`SweepProgress`): the
    sections evaluated so far with this pass's predictions and maps, the others with the
    previous epoch's (none yet: zero). Outside a sweep, :func:`epoch_display`."""
    done = getattr(trainer, "sweep_predictions", None)
    if done is None or trainer.tracker is None:
        return epoch_display(trainer)
    rest = trainer.last_predictions[len(done) :] or [
        np.zeros(s.shape, np.uint8) for s in trainer.tracked_sections[len(done) :]
    ]
    # the tracker's maps now, not epoch_maps(): that one is per finished epoch
    return _display([*done, *rest], trainer.tracker.flat_maps())


# ------------------------------------------------------------------ the stream


def live_events(
    trainer: Any | Callable[[], Any],
    *,
    resume: bool = False,
    overwrite: bool = False,
    release: bool = True,
    sweep_seconds: float | None = 10.0,
) -> Iterator[Any]:
    """Train and yield events (see the module docstring).

    ``trainer``: a trainer, or a function that builds one (building -- reading sections,
    making the model -- then happens here too, off the caller's thread). Never raises: an
    error becomes :class:`TrainingFailed` (an exception escaping a napari generator worker
    would reach the user as a raw traceback). With ``release`` the trainer frees its model
    and cached sections at the end (:meth:`~.loop.TrainingLoop.release`). A
    :class:`SweepShown` follows at most every ``sweep_seconds`` of an evaluation pass
    (``None``: never), when the trainer can show one (a segmentation trainer's sweep:
    :func:`sweep_display`).
    """
    from napari_forgetting.training.loop import TrainingLoop

    t0 = time.perf_counter()
    built: TrainingLoop | None = None
    try:
        built = trainer if isinstance(trainer, TrainingLoop) else trainer()
        run_dir = built.out_dir
        steps = built.fit_steps(resume, overwrite)
        partial = bool(sweep_seconds) and hasattr(built, "sweep_predictions")
        shown = time.perf_counter()
        try:
            for step in steps:
                if isinstance(step, (BatchEnd, TrainStart)):
                    yield step
                    shown = time.perf_counter()  # the pass's clock starts after training
                elif isinstance(step, SweepProgress):
                    if partial and time.perf_counter() - shown >= sweep_seconds:
                        yield SweepShown(step.epoch, step.done, step.total, **sweep_display(built))
                        shown = time.perf_counter()
                elif isinstance(step, EpochEnd):
                    yield EpochDone(
                        step.epoch,
                        dict(step.logs),
                        tuple(built.history),
                        **epoch_display(built),
                    )
        finally:
            steps.close()  # closed early (a stop): fit_steps ends the run cleanly here
        yield TrainingFinished(
            int(built.epoch),
            int(built.config.epochs),
            bool(built.stopped),
            run_dir,
            time.perf_counter() - t0,
        )
    except Exception as exc:  # noqa: BLE001 - reported to the user, never re-raised
        done = 0 if built is None else int(built.epoch)
        where = None if built is None else built.out_dir
        yield TrainingFailed(f"{type(exc).__name__}: {exc}", exc, done, where)
    finally:
        if release and built is not None:
            built.release()
