"""The ``napari-forgetting`` command line.

Subcommands:
  demo       open napari with the F3-like sample volume and train on it live
  info       print a volume's geometry and class balance (headless)
  synthetic  write an F3-like synthetic volume (SEG-Y and/or .npy)
  train      train DeepLabV3-ResNet18 with forgetting tracking into a run store
  rank       rank a run's sections by a class's forgetting density (hotspots)
  transfer-train  train the class-specific style transfer model
  augment    style-transfer a class from a run's hotspots into an augmented pool
  retrain    retrain from scratch on a run's data plus an augmented pool
  export     export a volume or run result as F3 .npy, SEG-Y and zarr + manifest
  compare    compare baseline / flip / rotate / transfer over seeds on dask
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from napari_forgetting.data import VolumeError, open_volume

_LAUNCH = time.monotonic()  # the demo reports its time to the first heat map from here


def _cmd_info(args: argparse.Namespace) -> int:
    vol = open_volume(args.path, labels=args.labels, iline=args.iline, xline=args.xline)
    src = {k: v for k, v in vol.source.items() if not k.startswith("_")}
    print(f"file:       {src.pop('path')}")
    print(f"format:     {', '.join(f'{k}={v}' for k, v in src.items())}")
    print(f"shape:      {vol.shape} (inline, crossline, sample)")
    print(f"inlines:    {vol.inlines[0]}..{vol.inlines[-1]} ({len(vol.inlines)})")
    print(f"crosslines: {vol.crosslines[0]}..{vol.crosslines[-1]} ({len(vol.crosslines)})")
    print(f"samples:    {vol.samples[0]:g}..{vol.samples[-1]:g} step {vol.sample_interval:g}")
    print(f"chunks:     {vol.data.chunksize}")
    if vol.labels is not None:
        import numpy as np

        counts = np.bincount(np.asarray(vol.labels).ravel(), minlength=vol.n_classes)
        total = counts.sum()
        print("classes:")
        for k, (name, n) in enumerate(zip(vol.class_names, counts, strict=True)):
            print(f"  {k} {name:<16} {n / total:7.2%}")
    return 0


def _cmd_synthetic(args: argparse.Namespace) -> int:
    from napari_forgetting.data.synthetic import make_f3_like, write_survey

    survey = make_f3_like(tuple(args.shape), seed=args.seed)
    paths = write_survey(survey, args.out, name=args.name, formats=tuple(args.formats))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


def _parse_tests(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).stem, item
        out[name] = path
    return out


def _fmt_metrics(logs: dict, class_names: Sequence[str]) -> str:
    parts = [f"loss {logs['loss']:.4f}"]
    for key, short in (
        ("pixel_accuracy", "PA"),
        ("mean_class_accuracy", "MCA"),
        ("mean_iou", "mIoU"),
        ("fw_iou", "FWIoU"),
    ):
        if key in logs:
            parts.append(f"{short} {logs[key]:.3f}")
    acc = logs.get("class_accuracy")
    if acc is not None:
        parts.append(
            "acc[" + " ".join(f"{n}:{a:.2f}" for n, a in zip(class_names, acc, strict=False)) + "]"
        )
    return "  ".join(parts)


def make_progress(epochs: int, quiet: bool = False):
    """A training :class:`Callback` that shows a tqdm bar per epoch and prints its metrics."""
    from tqdm import tqdm

    from napari_forgetting.training.segmentation import Callback

    class Progress(Callback):
        def __init__(self) -> None:
            self.bar = None

        def on_epoch_start(self, trainer, epoch):
            self.bar = tqdm(
                total=math.ceil(trainer.patches_per_epoch / trainer.config.batch_size),
                desc=f"epoch {epoch + 1}/{epochs}",
                unit="batch",
                leave=False,
                file=sys.stderr,
                disable=quiet,
            )

        def on_batch_end(self, trainer, epoch, batch, loss):
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self.bar.update(1)

        def on_epoch_end(self, trainer, epoch, logs):
            self.bar.close()
            tqdm.write(
                f"epoch {epoch + 1:3d}/{epochs}  {_fmt_metrics(logs, trainer.class_names)}"
                f"  ({logs['seconds']:.1f} s)"
            )

        def on_test(self, trainer, name, metrics):
            tqdm.write(f"test {name}: {_fmt_metrics({'loss': float('nan'), **metrics}, ())}")

        def on_exception(self, trainer, exc):
            if self.bar is not None:
                self.bar.close()

    return Progress()


def _cmd_train(args: argparse.Namespace) -> int:

    from napari_forgetting.runs.store import is_run_dir
    from napari_forgetting.training.segmentation import TrainConfig, Trainer

    out = Path(args.out)
    if not args.resume and not args.overwrite and out.exists() and any(out.iterdir()):
        print(
            f"napari-forgetting: error: {out} is not empty; use --resume to continue that run "
            "or --overwrite to start over",
            file=sys.stderr,
        )
        return 2
    if args.resume and not is_run_dir(out):
        print(f"note: no run in {out} yet; starting a fresh run", file=sys.stderr)
    from napari_forgetting.data.source import load_data

    volume, source = load_data(
        args.data, args.labels, args.shape, args.data_seed, args.iline, args.xline
    )
    tests = {
        name: load_data(path, iline=args.iline, xline=args.xline)[0]
        for name, path in _parse_tests(args.test).items()
    }
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        patch_size=tuple(args.patch),
        patches_per_epoch=args.patches_per_epoch,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        mode=args.mode,
        every=args.every,
        output_stride=args.output_stride,
        num_threads=args.threads,
        n_classes=int(getattr(volume, "n_classes", None) or len(volume.class_names)),
        track_stats=not args.no_stats,
        never_learned=args.never_learned,
    )

    trainer = Trainer(
        volume,
        cfg,
        callbacks=[make_progress(cfg.epochs, args.quiet)],
        out_dir=out,
        test_volumes=tests,
        source=source,
    )
    print(
        f"training on {trainer.device}: volume {trainer.shape}, {len(trainer.train_sections)} "
        f"training / {len(trainer.tracked_sections)} tracked sections, mode {cfg.mode}, "
        f"{trainer.patches_per_epoch} patches {cfg.patch_size[0]}x{cfg.patch_size[1]} per epoch",
        file=sys.stderr,
    )
    try:
        trainer.fit(resume=args.resume, overwrite=args.overwrite)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted after {trainer.epoch} complete epochs; the run store and checkpoint "
            f"in {out} hold them: continue with --resume",
            file=sys.stderr,
        )
        return 130
    store = trainer.store
    if trainer.tracker is not None:
        total = sum(int(h.events.sum()) for h in trainer.heatmaps())
        never = sum(int(h.never_learned.sum()) for h in trainer.heatmaps())
        print(
            f"forgetting events: {total} over {trainer.tracker.n_pixels} tracked pixels "
            f"(mean {total / max(1, trainer.tracker.n_pixels):.3f}); never learned: {never} "
            f"({never / max(1, trainer.tracker.n_pixels):.2%})"
        )
    print(f"run store: {out} ({store.status if store else 'not written'})")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from napari_forgetting._napari.widgets.demo import run_demo

    return run_demo(
        args.data, epochs=args.epochs, screenshot=args.screenshot, quit=args.quit, t0=_LAUNCH
    )


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors reported as one line (no traceback): bad runs, diverged training, bad paths."""
    errors: list[type[BaseException]] = [FileExistsError, FileNotFoundError]
    if "napari_forgetting.training.segmentation" in sys.modules:
        from napari_forgetting.runs.store import RunStoreError
        from napari_forgetting.training.segmentation import TrainingError

        errors += [RunStoreError, TrainingError]
    return tuple(errors)


def build_parser() -> argparse.ArgumentParser:
    from napari_forgetting.data.source import (
        add_data_arguments,
        add_header_byte_arguments,
        add_shape_argument,
    )

    parser = argparse.ArgumentParser(
        prog="napari-forgetting",
        description="Explain a seismic segmentation model by its forgettable learning dynamics.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="open napari with the sample volume and train on it live")
    demo.add_argument("--data", help="a volume to open instead of the sample")
    demo.add_argument(
        "--epochs", type=int, default=30, help="live training epochs (0: no training)"
    )
    demo.add_argument(
        "--screenshot", help="save a screenshot of the viewer to this PNG after the last epoch"
    )
    demo.add_argument(
        "--quit", action="store_true", help="close the viewer after the last epoch (scripts)"
    )
    demo.set_defaults(func=_cmd_demo)

    info = sub.add_parser("info", help="print a volume's geometry and class balance")
    info.add_argument("path")
    info.add_argument("--labels", help="labels file (default: found beside the seismic)")
    add_header_byte_arguments(info)
    info.set_defaults(func=_cmd_info)

    syn = sub.add_parser("synthetic", help="write an F3-like synthetic volume")
    syn.add_argument("--out", required=True, help="output folder")
    add_shape_argument(syn)
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--name", default="f3_synthetic")
    syn.add_argument("--formats", nargs="+", default=["segy", "npy"], choices=["segy", "npy"])
    syn.set_defaults(func=_cmd_synthetic)

    tr = sub.add_parser(
        "train",
        help="train DeepLabV3-ResNet18 with per-pixel forgetting tracking",
        description="Train the paper's model on a labelled volume (validation: every fifth "
        "inline and crossline) and write a run store with per-epoch predictions, forgetting "
        "heat maps and metrics.",
    )
    add_data_arguments(tr)
    tr.add_argument("--out", required=True, help="run directory, e.g. runs/NAME")
    tr.add_argument("--epochs", type=int, default=60)
    tr.add_argument("--mode", choices=["sweep", "online", "off"], default="sweep")
    tr.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: best available)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--resume", action="store_true", help="continue the run in --out")
    tr.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--patch", type=int, nargs=2, default=(128, 128), metavar=("ROWS", "COLS"))
    tr.add_argument("--patches-per-epoch", type=int, help="default: cover the training pixels once")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--every", type=int, default=5, help="validation: every N-th inline/crossline")
    tr.add_argument("--output-stride", type=int, choices=[8, 16], default=16)
    tr.add_argument("--threads", type=int, help="torch CPU threads")
    tr.add_argument(
        "--never-learned",
        choices=["zero", "epochs", "sentinel"],
        default="zero",
        help="score of never-learned pixels (the mask is always stored)",
    )
    tr.add_argument("--no-stats", action="store_true", help="skip confidence/variability/margin")
    tr.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="a separate labelled test volume, evaluated after training (repeatable)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=_cmd_train)

    from napari_forgetting.cli.transfer import register as register_transfer

    register_transfer(sub)
    from napari_forgetting.cli.runs import register as register_rank

    register_rank(sub)
    from napari_forgetting.cli.workflow import register as register_workflow

    register_workflow(sub)
    from napari_forgetting.cli.compare import register as register_compare

    register_compare(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VolumeError as exc:
        print(f"napari-forgetting: error: {exc}", file=sys.stderr)
        return 2
    except _user_errors() as exc:
        print(f"napari-forgetting: error: {exc}", file=sys.stderr)
        return 1

