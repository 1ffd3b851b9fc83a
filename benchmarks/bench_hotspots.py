"""Ranking a full-F3-size run's sections for a class: one read per map vs per section.

An F3-sized run store (401 x 701 x 255, the paper's validation split: 222 sections, 28.9 M
mapped pixels, random labels and Poisson event counts, two epochs) is written to a temporary
folder; then, median of 3 each, interleaved:

* baseline: the former ``rank_run`` -- every section's heat map and labels read on their
  own (``RunStore.heatmap(i)``, ``map_labels(i)``: 666 zarr reads), then ``section_scores``;
* ``rank_run``: each map read once, flat, and cut per section (``RunStore.heatmaps``,
  ``all_map_labels``).

The Hotspots widget runs this in a worker thread whenever a followed run commits an epoch.

    python benchmarks/bench_hotspots.py [--shape 401 701 255]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from napari_forgetting.data.sections import paper_split
from napari_forgetting.dynamics.ranking import pixel_values, rank_scores, section_scores
from napari_forgetting.runs.hotspots import rank_run
from napari_forgetting.runs.store import RunStore


def per_section(path: str, class_id: int) -> list[int]:
    store = RunStore.open(path)  # fresh: no label cache
    n = len(store.map_sections)
    events = [store.heatmap(i) for i in range(n)]
    values = [pixel_values("forgetting", events=e) for e in events]
    labels = [store.map_labels(i) for i in range(n)]
    scores, _, _ = section_scores(values, labels, class_id, events)
    return list(rank_scores(scores))


def flat(path: str, class_id: int) -> list[int]:
    store = RunStore.open(path)  # fresh: no label cache
    ranking = rank_run(store, class_id)
    order = {(s.kind, s.index): k for k, s in enumerate(store.map_sections)}
    return [order[(r.kind, r.index)] for r in ranking.rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs=3, default=(401, 701, 255))
    args = ap.parse_args()
    shape = tuple(args.shape)
    secs = list(paper_split(shape).validation)
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 6, s.shape).astype(np.uint8) for s in secs]
    n = sum(lab.size for lab in labels)
    path = tempfile.mkdtemp(prefix="bench-hotspots-") + "/run"
    maps = {"forgetting_events": np.uint8, "never_learned": bool, "first_learned": np.uint8}
    store = RunStore.create(
        path,
        eval_sections=secs,
        eval_labels=labels,
        maps=maps,
        epochs=2,
        volume_shape=shape,
        class_names=[f"c{k}" for k in range(6)],
    )
    for e in range(2):
        store.write_epoch(
            e,
            labels,
            {
                "forgetting_events": rng.poisson(2.0, n).astype(np.uint8),
                "never_learned": rng.random(n) < 0.05,
                "first_learned": np.zeros(n, np.uint8),
            },
        )
        store.commit(e + 1, status="finished" if e else "running")
    times: dict[str, list[float]] = {"per section": [], "rank_run": []}
    results = {}
    for _ in range(3):
        for name, fn in (("per section", per_section), ("rank_run", flat)):
            t0 = time.perf_counter()
            results[name] = fn(path, 3)
            times[name].append(time.perf_counter() - t0)
    assert results["per section"] == results["rank_run"], "the two rankings differ"
    base = statistics.median(times["per section"])
    new = statistics.median(times["rank_run"])
    print(f"volume {shape}, {len(secs)} mapped sections, {n:,} px; class 3; the same ranking")
    print(f"  per-section reads (baseline): {base:.3f} s")
    print(f"  rank_run, one read per map:   {new:.3f} s, ratio {new / base:.3f}")


if __name__ == "__main__":
    main()
