"""The run store: a training run's directory, written incrementally, readable while it grows.

Layout of a run directory ``runs/NAME/``::

    run.json          what the run is: version, training config, tracker config, the volume's
                      shape and class names, where the data came from, the evaluated and the
                      mapped sections (kind, index, inline/crossline number, shape), parent run
    state.json        how far it got: epochs_complete, status (running | finished | stopped |
                      failed), message, per-epoch history (loss, seconds, metrics), test metrics
    store.zarr/       zarr group of per-epoch arrays, flat per section set:
        labels            (P_eval,)  uint8  true classes of the evaluated sections
        predictions       (E, P_eval) uint8 predicted class of every evaluated pixel per epoch
        map_labels        (P_map,)   uint8  (only when the mapped sections differ, online mode)
        maps/<name>       (E, P_map)  forgetting_events, never_learned, first_learned,
                                      switches, confidence, variability, margin;
                                      a consensus over seeds (runs.consensus): the mean
                                      forgetting_events (float32) and agreement
    checkpoint.pt     model, optimiser, RNG and tracker state of the last complete epoch
    tests/<name>/     for each held-out test volume tracked every epoch: a run store of its
                      own (same layout, over the test volume), committed with this one

``E`` is the configured number of epochs (grown on resume with more epochs); sections are
concatenated flat, row-major, depth-down, section ``s`` at ``offsets[s]:offsets[s + 1]``,
exactly the tracker's storage order. The *evaluated* sections are the tracked (validation)
sections, predicted every epoch; the *mapped* sections are the tracker's: the same in
``sweep`` mode, the training sections in ``online`` mode.

Visibility: a writer first fills the arrays' row ``e``, then the trainer saves its checkpoint,
then :meth:`RunStore.commit` replaces ``state.json`` atomically with ``epochs_complete = e + 1``.
Readers only ever read rows below ``epochs_complete``, so a half-written epoch is never visible,
and a run killed at any point resumes from its checkpoint with a consistent store
(:meth:`RunStore.rewind` drops uncommitted or post-checkpoint rows).

No Qt or napari here; zarr and numpy only.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from napari_forgetting.data.folders import is_empty
from napari_forgetting.data.schema import Choice, Int, ListOf, Record, validate
from napari_forgetting.data.sections import Section, scatter_sections
from napari_forgetting.data.spill import check_memory
from napari_forgetting.data.writers import write_json
from napari_forgetting.dynamics import NeverLearned, forgetting_scores, heat_limit

__all__ = [
    "RUN_VERSION",
    "STATUSES",
    "EpochNotComplete",
    "RunStore",
    "RunStoreError",
    "display_arrays",
    "is_run_dir",
]

RUN_VERSION = 1
RUN_FILE = "run.json"
STATE_FILE = "state.json"
STORE_DIR = "store.zarr"
STATUSES = ("created", "running", "finished", "stopped", "failed")
#: Per-map dtype kinds accepted by :meth:`RunStore.write_epoch`.
MAP_NAMES = (
    "forgetting_events",
    "never_learned",
    "first_learned",
    "switches",
    "confidence",
    "variability",
    "margin",
    "agreement",
)
_CHUNK = 1 << 20  # pixels per chunk along the flat axis (1 MiB of uint8)


def display_arrays(predictions: np.ndarray, maps: dict[str, np.ndarray]) -> dict[str, Any]:
    """What a viewer draws of an epoch, live or stored: ``predictions`` (flat), ``maps`` and
    ``heat_upper``, the forgetting events' display maximum
    (:func:`~napari_forgetting.dynamics.heat_limit`; ``None`` without them)."""
    counts = maps.get("forgetting_events")
    upper = heat_limit(counts) if counts is not None and counts.size else None
    return {"predictions": predictions, "maps": maps, "heat_upper": upper}


class RunStoreError(ValueError):
    """A run directory is missing, incomplete or not a run."""


class EpochNotComplete(IndexError, ValueError):
    """An epoch index beyond the run's complete epochs (an index error and a bad value)."""


def is_run_dir(path: str | os.PathLike) -> bool:
    """True if ``path`` holds a run store (``run.json`` + ``state.json``)."""
    p = Path(path)
    return (p / RUN_FILE).is_file() and (p / STATE_FILE).is_file()


def _section_dict(s: Section) -> dict[str, Any]:
    return {"kind": s.kind, "index": s.index, "number": s.number, "shape": list(s.shape)}


def _section_from(d: dict[str, Any]) -> Section:
    return Section(d["kind"], d["index"], d["number"], tuple(d["shape"]))


def _offsets(sections: Sequence[Section]) -> np.ndarray:
    sizes = [r * c for r, c in (s.shape for s in sections)]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _read_json(path: Path) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise RunStoreError(f"{path.parent}: not a run directory (no {path.name})") from None
    except json.JSONDecodeError as exc:
        raise RunStoreError(f"{path}: unreadable JSON ({exc})") from None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


_SIZE = Int(1, 10**6)  # one axis of a survey or a section
_SECTION = Record({"kind": Choice(("inline", "crossline")), "index": Int(0, 10**6),
                   "number": (int, float), "shape": ListOf(_SIZE, 2, 2)})  # fmt: skip
#: ``run.json`` (what :meth:`RunStore.open` reads before using it).
RUN_SCHEMA = Record(
    {
        "epochs": Int(1, 10**6),
        "volume_shape": ListOf(_SIZE, 3, 3),
        "class_names": ListOf(str, 1, 256),
        "eval_sections": ListOf(_SECTION),
        "map_sections": ListOf(_SECTION),
    },
    {"maps": ListOf(Choice(MAP_NAMES)), "train_config": dict,
     "tracker_config": (dict, type(None)), "source": dict, "parent": (str, type(None)),
     "maps_same_as_eval": bool},
)  # fmt: skip
#: ``state.json``.
STATE_SCHEMA = Record(
    {"epochs_complete": Int(0, 10**6), "status": Choice(STATUSES)},
    {"history": ListOf(dict), "message": str, "test_metrics": dict},
)
#: The most bytes a volume-shaped result may take (:meth:`RunStore.volume`), as a share of
#: the machine's memory.
VOLUME_MEMORY_SHARE = 0.5


def _check_sections(path: Path, info: dict[str, Any]) -> None:
    """The evaluated sections lie in the volume with its shapes; no map section is larger
    than the survey's sections (one line naming run.json and the section)."""
    n_il, n_xl, n_s = info["volume_shape"]
    for which in ("eval_sections", "map_sections"):
        for i, d in enumerate(info[which]):
            along, across = (n_il, n_xl) if d["kind"] == "inline" else (n_xl, n_il)
            fits = d["index"] < along and tuple(d["shape"]) == (n_s, across)
            # an online run's map sections include pool sections of either kind's shape
            fits = fits or which == "map_sections" and d["shape"][0] == n_s and d["shape"][
                1] in (n_il, n_xl)  # fmt: skip
            if not fits:
                raise RunStoreError(
                    f"{path / RUN_FILE}: field {which}[{i}]: {d['kind']} {d['index']} of shape "
                    f"{tuple(d['shape'])} does not lie in a volume of shape {(n_il, n_xl, n_s)}"
                )


class RunStore:
    """A run directory (see the module docstring).

    Create with :meth:`create` (writer), open with :meth:`open` (reader or resuming writer).
    Readers call :meth:`refresh` to see newly committed epochs.

    Section arguments (``section``) accept a position in :attr:`eval_sections` /
    :attr:`map_sections`, a :class:`Section` or a key such as ``"inline:105"``.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "r") -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise RunStoreError(f"{self.path}: no such run directory")
        self.mode = mode
        self.info: dict[str, Any] = _read_json(self.path / RUN_FILE)
        if not isinstance(self.info, dict) or self.info.get("version") != RUN_VERSION:
            version = self.info.get("version") if isinstance(self.info, dict) else None
            raise RunStoreError(
                f"{self.path}: run format version {version!r}, "
                f"this napari-forgetting reads version {RUN_VERSION}"
            )
        validate(self.info, RUN_SCHEMA, self.path / RUN_FILE, RunStoreError)
        _check_sections(self.path, self.info)
        self.eval_sections = [_section_from(d) for d in self.info["eval_sections"]]
        self.map_sections = [_section_from(d) for d in self.info["map_sections"]]
        self.eval_offsets = _offsets(self.eval_sections)
        self.map_offsets = _offsets(self.map_sections)
        try:
            self._group = zarr.open_group(
                str(self.path / STORE_DIR), mode="r+" if mode != "r" else "r"
            )
        except (FileNotFoundError, zarr.errors.GroupNotFoundError):
            raise RunStoreError(f"{self.path}: run has no {STORE_DIR}") from None
        self._check_arrays()
        self.state: dict[str, Any] = {}
        self._label_cache: dict[tuple[str, int], np.ndarray] = {}
        self.refresh()

    def _check_arrays(self) -> None:
        """The stored arrays have the shapes run.json implies (one line otherwise)."""
        n_eval, n_map = int(self.eval_offsets[-1]), int(self.map_offsets[-1])
        wanted = {"labels": (n_eval,), "predictions": (None, n_eval)}
        if not self.info.get("maps_same_as_eval", True):
            wanted["map_labels"] = (n_map,)
        wanted.update({f"maps/{n}": (None, n_map) for n in self.info.get("maps", [])})
        for name, shape in wanted.items():
            try:
                have = tuple(self._group[name].shape)
            except KeyError:
                raise RunStoreError(f"{self.path / STORE_DIR}: no array {name}") from None
            same = len(have) == len(shape) and all(
                w is None or w == h for w, h in zip(shape, have, strict=True)
            )
            if not same:
                raise RunStoreError(
                    f"{self.path / STORE_DIR}: array {name} of shape {have}, but run.json's "
                    f"sections make it {tuple('epochs' if w is None else w for w in shape)}"
                )

    # ------------------------------------------------------------------ create / open

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        eval_sections: Sequence[Section],
        eval_labels: Sequence[np.ndarray],
        map_sections: Sequence[Section] | None = None,
        map_labels: Sequence[np.ndarray] | None = None,
        maps: dict[str, Any] | None = None,
        epochs: int,
        volume_shape: Sequence[int],
        class_names: Sequence[str],
        train_config: dict[str, Any] | None = None,
        tracker_config: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
        parent: str | None = None,
        extra: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> RunStore:
        """Start a new run directory and return it opened for writing.

        ``maps``: ``{name: numpy dtype}`` of the per-epoch maps of the mapped sections (names
        from :data:`MAP_NAMES`); ``map_sections`` ``None`` = the evaluated sections (then
        ``map_labels`` is not stored twice). Refuses an existing run unless ``overwrite``.
        """
        path = Path(path)
        if not is_empty(path):
            if not overwrite:
                raise FileExistsError(
                    f"{path} already holds a run; resume it, pick another folder or overwrite"
                )
            for name in (RUN_FILE, STATE_FILE, STORE_DIR):
                target = path / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        path.mkdir(parents=True, exist_ok=True)
        eval_sections = list(eval_sections)
        same = map_sections is None
        map_sections = eval_sections if same else list(map_sections)
        maps = dict(maps or {})
        unknown = set(maps) - set(MAP_NAMES)
        if unknown:
            raise ValueError(f"unknown map names {sorted(unknown)}; known: {MAP_NAMES}")
        epochs = max(1, int(epochs))

        group = zarr.open_group(str(path / STORE_DIR), mode="w")
        n_eval = int(_offsets(eval_sections)[-1])
        n_map = int(_offsets(map_sections)[-1])
        labels = cls._flat(eval_labels, eval_sections, "eval_labels")
        group.create_array("labels", data=labels, chunks=(min(max(n_eval, 1), _CHUNK),))
        group.create_array(
            "predictions",
            shape=(epochs, n_eval),
            dtype=np.uint8,
            chunks=(1, min(max(n_eval, 1), _CHUNK)),
            fill_value=0,
        )
        if not same:
            if map_labels is None:
                raise ValueError("map_labels are needed when map_sections differ")
            flat = cls._flat(map_labels, map_sections, "map_labels")
            group.create_array("map_labels", data=flat, chunks=(min(max(n_map, 1), _CHUNK),))
        mg = group.require_group("maps")
        for name, dtype in maps.items():
            dt = np.dtype(dtype)
            mg.create_array(
                name,
                shape=(epochs, n_map),
                dtype=dt,
                chunks=(1, min(max(n_map, 1), _CHUNK)),
                fill_value=np.nan if dt.kind == "f" else 0,
            )

        info = {
            "version": RUN_VERSION,
            "created": _now(),
            "epochs": epochs,
            "volume_shape": [int(n) for n in volume_shape],
            "class_names": list(class_names),
            "train_config": train_config or {},
            "tracker_config": tracker_config,
            "source": source or {},
            "parent": parent,
            "eval_sections": [_section_dict(s) for s in eval_sections],
            "map_sections": [_section_dict(s) for s in map_sections],
            "maps_same_as_eval": same,
            "maps": sorted(maps),
            **(extra or {}),
        }
        write_json(path / RUN_FILE, info)
        write_json(
            path / STATE_FILE,
            {
                "epochs_complete": 0,
                "status": "created",
                "message": "",
                "history": [],
                "updated": _now(),
            },
        )
        return cls(path, mode="a")

    @classmethod
    def open(cls, path: str | os.PathLike, mode: str = "r") -> RunStore:
        """Open an existing run; ``mode="a"`` to continue writing it."""
        return cls(path, mode=mode)

    @staticmethod
    def _flat(arrays: Sequence[np.ndarray], sections: Sequence[Section], name: str) -> np.ndarray:
        arrays = list(arrays)
        if len(arrays) != len(sections):
            raise ValueError(f"{name}: {len(arrays)} arrays for {len(sections)} sections")
        parts = []
        for a, s in zip(arrays, sections, strict=True):
            a = np.asarray(a)
            if a.shape != s.shape:
                raise ValueError(f"{name}: array {a.shape} for section {s.key} of shape {s.shape}")
            parts.append(a.ravel())
        return np.concatenate(parts).astype(np.uint8) if parts else np.zeros(0, np.uint8)

    # ------------------------------------------------------------------ state

    def refresh(self) -> RunStore:
        """Re-read ``state.json`` (what a writer has committed since)."""
        state = validate(_read_json(self.path / STATE_FILE), STATE_SCHEMA,
                         self.path / STATE_FILE, RunStoreError)  # fmt: skip
        rows = self._group["predictions"].shape[0]
        if state["epochs_complete"] > rows:
            raise RunStoreError(
                f"{self.path / STATE_FILE}: field epochs_complete: {state['epochs_complete']}, "
                f"but the store holds {rows} epochs"
            )
        self.state = state
        return self

    @property
    def n_epochs(self) -> int:
        """Committed (complete) epochs."""
        return int(self.state.get("epochs_complete", 0))

    @property
    def status(self) -> str:
        return str(self.state.get("status", "created"))

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.state.get("history", []))

    @property
    def class_names(self) -> list[str]:
        return list(self.info["class_names"])

    @property
    def n_classes(self) -> int:
        return len(self.info["class_names"])

    @property
    def volume_shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.info["volume_shape"])  # type: ignore[return-value]

    @property
    def map_names(self) -> list[str]:
        return list(self.info.get("maps", []))

    @property
    def train_config(self) -> dict[str, Any]:
        return dict(self.info.get("train_config", {}))

    @property
    def never_learned(self) -> str:
        """The never-learned convention recorded with the run."""
        tc = self.info.get("tracker_config") or {}
        return tc.get("never_learned", NeverLearned.ZERO.value)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def test_names(self) -> list[str]:
        """Names of the test volumes whose sections the run tracked (``tests/<name>``)."""
        root = self.path / "tests"
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if is_run_dir(p))

    def test(self, name: str) -> RunStore:
        """The run store of test volume ``name`` (see :attr:`test_names`), opened to read."""
        if name not in self.test_names:
            raise RunStoreError(f"{self.path}: no tracked test volume {name!r}")
        return RunStore.open(self.path / "tests" / name)

    def __repr__(self) -> str:
        return (
            f"RunStore({str(self.path)!r}, {self.status}, {self.n_epochs}/{self.info['epochs']} "
            f"epochs, {len(self.eval_sections)} evaluated / {len(self.map_sections)} mapped "
            "sections)"
        )

    # ------------------------------------------------------------------ writing

    def _require_writable(self) -> None:
        if self.mode == "r":
            raise RunStoreError(f"{self.path}: opened read-only")

    def ensure_epochs(self, epochs: int) -> None:
        """Grow the per-epoch arrays to hold ``epochs`` epochs (resume with more epochs)."""
        self._require_writable()
        epochs = int(epochs)
        if epochs <= int(self.info["epochs"]):
            return
        arrays = [self._group["predictions"]] + [self._group["maps"][n] for n in self.map_names]
        for arr in arrays:
            arr.resize((epochs, arr.shape[1]))
        self.info["epochs"] = epochs
        write_json(self.path / RUN_FILE, self.info)

    def write_epoch(
        self,
        epoch: int,
        predictions: Sequence[np.ndarray] | np.ndarray,
        maps: dict[str, np.ndarray] | Callable[[int, int], dict[str, np.ndarray]] | None = None,
    ) -> None:
        """Fill row ``epoch``: predictions of the evaluated sections (list or flat) and the
        flat maps of the mapped sections -- or a function of a flat pixel range
        ``(start, stop)`` returning the maps of that range, called chunk by chunk so that the
        maps are never whole in memory (``ForgettingTracker.flat_maps``). Not visible to
        readers until :meth:`commit`."""
        self._require_writable()
        epoch = int(epoch)
        if not 0 <= epoch < int(self.info["epochs"]):
            raise IndexError(f"epoch {epoch} outside the run's 0..{self.info['epochs'] - 1}")
        if isinstance(predictions, np.ndarray) and predictions.ndim == 1:
            flat = predictions.astype(np.uint8, copy=False)
        else:
            flat = self._flat(predictions, self.eval_sections, "predictions")
        if flat.size != int(self.eval_offsets[-1]):
            raise ValueError(f"predictions: {flat.size} pixels, run has {self.eval_offsets[-1]}")
        if flat.size:
            self._group["predictions"][epoch] = flat
        n_map = int(self.map_offsets[-1])
        if not callable(maps):
            whole = maps or {}
            maps = lambda start, stop: {k: np.asarray(v).ravel() for k, v in whole.items()}  # noqa: E731
            ranges = [(0, n_map)]
        else:
            ranges = [(a, min(a + _CHUNK, n_map)) for a in range(0, n_map, _CHUNK)] or [(0, 0)]
        for start, stop in ranges:
            part = maps(start, stop)
            missing = set(self.map_names) - set(part)
            if missing:
                raise ValueError(f"maps missing for epoch {epoch}: {sorted(missing)}")
            for name in self.map_names:
                a = np.asarray(part[name]).ravel()
                if a.size != stop - start:
                    raise ValueError(f"map {name!r}: {a.size} pixels, run has {n_map}")
                if stop > start:
                    arr = self._group["maps"][name]
                    arr[epoch, start:stop] = a.astype(arr.dtype, copy=False)

    def commit(
        self,
        epochs_complete: int | None = None,
        *,
        history: Sequence[dict[str, Any]] | None = None,
        status: str | None = None,
        message: str | None = None,
        **extra: Any,
    ) -> None:
        """Atomically replace ``state.json`` (only what is given changes)."""
        self._require_writable()
        state = dict(self.state)
        if epochs_complete is not None:
            state["epochs_complete"] = int(epochs_complete)
        if history is not None:
            state["history"] = [dict(h) for h in history]
        if status is not None:
            if status not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
            state["status"] = status
        if message is not None:
            state["message"] = message
        state.update(extra)
        state["updated"] = _now()
        write_json(self.path / STATE_FILE, state)
        self.state = state

    def rewind(self, epochs_complete: int, history: Sequence[dict[str, Any]]) -> None:
        """Resume: make the store agree with a checkpoint at ``epochs_complete`` epochs (rows
        beyond it are overwritten by the resumed run)."""
        self.commit(epochs_complete, history=history, status="running", message="resumed")

    def update_info(self, **fields: Any) -> None:
        """Add or change fields of ``run.json`` (e.g. hotspot selections)."""
        self._require_writable()
        self.info.update(fields)
        write_json(self.path / RUN_FILE, self.info)

    # ------------------------------------------------------------------ reading

    def _index(self, section: int | Section | str, sections: list[Section]) -> int:
        if isinstance(section, (int, np.integer)):
            i = int(section)
            if not -len(sections) <= i < len(sections):
                raise IndexError(f"section {i} out of range for {len(sections)} sections")
            return i % len(sections)
        key = section.key if isinstance(section, Section) else str(section)
        for i, s in enumerate(sections):
            if s.key == key:
                return i
        keys = [s.key for s in sections]
        listed = ", ".join(keys[:4] + (["..."] if len(keys) > 5 else []) + keys[4:][-1:])
        raise KeyError(f"{key!r} is not among this run's sections ({listed}: {len(keys)} in all)")

    def epoch_index(self, epoch: int | None) -> int:
        """The 0-based index of a complete epoch: ``None`` is the last, negative counts from
        the end. Raises :class:`RunStoreError` before the first epoch and
        :class:`EpochNotComplete` for an epoch not (yet) complete."""
        n = self.n_epochs
        if n == 0:
            raise RunStoreError(f"{self.path}: no complete epoch yet")
        e = n - 1 if epoch is None else int(epoch)
        if e < 0:
            e += n
        if not 0 <= e < n:
            raise EpochNotComplete(
                f"epoch index {epoch} not complete ({self.path} has {n} complete epochs)"
            )
        return e

    def eval_index(self, section: int | Section | str) -> int:
        return self._index(section, self.eval_sections)

    def map_index(self, section: int | Section | str) -> int:
        return self._index(section, self.map_sections)

    def labels(self, section: int | Section | str) -> np.ndarray:
        """True classes of an evaluated section, uint8 (rows, cols)."""
        i = self.eval_index(section)
        return self._cached_labels("labels", i, self.eval_offsets, self.eval_sections)

    def map_labels(self, section: int | Section | str) -> np.ndarray:
        """True classes of a mapped section, uint8 (rows, cols)."""
        if self.info.get("maps_same_as_eval", True):
            return self.labels(section)
        i = self.map_index(section)
        return self._cached_labels("map_labels", i, self.map_offsets, self.map_sections)

    def all_labels(self) -> list[np.ndarray]:
        """:meth:`labels` of every evaluated section, read in one go (and cached)."""
        return self._all_cached_labels("labels", self.eval_sections, self.eval_offsets)

    def all_map_labels(self) -> list[np.ndarray]:
        """:meth:`map_labels` of every mapped section, read in one go (and cached)."""
        if self.info.get("maps_same_as_eval", True):
            return self.all_labels()
        return self._all_cached_labels("map_labels", self.map_sections, self.map_offsets)

    def _all_cached_labels(
        self, array: str, sections: list[Section], offsets: np.ndarray
    ) -> list[np.ndarray]:
        if any((array, i) not in self._label_cache for i in range(len(sections))):
            flat = self._group[array][...]
            which = "mapped" if array == "map_labels" else "evaluated"
            for i, part in enumerate(_split(flat, sections, offsets, which)):
                self._label_cache.setdefault((array, i), part)
        return [self._label_cache[(array, i)] for i in range(len(sections))]

    def split_map(self, flat: np.ndarray) -> list[np.ndarray]:
        """A flat array over the mapped sections cut into one (rows, cols) view per section."""
        return _split(flat, self.map_sections, self.map_offsets, "mapped")

    def split_eval(self, flat: np.ndarray) -> list[np.ndarray]:
        """A flat array over the evaluated sections (e.g. :meth:`flat_predictions`) cut into
        one (rows, cols) view per section."""
        return _split(flat, self.eval_sections, self.eval_offsets, "evaluated")

    def _cached_labels(
        self, array: str, i: int, offsets: np.ndarray, sections: list[Section]
    ) -> np.ndarray:
        key = (array, i)
        if key not in self._label_cache:
            lo, hi = offsets[i], offsets[i + 1]
            self._label_cache[key] = self._group[array][lo:hi].reshape(sections[i].shape)
        return self._label_cache[key]

    def prediction(self, section: int | Section | str, epoch: int | None = None) -> np.ndarray:
        """Predicted classes of an evaluated section at ``epoch`` (default: the last)."""
        i = self.eval_index(section)
        e = self.epoch_index(epoch)
        lo, hi = self.eval_offsets[i], self.eval_offsets[i + 1]
        return self._group["predictions"][e, lo:hi].reshape(self.eval_sections[i].shape)

    def prediction_history(self, section: int | Section | str, row: int, col: int) -> np.ndarray:
        """Predicted class of one evaluated pixel at every committed epoch, uint8 (E,)."""
        i = self.eval_index(section)
        r, c = self.eval_sections[i].shape
        if not (0 <= row < r and 0 <= col < c):
            raise IndexError(f"pixel ({row}, {col}) outside section of shape {(r, c)}")
        flat = int(self.eval_offsets[i]) + row * c + col
        n = self.n_epochs
        return self._group["predictions"][:n, flat] if n else np.zeros(0, np.uint8)

    def map(self, name: str, section: int | Section | str, epoch: int | None = None) -> np.ndarray:
        """A stored map of a mapped section at ``epoch`` (default: the last committed)."""
        if name not in self.map_names:
            raise KeyError(f"map {name!r} not stored in this run (stored: {self.map_names})")
        i = self.map_index(section)
        e = self.epoch_index(epoch)
        lo, hi = self.map_offsets[i], self.map_offsets[i + 1]
        return self._group["maps"][name][e, lo:hi].reshape(self.map_sections[i].shape)

    def flat_map(self, name: str, epoch: int | None = None) -> np.ndarray:
        """A stored map of all mapped sections at ``epoch``, flat."""
        if name not in self.map_names:
            raise KeyError(f"map {name!r} not stored in this run (stored: {self.map_names})")
        return self._group["maps"][name][self.epoch_index(epoch)]

    def flat_predictions(self, epoch: int | None = None) -> np.ndarray:
        return self._group["predictions"][self.epoch_index(epoch)]

    def epoch_arrays(self, epoch: int, names: Iterable[str]) -> dict[str, Any]:
        """A stored epoch as a live one is drawn (the arrays of
        :class:`~napari_forgetting.training.live.EpochDone`): ``maps`` (the stored ones of
        ``names``, flat), ``predictions`` (flat) and ``heat_upper``, the forgetting events'
        display maximum (:func:`~napari_forgetting.dynamics.heat_limit`). Reads tens of MB at
        F3 size and a percentile over them: a viewer calls it off its GUI thread."""
        e = self.epoch_index(epoch)
        maps = {n: self.flat_map(n, e) for n in names if n in self.map_names}
        return display_arrays(self.flat_predictions(e), maps)

    def heatmap(
        self,
        section: int | Section | str,
        epoch: int | None = None,
        convention: NeverLearned | str | None = None,
    ) -> np.ndarray:
        """Forgetting events of a mapped section, never-learned pixels scored by
        ``convention`` (default: the run's), int64 (rows, cols)."""
        e = self.epoch_index(epoch)
        counts = self.map("forgetting_events", section, e)
        never = self.map("never_learned", section, e)
        return self._scores(counts, never, e, convention)

    def first_learned(self, section: int | Section | str, epoch: int | None = None) -> np.ndarray:
        """Epoch each pixel of a mapped section was first correct, -1 if never (int64)."""
        e = self.epoch_index(epoch)
        first = self.map("first_learned", section, e).astype(np.int64)
        first[self.map("never_learned", section, e)] = -1
        return first

    def heatmaps(self, epoch: int | None = None, convention: Any = None) -> list[np.ndarray]:
        """:meth:`heatmap` of every mapped section, from one read of each flat map."""
        return self.split_map(self.flat_heatmap(epoch, convention))

    def flat_heatmap(self, epoch: int | None = None, convention: Any = None) -> np.ndarray:
        """:meth:`heatmap` of all mapped sections, flat (int64)."""
        e = self.epoch_index(epoch)
        counts = self.flat_map("forgetting_events", e)
        never = self.flat_map("never_learned", e)
        return self._scores(counts, never, e, convention)

    def _scores(self, counts: np.ndarray, never: np.ndarray, e: int, convention: Any) -> np.ndarray:
        conv = self.never_learned if convention is None else convention
        sentinel = (self.info.get("tracker_config") or {}).get("sentinel")
        kw = {} if sentinel is None else {"sentinel": int(sentinel)}
        return forgetting_scores(counts, never, e + 1, conv, **kw)

    def volume(
        self, name: str, epoch: int | None = None, fill: Any = 0, dtype: Any = None
    ) -> np.ndarray:
        """A map (or ``"prediction"`` / ``"labels"``) scattered into a volume-shaped array
        (refused in one line when it would take more than :data:`VOLUME_MEMORY_SHARE` of
        the machine's memory)."""
        check_memory(
            math.prod(self.volume_shape) * np.dtype(dtype or np.float32).itemsize,
            f"{self.path}: a {name} volume of shape {self.volume_shape}",
            VOLUME_MEMORY_SHARE, RunStoreError,
        )  # fmt: skip
        if name == "prediction":
            secs = self.eval_sections
            maps = self.split_eval(self.flat_predictions(epoch))
        elif name == "labels":
            secs = self.eval_sections
            maps = self.all_labels()
        elif name == "heatmap":
            secs = self.map_sections
            maps = self.heatmaps(epoch)
        else:
            secs = self.map_sections
            maps = self.split_map(self.flat_map(name, epoch))
        return scatter_sections(secs, maps, self.volume_shape, fill=fill, dtype=dtype)


def _split(
    flat: np.ndarray, sections: Sequence[Section], offsets: np.ndarray, which: str
) -> list[np.ndarray]:
    """``flat`` (all pixels of ``sections``, in order) as one (rows, cols) view per section."""
    flat = np.asarray(flat)
    if flat.shape != (int(offsets[-1]),):
        raise ValueError(f"{flat.shape} values for {int(offsets[-1])} {which} pixels")
    return [flat[offsets[i] : offsets[i + 1]].reshape(sec.shape) for i, sec in enumerate(sections)]
