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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from napari_forgetting.data.classes import default_class_names
from napari_forgetting.data.section_cache import SectionStore, sources, split_source
from napari_forgetting.data.sections import (
    PatchSampler,
    PooledSampler,
    Section,
    amplitude_stats,
    cut_patches,
    paper_split,
)
from napari_forgetting.data.spill import Spill, spill_for
from napari_forgetting.dynamics import ForgettingTracker
from napari_forgetting.model.deeplab import (
    build_deeplabv3_resnet18,
    class_ids,
    predict_section,
    untrained_taps,
)
from napari_forgetting.model.device import (
    autocast_context,
    make_grad_scaler,
    make_optimizer,
)
from napari_forgetting.model.metrics import ConfusionMatrix
from napari_forgetting.runs.store import RunStore, display_arrays
from napari_forgetting.training.callbacks import Callback
from napari_forgetting.training.config import AUGMENTATIONS, MODES, TrainConfig
from napari_forgetting.training.loop import TrainingLoop
from napari_forgetting.training.recorder import RunRecorder
from napari_forgetting.training.steps import SweepProgress, drain, relay

__all__ = ["AUGMENTATIONS", "MODES", "TrainConfig", "Trainer"]

#: Label value of padded patch pixels (ignored by the loss).
IGNORE_INDEX = 255


def _check_pool(
    pool: Sequence[tuple[np.ndarray, np.ndarray]] | None, n_classes: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Extra training sections ``(normalised image, labels)``, depth-down, checked."""
    out = []
    for i, item in enumerate(pool or ()):
        img, lab = (np.asarray(a) for a in item)
        if img.ndim != 2 or img.shape != lab.shape:
            raise ValueError(
                f"extra_pool[{i}]: image {img.shape} and labels {lab.shape} must be one 2-D shape"
            )
        if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
            raise ValueError(f"extra_pool[{i}]: labels outside 0..{n_classes - 1}")
        out.append((img.astype(np.float32, copy=False), lab.astype(np.uint8, copy=False)))
    return out


def _true_class_stats(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """True-class probability and margin (true logit minus the largest other) per pixel.

    ``logits`` ``(..., C, H, W)`` with the class axis at -3, ``y`` ``(..., H, W)`` class ids
    (ids outside ``0..C-1``, e.g. the ignore label, are clamped; crop those pixels away).
    """
    z = logits.detach().float()
    idx = y.long().clamp(0, z.shape[-3] - 1).unsqueeze(-3)
    true = z.gather(-3, idx)
    conf = (true - torch.logsumexp(z, dim=-3, keepdim=True)).exp().squeeze(-3)
    other = z.scatter(-3, idx, float("-inf")).amax(dim=-3)
    return conf, true.squeeze(-3) - other


def _display(predictions: list[np.ndarray], maps: dict[str, np.ndarray]) -> dict[str, Any]:
    """What a live view draws: the predictions flat, the maps, and the forgetting
    events' display maximum (:func:`~napari_forgetting.runs.store.display_arrays`)."""
    flat = (
        np.concatenate([p.ravel() for p in predictions]) if predictions else np.zeros(0, np.uint8)
    )
    return display_arrays(flat, maps)


def _jsonable(scores: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in scores.items():
        out[k] = [float(x) for x in v] if isinstance(v, np.ndarray) else v
    return out


@dataclass
class TestSplit:
    """A held-out test volume of a :class:`Trainer`: its own amplitude normalisation and
    section store, and the sections tracked every epoch (sweep mode) with their tracker (the
    run's recorder writes them to a child run store, ``<out_dir>/tests/<name>``)."""

    name: str
    volume: Any
    shape: tuple[int, int, int]
    store: SectionStore
    tracked: list[Section]
    tracker: ForgettingTracker | None
    last_predictions: list[np.ndarray] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


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
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.weights_seed)
            model = build_deeplabv3_resnet18(
                cfg.n_classes, 1, cfg.output_stride, atrous_rates=cfg.rates
            )
        self.model = model.to(self.device)
        options = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
        if cfg.optimizer == "sgd":
            options["momentum"] = cfg.momentum
        self.optimizer = make_optimizer(cfg.optimizer, self.model.parameters(), **options)
        self.scaler = make_grad_scaler(self.device, enabled=cfg.amp)
        self.extra_pool = _check_pool(extra_pool, cfg.n_classes)
        pool_sections = [
            Section("inline", 0, 0, img.shape) for img, _ in self.extra_pool
        ]  # shape-only stand-ins: the sampler draws windows on them like on sections
        # common random numbers: every arm of one seed draws the same training stream; a
        # pool takes augment_share of the positions (whatever its size), each chosen by a
        # stream of its own, so the positions it leaves hold the baseline's draws
        self.sampler: PatchSampler | PooledSampler = PatchSampler(
            self.train_sections, None, cfg.patch_size, cfg.draws_seed
        )
        if self.extra_pool:
            self.sampler = PooledSampler(
                self.sampler,
                PatchSampler(pool_sections, None, cfg.patch_size, [cfg.draws_seed, 11]),
                cfg.augment_share,
                [cfg.draws_seed, 13],
            )
        self.aug_rng = np.random.default_rng([cfg.draws_seed, 7])

        if cfg.mode == "sweep":
            self.tracker_sections: list[Section] = self.tracked_sections
        elif cfg.mode == "online":
            self.tracker_sections = self.train_sections
        else:
            self.tracker_sections = []
        self.tracker: ForgettingTracker | None = None
        if cfg.mode != "off" and self.tracker_sections:
            self.tracker = ForgettingTracker(
                [s.shape for s in self.tracker_sections],
                cfg.n_classes,
                mode=cfg.mode,
                max_epochs=max(255, cfg.epochs),
                track_confidence=cfg.track_stats,
                track_margin=cfg.track_stats,
                never_learned=cfg.never_learned,
                spill=self._tracker_spill(self.tracker_sections),
            )

        self.tests: dict[str, TestSplit] = {
            name: self._test_split(name, volume) for name, volume in self.test_volumes.items()
        }
        self.patches_per_epoch = self._default_patches_per_epoch()  # the same with a pool

        self._init_loop()
        self._tracking_seconds = 0.0
        self.test_metrics: dict[str, dict[str, Any]] = {}
        #: Predictions (uint8, one per tracked section) of the last evaluated epoch.
        self.last_predictions: list[np.ndarray] = []
        #: During a sweep, the predictions of the tracked sections evaluated so far.
        self._sweep_predictions: list[np.ndarray] | None = None
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

    def _tracker_spill(self, sections: Sequence[Section]) -> Spill | None:
        """Files for a tracker's state when it is large (16 bytes a pixel with every
        statistic; :mod:`~napari_forgetting.data.spill`), else None: kept in memory."""
        pixels = sum(r * c for r, c in (s.shape for s in sections))
        return spill_for(16 * pixels, self.spill_folder())

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
        cfg = self.config
        image_src, label_src = sources(volume, f"test volume {name!r}")
        store = self._volume_store(image_src, label_src, amplitude_stats(image_src))
        tracked: list[Section] = []
        tracker = None
        if cfg.mode == "sweep" and cfg.test_every > 0:
            tracked = list(paper_split(split_source(volume), cfg.test_every).validation)
            store.preload(tracked)
            tracker = ForgettingTracker(
                [s.shape for s in tracked],
                cfg.n_classes,
                mode="sweep",
                max_epochs=max(255, cfg.epochs),
                track_confidence=cfg.track_stats,
                track_margin=cfg.track_stats,
                never_learned=cfg.never_learned,
                spill=self._tracker_spill(tracked),
            )
        shape = tuple(int(n) for n in image_src.shape)
        return TestSplit(name, volume, shape, store, tracked, tracker)  # type: ignore[arg-type]

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
            "tests": {
                name: {
                    "sections": [s.key for s in t.tracked],
                    "tracker": None if t.tracker is None else t.tracker.state_dict(copy),
                    "history": [dict(h) for h in t.history],
                }
                for name, t in self.tests.items()
            },
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
            if t.tracker is not None:
                t.tracker.load_state_dict(saved[name]["tracker"])
            t.history = [dict(h) for h in saved[name]["history"]]
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
        if self.config.augment != "none":
            x, y = self._augment(x, y)
        return x.to(self.device), y.to(self.device), windows

    def _augment(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Random flip or rotation of each patch (CPU tensors; RNG: :attr:`aug_rng`)."""
        cfg = self.config
        chosen = self.aug_rng.random(len(x)) < cfg.augment_share
        if cfg.augment == "flip":
            idx = torch.from_numpy(np.flatnonzero(chosen))
            x[idx] = x[idx].flip(-1)
            y[idx] = y[idx].flip(-1)
            return x, y
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as TF

        angles = self.aug_rng.uniform(-cfg.rotate_degrees, cfg.rotate_degrees, len(x))
        for b in np.flatnonzero(chosen):
            x[b] = TF.rotate(x[b], float(angles[b]), InterpolationMode.BILINEAR, fill=0.0)
            y[b] = TF.rotate(
                y[b : b + 1], float(angles[b]), InterpolationMode.NEAREST, fill=IGNORE_INDEX
            )[0]
        return x, y

    def _track_online(
        self,
        draws: list[tuple[int, int, int]],
        windows: list[tuple[int, int]],
        logits: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        pred = class_ids(logits.detach(), dim=1).cpu().numpy()
        true = y.to(torch.uint8).cpu().numpy()
        conf = marg = None
        if self.config.track_stats:
            c, m = _true_class_stats(logits, y)
            conf, marg = c.cpu().numpy(), m.cpu().numpy()
        sec, r0, c0 = np.asarray(draws, dtype=np.int64).reshape(-1, 3).T
        self.tracker.update_patch(
            sec, r0, c0, pred, true, confidence=conf, margin=marg, sizes=np.asarray(windows)
        )

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
        self,
        sections: Sequence[Section] | None,
        store: SectionStore,
        stats: bool,
        confusion: bool = False,
        tracker: ForgettingTracker | None = None,
        keep: bool = True,
    ) -> Iterator[list[np.ndarray]]:
        """Predict ``sections`` one by one, yielding the predictions so far after each.
        With a sweep ``tracker`` each section is applied to it as soon as it is predicted
        (with its confidence and margin when ``stats``), so a pass holds one section's
        outputs at a time, not the whole pass's; then no labels or statistics are returned
        (``[]``, ``None``). Without ``keep`` only the metrics are kept (no predictions,
        labels or statistics). Returns ``(metrics, predictions, labels, statistics)``."""
        sections = self.tracked_sections if sections is None else list(sections)
        n_classes = self.config.n_classes
        cm = ConfusionMatrix(n_classes)
        # the soft endpoint: each class's mean true-class probability over its pixels
        prob_sum, prob_n = np.zeros(n_classes), np.zeros(n_classes, np.int64)
        preds, labs = [], []
        derived: dict[str, list] | None = {"confidence": [], "margin": []} if stats else None
        for i, sec in enumerate(sections):
            img, lab = store.get(sec)
            logits = predict_section(self.model, img, amp=self.config.amp)
            pred = class_ids(logits, dim=0).cpu().numpy()
            given = {}
            y = torch.from_numpy(np.ascontiguousarray(lab)).to(logits.device)
            conf, marg = _true_class_stats(logits, y)
            if stats:
                given = {"confidence": [conf.cpu().numpy()], "margin": [marg.cpu().numpy()]}
            valid = lab < n_classes  # the ignore label is out
            ids = lab[valid].astype(np.int64)
            prob_sum += np.bincount(ids, weights=conf.cpu().numpy()[valid], minlength=n_classes)
            prob_n += np.bincount(ids, minlength=n_classes)
            del logits, conf, marg
            cm.update(lab, pred)
            if keep:
                preds.append(pred)
            if tracker is not None:
                t_track = time.perf_counter()
                tracker.update_sections(i, [pred], [lab], **given)
                self._tracking_seconds += time.perf_counter() - t_track
            elif keep:
                labs.append(lab)
                if derived is not None:
                    for key, value in given.items():
                        derived[key].extend(value)
            store.release()
            yield preds
        metrics = _jsonable(cm.compute()) if sections else {}
        if sections:
            with np.errstate(invalid="ignore", divide="ignore"):
                metrics["class_probability"] = [
                    float(v) for v in np.where(prob_n > 0, prob_sum / prob_n, np.nan)
                ]
        if confusion and sections:
            metrics["confusion"] = cm.state_dict()["matrix"].tolist()
            # with the confusion matrix, what pools the soft endpoint over volumes
            metrics["probability_sums"] = [float(v) for v in prob_sum]
            metrics["probability_counts"] = [int(v) for v in prob_n]
        return metrics, preds, labs, None if tracker is not None else derived

    def evaluate_volume(
        self, volume: Any, kind: str = "both", store: SectionStore | None = None
    ) -> dict[str, Any]:
        """Benchmark metrics of the current model on every ``kind`` section ("inline",
        "crossline" or -- the benchmark's way -- "both") of a separate labelled test volume,
        amplitude-normalised with that volume's own statistics (as in training); with its
        ``confusion`` matrix (rows true, columns predicted), so volumes can be pooled.
        ``store``: the volume's whole-volume store, if one is open already."""
        from napari_forgetting.data.sections import all_sections

        image_src, label_src = sources(volume)
        shape = tuple(int(n) for n in image_src.shape)
        secs = all_sections(split_source(volume))
        if kind != "both":
            secs = [s for s in secs if s.kind == kind]
        if store is None:
            store = self._volume_store(image_src, label_src, amplitude_stats(image_src))
        metrics, _, _, _ = self._evaluate(secs, store, stats=False, confusion=True, keep=False)
        metrics["n_sections"] = len(secs)
        metrics["shape"] = list(shape)
        return metrics

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
            own = [i for i, d in enumerate(draws) if d[0] < len(self.train_sections)]
            if len(own) == len(draws):
                self._track_online(draws, windows, logits, y)
            elif own:  # pool patches are not tracker sections
                sel = torch.tensor(own, device=logits.device)
                self._track_online(
                    [draws[i] for i in own], [windows[i] for i in own], logits[sel], y[sel]
                )
            self._tracking_seconds += time.perf_counter() - t_track
        return value, {"loss": value}

    def _end_epoch_steps(self, epoch: int) -> Iterator[SweepProgress]:
        """Evaluate the tracked sections; update the tracker (sweep) or end its epoch
        (online). Yields :class:`SweepProgress` after each tracked section of a sweep (the
        tracker shows it already; :meth:`sweep_display_arrays` draws it). Returns the
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
            self._sweep_predictions = done
            return None if sweep is None else SweepProgress(epoch, len(done), total)

        metrics, preds, _, _ = yield from relay(steps, shown)
        self._sweep_predictions = None
        self.last_predictions = preds
        tests = {}
        for t in self.tests.values():
            if t.tracker is None:
                continue
            m, t.last_predictions, _, _ = self._evaluate(
                t.tracked, t.store, stats=cfg.track_stats, tracker=t.tracker
            )
            t.history.append({"epoch": epoch, **m})
            tests[t.name] = m
        out = {"tracking_seconds": self._tracking_seconds, **metrics}
        if tests:  # the tracked test sections, not the benchmark's figure (all sections, at
            out["tests"] = tests  # the end: test_metrics)
        return out

    def batch_postfix(self, loss: float) -> dict[str, str]:
        """The progress bar's postfix after a batch."""
        return {"loss": f"{loss:.4f}"}

    def describe_epoch(self, logs: dict[str, Any]) -> str:
        """One line of an epoch's (or a test volume's) logs: loss, PA, MCA, mIoU, FWIoU and
        per-class accuracy."""
        parts = [f"loss {logs['loss']:.4f}"] if "loss" in logs else []
        for key, short in (
            ("pixel_accuracy", "PA"),
            ("mean_class_accuracy", "MCA"),
            ("mean_iou", "mIoU"),
            ("fw_iou", "FWIoU"),
        ):
            if key in logs:
                parts.append(f"{short} {logs[key]:.3f}")
        acc = logs.get("class_accuracy")
        if acc is not None:
            pairs = zip(self.class_names, acc, strict=False)
            parts.append("acc[" + " ".join(f"{n}:{a:.2f}" for n, a in pairs) + "]")
        return "  ".join(parts)

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

    def display_arrays(self) -> dict[str, Any]:
        """The last epoch as a live view shows it: ``predictions`` (uint8, flat over the
        evaluated sections), ``maps`` (:meth:`epoch_maps`) and ``heat_upper`` (the
        forgetting events' display maximum, :func:`~napari_forgetting.dynamics.heat_limit`,
        or None)."""
        return _display(self.last_predictions, self.epoch_maps())

    def sweep_display_arrays(self) -> dict[str, Any]:
        """:meth:`display_arrays` in the middle of a sweep (after a :class:`SweepProgress`):
        the sections evaluated so far with this pass's predictions and maps, the others with
        the previous epoch's (none yet: zero). Outside a sweep, :meth:`display_arrays`."""
        done = self._sweep_predictions
        if done is None or self.tracker is None:
            return self.display_arrays()
        rest = self.last_predictions[len(done) :] or [
            np.zeros(s.shape, np.uint8) for s in self.tracked_sections[len(done) :]
        ]
        # the tracker's maps now, not epoch_maps(): that one is per finished epoch
        return _display([*done, *rest], self.tracker.flat_maps())

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
