"""Tests for napari_forgetting.data.segy: lazy SEG-Y reading and atomic writing."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import segyio

from napari_forgetting.data import segy
from napari_forgetting.data.errors import VolumeError
from napari_forgetting.data.segy import SegyCube, open_segy, write_segy

SHARED = Path(__file__).parents[1].parent / "shared" / "data" / "segyio"
INLINES = np.arange(100, 107)  # 7 inlines, step 1
CROSSLINES = np.arange(2000, 2010, 2)  # 5 crosslines, step 2
N_SAMPLES = 11


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared segyio test data not available ({path} is absent)")
    return path


def segyio_cube(path, endian="big") -> np.ndarray:
    """segyio's own full read, as (inline, crossline, sample) float32."""
    with segyio.open(path, endian=endian) as f:
        cube = segyio.tools.cube(f)
        if f.sorting == segyio.TraceSortingFormat.CROSSLINE_SORTING:
            cube = cube.transpose(1, 0, 2)
    return np.asarray(cube, dtype=np.float32)


@pytest.fixture(scope="module")
def cube_values() -> np.ndarray:
    rng = np.random.default_rng(42)
    return (rng.standard_normal((len(INLINES), len(CROSSLINES), N_SAMPLES)) * 300).astype(
        np.float32
    )


class Counter:
    """Stands in for segy._read_traces and counts the traces it reads."""

    def __init__(self):
        self.traces = 0
        self.calls = 0
        self._real = segy._read_traces

    def __call__(self, path, start, stop, endian):
        self.calls += 1
        self.traces += stop - start
        return self._real(path, start, stop, endian)


@pytest.fixture
def counter(monkeypatch) -> Counter:
    c = Counter()
    monkeypatch.setattr(segy, "_read_traces", c)
    return c


# --- real files written by other software -----------------------------------------------------


def test_f3_matches_segyio():
    path = shared("f3.sgy")
    cube = open_segy(path)
    assert isinstance(cube, SegyCube)
    assert cube.data.shape == (23, 18, 75)
    assert cube.data.dtype == np.float32
    np.testing.assert_array_equal(cube.inlines, np.arange(111, 134))
    np.testing.assert_array_equal(cube.crosslines, np.arange(875, 893))
    assert len(cube.samples) == 75 and np.allclose(np.diff(cube.samples), 4.0)
    assert cube.sample_interval == 4.0
    assert (cube.sorting, cube.endian, cube.sample_format) == ("inline", "big", "int16")
    np.testing.assert_array_equal(cube.data.compute(), segyio_cube(path))


@pytest.mark.parametrize("endian", [None, "little"])
def test_f3_little_endian_same_array(endian):
    big = open_segy(shared("f3.sgy")).data.compute()
    cube = open_segy(shared("f3-lsb.sgy"), endian=endian)
    assert cube.endian == "little"
    np.testing.assert_array_equal(cube.data.compute(), big)
    np.testing.assert_array_equal(cube.inlines, np.arange(111, 134))


def test_f3_little_endian_wrong_explicit_endian():
    with pytest.raises(VolumeError, match=r"f3-lsb\.sgy.*little-endian"):
        open_segy(shared("f3-lsb.sgy"), endian="big")


def test_small_ibm_matches_segyio():
    path = shared("small.sgy")
    cube = open_segy(path)
    assert cube.data.shape == (5, 5, 50)
    assert cube.sample_format == "ibm"
    np.testing.assert_array_equal(cube.inlines, np.arange(1, 6))
    np.testing.assert_array_equal(cube.crosslines, np.arange(20, 25))
    np.testing.assert_array_equal(cube.data.compute(), segyio_cube(path))


def test_tiny_matches_segyio():
    path = shared("tiny.sgy")
    cube = open_segy(path)
    assert cube.data.shape == (3, 2, 4)
    np.testing.assert_array_equal(cube.data.compute(), segyio_cube(path))


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken.sgy", ["truncated"]),
        ("text.sgy", ["no traces"]),
        ("long.sgy", ["geometry", "sorting", "189/193", "iline="]),
        ("small-ps.sgy", ["pre-stack", "2 offsets", "stack it"]),
        ("1x1.sgy", ["pre-stack", "4 offsets"]),
    ],
)
def test_broken_shared_files_raise_volume_error(name, words):
    path = shared(name)
    with pytest.raises(VolumeError) as info:
        open_segy(path)
    message = str(info.value)
    assert name in message
    for word in words:
        assert word in message
    assert info.value.path == str(path)


def test_missing_file(tmp_path):
    with pytest.raises(VolumeError, match="does not exist") as info:
        open_segy(tmp_path / "nope.sgy")
    assert "nope.sgy" in str(info.value)


def test_not_segy_files(tmp_path):
    short = tmp_path / "short.sgy"
    short.write_bytes(b"x" * 100)
    with pytest.raises(VolumeError, match=r"short\.sgy.*not a SEG-Y file"):
        open_segy(short)
    zeros = tmp_path / "zeros.sgy"
    zeros.write_bytes(bytes(5000))
    with pytest.raises(VolumeError, match=r"zeros\.sgy.*sample format code"):
        open_segy(zeros)


# --- round trips through write_segy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sorting", "endian", "fmt"),
    list(itertools.product(["inline", "crossline"], ["big", "little"], ["ibm", "ieee", "int16"])),
)
def test_round_trip(tmp_path, cube_values, sorting, endian, fmt):
    path = tmp_path / f"rt_{sorting}_{endian}_{fmt}.sgy"
    write_segy(
        path,
        cube_values,
        INLINES,
        CROSSLINES,
        2.0,
        sorting=sorting,
        endian=endian,
        sample_format=fmt,
        delay=100,
    )
    cube = open_segy(path)
    assert (cube.sorting, cube.endian, cube.sample_format) == (sorting, endian, fmt)
    np.testing.assert_array_equal(cube.inlines, INLINES)
    np.testing.assert_array_equal(cube.crosslines, CROSSLINES)
    np.testing.assert_allclose(cube.samples, 100 + 2.0 * np.arange(N_SAMPLES))
    assert cube.sample_interval == 2.0
    got = cube.data.compute()
    assert got.dtype == np.float32 and got.shape == cube_values.shape
    np.testing.assert_array_equal(got, segyio_cube(path, endian))
    if fmt == "int16":
        np.testing.assert_array_equal(got, np.rint(cube_values))
    else:  # IBM floats hold 24-bit hex-normalised mantissas: at most a few ulp off
        np.testing.assert_allclose(got, cube_values, rtol=1e-6 if fmt == "ibm" else 0)
    # Crossline-sorted files give the same array as inline-sorted ones.
    if sorting == "crossline":
        other = tmp_path / "inline.sgy"
        write_segy(other, cube_values, INLINES, CROSSLINES, 2.0, endian=endian, sample_format=fmt)
        np.testing.assert_array_equal(got, open_segy(other).data.compute())


def test_write_headers_and_trace_order(tmp_path, cube_values):
    path = tmp_path / "x.sgy"
    write_segy(path, cube_values, INLINES, CROSSLINES, sorting="crossline")
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.tracecount == len(INLINES) * len(CROSSLINES)
        h = f.header[1]
        assert h[segyio.TraceField.INLINE_3D] == INLINES[1]  # inline varies fastest
        assert h[segyio.TraceField.CROSSLINE_3D] == CROSSLINES[0]
        assert h[segyio.TraceField.TRACE_SAMPLE_COUNT] == N_SAMPLES
        assert h[segyio.TraceField.TRACE_SAMPLE_INTERVAL] == 4000
        assert f.bin[segyio.BinField.Interval] == 4000
        np.testing.assert_array_equal(f.trace[1], cube_values[1, 0])


def test_int16_rounds_and_clips(tmp_path):
    data = np.array([[[0.4, 0.6, -1.5, 1e6, -1e6, 32767.2]]], dtype=np.float64)
    path = tmp_path / "i16.sgy"
    write_segy(path, data, sample_format="int16")
    got = open_segy(path).data.compute()[0, 0]
    np.testing.assert_array_equal(got, [0, 1, -2, 32767, -32768, 32767])


def test_write_is_atomic_and_validates(tmp_path, cube_values):
    path = tmp_path / "a.sgy"
    write_segy(path, cube_values)
    before = path.read_bytes()
    bad = cube_values.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_segy(path, bad, sample_format="int16")
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["a.sgy"]  # no temporary left behind
    with pytest.raises(ValueError, match="3-D"):
        write_segy(path, cube_values[0])
    with pytest.raises(ValueError, match="inlines"):
        write_segy(path, cube_values, inlines=[1, 2])
    with pytest.raises(ValueError, match="sample_format"):
        write_segy(path, cube_values, sample_format="float16")


# --- laziness and chunking ----------------------------------------------------------------------


def test_open_reads_no_traces_and_one_inline_reads_one_inline(tmp_path, cube_values, counter):
    path = tmp_path / "lazy_il.sgy"
    write_segy(path, cube_values, INLINES, CROSSLINES)
    line_mb = len(CROSSLINES) * N_SAMPLES * 4 / 1e6
    cube = open_segy(path, chunk_mb=line_mb * 1.5)  # one inline per chunk
    assert counter.traces == 0
    assert cube.data.chunks[0] == (1,) * len(INLINES)
    assert cube.data.chunks[1:] == ((len(CROSSLINES),), (N_SAMPLES,))
    k = 3
    np.testing.assert_array_equal(cube.data[k].compute(), cube_values[k])
    assert counter.traces == len(CROSSLINES)
    assert counter.calls == 1


def test_one_crossline_of_crossline_sorted_reads_one_crossline(tmp_path, cube_values, counter):
    path = tmp_path / "lazy_xl.sgy"
    write_segy(path, cube_values, INLINES, CROSSLINES, sorting="crossline")
    line_mb = len(INLINES) * N_SAMPLES * 4 / 1e6
    cube = open_segy(path, chunk_mb=line_mb)
    assert counter.traces == 0
    assert cube.data.chunks[1] == (1,) * len(CROSSLINES)
    assert cube.data.chunks[0] == (len(INLINES),)
    k = 2
    np.testing.assert_array_equal(cube.data[:, k].compute(), cube_values[:, k])
    assert counter.traces == len(INLINES)


def test_chunks_hold_as_many_lines_as_fit(tmp_path, cube_values, counter):
    path = tmp_path / "blocks.sgy"
    write_segy(path, cube_values, INLINES, CROSSLINES)
    line_mb = len(CROSSLINES) * N_SAMPLES * 4 / 1e6
    cube = open_segy(path, chunk_mb=line_mb * 3)
    assert cube.data.chunks[0] == (3, 3, 1)
    np.testing.assert_array_equal(cube.data.compute(), cube_values)
    assert counter.traces == len(INLINES) * len(CROSSLINES)  # every trace read exactly once
    assert open_segy(path, chunk_mb=1e-9).data.chunks[0] == (1,) * len(INLINES)
    assert open_segy(path).data.chunks[0] == (len(INLINES),)


def test_irregular_trace_order_is_caught(tmp_path, cube_values):
    path = tmp_path / "swapped.sgy"
    write_segy(path, cube_values, INLINES, CROSSLINES)
    with segyio.open(path, "r+") as f:  # swap the headers of two traces inside inline 1
        h7, h8 = dict(f.header[7]), dict(f.header[8])
        f.header[7], f.header[8] = h8, h7
    cube = open_segy(path)
    with pytest.raises(VolumeError, match=r"swapped\.sgy.*irregular trace order"):
        cube.data.compute()


@pytest.mark.parametrize("which", ["last", "middle"])
def test_missing_trace_is_irregular_geometry(tmp_path, cube_values, which):
    full = tmp_path / "full.sgy"
    write_segy(full, cube_values, INLINES, CROSSLINES)
    raw = full.read_bytes()
    trace = 240 + N_SAMPLES * 4
    at = len(raw) - trace if which == "last" else 3600 + 12 * trace
    path = tmp_path / f"missing_{which}.sgy"
    path.write_bytes(raw[:at] + raw[at + trace :])  # a consistent file, one trace short
    with pytest.raises(VolumeError, match=r"missing_\w+\.sgy.*irregular geometry"):
        open_segy(path)


def test_bad_arguments(tmp_path, cube_values):
    path = tmp_path / "args.sgy"
    write_segy(path, cube_values)
    with pytest.raises(ValueError, match="iline=1000"):
        open_segy(path, iline=1000)
    with pytest.raises(ValueError, match="endian"):
        open_segy(path, endian="middle")
    with pytest.raises(ValueError, match="chunk_mb"):
        open_segy(path, chunk_mb=0)


# --- custom header bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("sorting", ["inline", "crossline"])
def test_custom_header_bytes(tmp_path, cube_values, sorting):
    path = tmp_path / f"bytes_{sorting}.sgy"
    write_segy(path, cube_values, INLINES, CROSSLINES, iline=9, xline=21, sorting=sorting)
    cube = open_segy(path, iline=9, xline=21)
    assert cube.sorting == sorting
    np.testing.assert_array_equal(cube.inlines, INLINES)
    np.testing.assert_array_equal(cube.crosslines, CROSSLINES)
    np.testing.assert_array_equal(cube.data.compute(), cube_values)
    with pytest.raises(VolumeError) as info:
        open_segy(path)
    message = str(info.value)
    assert path.name in message and "189/193" in message and "iline=" in message
