"""What every dock of the plugin shares: its form, its status line, its place in the window.

* **The form scrolls, vertically only** (:meth:`ForgettingDock.place`): a dock never makes
  the window taller than the screen nor clips on the right; drop-downs and file pickers are
  made narrow enough for a dock a third of a 1280-px window wide (:func:`compact`).
* **The status line** sits under the form, always in view, word-wrapped: :meth:`tell` writes
  it, keeps the message (``messages``, ``last_message``) and shows it as a napari
  notification (a warning said once, not again at every poll).
* **One window of tabs**: the plugin's docks opened together become tabs of one dock area
  (Qt's ``QMainWindow.tabifyDockWidget``), the newest in front, as micro-sam's annotator
  does, instead of a column of docks taller than the screen.
* **Layer pickers** (:meth:`layer_pickers`): the seismic and labels drop-downs, the plugin's
  own layers left out, kept current as layers come and go.
* **The job life cycle**: ``worker`` and ``pbar``, :meth:`stop`, :meth:`close_progress`,
  :meth:`shutdown` (every worker of :meth:`background_workers` stopped and awaited) on close.
* **The colour scale** of the heat maps, off the data (:meth:`show_scale`), and tooltips by
  attribute name (:meth:`explain`).

Only Qt's public API is used: the dock is found as this widget's ``QDockWidget`` ancestor and
the window as that dock's ``QMainWindow`` parent.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

__all__ = ["DOCK_MIN_WIDTH", "ForgettingDock", "compact", "compact_file_edits", "folded"]

#: The narrowest a dock's form may need: a third of a 1280-px window, less napari's margins.
DOCK_MIN_WIDTH = 330
#: Width of the colour scale drawn in a dock (px): narrower than the narrowest dock's form.
SCALE_WIDTH = 280
#: Characters a drop-down keeps visible before it elides (a layer or class name).
COMBO_CHARS = 10
_NOTIFY = {"info": show_info, "warning": show_warning, "error": show_error}


def compact(form: QWidget) -> None:
    """Narrow what would widen ``form`` past a dock: labels wrap, drop-downs elide long
    names, nested rows and sections lose their margins (magicgui gives every container 9 px
    a side)."""
    for child in form.findChildren(QWidget):
        layout = child.layout()
        if layout is not None and child is not form:
            layout.setContentsMargins(0, 0, 0, 0)
    for label in form.findChildren(QLabel):  # a long result line wraps, never widens the dock
        label.setWordWrap(True)
    for combo in form.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
        combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


def compact_file_edits(*edits: Any) -> None:
    """magicgui ``FileEdit`` buttons as "…" (their caption moves to the tooltip)."""
    for edit in edits:
        caption = edit.choose_btn.text
        edit.choose_btn.text = "…"
        edit.choose_btn.tooltip = caption
        edit.choose_btn.native.setMaximumWidth(32)


def folded(title: str, content: Any, expanded: bool) -> QCollapsible:
    """``content`` (a magicgui Container or a QWidget) under a title that folds it away."""
    box = QCollapsible(title)
    box.addWidget(getattr(content, "native", content))
    if expanded:
        box.expand(animate=False)
    else:
        box.collapse(animate=False)
    return box


class ForgettingDock(QWidget):
    """Base of the plugin's docks (see the module docstring)."""

    #: attribute names of the dock's primary actions (:meth:`primary_actions`)
    PRIMARY: tuple[str, ...] = ()
    _made = 0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: what the dock told the user, the latest last (the last 200)
        self.messages: deque[str] = deque(maxlen=200)
        self.last_message = ""
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        #: the heat maps' colour scale, off the data (:meth:`show_scale`); each dock puts it
        #: in its form where it reads best
        self.scale = QLabel()
        self.scale.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.scale.setVisible(False)
        #: the dock's background job (a napari thread_worker) and its progress bar
        self.worker: Any = None
        self.pbar: Any = None
        self._pickers: tuple = ()  # layer_pickers' drop-downs, for docks that have them
        self._joined = False
        ForgettingDock._made += 1
        self._order = ForgettingDock._made  # the first made of a window's docks anchors its tabs

    # ------------------------------------------------------------------ layout

    def place(self, form: QWidget, scroll: bool = True) -> None:
        """Lay out ``form`` (in a vertical-only scroll area unless ``scroll`` is false, for a
        dock embedded in another) above the status line."""
        compact(form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if scroll:
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            area.setFrameShape(QScrollArea.Shape.NoFrame)
            area.setWidget(form)
            layout.addWidget(area)
            self.setMinimumWidth(DOCK_MIN_WIDTH)
        else:
            layout.addWidget(form)
        self.status.setContentsMargins(6, 2, 6, 4)
        layout.addWidget(self.status)

    def explain(self, tips: dict[str, str]) -> None:
        """Tooltips by attribute name (magicgui widgets and Qt widgets alike); a tooltip
        already set is kept."""
        for name, tip in tips.items():
            widget = getattr(self, name)
            native = getattr(widget, "native", widget)
            if not native.toolTip():
                native.setToolTip(tip)

    def primary_actions(self) -> list[QWidget]:
        """The Qt widgets of the dock's primary actions (kept in view without scrolling)."""
        return [getattr(w, "native", w) for w in (getattr(self, n) for n in self.PRIMARY)]

    # ------------------------------------------------------------------ layer pickers

    def layer_pickers(self, viewer: Any) -> None:
        """``self.seismic`` and ``self.labels``: drop-downs of the viewer's 3-D Image and
        Labels layers (the plugin's own layers left out), each set to the first there is and
        kept up to date as layers come and go (:meth:`reset_choices`)."""
        from magicgui.widgets import ComboBox

        self._picker_viewer = viewer  # before the pickers: they ask for their choices at once
        self.seismic = ComboBox(label="seismic", choices=self._image_layers, nullable=True)
        self.labels = ComboBox(label="labels", choices=self._labels_layers, nullable=True)
        self._pickers = (self.seismic, self.labels)
        viewer.layers.events.inserted.connect(self.reset_choices)
        viewer.layers.events.removed.connect(self.reset_choices)

    def own_layers(self) -> tuple:
        """The layers this dock made (never offered as its inputs)."""
        return ()

    def _image_layers(self, _widget: Any = None) -> list:
        from napari.layers import Image

        own = self.own_layers()
        return [
            (layer.name, layer)
            for layer in self._picker_viewer.layers
            if isinstance(layer, Image)
            and layer.ndim == 3
            and not {"kind", "hotspot"} & set(layer.metadata or {})  # the plugin's maps
            and layer not in own
        ]

    def _labels_layers(self, _widget: Any = None) -> list:
        from napari.layers import Labels

        own = self.own_layers()
        return [
            (layer.name, layer)
            for layer in self._picker_viewer.layers
            if isinstance(layer, Labels) and layer.ndim == 3 and layer not in own
        ]

    def reset_choices(self, event: Any = None) -> None:
        """The pickers' choices anew; an empty one takes the first layer there is (napari
        also calls this on a dock as layers change)."""
        for combo in self._pickers:
            combo.reset_choices()
            layers = [c for c in combo.choices if c is not None]
            if combo.value is None and layers:
                combo.value = layers[0]

    # ------------------------------------------------------------------ colour scale

    def show_scale(self, low: float, high: float, zero: Any = None) -> None:
        """Draw the heat maps' colour scale (:func:`~.live_layers.colour_scale_image`):
        titled, whole-number cells, the undrawn counts as an empty box (``zero``: the colour
        zero is drawn in, where no section lies beneath)."""
        from napari_forgetting._napari.live_layers import colour_scale_image
        from napari_forgetting._napari.widgets.plots import rgba_pixmap

        self.scale.setPixmap(rgba_pixmap(colour_scale_image(low, high, width=SCALE_WIDTH,
                                                            zero=zero)))  # fmt: skip
        first = max(1, math.ceil(low))
        self.scale.setToolTip(f"forgetting events per pixel, {first} to {high:g} coloured")
        self.scale.setVisible(True)

    # ------------------------------------------------------------------ status line

    def tell(self, message: str, level: str | None = "info") -> None:
        """``message`` in the status line and, unless ``level`` is None, as a napari
        notification of that level (``info``, ``warning``, ``error``); a warning repeated
        word for word is not notified again."""
        repeated = message == self.last_message
        self.messages.append(message)
        self.last_message = message
        self.status.setText(message)
        self.status.setToolTip(message)
        if level is not None and not (repeated and level == "warning"):
            _NOTIFY[level](message)

    # ------------------------------------------------------------------ background jobs

    #: What the status line says when Stop is clicked.
    STOPPING = "stopping after the current batch ..."

    def background_workers(self) -> list[Any]:
        """The dock's workers that may be running (stopped and awaited on close)."""
        return [self.worker]

    def stop(self) -> None:
        """Ask the running job to stop at its next step; it ends as it would (its files
        keep the last complete step)."""
        if self.worker is not None:
            self.worker.quit()
            self.status.setText(self.STOPPING)

    def close_progress(self) -> None:
        """Close the job's progress bar (napari's activity dock), if open."""
        if self.pbar is not None:
            self.pbar.close()
            self.pbar = None

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop every running job of the dock and wait for its worker (on close, in tests)."""
        for worker in self.background_workers():
            if worker is not None:
                worker.quit()
                worker.await_workers(msecs=int(timeout_s * 1000))
        self.close_progress()

    def on_close(self) -> None:
        """What a dock releases when it closes, after its jobs stopped (a hook)."""

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.shutdown()
        self.on_close()
        super().closeEvent(event)

    # ------------------------------------------------------------------ tabs

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._joined:
            self._joined = True
            QTimer.singleShot(0, self.join_sibling_docks)

    def dock(self) -> QDockWidget | None:
        """The ``QDockWidget`` this widget is the dock of (None when embedded in another of
        ours, or not docked)."""
        widget = self.parentWidget()
        while widget is not None:
            if isinstance(widget, ForgettingDock):
                return None
            if isinstance(widget, QDockWidget):
                return widget
            widget = widget.parentWidget()
        return None

    def join_sibling_docks(self) -> None:
        """Tab this dock with the plugin's other docks in the same area (behind the first
        of them opened, so docks opened together make one group), this one in front."""
        dock = self.dock()
        window = dock.parentWidget() if dock is not None else None
        if not isinstance(window, QMainWindow):
            return
        # the tab says the dock's name, not the plugin's too ("Hotspots (napari-forgetting)")
        dock.setWindowTitle(dock.windowTitle().replace(" (napari-forgetting)", ""))
        area = window.dockWidgetArea(dock)
        anchors = [
            (w._order, other)
            for other in window.findChildren(QDockWidget)
            if other is not dock and not other.isFloating() and window.dockWidgetArea(other) == area
            for w in other.findChildren(ForgettingDock)
            if w.dock() is other
        ]
        if anchors:
            window.tabifyDockWidget(min(anchors, key=lambda a: a[0])[1], dock)
            dock.show()
            dock.raise_()
