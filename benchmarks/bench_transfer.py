"""Benchmark: quality of the SEAN-style transfer model after a few CPU minutes of training.

    python benchmarks/bench_transfer.py [--shape 32 64 128] [--epochs 12]
        [--patches-per-epoch 128] [--batch 8] [--patch 64] [--ngf 16] [--style-dim 16]
        [--minutes 4] [--threads 1] [--class-id 4] [--seed 0] [--device cpu]

Trains :class:`TransferTrainer` on ``make_f3_like(shape, seed)`` (training sections of the
paper's split), stopping after ``--epochs`` or ``--minutes`` (whichever first; a stop ends the
current epoch early and discards it), then prints:

* reconstruction PSNR on the validation sections vs the section-mean baseline (and the
  ratio of the two PSNRs, and the gain in dB);
* class specificity for ``--class-id`` (scruff = 4): mean |transfer - reconstruction|
  inside the class region / outside it, averaged over random validation triples;
* source sensitivity: same target from two sources, mean |difference| inside / outside.

Changes are also printed in units of the volume's amplitude std. ``--threads 1`` by default:
on a shared two-core machine two OpenMP threads spin against other processes and small
convolutions get many times slower.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.training import Callback
from napari_forgetting.transfer.quality import reconstruction_quality, transfer_quality
from napari_forgetting.transfer.train import TransferConfig, TransferTrainer


class TimeLimit(Callback):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.t0 = time.perf_counter()

    def on_train_start(self, trainer):
        self.t0 = time.perf_counter()

    def on_batch_end(self, trainer, epoch, batch, loss):
        if time.perf_counter() - self.t0 > self.seconds:
            trainer.should_stop = True

    def on_epoch_end(self, trainer, epoch, logs):
        print(
            f"epoch {epoch:3d}  G {logs['loss_g']:.3f}  D {logs['loss_d']:.3f}  "
            f"L1 {logs['l1']:.3f}  spec {logs['spectral']:.3f}  "
            f"PSNR {logs.get('psnr', float('nan')):.2f} dB "
            f"(mean baseline {logs.get('baseline_psnr', float('nan')):.2f})  "
            f"{logs['seconds']:.1f} s",
            flush=True,
        )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=3, default=(32, 64, 128))
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--patches-per-epoch", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--ngf", type=int, default=16)
    p.add_argument("--style-dim", type=int, default=16)
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--class-id", type=int, default=4)
    p.add_argument("--triples", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    survey = make_f3_like(tuple(args.shape), seed=args.seed)
    cfg = TransferConfig(
        epochs=args.epochs,
        batch_size=args.batch,
        patch_size=(args.patch, args.patch),
        patches_per_epoch=args.patches_per_epoch,
        ngf=args.ngf,
        style_dim=args.style_dim,
        encoder_width=max(8, args.ngf // 2),
        ndf=args.ngf,
        seed=args.seed,
        device=args.device,
        num_threads=args.threads,
        eval_sections=2,
    )
    trainer = TransferTrainer(survey, cfg, callbacks=[TimeLimit(args.minutes * 60)])
    print(
        f"volume {survey.shape}, {len(trainer.train_sections)} training / "
        f"{len(trainer.validation_sections)} validation sections; "
        f"{sum(p.numel() for p in trainer.model.parameters()):,} G+E parameters, "
        f"{sum(p.numel() for p in trainer.discriminator.parameters()):,} D parameters",
        flush=True,
    )
    t0 = time.perf_counter()
    trainer.fit()
    train_s = time.perf_counter() - t0
    model = trainer.model

    t0 = time.perf_counter()
    rec = reconstruction_quality(model, survey)
    q = transfer_quality(model, survey, args.class_id, n_triples=args.triples, seed=args.seed)
    eval_s = time.perf_counter() - t0
    print()
    print(f"trained {trainer.epoch} epochs in {train_s:.0f} s (stopped early: {trainer.stopped})")
    print(
        f"reconstruction PSNR (validation, {rec['n_sections']} sections): "
        f"{rec['psnr']:.2f} dB vs section-mean baseline {rec['baseline_psnr']:.2f} dB "
        f"(ratio {rec['psnr_ratio']:.3f}, gain {rec['psnr_gain_db']:+.2f} dB; "
        f"MSE {rec['mse']:.3f} vs {rec['baseline_mse']:.3f} in normalised units)"
    )
    std = trainer.stats[1]
    print(
        f"class specificity (class {args.class_id}, {q['n_triples']} triples): "
        f"{q['specificity']:.1f}  (mean |change| inside {q['specificity_inside'] / std:.3f} std, "
        f"outside {q['specificity_outside'] / std:.4f} std)"
    )
    print(
        f"source sensitivity (class {args.class_id}): {q['sensitivity']:.1f}  "
        f"(mean |difference| inside {q['sensitivity_inside'] / std:.3f} std, "
        f"outside {q['sensitivity_outside'] / std:.4f} std)"
    )
    print(f"evaluation {eval_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
