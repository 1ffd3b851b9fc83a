"""The one training loop: :class:`TrainingLoop`, which the segmentation trainer
(:class:`~napari_forgetting.training.segmentation.Trainer`) and the style-transfer trainer
(:class:`~napari_forgetting.transfer.trainer.TransferTrainer`) both are.

It owns what the two share -- the epoch/batch loop as a generator (:meth:`fit_steps`, with
:meth:`fit` a loop over it), callbacks (:class:`~.callbacks.Callback`), the stop flag, an
atomic per-epoch checkpoint and resuming from it bit for bit, the RNG state, the non-finite
loss guard -- and calls a few hooks the trainers fill in:

* ``_train_batch(epoch, batch, draws)`` -- one optimisation step on the sampler's draws;
  returns the batch's loss and a dict of loss parts (averaged into the epoch's logs);
* ``_end_epoch(epoch)`` -- evaluation (and forgetting tracking) after the batches; returns
  metrics for the logs (``_end_epoch_steps(epoch)``: the same as steps, for an evaluation
  that reports its progress, e.g. :class:`~.steps.SweepProgress`);
* ``_end_run()`` -- after the last epoch (or a stop through ``should_stop``).

Everything else a run keeps or shows listens to the loop through the one listener interface,
:class:`~.callbacks.Callback` (the segmentation trainer's run store is
:class:`~.recorder.RunRecorder`, first among its listeners; the command line's progress bar is
another).

:meth:`fit_steps` yields small typed steps (:mod:`.steps`): ``TrainStart`` once the run is
open (after a resume, with the epoch it starts from), ``BatchEnd`` after every batch's
``on_batch_end`` and ``EpochEnd`` after every epoch's ``on_epoch_end`` (its checkpoint is
written). Closing the generator early (``.close()``) stops the run exactly as
``should_stop`` does: an epoch cut short is dropped, the run keeps its last complete epoch
and checkpoint, ``on_train_end`` is called; ``fit(resume=True)`` continues from there.

No Qt, napari or printing here.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch

from napari_forgetting.data.errors import one_line
from napari_forgetting.data.folders import claim, folder_kind
from napari_forgetting.data.section_cache import SectionStore, sources, split_source
from napari_forgetting.data.sections import amplitude_stats, paper_split
from napari_forgetting.data.spill import spill_for
from napari_forgetting.model.checkpoint import (
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from napari_forgetting.model.device import select_device, torch_settings
from napari_forgetting.training.steps import BatchEnd, EpochEnd, TrainStart, drain

__all__ = ["TrainingError", "TrainingLoop"]


class TrainingError(RuntimeError):
    """Training cannot continue (e.g. the loss became NaN)."""


class TrainingLoop:
    """Base of both trainers. Subclasses set ``config`` (a :class:`~.config.JsonConfig` with
    ``epochs``, ``batch_size``, ``seed``, ``num_threads``, ``deterministic``), ``callbacks``,
    ``out_dir``, ``device``, ``sampler`` (a :class:`~napari_forgetting.data.sections.
    PatchSampler`) and ``patches_per_epoch``, call :meth:`_init_loop`, and implement
    ``state_dict`` / ``load_state_dict``, ``_train_batch`` and ``_end_epoch``."""

    #: What :meth:`fit` writes into ``out_dir`` (a :data:`~napari_forgetting.data.folders.
    #: KINDS` entry): the folder is refused when it holds another kind.
    folder_kind: ClassVar[str] = "run"
    #: Config keys that may differ between a checkpoint and the run resuming from it.
    resumable_changes: ClassVar[frozenset[str]] = frozenset({"epochs", "device", "num_threads"})

    config: Any
    callbacks: list
    out_dir: Path | None
    device: torch.device
    sampler: Any
    patches_per_epoch: int

    def _init_loop(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.epoch = 0
        self.should_stop = False
        self.stopped = False
        #: Epochs the checkpoint on disk holds (0: none written or loaded yet).
        self.checkpointed_epoch = 0

    def _init_data(
        self, volume_or_arrays: Any, what: str = "training", exclude_validation_traces: bool = False
    ) -> Any:
        """What both trainers read from their volume: ``shape``, the paper's split (returned;
        ``train_sections`` set; a ``ValueError`` without any), the amplitude ``stats`` and
        the section store that normalises with them (preload the sections it will read with
        ``self._store.preload``), and the ``device``."""
        image_src, label_src = sources(volume_or_arrays, what)
        self.shape = tuple(int(n) for n in image_src.shape)
        split = paper_split(
            split_source(volume_or_arrays),
            self.config.every,
            exclude_validation_traces=exclude_validation_traces,
        )
        self.train_sections = list(split.train)
        if not self.train_sections:
            raise ValueError(f"no training sections in a volume of shape {self.shape}")
        self.stats = amplitude_stats(image_src)
        # training reads most inlines and crosslines: the volume once, not each voxel twice,
        # and at size in files beside the run, touched a batch or a section at a time
        self._store = self._volume_store(image_src, label_src, self.stats)
        self.device = select_device(self.config.device)
        return split

    def _volume_store(self, image_src: Any, label_src: Any, stats: Any) -> SectionStore:
        """A whole-volume section store normalised with ``stats``: one image and one label
        array (5 bytes a voxel), in files beside the run when large (:mod:`~napari_forgetting.
        data.spill`)."""
        voxels = math.prod(int(n) for n in image_src.shape)
        return SectionStore(
            image_src, label_src, stats, whole_volume=True,
            spill=spill_for(5 * voxels, self.spill_folder()),
        )  # fmt: skip

    def spill_folder(self) -> Path | None:
        """Where arrays too large to keep in memory go (:mod:`~napari_forgetting.data.spill`):
        the folder the run's folder is in, else the system's temporary folder."""
        out = getattr(self, "out_dir", None)
        return None if out is None else Path(out).resolve().parent

    def release_pages(self) -> None:
        """Drop the pages of spilled arrays from resident memory (after each piece of
        work); the cached sections' by default."""
        self._store.release()

    def _default_patches_per_epoch(self, extra_pixels: int = 0) -> int:
        """``config.patches_per_epoch``, or as many patches as cover the training sections'
        pixels (plus ``extra_pixels``) once."""
        cfg = self.config
        if cfg.patches_per_epoch is not None:
            return int(cfg.patches_per_epoch)
        pixels = sum(r * c for r, c in (s.shape for s in self.train_sections)) + extra_pixels
        return max(1, math.ceil(pixels / math.prod(cfg.patch_size)))

    # ------------------------------------------------------------------ hooks

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _train_batch(
        self, epoch: int, batch: int, draws: list[tuple[int, int, int]]
    ) -> tuple[float, dict[str, float]]:
        """One optimisation step; returns the loss and the loss parts to average."""
        raise NotImplementedError

    def _end_epoch(self, epoch: int) -> dict[str, Any]:
        """After the epoch's batches: evaluate; returns the metrics for the logs."""
        raise NotImplementedError

    def _set_train_mode(self) -> None:
        """Put the networks in training mode (before every epoch's batches)."""

    def _end_run(self) -> None:
        """The loop ended normally (``self.stopped`` says whether before the last epoch),
        before the listeners' ``on_train_end``."""

    def release(self) -> None:
        """Free what only further training needs (models, optimisers, cached data); nothing
        by default."""

    # ------------------------------------------------------------------ batches

    @property
    def n_batches(self) -> int:
        """Batches per epoch."""
        return math.ceil(self.patches_per_epoch / self.config.batch_size)

    # ------------------------------------------------------------------ checkpoints

    @property
    def checkpoint_file(self) -> Path | None:
        """``<out_dir>/checkpoint.pt`` or ``None`` without an ``out_dir``."""
        return None if self.out_dir is None else checkpoint_path(self.out_dir)

    def save_checkpoint(self) -> Path | None:
        """Write the checkpoint atomically (no-op without ``out_dir``)."""
        if self.out_dir is None:
            return None
        path = save_checkpoint(
            checkpoint_path(self.out_dir), self._checkpoint_state(), written=self.release_pages
        )
        self.checkpointed_epoch = self.epoch
        return path

    def _checkpoint_state(self) -> dict[str, Any]:
        """What :meth:`save_checkpoint` writes: :meth:`state_dict`; a trainer may hand out
        views of large arrays here instead of copies (written, then dropped)."""
        return self.state_dict()

    def _read_checkpoint(self) -> dict[str, Any] | None:
        """``<out_dir>/checkpoint.pt`` read and checked against this trainer (its epoch, its
        config, :meth:`_check_state`), before anything of the run is touched; ``None`` when
        there is none."""
        if self.out_dir is None:
            raise ValueError("resume=True needs an out_dir")
        path = checkpoint_path(self.out_dir)
        if not path.is_file():
            return None
        state = load_checkpoint(path)
        self._check_epoch(state, path)
        try:
            self._check_state(state)
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: {exc}; not resumed") from None
        return state

    def _check_state(self, state: dict[str, Any]) -> None:
        """Refuse (``ValueError``) a checkpoint this trainer cannot continue: its config
        differs outside :attr:`resumable_changes` (a trainer adds its own checks)."""
        if not isinstance(state.get("config"), dict):
            raise ValueError("the checkpoint holds no config")
        self._check_config(state["config"])

    @staticmethod
    def _check_epoch(state: dict[str, Any], path: Path) -> None:
        """Refuse a checkpoint whose epoch is not a count of its own history's epochs, within
        its own configuration (a crafted or damaged file)."""
        epoch, history = state.get("epoch"), state.get("history")
        stored = state.get("config")
        limit = stored.get("epochs") if isinstance(stored, dict) else None
        if (
            not isinstance(epoch, int) or isinstance(epoch, bool) or not isinstance(history, list)
            or not isinstance(limit, int) or not 0 <= epoch <= limit or len(history) != epoch
        ):  # fmt: skip
            raise CheckpointError(
                f"{path}: epoch {epoch!r} does not fit the checkpoint (its history holds "
                f"{len(history) if isinstance(history, list) else 'no'} epochs of "
                f"{limit!r} configured); not resumed"
            )

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def _check_config(self, stored: dict[str, Any]) -> None:
        """Refuse a checkpoint whose config differs outside :attr:`resumable_changes`."""
        mine = self.config.to_dict()
        keys = (set(mine) | set(stored)) - self.resumable_changes
        diff = sorted(k for k in keys if mine.get(k) != stored.get(k))
        if diff:
            raise ValueError(f"checkpoint was written with a different config: {diff}")

    def _rng_state(self) -> dict[str, Any]:
        """torch's CPU (and, on CUDA, device) RNG states, for the checkpoint."""
        return {
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
        }

    def _restore_rng(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def _check_finite(self, value: float, epoch: int, batch: int, what: str = "") -> None:
        """Raise :class:`TrainingError` for a NaN or infinite loss, saying what checkpoint
        survives (the last complete epoch's)."""
        if math.isfinite(value):
            return
        kept = self.checkpoint_file
        where = (
            f"last good checkpoint kept at {kept}"
            if kept is not None and kept.is_file()
            else "no checkpoint was written (no out_dir or no completed epoch)"
        )
        word = "NaN" if math.isnan(value) else "infinite"
        name = f"{what} loss" if what else "loss"
        raise TrainingError(f"{name} became {word} at epoch {epoch} batch {batch}; {where}")

    # ------------------------------------------------------------------ the loop

    def fit(self, resume: bool = False, overwrite: bool = False) -> list[dict[str, Any]]:
        """Train up to ``config.epochs`` epochs; returns :attr:`history`.

        ``resume=True`` loads ``<out_dir>/checkpoint.pt`` if it exists and continues after
        its last completed epoch (a fresh start when there is none). ``overwrite``: a fresh
        run may replace one already in ``out_dir`` (for trainers that keep more than a
        checkpoint there). Raises :class:`TrainingError` on a non-finite loss (the last good
        checkpoint is kept).
        """
        drain(self.fit_steps(resume, overwrite))
        return self.history

    def fit_steps(self, resume: bool = False, overwrite: bool = False) -> Iterator[Any]:
        """:meth:`fit` one step at a time (see the module docstring): yields
        :class:`TrainStart`, then :class:`BatchEnd` after every batch and
        :class:`EpochEnd` after every epoch. Running it to the end is ``fit()``; closing it
        early is a clean stop. Dropout draws from torch's global generator, so trainers
        stepped in turn in one thread draw from one stream: each is then reproducible as
        part of the same interleaving, not alone.

        With ``out_dir`` the trainer owns that folder while it runs
        (:func:`~napari_forgetting.data.folders.claim`): a folder of another kind, a second
        writer, or a non-empty folder without ``resume`` / ``overwrite`` is refused
        (:class:`~napari_forgetting.data.folders.FolderError`), and ``overwrite`` removes
        everything old (checkpoint and test stores included) before the first write."""
        if resume and self.out_dir is None:
            raise ValueError("resume=True needs an out_dir")
        if self.out_dir is None:
            return (yield from self._fit_steps(resume, overwrite))
        # a folder holding nothing but an old checkpoint may be replaced by a fresh run
        lone = not resume and folder_kind(self.out_dir) == "checkpoint"
        with claim(
            self.out_dir, self.folder_kind, resume=resume, overwrite=overwrite or lone,
            accept=("checkpoint",), what=f"training ({type(self).__name__}, pid {os.getpid()})",
        ):  # fmt: skip
            return (yield from self._fit_steps(resume, overwrite or lone))

    def _fit_steps(self, resume: bool, overwrite: bool) -> Iterator[Any]:
        cfg = self.config
        state = self._read_checkpoint() if resume else None
        if state is not None:
            try:
                self.load_state_dict(state)
            except (RuntimeError, KeyError, TypeError) as exc:  # tensors of other shapes
                raise CheckpointError(
                    f"{checkpoint_path(self.out_dir)}: it does not fit this trainer "
                    f"({type(exc).__name__}: {one_line(exc, last=True)}); not resumed"
                ) from None
            self.checkpointed_epoch = self.epoch
        self._call("on_run_open", resume, overwrite)
        if self.epoch == 0 and not self.history:
            # dropout / noise stream of a fresh run (a training draw: draws_seed where the
            # config tells weights and draws apart)
            torch.manual_seed(getattr(cfg, "draws_seed", cfg.seed))
        self.should_stop = False
        self.stopped = False
        try:
            with torch_settings(cfg.num_threads, cfg.deterministic, self.device):
                self._call("on_train_start")
                yield TrainStart(
                    int(cfg.epochs),
                    int(self.epoch),
                    self.n_batches,
                    str(self.device),
                    torch.get_num_threads(),
                    self.out_dir,
                )
                while self.epoch < cfg.epochs and not self.should_stop:
                    epoch = self.epoch
                    t0 = time.perf_counter()
                    self._call("on_epoch_start", epoch)
                    parts = yield from self._train_epoch(epoch)
                    if parts is None:  # stopped in the middle: the epoch is dropped
                        break
                    metrics = yield from self._end_epoch_steps(epoch)
                    self._call("on_evaluation", epoch, metrics)
                    logs = {
                        "epoch": epoch,
                        **parts,
                        "seconds": time.perf_counter() - t0,
                        **metrics,
                    }
                    self._call("on_before_checkpoint", epoch, logs)
                    self.history.append(logs)
                    self.epoch = epoch + 1
                    self.save_checkpoint()
                    self._call("on_epoch_end", epoch, logs)
                    yield EpochEnd(epoch, logs)
                self.stopped = self.epoch < cfg.epochs
                self._end_run()
                self._call("on_train_end")
        except GeneratorExit:  # the caller closed fit_steps(): a stop, not a failure
            self.stopped = True
            self._call("on_train_end")
            raise
        except BaseException as exc:
            self._call("on_exception", exc)
            raise

    def _end_epoch_steps(self, epoch: int) -> Iterator[Any]:
        """:meth:`_end_epoch` as steps :meth:`fit_steps` passes on (none here); returns the
        metrics."""
        return self._end_epoch(epoch)
        yield  # a generator that yields nothing  # pragma: no cover

    def _train_epoch(self, epoch: int) -> Iterator[BatchEnd]:
        """The epoch's batches, yielding :class:`BatchEnd` after each ``on_batch_end``.
        Returns the mean loss parts plus ``n_batches``, or ``None`` when stopped early."""
        bs = self.config.batch_size
        n = self.patches_per_epoch
        n_batches = self.n_batches
        self._set_train_mode()
        draws_iter = self.sampler.iter_epoch(n)
        totals: dict[str, float] = {}
        for b in range(n_batches):
            draws = [next(draws_iter) for _ in range(min(bs, n - b * bs))]
            loss, parts = self._train_batch(epoch, b, draws)
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + v
            self._call("on_batch_end", epoch, b, loss)
            yield BatchEnd(epoch, b, n_batches, loss)
            if self.should_stop:
                return None
        means = {k: v / max(1, n_batches) for k, v in totals.items()}
        return {**means, "n_batches": n_batches}
