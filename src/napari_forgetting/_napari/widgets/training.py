"""The training dock widget: start / stop / resume live training, replay or follow a run.

Thin by design: it gathers parameters, starts the one background worker
(:func:`~napari_forgetting._napari.worker.start_worker`) over the core's
:func:`~napari_forgetting.training.live.live_events` (the trainer's ``fit_steps()``) and
hands the events to its :class:`~napari_forgetting._napari.run_view.RunView` (live layers,
replay, following, click-to-inspect, plots). Everything here runs on the GUI thread;
training runs in the worker. Stop is the worker's ``quit()``: the run ends after the current
batch, keeping its last complete epoch and checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from magicgui.widgets import (
    CheckBox,
    Container,
    FileEdit,
    LineEdit,
    PushButton,
    Slider,
)
from napari.utils import progress

from napari_forgetting._napari import collector
from napari_forgetting._napari.layers import DEPTH_DOWN_ORDER, LayerVolume
from napari_forgetting._napari.live_layers import (
    AGREEMENT_NAME,
    EXTRA_LAYERS,
    KINDS,
    RUN_MAP_LAYERS,
    LiveLayers,
    available_extras,
)
from napari_forgetting._napari.run_view import RunView
from napari_forgetting._napari.view3d import show_survey_3d
from napari_forgetting._napari.widgets.dock import ForgettingDock, compact_file_edits, folded
from napari_forgetting._napari.widgets.options import field_value, field_values, field_widgets
from napari_forgetting._napari.worker import gui_friendly_threads, start_worker
from napari_forgetting.training.config import TrainConfig
from napari_forgetting.training.live import (
    BatchEnd,
    EpochDone,
    SweepShown,
    TrainingFailed,
    TrainingFinished,
    TrainStart,
    live_events,
)

__all__ = ["TrainingWidget"]

#: The TrainConfig fields the dock's *Training settings* set (:mod:`.options` derives them).
TRAINING_FIELDS = (
    "epochs",
    "batch_size",
    "patch_size",
    "patches_per_epoch",
    "lr",
    "device",
    "seed",
    "mode",
    "every",
)


RUNS_ENV = "NAPARI_FORGETTING_RUNS"


def _default_run_dir(name: str) -> Path:
    """Where a run started without a folder is written: ``$NAPARI_FORGETTING_RUNS`` when set,
    else ``<temp dir>/napari-forgetting-runs``, in a folder named after the layer and the
    start time."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "run"
    root = os.environ.get(RUNS_ENV) or Path(tempfile.gettempdir()) / "napari-forgetting-runs"
    return Path(root) / f"{safe}-{stamp}"


class TrainingWidget(ForgettingDock):
    """Dock widget: train on any seismic + labels layer pair with live forgetting layers.

    Also opens a run store written by ``napari-forgetting train`` for epoch-by-epoch replay,
    following it (polling ``state.json``) while it is still being written.
    """

    PRIMARY = ("start_button", "stop_button", "resume_button")

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.extra_callbacks: list = []  # injected into the trainer (tests, extensions)
        self.run_dir: Path | None = None
        #: While an epoch's evaluation runs, its sections so far are drawn this often (s).
        self.sweep_seconds: float | None = 10.0
        self.bound_volume: LayerVolume | None = None
        self.events_seen: list[Any] = []
        self._ended: Any = None  # the run's TrainingFinished / TrainingFailed, once seen
        self._setting_slider = False
        self._epochs = 1
        self.view = RunView(
            napari_viewer,
            self,
            lambda message, error: self.tell(message, "error" if error else "info"),
            self._on_new_epochs,
        )

        self.layer_pickers(napari_viewer)
        fields = self.config_fields = field_widgets(TrainConfig, TRAINING_FIELDS)
        self.epochs, self.batch_size = fields["epochs"], fields["batch_size"]
        self.patch, self.patches = fields["patch_size"], fields["patches_per_epoch"]
        self.lr, self.device, self.seed = fields["lr"], fields["device"], fields["seed"]
        self.mode, self.every = fields["mode"], fields["every"]
        self.tracked = LineEdit(
            label="tracked sections",
            value="",
            tooltip="empty: the validation sections (every N-th inline and crossline); or "
            "section keys with header numbers, e.g. 'inline:105, crossline:310'",
        )
        self.extra_boxes = {name: CheckBox(text=name, value=False) for name in EXTRA_LAYERS}
        extra_tips = {
            "first learned": "the epoch each pixel was first predicted right",
            "never learned": "pixels never predicted right",
            "confidence": "mean softmax probability of the true class over the epochs",
            "variability": "spread of that probability over the epochs",
            "margin": "true-class logit minus the largest other, last epoch",
        }
        for name, tip in extra_tips.items():
            self.extra_boxes[name].tooltip = tip
        agreement = self.extra_boxes[AGREEMENT_NAME]
        agreement.tooltip = (
            "a consensus run's share of seeds that put each pixel in their top 5 % (0..1): "
            "offered when an opened run stores it (napari-forgetting consensus)"
        )
        agreement.enabled = False
        self.run_folder = FileEdit(label="run folder", mode="d", value="")
        self.start_button = PushButton(text="Start")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.resume_button = PushButton(text="Resume", enabled=False)
        self.epoch_slider = Slider(label="epoch", min=1, max=1, value=1, enabled=False)
        self.open_folder = FileEdit(label="open run", mode="d", value="")
        self.open_button = PushButton(text="Open run")
        self.follow = CheckBox(text="follow the latest epoch", value=True)
        self.movie_file = FileEdit(
            label="movie",
            mode="w",
            filter="*.mp4 *.gif",
            value="",
            tooltip="MP4 or GIF: the viewed section's heat map over the epochs (the run's "
            "hottest section when the view shows none of its tracked sections)",
        )
        self.movie_button = PushButton(text="Save movie", enabled=False)
        self.status.setText("pick a seismic and a labels layer, then Start")

        buttons = Container(
            widgets=[self.start_button, self.stop_button, self.resume_button],
            layout="horizontal",
            labels=False,
        )
        self.inline_button = PushButton(text="Inline", tooltip="view inline sections")
        self.crossline_button = PushButton(text="Crossline", tooltip="view crossline sections")
        self.survey_button = PushButton(
            text="3-D",
            tooltip="the seismic as three orthogonal planes, the tracked sections' heat maps "
            "inside the volume",
        )
        views = Container(
            widgets=[self.inline_button, self.crossline_button, self.survey_button],
            layout="horizontal",
            labels=False,
        )
        views.label = "view"
        boxes = list(self.extra_boxes.values())
        extras = Container(
            widgets=[
                Container(widgets=boxes[i : i + 2], layout="horizontal", labels=False)
                for i in range(0, len(boxes), 2)
            ],
            labels=False,
        )
        settings = Container(widgets=[*fields.values(), self.tracked, self.run_folder])
        replay = Container(
            widgets=[self.open_folder, self.open_button, self.movie_file, self.movie_button]
        )
        compact_file_edits(self.run_folder, self.open_folder, self.movie_file)
        #: the primary actions first, the settings under them, a stored run's replay folded
        self.form = Container(
            widgets=[
                self.seismic,
                self.labels,
                buttons,
                views,
                self.epoch_slider,
                self.follow,
            ]
        )
        self.view.scale_listeners.append(self.show_scale)  # live, replay and 3-D alike
        self.form.native.layout().addWidget(self.scale)
        self.form.native.layout().addWidget(folded("Training settings", settings, True))
        self.form.native.layout().addWidget(folded("Extra layers", extras, False))
        self.form.native.layout().addWidget(folded("Open a run, save a movie", replay, False))
        self.form.native.layout().addStretch()
        self.place(self.form.native)
        self.explain(
            {
                "seismic": ("the seismic Image layer to train on (3-D: inline, crossline, sample)"),
                "labels": ("the facies Labels layer of the same shape (one class id per pixel)"),
                "run_folder": (
                    "where the run is written (checkpoints, maps); empty: a new temporary folder"
                ),
                "epoch_slider": "the epoch the heat maps show",
                "follow": "show each new epoch as it arrives",
                "open_folder": "a run folder written by napari-forgetting train, to replay",
            }
        )
        self.start_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.stop)
        self.resume_button.changed.connect(self.resume)
        self.open_button.changed.connect(lambda: self.open_run(self.open_folder.value))
        self.inline_button.changed.connect(lambda: self.view_sections("inline"))
        self.crossline_button.changed.connect(lambda: self.view_sections("crossline"))
        self.survey_button.changed.connect(self.view_survey_3d)
        self.movie_button.changed.connect(lambda: self.save_movie(self.movie_file.value))
        self.epoch_slider.changed.connect(self._slider_moved)
        self.follow.changed.connect(self._follow_changed)
        collector.watch(self.viewer)
        self.reset_choices()

    # -------------------------------------------------------------- what the view shows

    def view_sections(self, kind: str) -> None:
        """A 2-D view through ``kind`` sections (depth down); its map layers are shown."""
        self.viewer.dims.ndisplay = 2
        self.viewer.dims.order = DEPTH_DOWN_ORDER if kind == "inline" else (1, 2, 0)

    def view_survey_3d(self) -> None:
        """The 3-D survey view (:func:`~.._napari.view3d.show_survey_3d`)."""
        seismic = self.seismic.value
        if seismic is None:
            self.tell("pick a seismic layer first", "error")
            return
        show_survey_3d(self.viewer, seismic)

    @property
    def live(self) -> LiveLayers | None:
        return self.view.live

    @property
    def store(self) -> Any:
        return self.view.store

    @property
    def metrics_plot(self) -> Any:
        return self.view.metrics_plot

    @property
    def pixel_plot(self) -> Any:
        return self.view.pixel_plot

    @property
    def poll_timer(self) -> Any:
        return self.view.poll_timer

    def poll(self) -> None:
        self.view.poll()

    def inspect(self, world_position: Any) -> str:
        """Show the learning history of the voxel at ``world_position`` (inline, crossline,
        sample world coordinates) in the pixel-history dock; returns the message shown."""
        return self.view.inspect(world_position)

    # -------------------------------------------------------------- choices

    def own_layers(self) -> tuple:
        return () if self.live is None else tuple(self.live.layers.values())

    # -------------------------------------------------------------- helpers

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _set_running(self, running: bool) -> None:
        self.start_button.enabled = not running
        self.resume_button.enabled = not running and self._resumable()
        self.stop_button.enabled = running
        self.open_button.enabled = not running
        self.movie_button.enabled = not running and self.store is not None

    def _resumable(self) -> bool:
        return self.run_dir is not None and (self.run_dir / "checkpoint.pt").is_file()

    def _device(self) -> str | None:
        """The device asked for; ``None`` for *auto*, which the trainer resolves in its
        worker (torch is imported there, not on the GUI thread)."""
        device: str | None = field_value(TrainConfig, "device", self.device)
        return device

    def _config(self) -> Any:
        values = field_values(TrainConfig, self.config_fields)
        return TrainConfig(
            **values,
            num_threads=gui_friendly_threads(values["device"]),
            n_classes=len(self._class_names()),
            track_stats=any(
                self.extra_boxes[n].value for n in ("confidence", "variability", "margin")
            ),
        )

    def _class_names(self) -> list[str]:
        vol = self.bound_volume
        if vol is not None and vol.class_names:
            return list(vol.class_names)
        from napari_forgetting.data.classes import default_class_names

        labels = self.labels.value
        names = (labels.metadata or {}).get("class_names") if labels is not None else None
        return list(names) if names else list(default_class_names(6))

    def _tracked_sections(self, volume: LayerVolume) -> list | None:
        text = self.tracked.value.strip()
        if not text:
            return None
        from napari_forgetting.data.sections import Section

        return [Section.from_key(k.strip(), volume) for k in text.split(",") if k.strip()]

    def _extras(self, store: Any = None) -> tuple[str, ...]:
        """The extra layer families checked; with ``store``, less those whose map only some
        runs store (:data:`RUN_MAP_LAYERS`: a consensus's agreement) and it lacks."""
        chosen = tuple(n for n, box in self.extra_boxes.items() if box.value)
        return chosen if store is None else available_extras(chosen, store.map_names)

    def _offer_run_maps(self, store: Any) -> None:
        """The check boxes of :data:`RUN_MAP_LAYERS` are on for a run storing their map (a
        consensus: its agreement), off and disabled for any other."""
        for family in RUN_MAP_LAYERS:
            stored = EXTRA_LAYERS[family][0] in store.map_names
            box = self.extra_boxes[family]
            box.enabled = stored
            box.value = stored

    # -------------------------------------------------------------- start / stop / resume

    def _layer_volume(self) -> LayerVolume:
        seismic, labels = self.seismic.value, self.labels.value
        if seismic is None or labels is None:
            raise ValueError("pick a seismic (Image) and a labels (Labels) layer first")
        return LayerVolume.from_layers(seismic, labels)

    def start(self) -> None:
        """Train a fresh run on the selected layers (in the background worker)."""
        if self.running:
            return
        try:
            volume = self._layer_volume()
            self.bound_volume = volume
            config = self._config()
            tracked = self._tracked_sections(volume)
            folder = str(self.run_folder.value or "").strip()
            run_dir = Path(folder) if folder not in ("", ".") else _default_run_dir(volume.name)
        except Exception as exc:  # noqa: BLE001 - a bad form entry is a message, not a crash
            self.tell(f"cannot start training: {exc}", "error")
            return
        self._launch(
            volume, config, run_dir, resume=False, tracked_sections=tracked,
            class_names=volume.class_names, source=volume.source,
        )  # fmt: skip

    def resume(self) -> None:
        """Continue the last run (or the run in *run folder*) from its checkpoint."""
        if self.running:
            return
        from napari_forgetting.runs.store import RunStore

        try:
            run_dir = self.run_dir
            folder = str(self.run_folder.value or "").strip()
            if folder not in ("", "."):
                run_dir = Path(folder)
            if run_dir is None or not (run_dir / "checkpoint.pt").is_file():
                raise ValueError("no checkpoint to resume: start a run first")
            store = RunStore.open(run_dir)
            volume = self.bound_volume
            if volume is None or volume.shape != store.volume_shape:
                volume = self._layer_volume()
            if volume.shape != store.volume_shape:
                raise ValueError(
                    f"the run was trained on a {store.volume_shape} volume, the layers are "
                    f"{volume.shape}"
                )
            self.bound_volume = volume
            device = self._device()
            # a checkpoint accepts new epochs, device and threads, nothing else
            config = replace(
                TrainConfig.from_dict(dict(store.train_config)),
                epochs=max(int(self.epochs.value), 1),
                device=device,
                num_threads=gui_friendly_threads(device),
            )
        except Exception as exc:  # noqa: BLE001
            self.tell(f"cannot resume: {exc}", "error")
            return
        self._launch(
            volume, config, run_dir, resume=True, tracked_sections=store.eval_sections,
            class_names=store.class_names, source=dict(store.info.get("source") or {}),
        )  # fmt: skip

    def _launch(self, volume: LayerVolume, config: Any, run_dir: Path, *, resume: bool,
                **trainer_options: Any) -> None:  # fmt: skip
        """Start the worker: the trainer is built, trained and released there."""
        callbacks = list(self.extra_callbacks)

        def build() -> Any:  # in the worker: torch is imported there, not on the GUI thread
            from napari_forgetting.training.segmentation import Trainer

            return Trainer(volume, config, callbacks=callbacks, out_dir=run_dir, **trainer_options)

        self.view.stop_following()
        self.run_dir = Path(run_dir)
        self.events_seen = []
        self._ended = None
        self._set_running(True)
        self.status.setText(f"building the model (run folder {run_dir}) ...")
        collector.collect()  # one full collection at the click; frozen once training starts
        self.worker = start_worker(
            live_events, build, resume=resume, overwrite=not resume,
            sweep_seconds=self.sweep_seconds, on_event=self._on_event,
            on_finished=self._on_worker_finished,
        )  # fmt: skip

    # -------------------------------------------------------------- events (GUI thread)

    def _on_event(self, event: Any) -> None:
        self.events_seen.append(type(event).__name__)
        try:
            if isinstance(event, BatchEnd):
                self._on_batch(event)
            elif isinstance(event, EpochDone):
                self._on_epoch(event)
            elif isinstance(event, SweepShown):
                self._on_sweep(event)
            elif isinstance(event, TrainStart):
                self._on_started(event)
            elif isinstance(event, TrainingFinished):
                self._on_finished(event)
            elif isinstance(event, TrainingFailed):
                self._on_failed(event)
        except Exception as exc:  # noqa: BLE001 - a display bug must not kill the run
            self.tell(f"could not show training progress: {type(exc).__name__}: {exc}", True)

    def _on_started(self, ev: TrainStart) -> None:
        from napari_forgetting.runs.store import RunStore

        collector.freeze()  # torch and the model built: no full collection walks them again

        vol = self.bound_volume
        store = RunStore.open(ev.run_dir)
        world = vol.geometry if vol is not None else None
        self._offer_run_maps(store)
        self.view.bind(store, world, self._extras(store), ev.epochs)
        self.close_progress()
        total = max(1, (ev.epochs - ev.start_epoch) * ev.n_batches)
        self.pbar = progress(total=total, desc=f"training epoch {ev.start_epoch + 1}/{ev.epochs}")
        self._progress_origin = ev.start_epoch
        self._epochs = ev.epochs
        self.status.setText(
            f"training on {ev.device} ({ev.threads} CPU thread(s)), epoch "
            f"{ev.start_epoch + 1}/{ev.epochs}"
        )

    def _on_batch(self, ev: BatchEnd) -> None:
        bar = self.pbar  # local: a progress event may let Qt deliver the end of the run
        if bar is None:
            return
        done = (ev.epoch - self._progress_origin) * ev.n_batches + ev.batch + 1
        delta = done - bar.n
        if delta > 0:
            bar.update(delta)
        bar.set_description(f"training epoch {ev.epoch + 1}/{self._epochs} loss {ev.loss:.3f}")

    def _following(self) -> bool:
        """Whether the user follows the latest epoch (not replaying an earlier one)."""
        return self.follow.value or self.epoch_slider.value >= self.epoch_slider.max

    @staticmethod
    def _arrays(ev: EpochDone | SweepShown) -> dict[str, Any]:
        return {"maps": ev.maps, "predictions": ev.predictions, "heat_upper": ev.heat_upper}

    def _on_epoch(self, ev: EpochDone) -> None:
        follow = self._following()
        self._set_slider_range(ev.epoch + 1, follow)
        self.view.show_live(ev.epoch, self._arrays(ev), ev.history, display=follow)
        acc = ev.logs.get("pixel_accuracy", float("nan"))
        took = f" (layers updated in {self.live.last_update_ms:.1f} ms)" if self.live else ""
        self.status.setText(
            f"epoch {ev.epoch + 1}/{self._epochs}: loss {ev.logs['loss']:.4f}, pixel accuracy "
            f"{acc:.3f}{took}"
        )

    def _on_sweep(self, ev: SweepShown) -> None:
        """Part of an epoch's evaluation: drawn when the user follows the latest epoch."""
        if not self._following():
            return
        self.view.draw(ev.epoch, self._arrays(ev))
        self.status.setText(
            f"epoch {ev.epoch + 1}/{self._epochs}: evaluating, {ev.done} of {ev.total} "
            "tracked sections shown"
        )

    def _on_finished(self, ev: TrainingFinished) -> None:
        self._ended = ev
        self.close_progress()
        if ev.stopped:
            self._told_stopped(ev.epochs_complete, ev.epochs)
        else:
            self.tell(
                f"training finished: {ev.epochs_complete} epochs in {ev.seconds:.0f} s; run "
                f"saved in {ev.run_dir}"
            )

    def _told_stopped(self, done: int, epochs: int) -> None:
        self.tell(
            f"training stopped after {done} of {epochs} epochs; Resume continues from the "
            f"checkpoint in {self.run_dir}"
        )

    def _on_failed(self, ev: TrainingFailed) -> None:
        self._ended = ev
        self.close_progress()
        self.tell(f"training failed: {ev.message}", "error")

    def _on_worker_finished(self) -> None:
        self.close_progress()
        self.worker = None
        if self._ended is None:  # stopped with the worker's quit: the store says where
            store = self.store
            same = store is not None and self.run_dir is not None
            if same and Path(store.path).resolve() == self.run_dir.resolve():
                store.refresh()
                self._told_stopped(store.n_epochs, self._epochs)
            else:
                self.tell("training stopped before its first epoch")
        self._set_running(False)

    # -------------------------------------------------------------- replay / follow

    def _set_slider_range(self, n_epochs: int, follow: bool) -> None:
        self._setting_slider = True
        try:
            self.epoch_slider.enabled = n_epochs > 0
            self.epoch_slider.max = max(1, n_epochs)
            if follow:
                self.epoch_slider.value = max(1, n_epochs)
        finally:
            self._setting_slider = False

    def _on_new_epochs(self, n_epochs: int) -> None:
        self._set_slider_range(n_epochs, self.follow.value)

    def _follow_changed(self, value: bool) -> None:
        self.view.follow = bool(value)

    def _slider_moved(self, value: int) -> None:
        if self._setting_slider or self.store is None or self.live is None:
            return
        self.show_epoch(int(value) - 1)

    def show_epoch(self, epoch: int) -> None:
        """Show a past epoch (0-based) of the current run's store in the live layers."""
        line = self.view.show_epoch(epoch)
        if line is not None:
            self.status.setText(line)

    def open_run(self, path: Any) -> None:
        """Open a run store (e.g. from ``napari-forgetting train``) for replay; a run still
        being written is followed by polling its ``state.json``."""
        from napari_forgetting.runs.store import RunStore

        if self.running:
            self.tell("stop the training run before opening another run", "error")
            return
        try:
            store = RunStore.open(Path(str(path)))
        except Exception as exc:  # noqa: BLE001
            self.tell(f"cannot open run: {exc}", "error")
            return
        layer = self.seismic.value
        world = None
        if layer is not None and tuple(layer.data.shape) == store.volume_shape:
            world = {"scale": tuple(layer.scale), "translate": tuple(layer.translate)}
        self.run_dir = store.path
        self._epochs = int(store.info.get("epochs", 1))
        self._offer_run_maps(store)
        self.view.bind(store, world, self._extras(store), self._epochs)
        self.view.follow = bool(self.follow.value)
        self.view._shown_epochs = 0
        self._set_running(False)
        collector.freeze()  # no full collection over the long-lived heap while replaying
        following = self.view.start_following()
        self.tell(
            f"opened run {store.path.name}: {store.n_epochs} epoch(s), {store.status}"
            + (" - following it" if following else "")
        )

    # -------------------------------------------------------------- epoch movie

    def viewed_section(self) -> Any:
        """The run's tracked section the 2-D view slices through, or ``None`` (3-D, a time
        slice, or a section the run does not track)."""
        live, layer = self.live, self.seismic.value
        if live is None or self.store is None or layer is None or self.viewer.dims.ndisplay != 2:
            return None
        kinds = live.viewed_kinds()
        if len(kinds) != 1:
            return None
        index = round(float(layer.world_to_data(self.viewer.dims.point)[KINDS.index(kinds[0])]))
        for section in self.store.map_sections:
            if section.kind == kinds[0] and section.index == index:
                return section
        return None

    def save_movie(self, path: Any) -> Path | None:
        """Write the epoch movie of the current run (:mod:`..render_movie`): the viewed tracked
        section, else the run's hottest; the seismic layer beneath when it is the
        run's volume. Returns the file written, ``None`` after telling why not."""
        from napari_forgetting._napari.render_movie import render_epoch_movie
        from napari_forgetting.runs.epoch_frames import epoch_frames

        store = self.store
        if store is None or self.running:
            self.tell("open or finish a run first: a movie shows its epochs", "error")
            return None
        text = str(path or "").strip()
        if text in ("", "."):
            self.tell("choose a movie file (.mp4 or .gif) first", "error")
            return None
        layer = self.seismic.value
        volume = None
        if layer is not None and tuple(layer.data.shape) == tuple(store.volume_shape):
            volume = layer.data[0] if layer.multiscale else layer.data
        try:
            frames = epoch_frames(store.refresh(), self.viewed_section(), volume)
            written = render_epoch_movie(frames, text, class_names=store.class_names)
        except (ValueError, KeyError, OSError) as exc:
            self.tell(f"no movie written: {exc}", "error")
            return None
        self.tell(
            f"movie of {frames.section.kind} {frames.section.number} over "
            f"{frames.n_epochs} epochs: {written}"
        )
        return written

    # -------------------------------------------------------------- teardown

    def on_close(self) -> None:
        self.view.close()
        collector.thaw()

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop following a run and any running job, and wait for its worker."""
        with contextlib.suppress(RuntimeError):  # the Qt side may be gone already
            self.view.stop_following()
        super().shutdown(timeout_s)
