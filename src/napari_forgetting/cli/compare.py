"""``napari-forgetting compare``: the method comparison (Table 1 / Fig. 5) on dask.

    napari-forgetting compare --data PATH|synthetic --methods baseline,flip,rotate,transfer
        --seeds 5 --epochs 60 --out report/ [--scheduler ADDRESS] [--workers N]
        [--transfer-checkpoint CKPT | --transfer-method stratal] [--force] [--min-pixels N]
        [--class scruff] [--sources 6 --per-source 64]

The transfer arm's method is measured on the held-out sections before its pools are made and
refused below the quality bar unless ``--force`` (a given checkpoint or the stratal method
before any training: one line, exit status 2).

The work is :mod:`napari_forgetting.workflow.compare`; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from napari_forgetting.cli.args import (
    UsageError,
    add_data_arguments,
    add_force_argument,
    add_min_pixels_argument,
    add_training_arguments,
    nonnegative_int,
    positive_int,
    usage_errors,
)

__all__ = ["register"]


def _methods(text: str) -> tuple[str, ...]:
    """An option type: comma-separated methods, each known, none twice."""
    from napari_forgetting.workflow.compare import METHODS

    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {', '.join(bad) or repr(text)}; choose from {', '.join(METHODS)}"
        )
    if len(set(methods)) != len(methods):
        raise argparse.ArgumentTypeError(f"a method is named twice: {text}")
    return methods


def register(subparsers: Any) -> None:
    """Add the ``compare`` subcommand to an ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "compare",
        help="compare baseline / flip / rotate / transfer over seeds (Table 1, Fig. 5)",
        description="Train every (method, seed) from scratch as a dask.distributed task and "
        "write per-class accuracy (mean ± std over seeds), forgetting events per class and "
        "the heat maps of the same validation sections under each method (report.md, CSV, "
        "PNG). Finished jobs are skipped when run again; failed jobs are retried, then "
        "reported.",
    )
    add_data_arguments(p)
    p.add_argument("--out", required=True, help="report folder (jobs in OUT/jobs/)")
    p.add_argument(
        "--methods",
        type=_methods,
        default="baseline,flip,rotate,transfer",
        help="comma-separated methods",
    )
    p.add_argument("--seeds", type=positive_int, default=5, help="seeds 0..N-1 per method")
    p.add_argument("--scheduler", help="address of an existing dask scheduler")
    p.add_argument(
        "--workers", type=positive_int, default=2, help="LocalCluster workers (1 thread each)"
    )
    p.add_argument(
        "--threads-cluster",
        action="store_true",
        help="LocalCluster of threads instead of worker processes",
    )
    p.add_argument(
        "--retries", type=nonnegative_int, default=1, help="extra attempts of a failed job"
    )
    p.add_argument("--transfer-checkpoint", help="a trained transfer model (else one is trained)")
    p.add_argument(
        "--transfer-method",
        help="learned (the checkpoint, or a model trained here with transfer-train's "
        "defaults) or stratal (training-free; the default without --transfer-checkpoint)",
    )
    add_force_argument(p)
    add_min_pixels_argument(p)
    p.add_argument(
        "--transfer-epochs", type=positive_int, help="epochs of the transfer model trained here"
    )
    p.add_argument("--class", dest="cls", default="scruff", help="class of the augmented pool")
    p.add_argument("--sources", type=positive_int, default=6, help="hotspot style sources")
    p.add_argument("--per-source", type=positive_int, default=64, help="transfers per source")
    add_training_arguments(p, threads=1)
    p.add_argument(
        "--sequential",
        action="store_true",
        help="run the jobs one after another in this process (no dask)",
    )
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from napari_forgetting.workflow.compare import CompareConfig, run_comparison

    with usage_errors():
        train = {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "patch_size": list(args.patch),
            "patches_per_epoch": args.patches_per_epoch,
            "lr": args.lr,
            "device": args.device,
            "every": args.every,
            "num_threads": args.threads,
            "exclude_validation_traces": args.exclude_validation_traces,
        }
        transfer = {} if args.transfer_epochs is None else {"epochs": args.transfer_epochs}
        config = CompareConfig(
            data=args.data,
            labels=args.labels,
            shape=tuple(args.shape),
            data_seed=args.data_seed,
            iline=args.iline,
            xline=args.xline,
            methods=tuple(args.methods),
            seeds=args.seeds,
            train=train,
            transfer_checkpoint=args.transfer_checkpoint,
            transfer=transfer,
            cls=args.cls,
            n_sources=args.sources,
            per_source=args.per_source,
            transfer_method=args.transfer_method,
            force=args.force,
            min_pixels=args.min_pixels,
            retries=args.retries,
        )
    from napari_forgetting.workflow.augment import TransferBelowBar

    try:
        result = run_comparison(
            config,
            args.out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            processes=not args.threads_cluster,
            sequential=args.sequential,
            log=lambda msg: print(msg, file=sys.stderr),
        )
    except TransferBelowBar as exc:  # measured before any job ran
        raise UsageError(str(exc)) from exc
    print(
        f"ran {len(result.ran)}, skipped {len(result.skipped)} finished, "
        f"failed {len(result.failed)} ({result.seconds:.1f} s)"
    )
    for kind, path in result.files.items():
        print(f"{kind}: {path}")
    return 0 if result.ok else 1
