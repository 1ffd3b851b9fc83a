"""The Compare report dock and ``napari-forgetting view``: Fig. 5, interactive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hotspot_run import EVENTS, NEVER, make_run
from napari_forgetting._napari.side_view import grid_of
from napari_forgetting._napari.widgets.compare import CompareWidget
from napari_forgetting.cli import main
from napari_forgetting.dynamics.regions import high_density_regions, region_threshold
from napari_forgetting.runs.consensus import build_consensus
from napari_forgetting.runs.store import RunStore
from napari_forgetting.workflow.compare.maps import CONSENSUS, ComparisonMaps

#: The consensus report's baseline seeds: hand-made events, one more on every pixel for
#: seed 1 (the consensus's mean is EVENTS + 1/2: not whole numbers); their test volume
#: test1 forgets twice as much.
SEED_EVENTS = {0: EVENTS, 1: [e + 1 for e in EVENTS]}


@pytest.fixture
def report(tmp_path):
    """A report folder of hand-made runs: the baseline of seeds 0 and 1, flip of seed 0
    (hotspot_run's events doubled), class b."""
    out = tmp_path / "report"
    for name in ("baseline-seed0", "baseline-seed1", "flip-seed0"):
        make_run(out / "jobs" / name)
    flip = RunStore.open(out / "jobs" / "flip-seed0", mode="r+")
    flip._group["maps"]["forgetting_events"][1] = 2 * flip.flat_map("forgetting_events", 1)
    (out / "compare.json").write_text(json.dumps({"class": "b", "min_pixels": 0}))
    return out


@pytest.fixture
def consensus_report(tmp_path):
    """A report folder as ``compare`` now writes it, hand-made: the baseline of seeds 0 and 1
    and flip of seed 0 (events tripled), each with a test volume test1, and the baseline's
    consensus run over its two seeds in ``consensus/`` (its test1 in ``consensus/tests``)."""
    out = tmp_path / "consensus-report"  # beside the report fixture's
    seeds = []
    for method, s, events in [
        *(("baseline", s, ev) for s, ev in SEED_EVENTS.items()),
        ("flip", 0, [3 * e for e in EVENTS]),
    ]:
        job = out / "jobs" / f"{method}-seed{s}"
        make_run(job, events=events, train_config={"seed": s})
        make_run(job / "tests" / "test1", events=[2 * e for e in events],
                 train_config={"seed": s})  # fmt: skip
        if method == "baseline":
            seeds.append(RunStore.open(job))
    build_consensus(seeds, out / "consensus")
    (out / "compare.json").write_text(json.dumps({"class": "b", "min_pixels": 0}))
    return out


def test_a_report_shows_the_chosen_hotspot_under_every_method(make_napari_viewer, report):
    viewer = make_napari_viewer()
    widget = CompareWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Compare report")
    assert widget.open_report(report)
    assert widget.hotspots.min_pixels_spin.value() == 0  # the report's min pixels
    assert [widget.split_combo.itemText(i) for i in range(widget.split_combo.count())] == [
        "validation"
    ]
    # the baseline's ranking for class b, its top row shown (crossline 301: 8 events on 6
    # of its 8 b pixels -- see hotspot_run.py), in the dock's (empty) viewer
    ranking = widget.hotspots.ranking
    assert ranking.class_name == "b" and widget.panel.key == ranking[0].key
    assert widget.figure_viewer is None and grid_of(viewer).enabled and grid_of(viewer).stride == 2
    names = [layer.name for layer in viewer.layers]
    assert names[::2] == ["labels", "baseline (seed 0)", "flip (seed 0)"]
    top = ranking[0].key
    index = [s.key for s in RunStore.open(report / "jobs" / "flip-seed0").map_sections].index(top)
    np.testing.assert_array_equal(viewer.layers["baseline (seed 0)"].data, EVENTS[index])
    np.testing.assert_array_equal(viewer.layers["flip (seed 0)"].data, 2 * EVENTS[index])
    assert viewer.layers["flip (seed 0)"].contrast_limits == [0.0, 2 * EVENTS[index].max()]
    # one scale for every cell, in the dock (the live view's), none drawn over a cell
    assert widget.scale.isVisibleTo(widget) and not widget.scale.pixmap().isNull()
    assert f"to {2 * EVENTS[index].max():g} coloured" in widget.scale.toolTip()
    assert not any(viewer.layers[n].colorbar.visible for n in names[2::2])

    # synced with the Hotspots ranking: another row, another section under every method
    widget.hotspots.go_to(1)
    assert widget.panel.key == ranking[1].key
    index = [s.key for s in RunStore.open(report / "jobs" / "flip-seed0").map_sections].index(
        ranking[1].key
    )
    np.testing.assert_array_equal(viewer.layers["flip (seed 0)"].data, 2 * EVENTS[index])
    # seed 1: flip has no run of it, the baseline's own
    widget.set_seed(1)
    assert widget.panel.seeds == {"baseline": 1}
    assert [layer.name for layer in viewer.layers][::2] == ["labels", "baseline (seed 1)"]

    # a volume in the dock's viewer: the panels move to a viewer of their own
    viewer.add_image(np.zeros((4, 5, 3)), name="volume")
    widget.show_section(ranking[0].key)
    assert [layer.name for layer in viewer.layers] == ["volume"] and not grid_of(viewer).enabled
    second = widget.figure_viewer
    assert second is not None and "baseline (seed 1)" in second.layers
    second.close()


def test_a_folder_that_is_no_report_is_told_not_raised(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    widget = CompareWidget(viewer)
    assert not widget.open_report(tmp_path)
    assert "not a comparison report" in widget.messages[-1]
    assert widget.show_section("inline:100") is None and len(viewer.layers) == 0


def test_view_command_opens_a_report_and_refuses_what_it_lacks(
    make_napari_viewer, report, tmp_path, capsys
):
    # make_napari_viewer: napari's test set-up of its plugin state, which a viewer made
    # in-process (as the command makes one) needs after other viewer tests
    shot = tmp_path / "view.png"
    assert main(["view", str(report), "--section", "inline:102", "--screenshot", str(shot),
                 "--quit"]) == 0  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for args, message in [
        (["--split", "test1"], "no split 'test1' (it has validation)"),
        (["--seed", "3"], "no finished run of seed 3"),
        (["--section", "inline:101"], "maps no section 'inline:101'"),
    ]:
        assert main(["view", str(report), *args, "--quit"]) == 2
        assert message in capsys.readouterr().err
    assert main(["view", str(tmp_path), "--quit"]) == 2
    assert "not a comparison report" in capsys.readouterr().err


def _seed_items(widget):
    return [widget.seed_combo.itemText(i) for i in range(widget.seed_combo.count())]


def test_the_baseline_consensus_is_a_seed_to_choose_where_the_report_has_one(
    make_napari_viewer, report, consensus_report
):
    viewer = make_napari_viewer()
    widget = CompareWidget(viewer)
    # a report without consensus/: the seeds as before, no consensus to ask for
    assert widget.open_report(report)
    assert _seed_items(widget) == ["lowest finished", "seed 0", "seed 1"]
    assert widget.maps.consensus is None and widget.maps.consensus_store() is None
    with pytest.raises(KeyError, match="no consensus"):
        widget.maps.panel("validation", "inline:100", CONSENSUS)

    # with one: "consensus" after the numbered seeds
    assert widget.open_report(consensus_report)
    assert _seed_items(widget) == ["lowest finished", "seed 0", "seed 1", "consensus"]
    assert "a consensus of seeds [0, 1]" in widget.messages[-1]
    assert [widget.split_combo.itemText(i) for i in range(widget.split_combo.count())] == [
        "validation",
        "test1",
    ]
    assert widget.hotspots.store.path == consensus_report / "jobs" / "baseline-seed0"
    assert widget.hotspots.uncertainty is None  # a single seed's ranking: no P(top k)

    # choosing it: the Hotspots ranks the consensus run, with P(top k), intervals, the note
    widget.set_seed(CONSENSUS)
    cons = RunStore.open(consensus_report / "consensus")
    hot = widget.hotspots
    assert hot.store.path == cons.path
    assert "consensus of 2 seeds" in hot.note and "consensus of 2 seeds" in hot.status.text()
    ranking = hot.ranking
    assert ranking.class_name == "b" and hot.uncertainty is not None
    headers = [hot.table.horizontalHeaderItem(c).text() for c in range(hot.table.columnCount())]
    assert headers[4].startswith("P(top ") and headers[1] == "density (95%)"

    # its top row drawn: the consensus's mean heat map in the baseline's cell, flip's lowest
    # finished seed beside it, the regions found in the consensus's map
    key = ranking[0].key
    panel = widget.panel
    assert panel.key == key and panel.consensus_seeds == (0, 1) and panel.seeds == {"flip": 0}
    names = [layer.name for layer in viewer.layers]
    assert names[::2] == ["labels", "baseline, consensus of 2 seeds",
                          "flip (lowest finished seed 0)"]  # fmt: skip
    assert names[1::2] == [f"{n}: baseline regions" for n in names[::2]]
    mean = cons.heatmap(key)
    assert not np.all(mean == np.round(mean))  # mean counts, not one seed's
    np.testing.assert_array_equal(viewer.layers["baseline, consensus of 2 seeds"].data, mean)
    index = cons.map_index(key)
    np.testing.assert_array_equal(
        viewer.layers["flip (lowest finished seed 0)"].data, 3 * EVENTS[index]
    )
    np.testing.assert_array_equal(viewer.layers["labels"].data, cons.map_labels(key))
    threshold = region_threshold(cons.heatmaps())
    assert panel.threshold == threshold
    regions, _ = high_density_regions(mean, threshold)
    np.testing.assert_array_equal(
        viewer.layers["baseline, consensus of 2 seeds: baseline regions"].data, regions > 0
    )
    assert "baseline consensus of 2 seeds (0, 1), flip 0" in widget.status.text()
    # another row: another section, still the consensus
    hot.go_to(1)
    key = ranking[1].key
    assert widget.panel.key == key
    np.testing.assert_array_equal(
        viewer.layers["baseline, consensus of 2 seeds"].data, cons.heatmap(key)
    )

    # a test volume: the consensus's tests/test1 ranked and drawn
    widget.set_split("test1")
    test1 = cons.test("test1")
    assert hot.store.path == consensus_report / "consensus" / "tests" / "test1"
    assert hot.uncertainty is not None and "consensus of 2 seeds" in hot.note
    key = hot.ranking[0].key
    assert widget.panel.split == "test1" and widget.panel.key == key
    np.testing.assert_array_equal(
        viewer.layers["baseline, consensus of 2 seeds"].data, test1.heatmap(key)
    )
    np.testing.assert_array_equal(
        viewer.layers["flip (lowest finished seed 0)"].data, 6 * EVENTS[test1.map_index(key)]
    )
    assert widget.panel.threshold == region_threshold(test1.heatmaps())

    # back to a numbered seed: the seed's own run and cells, the consensus cells gone
    widget.set_seed(1)
    assert hot.store.path == consensus_report / "jobs" / "baseline-seed1" / "tests" / "test1"
    assert [layer.name for layer in viewer.layers][::2] == ["labels", "baseline (seed 1)"]


def test_comparison_maps_read_the_consensus_of_a_report(consensus_report):
    """Core, no Qt: the consensus run of each split, its seeds, its panel."""
    maps = ComparisonMaps(consensus_report)
    assert maps.consensus is not None and maps.consensus_seeds == [0, 1]
    assert maps.consensus_store("test1").path == consensus_report / "consensus" / "tests" / "test1"
    assert maps.consensus_store("test2") is None
    assert maps.ranked_store("validation", CONSENSUS).path == maps.consensus.path
    assert maps.ranked_store("validation", None).path.name == "baseline-seed0"
    panel = maps.panel("validation", "crossline:301", CONSENSUS)
    # the seeds' mean, their never-learned pixels scored 0 (each seed's convention)
    np.testing.assert_allclose(panel.maps["baseline"], np.where(NEVER[2], 0, EVENTS[2] + 0.5))
    assert panel.title("baseline") == "baseline, consensus of 2 seeds"
    assert panel.title("flip") == "flip (lowest finished seed 0)"
    assert panel.vmax == max(1.0, float(3 * EVENTS[2].max()))
    # a seed's panel is as before
    seeded = maps.panel("validation", "crossline:301", 1)
    assert seeded.consensus_seeds == () and seeded.title("baseline") == "baseline (seed 1)"
    assert seeded.seeds_text() == "baseline 1"
    with pytest.raises(KeyError, match="inline:999"):
        maps.panel("validation", "inline:999", CONSENSUS)
    # a consensus/ that is no finished consensus run: the report opens without it
    (consensus_report / "consensus" / "run.json").unlink()
    assert ComparisonMaps(consensus_report).consensus is None
