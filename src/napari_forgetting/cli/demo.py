"""``demo``: napari with the sample volume (or ``--data``), training live at once;
``view``: napari with a ``compare`` report folder as the paper's Fig. 5, interactive, or with
an augmented pool folder browsed beside its targets.

Both import napari (lazily, when they run)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from napari_forgetting.cli.args import UsageError, nonnegative_int, positive_int

__all__ = ["register"]

_LAUNCH = time.monotonic()  # the demo reports its time to the first heat map from here


def register(sub: Any) -> None:
    from napari_forgetting.training.config import TrainConfig
    from napari_forgetting.training.options import describe

    demo = sub.add_parser("demo", help="open napari with the sample volume and train on it live")
    demo.add_argument("--data", help="a volume to open instead of the sample")
    demo.add_argument(
        "--epochs",
        type=nonnegative_int,
        default=describe(TrainConfig, "epochs").dock_value,  # where the Live training dock starts
        help="live training epochs (0: no training)",
    )
    demo.add_argument(
        "--screenshot", help="save a screenshot of the viewer to this PNG after the last epoch"
    )
    demo.add_argument(
        "--view",
        choices=("inline", "crossline", "3d"),
        default="inline",
        help="the view after the last epoch (3d: the survey view; default: inline)",
    )
    demo.add_argument(
        "--quit", action="store_true", help="close the viewer after the last epoch (scripts)"
    )
    demo.set_defaults(func=_cmd_demo)

    view = sub.add_parser(
        "view",
        help="open a compare report in napari: each method's heat maps of one section side by "
        "side, chosen from the baseline's hotspots (Fig. 5, interactive); or an augmented pool: "
        "its sections beside their targets as they were",
    )
    view.add_argument(
        "report", help="a report folder written by `compare --out`, or a pool folder (`augment`)"
    )
    view.add_argument("--split", help="validation, test1, test2 (default: validation)")
    view.add_argument(
        "--seed",
        type=_seed_choice,
        help="a seed number, or consensus (the baseline's consensus over its seeds); default: "
        "each method's lowest",
    )
    view.add_argument("--section", help="a section key, e.g. inline:12 (default: the top hotspot)")
    view.add_argument("--item", type=positive_int, help="a pool's item to show first (1-based)")
    view.add_argument("--screenshot", help="save a screenshot of the viewer to this PNG")
    view.add_argument("--quit", action="store_true", help="close the viewer at once (scripts)")
    view.set_defaults(func=_cmd_view)


def _seed_choice(text: str) -> int | str:
    """An option type: a seed number (>= 0) or ``consensus``."""
    return "consensus" if text.strip() == "consensus" else nonnegative_int(text)


def _cmd_demo(args: argparse.Namespace) -> int:
    from napari_forgetting._napari.widgets.demo import run_demo

    return run_demo(
        args.data, epochs=args.epochs, screenshot=args.screenshot, quit=args.quit, t0=_LAUNCH,
        view=args.view,
    )  # fmt: skip


def _cmd_view(args: argparse.Namespace) -> int:
    from napari_forgetting.workflow.augment import POOL_MANIFEST

    path = Path(args.report)
    if (path / POOL_MANIFEST).is_file() or path.name == POOL_MANIFEST:
        return _view_pool(args)
    if args.item is not None:
        raise UsageError(f"{args.report}: --item is for a pool folder (one holding pool.json)")
    from napari_forgetting._napari.widgets.demo import run_report_view
    from napari_forgetting.workflow.compare.maps import ComparisonMaps

    # what the report lacks is one line and exit 2, before any window opens
    maps = ComparisonMaps(args.report)
    split = args.split or maps.splits[0]
    if split not in maps.splits:
        raise UsageError(f"{args.report}: no split {split!r} (it has {', '.join(maps.splits)})")
    if args.seed == "consensus" and maps.consensus is None:
        raise UsageError(f"{args.report}: no consensus run (consensus/) in the report")
    if args.seed not in (None, "consensus") and args.seed not in maps.seeds:
        raise UsageError(f"{args.report}: no finished run of seed {args.seed} ({maps.seeds})")
    if args.section is not None and args.section not in maps.sections(split):
        raise UsageError(f"{args.report}: {split} maps no section {args.section!r}")
    return run_report_view(
        args.report,
        split=args.split,
        seed=args.seed,
        section=args.section,
        screenshot=args.screenshot,
        quit=args.quit,
    )


def _view_pool(args: argparse.Namespace) -> int:
    from napari_forgetting._napari.widgets.demo import run_pool_view
    from napari_forgetting.workflow.pool_browse import open_pool_browse

    given = [f"--{k}" for k in ("split", "seed", "section") if getattr(args, k) is not None]
    if given:
        raise UsageError(f"{args.report} is a pool; {', '.join(given)}: only for a compare report")
    # what the pool lacks is one line and exit 2, before any window opens
    try:
        browse = open_pool_browse(args.report)
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if args.item is not None and args.item > len(browse):
        raise UsageError(f"{args.report}: the pool has {len(browse)} items, no item {args.item}")
    item = 0 if args.item is None else args.item - 1
    return run_pool_view(browse, item=item, screenshot=args.screenshot, quit=args.quit)
