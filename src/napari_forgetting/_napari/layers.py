"""Turn a core :class:`~napari_forgetting.data.SeismicVolume` into napari layer-data tuples."""

from __future__ import annotations

import numpy as np

from napari_forgetting.data import SeismicVolume, class_colors

AXIS_LABELS = ("inline", "crossline", "sample")
#: Dims order that shows an inline section depth-down (sample rows, crossline columns).
DEPTH_DOWN_ORDER = (0, 2, 1)


def _step(values: np.ndarray) -> float:
    return float(values[1] - values[0]) if len(values) > 1 and values[1] != values[0] else 1.0


def geometry_kwargs(volume: SeismicVolume) -> dict:
    """Scale/translate so world coordinates are inline and crossline numbers and sample index.

    One trace and one sample take one screen pixel each, as in the F3 benchmark's section
    images; the real sample times/depths are in the metadata.
    """
    return {
        "scale": (_step(volume.inlines), _step(volume.crosslines), 1.0),
        "translate": (float(volume.inlines[0]), float(volume.crosslines[0]), 0.0),
        "axis_labels": AXIS_LABELS,
    }


def labels_colormap(n_classes: int) -> dict:
    """A fixed colour per class id (F3 colours: scruff orange, zechstein red)."""
    colors = {k: c for k, c in enumerate(class_colors(n_classes))}
    colors[None] = (0.0, 0.0, 0.0, 0.0)
    return colors


def volume_layers(volume: SeismicVolume, contrast_limits=None) -> list[tuple]:
    """Layer-data tuples: a grey lazy Image layer and, with labels, a Labels layer."""
    name = volume.name
    geometry = geometry_kwargs(volume)
    meta = {
        "inlines": volume.inlines,
        "crosslines": volume.crosslines,
        "samples": volume.samples,
        "sample_interval": volume.sample_interval,
        "source": {k: v for k, v in volume.source.items() if not k.startswith("_")},
        "class_names": volume.class_names,
    }
    if contrast_limits is None:
        contrast_limits = volume.estimate_contrast_limits()
    layers = [
        (
            volume.data,
            {
                "name": name,
                "colormap": "gray",
                "contrast_limits": contrast_limits,
                "metadata": meta,
                **geometry,
            },
            "image",
        )
    ]
    if volume.labels is not None:
        layers.append(
            (
                volume.labels,
                {
                    "name": f"{name} labels",
                    "colormap": labels_colormap(volume.n_classes),
                    "opacity": 0.5,
                    "features": {
                        "index": np.arange(volume.n_classes),
                        "class": list(volume.class_names),
                    },
                    "metadata": meta,
                    **geometry,
                },
                "labels",
            )
        )
    return layers
