"""``demo``: napari with the sample volume (or ``--data``), training live at once.

The only command that imports napari (lazily, when it runs)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from napari_forgetting.cli.args import nonnegative_int

__all__ = ["register"]

_LAUNCH = time.monotonic()  # the demo reports its time to the first heat map from here


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="open napari with the sample volume and train on it live")
    demo.add_argument("--data", help="a volume to open instead of the sample")
    demo.add_argument(
        "--epochs", type=nonnegative_int, default=30, help="live training epochs (0: no training)"
    )
    demo.add_argument(
        "--screenshot", help="save a screenshot of the viewer to this PNG after the last epoch"
    )
    demo.add_argument(
        "--quit", action="store_true", help="close the viewer after the last epoch (scripts)"
    )
    demo.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from napari_forgetting._napari.widgets.demo import run_demo

    return run_demo(
        args.data, epochs=args.epochs, screenshot=args.screenshot, quit=args.quit, t0=_LAUNCH
    )
