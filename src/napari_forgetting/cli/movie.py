"""``movie``: how a run's heat map on one section evolves over the epochs, as MP4 or GIF.

    napari-forgetting movie RUN --out heat.mp4 [--section inline:105] [--fps 2]
        [--size 1280 800] [--data PATH [--labels PATH]]

One frame per committed epoch: the section's seismic in grey, its forgetting events on top
(zero transparent, one colour scale for all epochs), a caption with the run, section and
epoch. ``--section`` defaults to the run's hottest mapped section (``rank --stat total``'s
first). The seismic comes from the data the run records (``--data`` where it does not, or
moved; without either the section's labels are shown instead). Rendered by napari-animation
in a napari window of its own, so it needs a display (``xvfb-run`` on a headless machine).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from napari_forgetting.cli.args import (
    MAX_FRAME_SIDE,
    UsageError,
    add_run_data_arguments,
    at_most,
    positive_float,
    run_data_args,
    usage_errors,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "movie",
        help="a run's heat map on one section over the epochs, as MP4 or GIF (napari-animation)",
        description="Render how the forgetting heat map of one mapped section of a run grows "
        "epoch by epoch: one frame per epoch, the seismic beneath, one colour scale.",
    )
    p.add_argument("run", help="a run directory written by `train` or the training dock")
    p.add_argument("--out", required=True, help="movie file: .mp4, .gif, .mov, .avi or .mkv")
    p.add_argument(
        "--section", help="a mapped section, e.g. inline:105 (default: the run's hottest)"
    )
    p.add_argument("--fps", type=positive_float, default=2.0, help="frames (epochs) per second")
    p.add_argument(
        "--size",
        nargs=2,
        type=at_most(MAX_FRAME_SIDE, 16),
        default=(1280, 800),
        metavar=("WIDTH", "HEIGHT"),
        help="frame size in pixels",
    )
    add_run_data_arguments(p)
    p.set_defaults(func=_cmd_movie)


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "vnc"))
    )


def _cmd_movie(args: argparse.Namespace) -> int:
    from napari_forgetting.runs.epoch_frames import check_movie_path, epoch_frames
    from napari_forgetting.runs.store import RunStore

    with usage_errors(ValueError, KeyError):
        out = check_movie_path(args.out)
        store = RunStore.open(args.run)
        volume = _seismic_of(args, store)
        frames = epoch_frames(store, args.section, volume)
    if not _has_display():
        raise UsageError("a movie is rendered in a napari window: run it under xvfb-run here")
    from napari_forgetting._napari.render_movie import render_epoch_movie

    print(
        f"{frames.section.kind} {frames.section.number}: {frames.n_epochs} epochs, "
        f"colour scale 0..{frames.upper:g} events"
        + ("" if frames.seismic is not None else " (no seismic: the run's data is not at hand)"),
        file=sys.stderr,
    )
    path = render_epoch_movie(
        frames, out, fps=args.fps, size=tuple(args.size), class_names=store.class_names
    )
    print(f"movie: {path}")
    return 0


def _seismic_of(args: argparse.Namespace, store: Any) -> Any:
    """The run's volume for the section's seismic: ``--data``, else what the run records;
    ``None`` (labels shown instead) when the run records no reopenable data."""
    from napari_forgetting.data.source import DataNotRecorded, open_source

    if args.data is not None:
        return run_data_args(args, store)[0]
    try:
        return open_source(store.info.get("source") or {})
    except DataNotRecorded:
        return None
