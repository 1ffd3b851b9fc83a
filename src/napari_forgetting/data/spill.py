"""Arrays kept on disk instead of in the process's memory (numpy only).

A training run at F3 size holds its training volume (287 MB of samples, 72 MB of labels)
and its trackers' per-pixel state (16 bytes per tracked pixel with every statistic, 0.9 GB
for 55 M pixels) for its whole length, but touches a section's worth of them at a time.
:class:`Spill` puts such arrays in files, mapped into memory: numpy indexes them like any
array, and :meth:`Spill.release` drops the pages the process has touched from its resident
set (``madvise(MADV_DONTNEED)`` on a shared file mapping: the data stays in the operating
system's page cache, which writes changed pages back to the file and frees them under
pressure; the next access reads them back). Call it after each piece of work -- a batch, a
section -- and the process holds only what it works on.

The files are created in ``folder`` (the run's folder, or the system's temporary folder)
and unlinked at once: nothing is left behind, even when the process is killed; the space
is freed when the last array of a spill is gone.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Arrays smaller than this stay in memory (:func:`spill_for`): spilling pays only at size.
SPILL_BYTES = 32 * 2**20


class Spill:
    """Allocates arrays in unlinked files of ``folder`` (default: the temporary folder)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = None if folder is None else Path(folder)
        self._maps: list[mmap.mmap] = []
        self.nbytes = 0

    def __repr__(self) -> str:
        return f"Spill({str(self.folder or tempfile.gettempdir())!r}, {self.nbytes} bytes)"

    def empty(self, shape: int | Sequence[int], dtype: Any) -> np.ndarray:
        """A file-backed array of zeros (a new file reads as zeros; no page is touched)."""
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(n) for n in shape)
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes == 0:
            return np.zeros(shape, dtype)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".spill-", suffix=".bin", dir=self.folder)
        try:
            os.unlink(name)
            os.ftruncate(fd, nbytes)
            mm = mmap.mmap(fd, nbytes)
        finally:
            os.close(fd)
        if hasattr(mmap, "MADV_RANDOM"):
            # no read-ahead: otherwise one fault maps a whole large page-cache folio, and
            # a crossline (a row from each inline) mapped 247 of a 287 MB volume's MB, not 26
            mm.madvise(mmap.MADV_RANDOM)
        self._maps.append(mm)
        self.nbytes += nbytes
        return np.frombuffer(mm, dtype=dtype).reshape(shape)

    zeros = empty

    def full(self, shape: int | Sequence[int], value: Any, dtype: Any) -> np.ndarray:
        """A file-backed array filled with ``value`` (its pages released afterwards)."""
        a = self.empty(shape, dtype)
        if value != 0:
            flat = a.reshape(-1)
            step = max(1, SPILL_BYTES // a.dtype.itemsize)
            for start in range(0, flat.size, step):
                flat[start : start + step] = value
                self.release()
        return a

    def copy(self, x: np.ndarray) -> np.ndarray:
        """A file-backed copy of ``x``."""
        a = self.empty(x.shape, x.dtype)
        flat, src = a.reshape(-1), np.ascontiguousarray(x).reshape(-1)
        step = max(1, SPILL_BYTES // max(1, a.dtype.itemsize))
        for start in range(0, flat.size, step):
            flat[start : start + step] = src[start : start + step]
            self.release()
        return a

    def release(self) -> None:
        """Drop every page of this spill's arrays from the process's resident memory (their
        contents are kept: the next access reads them back)."""
        for mm in self._maps:
            mm.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Forget the arrays: each file's space is freed when its last array is gone."""
        self._maps = []
        self.nbytes = 0


def spill_for(nbytes: int, folder: str | os.PathLike | None = None) -> Spill | None:
    """A :class:`Spill` in ``folder`` for arrays of ``nbytes`` in all, or None when they are
    small enough to stay in memory (under :data:`SPILL_BYTES`) or the platform cannot
    release mapped pages."""
    if int(nbytes) < SPILL_BYTES or not hasattr(mmap, "MADV_DONTNEED"):
        return None
    return Spill(folder)


def memory_bytes() -> int:
    """The machine's physical memory in bytes (0 where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def check_memory(
    nbytes: int, what: str, share: float = 0.5, error: type[Exception] = ValueError,
    hint: str = "",
) -> None:  # fmt: skip
    """Refuse (``error``, one line with the figures) ``what`` needing ``nbytes`` when that is
    more than ``share`` of the machine's memory: before anything of it is allocated."""
    have = memory_bytes()
    if have and nbytes > share * have:
        part = "half" if share == 0.5 else f"{share:.0%}"
        raise error(
            f"{what} takes {nbytes / 2**30:.1f} GiB, more than {part} of this machine's "
            f"{have / 2**30:.1f} GiB{hint}"
        )
