"""Atomic training checkpoints that hold only tensors and plain values (torch only).

A checkpoint is one ``torch.save`` file, ``<out_dir>/checkpoint.pt``, holding everything a
resumed run needs to continue bit-for-bit: model and optimizer state, the number of completed
epochs, torch's RNG states (dropout), the patch sampler's numpy bit-generator state, the
forgetting tracker's ``state_dict`` and the per-epoch history.

**Safe to open.** A checkpoint is loaded with ``torch.load(weights_only=True)``: only
tensors, numbers, strings, ``None`` and lists / tuples / dicts of them are read, and a file
carrying anything else -- a pickled object whose loading would run code, as a
``checkpoint.pt`` someone sent could -- is refused with :class:`CheckpointError` naming the
file, before any of its content is used. numpy arrays in a state (the tracker's counts) are
stored as tensors under a one-key dict ``{"__ndarray__": tensor}`` and come back as arrays;
numpy scalars are stored as Python numbers.

:func:`save_checkpoint` writes a temporary file in the same folder, flushes and fsyncs it,
then ``os.replace``-s it over the old one: a run killed mid-write leaves the previous
checkpoint intact, never a truncated file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_forgetting.data.errors import one_line
from napari_forgetting.data.writers import atomic_path

__all__ = [
    "CHECKPOINT_NAME",
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "checkpoint_path",
    "load_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_NAME = "checkpoint.pt"
#: 2: tensors and plain values only (1 held pickled numpy objects and is no longer read).
CHECKPOINT_VERSION = 2
_NDARRAY = "__ndarray__"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unsafe content, another version, not a
    checkpoint. The message names the file."""


def checkpoint_path(out_dir: str | os.PathLike) -> Path:
    """``<out_dir>/checkpoint.pt``."""
    return Path(out_dir) / CHECKPOINT_NAME


def to_plain(x: Any) -> Any:
    """``x`` with numpy arrays as ``{"__ndarray__": tensor}``, numpy scalars as Python
    numbers and paths as strings, at any depth (what ``weights_only`` loading accepts)."""
    if isinstance(x, dict):
        return {k: to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_plain(v) for v in x)
    if isinstance(x, np.ndarray):  # shared with x, not copied, where torch can share it
        x = np.ascontiguousarray(x)
        return {_NDARRAY: torch.from_numpy(x if x.flags.writeable else x.copy())}
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    return x


def from_plain(x: Any) -> Any:
    """The inverse of :func:`to_plain`."""
    if isinstance(x, dict):
        if len(x) == 1 and _NDARRAY in x:
            return x[_NDARRAY].numpy()
        return {k: from_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(from_plain(v) for v in x)
    return x


class _PagedWriter:
    """A file object for ``torch.save`` that writes what it is given in pieces of ``step``
    bytes and calls ``written()`` after each: torch hands a record over as one view of the
    tensor's memory, so arrays kept in files (``data.spill``) can drop the pages already
    written instead of holding all of them until the save ends (at F3 size the small
    trackers' arrays, one piece each, held 0.2 GiB when only pieces of larger ones were
    followed by ``written``)."""

    def __init__(self, handle: Any, written: Callable[[], None], step: int = 32 * 2**20):
        self._handle, self._written, self._step = handle, written, int(step)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), self._step):
            piece = view[start : start + self._step]
            self._handle.write(piece)
            if len(piece) >= 2**20:  # a tensor's record, not a header
                self._written()
        return len(view)

    def flush(self) -> None:
        self._handle.flush()


def save_checkpoint(
    path: str | os.PathLike, state: dict[str, Any], written: Callable[[], None] | None = None
) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder + ``os.replace``).

    The folder is created if needed. ``written`` is called after each large piece written
    (a trainer drops spilled arrays' pages there). Returns ``path`` as a
    :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = to_plain({"checkpoint_version": CHECKPOINT_VERSION, **state})
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as handle:
        # A Python file object, not a file name: given a name, torch's C++ zip writer writes
        # each tensor holding the GIL, so a GUI thread next to a training thread froze for
        # ~110 ms per record of a 190 MB checkpoint; through a file object the GIL is free
        # between the writes (a 5 ms ticker thread's longest wait: 105-124 -> 12 ms).
        torch.save(state, handle if written is None else _PagedWriter(handle, written))
        if written is not None:
            written()
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors mapped to
    ``map_location``), with ``torch.load(weights_only=True)``.

    Raises :class:`FileNotFoundError` if absent, and :class:`CheckpointError` for a file that
    holds anything but tensors and plain values (refused unread: none of its code runs), is
    not a torch file, or is of another checkpoint version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused: the file holds objects other than tensors and plain values, "
            "which only loading it as a pickle would create, running code it carries; "
            f"nothing of it was loaded ({one_line(exc)})"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({exc})") from None
    version = state.get("checkpoint_version") if isinstance(state, dict) else None
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {version!r}, this version reads "
            f"{CHECKPOINT_VERSION} (tensors and plain values only); retrain, or resume with "
            "the napari-forgetting that wrote it"
        )
    return from_plain(state)
