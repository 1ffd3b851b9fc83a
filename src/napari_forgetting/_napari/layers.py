"""Between the core's volumes and napari layers: a :class:`~napari_forgetting.data.SeismicVolume`
as layer-data tuples (:func:`volume_layers`), and a seismic + labels layer pair as a volume the
trainers take (:class:`LayerVolume`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data import SeismicVolume, class_colors

AXIS_LABELS = ("inline", "crossline", "sample")
#: Dims order that shows an inline section depth-down (sample rows, crossline columns).
DEPTH_DOWN_ORDER = (0, 2, 1)
#: Opacity of a facies Labels layer as opened: the seismic reads through it.
LABELS_OPACITY = 0.3


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
                    "opacity": LABELS_OPACITY,
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


def show_depth_down_when_opened(layers: list[tuple]) -> list[tuple]:
    """The first view of a volume: when the current viewer adds the first of ``layers`` (the
    tuples a reader or sample returns), it turns to an inline section depth-down (sample axis
    vertical, crossline horizontal) with the inline slider at the middle; returns ``layers``.

    napari's reader and sample contributions return layer data only, with no say over the
    view; the current viewer (none outside napari, then nothing happens) is told once, when
    the layer made from the first tuple's data is inserted.
    """
    try:
        import napari

        viewer = napari.current_viewer()
    except Exception:  # noqa: BLE001 - no napari, no Qt app: there is no view to set
        return layers
    if viewer is None or not layers:
        return layers
    data = layers[0][0]

    def on_inserted(event: Any) -> None:
        layer = event.value
        if getattr(layer, "data", None) is not data:
            return
        viewer.layers.events.inserted.disconnect(on_inserted)
        if layer.ndim == 3 and viewer.dims.ndim == 3:
            viewer.dims.order = DEPTH_DOWN_ORDER
            middle = layer.data.shape[0] // 2
            viewer.dims.set_point(0, layer.translate[0] + layer.scale[0] * middle)
            viewer.reset_view()

    viewer.layers.events.inserted.connect(on_inserted)
    return layers


def _file_of(layer: Any) -> tuple[str | None, dict[str, Any]]:
    """The file a layer was read from and the reader's record of it (our reader's
    ``metadata["source"]``, else napari's ``layer.source.path``), or ``(None, {})``."""
    record = dict((layer.metadata or {}).get("source") or {})
    path = record.get("path") or getattr(getattr(layer, "source", None), "path", None)
    if path and Path(path).exists():
        return os.path.abspath(path), record
    return None, {}


def layer_source(seismic: Any, labels: Any) -> dict[str, Any]:
    """Where the data of a seismic + labels layer pair came from, as a run's ``source``
    record (:mod:`napari_forgetting.data.source`): ``{"kind": "file", "path", "labels"?,
    "iline", "xline", "tests"?}`` when both were read from files, so ``augment``,
    ``retrain`` and ``export`` reopen it; else ``{"kind": "napari", "layer"}`` (data held
    only in memory: those commands then need ``--data``)."""
    from napari_forgetting.data.source import find_layout_tests

    path, record = _file_of(seismic)
    lpath, lrecord = _file_of(labels)
    if path is None or lpath is None:
        return {"kind": "napari", "layer": seismic.name}
    # our reader gives both layers the seismic file's record, naming the labels file it
    # found; napari's own readers give the labels layer its own file
    labels_file = lrecord.get("labels_path") or (lpath if lpath != path else None)
    source: dict[str, Any] = {
        "kind": "file",
        "path": path,
        "iline": int(record.get("iline", 189)),
        "xline": int(record.get("xline", 193)),
    }
    if labels_file:
        source["labels"] = os.path.abspath(labels_file)
    tests = find_layout_tests(path)
    if tests:
        source["tests"] = {name: str(p) for name, p in tests.items()}
    return source


@dataclass
class LayerVolume:
    """A seismic + labels layer pair as the trainer's volume (header numbers kept)."""

    seismic: Any
    labels: Any
    inlines: np.ndarray
    crosslines: np.ndarray
    class_names: list[str] | None
    geometry: dict[str, Any]
    name: str
    #: where the layers' data came from (:func:`layer_source`), recorded by a run on them
    source: dict[str, Any] = None  # type: ignore[assignment]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.seismic.shape)  # type: ignore[return-value]

    @classmethod
    def from_layers(cls, seismic: Any, labels: Any) -> LayerVolume:
        """The pair of a seismic Image layer and a Labels layer of the same 3-D shape."""
        data = seismic.data[0] if seismic.multiscale else seismic.data
        lab = labels.data[0] if labels.multiscale else labels.data
        if data.ndim != 3:
            raise ValueError(f"{seismic.name!r} is {data.ndim}-D; training needs a 3-D volume")
        if tuple(data.shape) != tuple(lab.shape):
            raise ValueError(
                f"{seismic.name!r} {tuple(data.shape)} and {labels.name!r} {tuple(lab.shape)} "
                "differ in shape"
            )
        scale = tuple(float(s) for s in seismic.scale)
        translate = tuple(float(t) for t in seismic.translate)
        meta = seismic.metadata or {}

        def numbers(axis: int, key: str) -> np.ndarray:
            values = meta.get(key)
            if values is not None and len(values) == data.shape[axis]:
                return np.asarray(values)
            return translate[axis] + scale[axis] * np.arange(data.shape[axis])

        names = meta.get("class_names") or (labels.metadata or {}).get("class_names")
        return cls(
            data,
            lab,
            numbers(0, "inlines"),
            numbers(1, "crosslines"),
            list(names) if names else None,
            {"scale": scale, "translate": translate},
            seismic.name,
            layer_source(seismic, labels),
        )
