"""RunGeometry: a run's flat per-pixel arrays scattered into the volume and located back."""

from __future__ import annotations

import numpy as np
import pytest

from napari_forgetting.data.sections import paper_split, scatter_sections
from napari_forgetting.runs.geometry import RunGeometry


@pytest.fixture(scope="module")
def survey():
    from napari_forgetting.data.synthetic import make_f3_like

    return make_f3_like((8, 16, 32), seed=3)


def test_run_geometry_scatter_and_locate_agree_with_the_core(survey):
    split = paper_split(survey, 5)
    geo = RunGeometry(survey.seismic.shape, split.validation, split.validation)
    maps = [
        np.random.default_rng(k).integers(0, 9, s.shape) for k, s in enumerate(geo.map_sections)
    ]
    flat = np.concatenate([m.ravel() for m in maps]).astype(np.float32)
    out = np.full(survey.seismic.shape, np.nan, np.float32)
    geo.scatter(out, flat)
    np.testing.assert_array_equal(
        out, scatter_sections(geo.map_sections, maps, survey.seismic.shape, fill=np.nan)
    )
    k, row, col = geo.locate(0, 3, 12)
    assert geo.eval_sections[k].key == "inline:100" and (row, col) == (12, 3)
    assert geo.locate(1, 1, 12) is None and geo.locate(99, 0, 0) is None


def test_locate_prefers_the_viewed_kind_where_sections_cross(survey):
    split = paper_split(survey, 5)
    geo = RunGeometry(survey.seismic.shape, split.validation, split.validation)
    k_any = geo.locate(0, 5, 7)  # inline 0 crosses crossline 5: the last listed wins
    k_in = geo.locate(0, 5, 7, prefer="inline")
    k_x = geo.locate(0, 5, 7, prefer="crossline")
    assert geo.eval_sections[k_in[0]].kind == "inline" and k_in[1:] == (7, 5)
    assert geo.eval_sections[k_x[0]].kind == "crossline" and k_x[1:] == (7, 0)
    assert k_any in (k_in, k_x)
    assert geo.locate(1, 5, 7, prefer="inline")[0] == k_x[0]  # only a crossline there


def test_section_volume_is_each_kinds_sections_and_nothing_else(survey):
    """A SectionVolume equals the scatter of its kind's sections alone, for every index
    napari uses (one section, a slice across sections, 3-D), and swaps arrays in place."""
    from napari_forgetting.runs.geometry import SectionVolume

    shape = survey.seismic.shape
    split = paper_split(survey, 5)
    geo = RunGeometry(shape, split.validation, split.validation)
    rng = np.random.default_rng(0)
    low = {"inline": 1, "crossline": 5}  # inline maps hold 1..4, crossline maps 5..8
    maps = [rng.integers(low[s.kind], low[s.kind] + 4, s.shape).astype(np.float32)
            for s in geo.map_sections]  # fmt: skip
    flat = np.concatenate([m.ravel() for m in maps])
    for kind in ("inline", "crossline"):
        vol = SectionVolume(geo, "map", kind, np.float32, 0.0, flat)
        mine = [(s, m) for s, m in zip(geo.map_sections, maps, strict=True) if s.kind == kind]
        expected = scatter_sections(*zip(*mine, strict=True), shape, fill=0.0)
        assert vol.shape == shape and vol.ndim == 3 and vol.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(vol), expected)
        np.testing.assert_array_equal(vol[...], expected)
        keys = [(0,), (5, slice(None), slice(2, 9)), (slice(None), 5), (slice(1, 7), 3, 4),
                (-1, slice(None, None, 2)), (slice(None), slice(None), 12), (2, 3, 4)]  # fmt: skip
        for key in keys:
            np.testing.assert_array_equal(vol[key], expected[key], err_msg=f"{kind} {key}")
        # the sections of the other kind that cross these leave no value in them
        values = set(np.unique(np.asarray(vol))) - {0.0}
        assert values and values <= set(range(low[kind], low[kind] + 4))
        assert vol.indices == sorted(s.index for s, _ in mine)
        vol.update(flat * 2)
        np.testing.assert_array_equal(np.asarray(vol), expected * 2)
        vol.update(None)
        assert (np.asarray(vol) == 0).all()
    with pytest.raises(ValueError, match="values for"):
        vol.update(flat[:-1])
    with pytest.raises(IndexError):
        vol[np.array([0, 1])]
    with pytest.raises(IndexError):
        vol[99]
