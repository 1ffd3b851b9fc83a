"""Patch training of DeepLabV3-ResNet18 with per-epoch forgetting tracking.

:class:`Trainer` trains on random patches of the *training* sections of the paper's split
(:func:`~napari_forgetting.data.sections.paper_split`: every ``every``-th inline and crossline
is validation), amplitude-normalised with the volume's own ``(mean, std)``, with
cross-entropy. After every epoch it evaluates the tracked sections (validation by default)
with whole-section inference (:func:`~.deeplab.predict_section`, eval mode), computes the
benchmark metrics (:class:`~.metrics.ConfusionMatrix`) and, by ``config.mode``:

* ``"sweep"`` (the paper's): feeds the tracked sections' predictions to
  :meth:`ForgettingTracker.update_epoch` (one step per epoch);
* ``"online"`` (Toneva et al.'s): feeds the argmax of each *training* forward pass to
  :meth:`ForgettingTracker.update_patch` (no extra forward) and calls ``end_epoch``; the
  tracker then covers the training sections (:attr:`Trainer.tracker_sections`);
* ``"off"``: no tracking (metrics only).

Reproducible: the same config and seed on CPU give identical weights, predictions and heat
maps. The loop, callbacks, stop, checkpoints and resume are :class:`~.loop.TrainingLoop`'s
(``fit()``, ``fit_steps()``); with ``out_dir`` this trainer also writes a run store
(:mod:`napari_forgetting.runs.store`) epoch by epoch, committed after the checkpoint, so a
resumed run ends bit-identical to an uninterrupted one. A non-finite loss raises
:class:`TrainingError` and leaves the last good checkpoint in place (the run is marked failed).

No Qt, napari or printing here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from napari_forgetting.data.classes import default_class_names
from napari_forgetting.data.section_cache import SectionStore, sources
from napari_forgetting.data.sections import (
    PatchSampler,
    PooledSampler,
    Section,
    amplitude_stats,
    cut_patches,
)
from napari_forgetting.data.spill import spill_for
from napari_forgetting.dynamics import ForgettingTracker
from napari_forgetting.model.deeplab import (
    build_deeplabv3_resnet18,
    untrained_taps,
)
from napari_forgetting.model.device import (
    autocast_context,
    make_grad_scaler,
    make_optimizer,
)
from napari_forgetting.runs.store import RunStore
from napari_forgetting.training.augmentation import (
    IGNORE_INDEX,
    augment_patches,
    check_pool,
    training_sampler,
)
from napari_forgetting.training.callbacks import Callback
from napari_forgetting.training.config import AUGMENTATIONS, MODES, TrainConfig
from napari_forgetting.training.evaluation import describe_metrics, evaluate_steps, track_patches
from napari_forgetting.training.loop import TrainingLoop
from napari_forgetting.training.recorder import RunRecorder
from napari_forgetting.training.steps import SweepProgress, drain, relay
from napari_forgetting.training.test_volumes import TestSplit, volume_metrics

__all__ = ["AUGMENTATIONS", "MODES", "TrainConfig", "Trainer"]


def build_model(cfg: TrainConfig, device: torch.device) -> tuple[torch.nn.Module, Any, Any]:
    """The network (its own seeded initialisation: ``weights_seed``) on ``device``, its
    optimiser and gradient scaler."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.weights_seed)
        model = build_deeplabv3_resnet18(
            cfg.n_classes, 1, cfg.output_stride, atrous_rates=cfg.rates
        )
    model = model.to(device)
    options = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer == "sgd":
        options["momentum"] = cfg.momentum
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), **options)
    return model, optimizer, make_grad_scaler(device, enabled=cfg.amp)


def new_tracker(
    cfg: TrainConfig, sections: Sequence[Section], mode: str, spill_folder: Path | None
) -> ForgettingTracker:
    """A tracker over ``sections`` as ``cfg`` asks, its state in files in ``spill_folder``
    when large (16 bytes a pixel with every statistic; :mod:`~napari_forgetting.data.
    spill`), else in memory."""
    pixels = sum(r * c for r, c in (s.shape for s in sections))
    return ForgettingTracker(
        [s.shape for s in sections],
        cfg.n_classes,
        mode=mode,
        max_epochs=max(255, cfg.epochs),
        track_confidence=cfg.track_stats,
        track_margin=cfg.track_stats,
        never_learned=cfg.never_learned,
        spill=spill_for(16 * pixels, spill_folder),
    )


class Trainer(TrainingLoop):
    """Train DeepLabV3-ResNet18 on a labelled volume and track forgetting events.

    Parameters
    ----------
    volume_or_arrays
        A :class:`~napari_forgetting.data.volume.SeismicVolume` or
        :class:`~napari_forgetting.data.synthetic.SyntheticSurvey` with labels, or a
        ``(seismic, labels)`` pair of 3-D ``(inline, crossline, sample)`` arrays.
    config
        :class:`TrainConfig` (default: the paper's settings).
    callbacks
        :class:`Callback` instances, called in the given order.
    tracked_sections
        Sections evaluated every epoch (metrics; sweep-mode tracking). Default: the
        validation sections of :func:`paper_split`.
    out_dir
        Run directory: the run store (:mod:`.runstore`) and ``checkpoint.pt``, written after
        every epoch; ``None``: neither.

    test_volumes
        ``{name: labelled volume}`` evaluated (all inlines, own normalisation) after the last
        epoch; results in :attr:`test_metrics` and the run store's ``state.json``.
    source, parent
        Recorded in the run store: how to reopen the data, and the run this one derives from.
    extra_pool
        Extra training sections ``(image, labels)``, depth-down 2-D arrays, images already
        amplitude-normalised (e.g. style-transferred sections): patches are drawn from them as
        from the training sections (the augmented pool of the paper's workflow).
    run_info
        More fields for the run store's ``run.json`` (e.g. the ``augmented_pool`` a
        retraining uses).

    Attributes: ``model``, ``optimizer``, ``tracker`` (``None`` in ``"off"`` mode),
    ``tracker_sections``, ``train_sections``, ``tracked_sections``, ``history`` (one dict per
    epoch: ``epoch``, ``loss``, ``n_batches``, ``seconds``, ``tracking_seconds`` (tracker
    work) and the metrics), ``epoch`` (completed epochs), ``should_stop``, ``stopped``,
    ``device``, ``store`` (the :class:`RunStore` being written).
    """

    def __init__(
        self,
        volume_or_arrays: Any,
        config: TrainConfig | None = None,
        callbacks: Sequence[Callback] = (),
        tracked_sections: Sequence[Section] | None = None,
        out_dir: str | os.PathLike | None = None,
        *,
        test_volumes: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
        parent: str | None = None,
        class_names: Sequence[str] | None = None,
        write_store: bool = True,
        extra_pool: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
        run_info: dict[str, Any] | None = None,
    ) -> None:
        self.config = config if config is not None else TrainConfig()
        cfg = self.config
        self.out_dir = None if out_dir is None else Path(out_dir)
        #: The listener writing the run store (first of :attr:`callbacks`: a listener after it
        #: sees the epoch committed), or None without an ``out_dir`` or ``write_store``.
        self.recorder = RunRecorder() if self.out_dir is not None and write_store else None
        self.callbacks = [*([self.recorder] if self.recorder else []), *callbacks]
        self.source = dict(source or {})
        self.parent = parent
        self.run_info = dict(run_info or {})
        self.test_volumes = dict(test_volumes or {})
        names = class_names or getattr(volume_or_arrays, "class_names", None)
        if names is None or len(names) != cfg.n_classes:
            names = default_class_names(cfg.n_classes)
        self.class_names = [str(n) for n in names]
        split = self._init_data(
            volume_or_arrays, exclude_validation_traces=cfg.exclude_validation_traces
        )
        #: Per training section, the pixels the loss ignores (on validation traces), or None.
        self._hidden = split.train_masks
        self.tracked_sections: list[Section] = (
            list(split.validation) if tracked_sections is None else list(tracked_sections)
        )
        # every section training and evaluation will touch, in a few dask computes now
        # instead of one small read each during the first epochs (data/store.py)
        self._store.preload(self.train_sections + self.tracked_sections)

        #: Dilated convolutions whose outer taps never see a feature inside a training patch
        #: (with tiny patches; recorded in run.json): see ``model.deeplab.untrained_taps``.
        self.untrained_taps = untrained_taps(cfg.patch_size, cfg.output_stride, cfg.rates)
        self.model, self.optimizer, self.scaler = build_model(cfg, self.device)
        self.extra_pool = check_pool(extra_pool, cfg.n_classes)
        self.sampler: PatchSampler | PooledSampler = training_sampler(
            self.train_sections, self.extra_pool, cfg.patch_size, cfg.draws_seed,
            cfg.augment_share,
        )  # fmt: skip
        self.aug_rng = np.random.default_rng([cfg.draws_seed, 7])

        if cfg.mode == "sweep":
            self.tracker_sections: list[Section] = self.tracked_sections
        elif cfg.mode == "online":
            self.tracker_sections = self.train_sections
        else:
            self.tracker_sections = []
        self.tracker: ForgettingTracker | None = None
        if cfg.mode != "off" and self.tracker_sections:
            self.tracker = self._new_tracker(self.tracker_sections, cfg.mode)

        self.tests: dict[str, TestSplit] = {
            name: self._test_split(name, volume) for name, volume in self.test_volumes.items()
        }
        self.patches_per_epoch = self._default_patches_per_epoch()  # the same with a pool

        self._init_loop()
        self._tracking_seconds = 0.0
        self.test_metrics: dict[str, dict[str, Any]] = {}
        #: Predictions (uint8, one per tracked section) of the last evaluated epoch.
        self.last_predictions: list[np.ndarray] = []
        #: During a sweep, the predictions of the tracked sections evaluated so far (None
        #: outside one).
        self.sweep_predictions: list[np.ndarray] | None = None
        self._maps: tuple[int, dict[str, np.ndarray]] | None = None  # (tracker epoch, maps)

    # ------------------------------------------------------------------ properties

    @property
    def store(self) -> RunStore | None:
        """The run store being written (None before the run opens, or without one)."""
        return None if self.recorder is None else self.recorder.store

    def epoch_maps(self) -> dict[str, np.ndarray]:
        """The tracker's flat maps (:meth:`ForgettingTracker.flat_maps`) after its latest
        epoch, computed once per epoch for the run store and any callback; ``{}`` without
        tracking. Treat them as read-only."""
        if self.tracker is None:
            return {}
        if self._maps is None or self._maps[0] != self.tracker.epoch:
            self._maps = (self.tracker.epoch, self.tracker.flat_maps())
        return self._maps[1]

    def budget(self) -> dict[str, Any]:
        """What training costs and what it sees: patches per epoch, batches (gradient steps)
        per epoch and in all, and the share of augmented patches (flipped, rotated, or
        drawn from the pool)."""
        cfg = self.config
        augmented = cfg.augment != "none" or bool(self.extra_pool)
        return {
            "patches_per_epoch": int(self.patches_per_epoch),
            "batches_per_epoch": int(self.n_batches),
            "gradient_steps": int(self.n_batches * cfg.epochs),
            "augmentation": "pool" if self.extra_pool else cfg.augment,
            "augmented_share": float(cfg.augment_share) if augmented else 0.0,
            "pool_sections": len(self.extra_pool),
        }

    def heatmaps(self) -> list:
        """The tracker's heat maps (one :class:`HeatMap` per tracker section)."""
        if self.tracker is None:
            raise RuntimeError("forgetting tracking is off (mode='off' or no tracked sections)")
        return self.tracker.heatmaps()

    def _new_tracker(self, sections: Sequence[Section], mode: str) -> ForgettingTracker:
        return new_tracker(self.config, sections, mode, self.spill_folder())

    def release_pages(self) -> None:
        """Drop the pages of every spilled array (training volume, test volumes, trackers)
        from resident memory."""
        super().release_pages()
        for t in self.tests.values():
            t.store.release()
            if t.tracker is not None:
                t.tracker.release()
        if self.tracker is not None:
            self.tracker.release()

    def _test_split(self, name: str, volume: Any) -> TestSplit:
        """A test volume, its sections tracked every ``test_every``-th in sweep mode."""
        cfg = self.config
        every = cfg.test_every if cfg.mode == "sweep" else 0
        return TestSplit.open(name, volume, every, self._volume_store, self._new_tracker)

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self, copy: bool = True) -> dict[str, Any]:
        """Everything a resumed run needs (see :mod:`.checkpoint`); with ``copy=False`` the
        trackers' arrays are their own, not copies (what a checkpoint writes at once)."""
        state: dict[str, Any] = {
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "model": {  # not cloned for a checkpoint written at once
                k: v.detach().cpu().clone() if copy else v.detach().cpu()
                for k, v in self.model.state_dict().items()
            },
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            **self._rng_state(),
            "sampler": self.sampler.state_dict(),
            "aug_rng": self.aug_rng.bit_generator.state,
            "tracker": None if self.tracker is None else self.tracker.state_dict(copy),
            "history": [dict(h) for h in self.history],
            "tracker_sections": [s.key for s in self.tracker_sections],
            "stats": list(self.stats),
            "tests": {name: t.state_dict(copy) for name, t in self.tests.items()},
        }
        return state

    def _checkpoint_state(self) -> dict[str, Any]:
        return self.state_dict(copy=False)

    def _check_state(self, state: dict[str, Any]) -> None:
        """The config, the tracked sections and the test volumes' sections must be this
        trainer's."""
        super()._check_state(state)
        if list(state["tracker_sections"]) != [s.key for s in self.tracker_sections]:
            raise ValueError("checkpoint tracks other sections than this trainer")
        saved = state.get("tests", {})
        mine = {name: [s.key for s in t.tracked] for name, t in self.tests.items()}
        if {name: list(v["sections"]) for name, v in saved.items()} != mine:
            raise ValueError("checkpoint tracks other test sections than this trainer")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (checked by :meth:`_check_state`: config must match
        except epochs/device/num_threads)."""
        self._check_state(state)
        saved = state.get("tests", {})
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self._restore_rng(state)
        self.sampler.load_state_dict(state["sampler"])
        self.aug_rng.bit_generator.state = state["aug_rng"]
        if self.tracker is not None:
            self.tracker.load_state_dict(state["tracker"])
        for name, t in self.tests.items():
            t.load_state_dict(saved[name])
        self._maps = None
        self.history = [dict(h) for h in state["history"]]
        self.epoch = int(state["epoch"])

    # ------------------------------------------------------------------ training

    def section_data(self, section: Section) -> tuple[np.ndarray, np.ndarray]:
        """``(image, labels)`` of a section of the training volume as the model sees it:
        amplitude-normalised float32 and uint8 class ids, depth-down ``(rows, cols)``."""
        return self._store.get(section)

    def make_batch(
        self, draws: list[tuple[int, int, int]]
    ) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        """A training batch from sampler draws ``(train section, row0, col0)``: images
        ``(B, 1, ph, pw)`` float32 and labels ``(B, ph, pw)`` int64 on the device, patches
        clipped at section edges padded (labels with the ignore index 255), and the
        ``(h, w)`` of each clipped window."""
        n_train = len(self.train_sections)

        def arrays(k: int) -> tuple[np.ndarray, np.ndarray]:
            if k >= n_train:
                return self.extra_pool[k - n_train]
            img, lab = self._store.get(self.train_sections[k])
            if self._hidden is not None:  # validation traces: out of the loss
                lab = np.where(self._hidden[k], np.uint8(IGNORE_INDEX), lab)
            return img, lab

        images, labels, windows = cut_patches(draws, self.sampler, arrays, IGNORE_INDEX)
        self._store.release()
        x = torch.from_numpy(images)
        y = torch.from_numpy(labels)
        cfg = self.config
        if cfg.augment != "none":
            x, y = augment_patches(
                x, y, cfg.augment, cfg.augment_share, cfg.rotate_degrees, self.aug_rng
            )
        return x.to(self.device), y.to(self.device), windows

    def evaluate(self, sections: Sequence[Section] | None = None) -> tuple[dict, list, list]:
        """Whole-section predictions on ``sections`` (default: the tracked ones).

        Returns ``(metrics, predictions, labels)``; predictions are uint8 ``(rows, cols)``.
        """
        metrics, preds, labs, _ = self._evaluate(sections, self._store, stats=False)
        return metrics, preds, labs

    def _evaluate(self, *args: Any, **kwargs: Any) -> tuple[dict, list, list, dict | None]:
        """:meth:`_evaluate_steps` run to its end: ``(metrics, predictions, labels,
        statistics)``."""
        return drain(self._evaluate_steps(*args, **kwargs))

    def _evaluate_steps(
        self, sections: Sequence[Section] | None, store: SectionStore, **options: Any
    ) -> Iterator[list[np.ndarray]]:
        """:func:`~.evaluation.evaluate_steps` of the model on ``sections`` (default: the
        tracked ones), tracker time counted."""
        sections = self.tracked_sections if sections is None else sections
        return evaluate_steps(
            self.model, sections, store, self.config.n_classes, amp=self.config.amp,
            tracking=self._count_tracking, **options,
        )  # fmt: skip

    def _count_tracking(self, seconds: float) -> None:
        self._tracking_seconds += seconds

    def evaluate_volume(
        self, volume: Any, kind: str = "both", store: SectionStore | None = None
    ) -> dict[str, Any]:
        """Benchmark metrics of the current model on every ``kind`` section ("inline",
        "crossline" or -- the benchmark's way -- "both") of a separate labelled test volume,
        amplitude-normalised with that volume's own statistics (as in training); with its
        ``confusion`` matrix (rows true, columns predicted), so volumes can be pooled.
        ``store``: the volume's whole-volume store, if one is open already."""
        if store is None:
            image_src, label_src = sources(volume)
            store = self._volume_store(image_src, label_src, amplitude_stats(image_src))
        return volume_metrics(volume, store, kind, self._evaluate)

    def _set_train_mode(self) -> None:
        self.model.train()

    def _train_batch(
        self, epoch: int, batch: int, draws: list[tuple[int, int, int]]
    ) -> tuple[float, dict[str, float]]:
        """One optimisation step on the draws' patches (and online tracking of them)."""
        cfg = self.config
        if batch == 0:
            self._tracking_seconds = 0.0
        x, y, windows = self.make_batch(draws)
        with autocast_context(self.device, enabled=cfg.amp):
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y, ignore_index=IGNORE_INDEX)
        value = float(loss.detach())
        self._check_finite(value, epoch, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if cfg.mode == "online" and self.tracker is not None:
            t_track = time.perf_counter()
            track_patches(self.tracker, draws, windows, logits, y, cfg.track_stats)
            self._tracking_seconds += time.perf_counter() - t_track
        return value, {"loss": value}

    def _end_epoch_steps(self, epoch: int) -> Iterator[SweepProgress]:
        """Evaluate the tracked sections; update the tracker (sweep) or end its epoch
        (online). Yields :class:`SweepProgress` after each tracked section of a sweep (the
        tracker shows it already; :func:`~.live.sweep_display` draws it). Returns the
        tracking time and the benchmark metrics."""
        cfg = self.config
        if cfg.mode == "online" and self.tracker is not None:
            self.tracker.end_epoch()
        sweep = self.tracker if cfg.mode == "sweep" else None
        steps = self._evaluate_steps(
            None, self._store, stats=sweep is not None and cfg.track_stats, tracker=sweep
        )
        total = len(self.tracked_sections)

        def shown(done: list[np.ndarray]) -> SweepProgress | None:
            self.sweep_predictions = done
            return None if sweep is None else SweepProgress(epoch, len(done), total)

        metrics, preds, _, _ = yield from relay(steps, shown)
        self.sweep_predictions = None
        self.last_predictions = preds
        tests = {
            t.name: t.track_epoch(epoch, self._evaluate, cfg.track_stats)
            for t in self.tests.values()
            if t.tracker is not None
        }
        out = {"tracking_seconds": self._tracking_seconds, **metrics}
        if tests:  # the tracked test sections, not the benchmark's figure (all sections, at
            out["tests"] = tests  # the end: test_metrics)
        return out

    def batch_postfix(self, loss: float) -> dict[str, str]:
        """The progress bar's postfix after a batch."""
        return {"loss": f"{loss:.4f}"}

    def describe_epoch(self, logs: dict[str, Any]) -> str:
        """One line of an epoch's (or a test volume's) logs (:func:`~.evaluation.
        describe_metrics`)."""
        return describe_metrics(logs, self.class_names)

    # ------------------------------------------------------------------ the end

    def _run_tests(self) -> None:
        for name, volume in self.test_volumes.items():
            metrics = self.evaluate_volume(volume, store=self.tests[name].store)
            self.test_metrics[name] = metrics
            self._call("on_test", name, metrics)

    def _end_run(self) -> None:
        """After the last epoch the test volumes are evaluated (not after a stop)."""
        if not self.stopped:
            self._run_tests()

    def store_maps(self) -> dict[str, np.ndarray] | Any:
        """The tracker's maps as the run store takes them after an epoch: the epoch's maps
        when a live view computed them already (:meth:`epoch_maps`), else the tracker's
        ``flat_maps`` to read range by range; ``{}`` without tracking."""
        if self.tracker is None:
            return {}
        cached = self._maps is not None and self._maps[0] == self.tracker.epoch
        return self._maps[1] if cached else self.tracker.flat_maps

    def release(self) -> None:
        """Free the model, optimiser and cached sections (GPU memory included); the trainer
        cannot train afterwards. The tracker and history stay readable."""
        self.model = None  # type: ignore[assignment]
        self.optimizer = None  # type: ignore[assignment]
        self._store.clear()
        for t in self.tests.values():
            t.store.clear()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
