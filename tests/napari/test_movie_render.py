"""Epoch movies rendered by napari-animation: ``napari-forgetting movie`` end to end."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageSequence

from napari_forgetting.cli import main


def _frames(path):
    if path.suffix == ".gif":
        with Image.open(path) as im:
            return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    import imageio

    with imageio.get_reader(path) as reader:
        return [np.asarray(f) for f in reader]


def _heat_pixels(frame):
    """Pixels of the heat map's warm colours (inferno's upper half: red > blue, red > 120)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(((r > 120) & (r > b + 40)).sum())


def test_movie_renders_one_frame_per_epoch_of_a_hand_made_run(
    make_napari_viewer, hotspot_run, tmp_path, capsys
):
    # make_napari_viewer: napari's plugin state set up for the viewer the movie is drawn in
    out = tmp_path / "heat.gif"
    rc = main(["movie", str(hotspot_run.path), "--out", str(out), "--size", "320", "200",
               "--section", "inline:100"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "inline 100: 2 epochs" in err and "no seismic" in err
    frames = _frames(out)
    assert len(frames) == 2 and frames[0].shape == (200, 320, 3)
    # epoch 1 has no forgetting event (transparent), epoch 2 has inline 100's
    assert _heat_pixels(frames[1]) > _heat_pixels(frames[0])
    assert not list(tmp_path.glob(".*partial*"))  # written beside and moved into place


def test_movie_of_a_trained_run_shows_its_seismic_as_mp4(make_napari_viewer, tmp_path, capsys):
    run = tmp_path / "run"
    train = ["train", "--data", "synthetic", "--shape", "8", "12", "32", "--out", str(run),
             "--epochs", "3", "--patch", "16", "16", "--patches-per-epoch", "4",
             "--batch-size", "2", "--device", "cpu", "--threads", "1", "--quiet"]  # fmt: skip
    assert main(train) == 0
    out = tmp_path / "heat.mp4"
    assert main(["movie", str(run), "--out", str(out), "--size", "320", "208"]) == 0
    err = capsys.readouterr().err
    assert ": 3 epochs" in err and "no seismic" not in err
    frames = _frames(out)
    assert len(frames) == 3 and frames[0].shape == (208, 320, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/m.webm"], "not .webm"),
        (["--out", "{tmp}/missing/m.gif"], "no such folder"),
        (["--out", "{tmp}/m.gif", "--section", "inline:101"], "not among this run's sections"),
    ],
)
def test_movie_usage_errors_are_one_line(hotspot_run, tmp_path, capsys, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(["movie", str(hotspot_run.path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_movie_without_a_display_says_to_use_xvfb(hotspot_run, tmp_path, capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["movie", str(hotspot_run.path), "--out", str(tmp_path / "m.gif")]) == 2
    assert "xvfb-run" in capsys.readouterr().err
    assert not (tmp_path / "m.gif").exists()


def test_the_movie_draws_the_docks_colour_scale_under_the_section(make_napari_viewer, hotspot_run):
    from napari_forgetting._napari.render_movie import _viewer_of
    from napari_forgetting.runs.epoch_frames import epoch_frames

    frames = epoch_frames(hotspot_run, "inline:100", None)
    viewer = _viewer_of(frames, (320, 200), None)
    try:
        heat = viewer.layers["forgetting events"]
        scale = viewer.layers["colour scale"]
        assert scale.rgb and not heat.colorbar.visible  # the scale, not a bar on the data
        # below the section: its top edge under the section's bottom row, in world units
        assert scale.translate[-2] > frames.heat.shape[-2]
        # the caption's font is chosen so the longest caption fits the 320-px frame
        from napari_forgetting._napari.side_view import text_overlay

        longest = max(len(frames.title(e)) for e in range(frames.n_epochs))
        assert 7 <= text_overlay(viewer).font_size <= 320 / longest
    finally:
        viewer.close()
