"""The "Transfer" dock widget: class-specific style transfer, previewed as in the paper's Fig. 3.

Thin over :mod:`napari_forgetting.transfer`: pick a seismic + labels layer pair (any opened
volume), the class (scruff by default), the method (a learned model, or the training-free
``stratal`` transfer), a style source A (from a run's Hotspots ranking, sections with at least
:data:`~napari_forgetting.dynamics.ranking.DEFAULT_MIN_PIXELS` class pixels, or any section
typed as ``inline:N`` / ``crossline:N``), a second source B and a target section (random among
the sections holding the class, or chosen). *Preview* shows, side by side as 2-D layers
(translated next to each other; the widget's own layers, bound by object) in a view of their
own (:class:`~napari_forgetting._napari.side_view.SideView`: a second viewer once the dock's
viewer holds the volume, so they never land in the volume's world):

* ``transfer: target`` -- the target section,
* ``transfer: result`` -- the target with the class's style taken from source A,
* ``transfer: labels`` -- the target's labels (the result's labels, by construction),
* ``transfer: source A`` -- the style source, its class region outlined
  (``transfer: source A labels``, a contour),
* ``transfer: A - B`` -- result(A) minus result(B): where the two sources differ;

and, under the form, the figures of ``napari-forgetting transfer-figure``
(:func:`~napari_forgetting.transfer.triple_panels`): the class region's RMS, vertical
frequency and continuity in the target, the result and both sources, and the mean
``|A - B|`` inside and outside the region. *Measure quality* runs
:func:`~napari_forgetting.transfer.transfer_quality` on the layers' held-out sections in a
worker and shows its figures against the bar (as ``transfer-quality`` prints them).

Sections are read from the layer data depth-down (inline ``i`` = ``data[i].T``, crossline
``j`` = ``data[:, j].T``); section keys use the layers' header numbers (metadata
``inlines`` / ``crosslines``, else ``translate + scale * index``), as the run stores do.

*Load checkpoint* is one click (a file dialog, then
:func:`~napari_forgetting.transfer.load_transfer_model`, which loads tensors only: a file
carrying anything else is refused and none of its code runs).
*Train transfer model* runs :class:`~napari_forgetting.transfer.TransferTrainer` (a tiny CPU
configuration by default) in the one background worker
(:func:`~napari_forgetting._napari.worker.start_worker` over
:func:`~napari_forgetting.training.live.live_events`) with a progress bar and Stop (the
worker's quit); it writes ``checkpoint.pt`` to the chosen folder and loads the model when
done. *Preview* runs the two transfers in the same kind of worker.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    Label,
    LineEdit,
    PushButton,
    SpinBox,
)
from napari.layers import Image, Labels
from napari.utils import progress
from napari.utils.colormaps import DirectLabelColormap
from qtpy.QtWidgets import QFileDialog

from napari_forgetting._napari.layers import LayerVolume, labels_colormap
from napari_forgetting._napari.side_view import SideView
from napari_forgetting._napari.widgets.dock import ForgettingDock, compact_file_edits
from napari_forgetting._napari.widgets.hotspots import _color_icon
from napari_forgetting._napari.widgets.lifetime import alive as _alive
from napari_forgetting._napari.widgets.options import dock_values, field_values, field_widgets
from napari_forgetting._napari.worker import gui_friendly_threads, start_worker
from napari_forgetting.data.classes import class_colors, default_class_names
from napari_forgetting.data.sections import Section, all_sections, section_image, section_labels
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.transfer.config import TransferConfig

__all__ = ["LAYER_NAMES", "TransferWidget"]

#: The TransferConfig fields the dock's training settings set (:mod:`.options` derives them).
TRANSFER_FIELDS = ("epochs", "patch_size", "patches_per_epoch", "ngf", "device")

_DEFAULT_CLASS = "scruff"  # the paper's target class
#: role -> layer name of the preview layers, left to right.
LAYER_NAMES = {
    "target": "transfer: target",
    "result": "transfer: result",
    "labels": "transfer: labels",
    "source": "transfer: source A",
    "difference": "transfer: A - B",
}
#: The outline of the source's labels, drawn over ``transfer: source A``.
SOURCE_LABELS = "transfer: source A labels"
_GAP = 0.1  # gap between the side-by-side panels, as a fraction of the section width


# ---------------------------------------------------------------------------------- jobs


def _compute_preview(
    model: Any,
    target: tuple[np.ndarray, np.ndarray],
    source_a: tuple[np.ndarray, np.ndarray],
    source_b: tuple[np.ndarray, np.ndarray],
    class_id: int,
    n_classes: int,
    std: float = 1.0,
) -> dict[str, Any]:
    """Fig. 3's panels (no Qt; runs in a worker): the target, the target with the class's
    style of source A, its labels, source A with its labels, the difference to the result
    with source B; and their figures (``figures``: :func:`~napari_forgetting.transfer.
    triple_panels` without its arrays)."""
    from napari_forgetting.transfer import triple_panels

    t_img, t_lab = target
    p = triple_panels(model, target, source_a, source_b, class_id, std, n_classes)
    return {
        "target": t_img,
        "result": p["result_a"],
        "labels": t_lab,
        "source": source_a[0],
        "source_labels": source_a[1],
        "difference": p["difference"],
        "figures": {k: p[k] for k in ("inside", "outside", "character")},
    }


def describe_figures(figures: dict[str, Any], class_name: str) -> str:
    """The preview's figures as a few lines (amplitudes in stds of the layers' volume)."""
    rows = []
    for role, label in (("target", "target"), ("result_a", "result"), ("source_a", "source A"),
                        ("source_b", "source B")):  # fmt: skip
        c = figures["character"][role]
        rows.append(
            f"{label}: RMS {c['rms']:.2f}, frequency {c['frequency']:.3f} cycles/sample, "
            f"continuity {c['continuity']:.2f}"
        )
    return (
        f"{class_name} region\n"
        + "\n".join(rows)
        + f"\n|A - B| {figures['inside']:.3f} std inside, {figures['outside']:.4f} outside"
    )


def _measure_quality(method: Any, seismic: Any, labels: Any, class_id: int,
                     min_pixels: int) -> Any:  # fmt: skip
    """:func:`~napari_forgetting.transfer.transfer_quality` for a worker: an error comes back
    as a :class:`_PreviewFailed`."""
    from napari_forgetting.transfer import transfer_quality

    try:
        return transfer_quality(
            method, (np.asarray(seismic), np.asarray(labels)), class_id, min_pixels=min_pixels
        )
    except Exception as exc:  # noqa: BLE001 - reported to the user
        return _PreviewFailed(str(exc))


@dataclass(frozen=True)
class _PreviewFailed:
    message: str


def _compute_preview_or_error(**inputs: Any) -> dict[str, np.ndarray] | _PreviewFailed:
    """:func:`_compute_preview` for a worker: an error comes back as a value, to become one
    clear message (raised, or returned as an exception, napari's worker would add a raw
    traceback notification)."""
    try:
        return _compute_preview(**inputs)
    except Exception as exc:  # noqa: BLE001 - reported to the user
        return _PreviewFailed(str(exc))


def _default_out_dir() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / "napari-forgetting-transfer" / stamp


# ---------------------------------------------------------------------------------- widget


class TransferWidget(ForgettingDock):
    """Dock widget: class-specific style transfer between sections (see the module docstring)."""

    PRIMARY = ("preview_button",)

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.model: Any = None  # RegionStyleTransfer
        self.checkpoint: Path | None = None
        self.store: Any = None  # RunStore of the hotspot ranking
        self.layers: dict[str, Any] = {}  # role -> own preview layer
        #: the preview's 2-D view: a viewer of its own once the dock's holds a volume
        self.side = SideView(napari_viewer, "napari-forgetting: transfer preview")
        self.preview_worker: Any = None
        self.last_result: dict[str, np.ndarray] = {}
        self.extra_callbacks: list = []  # injected into the trainer (tests)
        self._ended: Any = None  # the training's TrainingFinished / TrainingFailed
        self._rng = np.random.default_rng()

        self.layer_pickers(napari_viewer)
        self.class_combo = ComboBox(label="class", choices=[])
        self.method = ComboBox(label="method", choices=["stratal", "learned"], value="stratal")
        self.method.tooltip = (
            "stratal: the training-free transfer (works at once); learned: the loaded or "
            "trained model (chosen once there is one)"
        )
        self.min_pixels = SpinBox(
            label="min class pixels", value=DEFAULT_MIN_PIXELS, min=0, max=10_000_000
        )
        self.min_pixels.tooltip = (
            "ranked style sources and measured sections hold at least this many pixels of "
            f"the class (a style pooled from fewer is mostly noise; default {DEFAULT_MIN_PIXELS})"
        )
        self.run_path = LineEdit(label="hotspots run", value="")
        self.run_path.tooltip = (
            "a run folder: its style sources (or Hotspots ranking) for the class"
        )
        self.run_button = PushButton(text="Use run's hotspots")
        self.ranked = ComboBox(label="ranked sources", choices=[], nullable=True)
        self.source_a = LineEdit(label="style source A", value="")
        self.source_a.tooltip = (
            "a section key: inline:N or crossline:N; empty: the section richest in the class"
        )
        self.source_b = LineEdit(label="style source B", value="")
        self.source_b.tooltip = "second source for the difference image (inline:N / crossline:N)"
        self.target = LineEdit(label="target", value="")
        self.target.tooltip = "empty: a random section holding the class; or inline:N / crossline:N"
        self.random_button = PushButton(text="Random target")
        self.load_button = PushButton(text="Load checkpoint")
        fields = self.config_fields = field_widgets(TransferConfig, TRANSFER_FIELDS)
        self.epochs, self.patch = fields["epochs"], fields["patch_size"]
        self.patches, self.ngf = fields["patches_per_epoch"], fields["ngf"]
        self.device = fields["device"]
        self.out_folder = FileEdit(label="checkpoint folder", mode="d", value="")
        self.train_button = PushButton(text="Train transfer model")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.preview_button = PushButton(text="Preview")
        self.status.setText("choose a class and a target, then Preview")
        self.figures = Label(value="")
        self.quality_button = PushButton(text="Measure quality")
        self.quality_button.tooltip = (
            "the method on held-out triples of the layers' sections, against the quality bar"
        )
        self.quality = Label(value="")

        self.form = Container(
            widgets=[
                self.seismic,
                self.labels,
                self.class_combo,
                self.method,
                self.min_pixels,
                Container(widgets=[self.run_path, self.run_button], layout="horizontal"),
                self.ranked,
                self.source_a,
                self.source_b,
                Container(widgets=[self.target, self.random_button], layout="horizontal"),
                self.load_button,
                *fields.values(),
                self.out_folder,
                Container(
                    widgets=[self.train_button, self.stop_button], layout="horizontal", labels=False
                ),
                self.preview_button,
                self.figures,
                self.quality_button,
                self.quality,
            ]
        )
        compact_file_edits(self.out_folder)
        self.place(self.form.native)

        self.explain(
            {
                "seismic": "the seismic Image layer whose sections are transferred",
                "labels": "the facies Labels layer of the same shape",
                "class_combo": ("the class whose character is transferred (scruff: the paper's)"),
                "run_path": ("a run folder: its style sources (or Hotspots ranking) for the class"),
                "ranked": ("the run's ranked style sources; choosing one makes it source A"),
                "out_folder": "where the transfer model's checkpoints are written",
            }
        )
        self.run_button.changed.connect(lambda: self.set_run(self.run_path.value))
        self.ranked.changed.connect(self._on_ranked)
        self.random_button.changed.connect(self.random_target)
        self.load_button.changed.connect(self._load_dialog)
        self.train_button.changed.connect(self.train)
        self.stop_button.changed.connect(self.stop)
        self.preview_button.changed.connect(self.preview_in_background)
        self.quality_button.changed.connect(self.measure_quality_in_background)
        self.quality_worker: Any = None
        self.labels.changed.connect(lambda _v: self._fill_classes())
        self.reset_choices()

    # -------------------------------------------------------------- choices

    def own_layers(self) -> tuple:
        return tuple(self.layers.values())

    def reset_choices(self, event: Any = None) -> None:
        super().reset_choices(event)
        self._fill_classes()

    def class_names(self) -> list[str]:
        for layer in (self.labels.value, self.seismic.value):
            names = (layer.metadata or {}).get("class_names") if layer is not None else None
            if names:
                return [str(n) for n in names]
        if self.model is not None:
            return list(default_class_names(self.model.n_classes))
        if self.store is not None:
            return list(self.store.class_names)
        return list(default_class_names(6))

    def _fill_classes(self) -> None:
        names = self.class_names()
        current = self.class_combo.value
        if list(self.class_combo.choices) != names:
            self.class_combo.choices = names
            wanted = current if current in names else _DEFAULT_CLASS
            if wanted in names:
                self.class_combo.value = wanted
            native = self.class_combo.native
            for k, rgba in enumerate(class_colors(len(names))):
                native.setItemIcon(k, _color_icon(rgba))

    @property
    def class_id(self) -> int:
        return self.class_names().index(self.class_combo.value)

    def set_class(self, name: str) -> None:
        self.class_combo.value = name

    # -------------------------------------------------------------- helpers

    def _volume(self) -> LayerVolume:
        seismic, labels = self.seismic.value, self.labels.value
        if seismic is None or labels is None:
            raise ValueError("pick a seismic (Image) and a labels (Labels) layer first")
        return LayerVolume.from_layers(seismic, labels)

    @staticmethod
    def _section(volume: LayerVolume, key: str, role: str) -> Section:
        key = str(key).strip()
        if not key:
            raise ValueError(f"no {role}: type a section as inline:N or crossline:N")
        try:
            return Section.from_key(key, volume)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None

    @staticmethod
    def _read(volume: LayerVolume, section: Section) -> tuple[np.ndarray, np.ndarray]:
        return section_image(volume.seismic, section), section_labels(volume.labels, section)

    # -------------------------------------------------------------- sources and target

    def set_run(self, run: Any) -> list[str]:
        """Style sources from a run (a RunStore or its folder): the ones kept with the run for
        the class (Hotspots' "Use as style sources"), else the Hotspots ranking's order."""
        from napari_forgetting.runs.hotspots import load_style_sources, rank_run
        from napari_forgetting.runs.store import RunStore

        try:
            store = run if isinstance(run, RunStore) else RunStore.open(str(run).strip())
            self.store = store
            self.run_path.value = str(store.path)
            self._fill_classes()
            cls = self.class_combo.value
            kept = load_style_sources(store)
            if kept is not None and kept.class_name == cls:
                keys, how = list(kept.sections), "style sources kept with the run"
            else:
                store.refresh()
                if store.n_epochs == 0:
                    raise ValueError(f"{store.path.name}: no epoch yet to rank")
                ranking = rank_run(store, cls, min_pixels=int(self.min_pixels.value))
                keys, how = ranking.keys(), "Hotspots ranking"
        except Exception as exc:  # noqa: BLE001 - a bad run is a message
            self.tell(f"cannot use the run's hotspots: {exc}", "error")
            return []
        self.ranked.choices = keys
        if keys:
            self.ranked.value = keys[0]
            self.source_a.value = keys[0]
            self.source_b.value = keys[1] if len(keys) > 1 else keys[0]
        self.tell(f"{len(keys)} style source(s) for {cls} from the {how}")
        return keys

    def _on_ranked(self, key: Any) -> None:
        if key:
            self.source_a.value = str(key)

    def richest_sources(self, volume: LayerVolume | None = None) -> list[str]:
        """Style sources A and B when none is given: the two sections holding the most pixels
        of the class (a run's Hotspots ranking picks better ones: *Use run's hotspots*)."""
        volume = self._volume() if volume is None else volume
        k = self.class_id
        counts = [(int(np.sum(section_labels(volume.labels, s) == k)), s.key)
                  for s in all_sections(volume)]  # fmt: skip
        keys = [key for n, key in sorted(counts, key=lambda c: -c[0]) if n > 0][:2]
        if not keys:
            raise ValueError(f"class {self.class_combo.value!r} is on no section of the labels")
        self.source_a.value, self.source_b.value = keys[0], keys[-1]
        self.tell(f"style sources: the sections richest in {self.class_combo.value}: "
                  f"{', '.join(keys)}", None)  # fmt: skip
        return keys

    def random_target(self) -> str | None:
        """Pick a random section of the layers that holds the class; returns its key."""
        try:
            volume = self._volume()
            k = self.class_id
            lab = volume.labels
            holding = [s for s in all_sections(volume) if np.any(section_labels(lab, s) == k)]
            if not holding:
                raise ValueError(f"class {self.class_combo.value!r} is on no section of the labels")
            section = holding[int(self._rng.integers(len(holding)))]
        except Exception as exc:  # noqa: BLE001
            self.tell(f"cannot pick a target: {exc}", "error")
            return None
        self.target.value = section.key
        return section.key

    # -------------------------------------------------------------- model

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a transfer checkpoint", "", "Checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path: Any) -> bool:
        """Load a transfer checkpoint (``checkpoint.pt`` or its folder)."""
        from napari_forgetting.transfer import load_transfer_model

        try:
            self.model = load_transfer_model(path)
        except Exception as exc:  # noqa: BLE001
            self.tell(f"cannot load the transfer checkpoint: {exc}", "error")
            return False
        self.checkpoint = Path(path)
        self.method.value = "learned"
        self.tell(f"transfer model loaded from {path} ({self.model.n_classes} classes)")
        return True

    def set_model(self, model: Any) -> None:
        """Use an in-memory :class:`~napari_forgetting.transfer.RegionStyleTransfer`."""
        self.model = model.eval()
        self.method.value = "learned"

    # -------------------------------------------------------------- training

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _config(self, n_classes: int) -> Any:
        from napari_forgetting.model.device import select_device

        values = {**dock_values(TransferConfig), **field_values(TransferConfig, self.config_fields)}
        device = str(select_device(values["device"]))
        return TransferConfig(
            **{**values, "device": device},
            n_classes=n_classes,
            num_threads=gui_friendly_threads(device),
        )

    def train(self) -> None:
        """Train a transfer model on the selected layers in a worker; loads it when done."""
        if self.running:
            return
        try:
            volume = self._volume()
            n_classes = len(self.class_names())
            config = self._config(n_classes)
            folder = str(self.out_folder.value or "").strip()
            out_dir = Path(folder) if folder not in ("", ".") else _default_out_dir()
            data = (np.asarray(volume.seismic), np.asarray(volume.labels))
        except Exception as exc:  # noqa: BLE001
            self.tell(f"cannot start transfer training: {exc}", "error")
            return
        from napari_forgetting.training.live import live_events
        from napari_forgetting.transfer import TransferTrainer

        callbacks = list(self.extra_callbacks)

        def build() -> TransferTrainer:
            return TransferTrainer(data, config, callbacks=callbacks, out_dir=out_dir)

        self._out_dir = out_dir
        self._ended = None
        self._epochs = config.epochs
        self._done_epochs = 0
        n_batches = -(-config.patches_per_epoch // config.batch_size)
        self.pbar = progress(total=max(1, config.epochs * n_batches), desc="transfer training")
        self.train_button.enabled = False
        self.stop_button.enabled = True
        self.status.setText(f"training the transfer model (checkpoints in {out_dir}) ...")
        self.worker = start_worker(
            live_events, build, on_event=self._on_event, on_finished=self._on_worker_finished
        )

    def _on_event(self, ev: Any) -> None:
        from napari_forgetting.training.live import (
            BatchEnd,
            EpochDone,
            TrainingFailed,
            TrainingFinished,
        )

        try:
            bar = self.pbar
            if isinstance(ev, EpochDone):
                self._done_epochs = ev.epoch + 1
            elif isinstance(ev, BatchEnd) and bar is not None:
                done = ev.epoch * ev.n_batches + ev.batch + 1
                if done > bar.n:
                    bar.update(done - bar.n)
                bar.set_description(
                    f"transfer epoch {ev.epoch + 1}/{self._epochs} loss {ev.loss:.3f}"
                )
            elif isinstance(ev, TrainingFinished):
                self._ended = ev
                word = "stopped" if ev.stopped else "finished"
                self.tell(f"transfer training {word} after {ev.epochs_complete} of "
                           f"{ev.epochs} epochs")  # fmt: skip
            elif isinstance(ev, TrainingFailed):
                self._ended = ev
                self.tell(f"transfer training failed: {ev.message}", "error")
        except Exception as exc:  # noqa: BLE001 - a display bug must not kill the viewer
            self.tell(f"could not show training progress: {type(exc).__name__}: {exc}", "error")

    def _on_worker_finished(self) -> None:
        self.close_progress()
        self.worker = None
        if _alive(self):
            self.train_button.enabled = True
            self.stop_button.enabled = False
        if self._ended is None:  # stopped with the worker's quit
            self.tell(
                f"transfer training stopped after {self._done_epochs} of {self._epochs} epochs"
            )
        ckpt = self._out_dir / "checkpoint.pt"
        if ckpt.is_file():
            self.load_checkpoint(ckpt)

    # -------------------------------------------------------------- preview

    def preview(self) -> dict[str, np.ndarray] | None:
        """Transfer the class from source A (and B) onto the target and show Fig. 3's panels,
        here and now (scripts, tests; the Preview button runs :meth:`preview_in_background`).

        Returns the arrays shown (``target``, ``result``, ``labels``, ``difference``), or
        ``None`` after telling the user what is wrong.
        """
        job = self._preview_job()
        if job is None:
            return None
        try:
            arrays = _compute_preview(**job["inputs"])
        except Exception as exc:  # noqa: BLE001 - bad input is a message, never a crash
            self.tell(f"cannot preview the transfer: {exc}", "error")
            return None
        return self._finish_preview(arrays, job)

    def preview_in_background(self) -> Any:
        """The Preview button: check the inputs and read the sections here, run the two
        transfers in a worker thread (a full F3 section takes ~16 s each on two CPU cores),
        then show the panels. Returns the worker, or ``None`` when nothing was started."""
        if self.preview_worker is not None:
            return None
        job = self._preview_job()
        if job is None:
            return None
        bar = progress(total=0, desc="style transfer preview")

        def returned(result: Any) -> None:
            if isinstance(result, _PreviewFailed):
                self.tell(f"cannot preview the transfer: {result.message}", "error")
            else:
                self._finish_preview(result, job)

        def done() -> None:
            bar.close()
            self.preview_worker = None
            if _alive(self):
                self.preview_button.enabled = True

        self.preview_button.enabled = False
        self.status.setText(
            f"transferring the style of {job['a'].key} onto {job['t'].key} in the background ..."
        )
        self.preview_worker = start_worker(
            _compute_preview_or_error, **job["inputs"], on_event=returned, on_finished=done
        )
        return self.preview_worker

    def _method(self) -> Any:
        """What :func:`~napari_forgetting.transfer.transfer` takes for the chosen method."""
        from napari_forgetting.transfer import StratalTransfer

        if self.method.value == "stratal":
            return StratalTransfer()
        if self.model is None:
            raise ValueError("no transfer model: load a checkpoint or train one first")
        return self.model

    def _preview_job(self) -> dict[str, Any] | None:
        """The checked inputs of a preview (sections read), or ``None`` after a message."""
        from napari_forgetting.data.sections import amplitude_stats

        try:
            method = self._method()
            volume = self._volume()
            if not self.source_a.value.strip():
                self.richest_sources(volume)
            if not self.target.value.strip():
                self.random_target()
            t_sec = self._section(volume, self.target.value, "target")
            a_sec = self._section(volume, self.source_a.value, "style source A")
            b_key = self.source_b.value.strip() or self.source_a.value
            b_sec = self._section(volume, b_key, "style source B")
            t_img, t_lab = self._read(volume, t_sec)
            a_img, a_lab = self._read(volume, a_sec)
            b_img, b_lab = self._read(volume, b_sec)
            n = len(self.class_names())
            inputs = {
                "model": method,
                "target": (t_img, t_lab),
                "source_a": (a_img, a_lab),
                "source_b": (b_img, b_lab),
                "class_id": self.class_id,
                "n_classes": n,
                "std": float(amplitude_stats(np.asarray(volume.seismic))[1]) or 1.0,
            }
        except Exception as exc:  # noqa: BLE001 - bad input is a message, never a crash
            self.tell(f"cannot preview the transfer: {exc}", "error")
            return None
        return {"inputs": inputs, "t": t_sec, "a": a_sec, "b": b_sec, "n_classes": n}

    def _finish_preview(
        self, arrays: dict[str, np.ndarray], job: dict[str, Any]
    ) -> dict[str, np.ndarray] | None:
        try:
            self._show(arrays, job["n_classes"])
        except Exception as exc:  # noqa: BLE001
            self.tell(f"could not show the transfer: {type(exc).__name__}: {exc}", "error")
            return None
        self.last_result = arrays
        self.figures.value = describe_figures(arrays["figures"], str(self.class_combo.value))
        self.tell(
            f"{self.class_combo.value}: style of {job['a'].key} on {job['t'].key} "
            f"({self.method.value}); |A - B| with {job['b'].key}: "
            f"{arrays['figures']['inside']:.3f} std inside the class"
        )
        return arrays

    # -------------------------------------------------------------- quality

    def measure_quality(self) -> dict[str, Any] | None:
        """:func:`~napari_forgetting.transfer.transfer_quality` of the chosen method on the
        layers, here and now (scripts, tests); the button runs
        :meth:`measure_quality_in_background`. Returns the figures, or ``None`` after a
        message."""
        job = self._quality_job()
        if job is None:
            return None
        return self._finish_quality(_measure_quality(**job))

    def measure_quality_in_background(self) -> Any:
        """The Measure quality button: the measurement in a worker thread."""
        if self.quality_worker is not None:
            return None
        job = self._quality_job()
        if job is None:
            return None
        bar = progress(total=0, desc="transfer quality")

        def done() -> None:
            bar.close()
            self.quality_worker = None
            if _alive(self):
                self.quality_button.enabled = True

        self.quality_button.enabled = False
        self.quality.value = "measuring on held-out triples ..."
        self.quality_worker = start_worker(
            _measure_quality, **job, on_event=self._finish_quality, on_finished=done
        )
        return self.quality_worker

    def _quality_job(self) -> dict[str, Any] | None:
        try:
            volume = self._volume()
            return {
                "method": self._method(),
                "seismic": volume.seismic,
                "labels": volume.labels,
                "class_id": self.class_id,
                "min_pixels": int(self.min_pixels.value),
            }
        except Exception as exc:  # noqa: BLE001 - bad input is a message, never a crash
            self.tell(f"cannot measure the transfer: {exc}", "error")
            return None

    def _finish_quality(self, result: Any) -> dict[str, Any] | None:
        from napari_forgetting.transfer import describe_quality

        if isinstance(result, _PreviewFailed):
            self.quality.value = ""
            self.tell(f"cannot measure the transfer: {result.message}", "error")
            return None
        self.last_quality = result
        self.quality.value = describe_quality(result)
        verdict = "meets the bar" if result["passes"] else "is below the bar"
        self.tell(f"the {result['method']} transfer {verdict} ({result['n_triples']} triples)")
        return result

    def _show(self, arrays: dict[str, Any], n_classes: int) -> None:
        lo, hi = np.percentile(
            np.concatenate([arrays[r].ravel() for r in ("target", "result", "source")]), [1, 99]
        )
        if not hi > lo:
            hi = lo + 1.0
        d = float(np.abs(arrays["difference"]).max()) or 1.0
        viewer, fresh = self.side.target(self.own_layers())
        if fresh:
            self.layers = {}
        x = 0.0
        for role, name in LAYER_NAMES.items():
            data = arrays[role]
            translate = (0.0, x)
            x += data.shape[1] * (1 + _GAP)
            if role == "labels":
                self._put_labels(viewer, role, name, data, translate, n_classes, contour=0)
                continue
            layer = self.layers.get(role)
            if layer is None or layer not in viewer.layers:
                layer = Image(
                    data,
                    name=name,
                    colormap="PiYG" if role == "difference" else "gray",
                    translate=translate,
                    metadata={"kind": "transfer"},
                )
                self.layers[role] = layer
                viewer.add_layer(layer)
            else:
                layer.data = data
                layer.translate = translate
            layer.contrast_limits = (-d, d) if role == "difference" else (float(lo), float(hi))
            if role == "source":  # its class region outlined on it
                region = (np.asarray(arrays["source_labels"]) == self.class_id).astype(np.uint8)
                self._put_labels(viewer, "source_labels", SOURCE_LABELS, region, translate,
                                 n_classes, contour=1)  # fmt: skip
        if fresh:
            viewer.reset_view()

    def _put_labels(self, viewer: Any, role: str, name: str, data: np.ndarray,
                    translate: tuple, n_classes: int, contour: int) -> None:  # fmt: skip
        layer = self.layers.get(role)
        data = data.astype(np.uint8)
        if layer is None or layer not in viewer.layers:
            if contour:  # a 0/1 region: its outline in orange, nothing elsewhere
                colormap = DirectLabelColormap(
                    color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0), 1: (1.0, 0.5, 0.05, 1.0)}
                )
            else:
                colormap = labels_colormap(n_classes)
            layer = Labels(data, name=name, colormap=colormap, translate=translate)
            layer.contour = contour
            self.layers[role] = layer
            viewer.add_layer(layer)
        else:
            layer.data = data
            layer.translate = translate

    # -------------------------------------------------------------- teardown

    def background_workers(self) -> list[Any]:
        return [*super().background_workers(), self.preview_worker, self.quality_worker]

    def on_close(self) -> None:
        self.side.close()  # the preview's viewer of its own closes with the dock
