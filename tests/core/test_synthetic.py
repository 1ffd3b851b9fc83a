"""Tests of the F3-like synthetic benchmark (napari_forgetting.data.synthetic)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import segyio

from napari_forgetting.data.classes import F3_CLASS_NAMES
from napari_forgetting.data.synthetic import (
    F3_PROPORTIONS,
    SAMPLE_DATA_NAME,
    SyntheticSurvey,
    make_f3_like,
    write_sample_data,
    write_survey,
)

SMALL = (8, 16, 32)
DEFAULT = (64, 96, 128)
SCRUFF, ZECHSTEIN = 4, 5
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def default_survey() -> SyntheticSurvey:
    return make_f3_like(DEFAULT, seed=0)


def _assert_stacked(labels: np.ndarray) -> None:
    assert labels.dtype == np.uint8
    assert labels.max() <= 5
    # along every trace the labels never decrease with depth (units stacked in class-id order)
    assert np.all(labels[..., 1:] >= labels[..., :-1])


def test_same_seed_is_bit_identical_and_other_seed_differs():
    a = make_f3_like(SMALL, seed=3)
    b = make_f3_like(SMALL, seed=3)
    assert a.seismic.tobytes() == b.seismic.tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    c = make_f3_like(SMALL, seed=4)
    assert not np.array_equal(a.seismic, c.seismic)
    assert not np.array_equal(a.labels, c.labels)


def test_survey_fields(default_survey):
    s = default_survey
    assert s.seismic.shape == s.labels.shape == DEFAULT
    assert s.seismic.dtype == np.float32 and s.labels.dtype == np.uint8
    np.testing.assert_array_equal(s.inlines, np.arange(100, 100 + DEFAULT[0]))
    np.testing.assert_array_equal(s.crosslines, np.arange(300, 300 + DEFAULT[1]))
    np.testing.assert_array_equal(s.samples, np.arange(DEFAULT[2]) * 4.0)
    assert s.class_names == F3_CLASS_NAMES
    assert s.seed == 0 and s.shape == DEFAULT and s.sample_interval == 4.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 1  # type: ignore[misc]


def test_labels_are_stacked_in_stratigraphic_order(default_survey):
    _assert_stacked(default_survey.labels)
    for seed in range(4):  # also with many faults and domes
        _assert_stacked(make_f3_like(SMALL, seed=seed).labels)
        _assert_stacked(make_f3_like((24, 32, 48), seed=seed, n_faults=8, n_domes=6).labels)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_class_present_scruff_and_zechstein_rarest(seed, default_survey):
    s = default_survey if seed == 0 else make_f3_like(DEFAULT, seed=seed)
    counts = np.bincount(s.labels.ravel(), minlength=6)
    assert len(counts) == 6 and np.all(counts > 0)
    assert set(np.argsort(counts)[:2].tolist()) == {SCRUFF, ZECHSTEIN}


def test_proportions_close_to_f3():
    p = make_f3_like((96, 160, 128), seed=5).class_proportions()
    np.testing.assert_allclose(p, F3_PROPORTIONS, atol=0.015)
    assert p.sum() == pytest.approx(1.0)


def test_scruff_wedge_pinches_out(default_survey):
    lab = default_survey.labels
    has_scruff = (lab == SCRUFF).any(axis=-1)
    frac_without = 1.0 - has_scruff.mean()
    assert 0.1 < frac_without < 0.8
    # where it is missing, the chalk sits directly on the salt
    no_scruff = ~has_scruff & (lab == 3).any(axis=-1) & (lab == ZECHSTEIN).any(axis=-1)
    assert no_scruff.any()


def test_amplitudes_finite_zero_mean(default_survey):
    x = default_survey.seismic
    assert x.dtype == np.float32
    assert np.isfinite(x).all()
    assert abs(float(x.mean())) < 0.05
    assert 0.8 < float(x.std()) < 1.3


def test_noise_changes_seismic_not_labels():
    clean = make_f3_like(SMALL, seed=1, noise=0.0)
    noisy = make_f3_like(SMALL, seed=1, noise=0.5)
    assert clean.labels.tobytes() == noisy.labels.tobytes()
    assert not np.array_equal(clean.seismic, noisy.seismic)
    assert float(np.std(noisy.seismic - clean.seismic)) == pytest.approx(0.5, rel=0.25)


def test_tiny_shapes_work():
    for shape in [(1, 1, 2), (2, 3, 8)]:
        s = make_f3_like(shape, seed=0)
        assert s.seismic.shape == shape and np.isfinite(s.seismic).all()
        _assert_stacked(s.labels)


@pytest.mark.parametrize(
    "kwargs",
    [{"shape": (0, 4, 8)}, {"shape": (4, 4)}, {"shape": (4, 4, 1)}, {"noise": -1.0}],
)
def test_bad_arguments(kwargs):
    args = {"shape": SMALL, **kwargs}
    with pytest.raises(ValueError):
        make_f3_like(**args)


def test_write_survey_round_trip(tmp_path):
    s = make_f3_like(SMALL, seed=2)
    out = write_survey(s, tmp_path / "out", name="f3_test", formats=("segy", "npy"))
    assert out == {
        "segy": tmp_path / "out" / "f3_test.sgy",
        "seismic": tmp_path / "out" / "f3_test_seismic.npy",
        "labels": tmp_path / "out" / "f3_test_labels.npy",
    }
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in out.values()
    )  # no temporary files left behind
    cube = segyio.tools.cube(str(out["segy"]))
    assert cube.dtype == np.float32
    np.testing.assert_array_equal(cube, s.seismic)
    with segyio.open(str(out["segy"]), iline=189, xline=193) as f:
        np.testing.assert_array_equal(f.ilines, s.inlines)
        np.testing.assert_array_equal(f.xlines, s.crosslines)
        np.testing.assert_allclose(f.samples, s.samples)
        assert f.bin[segyio.BinField.Format] == segyio.SegySampleFormat.IEEE_FLOAT_4_BYTE
        assert f.sorting == segyio.TraceSortingFormat.INLINE_SORTING
    with open(out["segy"], "rb") as fh:  # big-endian: the sample-format code 5 at 3225-3226
        fh.seek(3224)
        assert fh.read(2) == b"\x00\x05"
    labels = np.load(out["labels"])
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, s.labels)
    seismic = np.load(out["seismic"])
    assert seismic.dtype == np.float32 and seismic.tobytes() == s.seismic.tobytes()


def test_write_survey_segy_only_and_bad_formats(tmp_path):
    s = make_f3_like(SMALL, seed=0)
    out = write_survey(s, tmp_path, formats=("segy",))
    assert set(out) == {"segy", "labels"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "f3_synthetic.sgy",
        "f3_synthetic_labels.npy",
    ]
    with pytest.raises(ValueError):
        write_survey(s, tmp_path, formats=("zarr",))
    with pytest.raises(ValueError):
        write_survey(s, tmp_path, formats=())


def test_shipped_sample_data_is_what_write_sample_data_writes(tmp_path):
    written = write_sample_data(tmp_path)
    assert set(written) == {"segy", "labels"}
    shipped = sorted(p.name for p in SAMPLE_DIR.iterdir() if p.suffix in (".sgy", ".npy"))
    assert shipped == [f"{SAMPLE_DATA_NAME}.sgy", f"{SAMPLE_DATA_NAME}_labels.npy"]
    new_segy, old_segy = written["segy"], SAMPLE_DIR / written["segy"].name
    new_labels, old_labels = written["labels"], SAMPLE_DIR / written["labels"].name
    if new_segy.read_bytes() != old_segy.read_bytes():
        # Bit-identical on the machine that wrote them; elsewhere libm / FFT builds may differ
        # in the last bits, so then compare the headers exactly and the amplitudes closely.
        with segyio.open(str(new_segy)) as a, segyio.open(str(old_segy)) as b:
            assert a.text[0] == b.text[0] and a.bin == b.bin
            assert all(a.header[i] == b.header[i] for i in range(a.tracecount))
            np.testing.assert_allclose(segyio.tools.cube(a), segyio.tools.cube(b), atol=1e-4)
    la, lb = np.load(new_labels), np.load(old_labels)
    assert la.dtype == lb.dtype == np.uint8 and la.shape == lb.shape
    assert np.mean(la != lb) <= 1e-4
    assert "napari-forgetting synthetic --sample --out sample_data" in (
        SAMPLE_DIR / "README.md"
    ).read_text(encoding="utf-8")
