"""Stability over seeds (dynamics.stability): every figure against a hand computation."""

import math

import numpy as np
import pytest

from napari_forgetting.dynamics.stability import (
    bootstrap_sections,
    consensus_maps,
    constant_runs,
    interior_mask,
    jaccard,
    jaccard_chance,
    kendall,
    leave_one_out,
    pairwise,
    pixel_stability,
    section_stability,
    seeds_needed,
    spearman,
    spearman_brown,
    split_half,
    top_k,
    top_k_jaccard,
)


def test_spearman_and_kendall_with_ties_by_hand():
    a, b = [1, 2, 2, 3], [1, 3, 2, 4]
    # average ranks a = 1, 2.5, 2.5, 4 and b = 1, 3, 2, 4: deviations (-1.5, 0, 0, 1.5) and
    # (-1.5, .5, -.5, 1.5): covariance 4.5, variances 4.5 and 5
    assert spearman(a, b) == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    # 6 pairs: 5 concordant, 0 discordant, 1 tied in a only: tau-b = 5 / sqrt(5 * 6)
    assert kendall(a, b) == pytest.approx(5 / math.sqrt(30))
    assert spearman([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)
    assert kendall([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)


def test_a_constant_side_has_no_correlation_not_zero():
    # a run that never learned the class: every density 0, no ordering to compare
    assert math.isnan(spearman([0, 0, 0], [1, 2, 3]))
    assert math.isnan(kendall([1, 2, 3], [5, 5, 5]))
    assert math.isnan(spearman([1], [2]))
    with pytest.raises(ValueError, match="different lengths"):
        spearman([1, 2], [1, 2, 3])


def test_top_k_breaks_ties_in_section_order_and_jaccard():
    assert top_k([1, 3, 3, 2], 2).tolist() == [1, 2]
    assert top_k([1, 3, 3, 2], 9).tolist() == [1, 2, 3, 0]
    assert jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(2 / 4)
    assert jaccard([], []) == 1.0


def test_jaccard_chance_is_the_hypergeometric_expectation():
    # n=4, k=2: overlap 0, 1, 2 with probabilities 1/6, 4/6, 1/6; Jaccard 0, 1/3, 1
    assert jaccard_chance(4, 2) == pytest.approx(4 / 6 / 3 + 1 / 6)
    # n=8, k=6 (the "chance ~0.60"): overlap 4, 5, 6 with 15/28, 12/28, 1/28
    assert jaccard_chance(8, 6) == pytest.approx(15 / 28 * 4 / 8 + 12 / 28 * 5 / 7 + 1 / 28)
    # fewer sections than k: both top sets hold everything
    assert jaccard_chance(3, 6) == 1.0
    # and a simulation agrees
    rng = np.random.default_rng(0)
    sims = [jaccard(rng.permutation(20)[:6], rng.permutation(20)[:6]) for _ in range(20000)]
    assert np.mean(sims) == pytest.approx(jaccard_chance(20, 6), abs=0.005)


def test_leave_one_out_pairwise_and_split_half_by_hand():
    v = np.array([[1, 2, 3, 4], [2, 1, 3, 4], [1, 2, 4, 3], [4, 3, 2, 1]], float)
    loo = leave_one_out(v)
    # run 0 against the mean of runs 1-3: (7/3, 2, 3, 8/3) -> ranks (2, 1, 4, 3)
    assert loo[0] == pytest.approx(spearman([1, 2, 3, 4], [2, 1, 4, 3]))
    assert loo[0] == pytest.approx(0.6)
    m = pairwise(v)
    assert m[0, 1] == m[1, 0] == pytest.approx(0.8) and m[0, 3] == pytest.approx(-1.0)
    assert np.allclose(np.diag(m), 1.0)
    # the three ways to split four runs in halves of two
    sh, half = split_half(v)
    halves = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    rhos = [spearman(v[list(a)].mean(0), v[list(b)].mean(0)) for a, b in halves]
    assert math.isnan(rhos[2])  # runs 0 and 3 cancel: a flat mean, left out
    expected = np.mean(rhos[:2])
    assert half == 2 and sh == pytest.approx(expected)
    assert math.isnan(split_half(v[:3])[0])  # halves of one run are no means


def test_spearman_brown_and_the_seeds_a_consensus_needs():
    assert spearman_brown(0.5, 4) == pytest.approx(0.8)  # 4 * .5 / (1 + 3 * .5)
    assert seeds_needed(0.5) == 9  # .9 * .5 / (.5 * .1)
    assert seeds_needed(0.25) == 27
    assert seeds_needed(0.95) == 1
    assert seeds_needed(-0.2) == math.inf and math.isnan(seeds_needed(float("nan")))
    # the estimate is consistent: 9 seeds of r1 = 0.5 reach 0.9
    assert spearman_brown(0.5, seeds_needed(0.5)) == pytest.approx(0.9)


def test_section_stability_leaves_out_a_run_that_never_learned_the_class():
    v = np.array([[3, 2, 1, 0], [3, 1, 2, 0], [0, 0, 0, 0]], float)
    assert constant_runs(v) == [2]
    s = section_stability(v, k=2)
    assert s.constant == (2,)
    # only the pair (0, 1) is usable: Spearman 0.8; top 2 {0, 1} against {0, 2}
    assert s.mean_spearman == pytest.approx(0.8)
    assert s.mean_kendall == pytest.approx(kendall(v[0], v[1]))
    assert s.mean_jaccard == pytest.approx(1 / 3)
    assert s.jaccard_chance == pytest.approx(jaccard_chance(4, 2))
    assert math.isnan(s.loo_spearman[2]) and s.loo_spearman[0] == pytest.approx(0.8)
    assert s.seeds_needed == seeds_needed(0.8) == 3
    assert s.to_dict()["constant"] == [2]


def test_fewer_sections_than_k_and_all_sections_tied():
    s = section_stability(np.array([[1.0, 2, 3], [1, 3, 2]]), k=6)
    assert s.k == 3 and s.mean_jaccard == 1.0 and s.jaccard_chance == 1.0
    # every run flat: nothing is defined, nothing is invented
    flat = section_stability(np.zeros((3, 5)), k=2)
    assert flat.constant == (0, 1, 2)
    assert math.isnan(flat.mean_spearman) and math.isnan(flat.mean_jaccard)
    assert math.isnan(flat.seeds_needed)


def test_bootstrap_draws_seeds_not_sections():
    one = bootstrap_sections(np.array([[3.0, 1.0, 2.0]]), k=1)
    assert one.p_top.tolist() == [1.0, 0.0, 0.0]
    assert np.array_equal(one.low, one.high)  # one seed: no interval to speak of
    v = np.array([[5.0, 1.0, 2.0], [6.0, 2.0, 1.0], [7.0, 1.5, 1.5]])
    b = bootstrap_sections(v, k=2, draws=4000)
    assert b.p_top[0] == 1.0  # always the highest
    assert b.p_top.sum() == pytest.approx(2.0)  # k sections per draw
    assert 0.3 < b.p_top[1] < 0.7 and 0.3 < b.p_top[2] < 0.7
    assert b.low[0] >= 5.0 and b.high[0] <= 7.0 and b.mean[0] == pytest.approx(6.0)
    # the same every time (a fixed generator, never the clock)
    again = bootstrap_sections(v, k=2, draws=4000)
    assert np.array_equal(b.p_top, again.p_top) and np.array_equal(b.low, again.low)


def test_interior_is_more_than_two_pixels_from_any_other_label():
    lab = np.zeros((7, 9), int)
    lab[:, 5:] = 1
    inside = interior_mask(lab)
    # columns 0-2 are interior of class 0 (col 3, 4 within 2 px of col 5); cols 7-8 of class 1
    assert inside.any(axis=0).tolist() == [1, 1, 1, 0, 0, 0, 0, 1, 1]
    assert inside.all(axis=0).tolist() == [1, 1, 1, 0, 0, 0, 0, 1, 1]  # the edge is no boundary
    assert interior_mask(lab, class_id=1).any(axis=0).tolist() == [0] * 7 + [1, 1]


def test_pixel_stability_on_a_mask():
    counts = np.array([[0, 1, 2, 3, 9], [0, 1, 3, 2, 0], [0, 2, 1, 3, 5]], float)
    mask = np.array([1, 1, 1, 1, 0], bool)
    p = pixel_stability(counts, mask, "class")
    assert p.n_pixels == 4
    sub = counts[:, :4]
    assert p.mean_pairwise == pytest.approx(
        np.mean([spearman(sub[0], sub[1]), spearman(sub[0], sub[2]), spearman(sub[1], sub[2])])
    )
    assert p.loo[1] == pytest.approx(spearman(sub[1], (sub[0] + sub[2]) / 2))


def test_consensus_mean_and_agreement_by_hand():
    counts = np.zeros((2, 20))
    counts[0, :] = np.arange(20)  # its 95th percentile is 18.05: pixel 19 only
    counts[1, 18] = 4  # its 95th percentile is 0: but zero is never a top pixel
    counts[1, 19] = 4
    mean, agreement = consensus_maps(counts)
    assert mean.dtype == np.float32 and mean[19] == pytest.approx(11.5)
    assert agreement[19] == 1.0 and agreement[18] == 0.5 and agreement[:18].sum() == 0


def test_disjoint_sets_of_one_run_are_every_pair_and_jaccard_is_a_measure():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(5, 12))
    rho, h = split_half(v, half=1)
    m = pairwise(v)
    assert h == 1 and rho == pytest.approx(m[np.triu_indices(5, 1)].mean())
    jac, _ = split_half(v, top_k_jaccard(3), half=1)
    pairs = [jaccard(top_k(v[i], 3), top_k(v[j], 3)) for i in range(5) for j in range(i + 1, 5)]
    assert jac == pytest.approx(np.mean(pairs))
    # more runs than sets fit: a fixed draw, the same every time
    big = rng.normal(size=(10, 12))
    assert split_half(big, half=2) == split_half(big, half=2)
    assert math.isnan(split_half(v, half=3)[0])  # 2 x 3 > 5 runs
