"""open_volume: one lazy SeismicVolume for SEG-Y, F3 .npy pairs and zarr; honest errors."""

import dask
import numpy as np
import pytest
import segyio
import zarr

from napari_forgetting.data import VolumeError, find_labels, open_volume, segy, write_segy
from napari_forgetting.data import volume as volume_mod
from napari_forgetting.data.synthetic import write_survey
from napari_forgetting.data.volume import NpyFile


def test_f3_crop_matches_segyio_and_has_header_numbers(segyio_dir):
    vol = open_volume(segyio_dir / "f3.sgy")
    assert vol.shape == (23, 18, 75)
    np.testing.assert_array_equal(vol.inlines, np.arange(111, 134))
    np.testing.assert_array_equal(vol.crosslines, np.arange(875, 893))
    with segyio.open(segyio_dir / "f3.sgy") as f:
        expected = segyio.tools.cube(f)
        np.testing.assert_array_equal(vol.samples, f.samples)
    np.testing.assert_array_equal(vol.data.compute(), expected)
    lsb = open_volume(segyio_dir / "f3-lsb.sgy")
    np.testing.assert_array_equal(lsb.data.compute(), expected)
    assert vol.labels is None and vol.source["format"] == "segy"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken.sgy", ["broken.sgy", "truncated"]),
        ("text.sgy", ["text.sgy", "no traces"]),
        ("long.sgy", ["long.sgy", "geometry"]),
        ("small-ps.sgy", ["small-ps.sgy", "pre-stack", "2 offsets"]),
    ],
)
def test_broken_shared_files_give_one_clear_error(segyio_dir, name, words):
    with pytest.raises(VolumeError) as err:
        open_volume(segyio_dir / name)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("truncated", ["truncated.sgy", "truncated"]),
        ("header_only", ["header_only.sgy", "no traces"]),
        ("no_geometry", ["no_geometry.sgy", "geometry"]),
        ("prestack", ["prestack.sgy", "pre-stack", "2 offsets"]),
    ],
)
def test_broken_files_give_one_clear_error(segy_cases, name, words):
    with pytest.raises(VolumeError) as err:
        open_volume(segy_cases[name])
    for word in words:
        assert word in str(err.value)


def test_segyio_written_file_opens_with_header_numbers(segy_cases):
    vol = open_volume(segy_cases["crossline"])
    assert vol.shape == segy_cases.cube.shape
    np.testing.assert_array_equal(vol.inlines, segy_cases.inlines)
    np.testing.assert_array_equal(vol.crosslines, segy_cases.crosslines)
    np.testing.assert_array_equal(vol.data.compute(), segy_cases.cube)
    assert vol.labels is None and vol.source["format"] == "segy"


def test_missing_path_and_unknown_extension(tmp_path):
    with pytest.raises(VolumeError, match="does not exist"):
        open_volume(tmp_path / "nope.sgy")
    odd = tmp_path / "cube.tif"
    odd.write_bytes(b"x")
    with pytest.raises(VolumeError, match=r"cube\.tif.*unknown file type"):
        open_volume(odd)


def test_f3_benchmark_npy_pair_opens_memory_mapped_with_labels(tmp_path, tiny_survey):
    paths = write_survey(tiny_survey, tmp_path, name="train", formats=("npy",))
    assert paths["seismic"].name == "train_seismic.npy"
    assert find_labels(paths["seismic"]) == paths["labels"]
    vol = open_volume(paths["seismic"])
    assert vol.source["labels_path"] == str(paths["labels"])
    np.testing.assert_array_equal(vol.data.compute(), tiny_survey.seismic)
    np.testing.assert_array_equal(vol.labels.compute(), tiny_survey.labels)
    assert vol.class_names[4] == "scruff"
    # not loaded: the graph holds the file, read by inlines when computed
    leaves = [v for v in dict(vol.source["_raw"].dask).values() if isinstance(v, NpyFile)]
    assert leaves and not [
        v for v in dict(vol.source["_raw"].dask).values() if isinstance(v, np.ndarray)
    ]


def test_an_npy_file_is_read_by_the_inlines_asked_for_without_a_memory_map(tmp_path, monkeypatch):
    """Slabs of whole inlines by plain file reads (a memory map's touched pages would stay
    in the process's resident memory); any index gives what numpy gives."""
    cube = np.arange(7 * 3 * 4, dtype=">f4").reshape(7, 3, 4)  # big-endian kept
    np.save(tmp_path / "c.npy", cube)
    f = volume_mod._npy_array(tmp_path / "c.npy")
    assert isinstance(f, NpyFile) and (f.shape, f.dtype) == (cube.shape, cube.dtype)
    reads = []
    real = NpyFile._read
    monkeypatch.setattr(
        NpyFile, "_read", lambda self, lo, hi: reads.append((lo, hi)) or real(self, lo, hi)
    )
    keys = [slice(None), slice(2, 5), slice(5, 2, -1), slice(None, None, -2), slice(6, None, -3),
            slice(1, 1), slice(0, 100, 2), slice(10, 20), 3, -1, (slice(1, 4), slice(0, 2), 1),
            (2, 1, slice(None)), slice(-3, None), (slice(None), 2)]  # fmt: skip
    for key in keys:
        got = f[key]
        assert got.shape == cube[key].shape and got.dtype == cube.dtype, key
        np.testing.assert_array_equal(got, cube[key])
    assert reads[1] == (2, 5) and reads[2] == (3, 6) and reads[8] == (3, 4)  # only those
    with pytest.raises(IndexError):
        f[7]
    # Fortran order (rare) stays a read-only memory map
    np.save(tmp_path / "f.npy", np.asfortranarray(cube))
    assert isinstance(volume_mod._npy_array(tmp_path / "f.npy"), np.memmap)


def test_labels_given_separately_as_path_or_array(tmp_path, tiny_survey):
    paths = write_survey(tiny_survey, tmp_path, name="cube", formats=("segy",))
    other = tmp_path / "elsewhere.npy"
    np.save(other, tiny_survey.labels)
    vol = open_volume(paths["segy"], labels=other)
    np.testing.assert_array_equal(vol.labels.compute(), tiny_survey.labels)
    vol = open_volume(paths["segy"], labels=tiny_survey.labels.astype(np.int64))
    assert vol.labels.dtype == np.uint8
    np.testing.assert_array_equal(vol.labels.compute(), tiny_survey.labels)
    assert open_volume(paths["segy"], find_labels_beside=False).labels is None


def test_labels_of_another_shape_are_refused(tmp_path, tiny_survey):
    paths = write_survey(tiny_survey, tmp_path, name="cube", formats=("segy",))
    bad = tmp_path / "bad_labels.npy"
    np.save(bad, tiny_survey.labels[:, :-1])
    with pytest.raises(VolumeError, match=r"bad_labels\.npy.*labels shape .* differs"):
        open_volume(paths["segy"], labels=bad)


def test_label_values_outside_the_classes_are_refused(tmp_path, tiny_survey):
    paths = write_survey(tiny_survey, tmp_path, name="cube", formats=("segy",))
    labels = tiny_survey.labels.copy()
    labels[0, 0, 0] = 6
    with pytest.raises(VolumeError, match=r"outside the class ids 0\.\.5"):
        open_volume(paths["segy"], labels=labels)
    labels[0, 0, 0] = 0
    labels = labels.astype(np.int16)
    labels[1, 1, 1] = -1
    with pytest.raises(VolumeError, match="-1"):
        open_volume(paths["segy"], labels=labels)
    # another class count is a choice, not an error
    vol = open_volume(
        paths["segy"],
        labels=tiny_survey.labels,
        n_classes=7,
        class_names=[f"c{k}" for k in range(7)],
    )
    assert vol.n_classes == 7


def test_nonfinite_amplitudes_are_raised_or_masked_never_silent(tmp_path, tiny_survey):
    cube = tiny_survey.seismic.copy()
    cube[2, 3, 4] = np.nan
    cube[5, 0, 0] = np.inf
    path = tmp_path / "nan_seismic.npy"
    np.save(path, cube)
    one_inline_mb = cube[0].nbytes / 2**20
    vol = open_volume(path, find_labels_beside=False, chunk_mb=one_inline_mb)  # lazy: no error yet
    assert vol.count_nonfinite() == 2
    vol.data[0].compute()  # a clean chunk is fine
    with pytest.raises(
        VolumeError,
        match=r"nan_seismic\.npy: 1 non-finite .* inline index (2\.\.2|5\.\.5), crossline",
    ):
        vol.data.compute(scheduler="synchronous")
    masked = open_volume(path, nonfinite="mask", find_labels_beside=False)
    with pytest.warns(UserWarning, match="replaced with 0"):
        out = masked.data.compute()
    assert np.isfinite(out).all() and out[2, 3, 4] == 0 and out[5, 0, 0] == 0
    finite = np.isfinite(cube)
    np.testing.assert_array_equal(out[finite], cube[finite])


def test_zarr_group_with_geometry_and_labels(tmp_path, tiny_survey):
    store = tmp_path / "run.zarr"
    group = zarr.open_group(str(store), mode="w")
    group.create_array("seismic", data=tiny_survey.seismic, chunks=(2, 16, 32))
    group.create_array("labels", data=tiny_survey.labels)
    group.attrs.update(
        inlines=tiny_survey.inlines.tolist(),
        crosslines=tiny_survey.crosslines.tolist(),
        samples=tiny_survey.samples.tolist(),
    )
    vol = open_volume(store)
    assert vol.source["format"] == "zarr"
    np.testing.assert_array_equal(vol.inlines, tiny_survey.inlines)
    np.testing.assert_array_equal(vol.samples, tiny_survey.samples)
    np.testing.assert_array_equal(vol.data.compute(), tiny_survey.seismic)
    np.testing.assert_array_equal(vol.labels.compute(), tiny_survey.labels)
    plain = tmp_path / "plain.zarr"
    zarr.save_array(str(plain), tiny_survey.seismic)
    assert open_volume(plain).shape == tiny_survey.shape
    bad = zarr.open_group(str(tmp_path / "empty.zarr"), mode="w")
    bad.create_array("other", data=np.zeros((2, 2, 2)))
    with pytest.raises(VolumeError, match=r"empty\.zarr.*none of the arrays"):
        open_volume(tmp_path / "empty.zarr")


def test_opening_reads_no_traces_and_one_inline_reads_about_one_inline(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    cube = rng.standard_normal((12, 9, 20)).astype(np.float32)
    path = tmp_path / "lazy.sgy"
    write_segy(path, cube)
    reads = []
    real = segy._read_traces

    def counting(path, start, stop, endian):
        reads.append(stop - start)
        return real(path, start, stop, endian)

    monkeypatch.setattr(segy, "_read_traces", counting)
    vol = open_volume(path, chunk_mb=9 * 20 * 4 / 2**20)  # one inline per chunk
    assert reads == []
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(vol.data[5].compute(), cube[5])
    assert sum(reads) == 9  # exactly the 9 traces of one inline


def test_contrast_limits_come_from_a_few_sections_only(tmp_path, monkeypatch):
    cube = np.random.default_rng(1).standard_normal((30, 8, 16)).astype(np.float32)
    path = tmp_path / "cl.sgy"
    write_segy(path, cube)
    reads = []
    real = segy._read_traces
    monkeypatch.setattr(
        segy, "_read_traces", lambda p, a, b, e: reads.append(b - a) or real(p, a, b, e)
    )
    vol = open_volume(path, chunk_mb=8 * 16 * 4 / 2**20)
    lo, hi = vol.estimate_contrast_limits(n_sections=3)
    assert lo == -hi and 1.5 < hi < 4.5
    assert sum(reads) == 3 * 8
