"""Runs that differ only in their seed: how stable their explanation is, and their consensus.

>>> runs = seed_runs(["report/"])                      # a compare folder's baseline seeds
>>> result = measure_stability(runs, "scruff", split="validation", k=6)
>>> print(result.format_table())
>>> build_consensus(runs, "report/consensus")          # a run like any other: mean counts

A **consensus run** is a run store (:mod:`.store`) whose ``forgetting_events`` are the mean of
the seeds' counts (float32; each seed's never-learned pixels scored by its own convention),
with an ``agreement`` map (the share of seeds in whose own top 5 % the pixel lies:
:func:`~napari_forgetting.dynamics.stability.consensus_maps`), ``never_learned`` where every
seed never learned the pixel, the other statistics averaged and the predictions the seeds'
majority, for every epoch; its test volumes (``tests/<name>``) likewise. It opens, replays
and ranks like any run; ``run.json`` records its seeds under ``consensus`` and
``seed_density.npy`` beside it holds each seed's class density per epoch and section
``(R, E, S, C)``, from which :func:`section_uncertainty` gives a ranking's P(top k) and
density intervals.

Runs are checked to differ in nothing but the seed (:func:`check_seed_runs`: one line naming
the field). No Qt or napari here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.classes import resolve_class
from napari_forgetting.dynamics import density_table
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.dynamics.stability import (
    PixelStability,
    SectionBootstrap,
    SectionStability,
    bootstrap_sections,
    consensus_maps,
    constant_runs,
    interior_mask,
    json_floats,
    pixel_stability,
    section_stability,
)
from napari_forgetting.runs.hotspots import flat_values
from napari_forgetting.runs.store import RunStore, RunStoreError, is_run_dir

__all__ = [
    "CONSENSUS_DIR",
    "CONSENSUS_FIELD",
    "SEED_DENSITY_FILE",
    "SPLITS",
    "STABILITY_FIELD",
    "SplitMaps",
    "StabilityResult",
    "build_consensus",
    "check_seed_runs",
    "consensus_record",
    "measure_stability",
    "section_uncertainty",
    "seed_runs",
    "split_maps",
    "stability_note",
]

#: ``run.json`` field of a consensus run: its seed runs.
CONSENSUS_FIELD = "consensus"
#: ``run.json`` field of a seed run once a stability measurement included it.
STABILITY_FIELD = "stability"
#: Per consensus store: each seed's class density per epoch and mapped section.
SEED_DENSITY_FILE = "seed_density.npy"
#: Where the ``consensus`` command writes the consensus run inside its folder.
CONSENSUS_DIR = "consensus"
#: Split names besides each test volume's own: the validation sections, every test volume's
#: sections together, and everything.
SPLITS = ("validation", "test", "all")
#: TrainConfig fields that say how a run was executed, not what it learned from.
_EXECUTION_FIELDS = ("seed", "device", "num_threads")
#: The maps a consensus averages (float32) besides the forgetting events.
_MEAN_MAPS = ("switches", "confidence", "variability", "margin")


# ------------------------------------------------------------------------------ which runs


def _seed_of(store: RunStore) -> int:
    return int(store.train_config.get("seed", 0))


def seed_runs(paths: Sequence[str | os.PathLike]) -> list[RunStore]:
    """The runs named by ``paths``: run folders, or one ``compare`` / ``consensus`` folder
    (its finished ``jobs/baseline-seed<k>`` runs), or a consensus run (its seeds).

    Sorted by seed; raises :class:`RunStoreError` for a path that is none of these."""
    stores: list[RunStore] = []
    for p in (Path(x) for x in paths):
        if is_run_dir(p):
            store = RunStore.open(p)
            record = store.info.get(CONSENSUS_FIELD)
            if record and len(paths) == 1:
                return seed_runs(record["runs"])
            stores.append(store)
        elif (p / "jobs").is_dir():
            found = []
            for job in (p / "jobs").iterdir():
                m = re.fullmatch(r"baseline-seed(\d+)", job.name)
                if m and is_run_dir(job):
                    store = RunStore.open(job)
                    if store.status == "finished":
                        found.append(store)
            if not found:
                raise RunStoreError(f"{p}: no finished baseline run in {p / 'jobs'}")
            stores.extend(found)
        else:
            raise RunStoreError(
                f"{p}: neither a run folder nor a compare / consensus folder (no run.json, "
                "no jobs/)"
            )
    return sorted(stores, key=_seed_of)


def _differs(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str)


def _run_fields(s: RunStore) -> dict[str, Any]:
    """What makes a run's configuration, its seed and execution aside."""
    train = {k: v for k, v in s.train_config.items() if k not in _EXECUTION_FIELDS}
    d = {f"train_config.{k}": v for k, v in train.items()}
    for key in ("source", "tracker_config", "volume_shape", "class_names",
                "eval_sections", "map_sections", "parent", "augmented_pool"):  # fmt: skip
        d[key] = s.info.get(key)
    d["epochs complete"] = s.n_epochs
    d["test volumes"] = s.test_names
    return d


def configuration_difference(a: RunStore, b: RunStore) -> str | None:
    """The first field (with both values) in which two runs' configurations differ, their
    seeds and execution (device, threads) aside; ``None`` when they are one configuration."""
    ref, other = _run_fields(a), _run_fields(b)
    for key in [*ref, *(k for k in other if k not in ref)]:
        if _differs(ref.get(key), other.get(key)):
            return f"{key} ({other.get(key)!r} vs {ref.get(key)!r})"
    return None


def check_seed_runs(stores: Sequence[RunStore]) -> None:
    """Raise ``ValueError`` in one line naming the field unless the runs differ only in their
    seed (and in how they were executed: device, threads): the same data, sections, training
    and tracking configuration, parent and pool, the same completed epochs, distinct seeds."""
    if len(stores) < 2:
        raise ValueError(f"stability needs at least 2 runs, got {len(stores)}")
    first = stores[0]
    seeds = {_seed_of(first): first.path}
    for s in stores[1:]:
        key = configuration_difference(first, s)
        if key is not None:
            raise ValueError(
                f"{s.path} differs from {first.path} in {key}: runs compared for stability "
                "must differ only in the seed"
            )
        seed = _seed_of(s)
        if seed in seeds:
            raise ValueError(f"{s.path} and {seeds[seed]} have the same seed {seed}")
        seeds[seed] = s.path
    if first.n_epochs == 0:
        raise ValueError(f"{first.path}: no complete epoch")


# ------------------------------------------------------------------------------ splits


def _volumes(stores: Sequence[RunStore], split: str) -> list[tuple[str, list[RunStore]]]:
    tests = stores[0].test_names
    if split == "validation":
        return [("", list(stores))]
    if split in tests:
        return [(split, [s.test(split) for s in stores])]
    if split == "test":
        if not tests:
            raise ValueError(f"{stores[0].path} tracked no test volume: no split 'test'")
        return [(t, [s.test(t) for s in stores]) for t in tests]
    if split == "all":
        return [("", list(stores))] + [(t, [s.test(t) for s in stores]) for t in tests]
    raise ValueError(f"unknown split {split!r}; choose from {', '.join([*SPLITS, *tests])}")


@dataclass
class SplitMaps:
    """The mapped sections of one split across ``R`` runs: section ``keys`` (a test volume's
    prefixed, ``"test1 inline:3"``), their ``shapes``, ``labels`` (flat, the same in every
    run), ``counts`` ``(R, P)`` float64 (each run's scores at ``epoch``), flat ``offsets``."""

    split: str
    keys: list[str]
    shapes: list[tuple[int, int]]
    labels: np.ndarray
    counts: np.ndarray
    offsets: np.ndarray
    epoch: int

    def class_densities(
        self, class_id: int, n_classes: int, min_pixels: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(eligible, densities, n_class)``: the sections holding at least ``min_pixels``
        (at least 1) of ``class_id``, each run's class density there ``(R, S_eligible)``,
        and every section's class pixel count."""
        labels = self.section_labels()
        n_class = np.array([int(np.count_nonzero(lab == class_id)) for lab in labels])
        eligible = np.flatnonzero(n_class >= max(1, int(min_pixels)))
        dens = np.stack(
            [density_table(self.section_counts(i), labels, n_classes)[eligible, class_id]
             for i in range(self.counts.shape[0])]
        )  # fmt: skip
        return eligible, dens, n_class

    def section_labels(self) -> list[np.ndarray]:
        o = self.offsets
        return [self.labels[o[i] : o[i + 1]].reshape(sh) for i, sh in enumerate(self.shapes)]

    def section_counts(self, run: int) -> list[np.ndarray]:
        o = self.offsets
        c = self.counts[run]
        return [c[o[i] : o[i + 1]].reshape(sh) for i, sh in enumerate(self.shapes)]


def split_maps(
    stores: Sequence[RunStore],
    split: str,
    epoch: int | None = None,
    statistic: str = "forgetting",
) -> SplitMaps:
    """Read ``split`` of every run at ``epoch`` (default: the last complete one): the
    per-pixel values of ``statistic`` (default: the forgetting events, each run's
    never-learned pixels scored by its convention)."""
    keys, shapes, labels, counts = [], [], [], []
    e = stores[0].epoch_index(epoch)
    for name, vol in _volumes(stores, split):
        ref = vol[0]
        lab = np.concatenate([x.ravel() for x in ref.all_map_labels()] or [np.zeros(0, np.uint8)])
        for s in vol[1:]:
            other = np.concatenate([x.ravel() for x in s.all_map_labels()] or [lab[:0]])
            if other.shape != lab.shape or not np.array_equal(other, lab):
                raise ValueError(f"{s.path}: labels differ from {ref.path}'s: not the same data")
        keys += [f"{name} {sec.key}" if name else sec.key for sec in ref.map_sections]
        shapes += [tuple(sec.shape) for sec in ref.map_sections]
        labels.append(lab)
        counts.append(np.stack([flat_values(s, statistic, e) for s in vol]))
    sizes = [r * c for r, c in shapes]
    return SplitMaps(
        split=split,
        keys=keys,
        shapes=shapes,
        labels=np.concatenate(labels),
        counts=np.concatenate(counts, axis=1),
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        epoch=e,
    )


# ------------------------------------------------------------------------------ stability


@dataclass
class StabilityResult:
    """Every stability figure of one split and class over ``runs`` (see
    :mod:`napari_forgetting.dynamics.stability`): ``keys`` the eligible sections (holding at
    least ``min_pixels`` of the class), ``densities`` ``(R, S)`` the class's forgetting
    density there, ``sections`` / ``bootstrap`` / ``pixels`` the figures."""

    split: str
    class_name: str
    class_id: int
    min_pixels: int
    runs: list[str]
    seeds: list[int]
    epoch: int
    keys: list[str]
    densities: np.ndarray
    sections: SectionStability
    bootstrap: SectionBootstrap
    pixels: dict[str, PixelStability] = field(default_factory=dict)
    n_mapped: int = 0
    statistic: str = "forgetting"

    @property
    def never_learned_runs(self) -> list[int]:
        """Seeds whose densities are all equal (every one 0: the class never learned)."""
        return [self.seeds[r] for r in self.sections.constant]

    def to_dict(self) -> dict[str, Any]:
        b = self.bootstrap
        return json_floats({
            "split": self.split,
            "class": self.class_name,
            "class_id": self.class_id,
            "statistic": self.statistic,
            "min_pixels": self.min_pixels,
            "runs": self.runs,
            "seeds": self.seeds,
            "epoch": self.epoch,
            "n_mapped": self.n_mapped,
            "never_learned_seeds": self.never_learned_runs,
            "sections": self.sections.to_dict(),
            "pixels": {k: v.to_dict() for k, v in self.pixels.items()},
            "per_section": [
                {
                    "section": key,
                    "mean": float(b.mean[i]),
                    "low": float(b.low[i]),
                    "high": float(b.high[i]),
                    "p_top": float(b.p_top[i]),
                    "densities": [float(x) for x in self.densities[:, i]],
                }
                for i, key in enumerate(self.keys)
            ],
            "bootstrap": {"k": b.k, "level": b.level, "draws": b.draws},
        })  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """The few figures a single run's ranking quotes (``run.json``'s ``stability``)."""
        s = self.sections
        return json_floats({
            "class": self.class_name,
            "statistic": self.statistic,
            "split": self.split,
            "n_runs": s.n_runs,
            "n_sections": s.n_sections,
            "k": s.k,
            "spearman": s.mean_spearman,
            "jaccard": s.mean_jaccard,
            "jaccard_chance": s.jaccard_chance,
            "seeds_needed": s.seeds_needed,
            "pixel_spearman_loo": self.pixels["class"].mean_loo if "class" in self.pixels else None,
            "min_pixels": self.min_pixels,
            "epoch": self.epoch,
            "never_learned_seeds": self.never_learned_runs,
        })  # fmt: skip

    def headline(self) -> str:
        """One line: the split's key figures (or why there are none)."""
        s = self.sections
        head = f"{self.split}: {s.n_sections} sections"
        if len(s.constant) >= s.n_runs - 1:
            return (
                f"{head}: every density equal in seed(s) "
                f"{', '.join(map(str, self.never_learned_runs))} (class {self.class_name} "
                "never learned or never forgotten): no ranking to compare"
            )
        return (
            f"{head}, Spearman {_fmt(s.mean_spearman)}, top-{s.k} Jaccard "
            f"{_fmt(s.mean_jaccard)} (chance {_fmt(s.jaccard_chance)}), pixels "
            f"{_fmt(self.pixels['class'].mean_loo)} (one seed vs the others); a consensus of "
            f"{_fmt_seeds(s.seeds_needed)} seeds reaches rho 0.9"
        )

    def format_table(self) -> str:
        """The ``stability`` command's text: the summary, the pairs, the pixels, per section."""
        s, b = self.sections, self.bootstrap
        f = _fmt
        lines = [
            f"split {self.split}, class {self.class_name} (id {self.class_id}), statistic "
            f"{self.statistic}, epoch "
            f"{self.epoch + 1}: {len(self.runs)} runs (seeds {', '.join(map(str, self.seeds))}),"
            f" {s.n_sections} of {self.n_mapped} sections hold >= {self.min_pixels} pixels of "
            "the class",
        ]
        if s.n_sections < 10:
            lines.append(
                f"  few sections: a ranking of {s.n_sections} sections says little; lower "
                "--min-pixels or use --split all"
            )
        if s.constant:
            lines.append(
                "  never learned (every density equal, left out of the figures): seed(s) "
                + ", ".join(map(str, self.never_learned_runs))
            )
        lines += [
            f"sections ({self.statistic}: the class's per-section mean):",
            f"  Spearman, mean over pairs      {f(s.mean_spearman)}",
            f"  Kendall tau-b, mean over pairs {f(s.mean_kendall)}",
            f"  top-{s.k} Jaccard, mean          {f(s.mean_jaccard)}   (chance "
            f"{f(s.jaccard_chance)})",
            "  each run vs mean of the others " + "  ".join(f(x) for x in s.loo_spearman),
            f"  split-half (means of {s.half} vs {s.half}) {f(s.split_half)}",
            f"  seeds a consensus needs for rho {0.9}: {_fmt_seeds(s.seeds_needed)} "
            "(Spearman-Brown on the mean pairwise rho; predicted: "
            + ", ".join(f"{m}: {f(v)}" for m, v in s.predicted.items())
            + ")",
            "  pairs (seed, seed): Spearman / Kendall / Jaccard",
        ]
        for i, j, rho, tau, jac in s.pairs:
            lines.append(
                f"    {self.seeds[i]:>3} {self.seeds[j]:>3}: {f(rho)} / {f(tau)} / {f(jac)}"
            )
        lines.append(f"pixels ({self.statistic}): Spearman pairwise / each vs the others")
        for name, p in self.pixels.items():
            lines.append(
                f"  {name:<9} {p.n_pixels:>9d} px  {f(p.mean_pairwise)} / {f(p.mean_loo)}   ("
                + " ".join(f(x) for x in p.loo)
                + ")"
            )
        lines.append(
            f"per section, by mean density: P(top {b.k}) over {b.draws} bootstrap draws of "
            f"the seeds, {b.level:.0%} interval"
        )
        width = max([7] + [len(k) for k in self.keys])
        lines.append(f"  {'section':<{width}}  {'mean':>7}  {'interval':>17}  {'P(top)':>6}")
        for i in np.argsort(-b.mean, kind="stable"):
            lines.append(
                f"  {self.keys[i]:<{width}}  {b.mean[i]:7.3f}  [{b.low[i]:7.3f}, "
                f"{b.high[i]:7.3f}]  {b.p_top[i]:6.2f}"
            )
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return "   n/a" if x is None or not np.isfinite(x) else f"{x:+.3f}"


def _fmt_seeds(m: float) -> str:
    if not np.isfinite(m):
        return "never (a single run's rho <= 0)" if m == float("inf") else "n/a"
    return f"{int(m)}"


def measure_stability(
    stores: Sequence[RunStore],
    cls: str | int,
    *,
    split: str = "validation",
    k: int = 6,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    epoch: int | None = None,
    statistic: str = "forgetting",
) -> StabilityResult:
    """Stability of ``cls``'s forgetting (or another ranking ``statistic``: its per-pixel
    values and their class means) over runs that differ only in the seed.

    Raises ``ValueError`` (one line) for runs that differ otherwise, an unknown split or
    class, or fewer than 2 eligible sections."""
    stores = list(stores)
    check_seed_runs(stores)
    class_id = resolve_class(stores[0].class_names, cls)
    class_name = stores[0].class_names[class_id]
    maps = split_maps(stores, split, epoch, statistic)
    labels = maps.section_labels()
    eligible, dens, n_class = maps.class_densities(class_id, stores[0].n_classes, min_pixels)
    if eligible.size < 2:
        raise ValueError(
            f"split {split}: {eligible.size} section(s) hold >= {min_pixels} pixels of class "
            f"{class_name!r} (the most: {int(n_class.max()) if n_class.size else 0}); lower "
            "--min-pixels or choose another split"
        )
    r = maps.counts.shape[0]
    sec = section_stability(dens, k)
    good = [i for i in range(r) if i not in set(constant_runs(dens))]
    boot = bootstrap_sections(dens[good] if good else dens, k)
    interior = np.concatenate([interior_mask(lab).ravel() for lab in labels])
    cls_mask = maps.labels == class_id
    counts = maps.counts[good] if len(good) >= 2 else maps.counts
    pixels = {
        "class": pixel_stability(counts, cls_mask, "class"),
        "interior": pixel_stability(counts, cls_mask & interior, "interior"),
        "all": pixel_stability(counts, np.ones_like(cls_mask), "all"),
    }
    return StabilityResult(
        split=split,
        class_name=class_name,
        class_id=class_id,
        min_pixels=int(min_pixels),
        runs=[str(s.path) for s in stores],
        seeds=[_seed_of(s) for s in stores],
        epoch=maps.epoch,
        keys=[maps.keys[i] for i in eligible],
        densities=dens,
        sections=sec,
        bootstrap=boot,
        pixels=pixels,
        n_mapped=len(maps.keys),
        statistic=statistic,
    )


def record_stability(result: StabilityResult) -> None:
    """Keep ``result``'s summary in each seed run's ``run.json`` (field
    :data:`STABILITY_FIELD`, one entry per class), so its ranking can say how much of it to
    expect to move with another seed (:func:`stability_note`)."""
    for path in result.runs:
        store = RunStore.open(path, mode="a")
        record = dict(store.info.get(STABILITY_FIELD) or {})
        record[result.class_name] = result.summary()
        store.update_info(**{STABILITY_FIELD: record})


# ------------------------------------------------------------------------------ consensus


def consensus_record(store: RunStore) -> dict[str, Any] | None:
    """The ``consensus`` record of a consensus run (its seeds), ``None`` for a single run."""
    rec = store.info.get(CONSENSUS_FIELD)
    return dict(rec) if rec else None


def _mean_records(records: Sequence[Any]) -> Any:
    """Numbers (and lists / dicts of them) averaged over seeds; anything else the first's."""
    first = records[0]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        return first
    if isinstance(first, (int, float)):
        vals = [float(r) for r in records if isinstance(r, (int, float))]
        return float(np.mean(vals)) if len(vals) == len(records) else first
    if isinstance(first, list):
        if all(isinstance(r, list) and len(r) == len(first) for r in records):
            return [_mean_records([r[i] for r in records]) for i in range(len(first))]
        return first
    if isinstance(first, dict):
        keys = [k for k in first if all(isinstance(r, dict) and k in r for r in records)]
        return {k: _mean_records([r[k] for r in records]) for k in keys}
    return first


def _majority(preds: np.ndarray, n_classes: int) -> np.ndarray:
    """The most frequent class per pixel over runs ``(R, P)`` (ties: the lowest id)."""
    votes = np.zeros((n_classes + 1, preds.shape[1]), dtype=np.int32)
    for row in preds:
        np.add.at(votes, (np.minimum(row, n_classes), np.arange(row.size)), 1)
    return votes.argmax(axis=0).astype(np.uint8)


def _write_consensus(stores: Sequence[RunStore], out: Path, extra: dict[str, Any]) -> RunStore:
    ref = stores[0]
    e_n = ref.n_epochs
    floats = [m for m in _MEAN_MAPS if all(m in s.map_names for s in stores)]
    maps = {"forgetting_events": np.float32, "never_learned": np.bool_,
            "agreement": np.float32, **dict.fromkeys(floats, np.float32)}  # fmt: skip
    same = bool(ref.info.get("maps_same_as_eval", True))
    keep = ("source", "parent", "augmented_pool", "budget", "aspp_rates", "untrained_taps")
    info_extra = {k: ref.info[k] for k in keep if k in ref.info}
    train = {**ref.train_config, "seed": None}
    store = RunStore.create(
        out,
        eval_sections=ref.eval_sections,
        eval_labels=ref.all_labels(),
        map_sections=None if same else ref.map_sections,
        map_labels=None if same else ref.all_map_labels(),
        maps=maps,
        epochs=e_n,
        volume_shape=ref.volume_shape,
        class_names=ref.class_names,
        train_config=train,
        tracker_config=ref.info.get("tracker_config"),
        source=ref.info.get("source"),
        parent=ref.info.get("parent"),
        extra={**info_extra, CONSENSUS_FIELD: extra},
        overwrite=True,
    )
    labels = ref.all_map_labels()
    dens = np.full((len(stores), e_n, len(ref.map_sections), ref.n_classes), np.nan)
    for e in range(e_n):
        counts = np.stack([s.flat_heatmap(e).astype(np.float64) for s in stores])
        mean, agreement = consensus_maps(counts)
        for r in range(len(stores)):
            dens[r, e] = density_table(ref.split_map(counts[r]), labels, ref.n_classes)
        row = {
            "forgetting_events": mean,
            "agreement": agreement,
            "never_learned": np.logical_and.reduce(
                [s.flat_map("never_learned", e).astype(bool) for s in stores]
            ),
        }
        for m in floats:
            row[m] = np.mean([s.flat_map(m, e).astype(np.float64) for s in stores], axis=0)
        preds = np.stack([s.flat_predictions(e) for s in stores])
        store.write_epoch(e, _majority(preds, ref.n_classes), row)
    np.save(out / SEED_DENSITY_FILE, dens)
    test_metrics = [s.state.get("test_metrics") for s in stores]
    extra_state = {}
    if all(isinstance(t, dict) for t in test_metrics):
        extra_state["test_metrics"] = _mean_records(test_metrics)
    store.commit(
        e_n,
        history=_mean_records([s.history for s in stores]) if e_n else [],
        status="finished",
        message=f"consensus of {len(stores)} seeds",
        **extra_state,
    )
    return store


def build_consensus(
    stores: Sequence[RunStore], out: str | os.PathLike, *, extra: dict[str, Any] | None = None
) -> RunStore:
    """Write the consensus run of ``stores`` (checked to differ only in the seed) into
    ``out``, its test volumes into ``out/tests/<name>``. An earlier consensus in ``out`` is
    replaced; any other run there is refused (``FileExistsError``). ``extra``: more fields
    of the ``consensus`` record (e.g. the stability figures)."""
    stores = list(stores)
    check_seed_runs(stores)
    out = Path(out)
    if is_run_dir(out) and not consensus_record(RunStore.open(out)):
        raise FileExistsError(f"{out} holds a training run, not a consensus: choose another folder")
    if (out / "tests").is_dir():
        shutil.rmtree(out / "tests")
    record = {
        "runs": [str(s.path.resolve()) for s in stores],
        "seeds": [_seed_of(s) for s in stores],
        "n_runs": len(stores),
        "agreement_quantile": 0.95,
        **(extra or {}),
    }
    _write_consensus(stores, out, record)
    for name in stores[0].test_names:
        _write_consensus([s.test(name) for s in stores], out / "tests" / name, record)
    return RunStore.open(out)


def section_uncertainty(
    store: RunStore,
    class_id: int,
    keys: Sequence[str],
    k: int,
    epoch: int | None = None,
) -> SectionBootstrap | None:
    """For a consensus run: P(top ``k``) and the density interval of the sections ``keys``
    (a ranking's rows, in their order) from its seeds' densities; ``None`` for a single run
    or a consensus without :data:`SEED_DENSITY_FILE`."""
    if not consensus_record(store) or not (store.path / SEED_DENSITY_FILE).is_file():
        return None
    dens = np.load(store.path / SEED_DENSITY_FILE, allow_pickle=False)
    e = store.epoch_index(epoch)
    index = [store.map_index(key) for key in keys]
    values = dens[:, e, index, class_id]
    if not values.size:
        return None
    return bootstrap_sections(np.nan_to_num(values), k)


def measured_stability(
    store: RunStore, measurement: str | os.PathLike, class_name: str | None
) -> dict[str, Any]:
    """The stability summary of ``class_name`` measured over the seed runs of
    ``measurement`` (a ``consensus`` / ``compare`` folder, or a run that was measured),
    for a run ``store`` of the same configuration that need not be one of them. Raises
    ``ValueError`` in one line when the configurations differ (naming the field) or the
    folder holds no measurement of the class."""
    seeds = seed_runs([measurement])
    if not seeds:
        raise ValueError(f"{measurement}: no seed runs here")
    key = configuration_difference(seeds[0], store)
    if key is not None:
        raise ValueError(
            f"{store.path} is not of the configuration measured in {measurement}: it differs "
            f"in {key}"
        )
    summary = (seeds[0].info.get(STABILITY_FIELD) or {}).get(class_name or "")
    if not summary:
        raise ValueError(
            f"{measurement}: no stability measurement of class {class_name!r} (napari-forgetting "
            "consensus, or stability ... --record)"
        )
    return {**summary, "measured_in": str(Path(measurement))}


def stability_note(
    store: RunStore, class_name: str | None, measured: dict[str, Any] | None = None
) -> str:
    """One line for a ranking of ``store``: a consensus says how many seeds, a single run says
    that one seed was used and, where a stability measurement included it (or ``measured``,
    :func:`measured_stability` of its configuration over other seeds), how much of the
    ranking to expect to move with another seed."""
    rec = consensus_record(store)
    if rec:
        return (
            f"consensus of {rec.get('n_runs', len(rec.get('runs', [])))} seeds "
            f"({', '.join(map(str, rec.get('seeds', [])))}): P(top k) and intervals from "
            "bootstrap draws of the seeds"
        )
    note = "one seed: another seed ranks differently"
    stab = measured or (store.info.get(STABILITY_FIELD) or {}).get(class_name or "")
    if not stab:
        return (
            note + "; no stability measurement of this configuration (napari-forgetting "
            "consensus, or stability RUN RUN ...)"
        )
    k = stab.get("k")
    jac, chance, rho = stab.get("jaccard"), stab.get("jaccard_chance"), stab.get("spearman")
    where = f"measured over {stab.get('n_runs')} seeds of this configuration ({stab.get('split')}"
    where += f", in {stab['measured_in']})" if stab.get("measured_in") else ")"
    if not isinstance(jac, (int, float)) or not isinstance(rho, (int, float)):
        never = stab.get("never_learned_seeds") or []
        return (
            f"{note}: {where}, the rankings could not be compared (every density equal in "
            f"seed(s) {', '.join(map(str, never)) or '?'}: the class never learned)"
        )
    stay = 2 * k * jac / (1 + jac)  # |A ∩ B| of two top-k sets with Jaccard J
    needed = stab.get("seeds_needed")
    return (
        f"{note}: {where}, Spearman {rho:+.2f}, top-{k} Jaccard {jac:.2f} (chance "
        f"{chance:.2f}): expect about {k - stay:.1f} of the top {k} to change; a consensus of "
        f"{needed if needed != 'inf' else 'no number of'} seeds reaches rho 0.9"
    )
