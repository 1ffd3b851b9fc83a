"""The jobs of a comparison: module-level (picklable) functions executed on the workers --
each gets the data's source record and reopens the volume itself -- and the job graph
(:func:`build_jobs`: what is still to run, in dependency order)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from napari_forgetting.data.writers import write_json
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.workflow.compare.config import (
    CONSENSUS_JOB,
    CONTROL_OFFSET,
    DONE_FILE,
    JOBS_DIR,
    NULL_CONTROLS,
    POOL_ARMS,
    POOLS_DIR,
    TRANSFER_ARMS,
    TRANSFER_DIR,
    CompareConfig,
    job_name,
    pool_dir_name,
)
from napari_forgetting.workflow.compare.scheduling import JobSpec

#: Start order on a cluster, the head of the longest chain first: the transfer model (the
#: longest job; the transfer jobs wait for it), then the baselines (the transfer jobs wait for
#: them too), then the transfer jobs, then flip and rotate, which fill the other workers.
#: Submission order alone started the model after most flip/rotate jobs, and its transfer
#: jobs then ran with one worker idle.
PRIORITY = {"transfer-model": 3, "baseline": 2, "transfer": 1}


def run_finished(path: Path, epochs: int | None = None) -> bool:
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


def _train(trainer: Any, name: str, out_dir: str, t0: float) -> dict[str, Any]:
    """Fit a job's trainer (:func:`_fit`), free it, and say what the job made."""
    _fit(trainer)
    trainer.release()
    return {"name": name, "path": str(out_dir), "seconds": time.perf_counter() - t0}


def control_seeds(method: str, seed: int) -> dict[str, int]:
    """The one stream a null control moves (:data:`~.config.NULL_CONTROLS`): ``reinit`` the
    initial weights', ``redraw`` the training draws'; nothing for the other arms."""
    key = {"reinit": "init_seed", "redraw": "draw_seed"}.get(method)
    return {key: int(seed) + CONTROL_OFFSET} if key else {}


def consensus_job(*, out_dir: str, n_sources: int, min_pixels: int, **runs: Any) -> dict[str, Any]:
    """The baseline's consensus over the seeds (``runs``: each seed's baseline, a path or
    that job's result), where ``consensus-sources`` takes its style sources from: written
    to ``out_dir`` (``runs.consensus``)."""
    from napari_forgetting.runs.consensus import build_consensus, seed_runs

    t0 = time.perf_counter()
    paths = [r["path"] if isinstance(r, dict) else str(r) for _, r in sorted(runs.items())]
    extra = {"k": int(n_sources), "min_pixels": int(min_pixels)}
    build_consensus(seed_runs(paths), out_dir, extra=extra)
    return {"name": CONSENSUS_JOB, "path": str(out_dir), "seconds": time.perf_counter() - t0}


def train_job(
    *, source: dict[str, Any], train: dict[str, Any], method: str, seed: int, out_dir: str
) -> dict[str, Any]:
    """Train ``method`` (baseline / flip / rotate, or a null control: ``reinit``, the
    baseline with another initialisation and the same draws, ``redraw`` the reverse) with
    ``seed`` into ``out_dir``."""
    from napari_forgetting.data.source import load_tests, open_source
    from napari_forgetting.training.segmentation import TrainConfig, Trainer

    t0 = time.perf_counter()
    volume = open_source(source)
    augment = {"flip": "flip", "rotate": "rotate"}.get(method, "none")
    cfg = TrainConfig.from_dict(
        {**train, "augment": augment, "seed": int(seed), **control_seeds(method, int(seed))}
    )
    tests = load_tests(source, volume)
    trainer = Trainer(volume, cfg, out_dir=out_dir, source=source, test_volumes=tests)
    return _train(trainer, job_name(method, seed), out_dir, t0)


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
    write_json(Path(out_dir) / DONE_FILE, done)
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
    sources_from: Any = None,
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
    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.data.source import open_source
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
    if isinstance(sources_from, dict):  # the consensus job's result (consensus-sources)
        sources_from = sources_from["path"]
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
    return _train(trainer, job_name(variant, seed), out_dir, t0)


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


def consensus_of(path: Path, runs: list[str] | list[Path]) -> bool:
    """Whether ``path`` holds a finished consensus built from exactly ``runs``."""
    from napari_forgetting.runs.consensus import consensus_record
    from napari_forgetting.runs.store import RunStore

    if not run_finished(path):
        return False
    record = consensus_record(RunStore.open(path)) or {}
    return sorted(record.get("runs", [])) == sorted(str(Path(r).resolve()) for r in runs)


def _consensus_spec(
    config: CompareConfig, out: Path, seeds: range, done_paths: dict[str, str]
) -> JobSpec | str:
    """The consensus job over the baseline's seeds, or the path of the consensus already
    built from exactly those seeds' finished baselines."""
    from napari_forgetting.runs.consensus import CONSENSUS_DIR

    path = out / CONSENSUS_DIR
    names = [job_name("baseline", s) for s in seeds]
    if all(n in done_paths for n in names) and consensus_of(path, [done_paths[n] for n in names]):
        return str(path)
    kwargs: dict[str, Any] = {"out_dir": str(path), "n_sources": config.n_sources,
                              "min_pixels": config.min_pixels}  # fmt: skip
    deps: dict[str, str] = {}
    for s, n in zip(seeds, names, strict=True):
        if n in done_paths:
            kwargs[f"run{s:04d}"] = done_paths[n]
        else:
            deps[f"run{s:04d}"] = n
    return JobSpec(CONSENSUS_JOB, consensus_job, kwargs, deps, out_dir=path,
                   priority=PRIORITY["baseline"])  # fmt: skip


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
    base_methods = [m for m in ("baseline", "flip", "rotate", *NULL_CONTROLS) if m in methods]
    if need_baseline and "baseline" not in base_methods:
        base_methods.insert(0, "baseline")
    for method in base_methods:
        for seed in seeds:
            name = job_name(method, seed)
            path = out / JOBS_DIR / name
            if run_finished(path, epochs):
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
    cons: Any = None
    if "consensus-sources" in methods:  # the seeds' consensus gives that arm its sources
        cons = _consensus_spec(config, out, seeds, done_paths)
        if isinstance(cons, JobSpec):
            jobs.append(cons)
        else:
            skipped.append(CONSENSUS_JOB)
    if any(m in methods for m in TRANSFER_ARMS):
        if config.transfer_method == "stratal":
            tm = None
        elif config.transfer_checkpoint:
            tm = str(Path(config.transfer_checkpoint).resolve())
        else:
            tdir = out / TRANSFER_DIR
            tcfg = {**default_transfer_config(train, n_classes), **config.transfer}
            if (tdir / DONE_FILE).is_file():
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
            if run_finished(path, epochs):
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
            if variant == "consensus-sources":
                if isinstance(cons, JobSpec):
                    kwargs["sources_from"], deps["sources_from"] = None, CONSENSUS_JOB
                else:
                    kwargs["sources_from"] = cons
            if tm_dep is not None and variant in TRANSFER_ARMS:
                deps["transfer_model"] = tm_dep
            jobs.append(
                JobSpec(
                    name, augmented_job, kwargs, deps, out_dir=path, priority=PRIORITY["transfer"]
                )  # fmt: skip
            )
    return jobs, skipped
