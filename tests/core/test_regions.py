"""High-density forgetting regions and their fates under another run (hand-made maps)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_forgetting.dynamics.regions import (
    compare_masks,
    density_map,
    fate_shares,
    high_density_regions,
    region_fates,
    region_threshold,
)


def blob(shape, rows, cols, value):
    m = np.zeros(shape)
    m[rows, cols] = value
    return m


def test_density_is_the_window_mean():
    m = np.zeros((9, 9))
    m[4, 4] = 25.0
    d = density_map(m)
    assert d[4, 4] == pytest.approx(1.0)  # 25 / (5 x 5)
    assert d[2:7, 2:7].min() == pytest.approx(1.0) and d[0, 0] == 0.0
    with pytest.raises(ValueError, match="2-D"):
        density_map(np.zeros(5))


def test_threshold_is_the_baseline_percentile_with_a_floor():
    rng = np.random.default_rng(0)
    maps = [rng.poisson(3.0, (20, 30)).astype(float) for _ in range(3)]
    want = np.percentile(np.concatenate([density_map(m).ravel() for m in maps]), 95)
    assert region_threshold(maps) == pytest.approx(want)
    assert region_threshold([np.zeros((8, 8))]) == 1.0  # never below one event
    with pytest.raises(ValueError):
        region_threshold([])


def test_regions_are_connected_components_above_the_threshold_and_large_enough():
    base = blob((40, 40), slice(5, 15), slice(5, 15), 4.0)
    base[30:33, 30:33] = 4.0  # 9 pixels: its density stays below the threshold
    labels, n = high_density_regions(base, 2.0)
    assert n == 1
    assert labels[10, 10] == 1 and labels[31, 31] == 0


def test_fates_disappear_shrink_stay():
    shape = (60, 60)
    base = blob(shape, slice(5, 20), slice(5, 20), 4.0) + blob(
        shape, slice(35, 50), slice(35, 50), 4.0
    )
    same = base.copy()
    gone = np.zeros(shape)
    half = base.copy()
    half[35:50, 35:44] = 0.0  # the second region mostly cleared
    fates = region_fates(base, same, 2.0)
    assert [f["fate"] for f in fates] == ["stays", "stays"]
    assert all(f["kept"] == 1.0 for f in fates)
    assert [f["fate"] for f in region_fates(base, gone, 2.0)] == ["disappears", "disappears"]
    mixed = region_fates(base, half, 2.0)
    assert mixed[0]["fate"] == "stays" and mixed[1]["fate"] == "shrinks"
    assert 0.1 <= mixed[1]["kept"] < 0.5
    assert mixed[1]["density"] < mixed[1]["baseline_density"]
    shares = fate_shares(mixed)
    assert shares == {"disappears": 0.0, "shrinks": 0.5, "stays": 0.5, "n": 2.0}
    assert np.isnan(fate_shares([])["stays"])
    with pytest.raises(ValueError, match="differ in shape"):
        region_fates(base, base[:-1], 2.0)


def _pattern(rng, shape=(96, 128), shift=(0, 0)):
    """An event map with a few graded hotspots (Gaussian, 12 events at the peak) on a
    sparse background, as forgetting maps are: dense cores, thinning edges."""
    events = rng.poisson(0.3, shape).astype(np.float64)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    for r, c in ((20, 30), (60, 90), (75, 20)):
        d2 = (rows - r - shift[0]) ** 2 + (cols - c - shift[1]) ** 2
        events += 12 * np.exp(-d2 / (2 * 7.0**2))
    return events


def test_each_run_at_its_own_threshold_sees_where_not_how_much():
    # issue 31: the same pattern at 0.7 of its counts: at the baseline's threshold no
    # region "stays" (they shrink: a fate measures the level too); at its own threshold the
    # masks overlap (Dice >= 0.9), nothing disappears, and the level ratio says 0.7 on its
    # own. A shifted pattern overlaps < 0.2
    # and its regions appear.
    rng = np.random.default_rng(0)
    base = [_pattern(rng) for _ in range(3)]
    thinner = [0.7 * m for m in base]
    at_baseline = [f for b, t in zip(base, thinner, strict=True)
                   for f in region_fates(b, t, region_threshold(base))]  # fmt: skip
    assert not any(f["fate"] == "stays" for f in at_baseline)
    same = compare_masks(base, thinner)
    assert same["dice"] >= 0.9 and same["appear"] == 0 and same["n_regions"] == 9
    assert all(f["fate"] == "stays" for f in same["fates"])
    assert same["level_ratio"] == pytest.approx(0.7)
    shifted = compare_masks(base, [_pattern(rng, shift=(0, 24)) for _ in range(3)])
    assert shifted["dice"] < 0.2 and shifted["appear"] >= 6
    assert sum(f["fate"] == "disappears" for f in shifted["fates"]) >= 6
    with pytest.raises(ValueError, match="same, non-empty list"):
        compare_masks(base, thinner[:2])
