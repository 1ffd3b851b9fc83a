"""The "Augment and retrain" dock: the paper's loop from a finished run, in a background worker.

From a parent run (its folder; or ``set_run`` from another widget) and a transfer method (a
learned model's checkpoint, or the training-free stratal transfer): measure the method on the
run's held-out sections and refuse it below the quality bar unless "go on below the bar" is
ticked (:func:`~napari_forgetting.workflow.augment.check_transfer`), generate the augmented
pool from style sources with at least "min class pixels" of the class (style transfers of a
class from the run's hotspot sections onto random training sections;
:func:`~napari_forgetting.workflow.augment.generate_pool`), write it
as an export set (F3 ``.npy`` + SEG-Y + zarr + manifest), retrain from scratch on the
training sections plus the pool as a new run linked to its parent, and show the new run's
forgetting heat map beside the parent's (``forgetting events (inline, parent)`` /
``forgetting events (inline, retrained)`` and the crossline ones: per section kind, as the
live layers, on one count scale; optionally in napari's grid view) so hotspots that
disappeared, shrank, moved or appeared are seen at once. "Export pool" copies the pool to
another folder in the chosen formats (atomic, never overwriting without confirmation).

Thin: everything it runs is in :mod:`napari_forgetting.workflow`
(:func:`~napari_forgetting.workflow.augment.augment_and_retrain_events`, the same pool and
retrain path as the command line); progress and errors arrive as events from the one
background worker (:func:`~napari_forgetting._napari.worker.start_worker`), and Stop is its
quit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils import progress
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_forgetting._napari import collector
from napari_forgetting._napari.live_layers import LiveLayers
from napari_forgetting._napari.pool_view import PoolView
from napari_forgetting._napari.side_view import grid_of
from napari_forgetting._napari.widgets.dock import ForgettingDock
from napari_forgetting._napari.worker import gui_friendly_threads, start_worker
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.runs.geometry import RunGeometry, geometry_from_sections
from napari_forgetting.training.config import TrainConfig
from napari_forgetting.training.live import (
    EpochDone,
    TrainingFailed,
    TrainingFinished,
    TrainStart,
)
from napari_forgetting.workflow.augment import PoolProgress, PoolSaved

#: Tags of the parent's and the retrained run's heat layers (``forgetting events (inline,
#: parent)``, ...).
PARENT_TAG, RETRAINED_TAG = "parent", "retrained"


class AugmentWidget(ForgettingDock):
    """Dock widget: augmented pool + retraining + export, from a parent run."""

    STOPPING = "stopping between transfers, or after the current batch of the retraining …"

    PRIMARY = ("start_btn", "stop_btn")

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        collector.watch(napari_viewer)
        self.pool_dir: Path | None = None
        self.retrained_dir: Path | None = None
        self._store: Any = None  # the retrained run being shown
        self._parent_path: Path | None = None
        #: The parent's and the retrained run's heat layers.
        self._parent_heat: LiveLayers | None = None
        self._retrained_heat: LiveLayers | None = None

        self.run_edit = QLineEdit()
        self.run_edit.setPlaceholderText("parent run folder (napari-forgetting train --out …)")
        self.run_edit.editingFinished.connect(lambda: self.set_run(self.run_edit.text()))
        browse = QPushButton("…")
        browse.clicked.connect(self._browse_run)
        self.ckpt_edit = QLineEdit()
        self.ckpt_edit.setPlaceholderText("transfer checkpoint (transfer-train --out …)")
        browse_ckpt = QPushButton("…")
        browse_ckpt.clicked.connect(self._browse_ckpt)
        self.method_box = QComboBox()
        self.method_box.addItems(["stratal", "learned"])
        self.method_box.setToolTip(
            "stratal: the training-free transfer (no model); learned: the checkpoint's model "
            "(chosen once a checkpoint is given)"
        )
        self.ckpt_edit.textChanged.connect(
            lambda text: text.strip() and self.method_box.setCurrentText("learned")
        )
        self.method_box.currentTextChanged.connect(self._on_method)
        self.min_pixels = QSpinBox(minimum=0, maximum=10_000_000, value=DEFAULT_MIN_PIXELS)
        self.min_pixels.setToolTip(
            "style sources hold at least this many pixels of the class (a style pooled from "
            f"fewer is mostly noise; default {DEFAULT_MIN_PIXELS}); the quality measurement "
            "uses held-out sections with as many"
        )
        self.force = QCheckBox("go on below the quality bar")
        self.force.setToolTip(
            "make the pool even when the transfer is below the bar, or cannot be measured "
            "(the figures are kept in pool.json)"
        )
        self.class_box = QComboBox()
        self.sources = QSpinBox(minimum=1, maximum=1000, value=6)
        self.per_source = QSpinBox(minimum=1, maximum=100000, value=64)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=TrainConfig.epochs)
        self.epochs.setToolTip("default: the parent run's epochs (an equal budget)")
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("output folder (default: <run>_augmented)")
        self.grid = QCheckBox("show parent and retrained side by side (grid)")
        self.grid.setChecked(True)
        self.start_btn = QPushButton("Augment && retrain")
        self.start_btn.clicked.connect(self.start)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.stop_btn.clicked.connect(self.stop)
        self.formats = {f: QCheckBox(f) for f in ("npy", "segy", "zarr")}
        for fmt, box in self.formats.items():
            box.setChecked(True)
            box.setToolTip(f"export the pool as {fmt}")
        self.export_btn = QPushButton("Export pool…")
        self.export_btn.setEnabled(False)
        self.export_btn.clicked.connect(lambda: self.export_pool())
        self.browse_btn = QPushButton("Browse pool…")
        self.browse_btn.setToolTip(
            "the pool's sections beside their targets as they were, and the difference, in "
            "a view of their own (the last pool made here, else a pool folder you choose)"
        )
        self.browse_btn.clicked.connect(lambda: self.browse_pool())
        self.pool_view: PoolView | None = None
        self.status.setText("choose a finished run (the parent)")

        self.explain(
            {
                "run_edit": "the finished run whose hotspots choose the style sources",
                "ckpt_edit": ("a trained transfer model (napari-forgetting transfer-train --out)"),
                "class_box": "the class whose character is transferred",
                "sources": "how many top-ranked sections are style sources",
                "per_source": "transferred sections made from each style source",
                "seed": "the pool's and the retraining's seed",
                "out_edit": "the pool and the retrained run are written here",
                "grid": ("the parent's and the retrained run's heat maps in napari's grid"),
            }
        )
        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.run_edit)
        row.addWidget(browse)
        form.addRow("parent run", row)
        row = QHBoxLayout()
        row.addWidget(self.ckpt_edit)
        row.addWidget(browse_ckpt)
        form.addRow("transfer method", self.method_box)
        form.addRow("transfer model", row)
        form.addRow("class", self.class_box)
        form.addRow("min class pixels", self.min_pixels)
        form.addRow("style sources (top N)", self.sources)
        form.addRow("transfers per source", self.per_source)
        form.addRow("seed", self.seed)
        form.addRow("retraining epochs", self.epochs)
        form.addRow("output", self.out_edit)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addLayout(form)
        layout.addWidget(self.force)
        layout.addWidget(self.grid)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.stop_btn)
        layout.addLayout(buttons)
        fmt = QHBoxLayout()
        for box in self.formats.values():
            fmt.addWidget(box)
        fmt.addWidget(self.export_btn)
        layout.addLayout(fmt)
        layout.addWidget(self.browse_btn)
        layout.addWidget(self.scale)
        layout.addStretch()
        self.place(inner)

    # ------------------------------------------------------------------ inputs

    def _browse_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Parent run")
        if path:
            self.set_run(path)

    def _browse_ckpt(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Transfer checkpoint", "", "*.pt")
        if path:
            self.ckpt_edit.setText(path)

    def set_run(self, run: Any) -> None:
        """Use ``run`` (a RunStore or its folder) as the parent."""
        from napari_forgetting.runs.store import RunStore, RunStoreError

        path = Path(getattr(run, "path", run))
        try:
            store = RunStore.open(path)
        except RunStoreError as exc:
            self.tell(str(exc), "warning")
            return
        self.run_edit.setText(str(path))
        current = self.class_box.currentText()
        self.class_box.clear()
        self.class_box.addItems(store.class_names)
        wanted = current if current in store.class_names else "scruff"
        if wanted in store.class_names:
            self.class_box.setCurrentText(wanted)
        if path != self._parent_path:  # a new parent: its epochs as the default, once
            self.epochs.setValue(int(store.train_config.get("epochs", self.epochs.value())))
            self._parent_path = path
        if not self.out_edit.text():
            self.out_edit.setText(str(path.with_name(path.name + "_augmented")))
        self.status.setText(f"parent: {path.name} ({store.status}, {store.n_epochs} epochs)")

    # ------------------------------------------------------------------ running

    def _on_method(self, method: str) -> None:
        self.ckpt_edit.setEnabled(method == "learned")

    def start(self) -> None:
        from napari_forgetting.transfer import resolve_method

        run, ckpt = self.run_edit.text().strip(), self.ckpt_edit.text().strip()
        method = self.method_box.currentText()
        if not run or (method == "learned" and not ckpt):
            self.tell("choose a parent run and a transfer checkpoint first", "warning")
            return
        transfer_method = resolve_method(method, Path(ckpt) if method == "learned" else None)
        if self.worker is not None:
            self.tell("a run is in progress; stop it first", "warning")
            return
        self.set_run(run)
        out = Path(self.out_edit.text().strip() or run + "_augmented")
        from napari_forgetting.data.folders import FolderError, check_folder

        try:
            check_folder(out / "run", "run")
        except FolderError as exc:
            self.tell(f"{str(exc).split(';')[0]}: choose another output", "warning")
            return
        self._retrained_heat = None
        self._store = None
        self._show_parent(Path(run))
        overrides = {
            "epochs": int(self.epochs.value()),
            "num_threads": gui_friendly_threads(self._device(run)),
        }
        from napari_forgetting.workflow.augment import augment_and_retrain_events

        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.pbar = progress(total=self.sources.value() * self.per_source.value())
        self.pbar.set_description("style transfers")
        self.status.setText("generating the augmented pool …")
        collector.collect()  # one full collection at the click; frozen once retraining starts
        self.worker = start_worker(
            augment_and_retrain_events, Path(run), transfer_method, out,
            cls=self.class_box.currentText(), n_sources=self.sources.value(),
            per_source=self.per_source.value(), seed=self.seed.value(), overrides=overrides,
            min_pixels=self.min_pixels.value(), force=self.force.isChecked(),
            on_event=self._on_event, on_finished=self._on_finished,
        )  # fmt: skip

    @staticmethod
    def _device(run: str) -> str | None:
        from napari_forgetting.runs.store import RunStore

        return RunStore.open(run).train_config.get("device")

    def _on_event(self, ev: Any) -> None:
        if isinstance(ev, PoolProgress):
            if self.pbar is not None:
                self.pbar.n = ev.done
                self.pbar.refresh()
        elif isinstance(ev, PoolSaved):
            self.pool_dir = ev.path
            self.export_btn.setEnabled(True)
            self.close_progress()
            self.pbar = progress(total=self.epochs.value())
            self.pbar.set_description("retraining")
            self.status.setText(
                f"pool: {ev.count} sections from {', '.join(ev.sources)}; retraining …"
            )
        elif isinstance(ev, TrainStart):
            from napari_forgetting.runs.store import RunStore

            collector.freeze()  # torch and the model built: no full collection walks them

            self._store = RunStore.open(ev.run_dir)
        elif isinstance(ev, EpochDone):
            self._show_retrained(ev)
            if self.pbar is not None:
                self.pbar.n = ev.epoch + 1
                self.pbar.refresh()
        elif isinstance(ev, TrainingFinished):
            self.retrained_dir = ev.run_dir
            word = "stopped" if ev.stopped else "finished"
            self.tell(
                f"retraining {word} after {ev.epochs_complete} epochs: {ev.run_dir} "
                f"(parent {self.run_edit.text()})"
            )
        elif isinstance(ev, TrainingFailed):
            self.tell(f"augment and retrain failed: {ev.message}", "error")

    def _on_finished(self) -> None:
        self.close_progress()
        self.worker = None
        if self._store is not None:
            self.retrained_dir = Path(self._store.path)
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)

    # ------------------------------------------------------------------ layers

    def _heat_layers(self, store: Any, tag: str, old: LiveLayers | None) -> LiveLayers:
        """Heat layers of a run, one per section kind (views of its flat counts, nothing
        volume-sized; a viewed section shows its own counts only), replacing ``old``."""
        if old is not None:
            old.close()
            for layer in old.layers.values():
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        world = geometry_from_sections(store.volume_shape, store.eval_sections + store.map_sections)
        live = LiveLayers(
            self.viewer,
            RunGeometry.of_store(store),
            world,
            list(store.class_names),
            total_epochs=int(store.info.get("epochs", 1)),
            predictions=False,
            tag=tag,
        )
        # one scale for the parent and the retrained run (the larger of the two), off the data
        live.scale_listeners.append(self._on_scale)
        return live

    def _on_scale(self, low: float, high: float) -> None:
        highs = [h.heat_limits()[1] for h in (self._parent_heat, self._retrained_heat) if h]
        self.show_scale(low, max([high, *highs]))

    def _show_parent(self, run: Path) -> None:
        from napari_forgetting.runs.store import RunStore

        store = RunStore.open(run)
        if store.n_epochs == 0 or not store.map_names:
            return
        self._parent_heat = self._heat_layers(store, PARENT_TAG, self._parent_heat)
        last = store.n_epochs - 1
        counts = store.flat_map("forgetting_events", last)
        self._parent_heat.show(last, {"forgetting_events": counts}, None)

    def _show_retrained(self, ev: EpochDone) -> None:
        if not ev.maps or "forgetting_events" not in ev.maps or self._store is None:
            return
        if self._retrained_heat is None:
            self._retrained_heat = self._heat_layers(self._store, RETRAINED_TAG, None)
            if self.grid.isChecked():
                grid_of(self.viewer).enabled = True
        parent = self._parent_heat
        # one count scale for both: the parent's, or higher if the retrained run goes past it
        upper = max(parent.heat_max if parent is not None else 1.0, float(ev.heat_upper or 0.0))
        counts = ev.maps["forgetting_events"]
        self._retrained_heat.show(ev.epoch, {"forgetting_events": counts}, None, upper)
        if parent is not None and upper > parent.heat_max:
            parent.heat_max = upper
            parent.show(parent.epoch or 0, {}, None)  # its layers' limits only

    # ------------------------------------------------------------------ browse

    def browse_pool(self, path: str | Path | None = None) -> Any:
        """Show a pool (``path``; default: the last one made here, else asks for a folder)
        in a 2-D view of its own (:class:`~.._napari.pool_view.PoolView`); returns the
        viewer it is shown in, ``None`` after telling why not."""
        from napari_forgetting.workflow.pool_browse import open_pool_browse

        if path is None:
            path = self.pool_dir
        if path is None:
            path = QFileDialog.getExistingDirectory(self, "An augmented pool's folder")
            if not path:
                return None
        try:
            browse = open_pool_browse(path)
        except (FileNotFoundError, ValueError, OSError) as exc:
            self.tell(f"cannot browse the pool: {exc}", "error")
            return None
        if self.pool_view is None:
            self.pool_view = PoolView(self.viewer)
        viewer = self.pool_view.show(browse)
        note = f"; targets not shown: {browse.no_targets}" if browse.no_targets else ""
        self.tell(f"browsing {len(browse)} pool sections of {browse.path}{note}")
        return viewer

    # ------------------------------------------------------------------ export

    def export_pool(self, out_dir: str | Path | None = None, overwrite: bool = False) -> bool:
        """Write the last pool to ``out_dir`` in the ticked formats (asks for a folder)."""
        if self.pool_dir is None:
            self.tell("no augmented pool yet: run Augment & retrain first", "warning")
            return False
        if out_dir is None:
            out_dir = QFileDialog.getExistingDirectory(self, "Export the augmented pool to")
            if not out_dir:
                return False
        formats = [f for f, box in self.formats.items() if box.isChecked()]
        if not formats:
            self.tell("tick at least one format", "warning")
            return False
        from napari_forgetting.data.source import open_source
        from napari_forgetting.workflow.augment import load_pool, save_pool

        try:
            pool = load_pool(self.pool_dir)
            volume = None
            if pool.parent_run:
                from napari_forgetting.runs.store import RunStore

                parent = RunStore.open(pool.parent_run)
                volume = open_source(parent.info.get("source") or {})
            save_pool(pool, out_dir, formats=formats, overwrite=overwrite, volume=volume)
        except (FileExistsError, ValueError, OSError) as exc:
            self.tell(f"export failed: {exc}", "error")
            return False
        self.tell(f"exported {len(pool)} sections to {out_dir} ({', '.join(formats)})")
        return True
