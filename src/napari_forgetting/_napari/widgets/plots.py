"""Matplotlib plots embedded in Qt: metrics against epochs, one pixel's learning history.

The figures take the viewer theme's colours (background, text), so they read on napari's
dark and light themes alike; class lines and bars use the F3 class colours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_forgetting.data import class_colors

__all__ = ["MetricsPlot", "PixelHistoryPlot", "theme_colors"]


def theme_colors(viewer: Any = None) -> tuple[str, str]:
    """``(background, foreground)`` hex colours of the viewer's theme (dark by default)."""
    try:
        from napari.utils.theme import get_theme

        theme = get_theme(viewer.theme if viewer is not None else "dark")
        return theme.background.as_hex(), theme.text.as_hex()
    except Exception:  # noqa: BLE001 - a plot must never fail for a theme lookup
        return "#262930", "#f0f1f2"


def _apply_theme(figure: Figure, axes: Sequence[Any], bg: str, fg: str) -> None:
    """Background ``bg`` and foreground ``fg`` (ticks, spines, labels, titles) of a figure."""
    figure.set_facecolor(bg)
    for ax in axes:
        ax.set_facecolor(bg)
        ax.tick_params(colors=fg, labelsize=8)
        for spine in ax.spines.values():
            spine.set_color(fg)
        ax.xaxis.label.set_color(fg)
        ax.yaxis.label.set_color(fg)
        ax.title.set_color(fg)


def rgba_pixmap(image: np.ndarray) -> QPixmap:
    """A ``QPixmap`` of an ``(H, W, 4)`` uint8 RGBA image (copied: the array may go)."""
    h, w = image.shape[:2]
    qimage = QImage(image.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return QPixmap.fromImage(qimage)


class _FigureWidget(QWidget):
    def __init__(self, viewer: Any = None, n_axes: int = 2, height: float = 4.0) -> None:
        super().__init__()
        self.viewer = viewer
        # fixed margins: a constrained layout costs several renders per redraw, and a redraw
        # runs on the GUI thread while training competes for the CPU
        self.figure = Figure(figsize=(4.5, height))
        self.figure.subplots_adjust(left=0.17, right=0.97, top=0.93, bottom=0.16, hspace=0.55)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.axes = self.figure.subplots(n_axes, 1)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.text)
        layout.addWidget(self.canvas)
        if viewer is not None:
            viewer.events.theme.connect(self._redraw)

    def _style(self) -> tuple[str, str]:
        bg, fg = theme_colors(self.viewer)
        _apply_theme(self.figure, self.axes, bg, fg)
        return bg, fg

    def _redraw(self, event: Any = None) -> None:  # re-styled on a theme change
        self.draw()

    def draw(self) -> None:
        raise NotImplementedError


class MetricsPlot(QWidget):
    """Loss (top) and per-class accuracy (bottom) against epochs; :meth:`set_history`.

    Updated every epoch while training runs, so the figure is built and rendered (Agg) in a
    helper thread and only the finished image is shown on the GUI thread: a render costs
    ~150 ms of Python on an idle CPU, which would otherwise stall the viewer once per epoch.
    Only the helper thread touches the figure; requests arriving during a render are merged
    into one more render.

    The render starts ``render_delay_s`` after a request: an epoch's end is also when the GUI
    thread fills and repaints the live layers, and a render holding the GIL at that moment
    made each of the GUI thread's many GIL hand-overs wait (gaps of ~120 ms in the event loop;
    ``benchmarks/bench_gui.py``). Requests within the delay are merged.
    """

    rendered = Signal(object)
    render_delay_s = 0.4

    def __init__(self, viewer: Any = None, class_names: Sequence[str] = ()) -> None:
        super().__init__()
        self.viewer = viewer
        self.class_names = list(class_names)
        self.history: list[dict[str, Any]] = []
        self.figure = Figure(figsize=(4.5, 4.6), dpi=90)
        self.figure.subplots_adjust(left=0.17, right=0.97, top=0.95, bottom=0.3, hspace=0.45)
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(2, 1)
        self.text = QLabel("no epoch yet")
        self.text.setWordWrap(True)
        self.canvas = QLabel()
        self.canvas.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.canvas.setMinimumSize(240, 260)
        self._width = 0  # the canvas width the last render was drawn for (px)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.text)
        layout.addWidget(self.canvas)
        self._lock = threading.Lock()
        self._request: tuple | None = None
        self._busy = False
        self.renders = 0
        self.rendered.connect(self._show)
        if viewer is not None:
            viewer.events.theme.connect(lambda event=None: self.draw())
        self.draw()

    def set_history(
        self, history: Sequence[dict[str, Any]], class_names: Sequence[str] | None = None
    ) -> None:
        self.history = [dict(h) for h in history]
        if class_names is not None:
            self.class_names = list(class_names)
        self.draw()

    def draw(self) -> None:
        """Update the summary line now and render the figure in the helper thread."""
        h = self.history
        if h:
            last = h[-1]
            self.text.setText(
                f"epoch {int(last.get('epoch', len(h) - 1)) + 1}: loss "
                f"{last.get('loss', float('nan')):.4f}, pixel accuracy "
                f"{last.get('pixel_accuracy', float('nan')):.3f}, mean class accuracy "
                f"{last.get('mean_class_accuracy', float('nan')):.3f}"
            )
        else:
            self.text.setText("no epoch yet")
        # drawn at the dock's width: a fixed-size figure was cut off in a narrow dock
        self._width = max(240, self.canvas.width() if self.canvas.isVisible() else 405)
        request = (list(h), list(self.class_names), theme_colors(self.viewer), self._width)
        with self._lock:
            self._request = request
            if self._busy:
                return
            self._busy = True
        threading.Thread(target=self._render_loop, name="metrics-plot", daemon=True).start()

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until no render is pending (tests, screenshots); True when idle."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self._busy:
                    return True
            time.sleep(0.01)
        return False

    def _render_loop(self) -> None:
        time.sleep(self.render_delay_s)
        while True:
            with self._lock:
                request, self._request = self._request, None
                if request is None:
                    self._busy = False
                    return
            try:
                self._build(*request)
                self.figure.canvas.draw()
                image = np.asarray(self.figure.canvas.buffer_rgba()).copy()
            except Exception:  # noqa: BLE001 - a plot must never take the viewer down
                continue
            self.renders += 1
            try:
                self.rendered.emit(image)
            except RuntimeError:  # the widget was deleted (dock or viewer closed) meanwhile
                with self._lock:
                    self._busy = False
                return

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._width and abs(self.canvas.width() - self._width) > 16:
            self.draw()  # re-rendered at the new width

    def _show(self, image: np.ndarray) -> None:
        self.canvas.setPixmap(rgba_pixmap(image))

    def _build(self, h: list, class_names: list, colors: tuple[str, str], width: int = 405) -> None:
        bg, fg = colors
        self.figure.set_size_inches(width / self.figure.dpi, 4.6)
        loss_ax, acc_ax = self.axes
        loss_ax.clear()
        acc_ax.clear()
        _apply_theme(self.figure, self.axes, bg, fg)
        if h:
            epochs = np.array([e.get("epoch", i) + 1 for i, e in enumerate(h)])
            loss_ax.plot(epochs, [e.get("loss", np.nan) for e in h], "o-", color=fg, ms=3)
            acc = [e.get("class_accuracy") or [] for e in h]
            n = max((len(a) for a in acc), default=0)
            palette = class_colors(n)
            for k in range(n):
                ys = [a[k] if len(a) > k else np.nan for a in acc]
                name = class_names[k] if k < len(class_names) else f"class {k}"
                acc_ax.plot(epochs, ys, "o-", ms=3, color=palette[k][:3], label=name)
            mca = [e.get("mean_class_accuracy", np.nan) for e in h]
            acc_ax.plot(epochs, mca, "--", color=fg, lw=1, label="mean")
            # below the axes, never over the curves
            leg = acc_ax.legend(
                fontsize=7, ncol=4 if width >= 380 else 3, facecolor=bg, edgecolor=fg,
                framealpha=0.8, loc="upper center", bbox_to_anchor=(0.5, -0.32),
            )  # fmt: skip
            for t in leg.get_texts():
                t.set_color(fg)
        for ax, label in ((loss_ax, "training loss"), (acc_ax, "class accuracy")):
            ax.set_ylabel(label, color=fg)
        acc_ax.set_xlabel("epoch", color=fg)
        acc_ax.set_ylim(-0.02, 1.02)
        for ax in self.axes:  # whole epochs
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))


class PixelHistoryPlot(_FigureWidget):
    """A clicked pixel: correctness per epoch with forgetting events marked (top) and its
    section's forgetting density per class (bottom); or a message (untracked pixel)."""

    def __init__(self, viewer: Any = None) -> None:
        super().__init__(viewer, n_axes=2, height=4.0)
        self.history = None
        self.message = "click a pixel on a tracked section"
        self.draw()

    def show_history(self, history: Any) -> None:
        """Show a :class:`~._live.PixelHistory`."""
        self.history = history
        self.message = history.summary()
        self.draw()

    def show_message(self, message: str) -> None:
        self.history = None
        self.message = message
        self.draw()

    def draw(self) -> None:
        hist_ax, dens_ax = self.axes
        hist_ax.clear()
        dens_ax.clear()
        _, fg = self._style()
        self.text.setText(self.message)
        h = self.history
        if h is None:
            self.canvas.draw_idle()
            return
        epochs = np.arange(1, h.correct.size + 1)
        colors = class_colors(len(h.class_names))
        hist_ax.step(epochs, h.correct.astype(int), where="mid", color=fg, lw=1)
        pred_colors = [colors[int(p)][:3] if p < len(colors) else fg for p in h.predictions]
        hist_ax.scatter(epochs, h.correct.astype(int), c=pred_colors, s=25, zorder=3)
        for t in h.forgotten_at:
            hist_ax.axvline(t + 1, color="#d62728", lw=1.5, alpha=0.8)
        if len(h.forgotten_at):
            hist_ax.scatter(
                h.forgotten_at + 1,
                np.zeros(len(h.forgotten_at)),
                marker="x",
                color="#d62728",
                s=60,
                zorder=4,
                label="forgetting event",
            )
        hist_ax.set_yticks([0, 1], ["wrong", "correct"])
        hist_ax.set_ylim(-0.3, 1.3)
        seeds = getattr(h, "seeds", 0)
        if seeds:  # a consensus: the majority's predictions, the seeds' mean count
            mean = h.mean_events
            hist_ax.set_xlabel(f"epoch (marker colour: majority prediction of {seeds} seeds)")
            hist_ax.set_title(
                f"true class: {h.class_names[h.true_class]}; mean forgetting events over "
                f"{seeds} seeds: {'n/a' if mean is None else f'{mean:.2f}'}",
                fontsize=9,
            )
        else:
            hist_ax.set_xlabel("epoch (marker colour: predicted class)")
            hist_ax.set_title(f"true class: {h.class_names[h.true_class]}", fontsize=9)
        names = list(h.class_names)
        bar_colors = [c[:3] for c in colors]
        dens = np.nan_to_num(h.density, nan=0.0)
        dens_ax.bar(range(len(names)), dens, color=bar_colors, edgecolor=fg, lw=0.5)
        dens_ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
        dens_ax.set_ylabel("events / pixel")
        dens_ax.set_title(f"{h.section.kind} {h.section.number:g}: density per class", fontsize=9)
        self.canvas.draw_idle()
