"""The one place that reaches into napari's Qt objects where napari (0.9) has no public API.

* :func:`main_window`: the viewer's ``QMainWindow`` -- to follow its closing (a side view
  closes with it) and to tell whether it is still open. napari offers no public handle
  (``viewer.window._qt_window``; napari warns such attributes may go).
* :func:`fix_canvas_size`: a movie camera's canvas at the movie's size in pixels.
* :func:`hide_layer_docks`: hide the layer list and layer controls of a viewer used as a movie
  camera (``viewer.window._qt_viewer``'s docks).

Both are guarded: where a napari version lacks the attribute, the caller gets ``None`` /
nothing is hidden, and the feature degrades instead of failing. Docks find their own window
through Qt's public parent chain (``widgets/dock.py``) and need neither.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fix_canvas_size", "hide_layer_docks", "main_window"]


def main_window(viewer: Any) -> Any:
    """The viewer's ``QMainWindow``, or ``None`` where napari no longer exposes it."""
    return getattr(viewer.window, "_qt_window", None)


def hide_layer_docks(viewer: Any) -> None:
    """Hide the viewer's layer list and layer controls docks (where napari exposes them)."""
    qt_viewer = getattr(viewer.window, "_qt_viewer", None)
    for name in ("dockLayerList", "dockLayerControls"):
        dock = getattr(qt_viewer, name, None)
        if dock is not None:
            dock.setVisible(False)


def fix_canvas_size(viewer: Any, size: tuple[int, int]) -> None:
    """The viewer's canvas fixed at ``size`` (width, height) pixels, whatever the screen."""
    viewer.window._qt_viewer.canvas.native.setFixedSize(int(size[0]), int(size[1]))
