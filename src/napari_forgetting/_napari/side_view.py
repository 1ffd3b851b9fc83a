"""A dock's 2-D figures in a view that never overlaps the volume.

A dock that draws sections side by side (the Transfer preview, the Compare report's Fig. 5
panels) draws them in the viewer it is docked in only while that viewer holds nothing but
those layers; once it holds anything else (a seismic volume), in a viewer of its own -- a
second window, created on first use and again after the user closed it. The dock's layers
are moved out of its viewer then, so the volume's view is never rearranged. The second
window closes with the dock's viewer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from napari_forgetting._napari.qt_access import main_window
from napari_forgetting._napari.widgets.lifetime import exists

__all__ = ["SideView", "grid_of", "text_overlay"]


class SideView:
    """Where one dock draws its 2-D figures (see the module docstring)."""

    def __init__(self, viewer: Any, title: str) -> None:
        self.viewer = viewer
        self.title = title
        #: the viewer of its own, once one was needed
        self.own: Any = None
        window = main_window(viewer)
        if window is not None:
            window.destroyed.connect(self.close)

    def close(self, *_: Any) -> None:
        """Close the viewer of its own, if open (the dock's viewer closed, or the dock)."""
        own, self.own = self.own, None
        if own is not None and _is_open(own):
            own.close()

    def target(self, layers: Iterable[Any]) -> tuple[Any, bool]:
        """``(viewer, fresh)``: where to draw the dock's ``layers`` now; ``fresh`` when that
        viewer was just created (the caller's layers are then in none: make them anew)."""
        mine = list(layers)
        if self.own is not None and _is_open(self.own):
            return self.own, False
        if all(any(layer is own for own in mine) for layer in self.viewer.layers):
            return self.viewer, False
        import napari

        for layer in mine:  # drawn in the dock's viewer before it got a volume
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        grid_of(self.viewer).enabled = False
        self.own = napari.Viewer(title=self.title)
        return self.own, True


def _is_open(viewer: Any) -> bool:
    """``viewer``'s window has not been closed."""
    window = main_window(viewer)
    return window is not None and exists(window) and window.isVisible()


def grid_of(viewer: Any) -> Any:
    """The viewer's grid settings (``viewer.canvas.grid`` since napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    return getattr(canvas, "grid", None) or viewer.grid


def text_overlay(viewer: Any) -> Any:
    """The viewer's text overlay (``viewer.canvas.overlays["text"]`` since napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    return canvas.overlays["text"] if canvas is not None else viewer.text_overlay
