"""Design a comparison preset on the baseline alone: its budget, its primary endpoint and
what its seeds can detect, before any treatment arm runs (issue 31).

    python benchmarks/design_preset.py --out DIR [--preset cpu-decide] [--seeds 1 2 3]
        [--epochs 80] [--data-seed 0] [--workers 2] [--budgets 30 40 50 60 70 80]
    python benchmarks/design_preset.py --report REPORT [--preset cpu-decide]

``--report``: after the comparison, its primary endpoint seed by seed for every arm of a
``compare`` folder and each arm's difference from the baseline (what the report's paired
intervals summarise), then exit.

For each calibration seed it trains (or reuses, in ``DIR``) the preset's **baseline** and its
**reinit** control (the same training draws, another initialisation: ``compare``'s null
control) for ``--epochs``; no transfer, flip or control for the mechanism is ever run. As
nothing in training depends on the budget (no schedule), the first ``E`` epochs of these runs
are ``E``-epoch runs, so every budget of ``--budgets`` is read from the same runs.

Printed, per budget ``E`` and endpoint:

* the baseline's Scruff level on the test volumes (mean over the calibration seeds): where it
  stops rising is the plateau;
* the paired difference *reinit - baseline* over the seeds (nothing differs but the
  initial weights: the noise floor of a paired contrast under common random numbers), its
  SD, and the minimum detectable effect of the preset's seed count at that SD
  (two-sided paired t-test, 5 %, 80 % power; ``compare.detectable``'s formula);
* endpoints: the true-class probability after the last epoch on all test sections (only at
  the runs' own length), and the tracked-section probability averaged over the last ``k``
  epochs (``--last``: 1, 10, 20, 30), the test volumes pooled by their class pixels.

And the eligible sections (validation sections holding at least ``min_pixels`` of the
class) on the preset's geology and on ``--data-seed`` 1 and 5, the other geologies the
comparison is run on. Three seeds estimate an SD within a factor of about two: the printed
MDE is a design figure, the report's from the preset's own seeds is the measurement.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from napari_forgetting.runs.store import RunStore
from napari_forgetting.workflow.compare import JOBS_DIR, preset_config, run_jobs
from napari_forgetting.workflow.compare.jobs import run_finished, train_job
from napari_forgetting.workflow.compare.metrics import pool_volumes, tracked_probability
from napari_forgetting.workflow.compare.paired import mde_at
from napari_forgetting.workflow.compare.scheduling import JobSpec


def eligible(shape, data_seed: int, cls: str, min_pixels: int) -> tuple[int, int]:
    """(validation sections holding >= min_pixels of cls, validation sections)."""
    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.data.sections import paper_split, section_labels
    from napari_forgetting.data.source import load_data

    vol = load_data("synthetic", shape=shape, seed=data_seed)[0]
    k = resolve_class(vol.class_names, cls)
    n = [int((section_labels(vol, s) == k).sum()) for s in paper_split(vol).validation]
    return sum(x >= min_pixels for x in n), len(n)


def _have(path: Path, epochs: int) -> bool:
    """A finished calibration run of at least ``epochs`` epochs is reused (its first
    ``epochs`` are that budget's run)."""
    return run_finished(path) and RunStore.open(path).n_epochs >= epochs


def tracked(path: Path, k: int, cls_id: int, epochs: int) -> float:
    """The tracked endpoint of a run stopped after ``epochs``: the test volumes pooled."""
    store = RunStore.open(path)
    vols = [tracked_probability(store.test(t), k, epochs) for t in store.test_names]
    return float(pool_volumes(vols)[cls_id])


def final(path: Path, cls_id: int) -> float:
    """The true-class probability on every test section after the last epoch, pooled."""
    tm = RunStore.open(path).state["test_metrics"]
    sums = sum(m["probability_sums"][cls_id] for m in tm.values())
    counts = sum(m["probability_counts"][cls_id] for m in tm.values())
    return sums / counts if counts else math.nan


def per_seed(report: Path, cls: str, last_k: int) -> None:
    """The tracked endpoint of every finished job in ``report/jobs``, seed by seed."""
    got: dict[str, dict[int, float]] = {}
    for path in sorted((report / JOBS_DIR).iterdir()):
        method, _, seed = path.name.rpartition("-seed")
        if not run_finished(path):
            continue
        store = RunStore.open(path)
        value = tracked(path, last_k, list(store.class_names).index(cls), store.n_epochs)
        got.setdefault(method, {})[int(seed)] = value
    methods = ["baseline", *sorted(m for m in got if m != "baseline")]
    arms = methods[1:]
    print(f"{cls}, tracked test sections, mean of the last {last_k} epochs, volumes pooled")
    print(f"{'seed':>4} " + " ".join(f"{m:>17}" for m in methods)
          + "".join(f" {m + ' - b':>21}" for m in arms))  # fmt: skip
    for seed in sorted(got.get("baseline", {})):
        b = got["baseline"][seed]
        row = [got[m].get(seed, math.nan) for m in methods]
        print(f"{seed:>4} " + " ".join(f"{v:>17.3f}" for v in row)
              + "".join(f" {v - b:>+21.3f}" for v in row[1:]))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--report", type=Path, help="print a comparison's endpoint seed by seed")
    ap.add_argument("--preset", default="cpu-decide")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--data-seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budgets", type=int, nargs="+", default=[30, 40, 50, 60, 70, 80])
    ap.add_argument("--last", type=int, nargs="+", default=[1, 10, 20, 30],
                    help="the tracked endpoint's averaging windows, in epochs")  # fmt: skip
    args = ap.parse_args()
    over = {} if args.data_seed is None else {"data_seed": args.data_seed}
    cfg = preset_config(args.preset, **over)
    if args.report is not None:
        per_seed(args.report, cfg.cls, cfg.last_k)
        return 0
    if args.out is None:
        ap.error("--out (or --report) is required")
    from napari_forgetting.data.source import load_data

    volume, source = load_data("synthetic", shape=cfg.shape, seed=cfg.data_seed)
    names = list(volume.class_names)
    cls_id = names.index(cfg.cls)
    train = {**cfg.train, "epochs": args.epochs, "n_classes": len(names)}
    jobs = []
    for seed in args.seeds:
        for method in ("baseline", "reinit"):
            path = args.out / f"{method}-seed{seed}"
            if not _have(path, args.epochs):
                kwargs = {"source": source, "train": train, "method": method, "seed": seed,
                          "out_dir": str(path)}  # fmt: skip
                jobs.append(JobSpec(f"{method}-seed{seed}", train_job, kwargs, out_dir=path))
    t0 = time.perf_counter()
    _, failed = run_jobs(jobs, 0, n_workers=args.workers, log=print)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    print(f"{len(jobs)} calibration runs trained in {time.perf_counter() - t0:.0f} s "
          f"({args.epochs} epochs each; the others reused)\n")  # fmt: skip

    n = cfg.seeds
    print(f"preset {args.preset}: geology {cfg.data_seed}, {n} seeds, "
          f"{cfg.train['patches_per_epoch']} patches / epoch; calibration seeds {args.seeds}; "
          f"MDE for {n} seeds (paired, 5 %, 80 % power) at the SD of reinit - "
          "baseline\n")  # fmt: skip
    print(f"{'epochs':>6} {'endpoint':<28} {'baseline':>9} {'SD(diff)':>9} {'MDE':>7}  diffs")
    for e in args.budgets:
        if e > min(RunStore.open(args.out / f"baseline-seed{s}").n_epochs for s in args.seeds):
            continue
        rows = [(f"tracked, last {k}", k) for k in args.last if k <= e]
        if e == args.epochs:
            rows.append(("all test sections, last", 0))
        for label, k in rows:
            got = []
            for s in args.seeds:
                b, r = (args.out / f"{m}-seed{s}" for m in ("baseline", "reinit"))
                if k:
                    got.append((tracked(b, k, cls_id, e), tracked(r, k, cls_id, e)))
                else:
                    got.append((final(b, cls_id), final(r, cls_id)))
            diffs = [r - b for b, r in got]
            sd = float(np.std(diffs, ddof=1))
            mde = mde_at(sd, n)  # the preset's seeds at the calibration's SD
            base = np.mean([b for b, _ in got])
            print(f"{e:>6} {label:<28} {base:>9.3f} {sd:>9.3f} {mde:>7.3f}  "
                  + " ".join(f"{d:+.3f}" for d in diffs))  # fmt: skip
    print()
    for ds in sorted({cfg.data_seed, 1, 5}):
        got, total = eligible(cfg.shape, ds, cfg.cls, cfg.min_pixels)
        print(f"geology {ds}: {got} of {total} validation sections hold >= {cfg.min_pixels} "
              f"{cfg.cls} pixels")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
