"""Shared set-up of the training benchmarks (argument parser, config, warm-up rule).

Benchmarks run as plain scripts (``python benchmarks/bench_x.py``); this module sits beside
them and is imported from the script's folder.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.training.segmentation import TrainConfig, Trainer

REPO = Path(__file__).resolve().parents[1]


def baseline_src(revision: str, work: Path) -> Path:
    """The ``src`` folder of ``revision`` checked out with ``git worktree`` (from this
    repository) in ``work``, reused when it is there: a benchmark runs it side by side."""
    tree = work / f"baseline-{revision}"
    if not tree.is_dir():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree),
                        revision], check=True, capture_output=True)  # fmt: skip
    return tree / "src"


def training_parser(description: str, epochs: int = 3) -> argparse.ArgumentParser:
    """The options every training benchmark takes (volume, epochs, patches, threads)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--shape", type=int, nargs=3, default=(24, 64, 96))
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patches-per-epoch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    return ap


def survey_and_config(args: argparse.Namespace, **overrides):
    """``(survey, TrainConfig)``: the F3-like volume (seed 0) and a CPU, no-AMP config."""
    survey = make_f3_like(tuple(args.shape), seed=0)
    kw = dict(
        epochs=args.epochs,
        batch_size=args.batch,
        patch_size=(args.patch, args.patch),
        patches_per_epoch=args.patches_per_epoch,
        seed=0,
        device="cpu",
        num_threads=args.threads,
        amp=False,
    )
    kw.update(overrides)
    return survey, TrainConfig(**kw)


def describe(args: argparse.Namespace) -> str:
    warm = "epoch 0 excluded as warm-up" if args.epochs >= 3 else "all epochs (no warm-up cut)"
    return (
        f"volume {tuple(args.shape)}, {args.epochs} epochs x {args.patches_per_epoch} patches "
        f"{args.patch}x{args.patch}, batch {args.batch}, {args.threads} threads, CPU, no AMP "
        f"({warm})"
    )


def kept(times: Sequence[float]) -> list[float]:
    """Epoch times without the warm-up epoch (when there are at least 3)."""
    return list(times[1:] if len(times) >= 3 else times)


def mean_kept(times: Sequence[float]) -> float:
    return statistics.mean(kept(times))


def median_kept(times: Sequence[float]) -> float:
    return statistics.median(kept(times))


def rotated(items: Sequence, round_index: int) -> list:
    """``items`` starting at ``round_index`` (mod len): interleaved variants each take every
    place in a round in turn (the first epoch of a round was measurably slower)."""
    k = round_index % len(items)
    return list(items[k:]) + list(items[:k])


def step_mark(step: Any) -> tuple:
    """A step of ``fit_steps()`` as a tuple: ``("start", first epoch)``, ``("batch", epoch,
    batch)``, ``("sweep", epoch, sections done)`` or ``("epoch", epoch)``."""
    from napari_forgetting.training.steps import BatchEnd, EpochEnd, SweepProgress, TrainStart

    if isinstance(step, TrainStart):
        return ("start", step.start_epoch)
    if isinstance(step, BatchEnd):
        return ("batch", step.epoch, step.batch)
    if isinstance(step, SweepProgress):
        return ("sweep", step.epoch, step.done)
    if isinstance(step, EpochEnd):
        return ("epoch", step.epoch)
    raise TypeError(f"not a training step: {step!r}")


class LockStep:
    """Train several trainers *in lock step*, in one thread: one step of each in turn --
    a batch, or an epoch's end (tracker closing, evaluation, sweep update) -- through
    :meth:`Trainer.fit_steps`, the order rotated at every step.

    Each step is timed, so a variant's epoch time is the sum of its own steps, each measured
    within a second of every other variant's same step: machine load that lasts longer than
    a few steps hits all variants alike, which epoch-by-epoch interleaving (rounds of several
    seconds) cannot promise.
    """

    def __init__(self, trainers: dict[str, Trainer]) -> None:
        self.trainers = trainers
        self.steps: dict[str, list[tuple[tuple, float]]] = {name: [] for name in trainers}

    def run(self) -> dict[str, list[float]]:
        """Fit every trainer to its ``config.epochs``; returns each variant's epoch times."""
        steps = {name: tr.fit_steps() for name, tr in self.trainers.items()}
        epochs: dict[str, list[float]] = {name: [] for name in steps}
        open_s = dict.fromkeys(steps, 0.0)
        active, step = list(steps), 0
        while active:
            for name in rotated(active, step):
                t0 = time.perf_counter()
                mark = next(steps[name], None)
                dt = time.perf_counter() - t0
                if mark is None:  # fit()'s tail after the last epoch: not an epoch's time
                    active.remove(name)
                    continue
                mark = step_mark(mark)
                self.steps[name].append((mark, dt))
                open_s[name] += dt  # the run's opening (the start step) counts to epoch 0
                if mark[0] == "epoch":
                    epochs[name].append(open_s[name])
                    open_s[name] = 0.0
            step += 1
        return epochs
