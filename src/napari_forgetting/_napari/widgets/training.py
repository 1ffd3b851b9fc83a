"""The training dock widget: start / stop / resume live training, replay or follow a run.

Thin by design: it gathers parameters, starts a napari ``thread_worker`` over
:meth:`._live.TrainingJob.events` and turns the events into layer updates
(:class:`LiveLayers`) and plots (:mod:`.plots`). Everything here runs on the GUI thread;
training runs in the worker.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    Label,
    LineEdit,
    PushButton,
    Slider,
    SpinBox,
)
from napari.layers import Image, Labels
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from napari_forgetting._napari.layers import AXIS_LABELS, labels_colormap
from napari_forgetting._napari.live import (
    BatchDone,
    EpochDone,
    RunGeometry,
    TrainingFailed,
    TrainingFinished,
    TrainingJob,
    TrainingStarted,
    config_for_resume,
    geometry_from_sections,
    gui_friendly_threads,
    heat_limit,
    pixel_history,
)
from napari_forgetting._napari.torch_guard import hide_triton_before_torch
from napari_forgetting._napari.widgets.lifetime import alive as _alive
from napari_forgetting._napari.widgets.plots import MetricsPlot, PixelHistoryPlot

hide_triton_before_torch()  # before anything imports torch (see _torch_guard)

__all__ = ["EXTRA_LAYERS", "LayerVolume", "LiveLayers", "TrainingWidget"]

HEAT_NAME = "forgetting events"
PREDICTION_NAME = "prediction"
#: Optional layers: name -> (flat map, kind, contrast limits).
EXTRA_LAYERS = {
    "first learned": ("first_learned", "image", None),
    "never learned": ("never_learned", "labels", None),
    "confidence": ("confidence", "image", (0.0, 1.0)),
    "variability": ("variability", "image", (0.0, 0.5)),
    "margin": ("margin", "image", (-10.0, 10.0)),
}
#: Prediction value of voxels on no evaluated section (transparent).
NOT_TRACKED = 255


def forgetting_colormap() -> Any:
    """Dark blue (never forgotten) to red (often forgotten), as the paper's heat maps."""
    from matplotlib import colormaps
    from napari.utils import Colormap

    return Colormap(colormaps["jet"](np.linspace(0, 1, 9)), name="forgetting events")


# ---------------------------------------------------------------------------------- data


@dataclass
class LayerVolume:
    """A seismic + labels layer pair as the trainer's volume (header numbers kept)."""

    seismic: Any
    labels: Any
    inlines: np.ndarray
    crosslines: np.ndarray
    class_names: list[str] | None
    geometry: dict[str, Any]
    name: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.seismic.shape)  # type: ignore[return-value]

    @classmethod
    def from_layers(cls, seismic: Image, labels: Labels) -> LayerVolume:
        data = seismic.data[0] if seismic.multiscale else seismic.data
        lab = labels.data[0] if labels.multiscale else labels.data
        if data.ndim != 3:
            raise ValueError(f"{seismic.name!r} is {data.ndim}-D; training needs a 3-D volume")
        if tuple(data.shape) != tuple(lab.shape):
            raise ValueError(
                f"{seismic.name!r} {tuple(data.shape)} and {labels.name!r} {tuple(lab.shape)} "
                "differ in shape"
            )
        scale = tuple(float(s) for s in seismic.scale)
        translate = tuple(float(t) for t in seismic.translate)
        meta = seismic.metadata or {}

        def numbers(axis: int, key: str) -> np.ndarray:
            values = meta.get(key)
            if values is not None and len(values) == data.shape[axis]:
                return np.asarray(values)
            return translate[axis] + scale[axis] * np.arange(data.shape[axis])

        names = meta.get("class_names") or (labels.metadata or {}).get("class_names")
        return cls(
            data,
            lab,
            numbers(0, "inlines"),
            numbers(1, "crosslines"),
            list(names) if names else None,
            {"scale": scale, "translate": translate},
            seismic.name,
        )


# ---------------------------------------------------------------------------------- layers


class LiveLayers:
    """The layers one run writes into, bound by object (not by name or selection).

    Buffers are volume-shaped and filled in place; a layer the user closed is re-created
    (and the user told) at the next update. Untracked voxels hold NaN (images), 0 ("never
    learned") or :data:`NOT_TRACKED` (prediction) and render transparent.
    """

    def __init__(
        self,
        viewer: Any,
        geometry: RunGeometry,
        world: dict[str, Any],
        class_names: list[str],
        extras: tuple[str, ...] = (),
        total_epochs: int = 1,
    ) -> None:
        self.viewer = viewer
        self.geometry = geometry
        self.world = {"scale": tuple(world["scale"]), "translate": tuple(world["translate"])}
        self.class_names = list(class_names)
        self.extras = tuple(extras)
        self.total_epochs = int(total_epochs)
        shape = geometry.volume_shape
        self.heat = np.full(shape, np.nan, dtype=np.float32)
        self.prediction = np.full(shape, NOT_TRACKED, dtype=np.uint8)
        self.extra_buffers: dict[str, np.ndarray] = {}
        for name in self.extras:
            kind = EXTRA_LAYERS[name][1]
            self.extra_buffers[name] = (
                np.zeros(shape, np.uint8) if kind == "labels" else np.full(shape, np.nan, "f4")
            )
        self.heat_max = 1.0
        self.layers: dict[str, Any] = {}
        self.epoch: int | None = None
        self.last_update_ms = 0.0

    def compatible(self, geometry: RunGeometry, world: dict, extras: tuple[str, ...]) -> bool:
        return (
            geometry.volume_shape == self.geometry.volume_shape
            and tuple(world["scale"]) == self.world["scale"]
            and tuple(world["translate"]) == self.world["translate"]
            and tuple(extras) == self.extras
        )

    def rebind(self, geometry: RunGeometry) -> None:
        """Keep the layers for a run over other sections: clear the buffers."""
        self.geometry = geometry
        self.heat[...] = np.nan
        self.prediction[...] = NOT_TRACKED
        for name, buf in self.extra_buffers.items():
            buf[...] = 0 if EXTRA_LAYERS[name][1] == "labels" else np.nan
        self.heat_max = 1.0

    # -------------------------------------------------------------- layer creation

    def _make(self, name: str) -> Any:
        common = {**self.world, "axis_labels": AXIS_LABELS, "name": name}
        if name == HEAT_NAME:
            return Image(
                self.heat,
                colormap=forgetting_colormap(),
                contrast_limits=(0.0, self.heat_max),
                rendering="mip",
                metadata={"kind": "forgetting_events"},
                **common,
            )
        if name == PREDICTION_NAME:
            cmap = labels_colormap(len(self.class_names))
            cmap[NOT_TRACKED] = (0.0, 0.0, 0.0, 0.0)
            return Labels(
                self.prediction,
                colormap=cmap,
                opacity=0.6,
                visible=False,
                features={
                    "index": np.arange(len(self.class_names)),
                    "class": list(self.class_names),
                },
                **common,
            )
        key, kind, limits = EXTRA_LAYERS[name]
        buf = self.extra_buffers[name]
        if kind == "labels":
            return Labels(buf, colormap={1: (1.0, 1.0, 1.0, 1.0), None: (0, 0, 0, 0)}, **common)
        if limits is None:  # first learned: epochs
            limits = (0.0, float(max(1, self.total_epochs - 1)))
        return Image(buf, colormap="viridis", contrast_limits=limits, visible=False, **common)

    def ensure(self) -> list[str]:
        """Add layers that are missing from the viewer; returns the re-created names."""
        recreated = []
        names = [HEAT_NAME, PREDICTION_NAME, *self.extras]
        for name in names:
            layer = self.layers.get(name)
            if layer is not None and layer in self.viewer.layers:
                continue
            if layer is not None:
                recreated.append(name)
            self.layers[name] = self.viewer.add_layer(self._make(name))
        return recreated

    # -------------------------------------------------------------- updates

    def show(
        self,
        epoch: int,
        maps: dict[str, np.ndarray],
        predictions: np.ndarray,
        heat_upper: float | None = None,
    ) -> list[str]:
        """Fill the buffers with one epoch's flat arrays and refresh the layers in place.

        ``heat_upper``: the counts' :func:`heat_limit` when the caller computed it off the
        GUI thread (live training); computed here otherwise (replay). Returns the names of
        layers that had been closed and were re-created.
        """
        t0 = time.perf_counter()
        recreated = self.ensure()
        geo = self.geometry
        counts = maps.get("forgetting_events")
        if counts is not None and counts.size:
            geo.scatter(self.heat, counts, "map")
            upper = heat_limit(counts) if heat_upper is None else float(heat_upper)
            self.heat_max = max(self.heat_max, upper)  # never shrinks
        if predictions is not None and predictions.size:
            geo.scatter(self.prediction, predictions, "eval")
        for name in self.extras:
            key, kind, _ = EXTRA_LAYERS[name]
            values = maps.get(key)
            if values is None or not values.size:
                continue
            values = np.asarray(values)
            if key == "first_learned":
                values = values.astype(np.float32)
                never = maps.get("never_learned")
                if never is not None:
                    values[np.asarray(never, bool)] = np.nan
            elif kind == "labels":
                values = values.astype(np.uint8)
            geo.scatter(self.extra_buffers[name], values, "map")
        heat = self.layers[HEAT_NAME]
        if tuple(heat.contrast_limits) != (0.0, self.heat_max):
            heat.contrast_limits_range = (0.0, self.heat_max)
            heat.contrast_limits = (0.0, self.heat_max)
        for layer in self.layers.values():
            layer.refresh()
        self.epoch = epoch
        self.last_update_ms = (time.perf_counter() - t0) * 1e3
        return recreated

    def show_store_epoch(self, store: Any, epoch: int) -> list[str]:
        """Replay: show epoch ``epoch`` (0-based) of a run store."""
        wanted = {"forgetting_events", "never_learned"} | {EXTRA_LAYERS[n][0] for n in self.extras}
        maps = {n: store.flat_map(n, epoch) for n in wanted if n in store.map_names}
        return self.show(epoch, maps, store.flat_predictions(epoch))


# ---------------------------------------------------------------------------------- widget


def _default_run_dir(name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "run"
    return Path(tempfile.gettempdir()) / "napari-forgetting-runs" / f"{safe}-{stamp}"


class TrainingWidget(QWidget):
    """Dock widget: train on any seismic + labels layer pair with live forgetting layers.

    Also opens a run store written by ``napari-forgetting train`` for epoch-by-epoch replay,
    following it (polling ``state.json``) while it is still being written.
    """

    #: Poll interval (ms) of a followed run store.
    poll_ms = 1000

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.extra_callbacks: list = []  # injected into the trainer (tests, extensions)
        self.job: TrainingJob | None = None
        self.worker: Any = None
        self.live: LiveLayers | None = None
        self.store: Any = None  # RunStore being shown (reader)
        self.run_dir: Path | None = None
        self.bound_volume: LayerVolume | None = None
        self.pbar: Any = None
        self.metrics_plot: MetricsPlot | None = None
        self.pixel_plot: PixelHistoryPlot | None = None
        self.messages: list[str] = []  # what the widget told the user (also shown in napari)
        self.events_seen: list[Any] = []
        self._setting_slider = False
        self._last_status = ""

        self.seismic = ComboBox(label="seismic", choices=self._image_layers, nullable=True)
        self.labels = ComboBox(label="labels", choices=self._labels_layers, nullable=True)
        self.epochs = SpinBox(label="epochs", value=30, min=1, max=10000)
        self.batch_size = SpinBox(label="batch size", value=8, min=2, max=1024)
        self.patch = SpinBox(label="patch size", value=64, min=16, max=1024, step=16)
        self.patches = SpinBox(
            label="patches / epoch",
            value=32,
            min=0,
            max=10_000_000,
            tooltip="0: cover the training sections' pixels once per epoch",
        )
        self.lr = LineEdit(label="learning rate", value="0.001")
        self.device = ComboBox(label="device", choices=["auto", "cpu", "cuda", "mps"], value="auto")
        self.seed = SpinBox(label="seed", value=0, min=0, max=2**31 - 1)
        self.mode = ComboBox(label="tracking", choices=["sweep", "online", "off"], value="sweep")
        self.every = SpinBox(label="validation every", value=5, min=2, max=1000)
        self.tracked = LineEdit(
            label="tracked sections",
            value="",
            tooltip="empty: the validation sections (every N-th inline and crossline); or "
            "section keys with header numbers, e.g. 'inline:105, crossline:310'",
        )
        self.extra_boxes = {name: CheckBox(text=name, value=False) for name in EXTRA_LAYERS}
        self.run_folder = FileEdit(label="run folder", mode="d", value="")
        self.start_button = PushButton(text="Start")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.resume_button = PushButton(text="Resume", enabled=False)
        self.epoch_slider = Slider(label="epoch", min=1, max=1, value=1, enabled=False)
        self.open_folder = FileEdit(label="open run", mode="d", value="")
        self.open_button = PushButton(text="Open run")
        self.follow = CheckBox(text="follow the latest epoch", value=True)
        self.status = Label(value="pick a seismic and a labels layer, then Start")

        buttons = Container(
            widgets=[self.start_button, self.stop_button, self.resume_button],
            layout="horizontal",
            labels=False,
        )
        boxes = list(self.extra_boxes.values())
        extras = Container(
            widgets=[
                Container(widgets=boxes[:3], layout="horizontal", labels=False),
                Container(widgets=boxes[3:], layout="horizontal", labels=False),
            ],
            labels=False,
        )
        extras.label = "extra layers"
        self.form = Container(
            widgets=[
                self.seismic,
                self.labels,
                self.epochs,
                self.batch_size,
                self.patch,
                self.patches,
                self.lr,
                self.device,
                self.seed,
                self.mode,
                self.every,
                self.tracked,
                extras,
                self.run_folder,
                buttons,
                self.epoch_slider,
                self.follow,
                self.open_folder,
                self.open_button,
                self.status,
            ]
        )
        scroll = QScrollArea()  # a tall form must not squeeze the plot docks below it
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form.native)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.setMinimumWidth(330)

        self.start_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.stop)
        self.resume_button.changed.connect(self.resume)
        self.open_button.changed.connect(lambda: self.open_run(self.open_folder.value))
        self.epoch_slider.changed.connect(self._slider_moved)
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(self.poll_ms)
        self.poll_timer.timeout.connect(self.poll)
        self.viewer.layers.events.inserted.connect(self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.reset_choices()

    # -------------------------------------------------------------- choices

    def _image_layers(self, _widget: Any = None) -> list:
        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Image)
            and layer.ndim == 3
            and layer.name != HEAT_NAME
            and not (layer.metadata or {}).get("kind")
            and (self.live is None or layer not in self.live.layers.values())
        ]

    def _labels_layers(self, _widget: Any = None) -> list:
        own = () if self.live is None else tuple(self.live.layers.values())
        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Labels) and layer.ndim == 3 and layer not in own
        ]

    def reset_choices(self, event: Any = None) -> None:
        self.form.reset_choices()
        for combo in (self.seismic, self.labels):
            layers = [c for c in combo.choices if c is not None]
            if combo.value is None and layers:
                combo.value = layers[0]

    # -------------------------------------------------------------- helpers

    def _tell(self, message: str, error: bool = False) -> None:
        self.messages.append(message)
        self.status.value = message if len(message) < 120 else message[:117] + "..."
        (show_error if error else show_info)(message)

    @property
    def running(self) -> bool:
        return self.job is not None

    def _set_running(self, running: bool) -> None:
        self.start_button.enabled = not running
        self.resume_button.enabled = not running and self._resumable()
        self.stop_button.enabled = running
        self.open_button.enabled = not running

    def _resumable(self) -> bool:
        return self.run_dir is not None and (self.run_dir / "checkpoint.pt").is_file()

    def _config(self) -> Any:
        from napari_forgetting.training.segmentation import TrainConfig

        device = None if self.device.value == "auto" else self.device.value
        if device is None:
            from napari_forgetting.model.device import select_device

            device = str(select_device(None))
        return TrainConfig(
            epochs=int(self.epochs.value),
            batch_size=int(self.batch_size.value),
            patch_size=(int(self.patch.value), int(self.patch.value)),
            patches_per_epoch=int(self.patches.value) or None,
            lr=float(self.lr.value),
            seed=int(self.seed.value),
            device=device,
            mode=self.mode.value,
            every=int(self.every.value),
            num_threads=gui_friendly_threads(device),
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

    def _extras(self) -> tuple[str, ...]:
        return tuple(n for n, box in self.extra_boxes.items() if box.value)

    # -------------------------------------------------------------- start / stop / resume

    def start(self) -> None:
        """Train a fresh run on the selected layers (in a worker thread)."""
        if self.running:
            return
        try:
            seismic, labels = self.seismic.value, self.labels.value
            if seismic is None or labels is None:
                raise ValueError("pick a seismic (Image) and a labels (Labels) layer first")
            volume = LayerVolume.from_layers(seismic, labels)
            self.bound_volume = volume
            config = self._config()
            tracked = self._tracked_sections(volume)
            folder = str(self.run_folder.value or "").strip()
            run_dir = Path(folder) if folder not in ("", ".") else _default_run_dir(volume.name)
        except Exception as exc:  # noqa: BLE001 - a bad form entry is a message, not a crash
            self._tell(f"cannot start training: {exc}", error=True)
            return
        job = TrainingJob(
            volume,
            config,
            run_dir,
            resume=False,
            tracked_sections=tracked,
            class_names=volume.class_names,
            source={"kind": "napari", "layer": volume.name},
            callbacks=list(self.extra_callbacks),
        )
        self._launch(job)

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
                seismic, labels = self.seismic.value, self.labels.value
                if seismic is None or labels is None:
                    raise ValueError("pick the seismic and labels layers the run was trained on")
                volume = LayerVolume.from_layers(seismic, labels)
            if volume.shape != store.volume_shape:
                raise ValueError(
                    f"the run was trained on a {store.volume_shape} volume, the layers are "
                    f"{volume.shape}"
                )
            self.bound_volume = volume
            device = None if self.device.value == "auto" else self.device.value
            if device is None:
                from napari_forgetting.model.device import select_device

                device = str(select_device(None))
            config = config_for_resume(store.train_config, int(self.epochs.value), device)
        except Exception as exc:  # noqa: BLE001
            self._tell(f"cannot resume: {exc}", error=True)
            return
        job = TrainingJob(
            volume,
            config,
            run_dir,
            resume=True,
            tracked_sections=store.eval_sections,
            class_names=store.class_names,
            source=dict(store.info.get("source") or {}),
            callbacks=list(self.extra_callbacks),
        )
        self._launch(job)

    def _launch(self, job: TrainingJob) -> None:
        from napari.qt.threading import create_worker

        self.poll_timer.stop()
        self.job = job
        self.run_dir = Path(job.run_dir)
        self.events_seen = []
        self._set_running(True)
        self.status.value = f"building the model (run folder {job.run_dir}) ..."
        worker = create_worker(job.events, _start_thread=False)
        worker.yielded.connect(self._on_event)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        worker.start()

    def stop(self) -> None:
        """Stop after the current batch; the run keeps its last complete epoch."""
        if self.job is not None:
            self.job.stop()
            self.status.value = "stopping after the current batch ..."

    # -------------------------------------------------------------- events (GUI thread)

    def _on_event(self, event: Any) -> None:
        self.events_seen.append(type(event).__name__)
        try:
            if isinstance(event, BatchDone):
                self._on_batch(event)
            elif isinstance(event, EpochDone):
                self._on_epoch(event)
            elif isinstance(event, TrainingStarted):
                self._on_started(event)
            elif isinstance(event, TrainingFinished):
                self._on_finished(event)
            elif isinstance(event, TrainingFailed):
                self._on_failed(event)
        except Exception as exc:  # noqa: BLE001 - a display bug must not kill the run
            self._tell(f"could not show training progress: {type(exc).__name__}: {exc}", True)

    def _on_started(self, ev: TrainingStarted) -> None:
        from napari_forgetting.runs.store import RunStore

        vol = self.bound_volume
        geometry = RunGeometry(ev.volume_shape, ev.eval_sections, ev.map_sections)
        world = (
            vol.geometry
            if vol is not None
            else geometry_from_sections(ev.volume_shape, ev.eval_sections)
        )
        self._bind_layers(geometry, world, list(ev.class_names), ev.epochs)
        self.store = RunStore.open(ev.run_dir)
        self._close_pbar()
        total = max(1, (ev.epochs - ev.start_epoch) * ev.n_batches)
        self.pbar = progress(total=total, desc=f"training epoch {ev.start_epoch + 1}/{ev.epochs}")
        self._progress_origin = ev.start_epoch
        self._n_batches = ev.n_batches
        self._epochs = ev.epochs
        self.status.value = (
            f"training on {ev.device} ({ev.threads} CPU thread(s)), epoch "
            f"{ev.start_epoch + 1}/{ev.epochs}"
        )
        self._ensure_metrics_plot(list(ev.class_names))
        self.metrics_plot.set_history(self.store.history, ev.class_names)

    def _on_batch(self, ev: BatchDone) -> None:
        bar = self.pbar  # local: a progress event may let Qt deliver the end of the run
        if bar is None:
            return
        done = (ev.epoch - self._progress_origin) * ev.n_batches + ev.batch + 1
        delta = done - bar.n
        if delta > 0:
            bar.update(delta)
        bar.set_description(f"training epoch {ev.epoch + 1}/{self._epochs} loss {ev.loss:.3f}")

    def _on_epoch(self, ev: EpochDone) -> None:
        live = self.live
        if self.store is not None:
            self.store.refresh()
        follow = self.follow.value or self.epoch_slider.value >= self.epoch_slider.max
        self._set_slider_range(ev.epoch + 1, follow)
        if follow:
            recreated = live.show(ev.epoch, ev.maps, ev.predictions, ev.heat_upper)
            if recreated:
                self._tell(f"re-created the closed layer(s) {', '.join(recreated)}")
        if self.metrics_plot is not None:
            self.metrics_plot.set_history(ev.history)
        acc = ev.logs.get("pixel_accuracy", float("nan"))
        self.status.value = (
            f"epoch {ev.epoch + 1}/{self._epochs}: loss {ev.logs['loss']:.4f}, pixel accuracy "
            f"{acc:.3f} (layers updated in {live.last_update_ms:.1f} ms)"
        )

    def _on_finished(self, ev: TrainingFinished) -> None:
        self._close_pbar()
        if ev.stopped:
            self._tell(
                f"training stopped after {ev.epochs_complete} of {ev.epochs} epochs; Resume "
                f"continues from the checkpoint in {ev.run_dir}"
            )
        else:
            self._tell(
                f"training finished: {ev.epochs_complete} epochs in {ev.seconds:.0f} s; run "
                f"saved in {ev.run_dir}"
            )

    def _on_failed(self, ev: TrainingFailed) -> None:
        self._close_pbar()
        self._tell(f"training failed: {ev.message}", error=True)

    def _on_worker_finished(self) -> None:
        self._close_pbar()
        job, self.job, self.worker = self.job, None, None
        if job is not None:
            job.trainer = None  # the trainer released its model; drop the tracker too
        self._set_running(False)

    def _close_pbar(self) -> None:
        if self.pbar is not None:
            self.pbar.close()
            self.pbar = None

    # -------------------------------------------------------------- layers and plots

    def _bind_layers(self, geometry: RunGeometry, world: dict, names: list, epochs: int) -> None:
        extras = self._extras()
        live = self.live
        if live is not None and live.compatible(geometry, world, extras):
            live.rebind(geometry)
            live.total_epochs = epochs
            live.class_names = names
        else:
            self.live = LiveLayers(self.viewer, geometry, world, names, extras, epochs)
        self.live.ensure()

    def _ensure_metrics_plot(self, class_names: list[str]) -> None:
        if self.metrics_plot is None or not _alive(self.metrics_plot):
            self.metrics_plot = MetricsPlot(self.viewer, class_names)
            self.viewer.window.add_dock_widget(
                self.metrics_plot, name="forgetting: metrics", area="right"
            )

    def _ensure_pixel_plot(self) -> PixelHistoryPlot:
        if self.pixel_plot is None or not _alive(self.pixel_plot):
            self.pixel_plot = PixelHistoryPlot(self.viewer)
            self.viewer.window.add_dock_widget(
                self.pixel_plot, name="forgetting: pixel history", area="right"
            )
        return self.pixel_plot

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

    def _slider_moved(self, value: int) -> None:
        if self._setting_slider or self.store is None or self.live is None:
            return
        self.show_epoch(int(value) - 1)

    def show_epoch(self, epoch: int) -> None:
        """Show a past epoch (0-based) of the current run's store in the live layers."""
        store = self.store.refresh()
        if not 0 <= epoch < store.n_epochs:
            return
        recreated = self.live.show_store_epoch(store, epoch)
        if recreated:
            self._tell(f"re-created the closed layer(s) {', '.join(recreated)}")
        self.status.value = f"showing epoch {epoch + 1} of {store.n_epochs} ({store.status})"

    def open_run(self, path: Any) -> None:
        """Open a run store (e.g. from ``napari-forgetting train``) for replay; a run still
        being written is followed by polling its ``state.json``."""
        from napari_forgetting.runs.store import RunStore

        if self.running:
            self._tell("stop the training run before opening another run", error=True)
            return
        try:
            store = RunStore.open(Path(str(path)))
        except Exception as exc:  # noqa: BLE001
            self._tell(f"cannot open run: {exc}", error=True)
            return
        geometry = RunGeometry.of_store(store)
        world = self._world_for(store)
        self.store = store
        self.run_dir = store.path
        self._epochs = int(store.info.get("epochs", 1))
        self._bind_layers(geometry, world, store.class_names, self._epochs)
        self._ensure_metrics_plot(store.class_names)
        self.metrics_plot.set_history(store.history, store.class_names)
        self._shown_epochs = 0
        self._set_running(False)
        self.poll()
        if store.status in ("running", "created"):
            self.poll_timer.start()
        self._tell(
            f"opened run {store.path.name}: {store.n_epochs} epoch(s), {store.status}"
            + (" - following it" if self.poll_timer.isActive() else "")
        )

    def _world_for(self, store: Any) -> dict:
        layer = self.seismic.value
        if layer is not None and tuple(layer.data.shape) == store.volume_shape:
            return {"scale": tuple(layer.scale), "translate": tuple(layer.translate)}
        return geometry_from_sections(store.volume_shape, store.eval_sections + store.map_sections)

    def poll(self) -> None:
        """Follow the opened run: show epochs committed since the last look."""
        store = self.store
        if store is None:
            self.poll_timer.stop()
            return
        try:
            store.refresh()
        except Exception:  # noqa: BLE001 - state.json is replaced atomically; retry later
            return
        n = store.n_epochs
        if n > getattr(self, "_shown_epochs", 0):
            follow = self.follow.value
            self._set_slider_range(n, follow)
            if follow:
                self.show_epoch(n - 1)
            self.metrics_plot.set_history(store.history)
            self._shown_epochs = n
        if store.status not in ("running", "created"):
            self.poll_timer.stop()

    # -------------------------------------------------------------- inspection

    def _on_mouse(self, viewer: Any, event: Any):
        if event.type != "mouse_press" or self.store is None:
            return
        position = tuple(event.position)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = True
            yield
        if not moved:
            self.inspect(position)

    def inspect(self, world_position: Any) -> str:
        """Show the learning history of the voxel at ``world_position`` (world coordinates:
        inline, crossline, sample) in the pixel-history dock; returns the message shown."""
        live, store = self.live, self.store
        if live is None or store is None:
            return "no run to inspect"
        pos = np.asarray(world_position, float)[-3:]
        scale = np.asarray(live.world["scale"], float)
        translate = np.asarray(live.world["translate"], float)
        idx = np.round((pos - translate) / scale).astype(int)
        plot = self._ensure_pixel_plot()
        store.refresh()
        found = live.geometry.locate(*idx, which="eval")
        where = f"inline {pos[0]:g}, crossline {pos[1]:g}, sample {pos[2]:g}"
        if found is None:
            message = (
                f"{where} is not tracked; tracked sections: "
                f"{live.geometry.describe_sections('eval')}"
            )
            plot.show_message(message)
            return message
        if store.n_epochs == 0:
            message = f"{where} is tracked; no epoch is complete yet"
            plot.show_message(message)
            return message
        section, row, col = found
        epoch = live.epoch if live.epoch is not None else store.n_epochs - 1
        history = pixel_history(store, section, row, col, epoch)
        plot.show_history(history)
        return history.summary()

    # -------------------------------------------------------------- teardown

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop a running job and wait for its worker (used on close and in tests)."""
        if self.job is not None:
            self.job.stop()
        with contextlib.suppress(RuntimeError):  # the Qt side may be gone already
            self.poll_timer.stop()
        if self.worker is not None:
            self.worker.await_workers(msecs=int(timeout_s * 1000))
        self._close_pbar()
