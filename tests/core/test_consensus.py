"""Runs that differ only in the seed: refusal, stability of hand-made runs, the consensus run
and what its ranking says (runs.consensus, runs.hotspots)."""

import json

import numpy as np
import pytest

from hotspot_run import EVENTS, LABELS, NEVER, SECTIONS, make_run
from napari_forgetting.dynamics import class_density
from napari_forgetting.dynamics.stability import bootstrap_sections, spearman
from napari_forgetting.runs.consensus import (
    SEED_DENSITY_FILE,
    build_consensus,
    check_seed_runs,
    measure_stability,
    record_stability,
    seed_runs,
    stability_note,
)
from napari_forgetting.runs.hotspots import rank_run
from napari_forgetting.runs.store import RunStore

B = 1  # class b: in inline 100 (5 px), crossline 301 (8 px) and crossline 303 (6 px)


def seed_events(seed):
    """Seed 0: the hand-made events; seed 1: crossline 303's doubled; seed 2: inline 100's
    b pixels zeroed (each a different ranking of the three b sections)."""
    ev = [e.copy() for e in EVENTS]
    if seed == 1:
        ev[3] = ev[3] * 2 + (LABELS[3] == 1) * 3
    if seed == 2:
        ev[0][LABELS[0] == 1] = 0
    return ev


@pytest.fixture
def seeds3(tmp_path):
    return [
        make_run(tmp_path / f"s{s}", events=seed_events(s), train_config={"seed": s, "lr": 0.1})
        for s in range(3)
    ]


def b_densities(seed):
    ev = seed_events(seed)
    scored = [np.where(n, 0, e) for e, n in zip(ev, NEVER, strict=True)]  # the zero convention
    return [class_density(scored[i], LABELS[i], B) for i in (0, 2, 3)]


def test_runs_that_differ_in_more_than_the_seed_are_refused_naming_the_field(tmp_path, seeds3):
    other = make_run(tmp_path / "lr", train_config={"seed": 7, "lr": 0.2})
    with pytest.raises(ValueError, match=r"differs from .* in train_config\.lr \(0\.2 vs 0\.1\)"):
        check_seed_runs([*seeds3, other])
    twin = make_run(tmp_path / "twin", train_config={"seed": 1, "lr": 0.1})
    with pytest.raises(ValueError, match="same seed 1"):
        check_seed_runs([*seeds3, twin])
    short = make_run(tmp_path / "short", epochs_done=1, train_config={"seed": 5, "lr": 0.1})
    with pytest.raises(ValueError, match="epochs complete"):
        check_seed_runs([seeds3[0], short])
    with pytest.raises(ValueError, match="at least 2 runs"):
        check_seed_runs(seeds3[:1])


def test_stability_of_hand_made_seeds(seeds3):
    r = measure_stability(seeds3, "b", min_pixels=1, k=2)
    assert r.keys == ["inline:100", "crossline:301", "crossline:303"]
    expected = np.array([b_densities(s) for s in range(3)])
    np.testing.assert_allclose(r.densities, expected)
    assert r.sections.mean_spearman == pytest.approx(
        np.mean([spearman(expected[i], expected[j]) for i, j in ((0, 1), (0, 2), (1, 2))])
    )
    np.testing.assert_allclose(r.bootstrap.mean, expected.mean(0))
    assert r.pixels["class"].n_pixels == 5 + 8 + 6 + 0  # b is not in inline 102
    # min_pixels leaves out inline 100 (5 b pixels) and crossline 303 (6): too few to rank
    with pytest.raises(ValueError, match="1 section\\(s\\) hold >= 7 pixels"):
        measure_stability(seeds3, "b", min_pixels=7)
    d = json.loads(json.dumps(r.to_dict()))  # strict JSON: no NaN
    assert d["per_section"][0]["section"] == "inline:100"


def test_the_consensus_run_is_a_run_with_mean_counts_and_agreement(tmp_path, seeds3):
    cons = build_consensus(seeds3, tmp_path / "cons")
    assert cons.status == "finished" and cons.n_epochs == 2
    assert "agreement" in cons.map_names
    mean = np.mean([s.flat_heatmap(1) for s in seeds3], axis=0)
    np.testing.assert_allclose(cons.flat_heatmap(1), mean, rtol=1e-6)
    agreement = cons.flat_map("agreement", 1)
    assert agreement.min() >= 0 and agreement.max() <= 1 and agreement.max() > 0
    # the consensus's density is the mean of the seeds' (density is linear in the counts)
    ranking = rank_run(cons, "b", min_pixels=1, k=2)
    means = np.mean([b_densities(s) for s in range(3)], axis=0)  # sections 0, 2, 3
    expected_keys = [SECTIONS[(0, 2, 3)[i]].key for i in np.argsort(-means, kind="stable")]
    assert [row.key for row in ranking] == expected_keys
    u = ranking.uncertainty
    seeds = np.array([b_densities(s) for s in range(3)])
    order = [{"inline:100": 0, "crossline:301": 1, "crossline:303": 2}[row.key] for row in ranking]
    expected = bootstrap_sections(seeds[:, order], 2)
    np.testing.assert_allclose(u.p_top, expected.p_top)
    np.testing.assert_allclose(u.low, expected.low)
    assert "P(top 2)" in ranking.format_table()
    assert "consensus of 3 seeds (0, 1, 2)" in ranking.note
    assert np.load(tmp_path / "cons" / SEED_DENSITY_FILE).shape == (3, 2, 4, 3)
    # a consensus names its seeds: stability of the consensus folder reads them back
    assert [s.path for s in seed_runs([tmp_path / "cons"])] == [s.path for s in seeds3]
    # a training run is never replaced by a consensus
    with pytest.raises(FileExistsError, match="holds a training run"):
        build_consensus(seeds3, seeds3[0].path)


def test_a_single_runs_ranking_says_one_seed_and_what_a_measurement_found(seeds3):
    first = rank_run(seeds3[0], "b", min_pixels=1)
    assert first.uncertainty is None
    assert "one seed" in first.note and "no stability measurement" in first.note
    record_stability(measure_stability(seeds3, "b", min_pixels=1, k=2))
    note = stability_note(RunStore.open(seeds3[0].path), "b")
    assert "measured over 3 seeds" in note and "of the top 2 to change" in note


def test_a_run_outside_the_measurement_quotes_it_when_its_configuration_matches(
    tmp_path, seeds3
):
    """``rank --stability DIR``: a run of the measured configuration with another seed (not
    one of the measured seeds) quotes the measurement; another configuration is refused
    naming the field."""
    record_stability(measure_stability(seeds3, "b", min_pixels=1, k=2))
    build_consensus(seeds3, tmp_path / "cons")
    fresh = make_run(tmp_path / "s9", events=seed_events(9), train_config={"seed": 9, "lr": 0.1})
    assert "no stability measurement" in rank_run(fresh, "b", min_pixels=1).note
    ranking = rank_run(fresh, "b", min_pixels=1, stability=tmp_path / "cons")
    assert "measured over 3 seeds" in ranking.note and "of the top 2 to change" in ranking.note
    assert f"in {tmp_path / 'cons'}" in ranking.note
    other = make_run(tmp_path / "lr", train_config={"seed": 9, "lr": 0.2})
    with pytest.raises(ValueError, match=r"not of the configuration .* train_config\.lr"):
        rank_run(other, "b", min_pixels=1, stability=tmp_path / "cons")
    with pytest.raises(ValueError, match="no stability measurement of class 'a'"):
        rank_run(fresh, "a", min_pixels=1, stability=tmp_path / "cons")


def test_a_class_never_learned_is_said_not_ranked(tmp_path):
    zero = [np.zeros(s.shape, int) for s in SECTIONS]
    run = make_run(tmp_path / "flat", events=zero)
    ranking = rank_run(run, "b", min_pixels=1)
    assert ranking.uniform
    text = ranking.format_table()
    assert "never learned or never forgotten" in text and "inline 100" not in text
