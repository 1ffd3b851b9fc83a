"""``napari-forgetting compare``: the method comparison (Table 1 / Fig. 5) on dask.

    napari-forgetting compare --data PATH|synthetic --methods baseline,flip,rotate,transfer
        --seeds 5 --epochs 60 --out report/ [--scheduler ADDRESS] [--workers N]
    napari-forgetting compare --preset tiny|cpu-lite|paper --out report/ [options]
        [--transfer-checkpoint CKPT | --transfer-method stratal] [--force] [--min-pixels N]
        [--class scruff] [--sources 6 --per-source 64]

The transfer arm's method is measured on the held-out sections before its pools are made and
refused below the quality bar unless ``--force`` (a given checkpoint or the stratal method
before any training: one line, exit status 2).

    napari-forgetting consensus --preset cpu-lite --seeds 4 --out cons/ [--data-seed 5]
        [--class scruff] [--top 6] [--min-pixels N] [--scheduler ADDRESS] [--workers N]

``consensus`` trains N seeds of one baseline configuration as the same jobs (finished seeds
skipped, interrupted ones resumed), then writes their stability figures and a consensus run
(``OUT/consensus``: mean counts, agreement, P(top k)) that ranks, replays and feeds
``augment`` like any run.

The work is :mod:`napari_forgetting.workflow.compare` and
:mod:`napari_forgetting.workflow.consensus`; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from napari_forgetting.cli.args import (
    MAX_PER_SOURCE,
    UsageError,
    add_data_arguments,
    add_force_argument,
    add_min_pixels_argument,
    add_training_arguments,
    add_transfer_checkpoint_argument,
    add_transfer_method_argument,
    at_most,
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


def _add_job_arguments(parser: argparse.ArgumentParser, sequential: str) -> None:
    """Where the jobs run (``compare`` and ``consensus``): a scheduler, the LocalCluster's
    workers, retries, or one after another (``sequential``: its help)."""
    from napari_forgetting.workflow.compare.scheduling import Execution  # no torch

    parser.add_argument("--scheduler", help="address of an existing dask scheduler")
    parser.add_argument(
        "--workers", type=positive_int, default=Execution.n_workers,
        help="LocalCluster workers (1 thread each)",
    )  # fmt: skip
    parser.add_argument(
        "--retries", type=nonnegative_int, default=1, help="extra attempts of a failed job"
    )
    parser.add_argument("--sequential", action="store_true", help=sequential)


def register(subparsers: Any) -> None:
    """Add the ``compare`` subcommand to an ``add_subparsers()`` object."""
    from napari_forgetting.workflow.compare import PRESETS  # no torch

    PRESET_NAMES = tuple(PRESETS)  # noqa: N806 -- a constant of this parser
    p = subparsers.add_parser(
        "compare",
        help="compare baseline / flip / rotate / transfer over seeds (Table 1, Fig. 5)",
        description="Train every (method, seed) from scratch as a dask.distributed task and "
        "write per-class accuracy (mean ± std over seeds), forgetting events per class and "
        "the heat maps of the same validation sections under each method (report.md, CSV, "
        "PNG). Finished jobs are skipped when run again; failed jobs are retried, then "
        "reported.",
    )
    add_data_arguments(p, required=False)
    p.add_argument("--out", required=True, help="report folder (jobs in OUT/jobs/)")
    p.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        help="a whole comparison (data, seeds, budgets, pool; see the README): tiny (the "
        "plumbing, seconds), cpu-lite (2 CPU cores, under an hour), cpu-decide (the "
        "mechanism's arms and its controls, 4 seeds, a budget designed on the baseline for "
        "a small detectable effect: 2 CPU cores, about 50 minutes), "
        "paper (F3 size, 60 epochs, 5 seeds: a GPU or --scheduler); options given beside "
        "it replace its values",
    )
    from napari_forgetting.workflow.compare import ENDPOINTS, METHODS

    p.add_argument(
        "--methods",
        type=_methods,
        default=",".join(METHODS),
        metavar="METHOD[,METHOD...]",
        help=f"comma-separated methods, each of {{{','.join(METHODS)}}}",
    )
    p.add_argument("--seeds", type=positive_int, default=5, help="seeds 0..N-1 per method")
    p.add_argument(
        "--primary",
        choices=ENDPOINTS,
        default="probability",
        help="the report's primary endpoint, named before any arm runs: probability (the "
        "class's true-class probability on the test volumes after the last epoch) or "
        "tracked (the same on the tracked test sections, mean of the last --last-k epochs)",
    )
    p.add_argument(
        "--last-k", type=positive_int, default=10, help="epochs the tracked endpoint averages"
    )
    _add_job_arguments(p, "run the jobs one after another in this process (no dask)")
    p.add_argument(
        "--threads-cluster",
        action="store_true",
        help="LocalCluster of threads instead of worker processes",
    )
    add_transfer_checkpoint_argument(
        p,
        "a trained transfer model (transfer-train's folder or checkpoint; default: one is "
        "trained here)",
    )
    add_transfer_method_argument(
        p,
        "learned (the default: the checkpoint, or a model trained here with "
        "transfer-train's defaults) or stratal (training-free)",
    )
    add_force_argument(p)
    add_min_pixels_argument(p)
    p.add_argument(
        "--transfer-epochs", type=positive_int, help="epochs of the transfer model trained here"
    )
    p.add_argument("--class", dest="cls", default="scruff", help="class of the augmented pool")
    p.add_argument(
        "--sources-from",
        help="a run (e.g. OUT/consensus of `napari-forgetting consensus` on the same data) "
        "whose hotspots are every transfer job's style sources, instead of its seed's baseline",
    )
    p.add_argument("--sources", type=positive_int, default=6, help="hotspot style sources")
    p.add_argument(
        "--per-source", type=at_most(MAX_PER_SOURCE), default=64, help="transfers per source"
    )
    add_training_arguments(p, threads=1)
    # a preset's values give way to the options given beside it: the options it may set
    # default to None here, and their own defaults apply where neither sets them
    p.set_defaults(
        func=_cmd_compare,
        compare_defaults={dest: p.get_default(dest) for dest in _PRESET_OPTIONS},
        **dict.fromkeys(_PRESET_OPTIONS),
    )
    _show_preset_defaults(p)

    c = subparsers.add_parser(
        "consensus",
        help="train N seeds of one configuration and write their consensus and stability",
        description="Train N seeds of one baseline configuration as dask.distributed jobs "
        "(finished seeds skipped, interrupted ones resumed), measure how much the class's "
        "hotspot ranking and heat maps move with the seed (stability.txt / .json) and write "
        "the consensus run OUT/consensus: the seeds' mean forgetting counts and per-pixel "
        "agreement, ranked with P(top k) per section.",
    )
    add_data_arguments(c, required=False)
    c.add_argument("--out", required=True, help="folder (seeds in OUT/jobs/, OUT/consensus)")
    c.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        help="the data and training budget of a compare preset (options beside it replace "
        "its values)",
    )
    c.add_argument("--seeds", type=positive_int, default=4, help="seeds 0..N-1")
    _add_job_arguments(c, "train the seeds one after another in this process (no dask)")
    c.add_argument("--class", dest="cls", default="scruff", help="class of the ranking")
    c.add_argument("--top", type=positive_int, default=6, help="k of top-k and P(top k)")
    c.add_argument(
        "--snapshots",
        type=positive_int,
        default=3,
        help="spread the preset's gradient steps over N times its epochs (N times the "
        "forgetting snapshots, the same training; measured to steady the pixel maps; 1: the "
        "preset as it is; ignored with --epochs or --patches-per-epoch). Default 3",
    )
    add_min_pixels_argument(c)
    add_training_arguments(c, threads=1)
    given = set(_PRESET_OPTIONS) & {a.dest for a in c._actions}
    c.set_defaults(
        func=_cmd_consensus,
        threads_cluster=False,
        transfer_checkpoint=None,
        transfer_method=None,
        compare_defaults={d: c.get_default(d) if d in given else None for d in _PRESET_OPTIONS},
        **dict.fromkeys(given),
        **{d: None for d in _PRESET_OPTIONS if d not in given},
    )
    _show_preset_defaults(c)


def _show_preset_defaults(parser: argparse.ArgumentParser) -> None:
    """Each option a preset may set says its default in ``--help``: its parser default is
    ``None`` (so that a preset's value gives way only to an option given), the value that
    applies without a preset is in ``compare_defaults``."""
    defaults = parser.get_default("compare_defaults")
    for action in parser._actions:
        value = defaults.get(action.dest)
        if not action.option_strings or value is None or value is False:
            continue
        if action.help == argparse.SUPPRESS:
            continue
        text = (action.help or "").replace("(default: %(default)s)", "").strip()
        if "default" not in text.lower():
            shown = str(value).replace("%", "%%")
            action.help = f"{text} (default: {shown}, or the --preset's)".lstrip()


#: The options a preset may set: (command-line dest, CompareConfig field; "train."/"transfer."
#: for a key of those dicts).
_PRESET_FIELDS = {
    "data": "data",
    "shape": "shape",
    "data_seed": "data_seed",
    "methods": "methods",
    "seeds": "seeds",
    "primary": "primary",
    "last_k": "last_k",
    "cls": "cls",
    "sources": "n_sources",
    "per_source": "per_source",
    "min_pixels": "min_pixels",
    "force": "force",
    "transfer_epochs": "transfer.epochs",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "patch_size": "train.patch_size",
    "patches_per_epoch": "train.patches_per_epoch",
    "lr": "train.lr",
    "device": "train.device",
    "every": "train.every",
    "threads": "train.num_threads",
    "exclude_validation_traces": "train.exclude_validation_traces",
}
_PRESET_OPTIONS = tuple(_PRESET_FIELDS)


def _config_fields(args: argparse.Namespace, given_only: bool) -> dict[str, Any]:
    """CompareConfig keyword arguments from the options: those given on the command line
    (``given_only``), else every option with its default where it was not given."""
    out: dict[str, Any] = {"train": {}, "transfer": {}}
    for dest, name in _PRESET_FIELDS.items():
        value = getattr(args, dest)
        if value is None and not given_only:
            value = args.compare_defaults[dest]
        if value is None or (dest in ("force", "exclude_validation_traces") and not value):
            continue  # not given (a flag left off says nothing)
        if dest == "methods" and isinstance(value, str):
            value = _methods(value)  # the option's default, as argparse would convert it
        if dest in ("shape", "methods"):
            value = tuple(value)
        elif dest == "patch_size":
            value = list(value)
        if "." in name:
            group, key = name.split(".")
            out[group][key] = value
        else:
            out[name] = value
    return out


def _config(args: argparse.Namespace, command: str) -> Any:
    """The CompareConfig the options ask for (a preset's values replaced by those given)."""
    from napari_forgetting.workflow.compare import CompareConfig, preset_config

    with usage_errors():
        rest = {
            "labels": args.labels,
            "iline": args.iline,
            "xline": args.xline,
            "transfer_checkpoint": args.transfer_checkpoint,
            "transfer_method": args.transfer_method,
            "retries": args.retries,
            "sources_from": getattr(args, "sources_from", None),
        }
        if args.preset:  # what is not given leaves the preset's value (e.g. its method)
            rest = {k: v for k, v in rest.items() if v is not None}
            config = preset_config(args.preset, **_config_fields(args, True), **rest)
        else:
            if args.data is None:
                raise UsageError(f"{command} needs --data PATH|synthetic or --preset NAME")
            config = CompareConfig(**_config_fields(args, False), **rest)
    return config


def _cmd_compare(args: argparse.Namespace) -> int:
    from napari_forgetting.workflow.compare import run_comparison

    config = _config(args, "compare")
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


def _cmd_consensus(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from napari_forgetting.workflow.consensus import STABILITY_TEXT, run_consensus, spread_snapshots

    config = _config(args, "consensus")
    if args.epochs is None and args.patches_per_epoch is None and args.snapshots > 1:
        train, factor = spread_snapshots(config.train, args.snapshots)
        if factor > 1:
            config = replace(config, train=train)
            print(
                f"{factor} x the snapshots at the same gradient steps: {train['epochs']} epochs "
                f"x {train['patches_per_epoch']} patches (--snapshots 1: the preset's)",
                file=sys.stderr,
            )
    with usage_errors():  # an unknown class is refused before any training
        result = run_consensus(
            config,
            args.out,
            cls=config.cls,
            k=args.top,
            min_pixels=config.min_pixels,
            scheduler=args.scheduler,
            n_workers=args.workers,
            sequential=args.sequential,
            log=lambda msg: print(msg, file=sys.stderr),
        )
    print(
        f"ran {len(result.ran)}, skipped {len(result.skipped)} finished, "
        f"failed {len(result.failed)} ({result.seconds:.1f} s)"
    )
    for split, r in result.stability.items():
        print(f"{split}: {r}" if isinstance(r, str) else r.headline())
    if result.consensus is not None:
        print(f"consensus: {result.consensus}")
        print(f"stability: {Path(args.out) / STABILITY_TEXT}")
    return 0 if result.ok else 1
