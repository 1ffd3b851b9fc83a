"""The "Compare report" dock: a ``compare`` report folder as the paper's Fig. 5, interactive.

Thin over :class:`~napari_forgetting.workflow.compare.maps.ComparisonMaps`: the user opens a
report folder, picks a split (validation, test1, test2) and a seed, and chooses a section in
the baseline's Hotspots ranking (an embedded :class:`~.hotspots.HotspotsWidget` on the
baseline run of that split and seed, ranked for the report's class). The chosen section is
drawn under every method side by side, in napari's grid, one cell per method: the method's
forgetting events (the live layers' colours, one scale for the section across methods, with its
bar) and the baseline's high-density regions outlined, beside a cell of the section's labels.
The grid is drawn in a viewer of its own (a second window) unless the dock's viewer holds
nothing else (:class:`~napari_forgetting._napari.side_view.SideView`), so a volume being
looked at is never rearranged.

A report folder holding the baseline's consensus run over its seeds (``consensus/``) offers
one more seed, ``consensus``: the Hotspots ranking is then the consensus run's of the split
(with each section's P(top k), its interval and the note "consensus of N seeds"), and the
baseline's cell its mean heat map (regions found in it) beside each other method's lowest
finished seed, as :meth:`ComparisonMaps.panel
<napari_forgetting.workflow.compare.maps.ComparisonMaps.panel>` gives them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_forgetting._napari.layers import labels_colormap
from napari_forgetting._napari.live_layers import forgetting_colormap
from napari_forgetting._napari.side_view import SideView, grid_of
from napari_forgetting._napari.widgets.dock import ForgettingDock
from napari_forgetting._napari.widgets.hotspots import HotspotsWidget
from napari_forgetting.runs.store import RunStoreError
from napari_forgetting.workflow.compare.maps import CONSENSUS, ComparisonMaps, SectionPanel

__all__ = ["CompareWidget"]

LABELS_LAYER = "labels"
REGIONS_SUFFIX = "baseline regions"
_LOWEST = "lowest finished"
ZERO_GREY = (0.22, 0.22, 0.24, 1.0)


class CompareWidget(ForgettingDock):
    """Open a comparison report and show one section under every method (Fig. 5)."""

    PRIMARY = ("path_edit",)

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.maps: ComparisonMaps | None = None
        self.panel: SectionPanel | None = None
        self.side = SideView(napari_viewer, "napari-forgetting: Fig. 5")
        self._layers: dict[str, Any] = {}

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("report folder (compare --out)")
        self.path_edit.returnPressed.connect(lambda: self.open_report(self.path_edit.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit)
        row.addWidget(browse)
        self.split_combo = QComboBox()
        self.seed_combo = QComboBox()
        self.split_combo.currentIndexChanged.connect(lambda _: self._rank())
        self.seed_combo.currentIndexChanged.connect(lambda _: self._rank())
        self.status.setText("no report")
        self.hotspots = HotspotsWidget(napari_viewer, self, navigate=False)
        self.hotspots.section_chosen.connect(self.show_section)

        self.explain(
            {
                "path_edit": "a report folder written by napari-forgetting compare --out",
                "split_combo": "validation, or one of the held-out test volumes",
                "seed_combo": (
                    "the seed whose runs are shown (consensus: the baseline's mean over seeds)"
                ),
            }
        )
        form = QFormLayout()
        form.addRow("report", row)
        form.addRow("split", self.split_combo)
        form.addRow("seed", self.seed_combo)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addLayout(form)
        layout.addWidget(self.scale)
        heading = QLabel("the baseline's hotspots (choose a section):")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(self.hotspots)
        self.place(inner)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        self.hotspots.shutdown(timeout_s)  # the embedded ranking's worker
        super().shutdown(timeout_s)

    def on_close(self) -> None:
        self.hotspots.on_close()
        self.side.close()  # the figure's viewer of its own closes with the dock

    # ------------------------------------------------------------------ report

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a comparison report")
        if path:
            self.open_report(path)

    def open_report(self, path: str | os.PathLike) -> bool:
        """Read the report folder ``path``; ranks the baseline's sections of its first
        split and shows the top one. Returns whether it could be read."""
        try:
            maps = ComparisonMaps(Path(str(path)))
        except (RunStoreError, OSError, ValueError) as exc:
            self.tell(f"cannot open the report: {exc}", "error")
            return False
        self.maps = maps
        self.path_edit.setText(str(maps.path))
        self.hotspots.min_pixels_spin.setValue(maps.min_pixels)  # the report's own
        seeds: list[tuple[str, int | str | None]] = [(_LOWEST, None)]
        seeds += [(f"seed {s}", s) for s in maps.seeds]
        if maps.consensus is not None:  # the baseline's consensus over its seeds
            seeds.append((CONSENSUS, CONSENSUS))
        for combo, items in (
            (self.split_combo, [(s, s) for s in maps.splits]),
            (self.seed_combo, seeds),
        ):
            combo.blockSignals(True)
            combo.clear()
            for text, data in items:
                combo.addItem(text, data)
            combo.blockSignals(False)
        cons = f"; a consensus of seeds {maps.consensus_seeds}" if maps.consensus else ""
        self.tell(
            f"{maps.path.name}: {', '.join(maps.methods)}; seeds {maps.seeds}{cons}; "
            f"class {maps.cls}"
        )
        self._rank()
        return True

    @property
    def split(self) -> str | None:
        return self.split_combo.currentData()

    @property
    def seed(self) -> int | str | None:
        """The chosen seed: a number, ``None`` (each method's lowest finished) or
        ``"consensus"``."""
        return self.seed_combo.currentData()

    def set_split(self, split: str) -> None:
        self.split_combo.setCurrentIndex(self.split_combo.findData(split))

    def set_seed(self, seed: int | str | None) -> None:
        self.seed_combo.setCurrentIndex(self.seed_combo.findData(seed))

    def _rank(self) -> None:
        """The embedded Hotspots ranks the baseline run of the split and seed (the first
        method's where there is no baseline; the consensus run for the seed "consensus") for
        the report's class, and goes to the top."""
        maps, split = self.maps, self.split
        if maps is None or split is None:
            return
        store = maps.ranked_store(split, self.seed)
        if store is None:
            method = "baseline" if "baseline" in maps.methods else maps.methods[0]
            what = (
                "no consensus run"
                if self.seed == CONSENSUS
                else f"no finished {method} run of seed {self.seed}"
            )
            self.tell(f"{what} on {split}", "error")
            return
        self.hotspots.set_run(store)
        self.hotspots.set_class(maps.cls)
        if self.hotspots.ranking is not None and len(self.hotspots.ranking):
            self.hotspots.go_to(0)
        else:  # the class is absent from every section: show the first section anyway
            keys = maps.sections(split)
            if keys:
                self.show_section(keys[0])

    # ------------------------------------------------------------------ Fig. 5 panels

    @property
    def figure_viewer(self) -> Any:
        """The viewer of its own the panels went to, ``None`` while drawn in the dock's."""
        return self.side.own

    def show_section(self, key: str) -> SectionPanel | None:
        """Draw section ``key`` of the current split under every method (grid cells)."""
        maps, split = self.maps, self.split
        if maps is None or split is None:
            return None
        try:
            panel = maps.panel(split, key, self.seed)
        except (KeyError, ValueError, RunStoreError) as exc:
            self.tell(str(exc), "error")
            return None
        viewer, fresh = self.side.target(self._layers.values())
        if fresh:
            self._layers = {}
        names = self._draw(viewer, panel)
        grid = grid_of(viewer)
        grid.enabled = True
        grid.stride = 2  # a cell: a map and the outline of the baseline's regions
        grid.shape = (-1, -1)
        viewer.reset_view()
        self.panel = panel
        self.show_scale(0.0, panel.vmax, zero=ZERO_GREY)  # the cells' one scale, off the data
        thr = "" if panel.threshold is None else f"; regions at {panel.threshold:.2f} events"
        self.status.setText(
            f"{split} {key}: 0..{panel.vmax:g} events (seeds: {panel.seeds_text()}){thr}"
        )
        return panel if names else None

    def _draw(self, viewer: Any, panel: SectionPanel) -> list[str]:
        """The panel's layers in ``viewer``: per cell a map and the regions' outline, the
        labels cell first; layers are reused and their data replaced."""
        regions = panel.regions if panel.regions is not None else np.zeros_like(panel.labels)
        outline = (regions > 0).astype(np.uint8)  # the same in every cell
        cells: list[tuple[str, str, np.ndarray]] = [(LABELS_LAYER, "labels", panel.labels)]
        cells += [(panel.title(m), "heat", panel.maps[m]) for m in panel.maps]
        wanted = []
        for name, kind, data in cells:
            wanted += [name, f"{name}: {REGIONS_SUFFIX}"]
            layer = self._layer(viewer, name, kind, data)
            if kind == "heat":
                layer.contrast_limits_range = (0.0, panel.vmax)
                layer.contrast_limits = (0.0, panel.vmax)
                layer.colorbar.visible = False  # one scale, in the dock (show_scale)
            self._layer(viewer, f"{name}: {REGIONS_SUFFIX}", "regions", outline)
        for name in [n for n in self._layers if n not in wanted]:  # seeds changed: old names
            layer = self._layers.pop(name)
            if layer in viewer.layers:
                viewer.layers.remove(layer)
        # grid cells follow the layer list: bottom first (labels), then each method
        for i, name in enumerate(wanted):
            index = viewer.layers.index(self._layers[name])
            if index != i:
                viewer.layers.move(index, i)
        return wanted

    def _layer(self, viewer: Any, name: str, kind: str, data: np.ndarray) -> Any:
        layer = self._layers.get(name)
        if layer is not None and layer in viewer.layers and layer.data.shape == data.shape:
            layer.data = data
            return layer
        if layer is not None and layer in viewer.layers:
            viewer.layers.remove(layer)
        n = len(self.maps.class_names) if self.maps is not None else int(data.max()) + 1
        if kind == "labels":
            layer = viewer.add_labels(data, name=name, colormap=labels_colormap(n), opacity=0.8)
        elif kind == "regions":
            layer = viewer.add_labels(
                data, name=name, colormap={1: (0.0, 1.0, 1.0, 1.0), None: (0, 0, 0, 0)}
            )
            layer.contour = 1
        else:
            # no seismic beneath: zero events drawn in a dark grey, so the section's extent
            # reads against the canvas, hotspots in the live layers' colours
            layer = viewer.add_image(data, name=name, colormap=forgetting_colormap(ZERO_GREY))
        if kind != "regions":
            layer.name_overlay.visible = True  # the cell's title
        self._layers[name] = layer
        return layer
