"""Where a run's flat per-pixel arrays live in the volume, and the world geometry of a run.

A run store keeps per-pixel arrays flat over its sections (``eval_sections``: predicted
every epoch; ``map_sections``: the tracker's). :class:`RunGeometry` scatters them into a
volume and finds the section pixel under a voxel; :func:`geometry_from_sections` recovers
the inline/crossline numbering of the world from the sections' header numbers. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section, scatter_sections, volume_to_section_coords

__all__ = ["RunGeometry", "SectionVolume", "geometry_from_sections"]


def _offsets(sections: Sequence[Section]) -> np.ndarray:
    sizes = [r * c for r, c in (s.shape for s in sections)]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@dataclass
class RunGeometry:
    """Where a run's flat per-pixel arrays live in the volume.

    ``eval_sections``: the sections predicted every epoch (flat predictions);
    ``map_sections``: the tracker's (flat maps; the same in sweep mode).
    """

    volume_shape: tuple[int, int, int]
    eval_sections: list[Section]
    map_sections: list[Section]

    def __post_init__(self) -> None:
        self.volume_shape = tuple(int(n) for n in self.volume_shape)  # type: ignore[assignment]
        self.eval_sections = list(self.eval_sections)
        self.map_sections = list(self.map_sections)
        self.eval_offsets = _offsets(self.eval_sections)
        self.map_offsets = _offsets(self.map_sections)

    @classmethod
    def of_store(cls, store: Any) -> RunGeometry:
        return cls(store.volume_shape, store.eval_sections, store.map_sections)

    def scatter(self, out: np.ndarray, flat: np.ndarray, which: str = "map") -> np.ndarray:
        """Write a flat per-pixel array into the volume ``out`` in place, section by section
        (later sections win where an inline and a crossline cross, as in
        :func:`~napari_forgetting.data.sections.scatter_sections`). Voxels on no section are
        left untouched."""
        secs, offs = self._which(which)
        flat = np.asarray(flat).ravel()
        if flat.size != offs[-1]:
            raise ValueError(f"{flat.size} values for {offs[-1]} {which} pixels")
        maps = [flat[offs[k] : offs[k + 1]].reshape(sec.shape) for k, sec in enumerate(secs)]
        return scatter_sections(secs, maps, self.volume_shape, out=out)

    def _which(self, which: str) -> tuple[list[Section], np.ndarray]:
        if which == "map":
            return self.map_sections, self.map_offsets
        if which == "eval":
            return self.eval_sections, self.eval_offsets
        raise ValueError(f"which must be 'map' or 'eval', got {which!r}")

    def locate(
        self,
        inline_idx: int,
        crossline_idx: int,
        sample_idx: int,
        which: str = "eval",
        prefer: str | None = None,
    ) -> tuple[int, int, int] | None:
        """``(section position, row, col)`` of a voxel on one of the sections, or ``None``
        when it is on none of them or outside the volume. Where an inline and a crossline
        cross, the section of kind ``prefer`` (the one the user is looking at), else the
        last one listed (as :meth:`scatter`)."""
        shape = self.volume_shape
        pos = (int(inline_idx), int(crossline_idx), int(sample_idx))
        if any(not 0 <= p < n for p, n in zip(pos, shape, strict=True)):
            return None
        secs, _ = self._which(which)
        found = None
        for k in range(len(secs) - 1, -1, -1):
            sec = secs[k]
            on = pos[0] == sec.index if sec.kind == "inline" else pos[1] == sec.index
            if on:
                rows, cols = volume_to_section_coords(sec, *pos)
                if found is None:
                    found = k, int(rows), int(cols)
                if prefer is None or sec.kind == prefer:
                    return k, int(rows), int(cols)
        return found

    def describe_sections(self, which: str = "eval") -> str:
        """``"inlines 100, 105; crosslines 300, 305"`` (header numbers)."""
        secs, _ = self._which(which)
        parts = []
        for kind in ("inline", "crossline"):
            nums = [s.number for s in secs if s.kind == kind]
            if nums:
                parts.append(f"{kind}s " + ", ".join(f"{n:g}" for n in nums))
        return "; ".join(parts) if parts else "no sections"


def geometry_from_sections(
    volume_shape: Sequence[int], sections: Sequence[Section]
) -> dict[str, tuple[float, float, float]]:
    """``scale``/``translate`` making world coordinates inline/crossline numbers, recovered
    from the sections' header numbers (when a run is opened without its seismic layer)."""
    scale, translate = [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]
    for axis, kind in enumerate(("inline", "crossline")):
        secs = sorted({(s.index, float(s.number)) for s in sections if s.kind == kind})
        if len(secs) >= 2 and secs[-1][0] != secs[0][0]:
            step = (secs[-1][1] - secs[0][1]) / (secs[-1][0] - secs[0][0])
            scale[axis] = step if step else 1.0
            translate[axis] = secs[0][1] - secs[0][0] * scale[axis]
        elif secs:
            translate[axis] = secs[0][1] - secs[0][0]
    return {"scale": tuple(scale), "translate": tuple(translate)}


class SectionVolume:
    """A read-only, volume-shaped array over one kind of a run's sections, computed on
    indexing from a flat per-pixel array (as napari slices a layer): the inline map of an
    inline section, the crossline map of a crossline section, ``fill`` elsewhere.

    Nothing volume-sized is kept: a 2-D slice through a section costs one section map, so a
    viewer shows a run at survey size with a few section maps of memory, and each section
    shows only its own values (an inline layer never shows a crossing crossline's).
    Indexing anything else (a 3-D view, a slice across the sections) builds the requested
    region from the sections of this kind that cross it. :meth:`update` swaps the flat array
    (a new epoch) in place.
    """

    def __init__(
        self,
        geometry: RunGeometry,
        which: str,
        kind: str,
        dtype: Any,
        fill: Any,
        flat: np.ndarray | None = None,
    ) -> None:
        if kind not in ("inline", "crossline"):
            raise ValueError(f"kind must be 'inline' or 'crossline', got {kind!r}")
        secs, offs = geometry._which(which)
        self.shape = geometry.volume_shape
        self.ndim = 3
        self.dtype = np.dtype(dtype)
        self.fill = self.dtype.type(fill)
        self.kind = kind
        self.axis = 0 if kind == "inline" else 1
        self._size = int(offs[-1])
        # index along the axis -> (start, stop, shape) in the flat array (the last listed
        # wins where a section is listed twice, as in RunGeometry.scatter)
        self._at = {
            s.index: (int(offs[k]), int(offs[k + 1]), s.shape)
            for k, s in enumerate(secs)
            if s.kind == kind
        }
        self.flat: np.ndarray | None = None
        if flat is not None:
            self.update(flat)

    @property
    def indices(self) -> list[int]:
        """Indices along this kind's axis that hold a section, ascending."""
        return sorted(self._at)

    def update(self, flat: np.ndarray | None) -> None:
        """Show this flat per-pixel array (``None``: nothing, every voxel ``fill``)."""
        if flat is not None:
            flat = np.asarray(flat).ravel()
            if flat.size != self._size:
                raise ValueError(f"{flat.size} values for {self._size} section pixels")
        self.flat = flat

    def section_map(self, index: int) -> np.ndarray | None:
        """The depth-down map (samples x traces) of the section at ``index``, or ``None``."""
        where = self._at.get(int(index))
        if where is None or self.flat is None:
            return None
        start, stop, shape = where
        return self.flat[start:stop].reshape(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = _normalise_key(key, self.shape)
        on = key[self.axis]
        rest = tuple(k for a, k in enumerate(key) if a != self.axis)
        if isinstance(on, int):  # a slice through one section (or none)
            return self._cut(on, rest)
        # across sections: each section's cut, stacked along this kind's axis (only the
        # region asked for is built)
        indices = range(*on.indices(self.shape[self.axis]))
        out = np.empty((len(indices), *_sliced_shape(rest, self._plane_shape())), self.dtype)
        for pos, index in enumerate(indices):
            out[pos] = self._cut(index, rest)
        return np.moveaxis(out, 0, sum(isinstance(k, slice) for k in key[: self.axis]))

    def _cut(self, index: int, rest: tuple[Any, Any]) -> np.ndarray:
        """The section at ``index`` (``fill`` where there is none), indexed by ``rest`` (the
        keys of the two other axes)."""
        plane = self.section_map(index)
        if plane is None:
            return np.full(_sliced_shape(rest, self._plane_shape()), self.fill, self.dtype)
        return np.asarray(plane.T[rest], dtype=self.dtype)

    def _plane_shape(self) -> tuple[int, int]:
        return tuple(n for a, n in enumerate(self.shape) if a != self.axis)  # type: ignore[return-value]


def _normalise_key(key: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """A 3-D index as three ints or slices (``Ellipsis`` and missing axes filled, negative
    ints wrapped); anything else (arrays, masks) is refused."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:at] + (slice(None),) * (len(shape) - len(key) + 1) + key[at + 1 :]
    key = key + (slice(None),) * (len(shape) - len(key))
    if len(key) != len(shape):
        raise IndexError(f"too many indices for a {len(shape)}-D array: {key!r}")
    out = []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, (int, np.integer)):
            k = int(k)
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for an axis of size {n}")
            out.append(k % n)
        elif isinstance(k, slice):
            out.append(k)
        else:
            raise IndexError(f"only ints and slices index a SectionVolume, not {type(k)}")
    return tuple(out)


def _sliced_shape(key: tuple[Any, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(len(range(*k.indices(n))) for k, n in zip(key, shape, strict=True)
                 if isinstance(k, slice))  # fmt: skip
