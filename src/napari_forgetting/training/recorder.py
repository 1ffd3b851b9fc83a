"""What a segmentation run keeps besides its checkpoint: :class:`RunRecorder`, the listener
(:class:`~.callbacks.Callback`) that writes the run store (:mod:`napari_forgetting.runs.store`)
epoch by epoch, with a child store per tracked test volume (``<out_dir>/tests/<name>``).

It listens to the loop like any other listener, first among them: it opens (or, on resume,
reopens and rewinds) the stores once the checkpoint is loaded, writes an epoch's predictions
and maps before the checkpoint, makes the epoch visible just after it (so a resumed run ends
bit-identical to an uninterrupted one, and a reader never sees an epoch the checkpoint does
not hold), and says how the run ended: ``finished`` (with the test volumes' metrics),
``stopped`` (a stop, a closed step generator or Ctrl-C) or ``failed``.

No Qt, napari or printing here.
"""

from __future__ import annotations

import contextlib
from typing import Any

from napari_forgetting.model.checkpoint import checkpoint_path
from napari_forgetting.runs.store import RunStore, RunStoreError, is_run_dir
from napari_forgetting.training.callbacks import Callback

__all__ = ["RunRecorder"]


def _reopen(path: Any, sections: Any, epochs: int, other: str) -> RunStore:
    """A run store reopened to resume into: refused when it evaluates other ``sections``
    (``"the run " + other``); room made for ``epochs``."""
    store = RunStore.open(path, mode="a")
    if [s.key for s in store.eval_sections] != [s.key for s in sections]:
        raise RunStoreError(f"{path}: the run {other}")
    store.ensure_epochs(epochs)
    return store


def _stopped(trainer: Any) -> str:
    """What a store says of a run stopped before its last epoch."""
    return f"stopped after {trainer.epoch} of {trainer.config.epochs} epochs"


class RunRecorder(Callback):
    """Writes a :class:`~.segmentation.Trainer`'s run store in its ``out_dir``.

    ``store`` is the main run store once the run is open (``None`` before); ``tests`` the
    child stores of the tracked test volumes, by name.
    """

    def __init__(self) -> None:
        self.store: RunStore | None = None
        self.tests: dict[str, RunStore] = {}

    # ------------------------------------------------------------------ opening

    def on_run_open(self, trainer: Any, resume: bool, overwrite: bool) -> None:
        self.store = self._open(trainer, resume, overwrite)
        self.tests = {
            t.name: self._open_test(trainer, t, resume)
            for t in trainer.tests.values()
            if t.tracker is not None
        }
        self._rewind(trainer)
        trainer.release_pages()  # the labels written

    def _open(self, trainer: Any, resume: bool, overwrite: bool) -> RunStore:
        """Create (fresh run) or reopen (resume) the run store in ``out_dir``."""
        cfg, out = trainer.config, trainer.out_dir
        if resume and is_run_dir(out):
            return _reopen(out, trainer.tracked_sections, cfg.epochs, "evaluates other sections")
        if resume and checkpoint_path(out).is_file():
            raise RunStoreError(
                f"{out}: a checkpoint without a run store (run.json, state.json, "
                "store.zarr) cannot be resumed into a run store"
            )
        tracker = trainer.tracker
        same = trainer.tracker_sections is trainer.tracked_sections or cfg.mode != "online"
        labels_of = lambda secs: [trainer.section_data(s)[1] for s in secs]  # noqa: E731
        return RunStore.create(
            out,
            eval_sections=trainer.tracked_sections,
            eval_labels=labels_of(trainer.tracked_sections),
            map_sections=None if same else trainer.tracker_sections,
            map_labels=None if same else labels_of(trainer.tracker_sections),
            maps={} if tracker is None else tracker.map_dtypes(),
            epochs=cfg.epochs,
            volume_shape=trainer.shape,
            class_names=trainer.class_names,
            train_config=cfg.to_dict(),
            tracker_config=None if tracker is None else tracker.config.to_dict(),
            source=trainer.source,
            parent=trainer.parent,
            extra={
                "amplitude_stats": list(trainer.stats),
                "mode": cfg.mode,
                "aspp_rates": list(cfg.rates),
                "untrained_taps": trainer.untrained_taps,
                "budget": trainer.budget(),
                **trainer.run_info,
            },
            overwrite=overwrite,
        )

    def _open_test(self, trainer: Any, t: Any, resume: bool) -> RunStore:
        """The child run store of a tracked test volume ``t`` (a :class:`~.segmentation.
        TestSplit`): a run store like the main one (open it, replay it, rank it), over the
        test volume."""
        cfg = trainer.config
        path = trainer.out_dir / "tests" / t.name
        if resume and is_run_dir(path):
            return _reopen(path, t.tracked, cfg.epochs, f"tracks other {t.name} sections")
        return RunStore.create(
            path,
            eval_sections=t.tracked,
            eval_labels=[t.store.get(s)[1] for s in t.tracked],
            maps=t.tracker.map_dtypes(),
            epochs=cfg.epochs,
            volume_shape=t.shape,
            class_names=trainer.class_names,
            train_config=cfg.to_dict(),
            tracker_config=t.tracker.config.to_dict(),
            source={"kind": "test", "name": t.name, "of": trainer.source},
            parent=None,
            extra={"test_of": str(trainer.out_dir.resolve()), "mode": "sweep"},
            overwrite=True,
        )

    def _stores(self) -> list[RunStore]:
        """Every store, the main one last: readers start there, so it commits last."""
        return [*self.tests.values(), *([self.store] if self.store is not None else [])]

    def _rewind(self, trainer: Any) -> None:
        """Make the stores agree with the checkpoint just loaded (``trainer.epoch`` epochs;
        none on a fresh run) and mark them running."""
        epoch = trainer.epoch
        for store in self._stores():
            # the store commits an epoch just after the checkpoint holds it: one behind at most
            if not store.n_epochs <= epoch <= store.n_epochs + 1:
                held = (f"{checkpoint_path(trainer.out_dir)} holds {epoch} epochs"
                        if epoch else "there is no checkpoint")  # fmt: skip
                raise RunStoreError(
                    f"{store.path}: the run store has {store.n_epochs} complete epochs but "
                    f"{held}: they are not one run; not resumed (start over with --overwrite)"
                )
        self.store.rewind(epoch, trainer.history)
        for name, store in self.tests.items():
            store.rewind(epoch, trainer.tests[name].history)

    # ------------------------------------------------------------------ epochs

    def on_before_checkpoint(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self.store.write_epoch(epoch, trainer.last_predictions, trainer.store_maps())
        for name, store in self.tests.items():
            t = trainer.tests[name]
            store.write_epoch(epoch, t.last_predictions, t.tracker.flat_maps)
        trainer.release_pages()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        for name, store in self.tests.items():
            store.commit(trainer.epoch, history=trainer.tests[name].history, status="running")
        self.store.commit(trainer.epoch, history=trainer.history, status="running")

    # ------------------------------------------------------------------ the end

    def on_train_end(self, trainer: Any) -> None:
        """Finished (the test volumes' metrics kept) or stopped."""
        if self.store is None:  # never opened
            return
        if trainer.stopped:  # a stop never raises past the caller's own stop
            with contextlib.suppress(Exception):
                self._end(trainer)
        else:
            self._end(trainer)

    def _end(self, trainer: Any) -> None:
        stopped = trainer.stopped
        status = "stopped" if stopped else "finished"
        done = trainer.epoch
        tests = {} if stopped else trainer.test_metrics
        for name, store in self.tests.items():
            store.commit(status=status, test_metrics={name: tests[name]} if tests else {})
        self.store.commit(
            status=status,
            message=_stopped(trainer) if stopped else f"finished {done} epochs",
            test_metrics=tests,
        )

    def on_exception(self, trainer: Any, exc: BaseException) -> None:
        """Ctrl-C is a stop, anything else a failure; the stores say so (never raises: the
        run's own error is what the caller sees)."""
        stop = isinstance(exc, KeyboardInterrupt)
        for store in self._stores():
            with contextlib.suppress(Exception):
                if stop:
                    store.commit(status="stopped", message=_stopped(trainer))
                else:
                    store.commit(status="failed", message=f"{type(exc).__name__}: {exc}")
