"""The steps a training loop yields (no torch, no Qt at import): :class:`TrainStart`,
:class:`BatchEnd`, :class:`SweepProgress` and :class:`EpochEnd` are what
:meth:`~.loop.TrainingLoop.fit_steps` yields; :func:`drain` runs any step generator to its
end and :func:`relay` passes one's steps on, converted. What a live view gets from them is
:mod:`.live`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BatchEnd", "EpochEnd", "SweepProgress", "TrainStart", "drain", "relay"]


@dataclass(frozen=True)
class TrainStart:
    """The run is open: ``start_epoch`` complete epochs (> 0 when resumed) of ``epochs``;
    ``n_batches`` per epoch; ``device`` and the torch CPU ``threads`` it trains with; the
    run's folder (``None`` without one)."""

    epochs: int
    start_epoch: int
    n_batches: int
    device: str
    threads: int
    run_dir: Path | None = None


@dataclass(frozen=True)
class BatchEnd:
    """Batch ``batch`` (0-based) of ``n_batches`` in epoch ``epoch`` is done."""

    epoch: int
    batch: int
    n_batches: int
    loss: float


@dataclass(frozen=True)
class SweepProgress:
    """Epoch ``epoch``'s evaluation pass has applied ``done`` of its ``total`` sections (the
    tracker already shows them as after this pass)."""

    epoch: int
    done: int
    total: int


@dataclass(frozen=True)
class EpochEnd:
    """Epoch ``epoch`` (0-based) is complete and checkpointed; ``logs`` as in the history."""

    epoch: int
    logs: dict[str, Any]


def drain(steps: Iterator[Any], on_step: Callable[[Any], None] | None = None) -> Any:
    """Run a generator of steps to its end (``on_step`` gets each step, e.g. to move a
    progress bar); returns what it returns."""
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        if on_step is not None:
            on_step(step)


def relay(steps: Iterator[Any], convert: Callable[[Any], Any]) -> Iterator[Any]:
    """Pass ``steps`` on as ``convert(step)`` (a step converted to ``None`` is not passed
    on); returns what ``steps`` returns (``result = yield from relay(...)``)."""
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        out = convert(step)
        if out is not None:
            yield out
