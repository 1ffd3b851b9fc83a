"""``napari-forgetting rank``: a run's forgetting hotspots as a table, CSV or style sources.

    napari-forgetting rank RUN --class scruff [--top 6] [--stat forgetting|never_learned|
        low_confidence|high_variability|total] [--epoch N] [--min-pixels N] [--csv OUT.csv]
        [--select]

Prints the mapped sections of the run ranked by the statistic for the class (by name or id),
the first ``--top`` of them (0 = all). ``--csv`` writes the whole ranking, ``--select`` keeps
the first ``--top`` as the run's style sources (``run.json``, field ``style_sources``).
``--epoch N`` ranks after epoch N, counted from 1 as ``train`` prints them (default: the last
complete one). ``--min-pixels N`` leaves out sections with fewer than N pixels of the class
(default :data:`~napari_forgetting.dynamics.ranking.DEFAULT_MIN_PIXELS`: a style code pooled
from fewer pixels is mostly noise; 0 ranks every section holding the class).

The work is :mod:`napari_forgetting.runs.hotspots`; this module only parses and prints.
"""

from __future__ import annotations

import argparse
from typing import Any

from napari_forgetting.cli.args import (
    add_min_pixels_argument,
    nonnegative_int,
    positive_int,
    usage_errors,
)
from napari_forgetting.dynamics.ranking import STATISTICS

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``rank`` subcommand to an ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "rank",
        help="rank a run's sections by a class's forgetting density (hotspots)",
        description="Rank the mapped sections of a training run by the forgetting-event "
        "density of a class (or another learning statistic), print the top ones, export "
        "the ranking as CSV and keep the top N as style sources for the transfer step.",
    )
    p.add_argument("run", help="a run directory written by `napari-forgetting train`")
    p.add_argument(
        "--class",
        dest="cls",
        help="class name (e.g. scruff) or id; not needed with --stat total",
    )
    p.add_argument(
        "--top", type=nonnegative_int, default=6, help="rows to print and select (0 = all)"
    )
    p.add_argument("--stat", choices=STATISTICS, default="forgetting", help="ranking statistic")
    p.add_argument(
        "--epoch",
        type=positive_int,
        help="rank after epoch N (1 = the first; default: the last complete)",
    )
    add_min_pixels_argument(p)
    p.add_argument("--csv", help="write the whole ranking to this CSV file")
    p.add_argument(
        "--select",
        action="store_true",
        help="keep the first --top sections as the run's style sources",
    )
    p.set_defaults(func=_cmd_rank)


def _cmd_rank(args: argparse.Namespace) -> int:
    from napari_forgetting.runs.hotspots import rank_run, save_style_sources
    from napari_forgetting.runs.store import RunStore

    store = RunStore.open(args.run)
    with usage_errors(KeyError):
        if args.epoch is not None and args.epoch > store.n_epochs:
            raise ValueError(f"--epoch {args.epoch}: {args.run} has epochs 1..{store.n_epochs}")
        epoch = None if args.epoch is None else args.epoch - 1
        ranking = rank_run(store, args.cls, args.stat, epoch, args.min_pixels)
    top = args.top or None
    print(ranking.describe())
    print(ranking.format_table(top))
    if args.csv:
        ranking.to_csv(args.csv)
        print(f"csv: {args.csv} ({len(ranking)} sections)")
    if args.select:
        sources = save_style_sources(store, ranking, top or len(ranking))
        print(f"style sources ({sources.class_name}): {', '.join(sources.sections)}")
    return 0
