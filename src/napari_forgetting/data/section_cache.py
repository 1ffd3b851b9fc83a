"""Section reading shared by the segmentation and transfer trainers and the quality figures
(numpy only): a volume's image and label sources, and a lazy per-section cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section, normalize, read_sections
from napari_forgetting.data.spill import Spill


def sources(volume_or_arrays: Any, purpose: str = "training") -> tuple[Any, Any]:
    """(image source, label source) of a volume/survey or a ``(seismic, labels)`` pair."""
    if isinstance(volume_or_arrays, (tuple, list)):
        if len(volume_or_arrays) != 2:
            raise ValueError("pass a volume or a (seismic, labels) pair of 3-D arrays")
        seismic, labels = volume_or_arrays
        if tuple(seismic.shape) != tuple(labels.shape):
            raise ValueError(f"seismic {seismic.shape} and labels {labels.shape} differ in shape")
        return seismic, labels
    if getattr(volume_or_arrays, "labels", None) is None:
        raise ValueError(f"{purpose} needs labels: this volume has none")
    seismic = getattr(volume_or_arrays, "seismic", None)
    if seismic is None:
        seismic = volume_or_arrays
    return seismic, volume_or_arrays


def split_source(volume_or_arrays: Any) -> Any:
    """What :func:`paper_split` should see: the volume (header numbers) or the seismic array."""
    if isinstance(volume_or_arrays, (tuple, list)):
        return volume_or_arrays[0]
    return volume_or_arrays


@dataclass
class SectionStore:
    """Section images (raw, or normalised with ``stats``) and labels, read lazily and cached.

    Two ways to cache. By default each section read is kept (``cache``): right for a few
    sections of a volume. With ``whole_volume=True`` the first read loads the whole volume
    once, inline by inline, into one image and one label array of the volume's shape, and
    every inline and crossline is a view of them: right when most inlines *and* crosslines
    are read (a training set), where section by section each voxel would be held twice.
    With a ``spill`` (:mod:`.spill`) that volume lives in files instead of memory: call
    :meth:`release` after each piece of work (a batch, a section) and the process holds only
    the pages it touched since.
    """

    image_src: Any
    label_src: Any
    stats: tuple[float, float] | None = None
    cache: dict = field(default_factory=dict)
    whole_volume: bool = False
    volume: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    spill: Spill | None = field(default=None, repr=False)

    def get(self, section: Section) -> tuple[np.ndarray, np.ndarray]:
        """``(image, labels)`` of a section, depth-down ``(rows, cols)`` (views of the
        loaded volume with ``whole_volume``; treat them as read-only)."""
        if self.whole_volume:
            if self.volume is None:
                self._load_volume()
            image, labels = self.volume
            at = section.index if section.kind == "inline" else (slice(None), section.index)
            return image[at].T, labels[at].T
        key = (section.kind, section.index)
        if key not in self.cache:
            self.preload([section])
        return self.cache[key]

    def release(self) -> None:
        """Drop the spilled volume's pages from resident memory (nothing without a spill)."""
        if self.spill is not None:
            self.spill.release()

    def clear(self) -> None:
        """Drop everything read (sections or the loaded volume)."""
        self.cache.clear()
        self.volume = None
        if self.spill is not None:
            self.spill.close()

    def _load_volume(self, max_bytes: int = 64 * 2**20) -> None:
        n_il, n_xl, n_s = (int(n) for n in self.image_src.shape)
        alloc = np.empty if self.spill is None else self.spill.empty
        image = alloc((n_il, n_xl, n_s), dtype=np.float32)
        labels = alloc((n_il, n_xl, n_s), dtype=np.uint8)
        step = max(1, max_bytes // (4 * n_xl * n_s))
        for start in range(0, n_il, step):
            group = [
                Section("inline", i, i, (n_s, n_xl)) for i in range(start, min(start + step, n_il))
            ]
            images = read_sections(self.image_src, group)
            for sec, img in zip(group, images, strict=True):
                image[sec.index] = (normalize(img, self.stats) if self.stats is not None else img).T
            for sec, lab in zip(
                group, read_sections(self.label_src, group, labels=True), strict=True
            ):
                labels[sec.index] = lab.T
            self.release()
        self.volume = (image, labels)

    def preload(self, sections: Sequence[Section], max_bytes: int = 256 * 2**20) -> int:
        """Read the sections not cached yet into the cache, many per dask compute (with
        ``whole_volume``: load the volume, if not loaded yet; returns 0 or the number of
        inlines read).

        Sections are grouped so that one group's images stay under ``max_bytes`` (float32);
        each group is one :func:`read_sections` call for the images and one for the labels.
        Returns the number of sections read. Reading a whole training set up front this way
        is much cheaper than the first epochs' section-by-section reads (see
        :func:`read_sections`), and leaves the training loop with numpy slicing only.
        """
        if self.whole_volume:
            if self.volume is not None:
                return 0
            self._load_volume()
            return len(self.volume[0])
        todo, seen = [], set()
        for sec in sections:
            key = (sec.kind, sec.index)
            if key not in self.cache and key not in seen:
                seen.add(key)
                todo.append(sec)
        start = 0
        while start < len(todo):
            stop, size = start, 0
            while stop < len(todo) and (stop == start or size + _nbytes(todo[stop]) <= max_bytes):
                size += _nbytes(todo[stop])
                stop += 1
            group = todo[start:stop]
            images = read_sections(self.image_src, group)
            labels = read_sections(self.label_src, group, labels=True)
            for sec, img, lab in zip(group, images, labels, strict=True):
                if self.stats is not None:
                    img = normalize(img, self.stats)
                self.cache[(sec.kind, sec.index)] = (img, lab)
            start = stop
        return len(todo)


def _nbytes(section: Section) -> int:
    rows, cols = section.shape
    return 4 * int(rows) * int(cols)
