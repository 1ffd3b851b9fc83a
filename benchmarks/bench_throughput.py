"""Benchmark: Trainer training throughput (pixels/s) vs a minimal plain PyTorch loop.

    python benchmarks/bench_throughput.py [--shape 24 64 96] [--epochs 6] [--patch 64]
        [--batch 8] [--patches-per-epoch 64] [--threads 2]

Same process, same threads, same patches. Trainer: its defaults (deterministic, fused Adam
from ``make_optimizer``), mode "off", no tracked sections (no evaluation), timed from
on_epoch_start to the last on_batch_end, so patch cutting from the section cache is inside
the time. Plain loops: ``build_deeplabv3_resnet18`` (same seed), ``torch.optim.Adam(lr=1e-3)``
as a torchvision-style reference script writes it, ``cross_entropy(ignore_index=255)``, the
SAME patches pre-cut as tensors before timing (drawn by a twin Trainer's sampler), same batch
size. Variants of the plain loop: torch's defaults (the baseline: non-deterministic, looped
Adam); deterministic as the Trainer; channels_last (model + inputs); fused Adam. All
variants are run *interleaved*, one epoch each in turn, the order rotated every round (the
first of a round was measurably slower), so that machine load hits them alike; the figure
is the median epoch (epoch 0 excluded as warm-up with --epochs >= 3).
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

from _common import describe, median_kept, rotated, survey_and_config, training_parser
from napari_forgetting.model.deeplab import build_deeplabv3_resnet18
from napari_forgetting.training import Callback, Trainer


class EpochTimer(Callback):
    def __init__(self):
        self.times, self._t0, self._last = [], 0.0, 0.0

    def on_epoch_start(self, trainer, epoch):
        self._t0 = time.perf_counter()

    def on_batch_end(self, trainer, epoch, batch, loss):
        self._last = time.perf_counter()

    def on_epoch_end(self, trainer, epoch, logs):
        self.times.append(self._last - self._t0)


class PlainLoop:
    """The minimal loop, one epoch per call, with its own settings restored around it."""

    def __init__(
        self, batches, threads, *, rates, deterministic=False, channels_last=False, fused=False
    ):
        torch.manual_seed(0)
        self.model = build_deeplabv3_resnet18(
            6, 1, 16, atrous_rates=rates, channels_last=channels_last
        )
        kw = {"fused": True} if fused else {}
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, **kw)
        self.model.train()
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.batches = [(x.contiguous(memory_format=fmt), y) for x, y in batches]
        self.threads, self.deterministic = threads, deterministic
        self.times = []

    def epoch(self):
        torch.set_num_threads(self.threads)
        torch.use_deterministic_algorithms(self.deterministic, warn_only=True)
        try:
            t0 = time.perf_counter()
            for x, y in self.batches:
                loss = F.cross_entropy(self.model(x), y, ignore_index=255)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
                float(loss.detach())
            self.times.append(time.perf_counter() - t0)
        finally:
            torch.use_deterministic_algorithms(False)


def main(argv=None) -> int:
    args = training_parser(__doc__.split("\n\n")[0], epochs=6).parse_args(argv)
    survey, cfg = survey_and_config(args, mode="off")
    px_epoch = args.patches_per_epoch * args.patch * args.patch
    print(describe(args) + "; variants interleaved epoch by epoch, median epoch time")

    twin = Trainer(survey, cfg, tracked_sections=[])
    n = twin.patches_per_epoch
    draws = list(twin.sampler.iter_epoch(n))
    batches = [twin.make_batch(draws[i : i + args.batch])[:2] for i in range(0, n, args.batch)]

    timer = EpochTimer()
    tr = Trainer(survey, cfg, callbacks=[timer], tracked_sections=[])
    rates = cfg.rates  # the same network as the Trainer's
    plain = {
        "plain loop (torch defaults) = baseline": PlainLoop(batches, args.threads, rates=rates),
        "plain loop, deterministic": PlainLoop(
            batches, args.threads, rates=rates, deterministic=True
        ),
        "plain loop, channels_last": PlainLoop(
            batches, args.threads, rates=rates, channels_last=True
        ),
        "plain loop, fused Adam": PlainLoop(batches, args.threads, rates=rates, fused=True),
    }

    def trainer_epoch():
        tr.config.epochs += 1
        tr.fit()

    tr.config.epochs = 0
    runs = [trainer_epoch] + [loop.epoch for loop in plain.values()]
    for epoch in range(args.epochs):
        for run in rotated(runs, epoch):
            run()

    t_tr = median_kept(timer.times)
    rows = {"Trainer (defaults: deterministic, fused Adam)": t_tr}
    rows.update({name: median_kept(loop.times) for name, loop in plain.items()})
    print(f"  Trainer optimizer fused: {tr.optimizer.defaults.get('fused')}")
    for name, t in rows.items():
        print(f"  {name:46s} {t:.3f} s/epoch  {px_epoch / t / 1e3:8.1f} kpx/s")
    base = rows["plain loop (torch defaults) = baseline"]
    r = base / t_tr
    print(
        f"  ratio Trainer/plain pixels/s = {r:.4f}  (goal >= 1.0: {'OK' if r >= 1.0 else 'MISSED'})"
    )
    det = rows["plain loop, deterministic"]
    print(f"  ratio Trainer/plain deterministic pixels/s = {det / t_tr:.4f}")
    fused = rows["plain loop, fused Adam"]
    print(f"  ratio Trainer/plain fused Adam pixels/s = {fused / t_tr:.4f} (Trainer's own cost)")
    for name in (
        "plain loop, deterministic",
        "plain loop, channels_last",
        "plain loop, fused Adam",
    ):
        s = base / rows[name]
        print(
            f"  speed-up of the plain loop from '{name.split(', ')[1]}': {s:.4f}x "
            f"({'helped' if s > 1.0 else 'did not help'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
