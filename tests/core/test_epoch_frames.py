"""What an epoch movie shows (runs.epoch_frames): a section's heat map at every epoch of a run."""

from __future__ import annotations

import numpy as np
import pytest

from hotspot_run import EVENTS, SECTIONS, VOLUME_SHAPE, make_run
from napari_forgetting.data.sections import Section
from napari_forgetting.data.volume import symmetric_limits
from napari_forgetting.dynamics import heat_limit
from napari_forgetting.runs.epoch_frames import check_movie_path, epoch_frames
from napari_forgetting.runs.store import RunStoreError


def test_frames_hold_the_section_heat_map_of_every_epoch(hotspot_run):
    frames = epoch_frames(hotspot_run, "inline:100")
    assert frames.section == SECTIONS[0] and frames.n_epochs == 2
    assert frames.heat.shape == (2, *SECTIONS[0].shape)
    for e in range(2):
        np.testing.assert_array_equal(frames.heat[e], hotspot_run.heatmap("inline:100", e))
    assert not frames.heat[0].any()  # the hand-made run's first epoch has no event
    assert frames.heat[1].sum() >= EVENTS[0].sum()
    assert frames.upper == max(1.0, heat_limit(frames.heat[1]))
    assert frames.seismic is None  # no data given: the movie shows the labels
    np.testing.assert_array_equal(frames.labels, hotspot_run.map_labels("inline:100"))
    assert frames.title(1) == "run · inline 100 · epoch 2 / 2"


def test_the_default_section_is_the_run_s_hottest(hotspot_run):
    # events per pixel after the last epoch (hotspot_run.py): inline 100 8/15, inline 102
    # 5/15, crossline 301 8/12, crossline 303 3/12
    assert epoch_frames(hotspot_run).section.key == "crossline:301"
    by_position = epoch_frames(hotspot_run, 3)
    assert by_position.section == SECTIONS[3]


def test_frames_carry_the_section_s_seismic_when_the_volume_is_given(hotspot_run):
    volume = np.arange(np.prod(VOLUME_SHAPE), dtype=np.float32).reshape(VOLUME_SHAPE)
    section = Section("crossline", 3, 303, (3, 4))
    frames = epoch_frames(hotspot_run, section, volume)
    np.testing.assert_array_equal(frames.seismic, volume[:, 3, :].T)  # depth down


def test_a_run_without_an_epoch_or_a_section_it_does_not_map_is_refused(tmp_path):
    empty = make_run(tmp_path / "empty", epochs_done=0, status="running")
    with pytest.raises(RunStoreError, match="no complete epoch"):
        epoch_frames(empty)
    run = make_run(tmp_path / "run")
    with pytest.raises(KeyError, match=r"inline:101.*inline:100, inline:102.*4 in all"):
        epoch_frames(run, "inline:101")


def test_movie_paths_and_grey_limits(tmp_path):
    assert check_movie_path(tmp_path / "a.mp4") == tmp_path / "a.mp4"
    assert check_movie_path(tmp_path / "a.GIF").suffix == ".GIF"
    with pytest.raises(ValueError, match=r"\.mp4, \.gif.*not \.webm"):
        check_movie_path(tmp_path / "a.webm")
    with pytest.raises(ValueError, match="without suffix"):
        check_movie_path(tmp_path / "movie")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        check_movie_path(tmp_path / "missing" / "a.gif")
    image = np.linspace(-2.0, 2.0, 201, dtype=np.float32)
    low, high = symmetric_limits(image, 100.0)
    assert (low, high) == (-2.0, 2.0)
    assert symmetric_limits(np.zeros((3, 3))) == (-1.0, 1.0)
