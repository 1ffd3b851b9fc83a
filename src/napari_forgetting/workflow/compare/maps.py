"""The heat maps of a comparison report, section by section: Fig. 5's panels.

A report folder written by ``napari-forgetting compare`` holds one finished run store per
``(method, seed)`` under ``jobs/`` (``baseline-seed0``, ``transfer-seed1``, ...), each with the
validation sections and, as child stores, the tracked sections of the test volumes.
:class:`ComparisonMaps` reads them back so one section can be shown under every method:
``panel(split, key)`` gives the labels, each method's forgetting events, one colour scale
for all of them, and the baseline's high-density forgetting regions
(:mod:`~napari_forgetting.dynamics.regions`, at the threshold of that seed and split, as
in ``regions.csv``). The report's ``heatmaps.png`` and the napari Compare dock both draw
from it.

Where the folder also holds the baseline's consensus run over its seeds (``consensus/``,
:mod:`~napari_forgetting.runs.consensus`: mean counts, its test volumes in
``consensus/tests/<name>``), :attr:`ComparisonMaps.consensus` is that run and the seed
:data:`CONSENSUS` asks for it: ``panel(split, key, CONSENSUS)`` puts the consensus's mean
heat map in the baseline's place (its regions found in it, at the same threshold rule over the
consensus's sections) and each other method's lowest finished seed beside it.

>>> maps = ComparisonMaps("report/")
>>> maps.splits, maps.methods, maps.seeds
>>> panel = maps.panel("test1", "inline:12")
>>> panel = maps.panel("test1", "inline:12", CONSENSUS)  # where maps.consensus is not None
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.dynamics.regions import high_density_regions, region_threshold
from napari_forgetting.runs.consensus import CONSENSUS_DIR, consensus_record
from napari_forgetting.runs.store import RunStore, RunStoreError, is_run_dir
from napari_forgetting.workflow.compare.config import JOBS_DIR, METHODS, REPORT_FILE

__all__ = ["CONSENSUS", "ComparisonMaps", "SectionPanel"]

#: A job folder's name, as :func:`~.compare.job_name` writes it.
_JOB = re.compile(r"^(?P<method>.+)-seed(?P<seed>\d+)$")
#: The "seed" that asks for the baseline's consensus run over its seeds (``consensus/``).
CONSENSUS = "consensus"
#: The method whose seeds the report's consensus run is built from.
_CONSENSUS_METHOD = "baseline"


@dataclass(frozen=True)
class SectionPanel:
    """One section under every method: ``maps[method]`` its forgetting events (float
    ``(rows, cols)``) in the run of seed ``seeds[method]``; ``vmax`` the colour scale's top,
    shared; ``regions`` the baseline's high-density regions numbered ``1..n`` (``None``
    without a baseline), found at ``threshold``.

    With ``consensus_seeds`` (the seed :data:`CONSENSUS`) the baseline's map is the mean heat
    map of its consensus run over those seeds (``seeds`` has no baseline entry then), its
    regions found in it, and every other method's map is its lowest finished seed's."""

    split: str
    key: str
    labels: np.ndarray
    maps: dict[str, np.ndarray]
    seeds: dict[str, int]
    vmax: float
    regions: np.ndarray | None = None
    threshold: float | None = None
    consensus_seeds: tuple[int, ...] = ()

    def title(self, method: str) -> str:
        """The cell title of ``method``'s map: its seed, or the consensus of how many."""
        if self.consensus_seeds and method not in self.seeds:
            return f"{method}, consensus of {len(self.consensus_seeds)} seeds"
        if self.consensus_seeds:
            return f"{method} (lowest finished seed {self.seeds[method]})"
        return f"{method} (seed {self.seeds[method]})"

    def seeds_text(self) -> str:
        """Whose map each method's is, in one line: ``"baseline 0, flip 0"``."""
        parts = []
        for method in self.maps:
            if method in self.seeds:
                parts.append(f"{method} {self.seeds[method]}")
            else:
                seeds = ", ".join(map(str, self.consensus_seeds))
                parts.append(f"{method} consensus of {len(self.consensus_seeds)} seeds ({seeds})")
        return ", ".join(parts)


class ComparisonMaps:
    """The finished runs of a comparison report folder, by method, seed and split."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.path = Path(out)
        jobs = self.path / JOBS_DIR
        if not jobs.is_dir():
            raise RunStoreError(f"{self.path}: not a comparison report (no {JOBS_DIR}/ folder)")
        found: dict[tuple[str, int], RunStore] = {}
        for child in sorted(jobs.iterdir()):
            match = _JOB.match(child.name)
            if match is None or not is_run_dir(child):
                continue
            store = RunStore.open(child)
            if store.status == "finished" and store.n_epochs > 0:
                found[(match["method"], int(match["seed"]))] = store
        if not found:
            raise RunStoreError(f"{self.path}: no finished run under {JOBS_DIR}/")
        self._stores = found
        record = _read_record(self.path / REPORT_FILE)
        names = {m for m, _ in found}
        self.methods = [m for m in METHODS if m in names] + sorted(names - set(METHODS))
        self.seeds = sorted({s for _, s in found})
        #: the class the comparison is about (the report's; the paper's scruff for reports
        #: written before it was recorded)
        self.cls: str = str(record.get("class", "scruff"))
        #: the fewest pixels of the class a ranked section holds (the report's ``--min-pixels``)
        self.min_pixels = int(record.get("min_pixels", DEFAULT_MIN_PIXELS))
        first = self._stores[min(found, key=lambda k: (self.methods.index(k[0]), k[1]))]
        self.class_names = list(first.class_names)
        tests = [n for n in first.test_names if all(n in s.test_names for s in found.values())]
        self.splits = ["validation", *tests]
        self._thresholds: dict[tuple[int | str, str], float | None] = {}
        #: the baseline's consensus run over its seeds (``consensus/``), ``None`` without one
        self.consensus: RunStore | None = _open_consensus(self.path / CONSENSUS_DIR)

    @property
    def consensus_seeds(self) -> list[int]:
        """The seeds the consensus run averages (``[]`` without one)."""
        if self.consensus is None:
            return []
        record = consensus_record(self.consensus) or {}
        return [int(s) for s in record.get("seeds", [])]

    def consensus_store(self, split: str = "validation") -> RunStore | None:
        """The consensus run of ``split`` (a test volume: its ``tests/<name>``), ``None``
        without a consensus or where it did not track that volume."""
        cons = self.consensus
        if cons is None or split == "validation":
            return cons
        return cons.test(split) if split in cons.test_names else None

    def ranked_store(self, split: str, seed: int | str | None = None) -> RunStore | None:
        """The run whose hotspots the report is read by: the baseline's (the first method's
        where there is none) of ``seed`` on ``split`` -- ``None`` the lowest finished seed,
        :data:`CONSENSUS` the consensus run -- ``None`` where there is no such run."""
        if seed == CONSENSUS:
            return self.consensus_store(split)
        method = _CONSENSUS_METHOD if _CONSENSUS_METHOD in self.methods else self.methods[0]
        s = self.seed_of(method, seed)  # type: ignore[arg-type]
        return None if s is None else self.store(method, s, split)

    def store(self, method: str, seed: int, split: str = "validation") -> RunStore | None:
        """The run store of ``method`` and ``seed`` on ``split`` (``None``: not finished)."""
        store = self._stores.get((method, int(seed)))
        if store is None or split == "validation":
            return store
        return store.test(split) if split in store.test_names else None

    def seed_of(self, method: str, seed: int | None = None) -> int | None:
        """``seed`` if that run finished, else (``seed`` ``None``) the lowest finished one."""
        seeds = sorted(s for m, s in self._stores if m == method)
        if seed is None:
            return seeds[0] if seeds else None
        return int(seed) if int(seed) in seeds else None

    def _reference(self, split: str) -> RunStore | None:
        """The store of ``split`` that names its sections: the first method's lowest seed."""
        method = self.methods[0]
        return self.store(method, self.seed_of(method), split)  # type: ignore[arg-type]

    def sections(self, split: str) -> list[str]:
        """The keys of the mapped sections of ``split``, in store order."""
        store = self._reference(split)
        return [] if store is None else [s.key for s in store.map_sections]

    def sections_with_class(self, split: str, n: int) -> list[str]:
        """The ``n`` sections of ``split`` holding the most pixels of :attr:`cls` (all
        pixels when the data lacks it), in store order: Fig. 5's rows."""
        store = self._reference(split)
        if store is None:
            return []
        cid = self.class_names.index(self.cls) if self.cls in self.class_names else None
        counts = []
        for i in range(len(store.map_sections)):
            lab = store.map_labels(i)
            counts.append(int((lab == cid).sum()) if cid is not None else int(lab.size))
        order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))[:n]
        return [store.map_sections[i].key for i in sorted(order)]

    def threshold(self, seed: int | str, split: str) -> float | None:
        """The baseline's high-density threshold of ``(seed, split)`` (``regions.csv``'s);
        for the seed :data:`CONSENSUS` the same rule over the consensus's mean heat maps."""
        if (seed, split) not in self._thresholds:
            value = None
            if seed == CONSENSUS:
                cons = self.consensus_store(split)
                if cons is not None and cons.map_sections:
                    value = region_threshold(cons.heatmaps())
            else:
                base = self.store("baseline", seed, split)  # type: ignore[arg-type]
                if base is not None and "forgetting_events" in base.map_names:
                    flat = base.flat_map("forgetting_events")
                    value = region_threshold(base.split_map(flat))
            self._thresholds[(seed, split)] = value
        return self._thresholds[(seed, split)]

    def panel(self, split: str, key: str, seed: int | str | None = None) -> SectionPanel:
        """Section ``key`` of ``split`` under every method that has it: the run of ``seed``,
        or (``None``) each method's lowest finished seed, or (:data:`CONSENSUS`) the
        baseline's consensus run beside each other method's lowest finished seed.
        ``KeyError`` for a section the split does not map, or a split the consensus lacks."""
        if seed == CONSENSUS:
            return self._consensus_panel(split, key)
        maps: dict[str, np.ndarray] = {}
        seeds: dict[str, int] = {}
        labels = None
        for method in self.methods:
            s = self.seed_of(method, seed)  # type: ignore[arg-type]
            store = None if s is None else self.store(method, s, split)
            if store is None or "forgetting_events" not in store.map_names:
                continue
            maps[method] = store.map("forgetting_events", key).astype(float)
            seeds[method] = int(s)  # type: ignore[arg-type]
            if labels is None:
                labels = store.map_labels(key)
        if labels is None:
            raise KeyError(f"{key!r}: no finished run maps it on {split}")
        vmax = max(1.0, max(float(m.max()) for m in maps.values()))
        regions = threshold = None
        if "baseline" in maps:
            threshold = self.threshold(seeds["baseline"], split)
            if threshold is not None:
                regions, _ = high_density_regions(maps["baseline"], threshold)
        return SectionPanel(split, key, labels, maps, seeds, vmax, regions, threshold)

    def _consensus_panel(self, split: str, key: str) -> SectionPanel:
        """:meth:`panel` for the seed :data:`CONSENSUS`: the consensus's mean heat map (its
        never-learned pixels scored as its seeds' were) in the baseline's place."""
        cons = self.consensus_store(split)
        if cons is None:
            where = "no consensus/ run" if self.consensus is None else f"none of {split}"
            raise KeyError(f"{self.path}: {where}: no baseline consensus to show")
        mean = cons.heatmap(key).astype(float)  # KeyError for a section it does not map
        labels = cons.map_labels(key)
        maps: dict[str, np.ndarray] = {}
        seeds: dict[str, int] = {}
        methods = list(self.methods)
        if _CONSENSUS_METHOD not in methods:
            methods.insert(0, _CONSENSUS_METHOD)
        for method in methods:
            if method == _CONSENSUS_METHOD:
                maps[method] = mean
                continue
            s = self.seed_of(method)
            store = None if s is None else self.store(method, s, split)
            if store is None or "forgetting_events" not in store.map_names:
                continue
            maps[method] = store.map("forgetting_events", key).astype(float)
            seeds[method] = int(s)  # type: ignore[arg-type]
        vmax = max(1.0, max(float(m.max()) for m in maps.values()))
        threshold = self.threshold(CONSENSUS, split)
        regions = None
        if threshold is not None:
            regions, _ = high_density_regions(mean, threshold)
        return SectionPanel(
            split, key, labels, maps, seeds, vmax, regions, threshold,
            consensus_seeds=tuple(self.consensus_seeds),
        )  # fmt: skip


def _open_consensus(path: Path) -> RunStore | None:
    """The finished consensus run at ``path``; ``None`` where there is none (or it cannot be
    read: the report opens without it)."""
    try:
        if not is_run_dir(path):
            return None
        store = RunStore.open(path)
    except (RunStoreError, OSError, ValueError, KeyError):
        return None
    if not consensus_record(store) or store.status != "finished" or store.n_epochs == 0:
        return None
    return store


def _read_record(path: Path) -> dict[str, Any]:
    """``compare.json`` as a dict; ``{}`` where a report from before it has none."""
    try:
        with open(path) as fh:
            record = json.load(fh)
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise RunStoreError(f"{path}: unreadable JSON ({exc})") from None
    return record if isinstance(record, dict) else {}
