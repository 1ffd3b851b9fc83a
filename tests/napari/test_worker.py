"""The one background worker: a core step generator in a napari worker thread; quit closes
the generator in that thread."""

from __future__ import annotations

import threading

from napari_forgetting._napari.worker import StepWorker, start_worker


def test_events_arrive_in_order_from_a_worker_thread(qtbot):
    threads, events, done = [], [], []

    def steps(n):
        for k in range(n):
            threads.append(threading.current_thread())
            yield ("step", k)

    worker = start_worker(steps, 3, on_event=events.append, on_finished=lambda: done.append(1))
    assert isinstance(worker, StepWorker)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert events == [("step", 0), ("step", 1), ("step", 2)]
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_a_one_shot_job_yields_its_result_as_the_only_event(qtbot):
    events, done = [], []
    start_worker(lambda a, b: a + b, 2, b=3, on_event=events.append,
                 on_finished=lambda: done.append(1))  # fmt: skip
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert events == [5]


def test_quit_closes_the_generator_in_the_worker_thread(qtbot):
    started = threading.Event()
    release = threading.Event()
    closed_on, events, done = [], [], []

    def steps():
        try:
            for k in range(1000):
                if k == 1:
                    started.set()
                    release.wait(10)
                yield k
        finally:  # a closed fit_steps() ends its run here
            closed_on.append(threading.current_thread())

    worker = start_worker(steps, on_event=events.append, on_finished=lambda: done.append(1))
    assert started.wait(10)
    worker.quit()
    release.set()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert len(events) < 1000  # stopped early
    assert len(closed_on) == 1 and closed_on[0] is not threading.main_thread()


def test_the_collector_freezes_collects_and_thaws_only_its_own_freeze(monkeypatch):
    import gc

    from napari_forgetting._napari import collector

    assert gc.get_freeze_count() == 0
    frozen = collector.freeze()
    # another thread may free a frozen object meanwhile: the count can only fall
    assert 0 < gc.get_freeze_count() <= frozen
    cycle = []
    cycle.append(cycle)  # garbage born after the freeze is collected as before
    del cycle
    assert gc.collect() >= 1
    assert gc.get_freeze_count() > 0  # a collection does not thaw
    collector.collect()  # thaws, then one full collection
    assert gc.get_freeze_count() == 0

    gc.freeze()  # someone else's freeze: left alone, and nothing frozen on top of it
    unfreezes = []
    try:
        with monkeypatch.context() as m:  # the count itself moves when another thread frees
            m.setattr(gc, "unfreeze", lambda: unfreezes.append(1))  # a frozen object
            m.setattr(gc, "freeze", lambda: unfreezes.append(0))
            assert collector.freeze() == 0 and collector.collect() == 0
            collector.thaw()
        assert unfreezes == [] and gc.get_freeze_count() > 0  # neither thawed nor re-frozen
    finally:
        gc.unfreeze()

    monkeypatch.setenv(collector.ENV, "off")
    assert not collector.enabled() and collector.freeze() == 0 and gc.get_freeze_count() == 0
