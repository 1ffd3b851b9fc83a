"""Where the methods forget: the fates of the baseline's high-density forgetting regions
under every other arm of the same seed and their overlaps, each run at its own threshold
(:mod:`napari_forgetting.dynamics.regions`)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.workflow.compare.config import (
    JOBS_DIR,
    NULL_CONTROLS,
    CompareConfig,
    job_name,
)
from napari_forgetting.workflow.compare.metrics import style_sources
from napari_forgetting.workflow.compare.paired import mean_std
from napari_forgetting.workflow.compare.tables import md_table


def _region_maps(
    store: Any, split: str, exclude: Collection[str] = ()
) -> dict[str, np.ndarray] | None:
    """The forgetting-event maps of a run's sections on ``split`` (validation or a test
    volume), by section key, but the validation sections in ``exclude`` (the transfer
    pool's style sources); ``None`` where the split is not mapped."""
    skip = set(exclude) if split == "validation" else set()
    if split != "validation":
        if split not in store.test_names:
            return None
        store = store.test(split)
    if "forgetting_events" not in store.map_names:
        return None
    return {
        sec.key: store.map("forgetting_events", sec.key)
        for sec in store.map_sections
        if sec.key not in skip
    }


#: The control of the fates without a null-control arm: the baseline of the next seed (its
#: initialisation *and* its draws differ from the baseline's; ``reinit`` and ``redraw``
#: change one stream each).
NEXT_SEED = "baseline (next seed)"


def next_seed_control(config: CompareConfig) -> bool:
    """Whether the fates use the next seed's baseline as their control: only where no null
    control (``reinit``, ``redraw``) is an arm and there is another seed."""
    return config.seeds > 1 and not any(m in config.methods for m in NULL_CONTROLS)


def _controls(config: CompareConfig) -> list[str]:
    """The rows of the fate tables: every other arm, then the next seed's baseline where
    it is the control."""
    return [m for m in config.methods if m != "baseline"] + (
        [NEXT_SEED] if next_seed_control(config) else [])  # fmt: skip


def _paired_maps(
    out: Path, config: CompareConfig, per_job: dict[tuple[str, int], dict[str, Any]]
) -> Iterator[tuple[int, str, dict[str, np.ndarray], list[tuple[str, dict[str, np.ndarray]]]]]:
    """Per seed and split with maps: ``(seed, split, baseline maps, [(method, its maps)])``
    for every other method of the seed (and the next seed's baseline: :func:`_controls`), the
    validation sections the seed's transfer arms took styles from left out."""
    from napari_forgetting.runs.store import RunStore

    if "baseline" not in config.methods:
        return
    stores = {key: RunStore.open(out / JOBS_DIR / job_name(*key)) for key in per_job}
    for seed in range(config.seeds):
        base = stores.get(("baseline", seed))
        if base is None:
            continue
        others = [(m, stores.get((m, seed))) for m in config.methods if m != "baseline"]
        if next_seed_control(config):
            others.append((NEXT_SEED, stores.get(("baseline", (seed + 1) % config.seeds))))
        skip = style_sources(out, seed)
        for split in ["validation", *base.test_names]:
            base_maps = _region_maps(base, split, skip)
            if not base_maps:
                continue
            got = [(m, None if st is None else _region_maps(st, split, skip)) for m, st in others]
            yield seed, split, base_maps, [(m, maps) for m, maps in got if maps is not None]


def region_fate_table(
    out: Path, config: CompareConfig, per_job: dict[tuple[str, int], dict[str, Any]]
) -> tuple[list[list[Any]], dict[tuple[int, str], float]]:
    """The fate rows and thresholds of :func:`region_tables`."""
    rows, thresholds, _ = region_tables(out, config, per_job)
    return rows, thresholds


def region_tables(
    out: Path, config: CompareConfig, per_job: dict[tuple[str, int], dict[str, Any]]
) -> tuple[list[list[Any]], dict[tuple[int, str], float], list[list[Any]]]:
    """The baseline's high-density forgetting regions under every other method of the same
    seed (the null controls ``reinit`` / ``redraw`` among them: run-to-run variation
    alone; without them the baseline of the next seed, :data:`NEXT_SEED`), from one read
    of each run's maps (:mod:`~napari_forgetting.dynamics.regions`). Splits: the validation
    sections and every tracked test volume.

    Returns the fates at the baseline's threshold -- rows ``[method, seed, split, section,
    size, kept, fate, baseline_density, density]``, one per region and method -- and the
    threshold of each ``(seed, split)``; then where each run forgets most at its own
    threshold (:func:`~napari_forgetting.dynamics.regions.compare_masks`) -- rows
    ``[method, seed, split, dice, regions, stays, appear, level_ratio]`` (``stays``: the
    share of the baseline's regions that stay at the other run's own threshold)."""
    from napari_forgetting.dynamics.regions import compare_masks, region_fates, region_threshold

    rows: list[list[Any]] = []
    thresholds: dict[tuple[int, str], float] = {}
    overlaps: list[list[Any]] = []
    for seed, split, base_maps, others in _paired_maps(out, config, per_job):
        thr = region_threshold(list(base_maps.values()))
        thresholds[(seed, split)] = thr
        for method, maps in others:
            keys = [k for k in base_maps if k in maps]
            for key in keys:
                for r in region_fates(base_maps[key], maps[key], thr):
                    rows.append([method, seed, split, key, r["size"], r["kept"], r["fate"],
                                 r["baseline_density"], r["density"]])  # fmt: skip
            if keys:
                c = compare_masks([base_maps[k] for k in keys], [maps[k] for k in keys])
                n = c["n_regions"]
                stays = sum(f["fate"] == "stays" for f in c["fates"]) / n if n else float("nan")
                overlaps.append([method, seed, split, c["dice"], n, stays, c["appear"],
                                 c["level_ratio"]])  # fmt: skip
    return rows, thresholds, overlaps


def _finite(values: Sequence[Any]) -> np.ndarray:
    x = np.array(values, dtype=np.float64)
    return x[np.isfinite(x)]


def overlap_lines(rows: Sequence[Sequence[Any]], config: CompareConfig) -> list[str]:
    """The report's paragraph on where the methods forget (:func:`region_tables`)."""
    if not rows:
        return []
    methods = _controls(config)
    table = []
    for method in methods:
        for group, test in (("validation", False), ("tests", True)):
            rs = [r for r in rows if r[0] == method and (r[2] != "validation") == test]
            if not rs:
                continue
            dice, stays, ratio = (_finite([r[i] for r in rs]) for i in (3, 5, 7))
            table.append([
                method, group, str(len({r[1] for r in rs})),
                f"{dice.mean():.2f} ± {dice.std():.2f}" if dice.size else "— (no mask)",
                f"{stays.mean():.0%}" if stays.size else "—",
                str(sum(int(r[6]) for r in rs)),
                f"{ratio.mean():.2f}" if ratio.size else "—",
            ])  # fmt: skip
    header = [
        "method",
        "sections",
        "seeds",
        "Dice of the high-density masks (mean ± sd)",
        "baseline regions that stay",
        "regions that appear",
        "forgetting level ratio",
    ]
    lines = [md_table(header, table)]
    return [
        "Where each run forgets most, **each at its own threshold** (its own "
        "95th percentile over the split's sections): the overlap (Dice) of its high-density "
        "mask with the baseline's of the same seed, the share of the baseline's regions that "
        "stay in it, the regions that appear (touching none of the baseline's), and, apart, "
        "the ratio of its mean forgetting events to the baseline's. The fates above, at the "
        "baseline's threshold, mix where and how much: the same pattern at 0.7 of its "
        "counts shrinks every region there, and overlaps itself fully here. One row per "
        "seed and split in `overlap.csv`.",
        "",
        *lines,
    ]


def _fate_summary(rows: Sequence[Sequence[Any]], methods: Sequence[str]) -> list[list[str]]:
    """Markdown rows: per method and split group (validation, test volumes together) the
    number of regions and the share of each fate, pooled over seeds, with the spread of the
    'disappears' share over seeds."""
    from napari_forgetting.dynamics.regions import FATES

    out = []
    for method in methods:
        for group in ("validation", "test"):
            sel = [
                r
                for r in rows
                if r[0] == method and (r[2] == "validation") == (group == "validation")
            ]
            if not sel:
                continue
            n = len(sel)
            shares = [f"{sum(r[6] == f for r in sel) / n:.0%}" for f in FATES]
            per_seed = []
            for seed in sorted({r[1] for r in sel}):
                rs = [r for r in sel if r[1] == seed]
                per_seed.append(sum(r[6] == "disappears" for r in rs) / len(rs))
            mean, std = mean_std(per_seed)
            out.append([method, group, str(n), *shares, f"{mean:.0%} ± {std:.0%}"])
    return out


def region_lines(rows: Sequence[Sequence[Any]], config: CompareConfig) -> list[str]:
    """The report's paragraph on the regions' fates (:func:`region_tables`)."""
    from napari_forgetting.dynamics import regions as reg

    if not rows:
        return ["No baseline regions (no finished baseline with forgetting maps)."]
    methods = _controls(config)
    table = _fate_summary(rows, methods)
    lines = [md_table(["method", "sections", "regions", *reg.FATES, "disappears, per seed"],
                       table)]  # fmt: skip
    return [
        "A high-density region is a connected (8-connected) set of at least "
        f"{reg.MIN_REGION} pixels whose forgetting events, averaged over {reg.WINDOW} x "
        f"{reg.WINDOW} pixels, reach the {reg.QUANTILE:.0f}th percentile of the baseline's "
        f"over the split's sections (at least {reg.MIN_DENSITY:g} event); the same threshold "
        "is applied to the other run of the same seed and section. A region *disappears* "
        f"when under {reg.GONE:.0%} of its pixels stay above it, *shrinks* under "
        f"{reg.KEPT:.0%}, else *stays*. The fates run-to-run variation alone gives: `reinit` "
        "(the baseline again, another initialisation, the same draws) and `redraw` (the same "
        "initialisation, other draws), where they are arms; else `baseline (next seed)`, "
        "the baseline of another seed (both streams differ). One row per region in "
        "`regions.csv`; outlined on the heat maps below.",
        "",
        *lines,
    ]
