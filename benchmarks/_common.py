"""Shared set-up of the training benchmarks (argument parser, config, warm-up rule).

Benchmarks run as plain scripts (``python benchmarks/bench_x.py``); this module sits beside
them and is imported from the script's folder.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence

from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.model.trainer import TrainConfig


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
