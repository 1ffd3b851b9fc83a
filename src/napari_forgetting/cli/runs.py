"""``napari-forgetting rank`` and ``stability``: a run's hotspots, and how they move with the seed.

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

A consensus run's ranking (``napari-forgetting consensus``) adds each section's P(top k) and
the 95 % interval of its density over bootstrap draws of the seeds; a single run's says that
one seed was used and, where a stability measurement included the run, how much of the
ranking to expect to move. A ranking whose values are all equal (a class never learned) says
so instead of listing sections in their index order.

    napari-forgetting stability RUN RUN ... | FOLDER [--class scruff] [--split validation|
        test|test1|...|all] [--top 6] [--min-pixels N] [--epoch N] [--json FILE] [--record]

Every stability figure of :mod:`napari_forgetting.dynamics.stability` for runs that differ
only in the seed (refused in one line naming the field otherwise); FOLDER: a ``compare`` or
``consensus`` folder (its baseline seeds) or a consensus run (its seeds).

The work is :mod:`napari_forgetting.runs.hotspots` and :mod:`napari_forgetting.runs.consensus`;
this module only parses and prints.
"""

from __future__ import annotations

import argparse
from typing import Any

from napari_forgetting.cli.args import (
    UsageError,
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
        "--stability",
        metavar="DIR",
        help="a consensus or compare folder that measured this run's configuration over "
        "other seeds: the note quotes how much of the ranking to expect to move (refused for "
        "another configuration)",
    )
    p.add_argument(
        "--select",
        action="store_true",
        help="keep the first --top sections as the run's style sources",
    )
    p.set_defaults(func=_cmd_rank)

    s = subparsers.add_parser(
        "stability",
        help="how much a class's hotspot ranking and heat maps move when only the seed changes",
        description="Compare runs that differ only in their seed: section-level Spearman, "
        "Kendall tau-b and top-k Jaccard (beside chance) of the class's forgetting density, "
        "pixel-level Spearman (the class, its interior, all pixels), each run against the "
        "mean of the others, split-half reliability, the seeds a consensus needs, and per "
        "section P(top k) and a density interval.",
    )
    s.add_argument(
        "runs",
        nargs="+",
        help="run folders of one configuration, or one compare / consensus folder",
    )
    s.add_argument("--class", dest="cls", default="scruff", help="class name or id")
    s.add_argument(
        "--split",
        default="validation",
        help="validation (default), a test volume's name (test1, test2), test (every test "
        "volume) or all",
    )
    s.add_argument("--top", type=positive_int, default=6, help="k of top-k Jaccard and P(top k)")
    s.add_argument(
        "--stat",
        choices=[x for x in STATISTICS if x != "total"],
        default="forgetting",
        help="the ranking statistic whose stability is measured (default: the paper's "
        "forgetting density)",
    )
    add_min_pixels_argument(s)
    s.add_argument("--epoch", type=positive_int, help="after epoch N (default: the last complete)")
    s.add_argument("--json", help="write every figure to this JSON file")
    s.add_argument(
        "--record",
        action="store_true",
        help="keep the summary in each run's run.json (a single run's ranking then quotes it)",
    )
    s.set_defaults(func=_cmd_stability)


def _cmd_rank(args: argparse.Namespace) -> int:
    from napari_forgetting.runs.hotspots import rank_run, save_style_sources
    from napari_forgetting.runs.store import RunStore

    store = RunStore.open(args.run)
    with usage_errors(KeyError):
        if args.epoch is not None and args.epoch > store.n_epochs:
            raise ValueError(f"--epoch {args.epoch}: {args.run} has epochs 1..{store.n_epochs}")
        epoch = None if args.epoch is None else args.epoch - 1
        ranking = rank_run(store, args.cls, args.stat, epoch, args.min_pixels,
                           stability=args.stability)  # fmt: skip
    top = args.top or None
    print(ranking.describe())
    if ranking.note:
        print(ranking.note)
    print(ranking.format_table(top))
    if args.csv:
        ranking.to_csv(args.csv)
        print(f"csv: {args.csv} ({len(ranking)} sections)")
    if args.select:
        if ranking.uniform:
            raise UsageError(f"--select: {ranking.uniform_message()}")
        sources = save_style_sources(store, ranking, top or len(ranking))
        print(f"style sources ({sources.class_name}): {', '.join(sources.sections)}")
    return 0


def _cmd_stability(args: argparse.Namespace) -> int:
    from napari_forgetting.data.writers import write_json
    from napari_forgetting.runs.consensus import measure_stability, record_stability, seed_runs

    with usage_errors(KeyError):
        stores = seed_runs(args.runs)
        epoch = None if args.epoch is None else args.epoch - 1
        result = measure_stability(
            stores, args.cls, split=args.split, k=args.top, min_pixels=args.min_pixels,
            epoch=epoch, statistic=args.stat,
        )  # fmt: skip
    print(result.format_table())
    if args.json:
        write_json(args.json, result.to_dict())
        print(f"json: {args.json}")
    if args.record:
        record_stability(result)
        print(f"recorded in {len(result.runs)} runs' run.json")
    return 0
