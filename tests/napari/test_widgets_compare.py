"""The Compare report dock and ``napari-forgetting view``: Fig. 5, interactive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hotspot_run import EVENTS, make_run
from napari_forgetting._napari.side_view import grid_of
from napari_forgetting._napari.widgets.compare import CompareWidget
from napari_forgetting.cli import main
from napari_forgetting.runs.store import RunStore


@pytest.fixture
def report(tmp_path):
    """A report folder of hand-made runs: the baseline of seeds 0 and 1, flip of seed 0
    (hotspot_run's events doubled), class b."""
    out = tmp_path / "report"
    for name in ("baseline-seed0", "baseline-seed1", "flip-seed0"):
        make_run(out / "jobs" / name)
    flip = RunStore.open(out / "jobs" / "flip-seed0", mode="r+")
    flip._group["maps"]["forgetting_events"][1] = 2 * flip.flat_map("forgetting_events", 1)
    (out / "compare.json").write_text(json.dumps({"class": "b"}))
    return out


def test_a_report_shows_the_chosen_hotspot_under_every_method(make_napari_viewer, report):
    viewer = make_napari_viewer()
    widget = CompareWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Compare report")
    assert widget.open_report(report)
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
