"""Browsing an augmented pool: its sections beside the sections they were made from.

:func:`open_pool_browse` reads a pool folder written by
:func:`~napari_forgetting.workflow.augment.save_pool` (``pool.json`` and one set per target
kind) without loading it: each kind's generated sections are a memory map (``.npy``) or a
dask array (zarr) of shape ``(N, rows, cols)``, depth down. With the parent run's volume
(reopened from the run's ``source``, or given), each item's target section as it was and the
difference follow as lazy dask stacks: browsing item ``i`` reads that section only.

The items are browsed in one order over both kinds (the inline targets, then the crossline
ones: :attr:`PoolStack.start`); :meth:`PoolBrowse.describe` says what item ``i`` is and how
much the transfer changed it, inside and outside the class region. No Qt here; the viewer's
side is :mod:`napari_forgetting._napari.pool_view`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section, section_image
from napari_forgetting.workflow.augment import pool_set, read_pool_record

__all__ = ["PoolBrowse", "PoolStack", "open_pool_browse", "per_item"]


@dataclass
class PoolStack:
    """One target kind's items: ``images`` (generated) and ``labels`` (the targets'),
    ``(N, rows, cols)`` depth down, lazy; ``targets`` the target sections as they were and
    ``difference`` = images - targets (lazy dask stacks; ``None`` without the volume)."""

    kind: str
    start: int
    images: Any
    labels: Any
    records: list[dict[str, Any]]
    targets: Any = None
    difference: Any = None

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class PoolBrowse:
    """A pool folder opened for browsing (see the module docstring)."""

    path: Path
    class_id: int
    class_name: str
    stacks: list[PoolStack]
    #: why the targets could not be shown (``None`` when they are)
    no_targets: str | None = None

    def __len__(self) -> int:
        return sum(len(s) for s in self.stacks)

    def locate(self, item: int) -> tuple[PoolStack, int]:
        """``(stack, index in it)`` of browse position ``item`` (0-based)."""
        for stack in self.stacks:
            if stack.start <= item < stack.start + len(stack):
                return stack, item - stack.start
        raise IndexError(f"the pool has {len(self)} items; no item {item + 1}")

    def change(self, item: int) -> dict[str, float] | None:
        """Mean ``|generated - target|`` inside and outside the class region of item
        ``item``, in the target section's amplitude stds; ``None`` without the targets."""
        stack, i = self.locate(item)
        if stack.targets is None:
            return None
        image = np.asarray(stack.images[i], np.float64)
        target = np.asarray(stack.targets[i], np.float64)
        region = np.asarray(stack.labels[i]) == self.class_id
        std = float(target.std()) or 1.0
        diff = np.abs(image - target) / std
        inside = float(diff[region].mean()) if region.any() else float("nan")
        outside = float(diff[~region].mean()) if (~region).any() else float("nan")
        return {"inside": inside, "outside": outside, "region_pixels": int(region.sum())}

    def describe(self, item: int) -> str:
        """What item ``item`` is; on a second line (with the targets), how much the transfer
        changed it."""
        stack, i = self.locate(item)
        r = stack.records[i]
        line = (
            f"item {item + 1} of {len(self)}: {r['target']} in the {self.class_name} style of "
            f"{r['source']}"
        )
        change = self.change(item)
        if change is not None:
            line += (
                f"\n|generated - target| {change['inside']:.2f} std inside the "
                f"{self.class_name} region ({change['region_pixels']} px), "
                f"{change['outside']:.3f} outside"
            )
        return line


def _stack(folder: Path, name: str) -> tuple[dict[str, Any], Any, Any]:
    """A set's manifest and ``(seismic, labels)`` as ``(N, rows, cols)`` depth-down views,
    unread (memory maps, or dask arrays over zarr)."""
    manifest, seismic, labels = pool_set(folder, name)
    if not isinstance(seismic, np.ndarray):
        import dask.array as da

        seismic, labels = da.from_zarr(seismic), da.from_zarr(labels)
    # stored as F3 volumes (N, cols, samples): depth down is (N, samples, cols)
    return manifest, seismic.transpose(0, 2, 1), labels.transpose(0, 2, 1)


def per_item(array: Any) -> Any:
    """``array`` (a memory map or a dask array, ``(N, rows, cols)``) as a dask array of one
    chunk per item: a lazy expression over it reads the items shown only."""
    import dask.array as da

    chunks = (1, *array.shape[1:])
    if isinstance(array, da.Array):
        return array.rechunk(chunks)
    return da.from_array(array, chunks=chunks)


def _targets(volume: Any, records: list[dict[str, Any]], shape: tuple[int, int]) -> Any:
    """The target sections as they were, a lazy ``(N, rows, cols)`` dask stack."""
    import dask
    import dask.array as da

    read = dask.delayed(section_image, pure=False)  # no hashing of the volume
    return da.stack(
        [
            da.from_delayed(read(volume, Section.from_key(r["target"], volume)), shape, np.float32)
            for r in records
        ]
    )


def open_pool_browse(path: str | os.PathLike, volume: Any = None) -> PoolBrowse:
    """Open the pool folder ``path`` (or its ``pool.json``) for browsing; ``volume``: the
    parent run's data (default: reopened from the run's ``source`` when it can be; the
    targets are left out otherwise, :attr:`PoolBrowse.no_targets` says why).

    Raises ``FileNotFoundError`` / ``ValueError`` with one line naming the file."""
    pool_file, record = read_pool_record(path)
    folder = pool_file.parent
    no_targets = None
    if volume is None:
        volume, no_targets = _parent_volume(record.get("parent_run"))
    stacks: list[PoolStack] = []
    start = 0
    for s in sorted(record["sets"], key=lambda s: s["kind"] != "inline"):
        name = s["name"]
        try:
            manifest, images, labels = _stack(folder, name)
        except (FileNotFoundError, KeyError, ValueError) as exc:
            raise ValueError(f"{folder}: the set {name} cannot be read ({exc})") from None
        records = sorted(manifest["sections"], key=lambda r: int(r.get("inline_number", 0)))
        if len(records) != images.shape[0]:
            raise ValueError(
                f"{folder / name}: {images.shape[0]} sections but {len(records)} in its manifest"
            )
        stack = PoolStack(s["kind"], start, images, labels, records)
        if volume is not None:
            shape = tuple(int(n) for n in images.shape[1:])
            try:
                stack.targets = _targets(volume, records, shape)
            except ValueError as exc:  # a target the volume does not hold
                no_targets = f"the parent's volume does not hold the pool's targets ({exc})"
            else:
                stack.difference = per_item(images).astype(np.float32) - stack.targets
        stacks.append(stack)
        start += len(records)
    if no_targets is not None:
        for stack in stacks:
            stack.targets = stack.difference = None
    return PoolBrowse(folder, int(record["class_id"]), str(record["class"]), stacks, no_targets)


def _parent_volume(parent_run: str | None) -> tuple[Any, str | None]:
    """The parent run's volume, or ``(None, why not)``."""
    if not parent_run:
        return None, "the pool records no parent run"
    from napari_forgetting.data.source import open_source
    from napari_forgetting.runs.store import RunStore

    try:
        store = RunStore.open(parent_run)
        return open_source(store.info.get("source") or {}), None
    except Exception as exc:  # noqa: BLE001 - the pool is still browsable; say why
        return None, f"the parent run's volume cannot be opened: {exc}"
