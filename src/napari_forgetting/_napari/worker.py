"""The one background worker for every long job in napari.

:func:`start_worker` runs a core step generator -- :func:`~napari_forgetting.training.live.
live_events` over either trainer's ``fit_steps()``, or the augmentation's
(:func:`~napari_forgetting.workflow.augment.augment_and_retrain_events`) -- in a napari
``thread_worker``: each yielded event reaches the widget on the GUI thread through the
worker's ``yielded`` signal. No thread inside the worker, no queue.

Stop is the worker's ``quit()``: napari checks it between yields (after every batch) and our
:class:`StepWorker` then closes the step generator *in the worker thread*, so the core ends
the run cleanly there (``fit_steps`` keeps the last complete epoch and its checkpoint).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from napari.qt.threading import GeneratorWorker, create_worker

__all__ = ["StepWorker", "gui_friendly_threads", "start_worker"]


class StepWorker(GeneratorWorker):
    """A generator worker that closes its generator when it stops, in its own thread.

    napari's ``GeneratorWorker`` leaves an aborted generator suspended (to be finalised
    whenever it is garbage-collected, on whatever thread); closing it here runs the core's
    clean-up (``finally`` blocks, ``GeneratorExit`` handlers) at once and off the GUI thread.
    """

    def work(self) -> Any:
        try:
            return super().work()
        finally:
            self._gen.close()


def gui_friendly_threads(device: str | None) -> int | None:
    """torch CPU threads for training next to a GUI: all cores but one (None off the CPU)."""
    if device not in (None, "cpu"):
        return None
    return max(1, (os.cpu_count() or 2) - 1)


def _lower_priority_of_this_thread(niceness: int = 10) -> None:
    """Let the GUI thread win the CPU when cores are busy: on Linux a thread is a task with
    its own nice value (elsewhere, or without permission, this does nothing)."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def _steps_in_worker(steps: Callable[..., Any], *args: Any, **kwargs: Any):
    """The worker's generator: the thread yields the CPU to the GUI, then the core steps
    (a one-shot job -- a function, not a generator -- yields its result as one event)."""
    _lower_priority_of_this_thread()
    result = steps(*args, **kwargs)
    if isinstance(result, Iterator):
        yield from result
    else:
        yield result


def start_worker(
    steps: Callable[..., Any],
    *args: Any,
    on_event: Callable[[Any], None],
    on_finished: Callable[[], None] | None = None,
    **kwargs: Any,
) -> StepWorker:
    """Run ``steps(*args, **kwargs)`` (a generator function of the core, or a one-shot
    function whose result is the only event) in a :class:`StepWorker`; every event goes to
    ``on_event`` on the GUI thread, and
    ``on_finished`` is called once the worker is done (finished, stopped or failed).
    Returns the started worker (``worker.quit()`` stops it after the current step)."""
    worker = create_worker(
        _steps_in_worker,
        steps,
        *args,
        _worker_class=StepWorker,
        _start_thread=False,
        **kwargs,
    )
    worker.yielded.connect(on_event)
    if on_finished is not None:
        worker.finished.connect(on_finished)
    worker.start()
    return worker
