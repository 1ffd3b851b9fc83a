"""The layers one run writes into: forgetting events, prediction and the optional maps.

:class:`LiveLayers` keeps volume-shaped buffers, scatters each epoch's flat arrays into them
(:class:`~napari_forgetting.runs.geometry.RunGeometry`) and refreshes its own layers in
place, bound by object, re-creating one the user closed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from napari.layers import Image, Labels

from napari_forgetting._napari.layers import AXIS_LABELS, labels_colormap
from napari_forgetting.dynamics import heat_limit
from napari_forgetting.runs.geometry import RunGeometry

__all__ = [
    "EXTRA_LAYERS",
    "HEAT_NAME",
    "NOT_TRACKED",
    "PREDICTION_NAME",
    "LiveLayers",
    "forgetting_colormap",
]

HEAT_NAME = "forgetting events"
PREDICTION_NAME = "prediction"
#: Optional layers: name -> (flat map, kind, contrast limits).
EXTRA_LAYERS = {
    "first learned": ("first_learned", "image", None),
    "never learned": ("never_learned", "labels", None),
    "confidence": ("confidence", "image", (0.0, 1.0)),
    "variability": ("variability", "image", (0.0, 0.5)),
    "margin": ("margin", "image", (-10.0, 10.0)),
}
#: Prediction value of voxels on no evaluated section (transparent).
NOT_TRACKED = 255


def forgetting_colormap() -> Any:
    """Dark blue (never forgotten) to red (often forgotten), as the paper's heat maps."""
    from matplotlib import colormaps
    from napari.utils import Colormap

    return Colormap(colormaps["jet"](np.linspace(0, 1, 9)), name="forgetting events")


class LiveLayers:
    """The layers one run writes into, bound by object (not by name or selection).

    Buffers are volume-shaped and filled in place; a layer the user closed is re-created
    (and the user told) at the next update. Untracked voxels hold NaN (images), 0 ("never
    learned") or :data:`NOT_TRACKED` (prediction) and render transparent.
    """

    def __init__(
        self,
        viewer: Any,
        geometry: RunGeometry,
        world: dict[str, Any],
        class_names: list[str],
        extras: tuple[str, ...] = (),
        total_epochs: int = 1,
    ) -> None:
        self.viewer = viewer
        self.geometry = geometry
        self.world = {"scale": tuple(world["scale"]), "translate": tuple(world["translate"])}
        self.class_names = list(class_names)
        self.extras = tuple(extras)
        self.total_epochs = int(total_epochs)
        shape = geometry.volume_shape
        self.heat = np.full(shape, np.nan, dtype=np.float32)
        self.prediction = np.full(shape, NOT_TRACKED, dtype=np.uint8)
        self.extra_buffers: dict[str, np.ndarray] = {}
        for name in self.extras:
            kind = EXTRA_LAYERS[name][1]
            self.extra_buffers[name] = (
                np.zeros(shape, np.uint8) if kind == "labels" else np.full(shape, np.nan, "f4")
            )
        self.heat_max = 1.0
        self.layers: dict[str, Any] = {}
        self.epoch: int | None = None
        self.last_update_ms = 0.0

    def compatible(self, geometry: RunGeometry, world: dict, extras: tuple[str, ...]) -> bool:
        return (
            geometry.volume_shape == self.geometry.volume_shape
            and tuple(world["scale"]) == self.world["scale"]
            and tuple(world["translate"]) == self.world["translate"]
            and tuple(extras) == self.extras
        )

    def rebind(self, geometry: RunGeometry) -> None:
        """Keep the layers for a run over other sections: clear the buffers."""
        self.geometry = geometry
        self.heat[...] = np.nan
        self.prediction[...] = NOT_TRACKED
        for name, buf in self.extra_buffers.items():
            buf[...] = 0 if EXTRA_LAYERS[name][1] == "labels" else np.nan
        self.heat_max = 1.0

    # -------------------------------------------------------------- layer creation

    def _make(self, name: str) -> Any:
        common = {**self.world, "axis_labels": AXIS_LABELS, "name": name}
        if name == HEAT_NAME:
            return Image(
                self.heat,
                colormap=forgetting_colormap(),
                contrast_limits=(0.0, self.heat_max),
                rendering="mip",
                metadata={"kind": "forgetting_events"},
                **common,
            )
        if name == PREDICTION_NAME:
            cmap = labels_colormap(len(self.class_names))
            cmap[NOT_TRACKED] = (0.0, 0.0, 0.0, 0.0)
            return Labels(
                self.prediction,
                colormap=cmap,
                opacity=0.6,
                visible=False,
                features={
                    "index": np.arange(len(self.class_names)),
                    "class": list(self.class_names),
                },
                **common,
            )
        key, kind, limits = EXTRA_LAYERS[name]
        buf = self.extra_buffers[name]
        if kind == "labels":
            return Labels(buf, colormap={1: (1.0, 1.0, 1.0, 1.0), None: (0, 0, 0, 0)}, **common)
        if limits is None:  # first learned: epochs
            limits = (0.0, float(max(1, self.total_epochs - 1)))
        return Image(buf, colormap="viridis", contrast_limits=limits, visible=False, **common)

    def ensure(self) -> list[str]:
        """Add layers that are missing from the viewer; returns the re-created names."""
        recreated = []
        names = [HEAT_NAME, PREDICTION_NAME, *self.extras]
        for name in names:
            layer = self.layers.get(name)
            if layer is not None and layer in self.viewer.layers:
                continue
            if layer is not None:
                recreated.append(name)
            self.layers[name] = self.viewer.add_layer(self._make(name))
        return recreated

    # -------------------------------------------------------------- updates

    def show(
        self,
        epoch: int,
        maps: dict[str, np.ndarray],
        predictions: np.ndarray,
        heat_upper: float | None = None,
    ) -> list[str]:
        """Fill the buffers with one epoch's flat arrays and refresh the layers in place.

        ``heat_upper``: the counts' :func:`heat_limit` when the caller computed it off the
        GUI thread (live training); computed here otherwise (replay). Returns the names of
        layers that had been closed and were re-created.
        """
        t0 = time.perf_counter()
        recreated = self.ensure()
        geo = self.geometry
        counts = maps.get("forgetting_events")
        if counts is not None and counts.size:
            geo.scatter(self.heat, counts, "map")
            upper = heat_limit(counts) if heat_upper is None else float(heat_upper)
            self.heat_max = max(self.heat_max, upper)  # never shrinks
        if predictions is not None and predictions.size:
            geo.scatter(self.prediction, predictions, "eval")
        for name in self.extras:
            key, kind, _ = EXTRA_LAYERS[name]
            values = maps.get(key)
            if values is None or not values.size:
                continue
            values = np.asarray(values)
            if key == "first_learned":
                values = values.astype(np.float32)
                never = maps.get("never_learned")
                if never is not None:
                    values[np.asarray(never, bool)] = np.nan
            elif kind == "labels":
                values = values.astype(np.uint8)
            geo.scatter(self.extra_buffers[name], values, "map")
        heat = self.layers[HEAT_NAME]
        if tuple(heat.contrast_limits) != (0.0, self.heat_max):
            heat.contrast_limits_range = (0.0, self.heat_max)
            heat.contrast_limits = (0.0, self.heat_max)
        for layer in self.layers.values():
            layer.refresh()
        self.epoch = epoch
        self.last_update_ms = (time.perf_counter() - t0) * 1e3
        return recreated

    def show_store_epoch(self, store: Any, epoch: int) -> list[str]:
        """Replay: show epoch ``epoch`` (0-based) of a run store."""
        wanted = {"forgetting_events", "never_learned"} | {EXTRA_LAYERS[n][0] for n in self.extras}
        maps = {n: store.flat_map(n, epoch) for n in wanted if n in store.map_names}
        return self.show(epoch, maps, store.flat_predictions(epoch))
