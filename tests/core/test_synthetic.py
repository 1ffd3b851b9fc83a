"""Tests of the F3-like synthetic benchmark (napari_forgetting.data.synthetic)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import segyio

from napari_forgetting.data.classes import F3_CLASS_NAMES
from napari_forgetting.data.synthetic import (
    F3_DURATION_MS,
    F3_PROPORTIONS,
    SAMPLE_DATA_NAME,
    SyntheticSurvey,
    benchmark_shapes,
    make_f3_benchmark,
    make_f3_like,
    write_benchmark,
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
    dt = round(F3_DURATION_MS / DEFAULT[2], 3)  # 128 samples over F3's 1020 ms, in whole us
    np.testing.assert_allclose(s.samples, np.arange(DEFAULT[2]) * dt)
    assert s.class_names == F3_CLASS_NAMES
    assert s.seed == 0 and s.shape == DEFAULT and s.sample_interval == pytest.approx(dt)
    assert make_f3_like(SMALL, sample_interval=4.0).sample_interval == 4.0
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


@pytest.mark.parametrize("shape", [(8, 16, 32), (32, 64, 64), (64, 96, 128), (40, 70, 255)])
def test_training_proportions_within_35_percent_of_f3_for_every_class(shape):
    f3 = np.asarray(F3_PROPORTIONS)
    assert f3 == pytest.approx([0.285, 0.119, 0.484, 0.065, 0.032, 0.015])
    for seed in range(3):
        for p in (
            make_f3_like(shape, seed=seed).class_proportions(),
            make_f3_benchmark(shape, seed=seed).train.class_proportions(),
        ):
            assert p.sum() == pytest.approx(1.0)
            assert np.all(np.abs(p / f3 - 1) <= 0.35), (shape, seed, np.round(p, 4))


def test_fewer_samples_are_a_coarser_sampling_of_the_same_section():
    fine = make_f3_like((6, 10, 192), seed=7, noise=0.0)
    coarse = make_f3_like((6, 10, 64), seed=7, noise=0.0)
    # the centre of coarse sample k is the centre of fine sample 3k + 1: same geology
    np.testing.assert_array_equal(coarse.labels, fine.labels[..., 1::3])
    assert coarse.samples[-1] + coarse.sample_interval == pytest.approx(F3_DURATION_MS, rel=1e-4)
    # and the same seismic, sampled three times coarser (box-averaged)
    box = fine.seismic.reshape(6, 10, 64, 3).mean(-1)
    r = np.corrcoef(box.ravel(), coarse.seismic.ravel())[0, 1]
    assert r > 0.9


def test_no_single_amplitude_cue_for_scruff():
    """Scruff's amplitude is neither the brightest nor the dullest of the classes, and the
    chalk/Scruff boundary is often no reflector at all: Scruff is told by its texture and its
    place between chalk and salt together (README, "The F3-like benchmark")."""
    for shape in [(48, 96, 64), (64, 96, 128)]:
        s = make_f3_like(shape, seed=1)
        x, lab = s.seismic, s.labels
        rms = np.array([np.sqrt(np.mean(x[lab == k] ** 2)) for k in range(6)])
        others = np.delete(rms, SCRUFF)
        assert others.min() < rms[SCRUFF] < others.max(), np.round(rms, 2)
        weak = []  # the largest |amplitude| around each trace's chalk -> Scruff boundary
        for i in range(0, shape[0], 2):
            for j in range(0, shape[1], 2):
                at = np.flatnonzero((lab[i, j, :-1] == 3) & (lab[i, j, 1:] == SCRUFF))
                if len(at):
                    k = at[0]
                    weak.append(np.abs(x[i, j, max(0, k - 1) : k + 3]).max() < 1.0)
        assert len(weak) > 50 and np.mean(weak) > 0.3


def test_benchmark_layout_is_one_geology_cut_three_ways(tmp_path):
    shapes = benchmark_shapes((401, 701, 255))
    assert shapes == {"train": (401, 701, 255), "test1": (200, 701, 255),
                      "test2": (601, 200, 255)}  # fmt: skip
    b = make_f3_benchmark((24, 40, 32), seed=2)
    t1, t2 = benchmark_shapes((24, 40, 32))["test1"], benchmark_shapes((24, 40, 32))["test2"]
    assert b.train.shape == (24, 40, 32) and b.test1.shape == t1 and b.test2.shape == t2
    # line numbers continue across the cuts
    np.testing.assert_array_equal(b.test1.inlines, b.train.inlines[-1] + 1 + np.arange(t1[0]))
    np.testing.assert_array_equal(b.test1.crosslines, b.train.crosslines)
    np.testing.assert_array_equal(b.test2.inlines[:24], b.train.inlines)
    np.testing.assert_array_equal(b.test2.crosslines, b.train.crosslines[-1] + 1 + np.arange(t2[1]))
    # one geology: the test2 corner over the training inlines is the survey's continuation
    whole = make_f3_like((24 + t1[0], 40 + t2[1], 32), seed=2, calibrate=(24, 40))
    np.testing.assert_array_equal(b.test2.labels, whole.labels[:, 40:])
    np.testing.assert_array_equal(b.test1.seismic, whole.seismic[24:, :40])
    paths = write_benchmark(b, tmp_path / "f3")
    assert sorted(str(p.relative_to(tmp_path / "f3")) for p in paths.values()) == [
        "test_once/test1_labels.npy", "test_once/test1_seismic.npy",
        "test_once/test2_labels.npy", "test_once/test2_seismic.npy",
        "train/train_labels.npy", "train/train_seismic.npy",
    ]  # fmt: skip
    np.testing.assert_array_equal(np.load(paths["test2_labels"]), b.test2.labels)
    assert np.load(paths["train_seismic"]).dtype == np.float32


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
