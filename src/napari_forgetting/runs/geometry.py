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

__all__ = ["RunGeometry", "geometry_from_sections"]


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
        self, inline_idx: int, crossline_idx: int, sample_idx: int, which: str = "eval"
    ) -> tuple[int, int, int] | None:
        """``(section position, row, col)`` of a voxel on one of the sections (the last one
        listed where two cross, as :meth:`scatter`), or ``None`` when it is on none of them
        or outside the volume."""
        shape = self.volume_shape
        pos = (int(inline_idx), int(crossline_idx), int(sample_idx))
        if any(not 0 <= p < n for p, n in zip(pos, shape, strict=True)):
            return None
        secs, _ = self._which(which)
        for k in range(len(secs) - 1, -1, -1):
            sec = secs[k]
            on = pos[0] == sec.index if sec.kind == "inline" else pos[1] == sec.index
            if on:
                rows, cols = volume_to_section_coords(sec, *pos)
                return k, int(rows), int(cols)
        return None

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
