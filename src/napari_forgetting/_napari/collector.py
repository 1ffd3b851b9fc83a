"""Full garbage collections kept off the GUI's path while a run is trained or replayed.

A full (oldest-generation) collection walks every container object the process holds, under
the GIL. In a viewer that has imported napari, Qt and torch that is 0.3-0.7 million objects,
and on two busy cores one such walk stopped the event loop for 334 ms in the middle of a
replay at F3 size (``benchmarks/bench_gui.py``; the gc callbacks showed it). Nearly all of
those objects (modules, classes, functions, the viewer) live as long as the process, so the
usual remedy is :func:`gc.freeze`: objects alive at that moment go to the permanent
generation, which collections skip; newer objects are collected as before.

The cost of a freeze is that frozen objects that *later* become cyclic garbage -- a napari
layer removed from the viewer is one (its events refer back to it) -- are only reclaimed
once thawed. So:

* :func:`collect` when the user starts or resumes training (a click): thaw, one full
  collection -- the one pause, where the user expects one;
* :func:`freeze` when the training worker has built its model (torch imported, in the
  worker) and when a stored run is opened for replay: no collection, cheap;
* :func:`thaw` when a layer leaves a watched viewer (:func:`watch`) and when the dock
  closes; the next full collection then reclaims what died while frozen.

Only what this module froze is thawed (a freeze made by someone else in the process is left
alone, and then this module freezes nothing). ``NAPARI_FORGETTING_GC_FREEZE=0`` turns it
all off.
"""

from __future__ import annotations

import gc
import os
from typing import Any

__all__ = ["ENV", "collect", "enabled", "freeze", "thaw", "watch"]

#: Environment variable: ``0`` / ``false`` / ``no`` / ``off`` leaves the collector alone.
ENV = "NAPARI_FORGETTING_GC_FREEZE"

_state = {"ours": False}


def enabled() -> bool:
    """Whether freezing is on (see :data:`ENV`)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _ours_or_none() -> bool:
    """On, and nothing frozen by anyone else."""
    return enabled() and (_state["ours"] or not gc.get_freeze_count())


def freeze() -> int:
    """Move every object alive now to the permanent generation (no collection: cheap).
    Returns the number of frozen objects (0 when turned off or frozen by someone else)."""
    if not _ours_or_none():
        return 0
    gc.freeze()
    _state["ours"] = True
    return gc.get_freeze_count()


def collect() -> int:
    """Thaw what this module froze and collect everything once (the one full pause);
    returns the number of unreachable objects found (0 when turned off)."""
    if not _ours_or_none():
        return 0
    thaw()
    return gc.collect()


def thaw() -> None:
    """Give what this module froze back to the collector (its next full collection walks
    it, and reclaims what died while frozen)."""
    if _state["ours"]:
        gc.unfreeze()
        _state["ours"] = False


def _layer_removed(event: Any = None) -> None:
    thaw()  # a removed layer is cyclic garbage: frozen, it would never be reclaimed


def watch(viewer: Any) -> None:
    """Thaw whenever a layer leaves ``viewer`` (connected once per viewer)."""
    removed = viewer.layers.events.removed
    if _layer_removed not in removed.callbacks:
        removed.connect(_layer_removed)
