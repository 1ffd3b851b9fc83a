"""Forgetting events and related per-pixel learning events, as pure functions over histories.

A *history* is an array whose first axis is time (epoch, or presentation): ``correct`` has
shape ``(T, ...)`` and dtype bool, ``correct[t, i]`` telling whether pixel ``i`` was classified
correctly at step ``t``; ``predictions`` has shape ``(T, ...)`` and an integer dtype. The
trailing axes ``...`` are any pixel layout (one section ``(n_rows, n_cols)``, a stack of
sections, a flat vector); every result has that trailing shape.

Benkert, Aribido & AlRegib (ICIP 2021), Section 2.1, for pixel ``i``:

* Eq. 1 ``acc_i^t = 1[ŷ_i^t = y_i]``                    -> :func:`correctness`
* Eq. 2 ``f_i^t = int(acc_i^{t+1} < acc_i^t)``          (a forgetting event at ``t``)
* Eq. 3 ``L_i = Σ_t f_i^t``                              -> :func:`forgetting_events`

A pixel that is never classified correctly has no forgetting event (``L_i = 0``) although it
is the hardest of all. How such *never-learned* pixels are scored is a separate, explicit
choice (:class:`NeverLearned`, :func:`forgetting_scores`); the never-learned mask
(:func:`never_learned`) is always kept beside the counts.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from napari_forgetting.dynamics._arrays import as_bool_array, as_int_array, as_numpy

__all__ = [
    "NEVER_LEARNED_SENTINEL",
    "NeverLearned",
    "correctness",
    "first_learned",
    "forgetting_events",
    "forgetting_scores",
    "learning_events",
    "never_learned",
    "switch_events",
]

#: Default score of a never-learned pixel under ``NeverLearned.SENTINEL``: larger than any
#: forgetting count the tracker can hold (its counts are at most 16 bit).
NEVER_LEARNED_SENTINEL: int = int(np.iinfo(np.int32).max)


class NeverLearned(str, Enum):
    """How a never-learned pixel (never classified correctly) is scored in a heat map.

    * ``ZERO`` (``"zero"``, the default): the count of forgetting events as defined, which is
      0 for a pixel never learned -- the paper's Eq. 1-3 and the authors' later segmentation
      tracker. Never-learned pixels then look like unforgettable ones; read the mask.
    * ``EPOCHS`` (``"epochs"``): Toneva et al. (ICLR 2019) -- a never-learned example gets the
      number of epochs ``T`` (presentations), which ranks it among the most forgettable.
    * ``SENTINEL`` (``"sentinel"``): a large sentinel value (default
      :data:`NEVER_LEARNED_SENTINEL`) that no real count reaches, as dataset-cartography style
      tables flag such examples; ranks them first, and is easy to mask out.
    """

    ZERO = "zero"
    EPOCHS = "epochs"
    SENTINEL = "sentinel"


def correctness(predictions: Any, labels: Any) -> np.ndarray:
    """Eq. 1: ``acc = predictions == labels``.

    Parameters
    ----------
    predictions : int array, shape (T, ...)
        Predicted class id per step and pixel (numpy or torch).
    labels : int array, shape (...) or (T, ...)
        True class ids, broadcast against ``predictions`` (a fixed label map for every step).

    Returns
    -------
    bool array, shape (T, ...)
    """
    pred = as_int_array(predictions, "predictions")
    lab = as_int_array(labels, "labels")
    return np.equal(pred, lab)


def _history(correct: Any) -> np.ndarray:
    c = as_bool_array(correct, "correct")
    if c.ndim < 1:
        raise ValueError("a history needs a time axis: shape (T, ...)")
    return c


def forgetting_events(correct: Any) -> np.ndarray:
    """Number of forgetting events per pixel, Eq. 1-3 of Benkert et al. (2021).

    An event at ``t`` is ``correct[t] and not correct[t + 1]`` (accuracy strictly decreases);
    the result sums them over ``t = 0 .. T-2``. A never-learned pixel has 0 events (see
    :func:`forgetting_scores` for the alternatives).

    Parameters
    ----------
    correct : bool array, shape (T, ...)
        ``correct[t, i]``: pixel ``i`` correct at step ``t``. ``T = 0`` or ``1`` gives zeros.

    Returns
    -------
    int64 array, shape (...)
    """
    c = _history(correct)
    if c.shape[0] < 2:
        return np.zeros(c.shape[1:], dtype=np.int64)
    return np.count_nonzero(c[:-1] & ~c[1:], axis=0).astype(np.int64, copy=False)


def learning_events(correct: Any) -> np.ndarray:
    """Number of learning events per pixel: ``not correct[t] and correct[t + 1]``.

    The first correct step counts as a learning event only when it is not step 0 (there is
    no step before it). Shapes as :func:`forgetting_events`: bool (T, ...) -> int64 (...).
    """
    c = _history(correct)
    if c.shape[0] < 2:
        return np.zeros(c.shape[1:], dtype=np.int64)
    return np.count_nonzero(~c[:-1] & c[1:], axis=0).astype(np.int64, copy=False)


def switch_events(predictions: Any) -> np.ndarray:
    """How many times each pixel's predicted class changed between consecutive steps.

    Parameters
    ----------
    predictions : int array, shape (T, ...)

    Returns
    -------
    int64 array, shape (...): ``Σ_t [predictions[t + 1] != predictions[t]]``.
    """
    p = as_int_array(predictions, "predictions")
    if p.ndim < 1:
        raise ValueError("a history needs a time axis: shape (T, ...)")
    if p.shape[0] < 2:
        return np.zeros(p.shape[1:], dtype=np.int64)
    return np.count_nonzero(p[1:] != p[:-1], axis=0).astype(np.int64, copy=False)


def first_learned(correct: Any) -> np.ndarray:
    """Step index at which each pixel was first correct, ``-1`` if it never was.

    Parameters
    ----------
    correct : bool array, shape (T, ...)

    Returns
    -------
    int64 array, shape (...), values in ``-1 .. T-1``.
    """
    c = _history(correct)
    if c.shape[0] == 0:
        return np.full(c.shape[1:], -1, dtype=np.int64)
    return np.where(c.any(axis=0), np.argmax(c, axis=0), -1).astype(np.int64)


def never_learned(correct: Any) -> np.ndarray:
    """Mask of pixels never classified correctly in the history.

    Parameters
    ----------
    correct : bool array, shape (T, ...)

    Returns
    -------
    bool array, shape (...). With ``T = 0`` every pixel is never learned.
    """
    c = _history(correct)
    return ~c.any(axis=0)


def forgetting_scores(
    counts: Any,
    never_learned_mask: Any,
    n_epochs: int,
    convention: NeverLearned | str = NeverLearned.ZERO,
    *,
    sentinel: int = NEVER_LEARNED_SENTINEL,
) -> np.ndarray:
    """Forgetting counts with never-learned pixels scored by ``convention``.

    Parameters
    ----------
    counts : int array, shape (...)
        Forgetting events per pixel (:func:`forgetting_events`), or float mean counts over
        seeds (a consensus run).
    never_learned_mask : bool array, shape (...)
        Pixels never classified correctly (:func:`never_learned`).
    n_epochs : int
        ``T``, the number of epochs (presentations) observed; the score of a never-learned
        pixel under ``"epochs"``.
    convention : NeverLearned or str
        ``"zero"`` (never-learned pixels keep 0), ``"epochs"`` (they get ``n_epochs``),
        ``"sentinel"`` (they get ``sentinel``).
    sentinel : int
        The value for ``"sentinel"``; must fit int64.

    Returns
    -------
    int64 array (float64 for float counts), shape (...): a new array; learned pixels keep
    their count.
    """
    convention = NeverLearned(convention)
    c = as_numpy(counts)
    # a consensus over seeds stores mean counts (float): scored the same way, kept float
    c = c.astype(np.float64) if c.dtype.kind == "f" else as_int_array(c, "counts").astype(np.int64)
    mask = as_bool_array(never_learned_mask, "never_learned_mask")
    if mask.shape != c.shape:
        raise ValueError(f"never_learned_mask shape {mask.shape} != counts shape {c.shape}")
    value = {
        NeverLearned.ZERO: 0,
        NeverLearned.EPOCHS: int(n_epochs),
        NeverLearned.SENTINEL: int(sentinel),
    }[convention]
    c[mask] = value
    return c
