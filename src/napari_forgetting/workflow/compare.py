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

Report (``<out>/``, every file written atomically):

* ``accuracy.csv`` / Table 1 in ``report.md`` -- per-class accuracy on the validation
  sections at the last epoch, mean and standard deviation over seeds, one row per method;
* ``forgetting.csv`` -- total and per-class forgetting events on the validation sections
  (sums of the per-pixel event counts at the last epoch), mean and std over seeds;
* ``jobs.csv`` -- one row per (method, seed): status, error, accuracies, events;
* ``heatmaps.png`` -- Fig. 5: forgetting heat maps of the same validation sections under
  each method (seed of the lowest number finished for every method), side by side.

No Qt or napari here; matplotlib is used through its Agg canvas only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.synthetic import DEFAULT_SHAPE
from napari_forgetting.data.writers import atomic_path, write_json
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

__all__ = [
    "METHODS",
    "CompareConfig",
    "CompareResult",
    "JobSpec",
    "build_jobs",
    "run_comparison",
    "write_report",
]

METHODS = ("baseline", "flip", "rotate", "transfer")
JOBS_DIR = "jobs"
TRANSFER_DIR = "transfer_model"
POOLS_DIR = "pools"
_DONE = "done.json"


@dataclass
class CompareConfig:
    """What to compare and how each run trains.

    ``data``/``labels``/``shape``/``data_seed``/``iline``/``xline``: as ``train``'s options
    (:func:`.data.load_data`). ``train``: :class:`~..model.trainer.TrainConfig` fields shared
    by every job (the method sets ``augment`` and the seed ``seed``). ``transfer_checkpoint``:
    a trained transfer model; without one a model is trained once (``transfer`` holds
    :class:`~..transfer.TransferConfig` overrides). ``cls``, ``n_sources``, ``per_source``:
    the augmented pool (class, hotspot sources, transfers per source). ``transfer_method``:
    ``learned`` (the model above) or ``stratal`` (training-free, no model); ``None``:
    learned with a checkpoint, else stratal (the learned default is below the quality bar:
    see the README's *Style transfer, measured*). The method is
    measured on the held-out sections before each pool is made and refused below the bar
    unless ``force`` (:func:`~.augment.check_transfer`); style sources hold at least
    ``min_pixels`` of the class. ``retries``: extra attempts of a failed task.
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

        self.transfer_method = method_choice(self.transfer_method, bool(self.transfer_checkpoint))
        if self.min_pixels < 0:
            raise ValueError(f"min_pixels must be >= 0, got {self.min_pixels}")
        self.shape = tuple(int(n) for n in self.shape)  # type: ignore[assignment]


@dataclass
class JobSpec:
    """One task: ``name`` (``<method>-seed<k>``, or ``transfer-model``), the module-level
    function and its keyword arguments; ``deps`` maps keyword names to the names of the jobs
    whose results they receive."""

    name: str
    func: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any]
    deps: dict[str, str] = field(default_factory=dict)
    out_dir: Path | None = None


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
    """Run one training: resume an interrupted run in its folder, else start fresh."""
    from napari_forgetting.runs.store import RunStoreError

    try:
        trainer.fit(resume=True)
    except RunStoreError:
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
) -> dict[str, Any]:
    """The transfer method for one seed: pool from the baseline run ``parent`` (a path or the
    baseline job's result) with ``transfer_model`` (a checkpoint path or that job's result;
    ``None`` for the stratal method), measured first and refused below the bar unless
    ``force``, then training from scratch on the training sections plus the pool."""
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
    method = resolve_method(transfer_method, None if ckpt is None else str(ckpt))
    volume = open_source(source)
    pool_path = Path(pool_dir)
    if (pool_path / POOL_MANIFEST).is_file():
        pool = load_pool(pool_path)
    else:
        class_id = resolve_class(volume.class_names, cls)
        quality = check_transfer(
            method, volume, class_id, force=force, min_pixels=min_pixels,
            every=int(train.get("every", 5)),
        )  # fmt: skip
        pool = generate_pool(
            parent_path, method, cls, n_sources, per_source, int(seed), volume,
            min_pixels=min_pixels, quality=quality,
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
        "name": job_name("transfer", seed),
        "path": str(out_dir),
        "seconds": time.perf_counter() - t0,
    }


# ---------------------------------------------------------------------------- the job graph


def default_transfer_config(train: dict[str, Any], n_classes: int) -> dict[str, Any]:
    """The transfer model the comparison trains once (``transfer_method="learned"``
    without a checkpoint): :class:`~..transfer.TransferConfig`'s defaults, as
    ``transfer-train`` trains it, on the comparison's classes, device, threads and held-out
    split. (Measured below the quality bar on the 32x64x128 benchmark: its transfer jobs
    refuse it unless ``force``.)"""
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
    # baselines first: transfer jobs need them
    need_baseline = "transfer" in methods
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
                )
            )
    if "transfer" in methods:
        tm: Any
        tm_dep: str | None = None
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
                    )
                )
        for seed in seeds:
            name = job_name("transfer", seed)
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
                "pool_dir": str(out / POOLS_DIR / f"seed{seed}"),
                "cls": config.cls,
                "n_sources": config.n_sources,
                "per_source": config.per_source,
                "parent": done_paths.get(base),
                "transfer_model": tm,
                "transfer_method": config.transfer_method,
                "force": config.force,
                "min_pixels": config.min_pixels,
            }
            if base not in done_paths:
                deps["parent"] = base
            if tm_dep is not None:
                deps["transfer_model"] = tm_dep
            jobs.append(JobSpec(name, augmented_job, kwargs, deps, out_dir=path))
    return jobs, skipped


def _format_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run_sequential(jobs: Sequence[JobSpec], retries: int) -> tuple[list[str], dict[str, str]]:
    """Run the jobs one after another in this process (dependency order is list order)."""
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    ran: list[str] = []
    for job in jobs:
        broken = [d for d in job.deps.values() if d in failed]
        if broken:
            failed[job.name] = f"dependency failed: {', '.join(broken)}"
            continue
        kwargs = {**job.kwargs, **{k: results[d] for k, d in job.deps.items()}}
        for attempt in range(retries + 1):
            try:
                results[job.name] = job.func(**kwargs)
                ran.append(job.name)
                failed.pop(job.name, None)
                break
            except Exception as exc:  # noqa: BLE001 -- reported, never dropped
                failed[job.name] = f"{_format_error(exc)} (after {attempt + 1} attempts)"
    return ran, failed


def _run_dask(
    jobs: Sequence[JobSpec], retries: int, client: Any
) -> tuple[list[str], dict[str, str]]:
    """Submit the jobs to a dask client, dependencies as futures; wait for all."""
    from distributed import wait

    futures: dict[str, Any] = {}
    token = f"{os.getpid()}-{time.time_ns()}"
    for job in jobs:
        kwargs = {**job.kwargs, **{k: futures[d] for k, d in job.deps.items()}}
        futures[job.name] = client.submit(
            job.func, key=f"{job.name}-{token}", retries=retries, pure=False, **kwargs
        )
    wait(list(futures.values()))
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
    from napari_forgetting.data.source import load_data

    t0 = time.perf_counter()
    say = log or (lambda msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    volume, source = load_data(
        config.data, config.labels, config.shape, config.data_seed, config.iline, config.xline
    )
    n_classes = int(getattr(volume, "n_classes", None) or len(volume.class_names))
    if "transfer" in config.methods and (
        config.transfer_method == "stratal" or config.transfer_checkpoint
    ):
        _check_given_transfer(config, volume)
    del volume  # the workers reopen it from `source`
    jobs, skipped = build_jobs(config, out, source, n_classes)
    if skipped:
        say(f"already finished, skipped: {', '.join(skipped)}")
    say(f"jobs to run: {', '.join(j.name for j in jobs) or 'none'}")
    if not jobs:
        ran, failed = [], {}
    elif sequential:
        ran, failed = _run_sequential(jobs, config.retries)
    elif client is not None:
        ran, failed = _run_dask(jobs, config.retries, client)
    else:
        from distributed import Client, LocalCluster

        if scheduler:
            with Client(scheduler) as c:
                ran, failed = _run_dask(jobs, config.retries, c)
        else:
            with (
                LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=None,
                ) as cluster,
                Client(cluster) as c,
            ):
                ran, failed = _run_dask(jobs, config.retries, c)
    for name, err in failed.items():
        say(f"FAILED {name}: {err}")
    files = write_report(out, config, failed=failed)
    return CompareResult(out, ran, skipped, failed, files, time.perf_counter() - t0)


# ---------------------------------------------------------------------------- the report


def display_names(class_names: Sequence[str]) -> list[str]:
    """The F3 display names for the F3 classes, else the names as they are."""
    from napari_forgetting.data.classes import F3_CLASS_NAMES, F3_DISPLAY_NAMES

    table = dict(zip(F3_CLASS_NAMES, F3_DISPLAY_NAMES, strict=True))
    return [table.get(n, n) for n in class_names]


def _class_events(store: Any) -> np.ndarray:
    """Forgetting events per class summed over a run store's mapped sections (last epoch)."""
    n = store.n_classes
    events = np.zeros(n, np.float64)
    labels = store.all_map_labels()
    # one read of the flat map, cut per section
    for counts, lab in zip(
        store.split_map(store.flat_map("forgetting_events")), labels, strict=True
    ):
        lab = lab.ravel()
        keep = lab < n  # uint8 ids: the ignore label (255) is out
        events += np.bincount(lab[keep], weights=counts.ravel()[keep], minlength=n)
    return events


def job_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """Per split -- ``validation`` (the validation sections, last epoch) and each held-out
    test volume (all its sections after the last epoch) -- the per-class accuracy, and the
    forgetting events per class on the sections tracked there (validation; every
    ``test_every``-th section of a test volume; NaN where none were tracked)."""
    from napari_forgetting.runs.store import RunStore

    store = RunStore.open(path)
    n = store.n_classes
    last = store.history[-1]
    splits: dict[str, dict[str, Any]] = {}

    def split(acc: Sequence[float], mca: float, events: np.ndarray) -> dict[str, Any]:
        return {
            "class_accuracy": [float(a) for a in acc],
            "mean_class_accuracy": float(mca),
            "events": events,
            "total_events": float(events.sum()),
        }

    has_maps = "forgetting_events" in store.map_names
    val_events = _class_events(store) if has_maps else np.full(n, math.nan)
    splits["validation"] = split(
        last["class_accuracy"], last.get("mean_class_accuracy", math.nan), val_events
    )
    tracked = set(store.test_names)
    for name, metrics in sorted((store.state.get("test_metrics") or {}).items()):
        events = _class_events(store.test(name)) if name in tracked else np.full(n, math.nan)
        splits[name] = split(
            metrics["class_accuracy"], metrics.get("mean_class_accuracy", math.nan), events
        )
    return {"class_names": store.class_names, "epochs": store.n_epochs, "splits": splits}


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
    Table 1) and the ``validation`` sections."""
    out = Path(out_dir)
    failed = dict(failed or {})
    epochs = config.train.get("epochs")
    per_job: dict[tuple[str, int], dict[str, Any]] = {}
    for method in config.methods:
        for seed in range(config.seeds):
            name = job_name(method, seed)
            path = out / JOBS_DIR / name
            if _run_finished(path, epochs):
                per_job[(method, seed)] = job_metrics(path)
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

    files = {
        "accuracy": out / "accuracy.csv",
        "forgetting": out / "forgetting.csv",
        "jobs": out / "jobs.csv",
        "figure": out / "heatmaps.png",
        "report": out / "report.md",
    }
    _write_text(files["accuracy"], _csv_text(acc_header, acc_rows))
    _write_text(files["forgetting"], _csv_text(ev_header, ev_rows))
    _write_text(files["jobs"], _csv_text(job_header, job_rows))
    fig_sections = _figure(files["figure"], out, config, per_job, shown, n_figure_sections)

    def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)

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
    md = [
        "# Method comparison",
        "",
        f"Data: `{config.data}`; methods: {', '.join(config.methods)}; seeds: {config.seeds}; "
        f"training: `{json.dumps(config.train)}`.",
        "",
        "## Table 1: per-class accuracy on the held-out test volumes (all their inlines and "
        "crosslines, after the last epoch; mean ± std over seeds)",
        "",
        md_table(acc_cols, test_rows) if test_rows else "No test volumes.",
        "",
        "## Per-class accuracy on the validation sections (last epoch; mean ± std over seeds)",
        "",
        "Validation traces overlap training sections (every validation inline crosses the "
        "training crosslines), as in the paper's split: the test volumes are the held-out "
        "figure.",
        "",
        md_table(acc_cols, val_rows),
        "",
        "## Training budget per arm",
        "",
        "Every arm takes the same gradient steps on the same number of patches per epoch; "
        "the augmented arms change the same share of them (flipped, rotated, or drawn from "
        "the pool).",
        "",
        md_table(
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
        "## Forgetting events on the tracked sections (last epoch, mean over seeds)",
        "",
        md_table(["method", "split", "seeds", "total (± std)", *shown], md_ev),
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


def _transfer_lines(out: Path, config: CompareConfig) -> list[str]:
    """The transfer arm's method and its measured quality, from the pools' ``pool.json``."""
    if "transfer" not in config.methods:
        return ["No transfer arm."]
    rows = []
    for seed in range(config.seeds):
        pool_file = out / POOLS_DIR / f"seed{seed}" / "pool.json"
        if not pool_file.is_file():
            continue
        rec = json.loads(pool_file.read_text())
        q = rec.get("transfer_quality") or {}
        method = rec.get("transfer_method", "learned")
        if not q.get("measured"):
            rows.append([str(seed), method, "not measured: " + str(q.get("reason", "")),
                         "", "", "", "", ""])  # fmt: skip
            continue
        verdict = "meets" if q["passes"] else "below (forced)"
        rows.append(
            [str(seed), method, f"{q['inside']:.3f}", f"{q['outside']:.4f}"]
            + [f"{q['moves'][k]:.2f}" for k in ("rms", "frequency", "continuity")]
            + [verdict]
        )
    if not rows:
        return ["No pool was made."]
    header = ["seed", "method", "inside (std)", "outside (std)", "RMS moved",
              "frequency moved", "continuity moved", "bar"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [
        "Measured on held-out triples of the validation sections before each pool was made "
        "(`napari-forgetting transfer-quality`): |T(A) - T(B)| inside and outside the class, "
        "and how far the region's character moved from the target's to the source's.",
        "",
        *lines,
    ]


def _figure(
    path: Path,
    out: Path,
    config: CompareConfig,
    per_job: dict[tuple[str, int], Any],
    shown: Sequence[str],
    n_sections: int,
) -> list[str]:
    """Fig. 5: rows = the validation sections and, where tracked, the sections of each test
    volume with the most pixels of ``config.cls`` (``n_sections`` of each), columns = labels
    + each method's heat map (its lowest finished seed), one colour scale per row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    from napari_forgetting.data.classes import class_colors
    from napari_forgetting.runs.store import RunStore

    runs = {}
    for method in config.methods:
        seeds = sorted(s for (m, s) in per_job if m == method)
        if seeds:
            runs[method] = (seeds[0], RunStore.open(out / JOBS_DIR / job_name(method, seeds[0])))
    rows_spec: list[tuple[str, str, dict[str, Any]]] = []  # (split, section key, stores)
    if runs:
        ref = next(iter(runs.values()))[1]
        groups = {"validation": {m: st for m, (_, st) in runs.items()}}
        for name in ref.test_names:
            if all(name in st.test_names for _, st in runs.values()):
                groups[name] = {m: st.test(name) for m, (_, st) in runs.items()}
        cid = ref.class_names.index(config.cls) if config.cls in ref.class_names else None
        for split, stores in groups.items():
            first = next(iter(stores.values()))
            counts = []
            for i in range(len(first.map_sections)):
                lab = first.map_labels(i)
                counts.append(int((lab == cid).sum()) if cid is not None else int(lab.size))
            order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))[:n_sections]
            rows_spec += [(split, first.map_sections[i].key, stores) for i in sorted(order)]
    cols = 1 + len(runs)
    rows = max(1, len(rows_spec))
    fig = Figure(figsize=(2.6 * cols, 2.4 * rows), dpi=100)
    FigureCanvasAgg(fig)
    if not rows_spec:
        fig.text(0.5, 0.5, "no finished runs", ha="center")
    else:
        ref = next(iter(runs.values()))[1]
        cmap = ListedColormap(class_colors(ref.n_classes))
        for r, (split, key, stores) in enumerate(rows_spec):
            maps = {m: st.map("forgetting_events", key).astype(float) for m, st in stores.items()}
            vmax = max(1.0, max(float(h.max()) for h in maps.values()))
            ax = fig.add_subplot(rows, cols, r * cols + 1)
            ax.imshow(
                next(iter(stores.values())).map_labels(key),
                cmap=cmap,
                vmin=-0.5,
                vmax=ref.n_classes - 0.5,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_ylabel(f"{split}\n{key}", fontsize=8)
            if r == 0:
                ax.set_title("labels", fontsize=9)
            for c, (m, (seed, _)) in enumerate(runs.items()):
                ax = fig.add_subplot(rows, cols, r * cols + c + 2)
                im = ax.imshow(
                    maps[m],
                    cmap="inferno",
                    vmin=0,
                    vmax=vmax,
                    aspect="auto",
                    interpolation="nearest",
                )
                if r == 0:
                    ax.set_title(f"{m} (seed {seed})", fontsize=9)
                if c == len(runs) - 1:
                    fig.colorbar(im, ax=ax, fraction=0.05, label="events")
        for ax in fig.axes:
            if ax.images:
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle("forgetting events per pixel: validation and test sections", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return [f"{split} {key}" for split, key, _ in rows_spec]
