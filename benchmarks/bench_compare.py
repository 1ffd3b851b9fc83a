"""Wall time of the method comparison: a 2-worker LocalCluster vs one process, one job after
another (the same jobs, the same per-job configuration: 1 torch thread each).

    python benchmarks/bench_compare.py [--shape I X S] [--epochs N] [--seeds K]
        [--methods baseline,flip,rotate,transfer] [--workers 2] [--out DIR]

Prints both wall times and their ratio (cluster / sequential; on 2 cores expect about
0.5-0.6 with two workers). The cluster pass's report (report.md, CSVs, PNG) is kept in
``OUT/cluster``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from napari_forgetting.workflow.compare import CompareConfig, run_comparison


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs=3, default=(16, 32, 64))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--methods", default="baseline,flip,rotate,transfer")
    ap.add_argument("--patch", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patches-per-epoch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", help="keep the reports here (default: a temporary folder)")
    args = ap.parse_args()

    config = CompareConfig(
        data="synthetic",
        shape=tuple(args.shape),
        data_seed=0,
        methods=tuple(args.methods.split(",")),
        seeds=args.seeds,
        train={
            "epochs": args.epochs,
            "batch_size": args.batch,
            "patch_size": [args.patch, args.patch],
            "patches_per_epoch": args.patches_per_epoch,
            "device": "cpu",
            "amp": False,
            "num_threads": 1,
        },
        # a wall-time benchmark: a small transfer model, measured and used even below the bar
        transfer_method="learned",
        transfer={"epochs": 3, "patches_per_epoch": 32, "ngf": 8, "style_dim": 8},
        force=True,
        min_pixels=0,
        n_sources=3,
        per_source=8,
    )
    root = args.out or tempfile.mkdtemp(prefix="bench_compare_")
    os.makedirs(root, exist_ok=True)
    print(
        f"volume {tuple(args.shape)}, methods {args.methods}, {args.seeds} seeds, "
        f"{args.epochs} epochs x {args.patches_per_epoch} patches {args.patch}x{args.patch}, "
        f"batch {args.batch}, 1 torch thread per job, CPU, {os.cpu_count()} cores"
    )
    times = {}
    for label, kw in (
        ("sequential", {"sequential": True}),
        ("cluster", {"n_workers": args.workers, "processes": True}),
    ):
        out = os.path.join(root, label)
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        result = run_comparison(config, out, **kw)
        times[label] = time.perf_counter() - t0
        status = "ok" if result.ok else f"FAILED {result.failed}"
        print(f"{label:>10}: {times[label]:7.1f} s  ({len(result.ran)} jobs, {status})")
    print(
        f"ratio cluster/sequential ({args.workers} workers): "
        f"{times['cluster'] / times['sequential']:.2f}"
    )
    print(f"reports: {root}/cluster/report.md, {root}/sequential/report.md")


if __name__ == "__main__":
    main()
