"""Benchmark: ForgettingTracker memory per tracked pixel for the F3-size validation set.

    python benchmarks/bench_tracker_memory.py [--shape 401 701 255] [--every 5]

Section shapes come from :func:`paper_split` on the volume *shape* only (no volume is built):
every ``--every``-th inline and crossline. For each tracker layout (core only, + switches,
+ confidence, + margin, all; sweep and online; max_epochs 255 and 256) prints bytes/pixel
(from ``nbytes_per_pixel``) and the total MB actually allocated (``tracker.nbytes``).
"""

from __future__ import annotations

import argparse
import sys

from napari_forgetting.data.sections import paper_split
from napari_forgetting.dynamics.tracker import ForgettingTracker

LAYOUTS = (
    ("core only (no switches)", {"track_switches": False}),
    ("core + switches (default)", {}),
    ("core + switches + confidence", {"track_confidence": True}),
    ("core + switches + margin", {"track_margin": True}),
    ("core + switches + confidence + margin", {"track_confidence": True, "track_margin": True}),
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", type=int, nargs=3, default=(401, 701, 255))
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--n-classes", type=int, default=6)
    args = ap.parse_args(argv)

    split = paper_split(tuple(args.shape), args.every)
    shapes = [s.shape for s in split.validation]
    n_il = sum(s.kind == "inline" for s in split.validation)
    n_xl = len(shapes) - n_il
    n_pix = sum(r * c for r, c in shapes)
    print(
        f"volume {tuple(args.shape)}, every {args.every}: {n_il} inlines + {n_xl} crosslines "
        f"= {len(shapes)} validation sections, {n_pix:,} tracked pixels"
    )
    print(
        f"{'mode':7s} {'max_ep':>6s}  {'layout':40s} {'B/px core':>9s} {'B/px total':>10s} "
        f"{'total MB':>9s}"
    )
    for mode in ("sweep", "online"):
        for max_epochs in (255, 256):
            for name, kw in LAYOUTS:
                t = ForgettingTracker(
                    shapes, args.n_classes, mode=mode, max_epochs=max_epochs, **kw
                )
                bpp = t.nbytes_per_pixel
                assert t.nbytes == bpp.total * n_pix
                print(
                    f"{mode:7s} {max_epochs:6d}  {name:40s} {bpp.core:9d} {bpp.total:10d} "
                    f"{t.nbytes / 1e6:9.1f}"
                )
                del t
    return 0


if __name__ == "__main__":
    sys.exit(main())
