"""Reopen the data a run was trained on, from the ``source`` record in its ``run.json``.

``--data synthetic`` runs record ``{"kind": "synthetic", "shape", "seed"}`` (the generator is
deterministic, so the same volume is rebuilt); file runs record ``{"kind": "file", "path",
"labels"?, "iline", "xline"}``. Workers of a dask cluster reopen data this way, lazily, from a
path they can reach.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from napari_forgetting.data.errors import VolumeError
from napari_forgetting.data.synthetic import DEFAULT_SHAPE
from napari_forgetting.data.volume import open_volume

__all__ = ["load_data", "open_source"]


def load_data(
    data: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    shape: Sequence[int] = DEFAULT_SHAPE,
    seed: int = 0,
    iline: int = 189,
    xline: int = 193,
) -> tuple[Any, dict[str, Any]]:
    """``(volume, source)`` for ``data`` = a labelled volume's path or ``"synthetic"``.

    ``source`` records how to reopen it (:func:`open_source`). Raises
    :class:`~napari_forgetting.data.VolumeError` for unlabelled or unreadable data.
    """
    if str(data) == "synthetic":
        from napari_forgetting.data.synthetic import make_f3_like

        shape = tuple(int(n) for n in shape)
        return make_f3_like(shape, seed=int(seed)), {
            "kind": "synthetic",
            "shape": list(shape),
            "seed": int(seed),
        }
    vol = open_volume(data, labels=labels, iline=iline, xline=xline)
    if vol.labels is None:
        raise VolumeError(
            data, "no labels found beside it; give --labels LABELS (training needs labels)"
        )
    src: dict[str, Any] = {
        "kind": "file",
        "path": os.path.abspath(data),
        "iline": int(iline),
        "xline": int(xline),
    }
    if labels:
        src["labels"] = os.path.abspath(labels)
    return vol, src


def open_source(source: dict[str, Any]) -> Any:
    """The volume a ``source`` record (from :func:`load_data` / a run's ``run.json``) names."""
    kind = source.get("kind")
    if kind == "synthetic":
        return load_data("synthetic", shape=source["shape"], seed=source["seed"])[0]
    if kind == "file":
        return load_data(
            source["path"],
            source.get("labels"),
            iline=source.get("iline", 189),
            xline=source.get("xline", 193),
        )[0]
    raise ValueError(
        f"the run does not record where its data came from (source {source!r}); "
        "pass the data explicitly"
    )
