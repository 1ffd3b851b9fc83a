"""GUI-thread cost of one epoch's live layer update at full F3 size (401 x 701 x 255).

The paper's validation split of an F3-sized volume (every fifth inline and crossline:
28.9 M tracked pixels) with random event counts and predictions; ``LiveLayers.show`` in a
real viewer (needs a display: ``xvfb-run -a``), median of 5 updates, three ways:

* ``np.percentile`` on the GUI thread (the update before ``heat_limit``; the baseline);
* ``heat_limit`` on the GUI thread (replaying a run store does this);
* the limit computed off the GUI thread and passed in (live training: ``EpochDone``);

and, the limit given, against the former update: the flat arrays scattered into dense
volume buffers (float32 heat, uint8 prediction) and two dense layers refreshed.

    xvfb-run -a python benchmarks/bench_live_layers.py [--shape 401 701 255]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs=3, default=(401, 701, 255))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import napari

    from napari_forgetting._napari import live_layers
    from napari_forgetting.data.sections import paper_split
    from napari_forgetting.dynamics import heat_limit
    from napari_forgetting.runs.geometry import RunGeometry, geometry_from_sections

    shape = tuple(args.shape)
    secs = list(paper_split(shape).validation)
    geo = RunGeometry(shape, secs, secs)
    n = int(geo.map_offsets[-1])
    rng = np.random.default_rng(0)
    counts = rng.poisson(3.0, n).astype(np.uint8)
    preds = rng.integers(0, 6, n).astype(np.uint8)
    maps = {"forgetting_events": counts, "never_learned": counts == 0}
    viewer = napari.Viewer(show=True)
    live = live_layers.LiveLayers(
        viewer, geo, geometry_from_sections(shape, secs), [f"c{i}" for i in range(6)]
    )
    live.show(0, maps, preds)  # creates the layers, touches the buffers

    def percentile_limit(c, q=99.5):  # the former GUI-thread computation
        return float(np.ceil(np.percentile(c, q)))

    def timed(upper=None) -> float:
        ts = []
        for e in range(args.repeats):
            t0 = time.perf_counter()
            live.show(e, maps, preds, heat_upper=upper)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    original = live_layers.heat_limit
    live_layers.heat_limit = percentile_limit
    try:
        base = timed()
    finally:
        live_layers.heat_limit = original
    gui = timed()
    t0 = time.perf_counter()
    upper = heat_limit(counts)
    t_limit = time.perf_counter() - t0
    off = timed(upper)
    print(f"volume {shape}, {len(secs)} validation sections, {n:,} tracked px")
    print(f"  show() with np.percentile on the GUI thread: {base * 1e3:.0f} ms (baseline)")
    print(
        f"  show() with heat_limit on the GUI thread:    {gui * 1e3:.0f} ms, ratio {gui / base:.3f}"
    )
    print(
        f"  show() with the limit given (live training): {off * 1e3:.0f} ms, ratio "
        f"{off / base:.3f}; heat_limit itself on the training thread: {t_limit * 1e3:.0f} ms"
    )
    # the former update (before the per-kind SectionVolume layers): scatter the flat arrays
    # into dense volume buffers and refresh two dense layers, the limit given
    heat = np.full(shape, np.nan, np.float32)
    pred = np.full(shape, 255, np.uint8)
    dense = [viewer.add_image(heat, name="dense heat", contrast_limits=(0.0, upper)),
             viewer.add_labels(pred, name="dense prediction")]  # fmt: skip
    wanted = dict(live.wanted)
    for layer in live.layers.values():
        layer.visible = False  # (the user's switch: restored below)

    def dense_update() -> float:
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            geo.scatter(heat, counts, "map")
            geo.scatter(pred, preds, "eval")
            for layer in dense:
                layer.refresh()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    former = dense_update()
    for layer in dense:
        viewer.layers.remove(layer)
    live.wanted.update(wanted)
    live.follow_view()
    off_again = timed(upper)
    print(
        f"  former dense scatter + refresh (limit given): {former * 1e3:.0f} ms and "
        f"{(heat.nbytes + pred.nbytes) / 2**20:.0f} MiB of buffers; per-kind section views: "
        f"{off_again * 1e3:.0f} ms, ratio {off_again / former:.3f}, no volume buffers"
    )
    viewer.close()


if __name__ == "__main__":
    main()
