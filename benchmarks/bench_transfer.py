"""Benchmark: the style transfer's wall time and measured quality, today's default beside the
previous one and the training-free method, on one volume in one process.

    python benchmarks/bench_transfer.py [--shape 32 64 128] [--epochs 20] [--threads 2]
        [--arms default,previous,stratal] [--triples 48] [--seed 0] [--train-seed 0]
        [--save DIR]

Arms (each trained on the training sections of ``--data synthetic --shape``'s volume, the
validation sections held out, as ``napari-forgetting transfer-train`` does):

* ``default`` -- :class:`TransferConfig` as it is (``transfer-train``'s defaults);
* ``previous`` -- the default before the exemplar input (``exemplar False``: pooled region
  codes and the swap losses only; the default of 434aaea ... dfa24c1);
* ``gan`` -- the configuration before the style-swap losses: the discriminator on
  (``gan_weight 1``, ``fm_weight 10``), no swap or cycle loss, no measured character in the
  code, no exemplar (the default of bc1f953 ... 7332eee);
* ``stratal`` -- :class:`StratalTransfer`, no training.

For each: training wall time and peak memory (RSS, of this process so far), then
:func:`transfer_quality` on ``--triples`` held-out triples, for Scruff, and whether it meets
:data:`QUALITY_BAR`. The last line is the ratio of the trained arms' wall times.
``--save DIR`` keeps the default arm's checkpoint in ``DIR`` (for ``transfer-figure``).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

from napari_forgetting.data.source import load_data
from napari_forgetting.transfer import (
    StratalTransfer,
    TransferConfig,
    TransferTrainer,
    describe_quality,
    transfer_quality,
)

ARMS = {
    "default": {},
    "previous": {"exemplar": False},
    "gan": {
        "exemplar": False,
        "gan_weight": 1.0,
        "fm_weight": 10.0,
        "style_weight": 0.0,
        "cycle_weight": 0.0,
        "character_code": False,
    },
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=3, default=(32, 64, 128))
    p.add_argument("--epochs", type=int, default=TransferConfig.epochs)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--arms", default="default,previous,stratal")
    p.add_argument("--triples", type=int, default=48)
    p.add_argument("--seed", type=int, default=0, help="the synthetic volume's seed")
    p.add_argument("--train-seed", type=int, default=0, help="the trained arms' seed")
    p.add_argument("--class-id", type=int, default=4)
    p.add_argument("--save", help="folder for the default arm's checkpoint")
    p.add_argument("--min-pixels", type=int, default=256, help="see transfer-quality")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    data, _ = load_data("synthetic", None, tuple(args.shape), args.seed, None, None)
    n_classes = len(data.class_names)
    seconds: dict[str, float] = {}
    for arm in args.arms.split(","):
        print(f"== {arm}", flush=True)
        if arm == "stratal":
            method = StratalTransfer()
        else:
            if arm not in ARMS:
                p.error(f"unknown arm {arm!r}; choose from {', '.join([*ARMS, 'stratal'])}")
            cfg = TransferConfig(
                epochs=args.epochs,
                n_classes=n_classes,
                num_threads=args.threads,
                seed=args.train_seed,
                **ARMS[arm],
            )
            keep = args.save if arm == "default" else None
            trainer = TransferTrainer(data, cfg, out_dir=keep)
            t0 = time.perf_counter()
            trainer.fit()
            seconds[arm] = time.perf_counter() - t0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            print(
                f"{arm}: {trainer.epoch} epochs of {trainer.patches_per_epoch} patches in "
                f"{seconds[arm]:.0f} s ({seconds[arm] / max(1, trainer.epoch):.1f} s/epoch), "
                f"peak RSS {rss:.2f} GiB",
                flush=True,
            )
            method = trainer.model
        t0 = time.perf_counter()
        q = transfer_quality(
            method, data, args.class_id, n_triples=args.triples, min_pixels=args.min_pixels
        )
        print(describe_quality(q))
        print(f"(measured in {time.perf_counter() - t0:.1f} s)", flush=True)
    if "default" in seconds and "previous" in seconds:
        print(
            f"wall time default / previous: {seconds['default']:.0f} / "
            f"{seconds['previous']:.0f} s = {seconds['default'] / seconds['previous']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
