"""What an epoch movie shows: one mapped section's heat map after every committed epoch.

:func:`epoch_frames` reads them from a run store -- the forgetting scores of the section at
each epoch (never-learned pixels scored by the run's convention, as everywhere else), one
colour scale for all epochs, and the section's seismic when the caller has the run's data.
The movie itself is rendered by napari-animation (:mod:`napari_forgetting._napari.render_movie`,
used by ``napari-forgetting movie`` and the training dock); no Qt or napari here.

>>> frames = epoch_frames("runs/demo")                    # the run's hottest section
>>> frames = epoch_frames(store, "inline:105", volume)    # with its seismic
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.sections import Section, section_image
from napari_forgetting.dynamics import heat_limit
from napari_forgetting.runs.store import RunStore, RunStoreError

__all__ = [
    "MOVIE_SUFFIXES",
    "EpochFrames",
    "check_movie_path",
    "epoch_frames",
    "hottest_section",
]

#: Movie formats: GIF through imageio, the others through imageio-ffmpeg's bundled ffmpeg.
MOVIE_SUFFIXES = (".mp4", ".gif", ".mov", ".avi", ".mkv")


def check_movie_path(out: str | os.PathLike) -> Path:
    """``out`` as a path, or ``ValueError`` for a suffix napari-animation cannot write."""
    path = Path(out)
    if path.suffix.lower() not in MOVIE_SUFFIXES:
        raise ValueError(
            f"{path}: a movie is written as {', '.join(MOVIE_SUFFIXES)}; "
            f"not {path.suffix or 'a name without suffix'}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such folder for the movie")
    return path


@dataclass(frozen=True)
class EpochFrames:
    """A section's forgetting heat map at every committed epoch of a run.

    ``heat`` (E, rows, cols) int64, depth-down as :attr:`section` reads; ``upper`` the colour
    scale's top for all epochs (:func:`~napari_forgetting.dynamics.heat_limit` of the last
    epoch's scores: event counts never decrease); ``seismic`` the section's amplitudes
    (float32) or ``None`` when the run's data was not given; ``labels`` its class ids.
    """

    run: str
    section: Section
    heat: np.ndarray
    upper: float
    labels: np.ndarray
    seismic: np.ndarray | None = None

    @property
    def n_epochs(self) -> int:
        return int(self.heat.shape[0])

    def title(self, epoch: int) -> str:
        """The caption of frame ``epoch`` (0-based): ``"demo · inline 105 · epoch 3 / 30"``."""
        return (
            f"{self.run} · {self.section.kind} {self.section.number} · "
            f"epoch {epoch + 1} / {self.n_epochs}"
        )


def _store(run: RunStore | str | os.PathLike) -> RunStore:
    return run if isinstance(run, RunStore) else RunStore.open(run)


def hottest_section(store: RunStore) -> Section:
    """The mapped section with the most forgetting events per pixel after the last epoch
    (``rank --stat total``'s first row)."""
    from napari_forgetting.runs.hotspots import rank_run

    first = rank_run(store, statistic="total").rows[0]
    return store.map_sections[store.map_index(first.key)]


def epoch_frames(
    run: RunStore | str | os.PathLike,
    section: int | Section | str | None = None,
    volume: Any = None,
) -> EpochFrames:
    """The heat map of ``section`` (a mapped section: position, :class:`Section` or key such
    as ``"inline:105"``; default :func:`hottest_section`) after each committed epoch of
    ``run``; with ``volume`` (the run's data) also the section's seismic.

    Raises :class:`~napari_forgetting.runs.store.RunStoreError` for a run without a
    committed epoch, ``KeyError`` for a section the run does not map.
    """
    store = _store(run)
    if store.n_epochs == 0:
        raise RunStoreError(f"{store.path}: no complete epoch yet, nothing to show")
    if section is None:
        sec = hottest_section(store)
    else:
        sec = store.map_sections[store.map_index(section)]
    heat = np.stack([store.heatmap(sec, e) for e in range(store.n_epochs)])
    upper = max(1.0, heat_limit(heat[-1]))
    seismic = None if volume is None else section_image(volume, sec)
    return EpochFrames(store.path.name, sec, heat, float(upper), store.map_labels(sec), seismic)
