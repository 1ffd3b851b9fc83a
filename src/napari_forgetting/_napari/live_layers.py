"""The layers one run writes into: forgetting events, prediction and the optional maps.

Each map is shown per section kind -- ``forgetting events (inline)`` and ``forgetting
events (crossline)`` -- so a viewed section shows its own values only, never those of the
sections crossing it; the layers of the kind matching the viewed axis are the visible ones
(both in 3-D). Their data are :class:`~napari_forgetting.runs.geometry.SectionVolume`\\ s:
volume-shaped views of the run's flat per-pixel arrays, so an epoch's update swaps arrays
and nothing volume-sized is allocated (a 2-D view reads one section map).

Heat maps read as the paper's Fig. 2: zero events are transparent, one event upwards runs
through a perceptual colour map (``inferno``) with its count scale shown, and the seismic
stays visible beneath. Layers are bound by object, and one the user closed is re-created.

A consensus run over seeds (:mod:`napari_forgetting.runs.consensus`) is drawn the same way:
its forgetting events are the seeds' mean counts (float), and its ``agreement`` map (the
share of seeds in whose own top 5 % a pixel lies, 0..1) is the optional ``agreement``
family, zero transparent like the heat maps (:data:`RUN_MAP_LAYERS`: offered only for a run
that stores the map).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from napari.layers import Image, Labels

from napari_forgetting._napari.layers import AXIS_LABELS, labels_colormap
from napari_forgetting.dynamics import heat_limit
from napari_forgetting.runs.geometry import RunGeometry, SectionVolume

__all__ = [
    "AGREEMENT_NAME",
    "EXTRA_LAYERS",
    "HEAT_NAME",
    "KINDS",
    "NOT_TRACKED",
    "PREDICTION_NAME",
    "HOTSPOT_3D",
    "LiveLayers",
    "RUN_MAP_LAYERS",
    "agreement_colormap",
    "available_extras",
    "forgetting_colormap",
    "colour_scale_image",
    "SCALE_TITLE",
    "show_colorbar",
    "layer_name",
]

HEAT_NAME = "forgetting events"
PREDICTION_NAME = "prediction"
AGREEMENT_NAME = "agreement"
KINDS = ("inline", "crossline")
#: Optional layers: name -> (flat map, kind, contrast limits).
EXTRA_LAYERS = {
    "first learned": ("first_learned", "image", None),
    "never learned": ("never_learned", "labels", None),
    "confidence": ("confidence", "image", (0.0, 1.0)),
    "variability": ("variability", "image", (0.0, 0.5)),
    "margin": ("margin", "image", (-10.0, 10.0)),
    AGREEMENT_NAME: ("agreement", "image", (0.0, 1.0)),
}
#: Optional layers offered only for a run that stores their map (no training run writes
#: them: a consensus over seeds does).
RUN_MAP_LAYERS = (AGREEMENT_NAME,)
#: Prediction value of voxels on no evaluated section (transparent).
NOT_TRACKED = 255
#: Which flat arrays a family of layers shows: the tracker's sections or the evaluated ones.
_WHICH = {PREDICTION_NAME: "eval"}


def available_extras(extras: Sequence[str], map_names: Sequence[str]) -> tuple[str, ...]:
    """``extras`` less the families of :data:`RUN_MAP_LAYERS` whose map a run (with
    ``map_names``) does not store."""
    stored = set(map_names)
    return tuple(f for f in extras if f not in RUN_MAP_LAYERS or EXTRA_LAYERS[f][0] in stored)


def layer_name(family: str, kind: str, tag: str = "") -> str:
    """``"forgetting events (inline)"``: the layer of a family for one section kind
    (``"forgetting events (inline, parent)"`` with a ``tag``)."""
    return f"{family} ({kind}, {tag})" if tag else f"{family} ({kind})"


#: In 3-D, heat maps draw counts above this fraction of the count scale only
#: (:meth:`LiveLayers.heat_limits`).
HOTSPOT_3D = 0.5


def forgetting_colormap(zero: Sequence[float] = (0.0, 0.0, 0.0, 0.0)) -> Any:
    """``zero`` (RGBA; default transparent) at zero events, then ``inferno`` from one event
    (dark purple) to the upper contrast limit (light yellow): hotspots on the section, as the
    paper's Fig. 2. A map shown without a section beneath gives an opaque ``zero``."""
    from matplotlib import colormaps
    from napari.utils import Colormap

    ramp = colormaps["inferno"](np.linspace(0.15, 1.0, 64))
    ramp[:, 3] = 1.0
    colors = np.vstack([list(zero), ramp])
    # linear within the ramp; only exact zero (below 1e-3 of the range) is transparent
    controls = np.concatenate([[0.0], np.linspace(1e-3, 1.0, len(ramp))])
    return Colormap(colors, controls=controls, name="forgetting events", interpolation="linear")


#: The heat maps' colour scale's title, wherever it is drawn (live view, replay, 3-D).
SCALE_TITLE = "forgetting events"


def colour_scale_image(
    low: float,
    high: float,
    title: str = SCALE_TITLE,
    width: int = 320,
    height: int = 64,
    zero: Sequence[float] | None = None,
) -> np.ndarray:
    """The heat maps' colour scale as an RGBA image (``height`` x ``width``), to show off the
    data: titled, one colour per whole number of events from the first drawn count
    (``ceil(low)``, at least 1) to ``high``, integer ticks, and the counts not drawn (zero;
    in 3-D those under ``low``) as an empty box labelled so, not as a colour -- or, for maps
    drawn without a section beneath (``zero``: the RGB(A) zero is drawn in), a box of that
    colour labelled "0"."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    first = max(1, math.ceil(low))
    top = max(first, int(math.ceil(high)))
    cmap = forgetting_colormap()
    fig = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor="none")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.3, 0.42, 0.66, 0.3))
    counts = np.arange(first, top + 1)
    span = max(high, 1e-9)
    for n in counts:
        ax.add_patch(Rectangle((n - 0.5, 0), 1, 1, color=cmap.map(np.array([n / span]))[0]))
    ax.set_xlim(first - 0.5, top + 0.5)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8, min_n_ticks=1))
    ax.tick_params(colors="white", labelsize=8, length=3)
    for spine in ax.spines.values():
        spine.set_color("white")
    ax.set_title(title, color="white", fontsize=9, pad=3)
    none = "0" if first == 1 else f"0-{first - 1}"
    box = fig.add_axes((0.1, 0.42, 0.07, 0.3))
    box.set_xticks([])
    box.set_yticks([])
    box.set_facecolor("none" if zero is None else tuple(zero[:3]))
    for spine in box.spines.values():
        spine.set_color("white")
    box.set_xlabel(none if zero is not None else f"{none}: clear", color="white", fontsize=8,
                   labelpad=3)  # fmt: skip
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def agreement_colormap() -> Any:
    """Transparent at zero agreement (no seed puts the pixel in its top 5 %), then
    ``viridis`` (perceptual) up to every seed at 1: where the seeds agree on a hotspot."""
    from matplotlib import colormaps
    from napari.utils import Colormap

    ramp = colormaps["viridis"](np.linspace(0.0, 1.0, 64))
    ramp[:, 3] = 1.0
    colors = np.vstack([[0.0, 0.0, 0.0, 0.0], ramp])
    controls = np.concatenate([[0.0], np.linspace(1e-3, 1.0, len(ramp))])
    return Colormap(colors, controls=controls, name="agreement", interpolation="linear")


class LiveLayers:
    """The layers one run writes into, bound by object (not by name or selection).

    ``families``: ``forgetting events``, ``prediction`` and the chosen extras, each with one
    layer per section kind the run has. The layers of the kind matching the viewed axis are
    shown, the others hidden (a family the user switched off stays off). Without
    ``predictions`` no prediction layers; a ``tag`` names the layers apart from another
    run's in the same viewer (``forgetting events (inline, parent)``).
    """

    def __init__(
        self,
        viewer: Any,
        geometry: RunGeometry,
        world: dict[str, Any],
        class_names: list[str],
        extras: tuple[str, ...] = (),
        total_epochs: int = 1,
        *,
        predictions: bool = True,
        tag: str = "",
    ) -> None:
        self.viewer = viewer
        self.tag = str(tag)
        self.world = {"scale": tuple(world["scale"]), "translate": tuple(world["translate"])}
        self.class_names = list(class_names)
        self.extras = tuple(extras)
        self.total_epochs = int(total_epochs)
        self.families = (HEAT_NAME, *((PREDICTION_NAME,) if predictions else ()), *self.extras)
        #: family -> whether the user wants it shown (the prediction starts hidden)
        self.wanted = {f: f != PREDICTION_NAME and f not in EXTRA_LAYERS for f in self.families}
        self.heat_max = 1.0
        #: called with the heat maps' ``(low, high)`` limits whenever they change (a dock
        #: draws :func:`colour_scale_image` from them)
        self.scale_listeners: list[Any] = []
        self._scale_shown: tuple[float, float] | None = None
        self.layers: dict[str, Any] = {}
        self.epoch: int | None = None
        self.last_update_ms = 0.0
        self._switching = False
        self._bind_geometry(geometry)
        viewer.dims.events.order.connect(self.follow_view)
        viewer.dims.events.ndisplay.connect(self.follow_view)

    # -------------------------------------------------------------- geometry

    def _bind_geometry(self, geometry: RunGeometry) -> None:
        self.geometry = geometry
        self.data: dict[str, SectionVolume] = {}
        #: layer name -> (family, section kind)
        self.parts: dict[str, tuple[str, str]] = {}
        for family in self.families:
            dtype, fill = self._dtype_fill(family)
            for kind in KINDS:
                data = SectionVolume(geometry, _WHICH.get(family, "map"), kind, dtype, fill)
                if data.indices:  # the run has sections of this kind
                    name = layer_name(family, kind, self.tag)
                    self.data[name] = data
                    self.parts[name] = (family, kind)

    @staticmethod
    def _dtype_fill(family: str) -> tuple[Any, Any]:
        if family == HEAT_NAME:
            return np.float32, 0.0  # zero events and untracked: both transparent
        if family == PREDICTION_NAME:
            return np.uint8, NOT_TRACKED
        if EXTRA_LAYERS[family][1] == "labels":
            return np.uint8, 0
        if family == AGREEMENT_NAME:
            return np.float32, 0.0  # zero agreement and untracked: both transparent
        return np.float32, np.nan

    @property
    def kinds(self) -> tuple[str, ...]:
        """The section kinds the run has layers for."""
        return tuple(k for k in KINDS if layer_name(HEAT_NAME, k, self.tag) in self.data)

    def compatible(self, geometry: RunGeometry, world: dict, extras: tuple[str, ...]) -> bool:
        return (
            geometry.volume_shape == self.geometry.volume_shape
            and tuple(world["scale"]) == self.world["scale"]
            and tuple(world["translate"]) == self.world["translate"]
            and tuple(extras) == self.extras
        )

    def rebind(self, geometry: RunGeometry) -> None:
        """Keep the layers for a run over other sections (layers of a kind the new run
        lacks are removed, missing ones added at the next update)."""
        old = set(self.data)
        self._bind_geometry(geometry)
        for name in old - set(self.data):
            layer = self.layers.pop(name, None)
            if layer is not None and layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        for name, layer in self.layers.items():
            layer.data = self.data[name]
        self.heat_max = 1.0

    # -------------------------------------------------------------- layer creation

    def _make(self, name: str) -> Any:
        family = self.parts[name][0]
        common = {**self.world, "axis_labels": AXIS_LABELS, "name": name, "visible": False}
        data = self.data[name]
        if family == HEAT_NAME:
            layer = Image(
                data,
                colormap=forgetting_colormap(),
                contrast_limits=(0.0, self.heat_max),
                opacity=0.85,  # the reflectors stay faintly readable under a hotspot
                blending="translucent",
                rendering="translucent",  # 3-D: sections standing in the volume, not a MIP
                metadata={"kind": "forgetting_events"},
                **common,
            )
            return layer  # its scale is drawn off the data (scale_listeners)
        if family == PREDICTION_NAME:
            cmap = labels_colormap(len(self.class_names))
            cmap[NOT_TRACKED] = (0.0, 0.0, 0.0, 0.0)
            return Labels(
                data,
                colormap=cmap,
                opacity=0.6,
                features={
                    "index": np.arange(len(self.class_names)),
                    "class": list(self.class_names),
                },
                **common,
            )
        key, kind, limits = EXTRA_LAYERS[family]
        if kind == "labels":
            return Labels(data, colormap={1: (1.0, 1.0, 1.0, 1.0), None: (0, 0, 0, 0)}, **common)
        if limits is None:  # first learned: epochs
            limits = (0.0, float(max(1, self.total_epochs - 1)))
        if family == AGREEMENT_NAME:
            layer = Image(
                data,
                colormap=agreement_colormap(),
                contrast_limits=limits,
                opacity=0.85,
                blending="translucent",
                rendering="translucent",
                metadata={"kind": "agreement"},
                **common,
            )
            show_colorbar(layer)
            return layer
        layer = Image(data, colormap="viridis", contrast_limits=limits, **common)
        show_colorbar(layer)
        return layer

    def ensure(self) -> list[str]:
        """Add layers that are missing from the viewer; returns the re-created names."""
        recreated = []
        added = False
        for name in self.data:
            layer = self.layers.get(name)
            if layer is not None and layer in self.viewer.layers:
                continue
            if layer is not None:
                recreated.append(name)
            layer = self.viewer.add_layer(self._make(name))
            layer.events.visible.connect(self._on_visible)
            self.layers[name] = layer
            added = True
        if added:
            self.follow_view()
            viewed = self.viewed_kinds()[0]
            if layer_name(HEAT_NAME, viewed, self.tag) in self.layers:  # its colour scale
                self.viewer.layers.selection.active = self.layer(HEAT_NAME, viewed)
        return recreated

    # -------------------------------------------------------------- visibility

    def viewed_kinds(self) -> tuple[str, ...]:
        """The section kinds whose layers the current view should show: the kind of the
        section a 2-D view slices through (inline: the inline axis is not displayed), both
        in 3-D or in a time slice."""
        dims = self.viewer.dims
        if dims.ndisplay == 3:
            return KINDS
        hidden = set(dims.not_displayed)
        shown = tuple(k for a, k in enumerate(KINDS) if a in hidden)
        return shown if len(shown) == 1 else KINDS

    def follow_view(self, event: Any = None) -> None:
        """Show the layers of the viewed kind (families the user switched off stay off);
        the heat maps' limits for 2-D or 3-D (:meth:`heat_limits`)."""
        viewed = self.viewed_kinds()
        self._switching = True
        try:
            for name, layer in self.layers.items():
                family, kind = self.parts[name]
                layer.visible = self.wanted.get(family, False) and kind in viewed
        finally:
            self._switching = False
        self._apply_heat_limits()

    def heat_limits(self) -> tuple[float, float]:
        """The heat maps' contrast limits: ``(0, heat_max)`` in 2-D (zero events transparent,
        one event upwards coloured). In 3-D only counts above :data:`HOTSPOT_3D` of the
        scale are drawn (at least one event; below the lower limit is transparent), so a
        section's hotspots stand in the volume and the sections behind show through: with
        most tracked pixels forgotten once or more, all-coloured sections would hide one
        another as walls."""
        if self.viewer.dims.ndisplay == 3:
            least = max(1, math.floor(HOTSPOT_3D * self.heat_max) + 1)  # events drawn
            return (least - 0.5, max(self.heat_max, least - 0.5 + 1e-6))
        return (0.0, self.heat_max)

    def _apply_heat_limits(self) -> None:
        low, high = self.heat_limits()
        if (low, high) != self._scale_shown:
            self._scale_shown = (low, high)
            for listener in self.scale_listeners:
                listener(low, high)
        for name, layer in self.layers.items():
            if self.parts[name][0] == HEAT_NAME and tuple(layer.contrast_limits) != (low, high):
                layer.contrast_limits_range = (0.0, high)
                layer.contrast_limits = (low, high)

    def _on_visible(self, event: Any) -> None:
        """A user toggled a layer's eye: that family is wanted, or not, from now on."""
        if self._switching:
            return
        layer = event.source
        for name, own in self.layers.items():
            if own is layer:
                self.wanted[self.parts[name][0]] = bool(layer.visible)
                self.follow_view()
                return

    def layer(self, family: str, kind: str = "inline") -> Any:
        """The layer of ``family`` for section ``kind``."""
        return self.layers[layer_name(family, kind, self.tag)]

    # -------------------------------------------------------------- updates

    def show(
        self,
        epoch: int,
        maps: dict[str, np.ndarray],
        predictions: np.ndarray,
        heat_upper: float | None = None,
    ) -> list[str]:
        """Show one epoch's flat arrays (views: nothing is copied) and refresh the layers.

        ``heat_upper``: the counts' :func:`heat_limit` when the caller computed it off the
        GUI thread (live training); computed here otherwise (replay). Returns the names of
        layers that had been closed and were re-created.
        """
        t0 = time.perf_counter()
        recreated = self.ensure()
        counts = maps.get("forgetting_events")
        flats: dict[str, Any] = {}
        if counts is not None and counts.size:
            flats[HEAT_NAME] = counts
            upper = heat_limit(counts) if heat_upper is None else float(heat_upper)
            self.heat_max = max(self.heat_max, upper)  # never shrinks
        if predictions is not None and predictions.size:
            flats[PREDICTION_NAME] = predictions
        for family in self.extras:
            key, kind, _ = EXTRA_LAYERS[family]
            values = maps.get(key)
            if values is None or not values.size:
                continue
            values = np.asarray(values)
            if key == "first_learned":
                values = values.astype(np.float32)
                never = maps.get("never_learned")
                if never is not None:
                    values[np.asarray(never, bool)] = np.nan
            flats[family] = values
        for name, data in self.data.items():
            family = self.parts[name][0]
            if family in flats:
                data.update(flats[family])
        self._apply_heat_limits()
        for layer in self.layers.values():
            layer.refresh()
        self.epoch = epoch
        self.last_update_ms = (time.perf_counter() - t0) * 1e3
        return recreated

    def map_names(self) -> set[str]:
        """The run-store maps these layers draw (replay reads these)."""
        return {"forgetting_events", "never_learned"} | {EXTRA_LAYERS[n][0] for n in self.extras}

    def close(self) -> None:
        """Stop following the view (the layers stay)."""
        self.viewer.dims.events.order.disconnect(self.follow_view)
        self.viewer.dims.events.ndisplay.disconnect(self.follow_view)


def show_colorbar(layer: Any) -> None:
    """The layer's colour scale beside the canvas (napari >= 0.5), where available."""
    colorbar = getattr(layer, "colorbar", None)
    if colorbar is not None:
        colorbar.visible = True
