"""The one listener interface of the training loop (:class:`Callback`) and the command
line's progress bar (:class:`ProgressBar`); the segmentation run store is another listener
(:class:`~.recorder.RunRecorder`).

Hooks are called in this order by every trainer (:class:`~.loop.TrainingLoop`)::

    on_run_open             (the checkpoint, if resuming, is loaded; outside the guard below:
                             a listener that cannot open its files refuses the run)
    on_train_start
    for each epoch: on_epoch_start, on_batch_end (per batch), on_evaluation,
                    on_before_checkpoint, [checkpoint], on_epoch_end
    on_test (segmentation: per separate test volume, after the last epoch)
    on_train_end            (also after a stop)
    on_exception            (instead of on_train_end when training raised)

No Qt or napari here; :class:`ProgressBar` writes to standard error through tqdm.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Callback", "ProgressBar"]


class Callback:
    """Base class of training callbacks; override the hooks you need (all no-ops here).

    ``trainer`` is the :class:`~.loop.TrainingLoop` calling: a segmentation
    :class:`~.segmentation.Trainer` or a style-transfer trainer.
    """

    def on_run_open(self, trainer: Any, resume: bool, overwrite: bool) -> None:
        pass

    def on_train_start(self, trainer: Any) -> None:
        pass

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Any, epoch: int, batch: int, loss: float) -> None:
        pass

    def on_evaluation(self, trainer: Any, epoch: int, metrics: dict[str, Any]) -> None:
        pass

    def on_before_checkpoint(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_test(self, trainer: Any, name: str, metrics: dict[str, Any]) -> None:
        pass

    def on_exception(self, trainer: Any, exc: BaseException) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass


class ProgressBar(Callback):
    """A tqdm bar per epoch (batches, with the trainer's :meth:`batch_postfix`) and one line
    per epoch with the trainer's :meth:`describe_epoch`; ``quiet`` hides the bar, not the
    lines."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        from tqdm import tqdm

        self._close()
        self.bar = tqdm(
            total=trainer.n_batches,
            desc=f"epoch {epoch + 1}/{trainer.config.epochs}",
            unit="batch",
            leave=False,
            file=sys.stderr,
            disable=self.quiet,
        )

    def on_batch_end(self, trainer: Any, epoch: int, batch: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(trainer.batch_postfix(loss), refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        from tqdm import tqdm

        self._close()
        epochs = trainer.config.epochs
        tqdm.write(
            f"epoch {epoch + 1:3d}/{epochs}  {trainer.describe_epoch(logs)}"
            f"  ({logs['seconds']:.1f} s)"
        )

    def on_test(self, trainer: Any, name: str, metrics: dict[str, Any]) -> None:
        from tqdm import tqdm

        tqdm.write(f"test {name}: {trainer.describe_epoch(metrics)}")

    def on_exception(self, trainer: Any, exc: BaseException) -> None:
        self._close()

    def on_train_end(self, trainer: Any) -> None:
        self._close()
