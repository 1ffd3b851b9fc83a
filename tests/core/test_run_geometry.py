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
