"""The 3-D survey view: the seismic as three orthogonal planes, the tracked sections' heat
maps standing inside it.

napari renders an image layer in 3-D as one opaque block, which hides the sections inside;
here the seismic layer is hidden in 3-D and three plane layers (napari's ``depiction="plane"``:
an inline, a crossline and a time slice through the point in view) show it instead, each
reading a decimated view of the same lazy array, so a survey of F3 size costs a few tens of
megabytes on the GPU rather than a copy of the cube per plane. The map layers (forgetting
events per section kind) draw their hotspots only in 3-D (counts above half the scale,
:meth:`~napari_forgetting._napari.live_layers.LiveLayers.heat_limits`), so the tracked
sections' hotspots stand in the volume and the sections behind them show through. The
camera turns to an oblique view, depth down, the whole survey in the canvas. Back in 2-D the
planes are hidden and the seismic shown again. Facies labels are hidden in the survey view
(they would cover the planes as one translucent block) and shown again in 2-D.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from napari.layers import Labels

from napari_forgetting._napari.layers import DEPTH_DOWN_ORDER

__all__ = ["PLANE_NAMES", "MAX_PLANE_VOXELS", "plane_step", "show_survey_3d"]

#: The three plane layers, by the axis their plane is normal to.
PLANE_NAMES = {
    0: "seismic plane (inline)",
    1: "seismic plane (crossline)",
    2: "seismic plane (sample)",
}
#: The camera of the survey view: oblique, depth down, the whole survey in the canvas.
SURVEY_ANGLES = (-155.0, 35.0, 210.0)
SURVEY_ZOOM = 0.7
#: Voxels of the decimated volume the planes read (every ``plane_step``-th sample per axis).
MAX_PLANE_VOXELS = 24_000_000


def plane_step(shape: tuple[int, ...], max_voxels: int = MAX_PLANE_VOXELS) -> int:
    """The decimation keeping a volume of ``shape`` under ``max_voxels`` (1: none)."""
    return max(1, math.ceil((math.prod(int(n) for n in shape) / max_voxels) ** (1 / 3)))


def show_survey_3d(viewer: Any, seismic: Any) -> list[Any]:
    """Switch ``viewer`` to 3-D with ``seismic`` (an Image layer) drawn as three orthogonal
    planes through the current point; returns the plane layers (added once, reused)."""
    data = seismic.data[0] if seismic.multiscale else seismic.data
    step = plane_step(tuple(data.shape))
    scale = np.asarray(seismic.scale, float) * step
    translate = np.asarray(seismic.translate, float)
    point = np.asarray(viewer.dims.point, float)[-3:]
    at = np.clip(np.round((point - translate) / scale), 0, None)
    sub = data[::step, ::step, ::step]
    at = np.minimum(at, np.asarray(sub.shape) - 1)
    planes = []
    new = not any(name in viewer.layers for name in PLANE_NAMES.values())
    for axis, name in PLANE_NAMES.items():
        normal = tuple(float(a == axis) for a in range(3))
        position = tuple(float(at[a]) if a == axis else sub.shape[a] / 2 for a in range(3))
        plane = {"position": position, "normal": normal, "thickness": 1.0}
        if name in viewer.layers:
            layer = viewer.layers[name]
            layer.plane = plane
        else:
            layer = viewer.add_image(
                sub,
                name=name,
                colormap=seismic.colormap,
                contrast_limits=tuple(seismic.contrast_limits),
                scale=tuple(scale),
                translate=tuple(translate),
                axis_labels=tuple(seismic.axis_labels),
                depiction="plane",
                plane=plane,
                blending="translucent_no_depth",
                metadata={"kind": "survey_plane"},
            )
        planes.append(layer)
    # the planes stay under the map layers: first in the layer list
    for layer in planes:
        index = viewer.layers.index(layer)
        if index != 0:
            viewer.layers.move(index, 0)
    _follow_display(viewer, seismic, planes, new)
    viewer.dims.order = DEPTH_DOWN_ORDER  # the axes the camera angles below are for
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    # napari 0.9 moved the camera to viewer.scene (viewer.camera is deprecated there)
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.angles = SURVEY_ANGLES
    camera.zoom = camera.zoom * SURVEY_ZOOM
    return planes


def _follow_display(viewer: Any, seismic: Any, planes: list[Any], new: bool) -> None:
    """In 3-D the planes stand for the seismic; in 2-D the seismic for the planes (connected
    when the planes are first added; the seismic is the one the planes were made from)."""
    for layer in planes:
        layer.metadata["seismic"] = seismic

    def apply(event: Any = None) -> None:
        three = viewer.dims.ndisplay == 3
        # facies labels would stand as one translucent block over the planes: hidden in the
        # survey view, shown again in 2-D (only those this view hid)
        for layer in viewer.layers:
            if isinstance(layer, Labels) and layer.ndim == 3:
                if three and layer.visible and not layer.metadata.get("kind"):
                    layer.visible = False
                    layer.metadata["hidden_in_3d"] = True
                elif not three and layer.metadata.pop("hidden_in_3d", False):
                    layer.visible = True
        for name in PLANE_NAMES.values():
            if name in viewer.layers:
                plane = viewer.layers[name]
                plane.visible = three
                shown = plane.metadata.get("seismic")
                if shown is not None and shown in viewer.layers:
                    shown.visible = not three

    if new:
        viewer.dims.events.ndisplay.connect(apply)
    apply()
