"""``train`` and ``transfer-train``: the two trainers from the command line, with the one
progress bar (:class:`~napari_forgetting.training.callbacks.ProgressBar`); and
``transfer-quality`` and ``transfer-figure``, the measured quality of a transfer method on
held-out sections and the paper's Fig. 3."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from napari_forgetting.cli.args import (
    add_config_arguments,
    add_data_arguments,
    add_min_pixels_argument,
    add_quiet_argument,
    add_transfer_method_argument,
    config_values,
    load_data_args,
    nonnegative_int,
    positive_int,
    refuse_nonempty,
    usage_errors,
)

__all__ = ["fit_or_interrupt", "register"]


def register(sub: Any) -> None:
    from napari_forgetting.training.config import TrainConfig
    from napari_forgetting.transfer.config import TransferConfig

    tr = sub.add_parser(
        "train",
        help="train DeepLabV3-ResNet18 with per-pixel forgetting tracking",
        description="Train the paper's model on a labelled volume (validation: every fifth "
        "inline and crossline) and write a run store with per-epoch predictions, forgetting "
        "heat maps and metrics.",
    )
    add_data_arguments(tr)
    tr.add_argument("--out", required=True, help="run directory, e.g. runs/NAME")
    tr.add_argument("--resume", action="store_true", help="continue the run in --out")
    tr.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    tr.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="a labelled held-out test volume (repeatable); the F3 layout's test1/test2 "
        "beside train/train_seismic.npy, and --data synthetic's, are found without it",
    )
    add_config_arguments(tr, TrainConfig)  # every TrainConfig field the command line offers
    add_quiet_argument(tr)
    tr.set_defaults(func=_cmd_train)

    tt = sub.add_parser(
        "transfer-train",
        help="train the class-specific (SEAN-style) style transfer model",
        description="Train the style transfer model in the reconstruction setting on the "
        "training sections of a labelled volume (every 5th inline/crossline is held out). "
        "Writes OUT/checkpoint.pt after every epoch and OUT/history.json at the end; "
        "--resume continues from the checkpoint with the configuration stored in it (only "
        "--epochs, --device and --threads may change).",
    )
    add_data_arguments(tt)
    tt.add_argument("--out", required=True, help="output folder (checkpoint.pt, history.json)")
    tt.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    tt.add_argument("--overwrite", action="store_true", help="replace a model already in --out")
    # --epochs has no value unless given: --resume keeps the checkpoint's epochs otherwise
    given_only = {"epochs": None, "n_classes": "the data's"}
    add_config_arguments(tt, TransferConfig, given_only=given_only)
    add_quiet_argument(tt)
    tt.set_defaults(func=_cmd_transfer_train)

    tq = sub.add_parser(
        "transfer-quality",
        help="measure a style transfer on held-out sections against the quality bar",
        description="Measure a transfer method on held-out (validation) triples (target, "
        "source A, source B) of sections holding the class: how much the transfers from A "
        "and from B differ inside the class region and outside it, how far the region's RMS "
        "amplitude, vertical frequency and lateral continuity move from the target's to the "
        "source's, how much of two sources' difference arrives, and the seam. Prints the "
        "figures against the bar that augment and compare require.",
    )
    tq.add_argument(
        "checkpoint", nargs="?", help="transfer checkpoint (transfer-train); not for stratal"
    )
    add_data_arguments(tq)
    add_transfer_method_argument(
        tq,
        "learned (the checkpoint) or stratal (default: learned with a checkpoint, else stratal)",
    )
    tq.add_argument("--class", dest="cls", default="scruff", help="class name or id")
    tq.add_argument(
        "--triples",
        type=positive_int,
        default=48,
        help="held-out triples, at most (48; fewer when fewer distinct ones exist)",
    )
    tq.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the triples")
    tq.add_argument(
        "--baseline",
        help="a segmentation run (folder or checkpoint.pt) of the same data, trained without "
        "the held-out sections: its frozen model measures label fidelity (how much of the "
        "transferred class region it still labels as the class, against the real regions)",
    )
    tq.add_argument(
        "--every", type=positive_int, default=5, help="held-out sections: every N-th (5)"
    )
    add_min_pixels_argument(tq)
    tq.add_argument("--json", help="also write the figures (and every triple's) to this file")
    tq.add_argument(
        "--strict", action="store_true", help="exit status 1 when the method is below the bar"
    )
    tq.set_defaults(func=_cmd_transfer_quality)

    tf = sub.add_parser(
        "transfer-figure",
        help="the paper's Fig. 3 as a PNG: target, transfer, labels, two sources, difference",
        description="Draw the paper's Fig. 3 on a held-out triple: the target, the target "
        "with the class's style transferred from source A, the target's labels, sources A "
        "and B with their class region outlined, and the difference of the transfers from A "
        "and B, with the class region's measured character in each title. One row for the "
        "stratal transfer and, with a checkpoint, one for the learned model.",
    )
    tf.add_argument("checkpoint", nargs="?", help="transfer checkpoint (adds the learned row)")
    add_data_arguments(tf)
    tf.add_argument("--out", required=True, help="PNG file to write")
    tf.add_argument("--class", dest="cls", default="scruff", help="class name or id")
    tf.add_argument(
        "--triple", nargs=3, metavar=("TARGET", "A", "B"),
        help="sections as inline:N / crossline:N (default: chosen among the held-out ones)",
    )  # fmt: skip
    tf.add_argument(
        "--every", type=positive_int, default=5, help="held-out sections: every N-th (5)"
    )
    add_min_pixels_argument(tf)
    tf.set_defaults(func=_cmd_transfer_figure)


def fit_or_interrupt(trainer: Any, **fit: Any) -> bool:
    """``trainer.fit(**fit)``; on Ctrl-C say what the run keeps and return False."""
    try:
        trainer.fit(**fit)
    except KeyboardInterrupt:
        held = trainer.checkpointed_epoch
        if trainer.out_dir is None:
            kept = "nothing was kept (no --out)"
        elif held:
            kept = f"the checkpoint in {trainer.out_dir} holds {held}: continue with --resume"
        else:
            kept = f"no checkpoint was written in {trainer.out_dir}: nothing to resume"
        print(f"\ninterrupted after {trainer.epoch} complete epochs; {kept}", file=sys.stderr)
        return False
    return True


def _parse_tests(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).stem, item
        out[name] = path
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from napari_forgetting.data.source import load_tests
    from napari_forgetting.runs.store import is_run_dir
    from napari_forgetting.training.callbacks import ProgressBar
    from napari_forgetting.training.segmentation import TrainConfig, Trainer

    out = refuse_nonempty(args.out, args.resume, args.overwrite)
    if args.resume and not is_run_dir(out):
        print(f"note: no run in {out} yet; starting a fresh run", file=sys.stderr)
    volume, source = load_data_args(args)
    tests = load_tests(source, volume, extra=_parse_tests(args.test))
    with usage_errors():
        n_classes = int(getattr(volume, "n_classes", None) or len(volume.class_names))
        cfg = TrainConfig(**config_values(args, TrainConfig), n_classes=n_classes)
        trainer = Trainer(
            volume, cfg, callbacks=[ProgressBar(args.quiet)], out_dir=out, test_volumes=tests,
            source=source,
        )  # fmt: skip
    held_out = ", ".join(f"{n} {t.shape}" for n, t in trainer.tests.items()) or "none"
    if trainer.untrained_taps:
        print(
            f"note: with {cfg.patch_size} patches some dilated taps never see a feature and "
            f"stay untrained: {'; '.join(trainer.untrained_taps)}; larger patches avoid it",
            file=sys.stderr,
        )
    print(
        f"training on {trainer.device}: volume {trainer.shape}, {len(trainer.train_sections)} "
        f"training / {len(trainer.tracked_sections)} tracked sections, mode {cfg.mode}, "
        f"{trainer.patches_per_epoch} patches {cfg.patch_size[0]}x{cfg.patch_size[1]} per epoch"
        f"; test volumes: {held_out}",
        file=sys.stderr,
    )
    if not fit_or_interrupt(trainer, resume=args.resume, overwrite=args.overwrite):
        return 130
    if trainer.tracker is not None:
        total = never = 0
        for section in range(trainer.tracker.n_sections):  # one section's maps at a time
            heat = trainer.tracker.heatmap(section)
            total += int(heat.events.sum())
            never += int(heat.never_learned.sum())
            trainer.tracker.release()
        print(
            f"forgetting events: {total} over {trainer.tracker.n_pixels} tracked pixels "
            f"(mean {total / max(1, trainer.tracker.n_pixels):.3f}); never learned: {never} "
            f"({never / max(1, trainer.tracker.n_pixels):.2%})"
        )
    store = trainer.store
    print(f"run store: {out} ({store.status if store else 'not written'})")
    return 0


def _transfer_config(args: argparse.Namespace, n_classes: int) -> Any:
    from napari_forgetting.model.checkpoint import checkpoint_path, load_checkpoint
    from napari_forgetting.transfer.config import TransferConfig

    given = config_values(args, TransferConfig)
    path = checkpoint_path(args.out)
    if args.resume and path.is_file():
        stored = TransferConfig.from_dict(load_checkpoint(path)["config"])
        for name in ("epochs", "device", "num_threads"):
            if given.get(name) is not None:
                setattr(stored, name, given[name])
        return stored
    return TransferConfig(**{"n_classes": n_classes, **given})


def _cmd_transfer_train(args: argparse.Namespace) -> int:
    from napari_forgetting.data.writers import write_json
    from napari_forgetting.training.callbacks import ProgressBar
    from napari_forgetting.transfer.trainer import TransferTrainer

    refuse_nonempty(args.out, args.resume, args.overwrite, kind="transfer")
    data, _ = load_data_args(args)
    with usage_errors():
        config = _transfer_config(args, len(data.class_names))
        trainer = TransferTrainer(
            data, config, callbacks=[ProgressBar(args.quiet)], out_dir=args.out
        )
    ph, pw = trainer.config.patch_size
    print(
        f"training the transfer model on {trainer.device}: volume {trainer.shape}, "
        f"{len(trainer.train_sections)} training sections, {trainer.patches_per_epoch} "
        f"patches {ph}x{pw} per epoch",
        flush=True,
    )
    if not fit_or_interrupt(trainer, resume=args.resume, overwrite=args.overwrite):
        return 130
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "history.json", {"config": config.to_dict(), "history": trainer.history},
               indent=2)  # fmt: skip
    print(f"checkpoint: {trainer.checkpoint_file} ({trainer.epoch} epochs)")
    return 0


def _cmd_transfer_quality(args: argparse.Namespace) -> int:
    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.data.writers import write_json
    from napari_forgetting.transfer import describe_quality, resolve_method, transfer_quality

    data, _ = load_data_args(args)
    with usage_errors(KeyError):
        method = resolve_method(args.transfer_method, args.checkpoint)
        class_id = resolve_class(list(data.class_names), args.cls)
        segmenter = None
        if args.baseline:
            from napari_forgetting.training.segmenter import load_segmenter

            segmenter = load_segmenter(args.baseline)
        q = transfer_quality(
            method, data, class_id, n_triples=args.triples, seed=args.seed, every=args.every,
            min_pixels=args.min_pixels, segmenter=segmenter,
        )  # fmt: skip
    print(describe_quality(q))
    if args.json:
        write_json(Path(args.json), {"checkpoint": args.checkpoint, **q}, indent=2)
        print(f"figures: {args.json}")
    return 1 if args.strict and not q["passes"] else 0


def _cmd_transfer_figure(args: argparse.Namespace) -> int:
    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.transfer import StratalTransfer
    from napari_forgetting.workflow.transfer_figure import write_transfer_figure

    data, _ = load_data_args(args)
    methods: list[tuple[str, Any]] = [("stratal", StratalTransfer())]
    if args.checkpoint:
        from napari_forgetting.transfer import load_transfer_model

        methods.append(("learned", load_transfer_model(args.checkpoint)))
    with usage_errors(KeyError):
        class_id = resolve_class(list(data.class_names), args.cls)
        figures = write_transfer_figure(
            methods, data, class_id, args.out, triple=args.triple, every=args.every,
            min_pixels=args.min_pixels,
        )  # fmt: skip
    target, a, b = figures["triple"]
    print(f"target {target}, source A {a}, source B {b}")
    for label, row in figures["rows"].items():
        got = row["character"]["result_a"]
        print(
            f"  {label}: |T(A) - T(B)| {row['inside']:.3f} std inside, {row['outside']:.4f} "
            f"outside; T(A) RMS {got['rms']:.2f} (target "
            f"{row['character']['target']['rms']:.2f}, A {row['character']['source_a']['rms']:.2f})"
        )
    print(f"figure: {args.out}")
    return 0
