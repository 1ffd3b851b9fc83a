"""``napari-forgetting demo``: the sample volume in napari, training live at once.

The training widget is docked with a small CPU-friendly configuration (64 x 64 patches,
batch 8, 32 patches per epoch, one core left to the GUI) and started without any click; the
view shows a tracked (validation) inline depth-down, so the first heat map appears on screen.
``--screenshot`` saves the window after the last epoch, ``--quit`` closes it then.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["run_demo"]


def run_demo(
    data: str | None = None,
    *,
    epochs: int | None = None,
    screenshot: str | None = None,
    quit: bool = False,
    t0: float | None = None,
    view: str = "inline",
) -> int:
    """Open the viewer, start training, run the Qt event loop; returns the exit status.
    ``epochs``: ``None``, where the Live training dock starts. ``view``: after the last epoch,
    ``inline`` (as it trained), ``crossline`` or ``3d`` (the dock's 3-D survey view)."""
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from napari_forgetting._napari.layers import DEPTH_DOWN_ORDER
    from napari_forgetting._napari.sample_data import sample_path
    from napari_forgetting._napari.widgets.training import TrainingWidget
    from napari_forgetting.training.live import EpochDone, SweepShown, TrainingFailed

    t0 = time.monotonic() if t0 is None else t0
    if epochs is None:
        from napari_forgetting.training.config import TrainConfig
        from napari_forgetting.training.options import describe

        epochs = int(describe(TrainConfig, "epochs").dock_value)
    path = data or sample_path()
    viewer = napari.Viewer(title="napari-forgetting demo")
    viewer.window.resize(1280, 800)
    layers = viewer.open(str(path), plugin="napari-forgetting")
    viewer.dims.order = DEPTH_DOWN_ORDER
    widget = TrainingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Live training", area="right")
    n_inlines = layers[0].data.shape[0]
    every = int(widget.every.value)
    shown = min(n_inlines - 1, every * round(n_inlines / 2 / every))  # a tracked inline
    viewer.dims.set_point(0, layers[0].translate[0] + shown * layers[0].scale[0])
    QApplication.processEvents()
    viewer.reset_view()
    state: dict[str, Any] = {"status": 0, "first": None}

    def save_and_maybe_quit() -> None:
        plot = widget.view.metrics_plot
        if plot is not None:
            plot.wait()  # the last epoch's curves rendered (off the GUI thread)
        if view == "3d":
            widget.view_survey_3d()
        elif view == "crossline":
            widget.view_sections("crossline")
        QApplication.processEvents()
        if screenshot:
            save_screenshot(viewer, screenshot)
        if quit:
            viewer.close()
            QApplication.quit()

    if epochs <= 0 or len(layers) < 2:
        if epochs > 0:
            print("no labels layer: nothing to train on", file=sys.stderr)
        save_and_maybe_quit()
        if quit:
            return 0
        napari.run()
        return 0

    def on_event(event: Any) -> None:
        if isinstance(event, (SweepShown, EpochDone)) and state["first"] is None:
            # drawn in part while the first pass runs (SweepShown), else at the epoch's end
            state["first"] = time.monotonic() - t0
            part = (
                f" ({event.done} of {event.total} sections evaluated)"
                if isinstance(event, SweepShown)
                else ""
            )
            print(
                f"first heat map shown {state['first']:.1f} s after launch{part}", file=sys.stderr
            )
        elif isinstance(event, TrainingFailed):
            state["status"] = 1
            print(f"training failed: {event.message}", file=sys.stderr)

    def on_finished() -> None:
        QTimer.singleShot(200, save_and_maybe_quit)  # after the widget drew the last epoch

    if len(layers) > 1:
        layers[1].visible = False  # the heat map reads on the seismic, as the paper's Fig. 2
    widget.epochs.value = int(epochs)
    widget.device.value = "cpu" if _cpu_only() else "auto"
    widget.start()
    if widget.worker is None:
        return 1
    widget.worker.yielded.connect(on_event)
    widget.worker.finished.connect(on_finished)
    napari.run()
    widget.shutdown()
    return int(state["status"])


def _cpu_only() -> bool:
    import torch

    return not torch.cuda.is_available()


def run_report_view(
    report: str,
    *,
    split: str | None = None,
    seed: int | None = None,
    section: str | None = None,
    screenshot: str | None = None,
    quit: bool = False,
) -> int:
    """napari with the Compare dock on the report folder ``report`` (Fig. 5, interactive):
    ``split`` / ``seed`` / ``section`` chosen as given (the command line checks them against
    the report first); ``screenshot`` saved once drawn, ``quit`` closes the viewer then.
    Returns the exit status (2: the report or the section could not be shown)."""
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_forgetting._napari.widgets.compare import CompareWidget

    viewer = napari.Viewer(title=f"napari-forgetting: {Path(report).name}")
    viewer.window.resize(1280, 800)
    widget = CompareWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Compare report", area="right")
    status = 0 if widget.open_report(report) else 2
    if status == 0:
        if split is not None:
            widget.set_split(split)
        if seed is not None:
            widget.set_seed(seed)
        if section is not None and widget.show_section(section) is None:
            status = 2
    QApplication.processEvents()
    if screenshot and status == 0:
        save_screenshot(viewer, screenshot)
    if quit or status != 0:
        viewer.close()
        return status
    napari.run()
    return status


def run_pool_view(
    browse: Any, *, item: int = 0, screenshot: str | None = None, quit: bool = False
) -> int:
    """napari browsing the augmented pool ``browse`` (a
    :class:`~napari_forgetting.workflow.pool_browse.PoolBrowse`): targets, generated sections
    and differences side by side (:class:`~.._napari.pool_view.PoolView`, in this viewer: it
    holds nothing else), at item ``item`` (0-based); ``screenshot`` saved once drawn, ``quit``
    closes the viewer then. Returns the exit status."""
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_forgetting._napari.pool_view import PoolView

    viewer = napari.Viewer(title=f"napari-forgetting: pool {browse.path.name}")
    viewer.window.resize(1280, 800)
    view = PoolView(viewer)
    view.show(browse)
    caption = view.go_to(item)
    print(caption.replace("\n", "; "), file=sys.stderr)
    QApplication.processEvents()
    if screenshot:
        save_screenshot(viewer, screenshot)
    if quit:
        viewer.close()
        return 0
    napari.run()
    return 0


def save_screenshot(viewer: Any, path: str) -> None:
    """The whole window as a PNG at ``path`` (folders made), said on stderr."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(path), canvas_only=False, flash=False)
    print(f"screenshot: {path}", file=sys.stderr)
