"""``napari-forgetting transfer-train``: train the style transfer model from the command line.

    napari-forgetting transfer-train --data PATH|synthetic --out DIR [--epochs N] [--seed S]
        [--device auto|cpu|cuda] [--resume] [--class-count K] [--batch-size B]
        [--patch ROWS COLS] [--patches-per-epoch N] [--ngf C] [--style-dim C] [--lr LR]
        [--threads T] [--shape IL XL S] [--data-seed S] [--labels PATH] [--iline B]
        [--xline B] [--quiet]

``--data synthetic`` trains on ``make_f3_like(--shape, --data-seed)``. Writes
``DIR/checkpoint.pt`` after every epoch (load it with
:func:`napari_forgetting.transfer.load_transfer_model`) and ``DIR/history.json`` at the end.
``--resume`` continues from ``DIR/checkpoint.pt`` with the configuration stored in it (only
``--epochs``, ``--device`` and ``--num-threads`` may change).

Only argparse at import time: torch is loaded when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``transfer-train`` subcommand to an ``add_subparsers()`` object."""
    from napari_forgetting.data.source import add_data_arguments

    p = subparsers.add_parser(
        "transfer-train",
        help="train the class-specific (SEAN-style) style transfer model",
        description="Train the style transfer model in the reconstruction setting on the "
        "training sections of a labelled volume (every 5th inline/crossline is held out).",
    )
    add_data_arguments(p)
    p.add_argument("--out", required=True, help="output folder (checkpoint.pt, history.json)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 20)")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--class-count", type=int, default=None, help="number of classes")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument(
        "--patch",
        "--patch-size",
        dest="patch_size",
        type=int,
        nargs=2,
        default=(64, 64),
        metavar=("ROWS", "COLS"),
    )
    p.add_argument("--patches-per-epoch", type=int, default=None)
    p.add_argument("--ngf", type=int, default=32, help="generator width")
    p.add_argument("--style-dim", type=int, default=32, help="style code channels")
    p.add_argument("--lr", type=float, default=5e-4, help="learning rate (G and D)")
    p.add_argument(
        "--threads", "--num-threads", dest="num_threads", type=int, help="torch CPU threads"
    )
    p.add_argument(
        "--quiet", "--no-progress", dest="quiet", action="store_true", help="no progress bar"
    )
    p.set_defaults(func=_cmd_transfer_train)
    return p


def _load_data(args: argparse.Namespace) -> tuple[Any, int]:
    from napari_forgetting.data.source import load_data

    vol, _ = load_data(args.data, args.labels, args.shape, args.data_seed, args.iline, args.xline)
    return vol, len(vol.class_names)


def _config(args: argparse.Namespace, n_classes: int):
    from napari_forgetting.model.checkpoint import checkpoint_path, load_checkpoint
    from napari_forgetting.transfer.train import TransferConfig

    path = checkpoint_path(args.out)
    if args.resume and path.is_file():
        stored = TransferConfig.from_dict(load_checkpoint(path)["config"])
        for name in ("epochs", "device", "num_threads"):
            value = getattr(args, name)
            if value is not None:
                setattr(stored, name, value)
        return stored
    return TransferConfig(
        epochs=20 if args.epochs is None else args.epochs,
        batch_size=args.batch_size,
        patch_size=tuple(args.patch_size),
        patches_per_epoch=args.patches_per_epoch,
        lr_g=args.lr,
        lr_d=args.lr,
        n_classes=args.class_count if args.class_count is not None else n_classes,
        ngf=args.ngf,
        style_dim=args.style_dim,
        ndf=args.ngf,
        seed=args.seed,
        device=args.device,
        num_threads=args.num_threads,
    )


def _progress_callback(show_bar: bool):
    from napari_forgetting.transfer.train import Callback

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with napari
        tqdm = None

    class Progress(Callback):
        bar = None

        def on_epoch_start(self, trainer, epoch):
            self.n_batches = -(-trainer.patches_per_epoch // trainer.config.batch_size)
            self.desc = f"epoch {epoch + 1}/{trainer.config.epochs}"
            if show_bar and tqdm is not None:
                self.bar = tqdm(total=self.n_batches, desc=self.desc, file=sys.stderr, leave=False)

        def on_batch_end(self, trainer, epoch, batch, loss):
            if not show_bar:
                return
            parts = trainer.last_batch
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix(G=f"{loss:.3f}", D=f"{parts['loss_d']:.3f}")
            else:
                print(
                    f"\r{self.desc} batch {batch + 1}/{self.n_batches} G {loss:.3f}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )

        def _close(self):
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            elif show_bar:
                print(file=sys.stderr)

        def on_epoch_end(self, trainer, epoch, logs):
            self._close()
            psnr = ""
            if "psnr" in logs:
                psnr = f"  PSNR {logs['psnr']:.2f} dB (mean baseline {logs['baseline_psnr']:.2f})"
            print(
                f"{self.desc}  G {logs['loss_g']:.3f}  D {logs['loss_d']:.3f}  "
                f"L1 {logs['l1']:.3f}{psnr}  {logs['seconds']:.1f} s",
                flush=True,
            )

        def on_train_end(self, trainer):
            if self.bar is not None:
                self._close()

    return Progress()


def _cmd_transfer_train(args: argparse.Namespace) -> int:
    from napari_forgetting.data import VolumeError
    from napari_forgetting.data.writers import write_json
    from napari_forgetting.transfer.train import TrainingError, TransferTrainer

    trainer = None
    try:
        data, n_classes = _load_data(args)
        config = _config(args, n_classes)
        trainer = TransferTrainer(
            data, config, callbacks=[_progress_callback(not args.quiet)], out_dir=args.out
        )
        ph, pw = trainer.config.patch_size
        print(
            f"training the transfer model on {trainer.device}: volume {trainer.shape}, "
            f"{len(trainer.train_sections)} training sections, {trainer.patches_per_epoch} "
            f"patches {ph}x{pw} per epoch",
            flush=True,
        )
        history = trainer.fit(resume=args.resume)
    except (ValueError, TrainingError, VolumeError, FileNotFoundError) as exc:
        print(f"napari-forgetting transfer-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if trainer is None:
            return 130
        print(
            f"\ninterrupted after {trainer.epoch} complete epochs; continue with --resume "
            f"(checkpoint: {trainer.checkpoint_file})",
            file=sys.stderr,
        )
        return 130
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "history.json", {"config": config.to_dict(), "history": history}, indent=2)
    print(f"checkpoint: {trainer.checkpoint_file} ({trainer.epoch} epochs)")
    return 0
