"""An epoch movie: how a run's heat map on one section grows, rendered by napari-animation.

:func:`render_epoch_movie` shows :class:`~napari_forgetting.runs.epoch_frames.EpochFrames` in a
viewer of its own (never the user's: its layers and dims stay as they are): the section's
seismic in grey (or its labels when the run's data is not at hand), the heat map stack
``(epoch, rows, cols)`` on top with the live layers' colour map (zero transparent) and
colour bar, and a caption naming the run, the section and the epoch. One napari-animation
key frame per epoch moves the epoch axis, so each frame of the movie is one epoch. The file
is written beside ``out`` and moved into place when complete.

Used by ``napari-forgetting movie`` and the training dock's *Save movie*.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from napari_forgetting._napari.layers import labels_colormap
from napari_forgetting._napari.live_layers import colour_scale_image, forgetting_colormap
from napari_forgetting._napari.side_view import text_overlay
from napari_forgetting.data.volume import symmetric_limits
from napari_forgetting.runs.epoch_frames import EpochFrames, check_movie_path

__all__ = ["render_epoch_movie"]


def _viewer_of(frames: EpochFrames, size: tuple[int, int], class_names: Any) -> Any:
    """A viewer of its own showing ``frames`` at their first epoch, its canvas ``size``.

    Shown, not hidden: a hidden canvas renders black. Its layer docks are hidden and the
    canvas fixed at ``size`` (width, height), whatever the screen."""
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_forgetting._napari.qt_access import fix_canvas_size, hide_layer_docks

    viewer = napari.Viewer(title=f"napari-forgetting: epoch movie of {frames.run}")
    hide_layer_docks(viewer)
    fix_canvas_size(viewer, size)
    QApplication.processEvents()
    if frames.seismic is not None:
        viewer.add_image(
            frames.seismic,
            name="seismic",
            colormap="gray",
            contrast_limits=symmetric_limits(frames.seismic),
        )
    else:
        n = int(frames.labels.max()) + 1 if class_names is None else len(class_names)
        viewer.add_labels(frames.labels, name="labels", colormap=labels_colormap(n), opacity=0.6)
    viewer.add_image(
        frames.heat,
        name="forgetting events",
        colormap=forgetting_colormap(),
        contrast_limits=(0.0, frames.upper),
        blending="translucent",
    )
    _add_scale(viewer, frames)
    overlay = text_overlay(viewer)
    overlay.visible = True
    overlay.position = "top_left"
    # the caption fits the frame's width (it was cut at 640 px): napari draws about one
    # pixel per point and character (measured), so a point per pixel of width and character
    longest = max(len(frames.title(e)) for e in range(frames.n_epochs))
    overlay.font_size = max(7.0, min(14.0, size[0] / longest))

    def caption(event: Any = None) -> None:
        overlay.text = frames.title(int(viewer.dims.current_step[0]))

    viewer.dims.events.current_step.connect(caption)
    viewer.dims.set_current_step(0, 0)
    caption()
    viewer.reset_view()
    return viewer


#: The movie's colour scale, under the section: this share of its width, or of its height
#: for a tall narrow section (a crossline of few inlines), whichever is wider.
SCALE_SHARE = (0.6, 0.45)


def _add_scale(viewer: Any, frames: EpochFrames) -> Any:
    """The docks' colour scale (:func:`colour_scale_image`) as an RGB layer under the section
    in world coordinates: in every frame, off the data, the same look as in the docks."""
    rows, cols = (float(n) for n in frames.heat.shape[-2:])
    image = colour_scale_image(0.0, frames.upper, width=320, height=64)
    factor = max(SCALE_SHARE[0] * cols, SCALE_SHARE[1] * rows) / image.shape[1]
    return viewer.add_image(
        image,
        rgb=True,
        name="colour scale",
        scale=(factor, factor),
        translate=(rows + 0.04 * rows, (cols - factor * image.shape[1]) / 2),
    )


def render_epoch_movie(
    frames: EpochFrames,
    out: str | os.PathLike,
    *,
    fps: float = 2.0,
    size: tuple[int, int] = (1280, 800),
    class_names: Any = None,
) -> Path:
    """Write the movie of ``frames`` to ``out`` (one frame per epoch, ``fps`` frames per
    second, ``size`` = (width, height) of the canvas); returns the path written."""
    from napari_animation import Animation

    out = check_movie_path(out)
    viewer = _viewer_of(frames, size, class_names)
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        animation = Animation(viewer)
        for epoch in range(frames.n_epochs):
            viewer.dims.set_current_step(0, epoch)
            animation.capture_keyframe(steps=1)
        animation.animate(str(partial), fps=fps, canvas_only=True)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        viewer.close()
    return out
