"""Support-vector augmentation: the augmented pool and retraining on it (the paper's Fig. 4).

From a finished run: the top ``N`` sections by forgetting density of class ``k`` are the style
sources (the selection kept with the run, or a fresh ranking); ``M`` transfers are made from
each onto training sections drawn at random among those holding class ``k`` (a transfer needs
the class in both sections); every result keeps its target's labels. The pool is written as
an export set (:mod:`.export`: F3 ``.npy`` + SEG-Y + zarr + manifest), one set per section
kind (inline targets and crossline targets differ in shape), and read back from it, so the
augmented data a user exports is exactly what retraining used.

Retraining trains the segmentation model from scratch on the training sections plus the
pool, as a new run whose ``run.json`` names its parent and its pool: :func:`retrain_trainer`
builds that trainer -- the one retrain path, used by ``napari-forgetting retrain``
(:func:`retrain`), the comparison's transfer jobs and the napari dock
(:func:`augment_and_retrain_events`).

The pool is made step by step (:func:`pool_steps`, one :class:`PoolProgress` per transfer),
so a caller can show progress and stop between transfers by closing the generator.

Before a pool is made, its transfer method is measured (:func:`check_transfer`, on the
held-out sections of the volume: :func:`~..transfer.transfer_quality`); a method below
:data:`~..transfer.QUALITY_BAR` is refused (:class:`TransferBelowBar`) unless forced, and
the figures are kept in ``pool.json`` (``transfer_quality``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.classes import resolve_class
from napari_forgetting.data.folders import claim
from napari_forgetting.data.schema import (
    Choice,
    Int,
    ListOf,
    Name,
    Record,
    SchemaError,
    inside,
    validate,
)
from napari_forgetting.data.sections import (
    Section,
    amplitude_stats,
    normalize,
    paper_split,
    section_image,
    section_labels,
)
from napari_forgetting.data.source import open_source
from napari_forgetting.data.spill import check_memory
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS
from napari_forgetting.runs.hotspots import load_style_sources, rank_run
from napari_forgetting.runs.store import RunStore
from napari_forgetting.workflow.export import FORMATS, export_volume

__all__ = [
    "POOL_MANIFEST",
    "AugmentedPool",
    "PoolItem",
    "PoolProgress",
    "PoolSaved",
    "TransferBelowBar",
    "augment_and_retrain_events",
    "check_transfer",
    "generate_pool",
    "load_pool",
    "pool_record",
    "pool_set",
    "pool_steps",
    "read_pool_record",
    "retrain",
    "retrain_trainer",
    "save_pool",
]

POOL_MANIFEST = "pool.json"
#: What a pool records of how it was made, beside its sections (``pool.json`` keys).
POOL_EXTRA = ("transfer_method", "min_pixels", "transfer_quality")


@dataclass
class PoolItem:
    """One generated section: ``image`` (float32 amplitudes, depth-down ``(rows, cols)``)
    and the target's ``labels`` (uint8); where it came from."""

    image: np.ndarray
    labels: np.ndarray
    target: str
    source: str
    kind: str
    seed: int

    def record(self, position: int) -> dict[str, Any]:
        return {
            "position": position,
            "kind": self.kind,
            "target": self.target,
            "source": self.source,
            "seed": self.seed,
            "shape": list(self.image.shape),
        }


@dataclass
class AugmentedPool:
    """Generated sections for class ``class_id`` plus their provenance."""

    items: list[PoolItem]
    class_id: int
    class_name: str
    parent_run: str | None = None
    transfer_checkpoint: str | None = None
    seed: int = 0
    sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def training_pairs(self, stats: tuple[float, float]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(normalised image, labels)`` pairs for :class:`~..model.trainer.Trainer`'s
        ``extra_pool``, normalised with the training volume's ``stats``."""
        return [(normalize(it.image, stats), it.labels) for it in self.items]

    def by_kind(self) -> dict[str, list[tuple[int, PoolItem]]]:
        out: dict[str, list[tuple[int, PoolItem]]] = {}
        for i, it in enumerate(self.items):
            out.setdefault(it.kind, []).append((i, it))
        return out


class TransferBelowBar(ValueError):
    """A transfer method is below the quality bar, or its quality cannot be measured on the
    data, and the caller did not force it."""


def check_transfer(
    method: Any,
    volume: Any,
    class_id: int,
    *,
    force: bool = False,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    every: int = 5,
    baseline: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Measure a transfer method on the volume's held-out sections; refuse one below the bar.

    ``method``: what :func:`~..transfer.transfer` takes (a checkpoint, a model or
    :class:`~..transfer.StratalTransfer`). Returns the figures of
    :func:`~..transfer.transfer_quality` without the per-triple rows, plus ``forced`` (the
    caller went on below the bar) and ``measured`` (False, with ``reason``, when the data
    has too few held-out sections with ``min_pixels`` of the class). Raises
    :class:`TransferBelowBar` (one line, with the figures) unless ``force``, and
    ``ValueError`` for a model trained for another class count.

    ``baseline``: a segmentation run (folder or checkpoint) trained without the held-out
    sections -- the run a pool augments: its frozen model measures the transfer's label
    fidelity (``label``, judged by the bar). A run whose checkpoint is absent or unreadable
    is measured without it (``label_not_measured`` says why).
    """
    from napari_forgetting.model.checkpoint import CheckpointError
    from napari_forgetting.training.segmenter import load_segmenter
    from napari_forgetting.transfer import TooFewSections, method_name, transfer_quality

    what = (
        f"transfer model {method}"
        if isinstance(method, (str, os.PathLike))
        else f"the {method_name(method)} transfer"
    )
    segmenter, why_not = None, None
    if baseline is not None:
        try:
            segmenter = load_segmenter(baseline)
        except (FileNotFoundError, CheckpointError) as exc:
            why_not = f"label fidelity not measured: {exc}"
    try:
        q = transfer_quality(
            method, volume, class_id, every=every, min_pixels=min_pixels, segmenter=segmenter
        )
    except TooFewSections as exc:
        if not force:
            raise TransferBelowBar(
                f"{what}: its quality cannot be measured here ({exc}); --force goes on "
                "without a measurement"
            ) from None
        return {"measured": False, "reason": str(exc), "forced": True, "passes": None}
    record = {k: v for k, v in q.items() if k != "per_triple"}
    record["measured"] = True
    if why_not:
        record["label_not_measured"] = why_not
    record["forced"] = bool(force and not q["passes"])
    if not q["passes"] and not force:
        how = ("cannot be judged against the quality bar" if q.get("verdict") == "cannot judge"
               else "is below the quality bar")  # fmt: skip
        raise TransferBelowBar(
            f"{what} {how} on {q['n_triples']} distinct held-out triples of "
            f"{q['n_sections']} sections: "
            + "; ".join(q["failures"])
            + " (napari-forgetting transfer-quality prints all its figures; --force goes on "
            "anyway)"
        )
    return record


def _candidates(volume: Any, train: Sequence[Section], class_id: int) -> list[Section]:
    """Training sections holding ``class_id`` (targets must contain the class)."""
    out = []
    for sec in train:
        if np.any(section_labels(volume, sec) == class_id):
            out.append(sec)
    return out


@dataclass(frozen=True)
class PoolProgress:
    """``done`` of ``total`` transfers of the pool are made."""

    done: int
    total: int


@dataclass(frozen=True)
class PoolSaved:
    """The pool is written to ``path``: ``count`` sections from the style ``sources``."""

    path: Path
    count: int
    sources: tuple[str, ...]


def pool_steps(
    run: RunStore | str | os.PathLike,
    method: Any,
    cls: str | int = "scruff",
    n_sources: int = 6,
    per_source: int = 64,
    seed: int = 0,
    volume: Any = None,
    *,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    quality: dict[str, Any] | None = None,
    force: bool = False,
    sources: str = "hotspots",
    untransferred: bool = False,
) -> Generator[PoolProgress, None, AugmentedPool]:
    """Make ``n_sources x per_source`` transfers of class ``cls`` from a run's hotspots,
    yielding :class:`PoolProgress` after each; returns the :class:`AugmentedPool`.

    ``method``: the transfer method -- a trained :class:`~..transfer.RegionStyleTransfer` or
    its checkpoint path, or :class:`~..transfer.StratalTransfer`; ``cls``: the class's name
    or id. Style sources: the selection saved with
    the run for this class if there is one (``napari-forgetting rank --select`` or the
    Hotspots widget), else the top ``n_sources`` of the forgetting-density ranking at the
    last epoch among the sections holding at least ``min_pixels`` of the class. ``volume``:
    the run's data (default: reopened from the run's ``source``). ``quality``: the method's
    figures (:func:`check_transfer`), kept in the pool. A ranking whose densities are all
    equal (the class never learned or never forgotten) names no hotspots and is refused
    (``ValueError``) unless ``force``. Closing the generator stops between transfers.

    The comparison's controls for the mechanism: ``sources="random"`` takes ``n_sources``
    sections drawn at random (seeded) among those the ranking admits instead of its top;
    ``untransferred=True`` puts each target into the pool as it is (the same targets, drawn
    by the same stream, as the transfer's pool of that seed: more draws of those sections,
    no style).
    """
    if sources not in ("hotspots", "random"):
        raise ValueError(f"sources must be 'hotspots' or 'random', got {sources!r}")
    from napari_forgetting.transfer import load_transfer_model, method_name, transfer

    store = run if isinstance(run, RunStore) else RunStore.open(run)
    class_id = resolve_class(store.class_names, cls)
    class_name = store.class_names[class_id]
    if volume is None:
        volume = open_source(store.info.get("source") or {})
    saved = load_style_sources(store)
    if sources == "random":
        rows = rank_run(store, class_id, "forgetting", min_pixels=min_pixels).rows
        pick = np.random.default_rng([int(seed), class_id, 17]).choice(
            len(rows), size=min(int(n_sources), len(rows)), replace=False
        )
        source_keys = [rows[i].key for i in sorted(int(i) for i in pick)]
    elif saved is not None and saved.class_id == class_id and len(saved.sections) >= n_sources:
        source_keys = list(saved.sections[:n_sources])
    else:
        ranking = rank_run(store, class_id, "forgetting", min_pixels=min_pixels)
        if ranking.uniform and not force:  # sections in index order are not hotspots
            raise ValueError(f"run {store.path}: {ranking.uniform_message()}; --force takes "
                             "them anyway")  # fmt: skip
        source_keys = [r.key for r in ranking.top(n_sources)]
    if not source_keys:
        raise ValueError(f"run {store.path}: no section holds class {class_name!r}")
    every = int(store.train_config.get("every", 5))
    train = paper_split(volume, every).train
    targets = _candidates(volume, train, class_id)
    if not targets:
        raise ValueError(f"no training section holds class {class_name!r}: nowhere to transfer")
    model = method
    ckpt = None
    label = "identity" if untransferred else method_name(method)
    if isinstance(method, (str, os.PathLike)) and not untransferred:
        ckpt = str(Path(method).resolve())
        model = load_transfer_model(method, n_classes=store.n_classes)
    rng = np.random.default_rng([int(seed), class_id])
    items: list[PoolItem] = []
    total = len(source_keys) * int(per_source)
    _check_pool_size(total, max(t.shape[0] * t.shape[1] for t in targets))
    for key in source_keys:
        src = Section.from_key(key, volume)
        src_img, src_lab = section_image(volume, src), section_labels(volume, src)
        for _ in range(int(per_source)):
            tgt = targets[int(rng.integers(len(targets)))]
            tgt_img, tgt_lab = section_image(volume, tgt), section_labels(volume, tgt)
            out = (
                np.asarray(tgt_img, np.float32)
                if untransferred
                else transfer(model, tgt_img, tgt_lab, src_img, src_lab, class_id)
            )
            items.append(PoolItem(out, tgt_lab.astype(np.uint8), tgt.key, key, tgt.kind, seed))
            yield PoolProgress(len(items), total)
    return AugmentedPool(
        items=items,
        class_id=class_id,
        class_name=class_name,
        parent_run=str(store.path.resolve()),
        transfer_checkpoint=ckpt,
        seed=int(seed),
        sources=source_keys,
        extra={
            "transfer_method": label,
            "min_pixels": int(min_pixels),
            "transfer_quality": quality,
        },
    )


#: The share of the machine's memory a pool may take (its sections are kept until saved).
POOL_MEMORY_SHARE = 0.5


def _check_pool_size(total: int, pixels: int) -> None:
    """Refuse (one line, with the figure) a pool whose sections would not fit in memory:
    float32 images and uint8 labels of ``total`` sections of up to ``pixels`` pixels."""
    check_memory(int(total) * int(pixels) * 5,
                 f"a pool of {total} sections of up to {pixels} pixels", POOL_MEMORY_SHARE,
                 hint=": fewer sources or transfers per source")  # fmt: skip


def generate_pool(
    run: RunStore | str | os.PathLike,
    method: Any,
    cls: str | int = "scruff",
    n_sources: int = 6,
    per_source: int = 64,
    seed: int = 0,
    volume: Any = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    quality: dict[str, Any] | None = None,
    force: bool = False,
    sources: str = "hotspots",
    untransferred: bool = False,
) -> AugmentedPool:
    """:func:`pool_steps` to the end; ``progress(done, total)`` after each transfer."""
    steps = pool_steps(
        run, method, cls, n_sources, per_source, seed, volume,
        min_pixels=min_pixels, quality=quality, force=force, sources=sources,
        untransferred=untransferred,
    )  # fmt: skip
    from napari_forgetting.training.steps import drain

    return drain(steps, None if progress is None else lambda s: progress(s.done, s.total))


def save_pool(
    pool: AugmentedPool,
    out_dir: str | os.PathLike,
    formats: Sequence[str] = FORMATS,
    overwrite: bool = False,
    volume: Any = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, dict[str, Path]]:
    """Export the pool: one set ``augmented_<kind>`` per target kind, then ``pool.json``.

    A stack of generated inline sections is written as a volume ``(N, crossline, sample)``
    whose inline numbers are 1..N and whose crossline numbers are the survey's (from
    ``volume`` when given); crossline targets likewise ``(N, inline, sample)``. Every
    section's source, target, class, seed and checkpoints are in the manifests.
    """
    out = Path(out_dir)
    with claim(out, "pool", overwrite=overwrite, what="augmented pool"):
        return _save_pool(pool, out, formats, overwrite, volume, class_names)


def _save_pool(
    pool: AugmentedPool, out: Path, formats: Sequence[str], overwrite: bool, volume: Any,
    class_names: Sequence[str] | None,
) -> dict[str, dict[str, Path]]:  # fmt: skip
    pool_file = out / POOL_MANIFEST
    written: dict[str, dict[str, Path]] = {}
    sets = []
    for kind, entries in sorted(pool.by_kind().items()):
        shapes = {it.image.shape for _, it in entries}
        if len(shapes) != 1:
            raise ValueError(f"{kind} items of several shapes {sorted(shapes)}")
        seismic = np.stack([it.image.T for _, it in entries])  # (N, cols, rows=samples)
        labels = np.stack([it.labels.T for _, it in entries])
        cols = None
        if volume is not None:
            numbers = getattr(volume, "crosslines" if kind == "inline" else "inlines", None)
            if numbers is not None and len(numbers) == seismic.shape[1]:
                cols = np.asarray(numbers).astype(np.int64)
        name = f"augmented_{kind}"
        records = [it.record(i) for i, it in entries]
        manifest = {
            "kind": "augmented_pool",
            "section_kind": kind,
            "class_id": pool.class_id,
            "class": pool.class_name,
            "parent_run": pool.parent_run,
            "transfer_checkpoint": pool.transfer_checkpoint,
            "seed": pool.seed,
            "sections": [{**r, "inline_number": n + 1} for n, r in enumerate(records)],
        }
        written[kind] = export_volume(
            out,
            name,
            seismic,
            labels,
            crosslines=cols,
            sample_interval=float(getattr(volume, "sample_interval", 4.0) or 4.0),
            class_names=class_names,
            formats=formats,
            manifest=manifest,
            overwrite=overwrite,
        )
        sets.append({"kind": kind, "name": name, "count": len(entries)})
    from napari_forgetting.data.writers import write_json

    record = {
        "kind": "augmented_pool",
        "class_id": pool.class_id,
        "class": pool.class_name,
        "parent_run": pool.parent_run,
        "transfer_checkpoint": pool.transfer_checkpoint,
        "seed": pool.seed,
        "sources": list(pool.sources),
        "count": len(pool),
        "sets": sets,
        "formats": list(formats),
        **pool.extra,
    }
    write_json(pool_file, record, fsync=True)
    return written


_KINDS = Choice(("inline", "crossline"))
_SEED = Int(0, 2**63 - 1)
#: ``pool.json`` (:func:`save_pool`).
POOL_SCHEMA = Record(
    {
        "kind": Choice(("augmented_pool",)),
        "class_id": Int(0, 255),
        "class": str,
        "seed": _SEED,
        "count": Int(),
        "sets": ListOf(Record({"kind": _KINDS, "name": Name(), "count": Int()}), 0, 2),
    },
    {"parent_run": (str, type(None)), "transfer_checkpoint": (str, type(None)),
     "sources": ListOf(str),
     "formats": ListOf(Choice(FORMATS))},
)  # fmt: skip
#: A set's ``<name>.manifest.json`` (the pool's part of it).
SET_SCHEMA = Record(
    {
        "kind": Choice(("augmented_pool",)),
        "section_kind": _KINDS,
        "class_id": Int(0, 255),
        "seed": _SEED,
        "sections": ListOf(Record({"position": Int(), "kind": _KINDS, "target": str,
                                   "source": str, "seed": _SEED})),
    }
)  # fmt: skip


def read_pool_record(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """``(pool.json path, its record)`` of a pool folder (or its ``pool.json``), checked
    against :data:`POOL_SCHEMA` and against its sets (:func:`check_pool`); raises
    ``FileNotFoundError`` / ``ValueError`` with one line naming the file."""
    given = Path(path)
    pool_file = given / POOL_MANIFEST if given.is_dir() else given
    try:
        record = json.loads(pool_file.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{pool_file}: no augmented pool here (an interrupted export has no pool.json)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{pool_file}: not a pool manifest ({exc})") from None
    if not isinstance(record, dict) or record.get("kind") != "augmented_pool":
        raise ValueError(f"{pool_file}: not an augmented pool's manifest")
    validate(record, POOL_SCHEMA, pool_file)
    check_pool(pool_file.parent, record, pool_file)
    return pool_file, record


def _set_files(folder: Path, name: str) -> list[str]:
    return [f"{name}.manifest.json", f"{name}_seismic.npy", f"{name}_labels.npy", f"{name}.zarr"]


def check_pool(folder: Path, record: dict[str, Any], pool_file: Path) -> None:
    """A pool's sets agree with its ``pool.json``: each set's files stay inside the folder,
    its manifest fits :data:`SET_SCHEMA` and says the same class, seed, kind and count, its
    arrays have that many sections of one shape, and the positions number the pool's
    sections once each (:class:`~napari_forgetting.data.schema.SchemaError` naming the file
    and the field)."""
    sets = record["sets"]
    if len({s["name"] for s in sets}) != len(sets) or len({s["kind"] for s in sets}) != len(sets):
        raise SchemaError(f"{pool_file}: field sets: a set named or kinded twice")
    if sum(s["count"] for s in sets) != record["count"]:
        raise SchemaError(
            f"{pool_file}: field count: {record['count']}, but its sets hold "
            f"{sum(s['count'] for s in sets)}"
        )
    positions: list[int] = []
    for s in sets:
        name = s["name"]
        if not inside(folder, _set_files(folder, name)):
            raise SchemaError(f"{pool_file}: set {name!r}: its files lead outside {folder}")
        manifest_file = folder / f"{name}.manifest.json"
        try:
            manifest = json.loads(manifest_file.read_text())
        except FileNotFoundError:
            raise SchemaError(f"{manifest_file}: missing (set {name!r} of {pool_file})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{manifest_file}: unreadable JSON ({exc})") from None
        validate(manifest, SET_SCHEMA, manifest_file)
        for key, mine in (("class_id", "class_id"), ("seed", "seed"), ("section_kind", "kind")):
            theirs = record[mine] if mine != "kind" else s["kind"]
            if manifest[key] != theirs:
                raise SchemaError(
                    f"{manifest_file}: field {key}: {manifest[key]!r}, but {pool_file.name} "
                    f"says {theirs!r} (a set of another pool)"
                )
        if len(manifest["sections"]) != s["count"] or any(
            r["kind"] != s["kind"] for r in manifest["sections"]
        ):
            raise SchemaError(
                f"{manifest_file}: field sections: {len(manifest['sections'])} sections, but "
                f"{pool_file.name} says {s['count']} {s['kind']} sections"
            )
        _, seismic, labels = _open_set(folder, name)
        if seismic.ndim != 3 or tuple(labels.shape) != tuple(seismic.shape) or (
            seismic.shape[0] != s["count"]
        ):  # fmt: skip
            raise SchemaError(
                f"{folder / name}: arrays of shapes {tuple(seismic.shape)} / "
                f"{tuple(labels.shape)}, but the set holds {s['count']} sections"
            )
        positions += [r["position"] for r in manifest["sections"]]
    if sorted(positions) != list(range(record["count"])):
        raise SchemaError(f"{pool_file}: the sets' positions do not number its sections once")


def check_pool_fits(pool: AugmentedPool, class_names: Sequence[str], shape: Sequence[int],
                    where: str | os.PathLike) -> None:  # fmt: skip
    """Refuse (one line) a pool whose class is not the run's or whose sections are not the
    survey's (``shape``: the volume's (inline, crossline, sample)): a pool of another
    survey."""
    names = list(class_names)
    if not pool.class_id < len(names) or names[pool.class_id] != pool.class_name:
        have = names[pool.class_id] if pool.class_id < len(names) else "no such class"
        raise SchemaError(
            f"{where}: class {pool.class_id} {pool.class_name!r}, but the run's class "
            f"{pool.class_id} is {have!r}: a pool of another survey"
        )
    n_il, n_xl, n_s = (int(n) for n in shape)
    for it in pool.items:
        want = (n_s, n_xl) if it.kind == "inline" else (n_s, n_il)
        if tuple(it.image.shape) != want:
            raise SchemaError(
                f"{where}: {it.kind} sections of shape {tuple(it.image.shape)}, but the "
                f"survey's {it.kind} sections are {want}: a pool of another survey"
            )


def _open_set(folder: Path, name: str) -> tuple[Path, Any, Any]:
    npy = folder / f"{name}_seismic.npy"
    if npy.is_file():
        return npy, np.load(npy, mmap_mode="r"), np.load(folder / f"{name}_labels.npy",
                                                         mmap_mode="r")  # fmt: skip
    import zarr

    group = zarr.open_group(str(folder / f"{name}.zarr"), mode="r")
    return folder / f"{name}.zarr", group["seismic"], group["labels"]


def pool_set(folder: Path, name: str) -> tuple[dict[str, Any], Any, Any]:
    """A pool set's manifest and its ``(seismic, labels)`` as stored, ``(N, cols, samples)``,
    unread: memory maps of its ``.npy`` files, else its zarr arrays (of a pool read with
    :func:`read_pool_record`, which checked them)."""
    if not inside(folder, _set_files(folder, name)):
        raise SchemaError(f"{folder}: set {name!r} leads outside the pool folder")
    manifest = json.loads((folder / f"{name}.manifest.json").read_text())
    _, seismic, labels = _open_set(folder, name)
    return manifest, seismic, labels


def load_pool(path: str | os.PathLike) -> AugmentedPool:
    """Read a pool written by :func:`save_pool` (from its ``.npy`` files, else zarr)."""
    pool_file, record = read_pool_record(path)
    out = pool_file.parent
    items: list[tuple[int, PoolItem]] = []
    for s in record["sets"]:
        manifest, seismic, labels = pool_set(out, s["name"])
        for n, r in enumerate(manifest["sections"]):
            items.append(
                (
                    int(r["position"]),
                    PoolItem(
                        np.ascontiguousarray(seismic[n].T),
                        np.ascontiguousarray(labels[n].T),
                        r["target"],
                        r["source"],
                        r["kind"],
                        int(r["seed"]),
                    ),
                )
            )
    items.sort(key=lambda t: t[0])
    return AugmentedPool(
        items=[it for _, it in items],
        class_id=int(record["class_id"]),
        class_name=str(record["class"]),
        parent_run=record.get("parent_run"),
        transfer_checkpoint=record.get("transfer_checkpoint"),
        seed=int(record.get("seed", 0)),
        sources=list(record.get("sources", [])),
        extra={k: record[k] for k in POOL_EXTRA if k in record},
    )


def pool_record(pool: AugmentedPool, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """What a retrained run's ``run.json`` records of its pool (field ``augmented_pool``)."""
    return {
        "path": None if path is None else str(Path(path).resolve()),
        "class": pool.class_name,
        "class_id": pool.class_id,
        "count": len(pool),
        "sources": list(pool.sources),
        "transfer_checkpoint": pool.transfer_checkpoint,
        **{k: pool.extra[k] for k in POOL_EXTRA if k in pool.extra},
    }


def retrain_trainer(
    parent: RunStore | str | os.PathLike,
    pool: AugmentedPool | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    volume: Any = None,
    source: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Any] = (),
    pool_path: str | os.PathLike | None = None,
) -> Any:
    """The trainer of a retraining: from scratch on the parent's training sections plus the
    pool, as a new run in ``out_dir`` whose ``run.json`` records the parent and the pool
    (:func:`pool_record`) from its creation on.

    The parent's training configuration is reused (``overrides`` change fields, e.g.
    ``{"seed": 1, "epochs": 30}``), and so are its held-out test volumes (reopened from its
    ``source``). ``pool``: an :class:`AugmentedPool` (``pool_path``: the folder it was saved
    in, if any) or a pool folder. ``volume``: the parent's data (default: reopened from its
    ``source``); ``source``: where that data is, recorded by the new run (default: the
    parent's record; give it with a ``volume`` the parent does not record). Returns a
    :class:`~napari_forgetting.training.segmentation.Trainer`, not yet trained.
    """
    from napari_forgetting.data.source import load_tests
    from napari_forgetting.training.segmentation import TrainConfig, Trainer

    store = parent if isinstance(parent, RunStore) else RunStore.open(parent)
    if not isinstance(pool, AugmentedPool):
        pool_path = pool
        pool = load_pool(pool)
    if source is None:
        source = store.info.get("source") or {}
    if volume is None:
        volume = open_source(source)
    check_pool_fits(pool, store.class_names, volume.shape, pool_path or "the pool")
    train = {**store.train_config, **(overrides or {})}
    if train.get("seed") is None:  # a consensus over seeds: retrain with its first seed
        train["seed"] = int(((store.info.get("consensus") or {}).get("seeds") or [0])[0])
    cfg = TrainConfig.from_dict(train)
    return Trainer(
        volume,
        cfg,
        callbacks=callbacks,
        out_dir=out_dir,
        source=source,
        parent=str(store.path.resolve()),
        extra_pool=pool.training_pairs(amplitude_stats(volume)),
        run_info={"augmented_pool": pool_record(pool, pool_path)},
        test_volumes=load_tests(source, volume) if source.get("kind") != "napari" else {},
    )


def retrain(
    parent: RunStore | str | os.PathLike,
    pool: AugmentedPool | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    volume: Any = None,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Any] = (),
    resume: bool = False,
    overwrite: bool = False,
) -> Any:
    """Train :func:`retrain_trainer` to the end (``resume`` continues an interrupted
    retraining in ``out_dir``); returns the finished trainer."""
    trainer = retrain_trainer(
        parent, pool, out_dir, volume=volume, overrides=overrides, callbacks=callbacks
    )
    trainer.fit(resume=resume, overwrite=overwrite)
    return trainer


def augment_and_retrain_events(
    parent_run: str | os.PathLike,
    transfer_model: Any,
    out_dir: str | os.PathLike,
    *,
    cls: str | int = "scruff",
    n_sources: int = 6,
    per_source: int = 64,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    force: bool = False,
) -> Iterator[Any]:
    """The paper's loop from a finished run, as events for a live view: the pool's
    :class:`PoolProgress`, :class:`PoolSaved` (``<out_dir>/pool``), then the retraining's
    :func:`~napari_forgetting.training.live.live_events` (into ``<out_dir>/run``).

    ``transfer_model``: a checkpoint or :class:`~..transfer.StratalTransfer`; it is measured
    first (:func:`check_transfer`) and refused below the bar unless ``force``.

    Never raises: an error (a refusal too) becomes a
    :class:`~napari_forgetting.training.live.TrainingFailed`. Closing the generator stops
    between transfers, or after the current batch of the retraining.
    """
    from napari_forgetting.training.live import TrainingFailed, live_events

    out = Path(out_dir)
    try:
        parent = RunStore.open(parent_run)
        volume = open_source(parent.info.get("source") or {})
        quality = check_transfer(
            transfer_model,
            volume,
            resolve_class(parent.class_names, cls),
            force=force,
            min_pixels=min_pixels,
            every=int(parent.train_config.get("every", 5)),
            baseline=parent.path,
        )
        pool = yield from pool_steps(
            parent, transfer_model, cls, n_sources, per_source, seed, volume,
            min_pixels=min_pixels, quality=quality, force=force,
        )  # fmt: skip
        pool_dir = out / "pool"
        save_pool(pool, pool_dir, volume=volume, class_names=parent.class_names, overwrite=True)
        yield PoolSaved(pool_dir, len(pool), tuple(pool.sources))
    except Exception as exc:  # noqa: BLE001 - shown to the user, the viewer keeps working
        yield TrainingFailed(f"{type(exc).__name__}: {exc}", exc, 0, None)
        return

    def build() -> Any:
        return retrain_trainer(
            parent, pool, out / "run", volume=volume, overrides=overrides, pool_path=pool_dir
        )

    yield from live_events(build)
