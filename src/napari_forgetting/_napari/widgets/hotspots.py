"""The "Hotspots" dock widget: a run's sections ranked for a class, one click away in 2-D.

Thin over :mod:`napari_forgetting.runs.hotspots`: it opens a run store, asks the core for the
ranking (at once when the user picks a run, class, statistic or minimum class-pixel count;
sections with fewer pixels of the class are left out; in a worker thread whenever
a new epoch is committed, polled with a QTimer while the run is running), and turns a chosen
row into viewer state:

* ``viewer.dims`` shows the section depth-down in 2-D (order ``(0, 2, 1)`` and the inline's
  world coordinate on axis 0 for an inline, order ``(1, 2, 0)`` and axis 1 for a crossline),
  then the camera is reset;
* a one-section-thick Image layer ``"hotspot"`` holds the statistic's per-pixel values (for
  forgetting: the event counts) on the class's pixels, ``NaN`` (transparent) elsewhere.

The status line quotes the ranking's stability note
(:func:`~napari_forgetting.runs.consensus.stability_note`: one seed, or a consensus of how
many). A consensus run's forgetting ranking gets two more columns, each section's P(top k)
(k: the *top* spin box) and the 95 % interval of its density over bootstrap draws of the
seeds (:attr:`Ranking.uncertainty`, computed by ``rank_run`` with the ranking: in the poll's
worker when the ranking runs there). A ranking whose values are all equal (a class never
learned) says so in the status line.

World coordinates are inline / crossline numbers: the scale and translate come from a layer
of the run's volume shape (the seismic) when there is one, else from the run's sections.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import napari
import numpy as np
from napari.layers import Image
from napari.utils.colormaps import Colormap
from qtpy.QtCore import QTimer, Signal
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_forgetting._napari.widgets.dock import ForgettingDock
from napari_forgetting._napari.widgets.lifetime import exists as _exists
from napari_forgetting.data.classes import class_colors
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.dynamics.stability import SectionBootstrap
from napari_forgetting.runs.consensus import stability_note
from napari_forgetting.runs.hotspots import (
    DEFAULT_TOP,
    Ranking,
    StyleSources,
    rank_run,
    save_style_sources,
    section_highlight,
)
from napari_forgetting.runs.store import RunStore

__all__ = ["HOTSPOT_LAYER", "HotspotsWidget", "section_dims"]

HOTSPOT_LAYER = "hotspot"
#: The statistics offered, as shown in the combo box.
STATISTIC_LABELS = {
    "forgetting": "forgetting density",
    "never_learned": "never learned",
    "low_confidence": "low confidence",
    "high_variability": "high variability",
    "total": "total forgetting (all classes)",
}
_DEFAULT_CLASS = "scruff"  # the paper's target class
_LIVE = ("created", "running")


def section_dims(kind: str) -> tuple[int, tuple[int, int, int]]:
    """``(axis, dims order)`` that show a section of ``kind`` depth-down in 2-D."""
    if kind == "inline":
        return 0, (0, 2, 1)
    if kind == "crossline":
        return 1, (1, 2, 0)
    raise ValueError(f"unknown section kind {kind!r}")


def _axis_geometry(store: RunStore, axis: int) -> tuple[float, float]:
    """``(scale, translate)`` of a volume axis so world = inline/crossline number, from the
    (index, number) pairs of the run's sections (step 1 from a single section)."""
    kind = ("inline", "crossline")[axis]
    pairs = sorted({(s.index, float(s.number)) for s in store.map_sections if s.kind == kind})
    if not pairs:
        return 1.0, 0.0
    (i0, n0), (i1, n1) = pairs[0], pairs[-1]
    step = (n1 - n0) / (i1 - i0) if i1 != i0 and n1 != n0 else 1.0
    return step, n0 - i0 * step


#: The hotspot layer's colours, from few events to many: magentas, far from every F3 class
#: colour (blues, a pale yellow, orange, red) so a hotspot stands out over any labels.
HOTSPOT_RAMP = ((0.55, 0.0, 0.55), (0.9, 0.0, 0.9), (1.0, 0.4, 1.0))


def _colormap(name: str, floor: float = 0.35) -> Colormap:
    """Transparent ``NaN``; the lowest values at opacity ``floor``, dark magenta, the
    highest pink (:data:`HOTSPOT_RAMP`)."""
    low, mid, high = HOTSPOT_RAMP
    return Colormap(
        colors=[[*low, floor], [*mid, 1.0], [*high, 1.0]],
        controls=[0.0, 0.5, 1.0],
        name=name,
    )


def _color_icon(rgba: tuple[float, ...]) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(QColor.fromRgbF(*rgba[:3]))
    return QIcon(pix)


@dataclass(frozen=True)
class _Ranked:
    """A ranking (None before the first epoch, or the error that prevented it) and the
    ``(epochs, status)`` of the run it was made from."""

    ranking: Ranking | Exception | None
    state: tuple[int, str]


def _rank(
    store: RunStore, cls: Any, statistic: str, min_pixels: int = 0, k: int = DEFAULT_TOP
) -> _Ranked:
    """Rank ``store`` (``k``: the k of a consensus's P(top k), computed with the ranking)."""
    state = (store.n_epochs, store.status)
    if store.n_epochs == 0:
        return _Ranked(None, state)
    try:
        return _Ranked(rank_run(store, cls, statistic, min_pixels=min_pixels, k=k), state)
    except Exception as exc:  # noqa: BLE001 - told to the user (ClassAbsentError among them)
        return _Ranked(exc, state)


def _rank_path(
    path: str, cls: Any, statistic: str, min_pixels: int = 0, k: int = DEFAULT_TOP
) -> _Ranked:
    """:func:`_rank` on a run store of its own (a worker thread shares nothing)."""
    try:
        store = RunStore.open(path)
    except (ValueError, OSError) as exc:
        return _Ranked(exc, (0, "unreadable"))
    return _rank(store, cls, statistic, min_pixels, k)


def _count_text(value: float) -> str:
    """A count as a whole number; a consensus's mean count with 2 decimals."""
    v = float(value)
    return str(int(v)) if v.is_integer() else f"{v:.2f}"


class HotspotsWidget(ForgettingDock):
    """Rank a run's sections for a class and navigate to them (see the module docstring).

    :attr:`section_chosen` carries the key of each section the user goes to (``"inline:12"``);
    with ``navigate=False`` that is all a choice does -- the viewer's dims and layers stay,
    for a host that shows the section its own way (the Compare dock's Fig. 5 panels)."""

    PRIMARY = ("select_button", "next_button")

    POLL_MS = 1000
    section_chosen = Signal(str)

    def __init__(
        self,
        napari_viewer: napari.viewer.Viewer,
        parent: QWidget | None = None,
        navigate: bool = True,
    ):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.navigate = navigate
        self.store: RunStore | None = None
        self.ranking: Ranking | None = None
        #: a consensus ranking's P(top k) and density intervals, aligned with its rows
        self.uncertainty: SectionBootstrap | None = None
        self.note = ""  # the run's stability note (stability_note)
        self.current_row = -1
        self._seen: tuple[int, str] | None = None  # (epochs, status) last ranked
        self.rank_worker: Any = None  # the poll's ranking in a worker thread, while it runs

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("run directory (runs/NAME)")
        self.path_edit.returnPressed.connect(lambda: self.set_run(self.path_edit.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        run_row = QHBoxLayout()
        run_row.addWidget(self.path_edit)
        run_row.addWidget(browse)

        self.class_combo = QComboBox()
        self.stat_combo = QComboBox()
        for stat, label in STATISTIC_LABELS.items():
            self.stat_combo.addItem(label, stat)
        self.class_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.stat_combo.currentIndexChanged.connect(self._on_statistic)
        self.min_pixels_spin = QSpinBox()
        self.min_pixels_spin.setRange(0, 10_000_000)
        self.min_pixels_spin.setValue(DEFAULT_MIN_PIXELS)
        self.min_pixels_spin.setToolTip(
            "sections holding fewer pixels of the class are left out: a style source pooled "
            f"from fewer pixels is mostly noise (default {DEFAULT_MIN_PIXELS}; 0: all)"
        )
        self.min_pixels_spin.valueChanged.connect(lambda _: self.refresh())

        self.status.setText("no run")

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["section", "density", "pixels", "events"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(self._on_current_cell)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.go_to(row))

        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.prev_button.clicked.connect(self.previous_row)
        self.next_button.clicked.connect(self.next_row)
        nav = QHBoxLayout()
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)

        self.top_spin = QSpinBox()
        self.top_spin.setRange(1, 999)
        self.top_spin.setValue(DEFAULT_TOP)
        self.top_spin.setToolTip(
            "how many top sections to keep as style sources; for a consensus run also the k "
            "of the ranking's P(top k) column"
        )
        self.top_spin.valueChanged.connect(self._on_top)
        self.select_button = QPushButton("Use as style sources")
        self.select_button.clicked.connect(self.use_as_style_sources)
        select_row = QHBoxLayout()
        select_row.addWidget(QLabel("top"))
        select_row.addWidget(self.top_spin)
        select_row.addWidget(self.select_button)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._export_dialog)

        form = QFormLayout()
        form.addRow("run", run_row)
        form.addRow("class", self.class_combo)
        form.addRow("statistic", self.stat_combo)
        form.addRow("min class pixels", self.min_pixels_spin)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addLayout(form)
        layout.addWidget(self.table)
        layout.addLayout(nav)
        layout.addLayout(select_row)
        layout.addWidget(self.export_button)
        self.place(inner, scroll=parent is None)  # embedded (Compare dock): its host scrolls

        self.explain(
            {
                "path_edit": (
                    "a run folder (napari-forgetting train --out, or a Live training run)"
                ),
                "class_combo": "the class whose forgetting ranks the sections",
                "stat_combo": (
                    "what ranks a section: forgetting events per class pixel (density), "
                    "or their sum"
                ),
                "table": ("the run's sections, most forgetting first; double-click to go to one"),
            }
        )
        self.timer = QTimer(self)
        self.timer.setInterval(self.POLL_MS)
        self.timer.timeout.connect(self._poll)
        self._update_buttons()

    def background_workers(self) -> list[Any]:
        return [*super().background_workers(), self.rank_worker]

    def on_close(self) -> None:
        self.timer.stop()  # no more polling of the run

    # ------------------------------------------------------------------ run, class, statistic

    def set_run(self, run: RunStore | str | os.PathLike) -> None:
        """Show the hotspots of ``run`` (a :class:`RunStore` or its directory)."""
        try:
            store = run if isinstance(run, RunStore) else RunStore.open(run)
        except (ValueError, OSError) as exc:
            self.tell(str(exc), "warning")
            return
        previous = self.class_name
        self.store = store
        self.ranking = None
        self._seen = None
        self.path_edit.setText(str(store.path))
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        for k, (name, rgba) in enumerate(
            zip(store.class_names, class_colors(store.n_classes), strict=True)
        ):
            self.class_combo.addItem(_color_icon(rgba), name, k)
        names = store.class_names
        wanted = previous if previous in names else _DEFAULT_CLASS
        self.class_combo.setCurrentIndex(names.index(wanted) if wanted in names else 0)
        self.class_combo.blockSignals(False)
        self.refresh()
        if store.status in _LIVE:
            self.timer.start()

    @property
    def class_name(self) -> str | None:
        return self.class_combo.currentText() or None

    @property
    def statistic(self) -> str:
        return self.stat_combo.currentData()

    def set_class(self, cls: str | int) -> None:
        """Choose the class by name or id."""
        index = self.class_combo.findText(cls) if isinstance(cls, str) else int(cls)
        if index < 0:
            self.tell(f"unknown class {cls!r}", "warning")
            return
        self.class_combo.setCurrentIndex(index)

    def set_statistic(self, statistic: str) -> None:
        self.stat_combo.setCurrentIndex(self.stat_combo.findData(statistic))

    def _on_statistic(self, _index: int) -> None:
        self.class_combo.setEnabled(self.statistic != "total")
        self.refresh()

    def _on_top(self, _value: int) -> None:
        if self.uncertainty is not None:  # P(top k) depends on k
            self.refresh()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a training run", self.path_edit.text())
        if path:
            self.set_run(path)

    # ------------------------------------------------------------------ ranking

    def refresh(self) -> None:
        """Re-read the run's state and rank its sections at the last committed epoch (here,
        on the calling thread: the user asked for it)."""
        store = self.store
        if store is None:
            return
        store.refresh()
        self._show_result(_rank(store, *self._rank_args()))

    def _rank_args(self) -> tuple[Any, str, int, int]:
        """``(class, statistic, min_pixels, k)`` as the form says (``k``: the top-N spin box,
        the k of a consensus's P(top k))."""
        return (
            self.class_combo.currentData(),
            self.statistic,
            self.min_pixels_spin.value(),
            self.top_spin.value(),
        )

    def _show_result(self, result: _Ranked) -> None:
        store = self.store
        assert store is not None
        self._seen = result.state
        ranking = result.ranking
        if isinstance(ranking, Ranking):
            if store.n_epochs < ranking.epoch + 1:
                store.refresh()  # ranked from a newer state than ours
            self._show_ranking(ranking)
            self.note = ranking.note
            line = f"{ranking.describe()} ({result.state[1]})".replace(f"{store.path}: ", "")
            if ranking.uniform:  # a class never learned: its order is no ranking
                # a warning once the run is done (early epochs of a live run often are)
                warn = result.state[1] not in _LIVE
                self.tell(f"{line}. {ranking.uniform_message()}", "warning" if warn else None)
            else:
                unranked = ranking.unranked_note()
                line = f"{line}; {unranked}" if unranked else line
                self.tell(f"{line}. {ranking.note}" if ranking.note else line, None)
        elif ranking is None:
            self._show_ranking(None)
            cls = None if self.statistic == "total" else self.class_name
            self.note = stability_note(store, cls)  # run.json's, no reading
            self.tell(
                f"{store.path.name}: {result.state[1]}, waiting for the first epoch. {self.note}",
                None,
            )
        else:  # the error of a run that cannot be ranked (ClassAbsentError among them)
            self._show_ranking(None)
            self.tell(str(result.ranking) or type(result.ranking).__name__, "warning")

    def _poll(self) -> None:
        """While the run is written: rank each newly committed epoch in a worker thread (a
        full F3 run takes about a second to rank), one at a time, and show it when it comes
        back."""
        store = self.store
        if store is None:
            self.timer.stop()
            return
        if self.rank_worker is not None:  # the next poll looks again
            return
        try:
            store.refresh()
        except ValueError:  # state.json being replaced on a slow file system: try again
            return
        if (store.n_epochs, store.status) != self._seen:
            self._rank_in_background()
        elif store.status not in _LIVE:
            self.timer.stop()

    def _rank_in_background(self) -> None:
        from napari_forgetting._napari.worker import start_worker

        assert self.store is not None
        key = (str(self.store.path), *self._rank_args())

        def returned(result: _Ranked) -> None:
            if not _exists(self) or self.store is None:
                return
            now = (str(self.store.path), *self._rank_args())
            if now == key:  # else the user changed the run, class, statistic or minimum
                self._show_result(result)

        def done() -> None:
            self.rank_worker = None

        self.rank_worker = start_worker(_rank_path, *key, on_event=returned, on_finished=done)

    def _show_ranking(self, ranking: Ranking | None) -> None:
        previous = self.current_key
        self.ranking = ranking
        rows = ranking.rows if ranking is not None else ()
        uncertainty = ranking.uncertainty if ranking is not None else None
        if uncertainty is not None and len(uncertainty.p_top) != len(rows):
            uncertainty = None  # not this ranking's
        self.uncertainty = uncertainty
        heading = ranking.heading if ranking is not None else "density"
        headers = ["section", heading, "pixels", "events"]
        if uncertainty is not None:
            # a consensus: the density with its interval in one column, P(top k) beside it
            headers[1] = f"{heading} ({uncertainty.level:.0%})"
            headers.append(f"P(top {uncertainty.k})")
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        whose = "all" if ranking is not None and ranking.class_id is None else "the class's"
        self.table.horizontalHeaderItem(2).setToolTip(f"{whose} pixels in the section")
        self.table.horizontalHeaderItem(3).setToolTip(f"forgetting events on {whose} pixels")
        if uncertainty is not None:
            seeds = "bootstrap draws of the consensus's seeds"
            self.table.horizontalHeaderItem(1).setToolTip(
                f"the section's mean density over the seeds and its {uncertainty.level:.0%} "
                f"interval over {seeds}"
            )
            self.table.horizontalHeaderItem(4).setToolTip(
                f"share of {seeds} in which the section's mean density is among the top "
                f"{uncertainty.k}"
            )
        # at 1280 x 800 a consensus's columns fit the dock only sized to their contents; its
        # events (density x pixels, a mean over seeds) make room for P(top k)
        mode = QHeaderView.ResizeMode
        header = self.table.horizontalHeader()
        for c in range(1, len(headers)):
            header.setSectionResizeMode(c, mode.ResizeToContents if uncertainty else mode.Stretch)
        self.table.setColumnHidden(3, uncertainty is not None)
        self.table.verticalHeader().setVisible(uncertainty is None)  # rows are in rank order
        self.table.setRowCount(len(rows))
        places = ranking.rank_labels() if ranking is not None else []
        self.table.setVerticalHeaderLabels(places)  # ties share a place; no event: "–"
        for r, row in enumerate(rows):
            value = f"{row.value:.4f}"
            if uncertainty is not None:
                value = f"{row.value:.2f} ({uncertainty.low[r]:.2f}–{uncertainty.high[r]:.2f})"
            cells = [row.label, value, str(row.pixels), _count_text(row.events)]
            if uncertainty is not None:
                cells.append(f"{uncertainty.p_top[r]:.2f}")
            quiet = ranking is not None and ranking.unranked(row)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if quiet:  # listed for completeness, greyed: no event, no hotspot
                    item.setForeground(QColor(140, 140, 140))
                    item.setToolTip("no forgetting event on this section's pixels: not a hotspot")
                self.table.setItem(r, c, item)
        keys = [row.key for row in rows]
        self.current_row = keys.index(previous) if previous in keys else -1
        if self.current_row >= 0:
            self.table.setCurrentCell(self.current_row, 0)
        self.table.blockSignals(False)
        if self.current_row >= 0 and self.navigate:
            self._highlight(self.current_row)  # new epoch: new counts, same place
        self._update_buttons()

    @property
    def current_key(self) -> str | None:
        if self.ranking is None or not 0 <= self.current_row < len(self.ranking):
            return None
        return self.ranking[self.current_row].key

    # ------------------------------------------------------------------ navigation

    def _on_current_cell(self, row: int, _col: int, _prev_row: int, _prev_col: int) -> None:
        if row >= 0 and row != self.current_row:
            self.go_to(row)

    def go_to(self, row: int) -> None:
        """Show ranked section ``row`` (0 = the top) in 2-D and highlight the class on it."""
        if self.ranking is None or not 0 <= row < len(self.ranking):
            return
        self.current_row = row
        self.table.blockSignals(True)
        self.table.setCurrentCell(row, 0)
        self.table.blockSignals(False)
        self._update_buttons()
        section = self.ranking[row]
        self.section_chosen.emit(section.key)
        if not self.navigate:
            return
        layer = self._highlight(row)
        if layer is None:
            return
        axis, order = section_dims(section.kind)
        dims = self.viewer.dims
        if dims.ndim != 3:
            self.tell(f"cannot show a section in a {dims.ndim}-D viewer", "warning")
            return
        dims.ndisplay = 2
        dims.order = order
        dims.set_point(axis, float(layer.translate[axis]))
        self.viewer.reset_view()

    def next_row(self) -> None:
        if self.ranking is not None and len(self.ranking):
            self.go_to(min(self.current_row + 1, len(self.ranking) - 1))

    def previous_row(self) -> None:
        if self.ranking is not None and len(self.ranking):
            self.go_to(max(self.current_row - 1, 0))

    def _geometry(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(scale, translate)`` of the run's volume in world coordinates."""
        assert self.store is not None
        shape = self.store.volume_shape
        candidates = [
            layer
            for layer in self.viewer.layers
            if layer.name != HOTSPOT_LAYER and layer.ndim == 3 and tuple(layer.data.shape) == shape
        ]
        candidates.sort(key=lambda layer: not isinstance(layer, Image))  # the seismic first
        if candidates:
            return tuple(candidates[0].scale), tuple(candidates[0].translate)
        geometry = [_axis_geometry(self.store, axis) for axis in (0, 1)] + [(1.0, 0.0)]
        return tuple(g[0] for g in geometry), tuple(g[1] for g in geometry)

    def _highlight(self, row: int) -> Any:
        """Put ranked section ``row``'s class values into the ``hotspot`` layer."""
        assert self.store is not None and self.ranking is not None
        ranking = self.ranking
        section = ranking[row]
        try:
            values = section_highlight(
                self.store, section, ranking.statistic, ranking.class_id, ranking.epoch
            )
        except (ValueError, KeyError, IndexError) as exc:
            self.tell(str(exc), "warning")
            return None
        axis, _ = section_dims(section.kind)
        # the depth-down section (sample, other axis) as a one-voxel-thick slab of the volume
        data = values.T[None] if axis == 0 else values.T[:, None, :]
        scale, translate = self._geometry()
        translate = list(translate)
        translate[axis] += scale[axis] * section.index
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        limits = (0.0, top if top > 0 else 1.0)
        cname = "all" if ranking.class_id is None else str(ranking.class_name)
        meta = {
            "hotspot": {
                "run": str(self.store.path),
                "section": section.key,
                "class": ranking.class_name,
                "statistic": ranking.statistic,
                "epoch": ranking.epoch,
            }
        }
        # per class: all class pixels tinted, so that event-free ones show too; for total
        # forgetting only the pixels with events
        colormap = _colormap(f"hotspot {cname}", 0.0 if ranking.class_id is None else 0.35)
        if HOTSPOT_LAYER in self.viewer.layers:
            layer = self.viewer.layers[HOTSPOT_LAYER]
            layer.scale = scale
            layer.translate = translate
            layer.data = data
            layer.colormap = colormap
            layer.contrast_limits = limits
            layer.metadata = meta
        else:
            layer = self.viewer.add_image(
                data,
                name=HOTSPOT_LAYER,
                scale=scale,
                translate=translate,
                colormap=colormap,
                contrast_limits=limits,
                blending="translucent",
                metadata=meta,
            )
        return layer

    # ------------------------------------------------------------------ selection, export

    def use_as_style_sources(self) -> StyleSources | None:
        """Keep the top-N sections (spin box) as the run's style sources (``run.json``)."""
        if self.store is None or self.ranking is None:
            self.tell("no ranking to select from", "warning")
            return None
        try:
            sources = save_style_sources(self.store, self.ranking, self.top_spin.value())
        except (ValueError, OSError) as exc:
            self.tell(str(exc), "warning")
            return None
        self.tell(
            f"style sources for {sources.class_name} kept with the run: "
            + ", ".join(k.replace(":", " ") for k in sources.sections),
            "info",
        )
        return sources

    def export_csv(self, path: str | os.PathLike) -> Path | None:
        """Write the whole current ranking to ``path``."""
        if self.ranking is None:
            self.tell("no ranking to export", "warning")
            return None
        try:
            out = self.ranking.to_csv(path)
        except OSError as exc:
            self.tell(f"could not write {path}: {exc}", "warning")
            return None
        self.tell(f"ranking written to {out}", "info")
        return out

    def _export_dialog(self) -> None:
        if self.ranking is None or self.store is None:
            self.tell("no ranking to export", "warning")
            return
        what = self.ranking.class_name or "all"
        default = self.store.path / f"hotspots_{what}_{self.ranking.statistic}.csv"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export ranking", str(default), "CSV files (*.csv)"
        )
        if path:
            self.export_csv(path)

    # ------------------------------------------------------------------ helpers

    def _update_buttons(self) -> None:
        n = len(self.ranking) if self.ranking is not None else 0
        self.prev_button.setEnabled(n > 0 and self.current_row > 0)
        self.next_button.setEnabled(n > 0 and self.current_row < n - 1)
        has_class = self.ranking is not None and self.ranking.class_id is not None
        self.select_button.setEnabled(n > 0 and has_class)
        self.export_button.setEnabled(n > 0)
