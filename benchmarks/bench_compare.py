"""Wall time of the method comparison: a 2-worker LocalCluster vs one process, one job after
another (the same jobs, the same per-job configuration: 1 torch thread each).

    python benchmarks/bench_compare.py [--shape I X S] [--epochs N] [--seeds K]
        [--methods baseline,flip,rotate,transfer] [--workers 2] [--out DIR]
    python benchmarks/bench_compare.py --preset cpu-lite [--seeds K] [--methods ...] --out DIR

Prints both wall times and their ratio (cluster / sequential; on 2 cores expect about
0.5-0.6 with two workers), and whether the two passes wrote the same tables (every job is
deterministic on CPU: they must). The reports (report.md, CSVs, PNG) are kept in
``OUT/cluster`` and ``OUT/sequential``. With ``--preset`` the comparison is
``compare --preset NAME``'s (the cluster pass first); without it, a small configuration
with a 3-epoch transfer model forced past the quality bar (a wall-time check only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from napari_forgetting.workflow.compare import PRESETS, CompareConfig, preset_config, run_comparison

TABLES = ("accuracy.csv", "forgetting.csv", "differences.csv", "regions.csv", "jobs.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=tuple(PRESETS))
    ap.add_argument("--shape", type=int, nargs=3, default=(16, 32, 64))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int)
    ap.add_argument("--methods")
    ap.add_argument("--patch", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patches-per-epoch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", help="keep the reports here (default: a temporary folder)")
    args = ap.parse_args()

    chosen = {}
    if args.seeds:
        chosen["seeds"] = args.seeds
    if args.methods:
        chosen["methods"] = tuple(args.methods.split(","))
    if args.preset:
        run(preset_config(args.preset, **chosen), args, ("cluster", "sequential"))
        return
    config = CompareConfig(
        data="synthetic",
        shape=tuple(args.shape),
        data_seed=0,
        methods=chosen.get("methods", ("baseline", "flip", "rotate", "transfer")),
        seeds=chosen.get("seeds", 2),
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
    run(config, args, ("sequential", "cluster"))


def run(config: CompareConfig, args: argparse.Namespace, order: tuple[str, str]) -> None:
    root = args.out or tempfile.mkdtemp(prefix="bench_compare_")
    os.makedirs(root, exist_ok=True)
    print(
        f"preset {config.preset}: " if config.preset else "",
        f"volume {config.shape}, methods {','.join(config.methods)}, {config.seeds} seeds, "
        f"training {config.train}, transfer {config.transfer or 'transfer-train defaults'}, "
        f"CPU, {os.cpu_count()} cores",
        sep="",
        flush=True,
    )
    kwargs = {
        "sequential": {"sequential": True},
        "cluster": {"n_workers": args.workers, "processes": True},
    }
    times = {}
    for label in order:
        kw = kwargs[label]
        out = os.path.join(root, label)
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        result = run_comparison(config, out, **kw)
        times[label] = time.perf_counter() - t0
        status = "ok" if result.ok else f"FAILED {result.failed}"
        print(f"{label:>10}: {times[label]:7.1f} s  ({len(result.ran)} jobs, {status})", flush=True)
    print(
        f"ratio cluster/sequential ({args.workers} workers): "
        f"{times['cluster'] / times['sequential']:.2f}"
    )
    same = all(
        open(os.path.join(root, "cluster", t)).read()
        == open(os.path.join(root, "sequential", t)).read()
        for t in TABLES
    )
    print(f"the two passes wrote the same tables ({', '.join(TABLES)}): {same}")
    print(f"reports: {root}/cluster/report.md, {root}/sequential/report.md")


if __name__ == "__main__":
    main()
