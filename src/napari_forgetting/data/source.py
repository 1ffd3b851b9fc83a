"""Open a run's data -- the training volume and its held-out test volumes -- and reopen it from
the ``source`` record in the run's ``run.json``.

``--data synthetic`` runs record ``{"kind": "synthetic", "layout": "f3-benchmark", "shape",
"seed"}``: the generator is deterministic, so the same training volume and the same test
volumes (:func:`~napari_forgetting.data.synthetic.make_f3_benchmark`) are rebuilt. File runs
record ``{"kind": "file", "path", "labels"?, "iline", "xline", "tests"?}``, ``tests`` mapping
a test name to its path: the F3 benchmark's ``test_once/test1_seismic.npy`` and
``test2_seismic.npy`` are found beside ``train/train_seismic.npy``, others are given. Workers
of a dask cluster reopen data this way, lazily, from a path they can reach.

A test volume must be comparable with the training data -- the same sample count, class ids
within the training classes (and the same class names where both have them), and for the F3
layout's ``test1`` the same crosslines -- else it is refused (:class:`VolumeError` naming the
file) before anything trains.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.errors import VolumeError
from napari_forgetting.data.synthetic import DEFAULT_SHAPE
from napari_forgetting.data.volume import open_volume

__all__ = [
    "DataNotRecorded",
    "check_test_volume",
    "find_layout_tests",
    "load_data",
    "load_tests",
    "open_run_data",
    "open_source",
    "source_description",
]

#: The F3 benchmark's test files relative to the folder holding ``train/``.
_LAYOUT_TESTS = {"test1": "test_once/test1_seismic.npy", "test2": "test_once/test2_seismic.npy"}


def load_data(
    data: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    shape: Sequence[int] = DEFAULT_SHAPE,
    seed: int = 0,
    iline: int = 189,
    xline: int = 193,
) -> tuple[Any, dict[str, Any]]:
    """``(volume, source)`` for ``data`` = a labelled volume's path or ``"synthetic"`` (the
    training part of the F3-like benchmark layout of that ``shape``).

    ``source`` records how to reopen the volume and its test volumes (:func:`open_source`,
    :func:`load_tests`). Raises :class:`~napari_forgetting.data.VolumeError` for unlabelled
    or unreadable data.
    """
    if str(data) == "synthetic":
        from napari_forgetting.data.synthetic import make_f3_benchmark

        shape = tuple(int(n) for n in shape)
        return make_f3_benchmark(shape, seed=int(seed)).train, {
            "kind": "synthetic",
            "layout": "f3-benchmark",
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
    tests = find_layout_tests(data)
    if tests:
        src["tests"] = {name: str(path) for name, path in tests.items()}
    return vol, src


def find_layout_tests(data: str | os.PathLike) -> dict[str, Path]:
    """The F3 benchmark's test volumes beside ``DIR/train/train_seismic.npy``:
    ``DIR/test_once/test1_seismic.npy`` and ``test2_seismic.npy``, where they exist."""
    path = Path(data)
    if path.name != "train_seismic.npy" or path.parent.name != "train":
        return {}
    root = path.parent.parent
    return {name: root / rel for name, rel in _LAYOUT_TESTS.items() if (root / rel).is_file()}


def load_tests(
    source: Mapping[str, Any],
    train: Any = None,
    extra: Mapping[str, str | os.PathLike] | None = None,
) -> dict[str, Any]:
    """The held-out test volumes of a ``source`` record (the synthetic layout's, or the files
    it lists) plus ``extra`` ``{name: path}``, each checked against ``train`` (default: the
    volume the source names) with :func:`check_test_volume`."""
    if train is None:
        train = open_source(source)
    tests: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    if source.get("kind") == "synthetic" and source.get("layout") == "f3-benchmark":
        from napari_forgetting.data.synthetic import make_f3_benchmark

        tests.update(make_f3_benchmark(source["shape"], seed=source["seed"]).tests)
    iline, xline = source.get("iline", 189), source.get("xline", 193)
    for name, path in {**dict(source.get("tests") or {}), **dict(extra or {})}.items():
        vol = open_volume(path, iline=iline, xline=xline)
        if vol.labels is None:
            raise VolumeError(path, f"test volume {name!r} has no labels beside it")
        tests[name] = vol
        paths[name] = path
    for name, vol in tests.items():
        check_test_volume(train, vol, name, paths.get(name, f"<{name} of the synthetic layout>"))
    return tests


def check_test_volume(train: Any, test: Any, name: str, path: Any) -> None:
    """Refuse (:class:`VolumeError` naming ``path``) a test volume that is not comparable with
    the training volume: another sample count, class ids beyond the training classes, other
    class names, or -- for the F3 layout's ``test1``, the inlines after the training volume
    -- another crossline count."""
    tshape = tuple(int(n) for n in _shape(train))
    shape = tuple(int(n) for n in _shape(test))
    if len(shape) != 3:
        raise VolumeError(path, f"test volume {name!r} is not 3-D: shape {shape}")
    if shape[2] != tshape[2]:
        raise VolumeError(
            path,
            f"test volume {name!r} has {shape[2]} samples per trace, the training data "
            f"{tshape[2]}: not the same sampling",
        )
    if name == "test1" and shape[1] != tshape[1]:
        raise VolumeError(
            path,
            f"test1 continues the training inlines over the same crosslines, but has "
            f"{shape[1]} crosslines against the training data's {tshape[1]}",
        )
    names = getattr(train, "class_names", None)
    theirs = getattr(test, "class_names", None)
    if names is not None and theirs is not None and list(theirs) != list(names):
        raise VolumeError(
            path, f"test volume {name!r} has classes {list(theirs)}, training {list(names)}"
        )
    n = len(names) if names is not None else None
    if n is not None:
        top = int(np.asarray(test.labels).max())
        if top >= n:
            raise VolumeError(
                path, f"test volume {name!r} has class id {top}; the training data has {n}"
            )


def _shape(volume: Any) -> tuple[int, ...]:
    data = getattr(volume, "seismic", None)
    if data is None:
        data = volume.data
    return tuple(data.shape)


def open_source(source: Mapping[str, Any]) -> Any:
    """The training volume a ``source`` record (from :func:`load_data` / a run's
    ``run.json``) names."""
    kind = source.get("kind")
    if kind == "synthetic":
        if source.get("layout") == "f3-benchmark":
            return load_data("synthetic", shape=source["shape"], seed=source["seed"])[0]
        from napari_forgetting.data.synthetic import make_f3_like  # a run of an older version

        return make_f3_like(tuple(source["shape"]), seed=source["seed"])
    if kind == "file":
        return load_data(
            source["path"],
            source.get("labels"),
            iline=source.get("iline", 189),
            xline=source.get("xline", 193),
        )[0]
    raise DataNotRecorded(source)


class DataNotRecorded(ValueError):
    """A run trained on data held in memory (a napari layer that came from no file, or was
    edited): nothing to reopen, the caller must be told where the data is."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        self.source = dict(source)
        super().__init__(
            f"the run was trained on {source_description(source)}, which it cannot reopen"
        )


def source_description(source: Mapping[str, Any]) -> str:
    """A ``source`` record in a few words: ``"/data/f3.sgy"``, ``"the napari layer 'x' held
    in memory"``, ``"synthetic data (32, 64, 128), seed 0"``."""
    kind = source.get("kind")
    if kind == "file":
        return str(source.get("path"))
    if kind == "synthetic":
        return f"synthetic data {tuple(source.get('shape') or ())}, seed {source.get('seed')}"
    if kind == "napari":
        return f"the napari layer {source.get('layer')!r} held in memory"
    return f"data of unknown origin ({dict(source)!r})"


def open_run_data(
    source: Mapping[str, Any],
    data: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    *,
    volume_shape: Sequence[int] | None = None,
    seed: int = 0,
    iline: int = 189,
    xline: int = 193,
) -> tuple[Any, dict[str, Any]]:
    """``(volume, source)`` of a run: reopened from its ``source`` record, or -- ``data``
    given (a path or ``"synthetic"``, of ``volume_shape``) -- from ``data``, which must have
    the run's ``volume_shape`` (:class:`VolumeError` naming the file otherwise). Raises
    :class:`DataNotRecorded` when the run records no reopenable data and ``data`` is not
    given."""
    if data is None:
        return open_source(source), dict(source)
    shape = DEFAULT_SHAPE if volume_shape is None else tuple(int(n) for n in volume_shape)
    volume, src = load_data(data, labels, shape, seed, iline, xline)
    if volume_shape is not None:
        have = tuple(int(n) for n in _shape(volume))
        if have != shape:
            raise VolumeError(
                data, f"has shape {have}; the run was trained on a volume of shape {shape}"
            )
    return volume, src
