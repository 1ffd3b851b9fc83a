"""Benchmark: epoch time of Trainer with forgetting tracking off / online / sweep.

    python benchmarks/bench_tracking.py [--shape 24 64 96] [--epochs 12] [--patch 64]
        [--batch 8] [--patches-per-epoch 64] [--threads 2]

Same data (make_f3_like, seed 0), same TrainConfig and seed for each variant, in one
process. The variants are trained *interleaved*, one epoch each in turn, the order rotated
every round, so that load from other processes hits every variant alike. The ratio per
variant is the median over rounds of its epoch time divided by the same round's "off" epoch
(paired, so slow drift cancels); the median epoch time (``history[i]["seconds"]``: training +
evaluation + tracker work) is printed too. Epoch 0 is excluded as warm-up. Variants:
``online`` / ``sweep`` with the default confidence, variability and margin maps
(``track_stats``) and without them.

NOTE: the Trainer evaluates the tracked (validation) sections every epoch in every mode,
"off" included (metrics), so "off" already pays the inference pass: sweep's overhead over off
is the tracker update (plus the true-class statistics), online's is the per-batch
argmax/copy + ``update_patch``. The inference pass over the tracked sections, timed on its
own, is printed as the unit of the sweep budget. Because wall-clock ratios on a shared
machine are noisy, the tracking work measured inside each epoch
(``history[i]["tracking_seconds"]``: online -- argmax, statistics, copy and
``update_patch`` per batch; sweep -- ``update_epoch``) is also printed as ``1 + work / off``.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from _common import describe, kept, median_kept, rotated, survey_and_config, training_parser
from napari_forgetting.model.deeplab import predict_section
from napari_forgetting.model.trainer import Trainer

VARIANTS = (
    ("off", "off", True),
    ("online", "online", True),
    ("online (no stats)", "online", False),
    ("sweep", "sweep", True),
    ("sweep (no stats)", "sweep", False),
)


def _quartiles(values) -> str:
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return f"{q1:.3f}-{q3:.3f}"


def main(argv=None) -> int:
    args = training_parser(__doc__.split("\n\n")[0], epochs=12).parse_args(argv)
    print(describe(args) + "; variants interleaved epoch by epoch, median epoch time")
    trainers = {}
    for name, mode, stats in VARIANTS:
        survey, cfg = survey_and_config(args, mode=mode, track_stats=stats)
        trainers[name] = Trainer(survey, cfg)
    names = list(trainers)
    for epoch in range(args.epochs):
        for name in rotated(names, epoch):
            tr = trainers[name]
            tr.config.epochs = epoch + 1
            tr.fit()
    res = {name: median_kept([h["seconds"] for h in tr.history]) for name, tr in trainers.items()}
    off_s = [h["seconds"] for h in trainers["off"].history]
    rounds = {  # per round: variant epoch / off epoch of the same round (warm-up cut)
        name: kept([h["seconds"] / o for h, o in zip(tr.history, off_s, strict=True)])
        for name, tr in trainers.items()
    }
    paired = {name: statistics.median(r) for name, r in rounds.items()}
    track = {
        name: median_kept([h["tracking_seconds"] for h in tr.history])
        for name, tr in trainers.items()
    }
    for name, tr in trainers.items():
        secs = ", ".join(f"{h['seconds']:.3f}" for h in tr.history)
        print(
            f"  {name:18s}: {res[name]:.3f} s/epoch (all: {secs}); "
            f"tracking work {track[name] * 1e3:.1f} ms/epoch"
        )

    tr = trainers["sweep"]
    imgs = [tr.section_data(s)[0] for s in tr.tracked_sections]
    n_px = sum(i.size for i in imgs)
    torch.set_num_threads(args.threads)
    passes = []
    for _ in range(3):
        t0 = time.perf_counter()
        for img in imgs:
            predict_section(tr.model, img).argmax(0)
        passes.append(time.perf_counter() - t0)
    t_inf = min(passes)
    print(
        f"inference pass over the {len(imgs)} tracked sections ({n_px:,} px, predict_section + "
        f"argmax, best of 3): {t_inf:.3f} s"
    )
    off = res["off"]
    for name in res:
        if name != "off":
            print(
                f"  ratio {name}/off epoch time = {paired[name]:.4f} (median of the rounds' "
                f"ratios, quartiles {_quartiles(rounds[name])}, {len(rounds[name])} rounds; "
                f"ratio of the medians {res[name] / off:.4f})"
            )
    print("  noise-free view (tracking work timed inside the epoch, history['tracking_seconds']):")
    for name in ("online", "online (no stats)", "sweep", "sweep (no stats)"):
        print(f"    1 + tracking/off epoch, {name:18s} = {1 + track[name] / off:.4f}")
    on_ratio = paired["online"]
    print(f"  online goal <= 1.02: {'OK' if on_ratio <= 1.02 else 'MISSED'} ({on_ratio:.4f})")
    sw = paired["sweep"] * off
    ok = sw <= off + t_inf + 0.02 * off
    print(f"  sweep budget ratio (sweep - off) / inference_pass = {(sw - off) / t_inf:.4f}")
    print(f"  sweep goal <= off + inference_pass + 2%: {'OK' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
