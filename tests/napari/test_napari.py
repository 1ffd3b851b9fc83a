"""The napari face: npe2 manifest, reader and sample data in a real viewer (under Xvfb)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import segyio
from npe2 import PluginManifest

from napari_forgetting._napari import reader as _reader
from napari_forgetting._napari.sample_data import (
    CHECKOUT_SAMPLE_DIR,
    sample_data_dir,
    sample_path,
)
from napari_forgetting.data import F3_CLASS_COLORS, VolumeError


def test_manifest_is_valid_and_names_reader_and_sample_data():
    manifest = PluginManifest.from_distribution("napari-forgetting")
    assert manifest.contributions.readers and manifest.contributions.sample_data
    patterns = manifest.contributions.readers[0].filename_patterns
    for pattern in ("*.sgy", "*.segy", "*.npy", "*.zarr"):
        assert pattern in patterns


def test_get_reader_is_fast_and_declines_other_files(tmp_path):
    assert _reader.get_reader(str(tmp_path / "image.tif")) is None
    assert _reader.get_reader([str(tmp_path / "a.sgy"), str(tmp_path / "b.sgy")]) is None
    # accepting a path never opens it: a missing file still gets a reader, which then says so
    reader = _reader.get_reader(str(tmp_path / "missing.sgy"))
    assert callable(reader)
    with pytest.raises(VolumeError, match="missing.sgy: file does not exist"):
        reader(str(tmp_path / "missing.sgy"))


def test_sample_data_is_the_checkouts_own_not_a_cache(tmp_path, monkeypatch):
    # an empty cache: a source checkout must find its shipped sample_data/ and never fall
    # back to (or write) a regenerated copy in the user's cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = Path(__file__).resolve().parents[2]
    assert sample_data_dir() == CHECKOUT_SAMPLE_DIR == root / "sample_data"
    assert sample_path() == root / "sample_data" / "f3_synthetic.sgy"
    assert not (tmp_path / "cache").exists()


def test_an_installed_wheel_finds_its_shipped_sample(tmp_path, monkeypatch):
    # pyproject ships sample_data/ into <prefix>/share/napari-forgetting/sample_data; without
    # a checkout beside the package, that copy is the sample (no regeneration into a cache)
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest brings tomli
        import tomli as tomllib

    from napari_forgetting._napari import sample_data as module

    root = Path(__file__).resolve().parents[2]
    shipped = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ][str(module.INSTALLED_SAMPLE_DIR)]
    assert sorted(Path(f).name for f in shipped) == sorted(
        p.name for p in (root / "sample_data").iterdir()
    )
    prefix = tmp_path / "env"
    installed = prefix / module.INSTALLED_SAMPLE_DIR
    installed.mkdir(parents=True)
    for name in shipped:
        (installed / Path(name).name).write_bytes((root / name).read_bytes())
    monkeypatch.setattr(module, "CHECKOUT_SAMPLE_DIR", tmp_path / "no-checkout")
    monkeypatch.setattr(module.sys, "prefix", str(prefix))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert module.sample_path() == installed / "f3_synthetic.sgy"
    assert not (tmp_path / "cache").exists()


def test_reader_returns_lazy_layers_with_geometry_and_class_colours():
    layers = _reader.get_reader(str(sample_path()))(str(sample_path()))
    (image, image_kw, image_type), (labels, labels_kw, labels_type) = layers
    assert (image_type, labels_type) == ("image", "labels")
    assert type(image).__module__.startswith("dask") and type(labels).__module__.startswith("dask")
    lo, hi = image_kw["contrast_limits"]
    assert lo < 0 < hi
    assert image_kw["axis_labels"] == ("inline", "crossline", "sample")
    assert image_kw["translate"][:2] == (100.0, 300.0)
    meta = image_kw["metadata"]
    # the interval the file's own headers give (read by segyio, not by our reader): the
    # shipped sample spans F3's 1020 ms in 128 samples (7.969 ms)
    with segyio.open(str(sample_path()), ignore_geometry=True) as fh:
        interval = segyio.tools.dt(fh) / 1000.0
    assert meta["sample_interval"] == pytest.approx(interval) == pytest.approx(1020.0 / 128, 1e-3)
    assert meta["inlines"][0] == 100
    cmap = labels_kw["colormap"]
    assert cmap[4] == tuple(c / 255 for c in F3_CLASS_COLORS[4]) + (1.0,)  # scruff orange
    assert list(labels_kw["features"]["class"])[5] == "zechstein"


def test_sample_data_opens_in_a_real_viewer(make_napari_viewer):
    viewer = make_napari_viewer(show=True)  # a hidden canvas draws nothing
    layers = viewer.open_sample("napari-forgetting", "f3_synthetic")
    assert [layer.name for layer in layers] == ["f3_synthetic", "f3_synthetic labels"]
    image, labels = layers
    assert image.data.shape == labels.data.shape == (48, 96, 128)
    assert image.colormap.name == "gray"
    color = labels.colormap.map(np.array([4]))[0]
    np.testing.assert_allclose(color[:3], np.array(F3_CLASS_COLORS[4]) / 255, atol=1e-6)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].std() > 5  # something was drawn (not only the opaque alpha)


def test_first_view_shows_an_inline_section_depth_down(make_napari_viewer, tmp_path):
    # whatever opens a volume (File > Open, drag-and-drop: viewer.open; Open Sample), the
    # screen's vertical axis is the sample axis and its horizontal axis the crossline
    viewer = make_napari_viewer()
    image, labels = viewer.open_sample("napari-forgetting", "f3_synthetic")
    assert viewer.dims.displayed == (2, 1)  # (screen rows, screen columns)
    assert viewer.dims.current_step[0] == image.data.shape[0] // 2  # a middle inline
    assert labels.opacity <= 0.3  # the seismic reads through the facies
    viewer = make_napari_viewer(show=True)  # a hidden canvas draws nothing
    # a ramp down the sample axis only: on screen it must grow from top to bottom and stay
    # constant along each row
    ramp = np.broadcast_to(np.arange(64, dtype=np.float32), (6, 40, 64)).copy()
    np.save(tmp_path / "ramp.npy", ramp)
    (layer,) = viewer.open(str(tmp_path / "ramp.npy"), plugin="napari-forgetting")
    layer.contrast_limits = (0, 63)
    assert viewer.dims.displayed == (2, 1)
    assert [viewer.dims.axis_labels[a] for a in viewer.dims.displayed] == ["sample", "crossline"]
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., 0].astype(float)
    rows = np.flatnonzero(shot.max(axis=1) > 0)
    cols = np.flatnonzero(shot.max(axis=0) > 0)
    inside = shot[rows[2] : rows[-2], cols[2] : cols[-2]]
    assert inside.shape[0] > 20 and inside.shape[1] > 20
    down = inside.mean(axis=1)
    assert down[-1] - down[0] > 150 and np.all(np.diff(down) >= -1)
    assert inside.std(axis=1).max() < 3


def test_reader_opens_real_f3_crop_in_viewer(segyio_dir, make_napari_viewer):
    viewer = make_napari_viewer()
    layers = viewer.open(str(segyio_dir / "f3.sgy"), plugin="napari-forgetting")
    (layer,) = layers
    assert layer.data.shape == (23, 18, 75)
    assert layer.metadata["inlines"][0] == 111
    assert tuple(layer.translate[:2]) == (111.0, 875.0)


def test_reader_opens_segyio_written_file_in_viewer(segy_cases, make_napari_viewer):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(segy_cases["crossline"]), plugin="napari-forgetting")
    assert layer.data.shape == segy_cases.cube.shape
    assert tuple(layer.translate[:2]) == (111.0, 875.0)
    assert tuple(layer.scale[:2]) == (1.0, 2.0)  # crosslines in steps of 2


def test_bad_file_gives_a_clear_error_and_the_viewer_keeps_working(segy_cases, make_napari_viewer):
    viewer = make_napari_viewer()
    with pytest.raises(Exception, match="truncated.sgy.*truncated"):
        viewer.open(str(segy_cases["truncated"]), plugin="napari-forgetting")
    assert len(viewer.layers) == 0
    viewer.open(str(segy_cases["inline"]), plugin="napari-forgetting")
    assert len(viewer.layers) == 1


def test_reader_opens_f3_npy_pair_and_zarr_in_viewer(make_napari_viewer, tmp_path, tiny_survey):
    import zarr

    from napari_forgetting.data.synthetic import write_survey

    paths = write_survey(tiny_survey, tmp_path, name="train", formats=("npy",))
    viewer = make_napari_viewer()
    layers = viewer.open(str(paths["seismic"]), plugin="napari-forgetting")
    assert [type(layer).__name__ for layer in layers] == ["Image", "Labels"]
    np.testing.assert_array_equal(np.asarray(layers[1].data), tiny_survey.labels)
    store = tmp_path / "cube.zarr"
    zarr.save_array(str(store), tiny_survey.seismic)
    (layer,) = viewer.open(str(store), plugin="napari-forgetting")
    assert layer.data.shape == tiny_survey.shape


@pytest.mark.timeout(240)
def test_demo_trains_on_the_sample_and_writes_a_non_blank_screenshot(tmp_path):
    """What a new user runs: ``napari-forgetting demo`` (here one epoch, then the 3-D survey
    view, then quit)."""
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [sys.executable, "-m", "napari_forgetting.cli", "demo", "--epochs", "1",
         "--view", "3d", "--screenshot", str(shot), "--quit"],
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        capture_output=True,
        text=True,
        timeout=220,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "first heat map shown" in result.stderr
    from imageio.v3 import imread

    pixels = imread(shot)
    assert pixels.shape[0] > 300 and pixels[..., :3].std() > 10
    assert np.unique(pixels[..., 0]).size > 20
