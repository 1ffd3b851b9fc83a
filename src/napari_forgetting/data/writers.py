"""Atomic file writes: a temporary file beside the target, moved into place only on success.

:func:`atomic_path` is the primitive; :func:`write_json`, :func:`save_npy` and
:func:`save_zarr` write JSON, ``.npy`` arrays and zarr groups through it. numpy and zarr only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _umask() -> int:
    """The process umask, read without changing it (os.umask is not thread-safe)."""
    try:
        with open("/proc/self/status") as fh:
            for row in fh:
                if row.startswith("Umask:"):
                    return int(row.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = False) -> Iterator[str]:
    """Yield a temporary path in ``path``'s folder; on success move it over ``path``.

    The old file (if any) stays untouched and the temporary file is removed when the body
    raises. The result gets the usual mode (``0o666 & ~umask``; ``mkstemp`` makes 0600).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_json(path: str | os.PathLike, data: Any, *, fsync: bool = False, indent: int = 1) -> None:
    """``data`` as JSON in ``path`` (after :func:`jsonable`), written atomically
    (:func:`atomic_path`), ending in a newline. Anything still not JSON is a ``TypeError`` and
    leaves the old file untouched."""
    with atomic_path(path, fsync=fsync) as tmp, open(tmp, "w") as fh:
        json.dump(jsonable(data), fh, indent=indent)
        fh.write("\n")


def jsonable(x: Any) -> Any:
    """``x`` with dict keys as strings, tuples as lists, numpy scalars and arrays as Python
    numbers and lists, and paths as strings, at any depth; other values unchanged."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return x


def save_npy(path: str | os.PathLike, array: Any) -> None:
    """``array`` as a ``.npy`` file (no pickles), written atomically and fsynced."""
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(np.asarray(array)), allow_pickle=False)


def save_zarr(
    path: str | os.PathLike, seismic: np.ndarray | None, labels: np.ndarray | None, attrs: dict
) -> None:
    """Write a zarr group (``seismic`` and/or ``labels``) into a temporary folder beside
    ``path``, then rename it in (replacing an older one only once the new one is complete)."""
    import zarr

    path = Path(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        store = tmp / "store.zarr"
        group = zarr.open_group(str(store), mode="w")
        shape = (seismic if seismic is not None else labels).shape
        chunks = (1, *shape[1:])
        if seismic is not None:
            group.create_array("seismic", data=np.ascontiguousarray(seismic), chunks=chunks)
        if labels is not None:
            group.create_array("labels", data=np.ascontiguousarray(labels), chunks=chunks)
        group.attrs.update(attrs)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(store, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
