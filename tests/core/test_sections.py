"""Tests of napari_forgetting.data.sections: identity, reading, coordinates, split, patches."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_forgetting.data import open_volume
from napari_forgetting.data.sections import (
    PatchSampler,
    Section,
    all_sections,
    amplitude_stats,
    normalize,
    pad_patch,
    paper_split,
    read_sections,
    scatter_sections,
    section_image,
    section_labels,
    sections_for,
    volume_to_section_coords,
)

SHAPE = (11, 12, 7)


def _ramp(shape=SHAPE) -> np.ndarray:
    """Voxel value encodes its index: il*10000 + xl*100 + sample."""
    il, xl, s = np.indices(shape)
    return (il * 10000 + xl * 100 + s).astype(np.float32)


# ---------------------------------------------------------------------- paper split


def test_paper_split_indices_counts_no_overlap():
    split = paper_split(SHAPE)
    assert split.indices("validation", "inline").tolist() == [0, 5, 10]
    assert split.indices("validation", "crossline").tolist() == [0, 5, 10]
    assert split.indices("train", "inline").tolist() == [1, 2, 3, 4, 6, 7, 8, 9]
    assert split.indices("train", "crossline").tolist() == [1, 2, 3, 4, 6, 7, 8, 9, 11]
    assert not {s.key for s in split.train} & {s.key for s in split.validation}
    assert len(split.train) + len(split.validation) == SHAPE[0] + SHAPE[1]
    assert {s.key for s in split.train} | {s.key for s in split.validation} == {
        s.key for s in all_sections(SHAPE)
    }
    assert split.train_masks is None
    assert all(s.shape == (7, 12) for s in split.train if s.kind == "inline")
    assert all(s.shape == (7, 11) for s in split.train if s.kind == "crossline")


def test_paper_split_validation_trace_masks():
    split = paper_split(SHAPE, exclude_validation_traces=True)
    assert len(split.train_masks) == len(split.train)
    val_inlines = {s.index for s in split.validation if s.kind == "inline"}
    val_crosslines = {s.index for s in split.validation if s.kind == "crossline"}
    for sec, mask in zip(split.train, split.train_masks, strict=True):
        assert mask.shape == sec.shape and mask.dtype == bool
        # a training section's column is a trace of the section that crosses it there
        crossing = val_crosslines if sec.kind == "inline" else val_inlines
        expected = np.zeros(sec.shape, bool)
        expected[:, sorted(crossing)] = True
        np.testing.assert_array_equal(mask, expected)
        assert mask.any()  # every training section crosses validation traces
    with pytest.raises(ValueError):
        paper_split(SHAPE, every=1)


# ---------------------------------------------------------------------- identity and reading


def test_section_image_depth_down_and_labels(tiny_survey):
    sv = tiny_survey
    n_il, n_xl, n_s = sv.shape
    il = sections_for("inline", [2], sv)[0]
    xl = sections_for("crossline", [5], sv)[0]
    assert il.shape == (n_s, n_xl) and xl.shape == (n_s, n_il)
    img = section_image(sv, il)
    assert img.dtype == np.float32 and img.shape == il.shape
    np.testing.assert_array_equal(img, sv.seismic[2].T)
    np.testing.assert_array_equal(section_image(sv, xl), sv.seismic[:, 5].T)
    lab = section_labels(sv, xl)
    assert lab.dtype == np.uint8
    np.testing.assert_array_equal(lab, sv.labels[:, 5].T)
    # bare arrays work; depth-down: labels are non-decreasing down every column
    np.testing.assert_array_equal(section_labels(sv.labels, il), sv.labels[2].T)
    assert (np.diff(section_labels(sv, il).astype(int), axis=0) >= 0).all()
    with pytest.raises(ValueError):
        section_image(np.zeros((3, 3, 3), np.float32), il)


def test_keys_use_header_numbers_and_round_trip(tiny_survey):
    sv = tiny_survey
    il = sections_for("inline", [3], sv)[0]
    xl = sections_for("crossline", [-1], sv)[0]
    assert il.key == f"inline:{int(sv.inlines[3])}"
    assert xl.index == sv.shape[1] - 1 and xl.key == f"crossline:{int(sv.crosslines[-1])}"
    assert int(sv.inlines[3]) != 3  # header numbers, not indices
    for sec in all_sections(sv):
        assert Section.from_key(sec.key, sv) == sec
    assert Section.from_key("inline:4", SHAPE) == Section("inline", 4, 4, (7, 12))
    with pytest.raises(KeyError):
        Section.from_key("inline:999999", sv)
    with pytest.raises(ValueError):
        Section.from_key("timeslice:3", sv)


def test_open_volume_section_matches(tmp_path, tiny_survey):
    sv = tiny_survey
    np.save(tmp_path / "t_seismic.npy", sv.seismic)
    np.save(tmp_path / "t_labels.npy", sv.labels)
    vol = open_volume(tmp_path / "t_seismic.npy")
    il, xl = sections_for("inline", [4], vol)[0], sections_for("crossline", [7], vol)[0]
    np.testing.assert_array_equal(section_image(vol, il), sv.seismic[4].T)
    np.testing.assert_array_equal(section_labels(vol, xl), sv.labels[:, 7].T)


def _counting_lazy(base: np.ndarray) -> tuple[da.Array, list[tuple]]:
    """``base`` as a dask array of (1, 4, 7) chunks that records each chunk it computes."""
    seen: list[tuple] = []

    def count(block, block_info=None):
        if block_info is not None and 0 in block_info:
            seen.append(tuple(map(tuple, block_info[0]["array-location"])))
        return block

    lazy = da.from_array(base, chunks=(1, 4, 7)).map_blocks(
        count, dtype=np.float32, meta=np.empty((0, 0, 0), np.float32)
    )
    return lazy, seen


def test_only_needed_chunks_computed():
    base = _ramp()
    lazy, seen = _counting_lazy(base)
    il = sections_for("inline", [3], SHAPE)[0]
    np.testing.assert_array_equal(section_image(lazy, il), base[3].T)
    assert len(seen) == 3 and all(loc[0] == (3, 4) for loc in seen)  # 3 chunks of inline 3
    seen.clear()
    xl = sections_for("crossline", [5], SHAPE)[0]
    np.testing.assert_array_equal(section_image(lazy, xl), base[:, 5].T)
    assert len(seen) == SHAPE[0] and all(loc[1] == (4, 8) for loc in seen)
    seen.clear()
    amplitude_stats(lazy, n_sections=2)
    assert {loc[0] for loc in seen} == {(0, 1), (10, 11)}


def test_read_sections_one_compute_each_chunk_once_and_store_preload():
    from napari_forgetting.data.section_cache import SectionStore

    base = _ramp()
    labels = (base.astype(np.int64) % 6).astype(np.uint8)
    lazy, seen = _counting_lazy(base)
    secs = all_sections(SHAPE)
    got = read_sections(lazy, secs)
    for sec, img in zip(secs, got, strict=True):
        np.testing.assert_array_equal(img, section_image(base, sec))
        assert img.dtype == np.float32 and img.flags.c_contiguous
    n_chunks = SHAPE[0] * 3
    assert sorted(seen) == sorted(set(seen)) and len(seen) == n_chunks  # every chunk read once
    lab = read_sections(labels, secs[:3], labels=True)
    np.testing.assert_array_equal(lab[2], section_labels(labels, secs[2]))
    assert lab[0].dtype == np.uint8

    stats = (3.0, 2.0)
    lazy_store = SectionStore(lazy, labels, stats)
    plain_store = SectionStore(base, labels, stats)
    seen.clear()
    one_section = 4 * max(s.shape[0] * s.shape[1] for s in secs)
    assert lazy_store.preload(secs + secs[:2], max_bytes=3 * one_section) == len(secs)
    assert seen  # read now ...
    seen.clear()
    for sec in secs:
        for a, b in zip(lazy_store.get(sec), plain_store.get(sec), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not seen  # ... and never again
    assert lazy_store.preload(secs) == 0
    with pytest.raises(ValueError, match="does not belong"):
        read_sections(base, [Section("inline", 99, 99, (7, 12))])


def test_a_whole_volume_store_holds_each_voxel_once_and_gives_every_section():
    """whole_volume: one image and one label array of the volume's shape, read once; every
    inline and crossline a view of them, equal to what the per-section store gives."""
    from napari_forgetting.data.section_cache import SectionStore

    base = _ramp()
    labels = (base.astype(np.int64) % 6).astype(np.uint8)
    lazy, seen = _counting_lazy(base)
    stats = (3.0, 2.0)
    whole = SectionStore(lazy, labels, stats, whole_volume=True)
    per_section = SectionStore(base, labels, stats)
    secs = all_sections(SHAPE)
    assert whole.preload(secs[:1]) == SHAPE[0]  # the whole volume, by inlines
    assert sorted(seen) == sorted(set(seen)) and len(seen) == SHAPE[0] * 3  # each chunk once
    seen.clear()
    image, lab = whole.volume
    assert image.shape == lab.shape == SHAPE and image.dtype == np.float32
    for sec in secs:
        img, lb = whole.get(sec)
        assert np.shares_memory(img, image) and np.shares_memory(lb, lab)  # views
        for a, b in zip((img, lb), per_section.get(sec), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not seen and whole.preload(secs) == 0  # never read again
    whole.clear()
    assert whole.volume is None
    np.testing.assert_array_equal(whole.get(secs[-1])[0], per_section.get(secs[-1])[0])


# ---------------------------------------------------------------------- coordinates


def test_volume_to_section_coords_and_scatter():
    vol = _ramp()
    il = sections_for("inline", [6], SHAPE)[0]
    xl = sections_for("crossline", [2], SHAPE)[0]
    # hand-made: voxel (inline 6, crossline 9, sample 4) is inline 6's row 4, col 9
    assert [int(a) for a in volume_to_section_coords(il, 6, 9, 4)] == [4, 9]
    assert [int(a) for a in volume_to_section_coords(xl, 9, 2, 4)] == [4, 9]
    for sec in (il, xl):
        image = section_image(vol, sec)
        on = vol[sec.index] if sec.kind == "inline" else vol[:, sec.index]  # (cols, samples)
        c, r = np.indices(on.shape)
        inline = np.full(r.shape, sec.index) if sec.kind == "inline" else c
        crossline = c if sec.kind == "inline" else np.full(r.shape, sec.index)
        rr, cc = volume_to_section_coords(sec, inline, crossline, r)
        np.testing.assert_array_equal(image[rr, cc], on)
    with pytest.raises(ValueError):
        volume_to_section_coords(il, 5, 0, 0)
    rr, cc = volume_to_section_coords(il, [6, 5], [1, 1], [2, 2], strict=False)
    assert rr.tolist() == [2, -1] and cc.tolist() == [1, -1]
    with pytest.raises(IndexError):
        volume_to_section_coords(il, 6, 0, 7)

    m_il = np.arange(7 * 12, dtype=np.float32).reshape(7, 12) + 1
    m_xl = -np.arange(7 * 11, dtype=np.float32).reshape(7, 11) - 1
    out = scatter_sections([il, xl], [m_il, m_xl], SHAPE, fill=np.nan)
    assert out.shape == SHAPE and out.dtype == np.float32
    assert out[6, 9, 4] == m_il[4, 9]
    assert out[9, 2, 4] == m_xl[4, 9]
    assert out[6, 2, 3] == m_xl[3, 6]  # crossing trace: the later section (crossline) wins
    assert scatter_sections([xl, il], [m_xl, m_il], SHAPE)[6, 2, 3] == m_il[3, 2]
    mask = np.zeros(SHAPE, bool)
    mask[6], mask[:, 2] = True, True
    assert mask.sum() == 7 * 12 + 7 * 11 - 7
    assert np.isfinite(out[mask]).all() and np.isnan(out[~mask]).all()
    assert scatter_sections([il], [m_il.astype(np.uint8)], SHAPE, fill=np.nan).dtype.kind == "f"
    # in place: voxels on no section keep what they held
    into = np.full(SHAPE, -5.0, np.float32)
    assert scatter_sections([il, xl], [m_il, m_xl], SHAPE, out=into) is into
    np.testing.assert_array_equal(into[mask], out[mask])
    assert (into[~mask] == -5.0).all()


# ---------------------------------------------------------------------- normalisation


def test_amplitude_stats_close_to_truth():
    from napari_forgetting.data.synthetic import make_f3_like

    sv = make_f3_like((16, 24, 48), seed=1)
    mean, std = amplitude_stats(sv, n_sections=8)
    true_mean, true_std = float(sv.seismic.mean()), float(sv.seismic.std())
    assert abs(mean - true_mean) < 0.1 * true_std
    assert abs(std - true_std) < 0.1 * true_std
    n = normalize(sv.seismic[3].T, (mean, std))
    assert n.dtype == np.float32
    np.testing.assert_allclose(n, (sv.seismic[3].T - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(normalize(np.ones((2, 2)), (1.0, 0.0)), np.zeros((2, 2)))


# ---------------------------------------------------------------------- patches


def test_patch_sampler_deterministic_inside_and_resumable():
    secs = paper_split(SHAPE).train
    a = PatchSampler(secs, SHAPE, patch_size=(4, 5), seed=7)
    b = PatchSampler(secs, SHAPE, patch_size=(4, 5), seed=7)
    draws = list(a.iter_epoch(200))
    assert draws == list(b.iter_epoch(200))
    assert draws != list(PatchSampler(secs, SHAPE, (4, 5), seed=8).iter_epoch(200))
    for k, r, c in draws:
        rows, cols = secs[k].shape
        assert 0 <= r and r + 4 <= rows and 0 <= c and c + 5 <= cols
    assert len({k for k, _, _ in draws}) == len(secs)

    # resume mid-epoch: state after 30 draws continues identically
    c1 = PatchSampler(secs, SHAPE, (4, 5), seed=3)
    it = c1.iter_epoch(50)
    first = [next(it) for _ in range(30)]
    state = c1.state_dict()
    rest = list(it)
    c2 = PatchSampler(secs, SHAPE, (4, 5), seed=999)
    c2.load_state_dict(state)
    assert list(c2.iter_epoch(20)) == rest and c2.n_drawn == 50
    assert first + rest == list(PatchSampler(secs, SHAPE, (4, 5), seed=3).iter_epoch(50))
    with pytest.raises(ValueError):
        PatchSampler(secs, SHAPE, (4, 6), seed=3).load_state_dict(state)


def test_patch_sampler_small_sections_padded():
    secs = all_sections(SHAPE)  # sections are 7 rows tall
    s = PatchSampler(secs, SHAPE, patch_size=(16, 8), seed=0)
    vol = _ramp()
    for k, r, c in s.iter_epoch(50):
        h, w = s.patch_shape(k)
        assert (h, w) == (7, 8) and r == 0 and c + w <= secs[k].shape[1]
        win = section_image(vol, secs[k])[r : r + h, c : c + w]
        padded = pad_patch(win, (16, 8), value=0)
        assert padded.shape == (16, 8) and (padded[7:] == 0).all()
        np.testing.assert_array_equal(padded[:7], win)
