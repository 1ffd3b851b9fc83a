"""What the sound-training choices do to the metrics, same seed and same budget, in one run:
the former ASPP rates (6, 12, 18; two branches untrained on 128-pixel patches) against the
rates whose every tap is trained (the default now), and the default against leaving the
validation traces out of the loss (``exclude_validation_traces``).

    python benchmarks/bench_soundness.py [--shape 48 96 128] [--epochs 20] [--seeds 1]

Data: the synthetic F3 benchmark layout (train, test1, test2 cut from one geology). Each
variant trains ``TrainConfig()``'s defaults (128 x 128 patches, batch 16, patches covering
the training sections once per epoch) for ``--epochs``, and is scored on the validation
sections (last epoch) and on every inline and crossline of test1 and test2. Prints pixel
accuracy, mean class accuracy and Scruff accuracy per split, and the difference of each
variant from the default.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from napari_forgetting.data.source import load_data, load_tests
from napari_forgetting.model.deeplab import ASPP_RATES
from napari_forgetting.training import TrainConfig, Trainer

SCRUFF = 4
VARIANTS = {
    "former rates (6, 12, 18)": {"aspp_rates": ASPP_RATES[16]},
    "default (trained rates)": {},
    "default + exclude_validation_traces": {"exclude_validation_traces": True},
}


def scores(trainer: Trainer) -> dict[str, tuple[float, float, float]]:
    out = {}
    last = trainer.history[-1]
    out["validation"] = (last["pixel_accuracy"], last["mean_class_accuracy"],
                         last["class_accuracy"][SCRUFF])  # fmt: skip
    for name, m in trainer.test_metrics.items():
        out[name] = (m["pixel_accuracy"], m["mean_class_accuracy"], m["class_accuracy"][SCRUFF])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs=3, default=(48, 96, 128))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    volume, source = load_data("synthetic", shape=args.shape, seed=0)
    tests = load_tests(source, volume)
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for seed in range(args.seeds):
        for name, options in VARIANTS.items():
            cfg = TrainConfig(epochs=args.epochs, seed=seed, device="cpu",
                              num_threads=args.threads, test_every=0, **options)  # fmt: skip
            t0 = time.perf_counter()
            trainer = Trainer(volume, cfg, test_volumes=tests)
            trainer.fit()
            results[name].append(scores(trainer))
            print(
                f"seed {seed} {name}: {time.perf_counter() - t0:.0f} s, "
                f"{trainer.budget()['gradient_steps']} gradient steps, rates {cfg.rates}, "
                f"untrained taps: {trainer.untrained_taps or 'none'}",
                flush=True,
            )
    print(
        f"\nsynthetic F3 layout, train {tuple(args.shape)}, {args.epochs} epochs, "
        f"{args.seeds} seed(s); mean over seeds of pixel acc. / mean class acc. / Scruff acc."
    )
    base = "default (trained rates)"
    for split in results[base][0]:
        print(f"  {split}:")
        ref = np.mean([r[split] for r in results[base]], axis=0)
        for name in VARIANTS:
            m = np.mean([r[split] for r in results[name]], axis=0)
            delta = "" if name == base else "   (vs default: " + " / ".join(
                f"{d:+.3f}" for d in m - ref) + ")"  # fmt: skip
            print(f"    {name:38s} {m[0]:.3f} / {m[1]:.3f} / {m[2]:.3f}{delta}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
