"""Method comparison: the paper's Table 1 and Fig. 5, every (method, seed) a dask task.

Methods: ``baseline`` (no augmentation), ``flip`` (random left-right flips), ``rotate``
(random rotations) and ``transfer`` (the support-vector augmentation: the baseline run of the
same seed -> its forgetting hotspots of class ``cls`` -> an augmented pool of style
transfers -> training from scratch on the training sections plus the pool).

Every (method, seed) trains from scratch as one task on a ``dask.distributed`` cluster (a
``LocalCluster`` of single-threaded worker processes by default, or an existing scheduler).
Tasks receive the data's ``source`` record (:mod:`.data`) and reopen the volume themselves:
no volume is ever shipped. A ``transfer`` task depends on the baseline task of its seed and
on the transfer-model task (trained once, unless a checkpoint is given); the dependencies are
futures. Failed tasks are retried (``retries``) and then reported, never dropped; jobs whose
run store in ``<out>/jobs/<method>-seed<k>/`` is finished are not submitted again
(resumable), and an interrupted one resumes from its checkpoint.

Report (``<out>/``, every file written atomically), one row per method and split (``test``:
every test volume's pixels together; ``test1``, ``test2``; ``validation``):

* ``accuracy.csv`` / Table 1 in ``report.md`` -- per-class accuracy after the last epoch,
  mean and standard deviation over seeds;
* ``forgetting.csv`` -- total and per-class forgetting events on the tracked sections
  (sums of the per-pixel event counts at the last epoch), mean and std over seeds;
* ``differences.csv`` -- each method minus the baseline of the same seed, mean and 95 %
  Student-t interval over seeds, for each class's accuracy, the mean class accuracy, and the
  total and ``cls`` forgetting events (:func:`paired_interval`);
* ``regions.csv`` -- the fate of each of the baseline's high-density forgetting regions
  under each method of the same seed, and under the next seed's baseline (the control):
  :mod:`napari_forgetting.dynamics.regions`;
* ``jobs.csv`` -- one row per (method, seed, split): status, error, accuracies, events;
* ``heatmaps.png`` -- Fig. 5: forgetting heat maps of the same sections under each method
  (seed of the lowest number finished for every method), one colour scale per section, the
  baseline's regions outlined.

:data:`PRESETS` (``compare --preset``) are whole comparisons: ``tiny`` (the plumbing),
``cpu-lite`` (2 CPU cores, under an hour), ``paper`` (F3 size, for a GPU or a cluster).

No Qt or napari here; matplotlib is used through its Agg canvas only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.errors import one_line
from napari_forgetting.data.folders import claim
from napari_forgetting.data.synthetic import DEFAULT_SHAPE
from napari_forgetting.data.writers import atomic_path, write_json
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

__all__ = [
    "METHODS",
    "PRESETS",
    "CompareConfig",
    "CompareResult",
    "JobSpec",
    "build_jobs",
    "preset_config",
    "run_comparison",
    "write_report",
]

METHODS = ("baseline", "flip", "rotate", "transfer", "identity", "random-sources")
#: The arms that retrain on a pool: the transfer and its two controls for the mechanism.
POOL_ARMS = ("transfer", "identity", "random-sources")
#: The contrasts the paper's claim needs, each arm minus another of the same seed: the
#: style (transfer vs the same targets untransferred) and the selection (hotspot sources
#: vs random ones).
CONTRASTS = (("transfer", "identity"), ("transfer", "random-sources"))
JOBS_DIR = "jobs"
TRANSFER_DIR = "transfer_model"
#: What ``write_report`` records of the comparison for readers of the folder (class,
#: methods, seeds: :class:`~.compare_maps.ComparisonMaps`).
REPORT_FILE = "compare.json"
POOLS_DIR = "pools"
_DONE = "done.json"
#: The split of every test volume's pixels together (test1 + test2).
TEST_SPLIT = "test"


@dataclass
class CompareConfig:
    """What to compare and how each run trains.

    ``data``/``labels``/``shape``/``data_seed``/``iline``/``xline``: as ``train``'s options
    (:func:`.data.load_data`). ``train``: :class:`~..model.trainer.TrainConfig` fields shared
    by every job (the method sets ``augment`` and the seed ``seed``). ``transfer_checkpoint``:
    a trained transfer model; without one a model is trained once (``transfer`` holds
    :class:`~..transfer.TransferConfig` overrides). ``cls``, ``n_sources``, ``per_source``:
    the augmented pool (class, hotspot sources, transfers per source). ``transfer_method``:
    ``learned`` (the model above, the default) or ``stratal`` (training-free, no model). The
    method is
    measured on the held-out sections before each pool is made and refused below the bar
    unless ``force`` (:func:`~.augment.check_transfer`); style sources hold at least
    ``min_pixels`` of the class. ``retries``: extra attempts of a failed task. ``preset``:
    the name of the :data:`PRESETS` entry it was made from (:func:`preset_config`), or
    ``None``. ``sources_from``: a run (e.g. a consensus over seeds, ``napari-forgetting
    consensus``) whose ranking gives every transfer job its style sources, instead of the
    baseline run of the job's own seed.
    """

    data: str = "synthetic"
    labels: str | None = None
    shape: tuple[int, int, int] = DEFAULT_SHAPE
    data_seed: int = 0
    iline: int = 189
    xline: int = 193
    methods: tuple[str, ...] = METHODS
    seeds: int = 5
    train: dict[str, Any] = field(default_factory=dict)
    transfer_checkpoint: str | None = None
    transfer: dict[str, Any] = field(default_factory=dict)
    cls: str = "scruff"
    n_sources: int = 6
    per_source: int = 64
    transfer_method: str | None = None
    force: bool = False
    min_pixels: int = DEFAULT_MIN_PIXELS
    retries: int = 1
    preset: str | None = None
    sources_from: str | None = None

    def __post_init__(self) -> None:
        self.methods = tuple(m.strip() for m in self.methods if m.strip())
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"unknown methods {bad}; choose from {', '.join(METHODS)}")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods repeated: {self.methods}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        from napari_forgetting.transfer import method_choice

        self.transfer_method = method_choice(
            self.transfer_method or "learned", bool(self.transfer_checkpoint)
        )
        if self.min_pixels < 0:
            raise ValueError(f"min_pixels must be >= 0, got {self.min_pixels}")
        self.shape = tuple(int(n) for n in self.shape)  # type: ignore[assignment]


#: ``compare --preset NAME``: whole comparisons, the same code with other numbers.
#: CompareConfig fields; ``train`` holds TrainConfig fields, ``transfer`` TransferConfig
#: overrides (``{}``: ``transfer-train``'s defaults, the model measured above the bar).
PRESETS: dict[str, dict[str, Any]] = {
    # the plumbing in seconds (the suite's end-to-end test): nothing is learned, and its
    # transfer model, trained for one epoch, is forced past the quality bar
    "tiny": {
        "data": "synthetic",
        "shape": (8, 12, 32),
        "data_seed": 2,
        "seeds": 2,
        "train": {
            "epochs": 2,
            "batch_size": 4,
            "patch_size": [32, 32],
            "patches_per_epoch": 4,
            "lr": 3e-3,
            "num_threads": 1,
        },
        "transfer": {
            "epochs": 1,
            "ngf": 8,
            "style_dim": 8,
            "encoder_width": 8,
            "patch_size": [32, 32],
            "patches_per_epoch": 16,
            "eval_sections": 1,
        },
        "n_sources": 1,
        "per_source": 2,
        "min_pixels": 1,
        "force": True,
    },
    # the paper's comparison on 2 CPU cores within an hour (README, "The paper's comparison
    # at CPU scale"): its budget was set on the baseline arm alone
    "cpu-lite": {
        "data": "synthetic",
        "shape": (32, 64, 128),
        "data_seed": 0,
        "seeds": 3,
        "train": {
            "epochs": 16,
            "batch_size": 8,
            "patch_size": [64, 64],
            "patches_per_epoch": 96,
            "lr": 1e-3,
            "num_threads": 1,
        },
        "transfer": {},
        "n_sources": 6,
        "per_source": 16,
    },
    # the paper's numbers, for a GPU or a dask cluster (--scheduler): F3's size (or --data
    # the F3 benchmark's train_seismic.npy), 60 epochs, 5 seeds, 6 sources x 64 transfers
    "paper": {
        "data": "synthetic",
        "shape": (401, 701, 255),
        "data_seed": 0,
        "seeds": 5,
        "train": {"epochs": 60},
        "transfer": {},
        "n_sources": 6,
        "per_source": 64,
    },
}


def preset_config(name: str, **overrides: Any) -> CompareConfig:
    """The :data:`PRESETS` entry ``name`` as a :class:`CompareConfig`, ``overrides``
    replacing its fields (``train`` and ``transfer`` are merged key by key)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    base = json.loads(json.dumps(PRESETS[name]))  # a deep copy
    train = {**base.pop("train", {}), **(overrides.pop("train", None) or {})}
    transfer = {**base.pop("transfer", {}), **(overrides.pop("transfer", None) or {})}
    base["shape"] = tuple(base["shape"])
    return CompareConfig(**{**base, **overrides, "train": train, "transfer": transfer,
                            "preset": name})  # fmt: skip


@dataclass
class JobSpec:
    """One task: ``name`` (``<method>-seed<k>``, or ``transfer-model``), the module-level
    function and its keyword arguments; ``deps`` maps keyword names to the names of the jobs
    whose results they receive; ``priority``: among the jobs ready to run, a cluster starts
    the higher first (:data:`PRIORITY`)."""

    name: str
    func: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any]
    deps: dict[str, str] = field(default_factory=dict)
    out_dir: Path | None = None
    priority: int = 0


#: Start order on a cluster, the head of the longest chain first: the transfer model (the
#: longest job; the transfer jobs wait for it), then the baselines (the transfer jobs wait for
#: them too), then the transfer jobs, then flip and rotate, which fill the other workers.
#: Submission order alone started the model after most flip/rotate jobs, and its transfer
#: jobs then ran with one worker idle.
PRIORITY = {"transfer-model": 3, "baseline": 2, "transfer": 1}


@dataclass
class CompareResult:
    """``ran``: jobs executed now; ``skipped``: already finished before; ``failed``:
    ``{name: error}`` after the retries; ``files``: the report's files; ``seconds``."""

    out_dir: Path
    ran: list[str]
    skipped: list[str]
    failed: dict[str, str]
    files: dict[str, Path]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------------------- job functions
# Module-level (picklable) functions executed on the workers; they get the data's source
# record and reopen the volume themselves.


def job_name(method: str, seed: int) -> str:
    return f"{method}-seed{seed}"


def pool_dir_name(variant: str, seed: int) -> str:
    """The pool folder of a pool arm under ``pools/``: ``seed<k>`` for the transfer,
    ``<control>-seed<k>`` for a control."""
    return f"seed{seed}" if variant == "transfer" else job_name(variant, seed)


def _run_finished(path: Path, epochs: int | None = None) -> bool:
    from napari_forgetting.runs.store import RunStore, is_run_dir

    if not is_run_dir(path):
        return False
    try:
        store = RunStore.open(path)
    except Exception:  # noqa: BLE001 -- an unreadable run is not finished
        return False
    if store.status != "finished":
        return False
    return epochs is None or store.n_epochs == int(epochs)


def _fit(trainer: Any) -> None:
    """Run one training: resume an interrupted run in its folder, else start fresh (a
    folder that cannot be resumed: half overwritten, a checkpoint that is not the run's)."""
    from napari_forgetting.data.folders import FolderBusy, FolderError
    from napari_forgetting.model.checkpoint import CheckpointError
    from napari_forgetting.runs.store import RunStoreError

    try:
        trainer.fit(resume=True)
    except FolderBusy:
        raise
    except (RunStoreError, FolderError, CheckpointError):
        trainer.fit(overwrite=True)


def train_job(
    *, source: dict[str, Any], train: dict[str, Any], method: str, seed: int, out_dir: str
) -> dict[str, Any]:
    """Train ``method`` (baseline / flip / rotate) with ``seed`` into ``out_dir``."""
    from napari_forgetting.data.source import load_tests, open_source
    from napari_forgetting.training.segmentation import TrainConfig, Trainer

    t0 = time.perf_counter()
    volume = open_source(source)
    augment = {"baseline": "none", "flip": "flip", "rotate": "rotate"}[method]
    cfg = TrainConfig.from_dict({**train, "augment": augment, "seed": int(seed)})
    tests = load_tests(source, volume)
    trainer = Trainer(volume, cfg, out_dir=out_dir, source=source, test_volumes=tests)
    _fit(trainer)
    trainer.release()
    return {
        "name": job_name(method, seed),
        "path": str(out_dir),
        "seconds": time.perf_counter() - t0,
    }


def transfer_model_job(
    *, source: dict[str, Any], transfer: dict[str, Any], out_dir: str
) -> dict[str, Any]:
    """Train the style-transfer model once (resumable); returns its checkpoint."""
    from napari_forgetting.data.source import open_source
    from napari_forgetting.transfer import TransferConfig, TransferTrainer

    t0 = time.perf_counter()
    volume = open_source(source)
    cfg = TransferConfig.from_dict(dict(transfer))
    trainer = TransferTrainer(volume, cfg, out_dir=out_dir)
    trainer.fit(resume=True)
    ckpt = Path(out_dir) / "checkpoint.pt"
    if not ckpt.is_file():  # epochs=0: an untrained model still gets its checkpoint
        trainer.save_checkpoint()
    done = {"checkpoint": str(ckpt), "epochs": trainer.epoch, "config": cfg.to_dict()}
    write_json(Path(out_dir) / _DONE, done)
    return {"name": "transfer-model", "path": str(ckpt), "seconds": time.perf_counter() - t0}


def augmented_job(
    *,
    source: dict[str, Any],
    train: dict[str, Any],
    seed: int,
    out_dir: str,
    pool_dir: str,
    parent: Any,
    transfer_model: Any,
    cls: str,
    n_sources: int,
    per_source: int,
    transfer_method: str = "learned",
    force: bool = False,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    sources_from: str | None = None,
    variant: str = "transfer",
) -> dict[str, Any]:
    """A pool arm for one seed (``variant``: ``transfer``, or the controls ``identity`` --
    the same pool targets, untransferred -- and ``random-sources`` -- the transfer from
    sections drawn at random instead of the hotspots): pool from the baseline run
    ``parent`` (a path or the baseline job's result; or the style sources of
    ``sources_from``, e.g. a consensus run) with ``transfer_model`` (a checkpoint path or
    that job's result; ``None`` for the stratal method), measured first and refused below
    the bar unless ``force``, then training from scratch on the training sections plus the
    pool."""
    from napari_forgetting.data.source import open_source
    from napari_forgetting.runs.hotspots import resolve_class
    from napari_forgetting.transfer import resolve_method
    from napari_forgetting.workflow.augment import (
        POOL_MANIFEST,
        check_transfer,
        generate_pool,
        load_pool,
        retrain_trainer,
        save_pool,
    )

    t0 = time.perf_counter()
    parent_path = parent["path"] if isinstance(parent, dict) else str(parent)
    ckpt = transfer_model["path"] if isinstance(transfer_model, dict) else transfer_model
    if variant == "identity":  # nothing is transferred: no method, no model
        from napari_forgetting.transfer import StratalTransfer

        method: Any = StratalTransfer()
    else:
        method = resolve_method(transfer_method, None if ckpt is None else str(ckpt))
    volume = open_source(source)
    pool_path = Path(pool_dir)
    if (pool_path / POOL_MANIFEST).is_file():
        pool = load_pool(pool_path)
    else:
        import torch

        from napari_forgetting.model.device import torch_settings

        class_id = resolve_class(volume.class_names, cls)
        # the job's threads (one per worker): more threads on small convolutions spin
        with torch_settings(train.get("num_threads"), False, torch.device("cpu")):
            if variant == "identity":  # nothing is transferred: nothing to measure
                quality = {"measured": False, "reason": "identity control: untransferred",
                           "passes": None, "forced": False}  # fmt: skip
            else:
                quality = check_transfer(
                    method, volume, class_id, force=force, min_pixels=min_pixels,
                    every=int(train.get("every", 5)), baseline=parent_path,
                )  # fmt: skip
            pool = generate_pool(
                sources_from or parent_path, method, cls, n_sources, per_source, int(seed), volume,
                min_pixels=min_pixels, quality=quality, force=force,
                sources="random" if variant == "random-sources" else "hotspots",
                untransferred=variant == "identity",
            )  # fmt: skip
        save_pool(pool, pool_path, formats=("npy",), overwrite=True, volume=volume)
    trainer = retrain_trainer(
        parent_path,
        pool,
        out_dir,
        volume=volume,
        overrides={**train, "augment": "none", "seed": int(seed)},
        pool_path=pool_path,
    )
    _fit(trainer)
    trainer.release()
    return {
        "name": job_name(variant, seed),
        "path": str(out_dir),
        "seconds": time.perf_counter() - t0,
    }


# ---------------------------------------------------------------------------- the job graph


def default_transfer_config(train: dict[str, Any], n_classes: int) -> dict[str, Any]:
    """The transfer model the comparison trains once (``transfer_method="learned"``
    without a checkpoint): :class:`~..transfer.TransferConfig`'s defaults, as
    ``transfer-train`` trains it, on the comparison's classes, device, threads and held-out
    split (measured above the quality bar on the 32x64x128 benchmark; its transfer jobs
    measure it again and refuse it below the bar unless ``force``)."""
    return {
        "n_classes": n_classes,
        "device": train.get("device"),
        "num_threads": train.get("num_threads"),
        "every": int(train.get("every", 5)),
    }


def build_jobs(
    config: CompareConfig, out_dir: str | os.PathLike, source: dict[str, Any], n_classes: int
) -> tuple[list[JobSpec], list[str]]:
    """The jobs still to run (in dependency order) and the names of those already finished.

    A transfer job whose baseline (or transfer model) is finished gets its path directly;
    otherwise it depends on that job.
    """
    out = Path(out_dir)
    train = {**config.train, "n_classes": n_classes}
    epochs = train.get("epochs")
    jobs: list[JobSpec] = []
    skipped: list[str] = []
    done_paths: dict[str, str] = {}
    seeds = range(config.seeds)
    methods = list(config.methods)
    # baselines first: the pool arms need them
    need_baseline = any(m in methods for m in POOL_ARMS)
    base_methods = [m for m in ("baseline", "flip", "rotate") if m in methods]
    if need_baseline and "baseline" not in base_methods:
        base_methods.insert(0, "baseline")
    for method in base_methods:
        for seed in seeds:
            name = job_name(method, seed)
            path = out / JOBS_DIR / name
            if _run_finished(path, epochs):
                skipped.append(name)
                done_paths[name] = str(path)
                continue
            jobs.append(
                JobSpec(
                    name,
                    train_job,
                    {
                        "source": source,
                        "train": train,
                        "method": method,
                        "seed": seed,
                        "out_dir": str(path),
                    },
                    out_dir=path,
                    priority=PRIORITY.get(method, 0),
                )
            )
    tm: Any = None
    tm_dep: str | None = None
    if "transfer" in methods or "random-sources" in methods:  # the arms that transfer
        if config.transfer_method == "stratal":
            tm = None
        elif config.transfer_checkpoint:
            tm = str(Path(config.transfer_checkpoint).resolve())
        else:
            tdir = out / TRANSFER_DIR
            tcfg = {**default_transfer_config(train, n_classes), **config.transfer}
            if (tdir / _DONE).is_file():
                skipped.append("transfer-model")
                tm = str(tdir / "checkpoint.pt")
            else:
                tm, tm_dep = None, "transfer-model"
                jobs.append(
                    JobSpec(
                        "transfer-model",
                        transfer_model_job,
                        {"source": source, "transfer": tcfg, "out_dir": str(tdir)},
                        out_dir=tdir,
                        priority=PRIORITY["transfer-model"],
                    )
                )
    for variant in [m for m in POOL_ARMS if m in methods]:
        for seed in seeds:
            name = job_name(variant, seed)
            path = out / JOBS_DIR / name
            if _run_finished(path, epochs):
                skipped.append(name)
                continue
            base = job_name("baseline", seed)
            deps = {}
            kwargs = {
                "source": source,
                "train": train,
                "seed": seed,
                "out_dir": str(path),
                "pool_dir": str(out / POOLS_DIR / pool_dir_name(variant, seed)),
                "cls": config.cls,
                "n_sources": config.n_sources,
                "per_source": config.per_source,
                "parent": done_paths.get(base),
                "transfer_model": tm,
                "transfer_method": config.transfer_method,
                "force": config.force,
                "min_pixels": config.min_pixels,
                "sources_from": config.sources_from,
                "variant": variant,
            }
            if base not in done_paths:
                deps["parent"] = base
            if tm_dep is not None and variant != "identity":
                deps["transfer_model"] = tm_dep
            jobs.append(
                JobSpec(name, augmented_job, kwargs, deps, out_dir=path,
                        priority=PRIORITY["transfer"])  # fmt: skip
            )
    return jobs, skipped


def _format_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Progress:
    """``[k/N] finished NAME (time)`` / ``[k/N] FAILED NAME`` through ``log`` as each job
    ends (a long comparison is not silent until its end)."""

    def __init__(self, total: int, log: Callable[[str], None] | None) -> None:
        self.total, self.done, self.log = total, 0, log
        self.t0 = time.perf_counter()

    def __call__(self, name: str, ok: bool) -> None:
        self.done += 1
        if self.log is not None:
            minutes = (time.perf_counter() - self.t0) / 60
            word = "finished" if ok else "FAILED"
            self.log(f"[{self.done}/{self.total}] {word} {name} ({minutes:.1f} min in all)")


def _run_sequential(
    jobs: Sequence[JobSpec], retries: int, progress: _Progress | None = None
) -> tuple[list[str], dict[str, str]]:
    """Run the jobs one after another in this process (dependency order is list order)."""
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    ran: list[str] = []
    for job in jobs:
        broken = [d for d in job.deps.values() if d in failed]
        if broken:
            failed[job.name] = f"dependency failed: {', '.join(broken)}"
        else:
            kwargs = {**job.kwargs, **{k: results[d] for k, d in job.deps.items()}}
            for attempt in range(retries + 1):
                try:
                    results[job.name] = job.func(**kwargs)
                    ran.append(job.name)
                    failed.pop(job.name, None)
                    break
                except Exception as exc:  # noqa: BLE001 -- reported, never dropped
                    failed[job.name] = f"{_format_error(exc)} (after {attempt + 1} attempts)"
        if progress is not None:
            progress(job.name, job.name not in failed)
    return ran, failed


def _priority_order(jobs: Sequence[JobSpec]) -> list[JobSpec]:
    """The jobs in submission order for a cluster: the highest priority whose dependencies
    are submitted first (ties in list order). A free worker starts the first task it is
    given, so priorities only order what is queued: the order of submission must follow
    them too."""
    left = list(jobs)
    order: list[JobSpec] = []
    names: set[str] = set()
    while left:
        ready = [j for j in left if set(j.deps.values()) <= names]
        if not ready:
            raise ValueError(f"jobs with unknown dependencies: {[j.name for j in left]}")
        job = max(ready, key=lambda j: j.priority)  # the first of the highest
        order.append(job)
        names.add(job.name)
        left.remove(job)
    return order


def _run_dask(
    jobs: Sequence[JobSpec], retries: int, client: Any, progress: _Progress | None = None
) -> tuple[list[str], dict[str, str]]:
    """Submit the jobs to a dask client, dependencies as futures; wait for all (saying so as
    each ends, with ``progress``)."""
    from distributed import as_completed

    futures: dict[str, Any] = {}
    token = f"{os.getpid()}-{time.time_ns()}"
    for job in _priority_order(jobs):
        kwargs = {**job.kwargs, **{k: futures[d] for k, d in job.deps.items()}}
        futures[job.name] = client.submit(
            job.func,
            key=f"{job.name}-{token}",
            retries=retries,
            pure=False,
            priority=job.priority,
            **kwargs,
        )
    names = {fut.key: name for name, fut in futures.items()}
    for fut in as_completed(list(futures.values())):
        if progress is not None:
            progress(names[fut.key], fut.status == "finished")
    ran: list[str] = []
    failed: dict[str, str] = {}
    for job in jobs:
        fut = futures[job.name]
        if fut.status == "finished":
            ran.append(job.name)
            continue
        try:
            exc = fut.exception()
        except Exception as e:  # noqa: BLE001 -- e.g. a cancelled future
            exc = e
        dep_failed = [d for d in job.deps.values() if d in failed]
        if dep_failed:
            failed[job.name] = f"dependency failed: {', '.join(dep_failed)}"
        else:
            failed[job.name] = f"{_format_error(exc)} (after {retries + 1} attempts)"
    return ran, failed


def run_jobs(
    jobs: Sequence[JobSpec],
    retries: int,
    *,
    client: Any = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    processes: bool = True,
    sequential: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """Run ``jobs`` (the one job runner: the comparison's and the consensus's seeds) and
    return the names that ran and ``{name: error}`` of those that failed after ``retries``;
    ``log`` gets a line as each job ends (``[k/N] finished NAME``).

    Execution: ``client`` (a ``distributed.Client``), else ``scheduler`` (an address),
    else a ``LocalCluster`` of ``n_workers`` workers with one thread each (``processes``:
    worker processes, else threads); ``sequential=True`` runs them one after another in
    this process instead."""
    if not jobs:
        return [], {}
    progress = _Progress(len(jobs), log)
    if sequential:
        return _run_sequential(jobs, retries, progress)
    if client is not None:
        return _run_dask(jobs, retries, client, progress)
    from distributed import Client, LocalCluster

    if scheduler:
        with scheduler_client(scheduler) as c:
            _say_dashboard(c, log)
            return _run_dask(jobs, retries, c, progress)
    import dask

    # dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers, which turns off
    # glibc's adaptive mmap threshold: every large torch buffer is then mapped and unmapped
    # anew (a transfer-model epoch took 54 s instead of 39 alone, 67 s beside a second
    # worker). Our workers keep the C library's default.
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0" if dashboard_available() else None,  # any free port
        ) as cluster,
        Client(cluster) as c,
    ):
        _say_dashboard(c, log)
        return _run_dask(jobs, retries, c, progress)


def dashboard_available() -> bool:
    """Whether dask's dashboard can run here (its dependency, bokeh, is installed)."""
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def dashboard_line(client: Any) -> str:
    """Where to watch the jobs: the client's dashboard address, else how to get one."""
    link = getattr(client, "dashboard_link", None) if dashboard_available() else None
    if link:
        return f"dask dashboard: {link}"
    return "dask dashboard: off (pip install bokeh to watch the jobs in a browser)"


def _say_dashboard(client: Any, log: Callable[[str], None] | None) -> None:
    if log is not None:
        try:
            log(dashboard_line(client))
        except Exception:  # noqa: BLE001 - a scheduler without a dashboard: say nothing
            pass


class RefusedBeforeJobs(ValueError):
    """The comparison's inputs were refused before any job ran (one line, exit 2)."""


class SchedulerError(OSError):
    """A ``--scheduler`` address where no dask scheduler answers (one line, exit 2)."""


#: Seconds a scheduler has to answer before it is reported as not there.
SCHEDULER_TIMEOUT = 5


def scheduler_client(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``, or :class:`SchedulerError`
    in one line within :data:`SCHEDULER_TIMEOUT` seconds (refused, unreachable, malformed,
    or something else answering there)."""
    import threading

    import dask
    from distributed import Client

    made: dict[str, Any] = {}

    def connect() -> None:  # in a thread: something that accepts and never answers hangs
        try:
            with dask.config.set({"distributed.comm.timeouts.connect": f"{SCHEDULER_TIMEOUT}s"}):
                made["client"] = Client(address, timeout=f"{SCHEDULER_TIMEOUT}s")
        except BaseException as exc:  # noqa: BLE001 - reported below
            made["error"] = exc

    thread = threading.Thread(target=connect, name="scheduler-connect", daemon=True)
    thread.start()
    thread.join(2 * SCHEDULER_TIMEOUT)
    if thread.is_alive():
        raise SchedulerError(
            f"--scheduler {address}: something accepts connections there but does not answer "
            f"as a dask scheduler within {2 * SCHEDULER_TIMEOUT} s"
        )
    if "client" in made:
        return made["client"]
    exc = made["error"]
    if not isinstance(exc, (OSError, ValueError, TypeError, MemoryError, RuntimeError)):
        raise exc
    raise SchedulerError(
        f"--scheduler {address}: no dask scheduler answers there within "
        f"{SCHEDULER_TIMEOUT} s ({one_line(exc)})"
    ) from None


def _check_sources_from(path: str, source: dict[str, Any]) -> None:
    """A ``sources_from`` run must be a run of the comparison's data with a complete epoch
    (a :class:`~..runs.store.RunStoreError` in one line otherwise: an input error)."""
    from napari_forgetting.runs.store import RunStore, RunStoreError

    store = RunStore.open(path)
    if store.n_epochs == 0:
        raise RunStoreError(f"--sources-from {path}: the run has no complete epoch")
    theirs = store.info.get("source") or {}
    if json.dumps(theirs, sort_keys=True) != json.dumps(source, sort_keys=True):
        raise RunStoreError(
            f"--sources-from {path}: its data {json.dumps(theirs)} is not the comparison's "
            f"{json.dumps(source)}"
        )


def _check_given_transfer(config: CompareConfig, volume: Any) -> None:
    """Measure a transfer method that exists before the jobs run (a given checkpoint or the
    stratal method) and raise :class:`~.augment.TransferBelowBar` before any training when
    it is below the bar (unless ``force``); the model trained here is measured by each
    transfer job."""
    from napari_forgetting.runs.hotspots import resolve_class
    from napari_forgetting.transfer import resolve_method
    from napari_forgetting.workflow.augment import check_transfer

    method = resolve_method(config.transfer_method, config.transfer_checkpoint)
    check_transfer(
        method,
        volume,
        resolve_class(volume.class_names, config.cls),
        force=config.force,
        min_pixels=config.min_pixels,
        every=int(config.train.get("every", 5)),
    )


def _train_transfer_first(
    config: CompareConfig,
    out: Path,
    volume: Any,
    source: dict[str, Any],
    threads: int,
    log: Callable[[str], None] | None,
) -> None:
    """The learned transfer model the comparison trains once, trained (with ``threads``)
    and measured before any segmentation job: one below the quality bar stops the
    comparison there with one line (:class:`~.augment.TransferBelowBar`) unless ``force``,
    instead of failing its transfer jobs after the other arms have trained. A model
    trained by an earlier run of the comparison is measured again, not retrained (its
    job is then skipped as finished)."""
    from napari_forgetting.runs.hotspots import resolve_class
    from napari_forgetting.workflow.augment import check_transfer

    say = log or (lambda msg: None)
    tdir = out / TRANSFER_DIR
    n_classes = int(getattr(volume, "n_classes", None) or len(volume.class_names))
    if not (tdir / _DONE).is_file():
        tcfg = {**default_transfer_config(config.train, n_classes), **config.transfer}
        say("transfer model: trained before the segmentation jobs, so that one below the "
            "quality bar stops the comparison before them")  # fmt: skip
        done = transfer_model_job(
            source=source, transfer={**tcfg, "num_threads": threads}, out_dir=str(tdir)
        )
        say(f"transfer model: trained in {done['seconds']:.0f} s")
    check_transfer(
        tdir / "checkpoint.pt",
        volume,
        resolve_class(volume.class_names, config.cls),
        force=config.force,
        min_pixels=config.min_pixels,
        every=int(config.train.get("every", 5)),
    )


def _check_patch(config: CompareConfig, volume: Any) -> None:
    """The jobs' patch size fits the sections they draw from (a ``ValueError`` before any
    job, not one failure per job)."""
    from napari_forgetting.data.sections import PatchSampler, paper_split

    patch = config.train.get("patch_size")
    if patch is not None:
        every = int(config.train.get("every", 5))
        PatchSampler(paper_split(volume, every).train, None, patch)


def execute_jobs(
    config: CompareConfig,
    out: Path,
    *,
    check: Callable[[Any, dict[str, Any]], None] | None = None,
    log: Callable[[str], None] | None = None,
    **runner: Any,
) -> tuple[list[str], list[str], dict[str, str]]:
    """Open ``config``'s data once (``check(volume, source)`` may refuse it before any job
    runs), then run every (method, seed) job of ``config`` not yet finished in ``out`` with
    :func:`run_jobs` (``runner``: its execution options). Returns the names of the jobs that
    ran, those skipped as finished, and ``{name: error}`` of those that failed."""
    from napari_forgetting.data.source import load_data

    say = log or (lambda msg: None)
    out.mkdir(parents=True, exist_ok=True)
    volume, source = load_data(
        config.data, config.labels, config.shape, config.data_seed, config.iline, config.xline
    )
    n_classes = int(getattr(volume, "n_classes", None) or len(volume.class_names))
    if check is not None:
        from napari_forgetting.workflow.augment import TransferBelowBar

        try:
            _check_patch(config, volume)
            check(volume, source)
        except TransferBelowBar:
            raise
        except (ValueError, KeyError) as exc:  # e.g. a class the data lacks
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise RefusedBeforeJobs(str(message)) from exc
    del volume  # the workers reopen it from `source`
    jobs, skipped = build_jobs(config, out, source, n_classes)
    if skipped:
        say(f"already finished, skipped: {', '.join(skipped)}")
    say(f"jobs to run: {', '.join(j.name for j in jobs) or 'none'}")
    ran, failed = run_jobs(jobs, config.retries, log=say, **runner)
    for name, err in failed.items():
        say(f"FAILED {name}: {err}")
    return ran, skipped, failed


def run_comparison(
    config: CompareConfig,
    out_dir: str | os.PathLike,
    *,
    client: Any = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    processes: bool = True,
    sequential: bool = False,
    log: Callable[[str], None] | None = None,
) -> CompareResult:
    """Run every (method, seed) not yet finished, then write the report.

    Execution: ``client`` (a ``distributed.Client``), else ``scheduler`` (an address),
    else a ``LocalCluster`` of ``n_workers`` workers with one thread each (``processes``:
    worker processes, else threads); ``sequential=True`` runs the jobs one after another in
    this process instead (the benchmark's reference).
    """

    t0 = time.perf_counter()
    out = Path(out_dir)

    def check(volume: Any, source: dict[str, Any]) -> None:
        from napari_forgetting.runs.hotspots import resolve_class

        resolve_class(volume.class_names, config.cls)  # a bogus class before any job
        if config.sources_from:
            _check_sources_from(config.sources_from, source)
        transfers = "transfer" in config.methods or "random-sources" in config.methods
        if transfers and (config.transfer_method == "stratal" or config.transfer_checkpoint):
            _check_given_transfer(config, volume)
        elif transfers and not config.force:
            # forced, nothing can stop the comparison: the model trains as a job beside the
            # others (its transfer jobs record its measurement)
            _train_transfer_first(config, out, volume, source, max(1, n_workers), log)

    with claim(out, "report", rerun=True, accept=("consensus",), what="compare"):
        ran, skipped, failed = execute_jobs(
            config, out, check=check, client=client, scheduler=scheduler,
            n_workers=n_workers, processes=processes, sequential=sequential, log=log,
        )  # fmt: skip
        files = write_report(out, config, failed=failed)
    return CompareResult(out, ran, skipped, failed, files, time.perf_counter() - t0)


# ---------------------------------------------------------------------------- the report


def display_names(class_names: Sequence[str]) -> list[str]:
    """The F3 display names for the F3 classes, else the names as they are."""
    from napari_forgetting.data.classes import F3_CLASS_NAMES, F3_DISPLAY_NAMES

    table = dict(zip(F3_CLASS_NAMES, F3_DISPLAY_NAMES, strict=True))
    return [table.get(n, n) for n in class_names]


def _class_events(store: Any, exclude: Collection[str] = ()) -> np.ndarray:
    """Forgetting events per class summed over a run store's mapped sections (last epoch),
    but those whose keys are in ``exclude``."""
    n = store.n_classes
    events = np.zeros(n, np.float64)
    labels = store.all_map_labels()
    skip = set(exclude)
    # one read of the flat map, cut per section
    for sec, counts, lab in zip(
        store.map_sections, store.split_map(store.flat_map("forgetting_events")), labels,
        strict=True,
    ):  # fmt: skip
        if sec.key in skip:
            continue
        lab = lab.ravel()
        keep = lab < n  # uint8 ids: the ignore label (255) is out
        events += np.bincount(lab[keep], weights=counts.ravel()[keep], minlength=n)
    return events


def job_metrics(path: str | os.PathLike, exclude: Collection[str] = ()) -> dict[str, Any]:
    """Per split -- ``validation`` (the validation sections, last epoch) and each held-out
    test volume (all its sections after the last epoch) -- the per-class accuracy, and the
    forgetting events per class on the sections tracked there (validation; every
    ``test_every``-th section of a test volume; NaN where none were tracked).

    ``exclude``: validation section keys left out of the validation figures (the transfer
    pool's style sources: a transfer arm trained on their texture), recomputed from the
    stored last-epoch predictions; ``validation_sections`` says how many remain."""
    from napari_forgetting.model.metrics import ConfusionMatrix
    from napari_forgetting.runs.store import RunStore

    store = RunStore.open(path)
    n = store.n_classes
    last = dict(store.history[-1])
    splits: dict[str, dict[str, Any]] = {}
    kept = [s for s in store.eval_sections if s.key not in set(exclude)]
    if len(kept) < len(store.eval_sections):
        cm = ConfusionMatrix(n)
        for sec in kept:
            cm.update(store.labels(sec), store.prediction(sec))
        scores = cm.compute()
        last["class_accuracy"] = scores["class_accuracy"]
        last["mean_class_accuracy"] = scores["mean_class_accuracy"]
        last["class_probability"] = None  # per-pixel probabilities are not stored

    def split(
        acc: Sequence[float], mca: float, events: np.ndarray, prob: Sequence[float] | None
    ) -> dict[str, Any]:
        p = [float(v) for v in prob] if prob is not None else [math.nan] * n
        finite = [v for v in p if math.isfinite(v)]
        return {
            "class_accuracy": [float(a) for a in acc],
            "mean_class_accuracy": float(mca),
            "class_probability": p,  # the soft endpoint (NaN for runs older than it)
            "mean_class_probability": float(np.mean(finite)) if finite else math.nan,
            "events": events,
            "total_events": float(events.sum()),
        }

    has_maps = "forgetting_events" in store.map_names
    val_events = _class_events(store, exclude) if has_maps else np.full(n, math.nan)
    splits["validation"] = split(
        last["class_accuracy"], last.get("mean_class_accuracy", math.nan), val_events,
        last.get("class_probability"),
    )  # fmt: skip
    tracked = set(store.test_names)
    tests = sorted((store.state.get("test_metrics") or {}).items())
    pixels: dict[str, list[int]] = {}
    for name, metrics in tests:
        events = _class_events(store.test(name)) if name in tracked else np.full(n, math.nan)
        if "confusion" in metrics:  # rows are the true classes: each class's pixels there
            pixels[name] = [int(v) for v in np.asarray(metrics["confusion"]).sum(axis=1)]
        splits[name] = split(
            metrics["class_accuracy"], metrics.get("mean_class_accuracy", math.nan), events,
            metrics.get("class_probability"),
        )  # fmt: skip
    if len(tests) > 1 and all("confusion" in m for _, m in tests):
        # every test volume's pixels together (test1 + test2: the benchmark's test set)
        from napari_forgetting.model.metrics import scores_from_matrix

        pooled = scores_from_matrix(np.sum([m["confusion"] for _, m in tests], axis=0))
        events = np.sum([splits[name]["events"] for name, _ in tests], axis=0)
        prob = None
        if all("probability_sums" in m for _, m in tests):
            sums = np.sum([m["probability_sums"] for _, m in tests], axis=0)
            counts = np.sum([m["probability_counts"] for _, m in tests], axis=0)
            prob = [float(a / b) if b else math.nan for a, b in zip(sums, counts, strict=True)]
        splits[TEST_SPLIT] = split(
            pooled["class_accuracy"], pooled["mean_class_accuracy"], events, prob
        )
    return {
        "class_names": store.class_names,
        "epochs": store.n_epochs,
        "splits": splits,
        "validation_sections": [len(kept), len(store.eval_sections)],
        "class_pixels": pixels,
    }


def absent_classes(
    per_job: dict[tuple[str, int], dict[str, Any]], class_names: Sequence[str], cls: str
) -> list[str]:
    """Report lines naming each test volume that holds no pixel of ``cls`` (its accuracy
    there is absent, and the pooled ``test`` figure is the other volumes' alone), or
    nothing when every test volume holds some."""
    if cls not in class_names:
        return []
    k = list(class_names).index(cls)
    counts: dict[str, int] = {}
    for m in per_job.values():
        for name, px in (m.get("class_pixels") or {}).items():
            counts[name] = px[k]
    empty = sorted(name for name, c in counts.items() if c == 0)
    if not empty:
        return []
    held = sorted(name for name, c in counts.items() if c > 0)
    rest = (f"`{TEST_SPLIT}` is {', '.join(held)}'s {cls} alone" if held
            else f"no test volume holds {cls}: no test figure of it")  # fmt: skip
    return [f"**{cls} is absent from {', '.join(empty)}** (0 pixels): its accuracy there is "
            f"absent, and {rest}.", ""]  # fmt: skip


def _read_on(per_job: dict[tuple[str, int], dict[str, Any]]) -> str:
    """Which sections the validation figures were read on (the report says it)."""
    counts = sorted({tuple(m.get("validation_sections", ())) for m in per_job.values()})
    if not counts or all(len(c) != 2 or c[0] == c[1] for c in counts):
        return "Every figure of this report is read on all the validation sections."
    kept = ", ".join(f"{a} of {b}" for a, b in counts)
    return (
        f"Validation figures (accuracy, forgetting events, regions) are read on {kept} "
        "validation sections: the transfer pool's style sources of each seed are left out "
        "for every arm of that seed (the transfer arm trained on their texture); the test "
        "volumes are never a source or a target."
    )


def style_sources(out: Path, seed: int) -> list[str]:
    """The validation sections the transfer arms of ``seed`` (the transfer and its
    random-sources control) took their styles from (their pools' ``sources``; none without
    a pool): left out of every arm's validation figures of that seed, so no figure is read
    where an arm trained on the texture."""
    from napari_forgetting.workflow.augment import read_pool_record

    keys: list[str] = []
    for variant in ("transfer", "random-sources"):
        pool_file = out / POOLS_DIR / pool_dir_name(variant, seed) / "pool.json"
        if pool_file.is_file():
            keys += [str(k) for k in read_pool_record(pool_file)[1].get("sources", [])]
    return sorted(set(keys))


def paired_interval(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of paired differences over seeds: the mean of the finite
    values and its Student-t interval at ``level`` (NaN bounds with fewer than two)."""
    from scipy import stats

    a = np.asarray(diffs, np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(a.mean())
    if a.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return mean, mean - half, mean + half


#: The paper's effect on Scruff accuracy (transfer minus baseline): what a comparison should
#: be able to detect.
PAPER_EFFECT = 0.055


def detectable(
    diffs: Sequence[float], effect: float = PAPER_EFFECT, power: float = 0.8, level: float = 0.95
) -> tuple[float, float, float]:
    """``(sd, mde, seeds)`` of paired differences over seeds: their standard deviation, the
    minimum detectable effect of a two-sided paired t-test at ``level`` with ``power`` on
    this many seeds (``(t_(1+level)/2 + t_power) sd / sqrt(n)``, t with n - 1 degrees of
    freedom), and the seeds ``effect`` would need at that SD (NaN with fewer than two
    finite differences; ``inf`` beyond 10,000 seeds)."""
    from scipy import stats

    a = np.asarray(diffs, np.float64)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return math.nan, math.nan, math.nan
    sd = float(a.std(ddof=1))

    def mde(n: int) -> float:
        t = stats.t.ppf(0.5 + level / 2, n - 1) + stats.t.ppf(power, n - 1)
        return float(t * sd / math.sqrt(n))

    if sd == 0:
        return sd, 0.0, 2.0
    need = next((n for n in range(2, 10_001) if mde(n) <= abs(effect)), math.inf)
    return sd, mde(a.size), float(need)


def _ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``+0.012 [-0.030, +0.054]`` for a report table; ``absent`` without a value."""
    if not math.isfinite(mean):
        return "absent"
    if not math.isfinite(low):
        return f"{mean:+.{digits}f}"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1) of the finite values; NaN where there are none
    (a class absent from a split has no accuracy)."""
    a = np.asarray(values, np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def _pm(mean: float, std: float, digits: int = 3) -> str:
    """``mean ± std`` for a report table, ``absent`` where the class does not occur."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if math.isfinite(mean) else "absent"


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        fh.write(text)


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    return buf.getvalue()


def write_report(
    out_dir: str | os.PathLike,
    config: CompareConfig,
    failed: dict[str, str] | None = None,
    n_figure_sections: int = 3,
) -> dict[str, Path]:
    """Write ``report.md``, ``accuracy.csv``, ``forgetting.csv``, ``jobs.csv`` and
    ``heatmaps.png`` from the finished runs under ``<out>/jobs``; failed jobs are listed.

    Every table has a ``split`` column: the held-out test volumes (``test1``, ``test2``:
    Table 1) and the ``validation`` sections. ``compare.json`` records the class, methods
    and seeds for readers of the folder (:class:`~.compare_maps.ComparisonMaps`)."""
    out = Path(out_dir)
    failed = dict(failed or {})
    epochs = config.train.get("epochs")
    per_job: dict[tuple[str, int], dict[str, Any]] = {}
    for method in config.methods:
        for seed in range(config.seeds):
            name = job_name(method, seed)
            path = out / JOBS_DIR / name
            if _run_finished(path, epochs):
                per_job[(method, seed)] = job_metrics(path, style_sources(out, seed))
            elif name not in failed:
                failed[name] = "not finished (no finished run store)"
    class_names: list[str] = next(iter(per_job.values()))["class_names"] if per_job else []
    shown = display_names(class_names)
    n = len(class_names)
    names = {s for m in per_job.values() for s in m["splits"]}
    splits = sorted(names - {"validation"}) + (["validation"] if "validation" in names else [])

    # jobs.csv: one row per (method, seed, split)
    job_rows = []
    for method in config.methods:
        for seed in range(config.seeds):
            m = per_job.get((method, seed))
            name = job_name(method, seed)
            if m is None:
                job_rows.append(
                    [method, seed, "", "failed", failed.get(name, "")] + [""] * (2 * n + 2)
                )
                continue
            for sp in splits:
                r = m["splits"].get(sp)
                if r is None:
                    continue
                job_rows.append([method, seed, sp, "finished", "", r["mean_class_accuracy"],
                                 *r["class_accuracy"], r["total_events"],
                                 *[float(e) for e in r["events"]]])  # fmt: skip
    job_header = (
        ["method", "seed", "split", "status", "error", "mean_class_accuracy"]
        + [f"acc_{c}" for c in class_names]
        + ["events_total"]
        + [f"events_{c}" for c in class_names]
    )

    # aggregates, per (method, split)
    acc_rows, ev_rows, md_acc, md_ev = [], [], [], []
    for sp in splits:
        for method in config.methods:
            ms = [
                per_job[(method, s)]["splits"][sp]
                for s in range(config.seeds)
                if (method, s) in per_job and sp in per_job[(method, s)]["splits"]
            ]
            k = len(ms)
            acc = [_mean_std([m["class_accuracy"][c] for m in ms]) for c in range(n)]
            mca = _mean_std([m["mean_class_accuracy"] for m in ms])
            tot = _mean_std([m["total_events"] for m in ms])
            ev = [_mean_std([float(m["events"][c]) for m in ms]) for c in range(n)]
            acc_rows.append([method, sp, k, *[v for pair in acc for v in pair], *mca])
            ev_rows.append([method, sp, k, *tot, *[v for pair in ev for v in pair]])
            md_acc.append([method, sp, str(k)] + [_pm(a, s) for a, s in acc] + [_pm(*mca)])
            md_ev.append(
                [method, sp, str(k), f"{tot[0]:.1f} ± {tot[1]:.1f}"] + [f"{a:.1f}" for a, _ in ev]
            )
    acc_header = ["method", "split", "n_seeds"]
    for c in class_names:
        acc_header += [f"{c}_mean", f"{c}_std"]
    acc_header += ["mean_class_accuracy_mean", "mean_class_accuracy_std"]
    ev_header = ["method", "split", "n_seeds", "total_mean", "total_std"]
    for c in class_names:
        ev_header += [f"{c}_mean", f"{c}_std"]

    diff_rows = _paired_differences(config, per_job, splits, class_names)
    fate_rows, _, overlap_rows = region_tables(out, config, per_job)
    files = {
        "accuracy": out / "accuracy.csv",
        "forgetting": out / "forgetting.csv",
        "differences": out / "differences.csv",
        "regions": out / "regions.csv",
        "overlap": out / "overlap.csv",
        "jobs": out / "jobs.csv",
        "figure": out / "heatmaps.png",
        "report": out / "report.md",
        "record": out / REPORT_FILE,
    }
    _write_text(files["accuracy"], _csv_text(acc_header, acc_rows))
    _write_text(files["forgetting"], _csv_text(ev_header, ev_rows))
    _write_text(
        files["differences"],
        _csv_text(["method", "split", "quantity", "n_seeds", "mean", "ci95_low", "ci95_high",
                   "sd", "mde80", "seeds_for_0.055"], diff_rows),
    )  # fmt: skip
    _write_text(
        files["regions"],
        _csv_text(["method", "seed", "split", "section", "size", "kept", "fate",
                   "baseline_density", "density"], fate_rows),
    )  # fmt: skip
    _write_text(
        files["overlap"],
        _csv_text(["method", "seed", "split", "dice", "regions", "stays", "appear",
                   "level_ratio"], overlap_rows),
    )  # fmt: skip
    _write_text(files["jobs"], _csv_text(job_header, job_rows))
    write_json(  # what a reader of the report folder needs (compare_maps.ComparisonMaps)
        out / REPORT_FILE,
        {
            "class": config.cls,
            "methods": list(config.methods),
            "seeds": int(config.seeds),
            "min_pixels": int(config.min_pixels),
        },
    )
    fig_sections = _figure(files["figure"], out, config, per_job, n_figure_sections)
    diff_acc, diff_ev = [], []
    acc_keys = [f"acc_{c}" for c in class_names] + ["mean_class_accuracy"]
    labels = list(dict.fromkeys(r[0] for r in diff_rows))  # the arms, then the contrasts
    for method in labels:
        for sp in splits:
            got = {r[2]: r for r in diff_rows if r[0] == method and r[1] == sp}
            if not got:
                continue
            seeds_n = str(max(r[3] for r in got.values()))
            diff_acc.append([method, sp, seeds_n] + [_ci(*got[k][4:7]) for k in acc_keys])
            ev_keys = ["events_total"] + [k for k in got if k == f"events_{config.cls}"]
            diff_ev.append(
                [method, sp, seeds_n] + [_ci(*got[k][4:7], digits=1) for k in ev_keys]
            )
    power_rows = []
    for r in diff_rows:
        if r[1] == TEST_SPLIT and r[2] in (f"prob_{config.cls}", f"acc_{config.cls}",
                                           "mean_class_accuracy"):  # fmt: skip
            sd, mde, need = r[7:10]
            what = (r[2].replace("prob_", "true-class probability, ")
                    .replace("acc_", "accuracy, ").replace("_", " "))  # fmt: skip
            power_rows.append([
                r[0], what + (" (primary)" if r[2] == f"prob_{config.cls}" else ""), str(r[3]),
                "—" if not math.isfinite(sd) else f"{sd:.3f}",
                "—" if not math.isfinite(mde) else f"{mde:.3f}",
                "—" if math.isnan(need) else ("> 10,000" if math.isinf(need) else f"{need:.0f}"),
            ])  # fmt: skip

    budgets = []
    for method in config.methods:
        seeds = sorted(s for (m, s) in per_job if m == method)
        if seeds:
            from napari_forgetting.runs.store import RunStore

            b = RunStore.open(out / JOBS_DIR / job_name(method, seeds[0])).info.get("budget")
            if b:
                budgets.append([method, str(b["patches_per_epoch"]), str(b["batches_per_epoch"]),
                                str(b["gradient_steps"]), b["augmentation"],
                                f"{b['augmented_share']:.0%}"])  # fmt: skip
    test_rows = [r for r in md_acc if r[1] != "validation"]
    val_rows = [r for r in md_acc if r[1] == "validation"]
    acc_cols = ["method", "split", "seeds", *shown, "mean class acc."]
    cfg_line = json.dumps({k: v for k, v in asdict(config).items() if k != "train"})
    preset_lines = []
    if config.preset:
        preset = f"`napari-forgetting compare --preset {config.preset}`"
        preset_lines = [f"Preset: `{config.preset}` ({preset}).", ""]
    md = [
        "# Method comparison",
        "",
        *preset_lines,
        f"Data: `{config.data}`; methods: {', '.join(config.methods)}; seeds: {config.seeds}; "
        f"training: `{json.dumps(config.train)}`.",
        "",
        "## Table 1: per-class accuracy on the held-out test volumes (all their inlines and "
        "crosslines, after the last epoch; mean ± std over seeds)",
        "",
        _md_table(acc_cols, test_rows) if test_rows else "No test volumes.",
        "",
        *absent_classes(per_job, class_names, config.cls),
        "## Per-class accuracy on the validation sections (last epoch; mean ± std over seeds)",
        "",
        "Validation traces overlap training sections (every validation inline crosses the "
        "training crosslines), as in the paper's split: the test volumes are the held-out "
        "figure. " + _read_on(per_job),
        "",
        _md_table(acc_cols, val_rows),
        "",
        "## Training budget per arm",
        "",
        "Every arm takes the same gradient steps on the same number of patches per epoch; "
        "the augmented arms change the same share of them (flipped, rotated, or drawn from "
        "the pool).",
        "",
        _md_table(
            [
                "method",
                "patches / epoch",
                "batches / epoch",
                "gradient steps",
                "augmentation",
                "augmented share",
            ],
            budgets,
        ),  # fmt: skip
        "",
        "## Differences from the baseline, paired by seed",
        "",
        "Each method minus the baseline of the same seed (the same data, the same "
        "initialisation seed and the same training draws wherever its treatment leaves "
        "them), then the contrasts the paper's claim needs: `transfer - identity` (the style, "
        "against more draws of the same target sections untransferred) and `transfer - "
        "random-sources` (hotspot sources against sources drawn at random); mean over "
        "seeds and its 95 % Student-t interval "
        f"(`differences.csv`). `{TEST_SPLIT}` is every test volume's pixels together.",
        "",
        _md_table(["method", "split", "seeds", *shown, "mean class acc."], diff_acc)
        if diff_acc
        else "No paired runs.",
        "",
        _md_table(
            [
                "method",
                "split",
                "seeds",
                "forgetting events, total",
                f"forgetting events, {config.cls}",
            ],
            diff_ev,
        )
        if diff_ev
        else "",  # fmt: skip
        "",
        "## What this comparison can detect",
        "",
        f"**Primary endpoint**: the mean true-class probability of {config.cls} over its "
        f"pixels on `{TEST_SPLIT}` (a continuous endpoint: it moves with the model's "
        "confidence where accuracy jumps at 0.5; fixed in the code before any arm runs, the "
        "same for every comparison). Accuracy is reported beside it. "
        f"From the seeds run: the paired SD of each contrast on `{TEST_SPLIT}` (every test "
        "volume's pixels together), its minimum detectable effect (two-sided paired t-test, "
        "5 % level, 80 % power, on these seeds), and the seeds the paper's "
        f"+{PAPER_EFFECT} would need at that SD. A difference smaller than the MDE is not "
        "evidence of no effect (`differences.csv` has every split and quantity).",
        "",
        _md_table(["method", "quantity", "seeds", "paired SD", "MDE (80 % power)",
                  f"seeds for +{PAPER_EFFECT}"], power_rows)
        if power_rows
        else "Fewer than two paired seeds: nothing can be said of power.",
        "",
        "## Forgetting events on the tracked sections (last epoch, mean over seeds)",
        "",
        _md_table(["method", "split", "seeds", "total (± std)", *shown], md_ev),
        "",
        "## The baseline's high-density forgetting regions under each method",
        "",
        *_region_lines(fate_rows, config),
        "",
        *_overlap_lines(overlap_rows, config),
        "",
        "## The baseline's explanation across seeds",
        "",
        *_stability_lines(out, config, per_job),
        "",
        "## The transfer method",
        "",
        *_transfer_lines(out, config),
        "",
        "## Fig. 5: forgetting heat maps",
        "",
        f"![heat maps](heatmaps.png) Sections: {', '.join(fig_sections) or 'none'}.",
        "",
        "## Failed jobs",
        "",
    ]
    if failed:
        md += [f"- `{name}`: {err}" for name, err in sorted(failed.items())]
    else:
        md.append("None.")
    md += ["", f"Configuration: `{cfg_line}`", ""]
    _write_text(files["report"], "\n".join(md))
    return files


def _paired_differences(
    config: CompareConfig,
    per_job: dict[tuple[str, int], dict[str, Any]],
    splits: Sequence[str],
    class_names: Sequence[str],
) -> list[list[Any]]:
    """Rows ``[method, split, quantity, n_seeds, mean, low, high, sd, mde, seeds_needed]``:
    each method's difference from the baseline of the same seed (same data, same
    initialisation seed), mean and 95 % Student-t interval over the seeds both finished, and
    what those seeds can detect (:func:`detectable`; ``seeds_needed``: for the paper's
    +0.055, meaningful for the accuracies). Quantities: each class's
    accuracy, the mean class accuracy, total forgetting events and those of ``config.cls``."""
    rows: list[list[Any]] = []
    if "baseline" not in config.methods:
        return rows
    cid = class_names.index(config.cls) if config.cls in class_names else None

    def quantities(r: dict[str, Any]) -> dict[str, float]:
        q = {f"acc_{c}": float(r["class_accuracy"][i]) for i, c in enumerate(class_names)}
        q["mean_class_accuracy"] = float(r["mean_class_accuracy"])
        q.update({f"prob_{c}": float(r["class_probability"][i]) for i, c in enumerate(class_names)})
        q["mean_class_probability"] = float(r["mean_class_probability"])
        q["events_total"] = float(r["total_events"])
        if cid is not None:
            q[f"events_{config.cls}"] = float(r["events"][cid])
        return q

    arms = [(m, "baseline", m) for m in config.methods if m != "baseline"]
    arms += [(a, b, f"{a} - {b}") for a, b in CONTRASTS
             if a in config.methods and b in config.methods]  # fmt: skip
    for method, other, label in arms:
        for sp in splits:
            pairs = [
                (quantities(per_job[(method, s)]["splits"][sp]),
                 quantities(per_job[(other, s)]["splits"][sp]))
                for s in range(config.seeds)
                if (method, s) in per_job and (other, s) in per_job
                and sp in per_job[(method, s)]["splits"]
                and sp in per_job[(other, s)]["splits"]
            ]  # fmt: skip
            if not pairs:
                continue
            for key in pairs[0][0]:
                diffs = [m[key] - b[key] for m, b in pairs]
                n = int(np.isfinite(diffs).sum())
                rows.append([label, sp, key, n, *paired_interval(diffs), *detectable(diffs)])
    return rows


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


def _paired_maps(
    out: Path, config: CompareConfig, per_job: dict[tuple[str, int], dict[str, Any]]
) -> Iterator[tuple[int, str, dict[str, np.ndarray], list[tuple[str, dict[str, np.ndarray]]]]]:
    """Per seed and split with maps: ``(seed, split, baseline maps, [(method, its maps)])``
    for every other method of the seed and the next seed's baseline (the control), the
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
        if config.seeds > 1:
            others.append(
                ("baseline (next seed)", stores.get(("baseline", (seed + 1) % config.seeds)))
            )
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
    seed and under the baseline of the next seed (``baseline (next seed)``: run-to-run
    variation alone), from one read of each run's maps
    (:mod:`~napari_forgetting.dynamics.regions`). Splits: the validation sections and every
    tracked test volume.

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


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _finite(values: Sequence[Any]) -> np.ndarray:
    x = np.array(values, dtype=np.float64)
    return x[np.isfinite(x)]


def _overlap_lines(rows: Sequence[Sequence[Any]], config: CompareConfig) -> list[str]:
    """The report's paragraph on where the methods forget (:func:`region_tables`)."""
    if not rows:
        return []
    methods = [m for m in config.methods if m != "baseline"] + ["baseline (next seed)"]
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
    header = ["method", "sections", "seeds", "Dice of the high-density masks (mean ± sd)",
              "baseline regions that stay", "regions that appear", "forgetting level ratio"]
    lines = [_md_table(header, table)]
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
            mean, std = _mean_std(per_seed)
            out.append([method, group, str(n), *shares, f"{mean:.0%} ± {std:.0%}"])
    return out


def _region_lines(rows: Sequence[Sequence[Any]], config: CompareConfig) -> list[str]:
    """The report's paragraph on the regions' fates (:func:`region_tables`)."""
    from napari_forgetting.dynamics import regions as reg

    if not rows:
        return ["No baseline regions (no finished baseline with forgetting maps)."]
    methods = [m for m in config.methods if m != "baseline"] + ["baseline (next seed)"]
    table = _fate_summary(rows, methods)
    lines = [_md_table(["method", "sections", "regions", *reg.FATES, "disappears, per seed"],
                       table)]  # fmt: skip
    return [
        "A high-density region is a connected (8-connected) set of at least "
        f"{reg.MIN_REGION} pixels whose forgetting events, averaged over {reg.WINDOW} x "
        f"{reg.WINDOW} pixels, reach the {reg.QUANTILE:.0f}th percentile of the baseline's "
        f"over the split's sections (at least {reg.MIN_DENSITY:g} event); the same threshold "
        "is applied to the other run of the same seed and section. A region *disappears* "
        f"when under {reg.GONE:.0%} of its pixels stay above it, *shrinks* under "
        f"{reg.KEPT:.0%}, else *stays*. `baseline (next seed)`: the baseline of another seed, "
        "the fates that run-to-run variation alone gives. One row per region in "
        "`regions.csv`; outlined on the heat maps below.",
        "",
        *lines,
    ]


def _stability_lines(out: Path, config: CompareConfig, per_job: dict[Any, Any]) -> list[str]:
    """How much the baseline's hotspots move with the seed (``stability.txt`` /
    ``stability.json``) and its consensus run (``consensus/``, the Compare dock's
    ``consensus`` seed): built from the finished baseline seeds, at least two."""
    from napari_forgetting.runs.consensus import CONSENSUS_DIR, build_consensus, seed_runs
    from napari_forgetting.workflow.consensus import STABILITY_TEXT, write_stability

    seeds = sorted(s for (m, s) in per_job if m == "baseline")
    if len(seeds) < 2:
        return [f"{len(seeds)} finished baseline seed(s): stability needs two or more."]
    stores = seed_runs([out / JOBS_DIR / job_name("baseline", s) for s in seeds])
    try:
        results = write_stability(stores, out, config.cls, k=config.n_sources,
                                  min_pixels=config.min_pixels)  # fmt: skip
        extra = {"k": config.n_sources, "min_pixels": config.min_pixels}
        build_consensus(stores, out / CONSENSUS_DIR, extra=extra)
    except ValueError as exc:  # e.g. seeds trained with different budgets
        return [f"Not measured: {exc}"]
    lines = [
        f"When only the seed changes ({len(stores)} baseline seeds), the {config.cls} "
        f"hotspot ranking and heat maps move this much (`{STABILITY_TEXT}`, "
        f"`napari-forgetting stability REPORT`); the baseline's consensus over the seeds is "
        f"the run `{CONSENSUS_DIR}/`:",
        "",
    ]
    lines += [f"- {r if isinstance(r, str) else r.headline()}" for r in results.values()]
    return lines


def _transfer_lines(out: Path, config: CompareConfig) -> list[str]:
    """The transfer arm's method and its measured quality, from the pools' ``pool.json``."""
    if "transfer" not in config.methods:
        return ["No transfer arm."]
    rows = []
    for seed in range(config.seeds):
        pool_file = out / POOLS_DIR / f"seed{seed}" / "pool.json"
        if not pool_file.is_file():
            continue
        from napari_forgetting.workflow.augment import read_pool_record

        rec = read_pool_record(pool_file)[1]
        q = rec.get("transfer_quality") or {}
        method = rec.get("transfer_method", "learned")
        if not q.get("measured"):
            rows.append([str(seed), method, "not measured: " + str(q.get("reason", "")),
                         "", "", "", "", "", ""])  # fmt: skip
            continue
        verdict = "meets" if q["passes"] else (
            "cannot judge (forced)" if q.get("verdict") == "cannot judge" else "below (forced)"
        )  # fmt: skip
        label = q.get("label")
        found = (
            f"{label['recall_transferred']:.2f} / {label['recall_real']:.2f}"
            + ("" if label["judged"] else " (not judged)")
            if label else "—"
        )  # fmt: skip
        rows.append(
            [str(seed), method, f"{q['inside']:.3f}", f"{q['rms_error']:.3f}"]
            + [f"{q[k]:.2f}" for k in ("lateral_noise_ratio", "lateral_closure", "repeated")]
            + [found, verdict]
        )
    if not rows:
        return ["No pool was made."]
    header = ["seed", "method", "inside (std)", "RMS error (std)", "lateral noise ratio",
              "lateral closure", "repeated traces", "baseline finds (transferred / real)",
              "bar"]  # fmt: skip
    lines = [_md_table(header, rows)]
    return [
        "Measured on distinct held-out triples of the validation sections before each pool "
        "was made (`napari-forgetting transfer-quality`; the bar and its figures are in the "
        "docs' *Style transfer, measured*): |T(A) - T(B)| inside the class, the source's RMS "
        "arriving, the lateral texture against a texture-free fill and against the target's, "
        "repeated traces, and the share of the transferred and of the real class regions "
        "the seed's baseline model labels as the class.",
        "",
        *lines,
    ]


def _figure(
    path: Path,
    out: Path,
    config: CompareConfig,
    per_job: dict[tuple[str, int], Any],
    n_sections: int,
) -> list[str]:
    """Fig. 5: rows = the validation sections and, where tracked, the sections of each test
    volume with the most pixels of ``config.cls`` (``n_sections`` of each), columns = labels
    + each method's heat map (its lowest finished seed), one colour scale per row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    from napari_forgetting.data.classes import class_colors
    from napari_forgetting.workflow.compare_maps import ComparisonMaps

    maps = ComparisonMaps(out) if per_job else None
    methods = [m for m in config.methods if maps is not None and m in maps.methods]
    panels = []
    if maps is not None:
        for split in maps.splits:
            keys = maps.sections_with_class(split, n_sections)
            panels += [maps.panel(split, key) for key in keys]
    cols = 1 + len(methods)
    rows = max(1, len(panels))
    fig = Figure(figsize=(2.6 * cols, 2.4 * rows), dpi=100)
    FigureCanvasAgg(fig)
    if not panels:
        fig.text(0.5, 0.5, "no finished runs", ha="center")
    else:
        n_classes = len(maps.class_names)  # type: ignore[union-attr]
        cmap = ListedColormap(class_colors(n_classes))
        for r, panel in enumerate(panels):
            ax = fig.add_subplot(rows, cols, r * cols + 1)
            ax.imshow(
                panel.labels,
                cmap=cmap,
                vmin=-0.5,
                vmax=n_classes - 0.5,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_ylabel(f"{panel.split}\n{panel.key}", fontsize=8)
            if r == 0:
                ax.set_title("labels", fontsize=9)
            shown_methods = [m for m in methods if m in panel.maps]
            for c, m in enumerate(shown_methods):
                ax = fig.add_subplot(rows, cols, r * cols + c + 2)
                im = ax.imshow(
                    panel.maps[m],
                    cmap="inferno",
                    vmin=0,
                    vmax=panel.vmax,
                    aspect="auto",
                    interpolation="nearest",
                )
                if panel.regions is not None and panel.regions.any():
                    ax.contour(panel.regions > 0, levels=[0.5], colors="cyan", linewidths=0.7)
                if r == 0:
                    ax.set_title(f"{m} (seed {panel.seeds[m]})", fontsize=9)
                if c == len(shown_methods) - 1:
                    fig.colorbar(im, ax=ax, fraction=0.05, label="events")
        for ax in fig.axes:
            if ax.images:
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle(
            "forgetting events per pixel: validation and test sections (cyan: the baseline's "
            "high-density regions)",
            fontsize=10,
        )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return [f"{panel.split} {panel.key}" for panel in panels]
