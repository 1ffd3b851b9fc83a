"""Benchmark: Trainer training throughput (pixels/s) vs a minimal plain PyTorch loop.

    python benchmarks/bench_throughput.py [--shape 24 64 96] [--epochs 3] [--patch 64]
        [--batch 8] [--patches-per-epoch 64] [--threads 2]

Same process, same threads. Trainer: mode "off", no tracked sections (no evaluation), timed
from on_epoch_start to the last on_batch_end. Plain loop: build_deeplabv3_resnet18 (same
seed), Adam lr 1e-3, cross_entropy(ignore_index=255), the SAME patches (drawn by a Trainer's
sampler, pre-cut as tensors before timing), same batch size; run contiguous and
channels_last (model + inputs). With --epochs >= 3 epoch 0 is excluded as warm-up.
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

from _common import describe, survey_and_config, training_parser
from _common import mean_kept as kept
from napari_forgetting.model.deeplab import build_deeplabv3_resnet18
from napari_forgetting.model.trainer import Callback, Trainer


class EpochTimer(Callback):
    def __init__(self):
        self.times, self._t0, self._last = [], 0.0, 0.0

    def on_epoch_start(self, trainer, epoch):
        self._t0 = time.perf_counter()

    def on_batch_end(self, trainer, epoch, batch, loss):
        self._last = time.perf_counter()

    def on_epoch_end(self, trainer, epoch, logs):
        self.times.append(self._last - self._t0)


def plain_loop(batches, epochs, channels_last, seed):
    torch.manual_seed(seed)
    model = build_deeplabv3_resnet18(6, 1, 16, channels_last=channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    if channels_last:
        batches = [(x.contiguous(memory_format=torch.channels_last), y) for x, y in batches]
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for x, y in batches:
            loss = F.cross_entropy(model(x), y, ignore_index=255)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            float(loss.detach())
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None) -> int:
    args = training_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    survey, cfg = survey_and_config(args, mode="off")
    px_epoch = args.patches_per_epoch * args.patch * args.patch
    print(describe(args))

    # the same patches for the plain loop: a twin trainer's sampler (same seed) + its make_batch
    twin = Trainer(survey, cfg, tracked_sections=[])
    n = twin.patches_per_epoch
    draws = list(twin.sampler.iter_epoch(n))
    batches = [twin.make_batch(draws[i : i + args.batch])[:2] for i in range(0, n, args.batch)]

    timer = EpochTimer()
    tr = Trainer(survey, cfg, callbacks=[timer], tracked_sections=[])
    tr.fit()
    t_tr = kept(timer.times)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)  # as the Trainer (deterministic)
    t_plain = kept(plain_loop(batches, args.epochs, False, 0))
    t_cl = kept(plain_loop(batches, args.epochs, True, 0))
    torch.use_deterministic_algorithms(False)
    t_plain_nd = kept(plain_loop(batches, args.epochs, False, 0))

    rows = (
        ("Trainer (mode off, no eval)", t_tr),
        ("plain loop, contiguous", t_plain),
        ("plain loop, channels_last", t_cl),
        ("plain loop, contiguous, non-deterministic", t_plain_nd),
    )
    for name, t in rows:
        print(f"  {name:44s} {t:.3f} s/epoch  {px_epoch / t / 1e3:8.1f} kpx/s")
    r = t_plain / t_tr
    print(
        f"  ratio Trainer/plain pixels/s = {r:.4f}  (goal >= 1.0: {'OK' if r >= 1.0 else 'MISSED'})"
    )
    print(
        f"  channels_last speed-up of the plain loop: {t_plain / t_cl:.4f}x "
        f"({'helped' if t_cl < t_plain else 'did not help'})"
    )
    print(f"  Trainer/plain(channels_last) pixels/s = {t_cl / t_tr:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
