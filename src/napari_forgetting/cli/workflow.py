"""``augment``, ``retrain`` and ``export`` subcommands (the paper's workflow, headless)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("npy", "segy", "zarr")


def _cmd_augment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from napari_forgetting.data.source import open_source
    from napari_forgetting.runs.store import RunStore
    from napari_forgetting.workflow.augment import generate_pool, save_pool

    run = RunStore.open(args.run)
    volume = open_source(run.info.get("source") or {})
    bar = tqdm(
        total=args.sources * args.per_source, desc="transfers", unit="section",
        file=sys.stderr, disable=args.quiet,
    )  # fmt: skip
    last = [0]

    def progress(done: int, total: int) -> None:
        bar.update(done - last[0])
        last[0] = done

    try:
        pool = generate_pool(
            run, args.transfer, args.cls, args.sources, args.per_source, args.seed,
            volume=volume, progress=progress,
        )  # fmt: skip
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


def _cmd_retrain(args: argparse.Namespace) -> int:
    from napari_forgetting.cli import make_progress
    from napari_forgetting.runs.store import RunStore
    from napari_forgetting.workflow.augment import retrain

    out = Path(args.out)
    if not args.resume and not args.overwrite and out.exists() and any(out.iterdir()):
        print(
            f"napari-forgetting: error: {out} is not empty; use --resume or --overwrite",
            file=sys.stderr,
        )
        return 2
    parent = RunStore.open(args.run)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None}
    if args.device:
        overrides["device"] = args.device
    if args.threads:
        overrides["num_threads"] = args.threads
    epochs = overrides.get("epochs", parent.train_config.get("epochs", 60))
    progress = make_progress(int(epochs), quiet=args.quiet)
    trainer = retrain(
        parent, args.pool, out, overrides=overrides, callbacks=[progress],
        resume=args.resume, overwrite=args.overwrite,
    )  # fmt: skip
    total = sum(int(h.events.sum()) for h in trainer.heatmaps()) if trainer.tracker else 0
    print(f"retrained with {len(trainer.extra_pool)} pool sections; forgetting events {total}")
    print(f"run store: {out} (parent {parent.path})")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import numpy as np

    from napari_forgetting.data import open_volume
    from napari_forgetting.data.source import open_source
    from napari_forgetting.runs.store import RunStore, is_run_dir
    from napari_forgetting.workflow.export import export_volume

    src = Path(args.source)
    if is_run_dir(src):
        run = RunStore.open(src)
        vol = open_source(run.info.get("source") or {})
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
        vol = open_volume(src, labels=args.labels)
        data, labels = vol.data, vol.labels
        manifest = {"kind": "volume", "from": str(src.resolve())}
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


def register(sub: argparse._SubParsersAction) -> None:
    aug = sub.add_parser(
        "augment",
        help="style-transfer a class from a run's hotspot sections into an augmented pool",
    )
    aug.add_argument("run", help="a finished training run (run store folder)")
    aug.add_argument("--class", dest="cls", default="scruff", help="class name or id")
    aug.add_argument("--sources", type=int, default=6, help="top N style-source sections")
    aug.add_argument("--per-source", type=int, default=64, help="transfers per source")
    aug.add_argument("--transfer", required=True, help="transfer checkpoint (transfer-train)")
    aug.add_argument("--out", required=True, help="output folder of the augmented dataset")
    aug.add_argument("--seed", type=int, default=0)
    aug.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    aug.add_argument("--overwrite", action="store_true")
    aug.add_argument("--quiet", action="store_true")
    aug.set_defaults(func=_cmd_augment)

    ret = sub.add_parser("retrain", help="retrain from scratch on a run's data plus a pool")
    ret.add_argument("run", help="the parent run")
    ret.add_argument("--pool", required=True, help="augmented pool folder (augment --out)")
    ret.add_argument("--out", required=True, help="new run folder")
    ret.add_argument("--epochs", type=int, help="default: the parent's")
    ret.add_argument("--seed", type=int, help="default: the parent's")
    ret.add_argument("--device")
    ret.add_argument("--threads", type=int)
    ret.add_argument("--resume", action="store_true")
    ret.add_argument("--overwrite", action="store_true")
    ret.add_argument("--quiet", action="store_true")
    ret.set_defaults(func=_cmd_retrain)

    exp = sub.add_parser(
        "export", help="export a volume or a run result as F3 .npy, SEG-Y and zarr + manifest"
    )
    exp.add_argument("source", help="a volume file or a run store folder")
    exp.add_argument("--out", required=True)
    exp.add_argument("--name", required=True, help="file stem of the exported set")
    exp.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    exp.add_argument("--labels", help="volume: labels file (default: found beside it)")
    exp.add_argument(
        "--what",
        default="heatmap",
        choices=["heatmap", "prediction", "first_learned", "never_learned", "switches",
                 "confidence", "variability", "margin"],
        help="run: which result volume (untracked voxels: -1 for heatmap, else 0)",
    )  # fmt: skip
    exp.add_argument("--epoch", type=int, help="run: 1-based epoch (default: the last)")
    exp.add_argument("--with-labels", action="store_true", help="run: add the run's labels")
    exp.add_argument("--overwrite", action="store_true")
    exp.set_defaults(func=_cmd_export)
