"""``augment``, ``retrain`` and ``export``: the paper's workflow, headless.

The work is :mod:`napari_forgetting.workflow` (the pool, the one retrain path, export); this
module only parses and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from napari_forgetting.cli.args import (
    MAX_PER_SOURCE,
    UsageError,
    add_config_arguments,
    add_min_pixels_argument,
    add_quiet_argument,
    add_run_data_arguments,
    add_transfer_method_arguments,
    at_most,
    config_values,
    nonnegative_int,
    positive_int,
    refuse_nonempty,
    run_data_args,
    usage_errors,
)

__all__ = ["register"]

FORMATS = ("npy", "segy", "zarr")
RESULTS = ("heatmap", "prediction", "first_learned", "never_learned", "switches", "confidence",
           "variability", "margin")  # fmt: skip


def register(sub: Any) -> None:
    from napari_forgetting.training.config import TrainConfig

    aug = sub.add_parser(
        "augment",
        help="style-transfer a class from a run's hotspot sections into an augmented pool",
    )
    aug.add_argument("run", help="a finished training run (run store folder)")
    aug.add_argument("--class", dest="cls", default="scruff", help="class name or id")
    aug.add_argument("--sources", type=positive_int, default=6, help="top N style sources")
    aug.add_argument(
        "--per-source", type=at_most(MAX_PER_SOURCE), default=64, help="transfers per source"
    )
    add_transfer_method_arguments(aug)
    add_min_pixels_argument(aug)
    aug.add_argument("--out", required=True, help="output folder of the augmented dataset")
    aug.add_argument("--seed", type=nonnegative_int, default=0)
    aug.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    aug.add_argument("--overwrite", action="store_true", help="replace a pool already in --out")
    add_quiet_argument(aug)
    add_run_data_arguments(aug)
    aug.set_defaults(func=_cmd_augment)

    ret = sub.add_parser("retrain", help="retrain from scratch on a run's data plus a pool")
    ret.add_argument("run", help="the parent run")
    ret.add_argument("--pool", required=True, help="augmented pool folder (augment --out)")
    ret.add_argument("--out", required=True, help="new run folder")
    overridable = ("epochs", "seed", "device", "num_threads")
    add_config_arguments(
        ret, TrainConfig, overridable, given_only=dict.fromkeys(overridable, "the parent's")
    )
    ret.add_argument("--resume", action="store_true", help="continue the run in --out")
    ret.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    add_quiet_argument(ret)
    add_run_data_arguments(ret)
    ret.set_defaults(func=_cmd_retrain)

    exp = sub.add_parser(
        "export", help="export a volume or a run result as F3 .npy, SEG-Y and zarr + manifest"
    )
    exp.add_argument("source", help="a volume file or a run store folder")
    exp.add_argument("--out", required=True)
    exp.add_argument("--name", required=True, help="file stem of the exported set")
    exp.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    exp.add_argument(
        "--labels", help="labels file of the volume or of --data (default: found beside it)"
    )
    exp.add_argument(
        "--what",
        choices=RESULTS,
        help="run: which result volume (default heatmap; untracked voxels: -1 for heatmap, else 0)",
    )
    exp.add_argument("--epoch", type=positive_int, help="run: 1-based epoch (default: the last)")
    exp.add_argument("--with-labels", action="store_true", help="run: add the run's labels")
    exp.add_argument("--overwrite", action="store_true")
    add_run_data_arguments(exp, labels=False)
    exp.set_defaults(func=_cmd_export)


def _cmd_augment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.data.folders import check_folder, claim
    from napari_forgetting.runs.store import RunStore
    from napari_forgetting.training.steps import drain
    from napari_forgetting.transfer import resolve_method
    from napari_forgetting.workflow.augment import check_transfer, pool_steps, save_pool

    check_folder(args.out, "pool", overwrite=args.overwrite)  # before anything is read
    run = RunStore.open(args.run)
    volume, _ = run_data_args(args, run)
    with claim(args.out, "pool", overwrite=args.overwrite, what="augment"):
        with usage_errors(KeyError):  # the class, the method, the model and its quality
            method = resolve_method(args.transfer_method, args.transfer_checkpoint)
            class_id = resolve_class(run.class_names, args.cls)
            quality = check_transfer(
                method, volume, class_id, force=args.force, min_pixels=args.min_pixels,
                every=int(run.train_config.get("every", 5)), baseline=run.path,
            )  # fmt: skip
        print(_quality_line(quality))
        bar = tqdm(total=args.sources * args.per_source, desc="transfers", unit="section",
                   file=sys.stderr, disable=args.quiet)  # fmt: skip
        try:
            with usage_errors(KeyError):  # the class's sources and targets
                steps = pool_steps(
                    run, method, class_id, args.sources, args.per_source, args.seed, volume,
                    min_pixels=args.min_pixels, quality=quality, force=args.force,
                )  # fmt: skip
                step = next(steps)
            bar.update(step.done - bar.n)
            pool = drain(steps, lambda s: bar.update(s.done - bar.n))
        finally:
            bar.close()
        written = save_pool(
            pool, args.out, formats=args.formats, overwrite=args.overwrite, volume=volume,
            class_names=run.class_names,
        )  # fmt: skip
        print(
            f"augmented pool: {len(pool)} sections of class {pool.class_name!r} from "
            f"{len(pool.sources)} style sources ({', '.join(pool.sources)})"
        )
        for kind, paths in written.items():
            for key, path in paths.items():
                print(f"  {kind} {key}: {path}")
        print(f"pool: {Path(args.out) / 'pool.json'}")
        return 0


def _quality_line(q: dict[str, Any]) -> str:
    """One line of a :func:`~..workflow.augment.check_transfer` record."""
    if not q.get("measured"):
        return f"transfer quality not measured ({q.get('reason')}); going on (--force)"
    if q["passes"]:
        verdict = "meets the bar"
    elif q.get("verdict") == "cannot judge":
        verdict = "CANNOT JUDGE, going on (--force)"
    else:
        verdict = "BELOW the bar, going on (--force)"
    return (
        f"transfer quality ({q['method']}, {q['n_triples']} distinct held-out triples of "
        f"{q['n_sections']} sections): inside {q['inside']:.3f} std, outside "
        f"{q['outside']:.4f} std, rms error {q['rms_error']:.3f} std, lateral texture "
        f"{q['lateral_noise_ratio']:.2f} of a texture-free fill's distance, repeated traces "
        f"{q['repeated']:.2f}{_label_part(q)}: {verdict}"
    )


def _label_part(q: dict[str, Any]) -> str:
    label = q.get("label")
    if label is None:
        return ""
    judged = "" if label["judged"] else ", not judged: the run's model finds too little of it"
    return (
        f", the run's model finds {label['recall_transferred']:.2f} of the transferred class "
        f"regions and {label['recall_real']:.2f} of the real ones{judged}"
    )


def _cmd_retrain(args: argparse.Namespace) -> int:
    from napari_forgetting.cli.train import fit_or_interrupt
    from napari_forgetting.runs.store import RunStore
    from napari_forgetting.training.callbacks import ProgressBar
    from napari_forgetting.training.config import TrainConfig
    from napari_forgetting.workflow.augment import retrain_trainer

    out = refuse_nonempty(args.out, args.resume, args.overwrite)
    parent = RunStore.open(args.run)
    volume, source = run_data_args(args, parent)
    given = config_values(args, TrainConfig)
    overrides = {k: v for k, v in given.items() if v is not None}
    with usage_errors(KeyError):
        trainer = retrain_trainer(
            parent, args.pool, out, volume=volume, source=source, overrides=overrides,
            callbacks=[ProgressBar(args.quiet)],
        )  # fmt: skip
    if not fit_or_interrupt(trainer, resume=args.resume, overwrite=args.overwrite):
        return 130
    total = sum(int(h.events.sum()) for h in trainer.heatmaps()) if trainer.tracker else 0
    print(f"retrained with {len(trainer.extra_pool)} pool sections; forgetting events {total}")
    print(f"run store: {out} (parent {parent.path})")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import numpy as np

    from napari_forgetting.data import open_volume
    from napari_forgetting.runs.store import RunStore, is_run_dir
    from napari_forgetting.workflow.export import export_volume

    src = Path(args.source)
    if is_run_dir(src):
        args.what = args.what or "heatmap"
        run = RunStore.open(src)
        vol, _ = run_data_args(args, run)
        with usage_errors():
            if args.epoch is not None and args.epoch > run.n_epochs:
                raise ValueError(f"--epoch {args.epoch}: {src} has epochs 1..{run.n_epochs}")
        epoch = None if args.epoch is None else args.epoch - 1
        fill = -1 if args.what == "heatmap" else 0
        data = run.volume(args.what, epoch, fill=fill).astype(np.float32)
        labels = np.asarray(getattr(vol, "labels", None)) if args.with_labels else None
        manifest = {
            "kind": "run_result",
            "run": str(src.resolve()),
            "what": args.what,
            "epoch": run.n_epochs if epoch is None else epoch + 1,
            "untracked_value": fill,
        }
    else:
        given = [f for f, v in (("--what", args.what), ("--epoch", args.epoch),
                                ("--with-labels", args.with_labels)) if v]  # fmt: skip
        if given:
            raise UsageError(f"{' / '.join(given)}: for a run folder; {src} is a volume")
        vol = open_volume(src, labels=args.labels)
        data, labels = vol.data, vol.labels
        manifest = {"kind": "volume", "from": str(src.resolve())}
    from napari_forgetting.data.folders import claim

    with usage_errors(), claim(args.out, "volumes", accept=("other",), rerun=True,
                               what="export"):  # fmt: skip
        paths = export_volume(
            args.out,
            args.name,
            data,
            labels,
            inlines=getattr(vol, "inlines", None),
            crosslines=getattr(vol, "crosslines", None),
            sample_interval=float(getattr(vol, "sample_interval", 4.0) or 4.0),
            class_names=getattr(vol, "class_names", None),
            formats=args.formats,
            manifest=manifest,
            overwrite=args.overwrite,
        )
    for key, path in paths.items():
        print(f"{key}: {path}")
    return 0
