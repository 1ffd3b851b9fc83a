"""Forgetting hotspots of a training run: its mapped sections ranked for a class.

The paper's workflow (Benkert et al. 2021, Section 2.2) ranks sections by the forgetting-event
density of a target class and takes the top ones (six in the paper) as style sources for the
transfer step. Here a run store is read at one committed epoch and ranked by any of the
statistics of :mod:`napari_forgetting.dynamics.ranking`:

>>> ranking = rank_run("runs/demo", "scruff")            # class by name or id
>>> print(ranking.format_table(top=6))
>>> save_style_sources("runs/demo", ranking, top=6)      # kept in run.json
>>> ranking.to_csv("scruff.csv")

The selection is stored in ``run.json`` under ``style_sources``::

    {"class": "scruff", "class_id": 4, "statistic": "forgetting", "epoch": 59,
     "sections": ["inline:136", ...], "values": [0.42, ...], "saved": "..."}

``epoch`` is the run store's 0-based epoch index (the ranking after ``epoch + 1`` epochs).
No Qt or napari here; the widget and the ``rank`` command both call these functions.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.classes import resolve_class
from napari_forgetting.data.schema import Int, ListOf, Record, validate
from napari_forgetting.data.writers import atomic_path
from napari_forgetting.dynamics.ranking import (
    CLASS_FREE_STATISTICS,
    STATISTICS,
    check_statistic,
    pixel_values,
    rank_scores,
    section_scores,
)
from napari_forgetting.runs.store import RUN_FILE, RunStore, RunStoreError

__all__ = [
    "DEFAULT_TOP",
    "STATISTICS",
    "STATISTIC_HEADINGS",
    "STYLE_SOURCES_FIELD",
    "ClassAbsentError",
    "flat_values",
    "RankRow",
    "Ranking",
    "StyleSources",
    "load_style_sources",
    "rank_run",
    "save_style_sources",
    "section_highlight",
]

#: Top-N style sources, as in the paper.
DEFAULT_TOP = 6
#: The ``run.json`` field that keeps the selected style sources.
STYLE_SOURCES_FIELD = "style_sources"
#: Column heading of each statistic's value (tables, CLI).
STATISTIC_HEADINGS = {
    "forgetting": "density",
    "never_learned": "never learned",
    "low_confidence": "1-confidence",
    "high_variability": "variability",
    "total": "density (all)",
}
#: The stored maps each statistic reads (besides the forgetting events).
_NEEDS = {
    "forgetting": (),
    "total": (),
    "never_learned": ("never_learned",),
    "low_confidence": ("confidence",),
    "high_variability": ("variability",),
}
_CSV_COLUMNS = (
    "rank",
    "section",
    "kind",
    "number",
    "index",
    "value",
    "pixels",
    "events",
    "statistic",
    "class",
    "class_id",
    "epoch",
)


class ClassAbsentError(ValueError):
    """The class to rank has no pixel in any mapped section of the run."""


@dataclass(frozen=True)
class RankRow:
    """One ranked section.

    ``value`` is the statistic's score (for ``forgetting``: the class's forgetting density),
    ``pixels`` the number of class pixels in the section (all pixels for ``total``) and
    ``events`` the forgetting events summed over them.
    """

    rank: int
    kind: str
    number: int | float
    index: int
    value: float
    pixels: int
    events: int

    @property
    def key(self) -> str:
        """The section's key, as in the run store: ``"inline:136"``."""
        return f"{self.kind}:{self.number}"

    @property
    def label(self) -> str:
        """For people: ``"inline 136"``."""
        return f"{self.kind} {self.number}"


@dataclass(frozen=True)
class Ranking:
    """Sections ranked by decreasing ``statistic`` for a class; absent sections left out.

    ``class_id`` / ``class_name`` are ``None`` for statistics irrespective of class
    (``total``). ``epoch`` is the run store's 0-based epoch index; ``n_sections`` the number
    of mapped sections considered (ranked or not).
    """

    statistic: str
    class_id: int | None
    class_name: str | None
    epoch: int
    rows: tuple[RankRow, ...]
    run: str = ""
    n_sections: int = 0
    n_epochs: int = field(default=0, compare=False)
    min_pixels: int = 0
    n_small: int = 0
    #: a consensus run's P(top k) and density intervals per row (rows' order), else None
    uncertainty: Any = field(default=None, compare=False)
    #: one line on the seeds behind the ranking (:func:`~.consensus.stability_note`)
    note: str = field(default="", compare=False)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RankRow]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> RankRow:
        return self.rows[i]

    @property
    def heading(self) -> str:
        """Column heading of :attr:`RankRow.value` (``"density"`` for forgetting)."""
        return STATISTIC_HEADINGS[self.statistic]

    @property
    def uniform(self) -> bool:
        """Every ranked section has the same value (for the forgetting density: the class
        was never learned, or never forgotten): the order is the sections' order, no
        ranking."""
        values = [r.value for r in self.rows]
        return len(values) > 1 and max(values) == min(values)

    def uniform_message(self) -> str:
        """What a uniform ranking says instead of its rows."""
        what = "the class was never learned or never forgotten" if self.statistic in (
            "forgetting", "total") else "the statistic does not vary"  # fmt: skip
        return (
            f"all {len(self.rows)} ranked sections have {self.heading} "
            f"{self.rows[0].value:.4f}: {what}; their order is the section order, not "
            "hotspots (train longer, or rank a consensus of seeds)"
        )

    def unranked(self, row: RankRow) -> bool:
        """A row with no forgetting event at all (density or total 0): listed, no hotspot."""
        return self.statistic in ("forgetting", "total") and row.value == 0

    def rank_labels(self) -> list[str]:
        """Each row's place as shown: tied values share the first place of the tie, marked
        ``=`` ("3=" twice, then "5"); a row without any event is ``–`` (not a hotspot, and
        not third of thirteen ties at zero)."""
        values = [r.value for r in self.rows]
        labels = []
        for r in self.rows:
            if self.unranked(r):
                labels.append("–")
                continue
            place = 1 + sum(v > r.value for v in values)
            labels.append(f"{place}=" if values.count(r.value) > 1 else str(place))
        return labels

    def unranked_note(self) -> str:
        """``"N sections without any event are not ranked (–)"``, or ``""``."""
        n = sum(self.unranked(r) for r in self.rows)
        if not n or self.uniform:
            return ""
        many = n > 1
        return (
            f"{n} section{'s' if many else ''} without any event {'are' if many else 'is'} "
            "not ranked (–)"
        )

    def top(self, n: int | None = DEFAULT_TOP) -> tuple[RankRow, ...]:
        """The first ``n`` rows (all with ``None``)."""
        return self.rows if n is None else self.rows[: max(0, int(n))]

    def keys(self, n: int | None = None) -> list[str]:
        """Section keys of the first ``n`` rows (all with ``None``)."""
        return [row.key for row in self.top(n)]

    def describe(self) -> str:
        """One line: run, class, statistic, epoch and how many sections were ranked."""
        what = (
            "all classes"
            if self.class_id is None
            else f"class {self.class_name} (id {self.class_id})"
        )
        where = f"{len(self.rows)} of {self.n_sections} mapped sections" + (
            "" if self.class_id is None else " hold the class"
        )
        if self.min_pixels:
            where += (
                f" in at least {self.min_pixels} pixels ({self.n_small} holding fewer left out)"
            )
        epochs = f"/{self.n_epochs}" if self.n_epochs else ""
        run = f"{self.run}: " if self.run else ""
        return f"{run}{what}, statistic {self.statistic}, epoch {self.epoch + 1}{epochs}; {where}"

    def format_table(self, top: int | None = None) -> str:
        """The ranking as an aligned text table (the ``rank`` command's output)."""
        if self.uniform:
            return self.uniform_message()
        pixels = "pixels" if self.class_id is None else "class pixels"
        rows = self.top(top)
        width = max([len("section")] + [len(r.label) for r in rows])
        head = (self.heading, pixels, "events")
        u = self.uncertainty
        extra = f"  {f'P(top {u.k})':>9}  {'95 % interval':>17}" if u is not None else ""
        lines = [
            f"{'rank':>4}  {'section':<{width}}  {head[0]:>13}  {head[1]:>12}  {head[2]:>9}" + extra
        ]
        places = self.rank_labels()
        for i, r in enumerate(rows):
            cells = f"{r.value:>13.4f}  {r.pixels:>12d}  {r.events:>9d}"
            if u is not None:
                cells += f"  {u.p_top[i]:>9.2f}  [{u.low[i]:7.3f}, {u.high[i]:7.3f}]"
            lines.append(f"{places[i]:>4}  {r.label:<{width}}  {cells}")
        if self.unranked_note():
            lines.append(f"({self.unranked_note()})")
        return "\n".join(lines)

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write all rows to ``path`` (atomically) with the columns of :meth:`from_csv`."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(_CSV_COLUMNS)
            for r in self.rows:
                writer.writerow(
                    [
                        r.rank,
                        r.label,
                        r.kind,
                        r.number,
                        r.index,
                        repr(float(r.value)),
                        r.pixels,
                        r.events,
                        self.statistic,
                        "" if self.class_name is None else self.class_name,
                        "" if self.class_id is None else self.class_id,
                        self.epoch,
                    ]
                )
        return path

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> Ranking:
        """Read a ranking written by :meth:`to_csv` (``run`` and ``n_sections`` are not kept)."""
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = set(_CSV_COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: not a ranking CSV (missing columns {sorted(missing)})")
            records = list(reader)
        rows = tuple(
            RankRow(
                rank=int(d["rank"]),
                kind=d["kind"],
                number=_number(d["number"]),
                index=int(d["index"]),
                value=float(d["value"]),
                pixels=int(d["pixels"]),
                events=int(d["events"]),
            )
            for d in records
        )
        first = records[0] if records else {}
        class_id = first.get("class_id", "")
        return cls(
            statistic=first.get("statistic", "forgetting"),
            class_id=int(class_id) if class_id not in ("", None) else None,
            class_name=first.get("class") or None,
            epoch=int(first.get("epoch", 0) or 0),
            rows=rows,
        )


@dataclass(frozen=True)
class StyleSources:
    """A top-N selection of sections for a class, kept with the run (``run.json``)."""

    class_name: str
    class_id: int
    statistic: str
    epoch: int
    sections: tuple[str, ...]
    values: tuple[float, ...] = ()
    saved: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.class_name,
            "class_id": self.class_id,
            "statistic": self.statistic,
            "epoch": self.epoch,
            "sections": list(self.sections),
            "values": [float(v) for v in self.values],
            "saved": self.saved,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleSources:
        return cls(
            class_name=str(d["class"]),
            class_id=int(d["class_id"]),
            statistic=str(d.get("statistic", "forgetting")),
            epoch=int(d["epoch"]),
            sections=tuple(str(k) for k in d["sections"]),
            values=tuple(float(v) for v in d.get("values", ())),
            saved=str(d.get("saved", "")),
        )


def _number(text: str) -> int | float:
    v = float(text)
    return int(v) if v.is_integer() else v


def _store(run: RunStore | str | os.PathLike) -> RunStore:
    return run if isinstance(run, RunStore) else RunStore.open(run)


def _check_maps(store: RunStore, statistic: str) -> None:
    needed = ("forgetting_events", "never_learned", *_NEEDS[statistic])
    missing = [m for m in needed if m not in store.map_names]
    if missing:
        hint = " (trained with --no-stats?)" if {"confidence", "variability"} & set(missing) else ""
        raise ValueError(
            f"statistic {statistic!r} needs the {', '.join(missing)} map(s), which run "
            f"{store.path} does not store{hint}"
        )


def _section_values(
    store: RunStore, statistic: str, section: int, epoch: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(per-pixel values, forgetting events)`` of mapped section ``section``."""
    events = store.heatmap(section, epoch)
    extra = {name: store.map(name, section, epoch) for name in _NEEDS[statistic]}
    return pixel_values(statistic, events=events, **extra), events


def flat_values(
    store: RunStore, statistic: str, epoch: int, events: np.ndarray | None = None
) -> np.ndarray:
    """The statistic's per-pixel values over all mapped sections at ``epoch``, flat
    (:func:`~napari_forgetting.dynamics.ranking.pixel_values`); ``events``: the run's
    :meth:`~.store.RunStore.flat_heatmap` at ``epoch`` if already read."""
    _check_maps(store, statistic)
    events = store.flat_heatmap(epoch) if events is None else events
    extra = {name: store.flat_map(name, epoch) for name in _NEEDS[statistic]}
    return pixel_values(statistic, events=events, **extra)


def rank_run(
    run: RunStore | str | os.PathLike,
    cls: str | int | None = None,
    statistic: str = "forgetting",
    epoch: int | None = None,
    min_pixels: int = 0,
    k: int = DEFAULT_TOP,
    stability: str | os.PathLike | None = None,
) -> Ranking:
    """Rank the mapped sections of a run for a class.

    Parameters
    ----------
    run : RunStore or its directory
    cls : class name or id; ignored (may be ``None``) for ``statistic="total"``
    statistic : one of :data:`STATISTICS` (default: the paper's forgetting density)
    epoch : 0-based epoch index, negative from the end; default the last committed
    min_pixels : sections holding fewer pixels of the class are left out (a style source
        needs enough of its class: :data:`~..dynamics.ranking.DEFAULT_MIN_PIXELS` says why
        and is the default of ``rank`` and ``augment``); ignored for ``total``
    k : the k of a consensus's P(top k)
    stability : a folder whose seed runs measured this run's configuration (``consensus``
        or ``compare`` output): a single run's note then quotes that measurement
        (:func:`~.consensus.measured_stability`; ``ValueError`` for another configuration)

    Returns
    -------
    Ranking: rows sorted by decreasing value, sections without the class (or with fewer than
    ``min_pixels`` of it) left out. Raises :class:`ClassAbsentError` when the class is in no
    mapped section, or in none with ``min_pixels``, ``ValueError`` for an unknown class,
    statistic or epoch or a negative ``min_pixels``, :class:`RunStoreError` before the first
    epoch.
    """
    if int(min_pixels) < 0:
        raise ValueError(f"min_pixels must be >= 0, got {min_pixels}")
    store = _store(run)
    check_statistic(statistic)
    if statistic in CLASS_FREE_STATISTICS:
        class_id, class_name = None, None
    elif cls is None:
        raise ValueError(f"statistic {statistic!r} ranks a class: name one")
    else:
        class_id = resolve_class(store.class_names, cls)
        class_name = store.class_names[class_id]
    _check_maps(store, statistic)
    e = store.epoch_index(epoch)
    n = len(store.map_sections)
    # each map read once, flat, then cut per section (per-section reads: 3.5 s at F3 size)
    events = store.flat_heatmap(e)
    values = store.split_map(flat_values(store, statistic, e, events))
    events, labels = store.split_map(events), store.all_map_labels()
    scores, pixels, class_events = section_scores(values, labels, class_id, events)
    if class_id is not None and not pixels.any():
        raise ClassAbsentError(
            f"class {class_name!r} (id {class_id}) is absent from all {n} mapped sections of "
            f"run {store.path}: nothing to rank"
        )
    min_pixels = 0 if class_id is None else int(min_pixels)
    small = (pixels > 0) & (pixels < min_pixels)
    if min_pixels and not (pixels >= min_pixels).any():
        raise ClassAbsentError(
            f"no mapped section of run {store.path} holds {min_pixels} pixels of class "
            f"{class_name!r} (the most: {int(pixels.max())}); lower the minimum (--min-pixels)"
        )
    scores = np.where(small, np.nan, scores)
    rows = tuple(
        RankRow(
            rank=r + 1,
            kind=store.map_sections[s].kind,
            number=store.map_sections[s].number,
            index=store.map_sections[s].index,
            value=float(scores[s]),
            pixels=int(pixels[s]),
            events=int(round(class_events[s])),
        )
        for r, s in enumerate(rank_scores(scores))
    )
    from napari_forgetting.runs.consensus import (
        measured_stability,
        section_uncertainty,
        stability_note,
    )

    uncertainty = None
    if class_id is not None and statistic == "forgetting" and rows:
        uncertainty = section_uncertainty(store, class_id, [r.key for r in rows], k, e)
    return Ranking(
        statistic=statistic,
        class_id=class_id,
        class_name=class_name,
        epoch=e,
        rows=rows,
        run=str(store.path),
        n_sections=n,
        n_epochs=store.n_epochs,
        min_pixels=min_pixels,
        n_small=int(small.sum()),
        uncertainty=uncertainty,
        note=stability_note(
            store,
            class_name,
            None if stability is None else measured_stability(store, stability, class_name),
        ),  # fmt: skip
    )


def section_highlight(
    run: RunStore | str | os.PathLike,
    section: int | str | RankRow,
    statistic: str = "forgetting",
    class_id: int | None = None,
    epoch: int | None = None,
) -> np.ndarray:
    """The statistic's per-pixel values on one mapped section, ``NaN`` off the class.

    ``section``: a position in ``map_sections``, a key (``"inline:136"``) or a
    :class:`RankRow`. For ``forgetting`` the values are the pixels' forgetting events.
    Returns float32 (rows, cols), depth-down as the section.
    """
    store = _store(run)
    check_statistic(statistic)
    _check_maps(store, statistic)
    key = section.key if isinstance(section, RankRow) else section
    i = store.map_index(key)
    e = store.epoch_index(epoch)
    values, _ = _section_values(store, statistic, i, e)
    out = values.astype(np.float32)
    if class_id is not None and statistic not in CLASS_FREE_STATISTICS:
        out[store.map_labels(i) != class_id] = np.nan
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def save_style_sources(
    run: RunStore | str | os.PathLike, ranking: Ranking, top: int = DEFAULT_TOP
) -> StyleSources:
    """Keep the first ``top`` sections of ``ranking`` as the run's style sources.

    Written into ``run.json`` (field :data:`STYLE_SOURCES_FIELD`), replacing an earlier
    selection; a :class:`RunStore` passed in sees the new field in its ``info`` too.
    """
    if ranking.class_id is None:
        raise ValueError(
            f"style sources are chosen for a class; statistic {ranking.statistic!r} ranks "
            "irrespective of class"
        )
    if int(top) < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    rows = ranking.top(top)
    if not rows:
        raise ClassAbsentError(f"class {ranking.class_name!r}: no ranked section to select")
    sources = StyleSources(
        class_name=str(ranking.class_name),
        class_id=int(ranking.class_id),
        statistic=ranking.statistic,
        epoch=ranking.epoch,
        sections=tuple(r.key for r in rows),
        values=tuple(r.value for r in rows),
        saved=_now(),
    )
    path = run.path if isinstance(run, RunStore) else Path(run)
    # a fresh writer re-reads run.json, so fields written since `run` was opened survive
    RunStore.open(path, mode="a").update_info(**{STYLE_SOURCES_FIELD: sources.to_dict()})
    if isinstance(run, RunStore):
        run.info[STYLE_SOURCES_FIELD] = sources.to_dict()
    return sources


#: ``run.json``'s saved style sources (:func:`save_style_sources`).
STYLE_SOURCES_SCHEMA = Record(
    {"class": str, "class_id": Int(0, 255), "epoch": Int(-(10**6), 10**6),
     "sections": ListOf(str, 0, 10**6)},
    {"statistic": str, "values": ListOf(float), "saved": str},
)  # fmt: skip


def load_style_sources(run: RunStore | str | os.PathLike) -> StyleSources | None:
    """The style sources kept with the run (read from disk), or ``None`` if none were chosen."""
    path = run.path if isinstance(run, RunStore) else Path(run)
    try:
        info = json.loads((path / RUN_FILE).read_text())
    except FileNotFoundError:
        raise RunStoreError(f"{path}: not a run directory (no {RUN_FILE})") from None
    record = info.get(STYLE_SOURCES_FIELD) if isinstance(info, dict) else None
    if not record:
        return None
    validate(record, STYLE_SOURCES_SCHEMA, path / RUN_FILE, RunStoreError)
    return StyleSources.from_dict(record)
