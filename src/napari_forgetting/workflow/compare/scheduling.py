"""Running jobs: in this process one after another, or on a ``dask.distributed`` cluster
(dependencies as futures, retries, a progress line per job, the dashboard's address)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napari_forgetting.data.errors import one_line


@dataclass(frozen=True)
class Execution:
    """Where jobs run (the one definition of the runner's options: :func:`run_jobs`,
    ``run_comparison``, ``run_consensus`` and the command line's defaults take them from
    here): ``client`` (a ``distributed.Client``), else ``scheduler`` (an address), else a
    ``LocalCluster`` of ``n_workers`` workers with one thread each (``processes``: worker
    processes, else threads); ``sequential=True`` runs them one after another in this
    process instead (the benchmark's reference)."""

    client: Any = None
    scheduler: str | None = None
    n_workers: int = 2
    processes: bool = True
    sequential: bool = False


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
    log: Callable[[str], None] | None = None,
    **execution: Any,
) -> tuple[list[str], dict[str, str]]:
    """Run ``jobs`` (the one job runner: the comparison's and the consensus's seeds) where
    ``execution`` (:class:`Execution`'s fields) says, and return the names that ran and
    ``{name: error}`` of those that failed after ``retries``; ``log`` gets a line as each
    job ends (``[k/N] finished NAME``)."""
    how = Execution(**execution)
    if not jobs:
        return [], {}
    progress = _Progress(len(jobs), log)
    if how.sequential:
        return _run_sequential(jobs, retries, progress)
    if how.client is not None:
        return _run_dask(jobs, retries, how.client, progress)
    from distributed import Client, LocalCluster

    if how.scheduler:
        with scheduler_client(how.scheduler) as c:
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
            n_workers=how.n_workers,
            threads_per_worker=1,
            processes=how.processes,
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
