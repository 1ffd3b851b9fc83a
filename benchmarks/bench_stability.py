"""How stable the Scruff explanation is across seeds, and what each lever does to it, on
held-out seeds (issue 27).

    python benchmarks/bench_stability.py FOLDER [FOLDER ...] [--class scruff] [--split all]
        [--min-pixels 64] [--top 6] [--stats forgetting,low_confidence,...] [--m 1 2 4]

Each FOLDER is a ``compare --methods baseline`` or ``consensus`` folder of one configuration
with at least ``2 max(m)`` finished seeds (its ``jobs/baseline-seed<k>``), e.g. made by

    napari-forgetting consensus --preset cpu-lite --seeds 8 --data-seed 5 --out DIR

For each folder, statistic and consensus size ``m``, the means of two *disjoint* sets of
``m`` seeds are compared (so a consensus is always judged against seeds that did not build
it; averaged over up to 35 pairs of sets): section level, Spearman of the class's density
over the eligible sections and top-k Jaccard beside its chance level; pixel level, Spearman
of the per-pixel values on the class's pixels. ``m = 1`` is a single run against another;
"one seed vs the mean of the others" (Toneva's comparison) is printed beside it. The
Spearman-Brown prediction from ``m = 1`` is printed next to each measured ``m``.

The levers compared side by side: the folders (e.g. a budget of 16 against 48 epochs, or two
geologies) and the ranking statistics (forgetting density, the paper's; low confidence;
high variability; never learned), all read from the same seeds' stored maps. The first
folder and the forgetting statistic are the reference of the printed ratios.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from napari_forgetting.data.classes import resolve_class
from napari_forgetting.dynamics.stability import (
    finite_mean,
    interior_mask,
    jaccard_chance,
    leave_one_out,
    spearman,
    spearman_brown,
    split_half,
    top_k_jaccard,
)
from napari_forgetting.runs.consensus import check_seed_runs, seed_runs, split_maps


def figures(stores, cls, split, min_pixels, k, statistic, sizes):
    """{m: (section rho, jaccard, pixel rho, interior pixel rho)}, one-vs-others (section,
    pixel, interior pixel), n sections."""
    maps = split_maps(stores, split, None, statistic)
    class_id = resolve_class(stores[0].class_names, cls)
    labels = maps.section_labels()
    eligible, dens, _ = maps.class_densities(class_id, stores[0].n_classes, min_pixels)
    interior = np.concatenate([interior_mask(lab).ravel() for lab in labels])
    pix = maps.counts[:, maps.labels == class_id]
    inner = maps.counts[:, (maps.labels == class_id) & interior]
    out = {}
    for m in sizes:
        if 2 * m > len(stores):
            continue
        out[m] = (
            split_half(dens, spearman, m)[0],
            split_half(dens, top_k_jaccard(k), m)[0],
            split_half(pix, spearman, m)[0],
            split_half(inner, spearman, m)[0],
        )
    loo = tuple(finite_mean(leave_one_out(x)) for x in (dens, pix, inner))
    return out, loo, len(eligible)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--class", dest="cls", default="scruff")
    ap.add_argument("--split", default="all")
    ap.add_argument("--min-pixels", type=int, default=64)
    ap.add_argument("--top", type=int, default=6)
    ap.add_argument("--stats", default="forgetting,low_confidence,high_variability,never_learned")
    ap.add_argument("--m", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args(argv)
    stats = [s.strip() for s in args.stats.split(",") if s.strip()]
    reference = None
    for folder in args.folders:
        t0 = time.perf_counter()
        stores = seed_runs([folder])
        check_seed_runs(stores)
        tc = stores[0].train_config
        src = stores[0].info.get("source") or {}
        print(
            f"\n{folder}: {len(stores)} seeds, {tc.get('epochs')} epochs x "
            f"{tc.get('patches_per_epoch')} patches, data {src.get('kind')} seed "
            f"{src.get('seed')}, split {args.split}, class {args.cls}, >= {args.min_pixels} px"
        )
        for statistic in stats:
            try:
                by_m, loo, n = figures(stores, args.cls, args.split, args.min_pixels, args.top,
                                       statistic, args.m)  # fmt: skip
            except ValueError as exc:
                print(f"  {statistic}: {exc}")
                continue
            chance = jaccard_chance(n, args.top)
            print(
                f"  {statistic}: {n} sections (top-{args.top} chance {chance:.3f}); one seed "
                f"vs the mean of the others: sections {loo[0]:+.3f}, pixels {loo[1]:+.3f} "
                f"(interior {loo[2]:+.3f})"
            )
            r1 = by_m.get(1, (np.nan,))[0]
            for m, (rho, jac, prho, irho) in by_m.items():
                print(
                    f"    {m} vs {m} held-out seeds: sections rho {rho:+.3f} (Spearman-Brown "
                    f"from m=1: {spearman_brown(r1, m):+.3f}), top-{args.top} Jaccard "
                    f"{jac:.3f} (chance {jac - chance:+.3f}), pixels rho {prho:+.3f} "
                    f"(interior {irho:+.3f})"
                )
            if reference is None and statistic == "forgetting" and by_m:
                reference = (folder, by_m)
            elif statistic == "forgetting" and reference is not None and by_m:
                for m in by_m:
                    if m in reference[1] and reference[1][m][0]:
                        print(
                            f"    ratio to {reference[0]} at m={m}: sections rho "
                            f"{by_m[m][0] / reference[1][m][0]:.2f}, pixels rho "
                            f"{by_m[m][2] / reference[1][m][2]:.2f}"
                        )
        print(f"  ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
