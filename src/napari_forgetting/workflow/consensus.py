"""A consensus over seeds in one call: N seeds of one configuration as jobs, then their
stability and their consensus run.

    napari-forgetting consensus --preset cpu-lite --seeds 4 --out cons/

The seeds are the comparison's ``baseline`` jobs (:func:`~.compare.build_jobs`, run by the one
job runner :func:`~.compare.run_jobs`: a ``LocalCluster`` by default, ``--scheduler`` for a
cluster, finished seeds skipped, interrupted ones resumed) in ``OUT/jobs/baseline-seed<k>/``.
Then, written into ``OUT/``:

* ``consensus/`` -- the consensus run (:func:`~..runs.consensus.build_consensus`): mean counts
  and agreement per epoch, its test volumes, each seed's densities for P(top k);
* ``stability.json`` / ``stability.txt`` -- every stability figure of the class for each
  split (:func:`~..runs.consensus.measure_stability`);
* each seed run's ``run.json`` gets the summary (``stability``), so a ranking of one seed can
  say how much of it to expect to move.

The folder is also a ``stability`` argument and a ``compare`` folder's layout, so
``stability OUT`` and ``rank OUT/consensus`` work on it. No Qt or napari here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from napari_forgetting.data.folders import claim
from napari_forgetting.data.writers import atomic_path, write_json
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

__all__ = ["DEFAULT_SNAPSHOTS", "STABILITY_FILE", "STABILITY_TEXT", "ConsensusResult",
           "run_consensus", "spread_snapshots", "write_stability"]  # fmt: skip

#: ``consensus``'s default: a preset's gradient steps spread over this many times its epochs
#: (patches per epoch divided by as much). Measured (README, *Stability across seeds*): on the
#: cpu-lite budget three times the snapshots at the same 192 steps made single-seed pixel maps
#: 1.4-2.3x as stable (pixel Spearman, seed against seed) on two geologies.
DEFAULT_SNAPSHOTS = 3
STABILITY_FILE = "stability.json"
STABILITY_TEXT = "stability.txt"


@dataclass
class ConsensusResult:
    """``ran`` / ``skipped`` / ``failed`` seeds' jobs; ``consensus`` the consensus run's
    folder (``None`` when fewer than 2 seeds finished); ``stability`` the results per split;
    ``seconds`` of wall time."""

    out_dir: Path
    ran: list[str]
    skipped: list[str]
    failed: dict[str, str]
    consensus: Path | None
    stability: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and self.consensus is not None


def spread_snapshots(train: dict[str, Any], snapshots: int) -> tuple[dict[str, Any], int]:
    """``train`` (TrainConfig fields) with the same gradient steps spread over more epochs,
    so that the tracker takes more snapshots: epochs times ``f`` and patches per epoch
    divided by ``f``, ``f`` the largest factor up to ``snapshots`` that divides the patches
    per epoch (steps stay equal). Returns the new fields and ``f`` (1: unchanged, e.g. when
    the patches per epoch are not set)."""
    ppe, epochs = train.get("patches_per_epoch"), train.get("epochs")
    if not ppe or not epochs or snapshots <= 1:
        return dict(train), 1
    f = max(d for d in range(1, int(snapshots) + 1) if int(ppe) % d == 0)
    return {**train, "epochs": int(epochs) * f, "patches_per_epoch": int(ppe) // f}, f


def write_stability(
    stores: Sequence[Any],
    out: str | os.PathLike,
    cls: str | int,
    *,
    splits: Sequence[str] = ("validation", "test", "all"),
    k: int = 6,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    record: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every split of ``splits`` the runs have (a split with fewer than 2 eligible
    sections is reported as such), write ``stability.json`` and ``stability.txt`` into
    ``out`` (atomically) and, with ``record``, keep the first measured split's summary in
    each seed run. Returns ``{split: StabilityResult or error line}``."""
    from napari_forgetting.runs.consensus import measure_stability, record_stability

    say = log or (lambda msg: None)
    out = Path(out)
    results: dict[str, Any] = {}
    for split in splits:
        if split != "validation" and not stores[0].test_names:
            continue
        try:
            results[split] = measure_stability(stores, cls, split=split, k=k, min_pixels=min_pixels)
        except ValueError as exc:
            results[split] = str(exc)
            say(f"stability, split {split}: {exc}")
    others = _other_statistics(stores, cls, results, k, min_pixels)
    text = "\n\n".join(
        [r.format_table() if not isinstance(r, str) else r for r in results.values()]
        + [_statistics_table(others)]
    )
    record = {s: (r if isinstance(r, str) else r.to_dict()) for s, r in results.items()}
    write_json(out / STABILITY_FILE, {**record, "statistics": others})
    with atomic_path(out / STABILITY_TEXT) as tmp, open(tmp, "w") as fh:
        fh.write(text + "\n")
    measured = [r for r in results.values() if not isinstance(r, str)]
    if record and measured:
        record_stability(measured[0])
    return results


#: The ranking statistics whose stability is set beside the forgetting density's.
OTHER_STATISTICS = ("low_confidence", "high_variability", "never_learned")


def _other_statistics(
    stores: Sequence[Any], cls: str | int, results: dict[str, Any], k: int, min_pixels: int
) -> dict[str, dict[str, Any]]:
    """``{split: {statistic: summary}}``: the forgetting density's and, on the same seeds and
    sections, the other statistics' (those whose maps the runs store)."""
    from napari_forgetting.runs.consensus import measure_stability

    out: dict[str, dict[str, Any]] = {}
    for split, r in results.items():
        if isinstance(r, str):
            continue
        out[split] = {"forgetting": r.summary()}
        for statistic in OTHER_STATISTICS:
            try:
                other = measure_stability(stores, cls, split=split, k=k, min_pixels=min_pixels,
                                          statistic=statistic)  # fmt: skip
            except (ValueError, KeyError):  # e.g. trained with --no-stats
                continue
            out[split][statistic] = other.summary()
    return out


def _seeds_text(m: Any) -> str:
    return f"{int(m)}" if isinstance(m, (int, float)) else ("never" if m == "inf" else "n/a")


def _statistics_table(others: dict[str, dict[str, Any]]) -> str:
    """The statistics side by side: how much each one's explanation moves with the seed."""
    lines = [
        "the ranking statistics on the same seeds and sections: sections Spearman (mean over "
        "pairs) / top-k Jaccard (chance) / pixels, one seed vs the mean of the others / seeds "
        "a consensus needs for rho 0.9"
    ]

    def f(x: Any, fmt: str) -> str:
        return "n/a" if not isinstance(x, (int, float)) else format(x, fmt)

    for split, stats in others.items():
        lines.append(f"  {split}:")
        for name, d in stats.items():
            lines.append(
                f"    {name:<17} {f(d['spearman'], '+.3f')} / {f(d['jaccard'], '.3f')} "
                f"({f(d['jaccard_chance'], '.3f')}) / {f(d['pixel_spearman_loo'], '+.3f')} / "
                f"{_seeds_text(d['seeds_needed'])}"
            )
    return "\n".join(lines)


def run_consensus(
    config: Any,
    out_dir: str | os.PathLike,
    *,
    cls: str | int = "scruff",
    k: int = 6,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    log: Callable[[str], None] | None = None,
    **execution: Any,
) -> ConsensusResult:
    """Train ``config.seeds`` seeds of the baseline configuration ``config`` (a
    :class:`~.compare.CompareConfig`; its methods are ignored) as jobs where ``execution``
    says (:class:`~.compare.scheduling.Execution`'s fields), then write their stability and
    consensus run into ``out_dir`` (see the module docstring)."""
    t0 = time.perf_counter()
    say = log or (lambda msg: None)
    out = Path(out_dir)
    with claim(out, "consensus", rerun=True, accept=("report",), what="consensus"):
        return _run_consensus(config, out, cls, k, min_pixels, t0, say, **execution)


def _run_consensus(
    config: Any, out: Path, cls: str | int, k: int, min_pixels: int, t0: float,
    say: Callable[[str], None], **runner: Any,
) -> ConsensusResult:  # fmt: skip
    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.runs.consensus import CONSENSUS_DIR, build_consensus, seed_runs
    from napari_forgetting.workflow.compare import JOBS_DIR, execute_jobs, job_name

    config = replace(config, methods=("baseline",))
    ran, skipped, failed = execute_jobs(
        config, out,
        check=lambda volume, source: resolve_class(volume.class_names, cls),  # before training
        log=say, **runner,
    )  # fmt: skip
    wanted = {job_name("baseline", s) for s in range(config.seeds)}
    stores = [s for s in seed_runs([out]) if s.path.name in wanted and s.path.parent.name
              == JOBS_DIR]  # fmt: skip
    consensus = None
    results: dict[str, Any] = {}
    if len(stores) >= 2:
        results = write_stability(stores, out, cls, k=k, min_pixels=min_pixels, log=say)
        summary = {s: r.summary() for s, r in results.items() if not isinstance(r, str)}
        extra = {"stability": summary, "k": k, "min_pixels": min_pixels}
        build_consensus(stores, out / CONSENSUS_DIR, extra=extra)
        consensus = out / CONSENSUS_DIR
    else:
        say(f"{len(stores)} seed(s) finished: a consensus needs at least 2")
    return ConsensusResult(out, ran, skipped, failed, consensus, results,
                           time.perf_counter() - t0)  # fmt: skip
