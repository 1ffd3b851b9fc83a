"""A whole comparison: refuse bad inputs before any job, train the learned transfer model
first and measure it, run the jobs, write the report."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari_forgetting.data.folders import claim
from napari_forgetting.workflow.compare.config import (
    DONE_FILE,
    TRANSFER_ARMS,
    TRANSFER_DIR,
    CompareConfig,
)
from napari_forgetting.workflow.compare.jobs import (
    build_jobs,
    default_transfer_config,
    transfer_model_job,
)
from napari_forgetting.workflow.compare.report import write_report
from napari_forgetting.workflow.compare.scheduling import Execution, run_jobs


class RefusedBeforeJobs(ValueError):
    """The comparison's inputs were refused before any job ran (one line, exit 2)."""


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
    from napari_forgetting.data.classes import resolve_class
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
    from napari_forgetting.data.classes import resolve_class
    from napari_forgetting.workflow.augment import check_transfer

    say = log or (lambda msg: None)
    tdir = out / TRANSFER_DIR
    n_classes = int(getattr(volume, "n_classes", None) or len(volume.class_names))
    if not (tdir / DONE_FILE).is_file():
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
    **execution: Any,
) -> tuple[list[str], list[str], dict[str, str]]:
    """Open ``config``'s data once (``check(volume, source)`` may refuse it before any job
    runs), then run every (method, seed) job of ``config`` not yet finished in ``out`` with
    :func:`run_jobs` (``execution``: :class:`~.scheduling.Execution`'s fields). Returns the
    names of the jobs that ran, those skipped as finished, and ``{name: error}`` of those
    that failed."""
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
    ran, failed = run_jobs(jobs, config.retries, log=say, **execution)
    for name, err in failed.items():
        say(f"FAILED {name}: {err}")
    return ran, skipped, failed


def run_comparison(
    config: CompareConfig,
    out_dir: str | os.PathLike,
    *,
    log: Callable[[str], None] | None = None,
    **execution: Any,
) -> CompareResult:
    """Run every (method, seed) not yet finished where ``execution`` says (the fields of
    :class:`~.scheduling.Execution`: a client, a scheduler, a LocalCluster's workers, or one
    after another), then write the report."""

    t0 = time.perf_counter()
    out = Path(out_dir)
    workers = Execution(**execution).n_workers  # an unknown option is refused here

    def check(volume: Any, source: dict[str, Any]) -> None:
        from napari_forgetting.data.classes import resolve_class

        resolve_class(volume.class_names, config.cls)  # a bogus class before any job
        if config.sources_from:
            _check_sources_from(config.sources_from, source)
        transfers = any(m in config.methods for m in TRANSFER_ARMS)
        if transfers and (config.transfer_method == "stratal" or config.transfer_checkpoint):
            _check_given_transfer(config, volume)
        elif transfers and not config.force:
            # forced, nothing can stop the comparison: the model trains as a job beside the
            # others (its transfer jobs record its measurement)
            _train_transfer_first(config, out, volume, source, max(1, workers), log)

    with claim(out, "report", rerun=True, accept=("consensus",), what="compare"):
        ran, skipped, failed = execute_jobs(config, out, check=check, log=log, **execution)
        timing = {"seconds": time.perf_counter() - t0, "ran": len(ran), "skipped": len(skipped)}
        files = write_report(out, config, failed=failed, timing=timing)
    return CompareResult(out, ran, skipped, failed, files, time.perf_counter() - t0)
