"""An augmented pool browsed in a 2-D view of its own, never over the survey.

:class:`PoolView` shows a :class:`~napari_forgetting.workflow.pool_browse.PoolBrowse` in the
:class:`~napari_forgetting._napari.side_view.SideView` of the dock that asks (a second
window once the dock's viewer holds a volume): side by side, the target section as it was,
the generated section and their difference, with the class region outlined on the first
two; the slider runs over the pool's items (the inline targets, then the crossline ones:
each kind's layers hold its items at their positions, so one slider browses both widths),
and the text overlay says what the item in view is and how much the transfer changed it.
The layers are views of the pool's memory maps and of lazy dask stacks: an item is read
when shown. Contrast limits are explicit (from the first item of each kind), as napari asks
of lazy data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.layers import Image, Labels
from napari.utils.colormaps import DirectLabelColormap

from napari_forgetting._napari.side_view import SideView, text_overlay
from napari_forgetting.data.volume import symmetric_limits
from napari_forgetting.workflow.pool_browse import per_item

__all__ = ["PANELS", "PoolView", "pool_layer_name"]

#: The panels, left to right: (role, name stem).
PANELS = (("targets", "target"), ("images", "generated"), ("difference", "generated - target"))
_GAP = 0.1  # between panels, as a fraction of the section width
_REGION = DirectLabelColormap(
    color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0), 1: (1.0, 0.5, 0.05, 1.0)}
)


def pool_layer_name(stem: str, kind: str) -> str:
    """``"pool: generated (inline)"``."""
    return f"pool: {stem} ({kind})"


class PoolView:
    """Where one dock browses augmented pools (see the module docstring)."""

    def __init__(self, viewer: Any) -> None:
        self.side = SideView(viewer, "napari-forgetting: augmented pool")
        self.layers: dict[str, Any] = {}
        self.browse: Any = None
        self._viewer: Any = None

    def show(self, browse: Any) -> Any:
        """Show the pool ``browse`` (replacing the one shown); returns the viewer used."""
        viewer, _ = self.side.target(self.layers.values())
        for layer in list(self.layers.values()):
            if layer in viewer.layers:
                viewer.layers.remove(layer)
        self.layers = {}
        self.browse = browse
        for stack in browse.stacks:
            width = int(stack.images.shape[2])
            first = np.asarray(stack.images[0])
            limits = symmetric_limits(first)
            if stack.targets is not None:
                limits = symmetric_limits(np.concatenate([first, np.asarray(stack.targets[0])]))
            x = 0.0
            for role, stem in PANELS:
                data = getattr(stack, role)
                if data is None:
                    continue
                translate = (float(stack.start), 0.0, x)
                name = pool_layer_name(stem, stack.kind)
                diff = role == "difference"
                layer = Image(
                    data,
                    name=name,
                    colormap="PiYG" if diff else "gray",
                    contrast_limits=(limits[0] / 2, limits[1] / 2) if diff else limits,
                    translate=translate,
                    axis_labels=("pool item", "sample", "trace"),
                    metadata={"kind": "pool", "role": role},
                )
                self.layers[name] = layer
                viewer.add_layer(layer)
                if not diff:
                    region = (per_item(stack.labels) == browse.class_id).astype(np.uint8)
                    outline = Labels(
                        region,
                        name=pool_layer_name(f"{stem} {browse.class_name} region", stack.kind),
                        colormap=_REGION,
                        translate=translate,
                        metadata={"kind": "pool", "role": "region"},
                    )
                    outline.contour = 1
                    self.layers[outline.name] = outline
                    viewer.add_layer(outline)
                x += width * (1 + _GAP)
        self._caption_to(viewer)
        viewer.dims.set_current_step(0, 0)
        viewer.reset_view()
        return viewer

    def _caption_to(self, viewer: Any) -> None:
        overlay = text_overlay(viewer)
        overlay.visible = True
        overlay.position = "top_left"
        overlay.font_size = 12
        if self._viewer is not viewer:
            viewer.dims.events.current_step.connect(self.caption)
            self._viewer = viewer
        self.caption()

    def caption(self, event: Any = None) -> str:
        """The text overlay for the item in view (also returned)."""
        viewer, browse = self._viewer, self.browse
        if viewer is None or browse is None:
            return ""
        item = int(viewer.dims.current_step[0])
        try:
            text = browse.describe(item)
        except IndexError:
            text = ""
        if browse.no_targets:
            text += f"\n(targets not shown: {browse.no_targets})"
        else:
            text += "\nleft to right: the target as it was, generated, generated - target"
        text_overlay(viewer).text = text
        return text

    def go_to(self, item: int) -> str:
        """Browse to item ``item`` (0-based); returns its caption."""
        self._viewer.dims.set_current_step(0, int(item))
        return self.caption()

    def close(self) -> None:
        self.side.close()
