"""Array plumbing shared by the dynamics modules: numpy in, numpy out, torch tolerated."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_numpy(x: Any) -> np.ndarray:
    """``x`` as a numpy array; a torch tensor (anything with ``.detach``) is detached and
    copied to the CPU first. torch itself is never imported here."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def as_int_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a numpy array of an integer (or bool) dtype; anything else is a ``TypeError``."""
    a = as_numpy(x)
    if a.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer class ids, got dtype {a.dtype}")
    return a


def as_bool_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a numpy bool array (integers are read as 0 = False, non-zero = True)."""
    a = as_numpy(x)
    if a.dtype.kind not in "iub":
        raise TypeError(f"{name} must be a boolean array, got dtype {a.dtype}")
    return a.astype(bool, copy=False)
