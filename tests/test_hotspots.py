"""Forgetting hotspots: ranking a hand-made run by the definition, selection, CSV, CLI, widget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_forgetting.cli import main
from napari_forgetting.data.sections import Section
from napari_forgetting.dynamics.ranking import pixel_values, rank_scores, section_scores
from napari_forgetting.runs.hotspots import (
    ClassAbsentError,
    Ranking,
    load_style_sources,
    rank_run,
    resolve_class,
    save_style_sources,
    section_highlight,
)
from napari_forgetting.runs.store import RunStore

# A 4 x 5 x 3 (inline, crossline, sample) volume, inlines numbered 100.., crosslines 300..
# Mapped sections, in store order: inline 100, inline 102, crossline 301, crossline 303.
# Classes: a (0), b (1), c (2); c is in no section, b not in inline 102.
VOLUME_SHAPE = (4, 5, 3)
CLASSES = ["a", "b", "c"]
SECTIONS = [
    Section("inline", 0, 100, (3, 5)),
    Section("inline", 2, 102, (3, 5)),
    Section("crossline", 1, 301, (3, 4)),
    Section("crossline", 3, 303, (3, 4)),
]
LABELS = [
    np.array([[0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]]),
    np.zeros((3, 5), int),
    np.array([[0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]),
    np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]),
]
# forgetting events after the last epoch
EVENTS = [
    np.array([[1, 0, 0, 0, 0], [2, 0, 0, 0, 3], [1, 1, 0, 0, 0]]),
    np.array([[0, 5, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
    np.array([[0, 0, 0, 0], [3, 3, 0, 0], [1, 0, 0, 1]]),
    np.array([[0, 0, 2, 0], [0, 0, 0, 0], [0, 0, 0, 1]]),
]
NEVER = [np.zeros(s.shape, bool) for s in SECTIONS]
NEVER[0][2, 2] = True  # one of inline 100's five b pixels
NEVER[2][2, 1] = NEVER[2][2, 2] = True  # two of crossline 301's eight b pixels
CONFIDENCE = [np.full(s.shape, 0.9) for s in SECTIONS]
CONFIDENCE[0][LABELS[0] == 1] = [0.5, 0.7, 0.6, 0.8, 0.4]  # mean 0.6
CONFIDENCE[2][LABELS[2] == 1] = 0.75
CONFIDENCE[3][LABELS[3] == 1] = 0.95
VARIABILITY = [np.zeros(s.shape) for s in SECTIONS]
VARIABILITY[0][LABELS[0] == 1] = 0.1
VARIABILITY[2][LABELS[2] == 1] = 0.3
VARIABILITY[3][LABELS[3] == 1] = 0.2

# The definition, by hand: events on class-b pixels / class-b pixels
B_DENSITY = {"crossline:301": 8 / 8, "inline:100": 4 / 5, "crossline:303": 3 / 6}
TOTAL_DENSITY = {
    "crossline:301": 8 / 12,
    "inline:100": 8 / 15,
    "inline:102": 5 / 15,
    "crossline:303": 3 / 12,
}


def _flat(arrays, dtype):
    return np.concatenate([np.asarray(a, dtype).ravel() for a in arrays])


def make_run(path, epochs_done=2, status="finished", stats=True):
    """The run above: epoch 0 without any event, epoch 1 as in the tables."""
    maps = {"forgetting_events": np.uint16, "never_learned": bool, "first_learned": np.uint16}
    if stats:
        maps.update(confidence=np.float32, variability=np.float32)
    store = RunStore.create(
        path,
        eval_sections=SECTIONS,
        eval_labels=LABELS,
        maps=maps,
        epochs=2,
        volume_shape=VOLUME_SHAPE,
        class_names=CLASSES,
    )
    zeros = [np.zeros(s.shape) for s in SECTIONS]
    for epoch in range(epochs_done):
        last = epoch == 1
        values = {
            "forgetting_events": EVENTS if last else zeros,
            "never_learned": NEVER,
            "first_learned": zeros,
            "confidence": CONFIDENCE,
            "variability": VARIABILITY,
        }
        store.write_epoch(
            epoch,
            [lab.astype(np.uint8) for lab in LABELS],
            {name: _flat(values[name], dtype) for name, dtype in maps.items()},
        )
        store.commit(epoch + 1, status=status if last else "running")
    return RunStore.open(path)


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path / "run")


def as_dict(ranking: Ranking) -> dict[str, float]:
    return {row.key: row.value for row in ranking}


# ---------------------------------------------------------------------------- core


def test_ranking_equals_the_definition_and_leaves_absent_sections_out(run):
    ranking = rank_run(run, "b")
    assert [row.key for row in ranking] == ["crossline:301", "inline:100", "crossline:303"]
    assert as_dict(ranking) == pytest.approx(B_DENSITY)
    assert [row.rank for row in ranking] == [1, 2, 3]
    assert [(row.pixels, row.events) for row in ranking] == [(8, 8), (5, 4), (6, 3)]
    assert [(row.kind, row.number, row.index) for row in ranking][1] == ("inline", 100, 0)
    assert ranking[1].label == "inline 100"
    assert (ranking.class_id, ranking.class_name, ranking.epoch) == (1, "b", 1)
    assert ranking.n_sections == 4 and ranking.statistic == "forgetting"


def test_class_by_name_or_id(run):
    by_name = rank_run(run, "b")
    assert rank_run(run, 1) == by_name
    assert rank_run(run, "1") == by_name
    assert rank_run(run, "B") == by_name
    assert resolve_class(CLASSES, "c") == 2
    with pytest.raises(ValueError, match="unknown class 'x'; classes: 0 a, 1 b, 2 c"):
        rank_run(run, "x")
    with pytest.raises(ValueError, match="class id 7 out of range"):
        rank_run(run, 7)


def test_class_absent_everywhere_is_a_clear_error(run):
    with pytest.raises(ClassAbsentError, match=r"class 'c' \(id 2\) is absent from all 4") as e:
        rank_run(run, "c")
    assert str(run.path) in str(e.value)


def test_class_a_ranking_ties_keep_section_order(run):
    ranking = rank_run(run, "a")
    assert [row.key for row in ranking] == [
        "inline:100",
        "inline:102",
        "crossline:301",
        "crossline:303",
    ]
    assert [row.value for row in ranking] == pytest.approx([4 / 10, 5 / 15, 0, 0])


def test_other_statistics(run):
    never = rank_run(run, "b", "never_learned")
    assert as_dict(never) == pytest.approx(
        {"crossline:301": 2 / 8, "inline:100": 1 / 5, "crossline:303": 0.0}
    )
    assert list(as_dict(never)) == ["crossline:301", "inline:100", "crossline:303"]
    low = rank_run(run, "b", "low_confidence")
    assert list(as_dict(low)) == ["inline:100", "crossline:301", "crossline:303"]
    assert as_dict(low) == pytest.approx(
        {"inline:100": 0.4, "crossline:301": 0.25, "crossline:303": 0.05}, abs=1e-6
    )
    var = rank_run(run, "b", "high_variability")
    assert list(as_dict(var)) == ["crossline:301", "crossline:303", "inline:100"]
    assert as_dict(var) == pytest.approx(
        {"crossline:301": 0.3, "crossline:303": 0.2, "inline:100": 0.1}, abs=1e-6
    )
    # the events column is always the forgetting events on the class pixels
    assert [row.events for row in var] == [8, 3, 4]


def test_total_forgetting_ignores_the_class(run):
    total = rank_run(run, None, "total")
    assert list(as_dict(total)) == list(TOTAL_DENSITY)
    assert as_dict(total) == pytest.approx(TOTAL_DENSITY)
    assert total.class_id is None and [row.pixels for row in total] == [12, 15, 15, 12]
    assert rank_run(run, "c", "total") == total  # class ignored, even an absent one


def test_epoch_argument_and_errors(run, tmp_path):
    first = rank_run(run, "b", epoch=0)
    assert first.epoch == 0 and all(row.value == 0 for row in first)
    assert [row.key for row in first] == ["inline:100", "crossline:301", "crossline:303"]
    assert rank_run(run, "b", epoch=-1) == rank_run(run, "b")
    with pytest.raises(ValueError, match="not complete"):
        rank_run(run, "b", epoch=2)
    with pytest.raises(ValueError, match="unknown statistic 'worst'"):
        rank_run(run, "b", "worst")
    with pytest.raises(ValueError, match="ranks a class"):
        rank_run(run, None)
    no_stats = make_run(tmp_path / "nostats", stats=False)
    with pytest.raises(ValueError, match="confidence.*--no-stats"):
        rank_run(no_stats, "b", "low_confidence")
    empty = make_run(tmp_path / "empty", epochs_done=0)
    with pytest.raises(ValueError, match="no complete epoch yet"):
        rank_run(empty, "b")


def test_pure_section_scores_match_class_density():
    from napari_forgetting.dynamics import class_density

    values = [pixel_values("forgetting", events=e) for e in EVENTS]
    scores, pixels, events = section_scores(values, LABELS, 1)
    expected = [class_density(e, lab, 1) for e, lab in zip(EVENTS, LABELS, strict=True)]
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected))
    np.testing.assert_allclose(scores[~np.isnan(scores)], np.array(expected)[~np.isnan(scores)])
    assert pixels.tolist() == [5, 0, 8, 6] and events.tolist() == [4, 0, 8, 3]
    assert rank_scores(scores).tolist() == [2, 0, 3]
    assert rank_scores(scores, top=2).tolist() == [2, 0]


def test_section_highlight_is_nan_off_the_class(run):
    values = section_highlight(run, "inline:100", "forgetting", 1)
    assert values.shape == (3, 5) and values.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(values), LABELS[0] != 1)
    assert np.nansum(values) == 4
    total = section_highlight(run, 2, "total")
    np.testing.assert_array_equal(total, EVENTS[2])


def test_csv_round_trip(run, tmp_path):
    ranking = rank_run(run, "b")
    path = ranking.to_csv(tmp_path / "b.csv")
    back = Ranking.from_csv(path)
    assert back.rows == ranking.rows
    assert (back.statistic, back.class_id, back.class_name, back.epoch) == ("forgetting", 1, "b", 1)
    header = path.read_text().splitlines()[0]
    assert header.startswith("rank,section,kind,number,index,value,pixels,events")
    assert not list(tmp_path.glob(".b.csv.*"))  # atomic write leaves no temporary file
    total = rank_run(run, None, "total")
    assert Ranking.from_csv(total.to_csv(tmp_path / "t.csv")).rows == total.rows


def test_top_n_selection_is_kept_with_the_run(run):
    assert load_style_sources(run) is None
    ranking = rank_run(run, "b")
    sources = save_style_sources(run, ranking, top=2)
    assert sources.sections == ("crossline:301", "inline:100")
    assert run.info["style_sources"]["sections"] == ["crossline:301", "inline:100"]
    stored = json.loads((run.path / "run.json").read_text())["style_sources"]
    assert {k: stored[k] for k in ("class", "class_id", "statistic", "epoch")} == {
        "class": "b",
        "class_id": 1,
        "statistic": "forgetting",
        "epoch": 1,
    }
    assert load_style_sources(run.path) == sources
    assert RunStore.open(run.path).info["style_sources"]["sections"] == list(sources.sections)
    # the default top-6 takes every ranked section here; a newer selection replaces it
    assert save_style_sources(run, ranking).sections == tuple(ranking.keys())
    with pytest.raises(ValueError, match="irrespective of class"):
        save_style_sources(run, rank_run(run, None, "total"))


# ---------------------------------------------------------------------------- CLI


def test_cli_rank_prints_the_table(run, capsys):
    assert main(["rank", str(run.path), "--class", "b", "--top", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "class b (id 1), statistic forgetting, epoch 2/2" in out[0]
    assert "3 of 4 mapped sections hold the class" in out[0]
    assert out[1].split() == ["rank", "section", "density", "class", "pixels", "events"]
    assert out[2].split() == ["1", "crossline", "301", "1.0000", "8", "8"]
    assert out[3].split() == ["2", "inline", "100", "0.8000", "5", "4"]
    assert len(out) == 4
    assert main(["rank", str(run.path), "--class", "1", "--top", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == out[1:]


def test_cli_rank_csv_select_stat_and_epoch(run, tmp_path, capsys):
    csv_path = tmp_path / "out.csv"
    args = ["rank", str(run.path), "--class", "b", "--top", "1", "--csv", str(csv_path)]
    assert main([*args, "--select"]) == 0
    out = capsys.readouterr().out
    assert "style sources (b): crossline:301" in out
    assert len(Ranking.from_csv(csv_path)) == 3  # the CSV holds the whole ranking
    assert load_style_sources(run.path).sections == ("crossline:301",)
    assert main(["rank", str(run.path), "--stat", "total", "--top", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 4 and lines[2].split()[:3] == ["1", "crossline", "301"]
    assert main(["rank", str(run.path), "--class", "b", "--epoch", "1"]) == 0
    assert "epoch 1/2" in capsys.readouterr().out


def test_cli_rank_errors_are_one_line(run, tmp_path, capsys):
    assert main(["rank", str(run.path), "--class", "c"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("napari-forgetting: error: class 'c' (id 2) is absent")
    assert main(["rank", str(run.path), "--class", "b", "--epoch", "3"]) == 1
    assert "has epochs 1..2" in capsys.readouterr().err
    assert main(["rank", str(tmp_path / "missing"), "--class", "b"]) == 1
    assert "no such run directory" in capsys.readouterr().err


# ---------------------------------------------------------------------------- widget


@pytest.fixture
def hotspots(make_napari_viewer, qtbot, monkeypatch):
    from napari_forgetting._napari.widgets import hotspots as module

    warnings: list[str] = []
    monkeypatch.setattr(module, "show_warning", warnings.append)
    monkeypatch.setattr(module, "show_info", lambda text: None)
    viewer = make_napari_viewer()
    widget = module.HotspotsWidget(viewer)
    qtbot.addWidget(widget)
    widget.warnings = warnings
    return viewer, widget


def _click_row(qtbot, table, row):
    from qtpy.QtCore import Qt

    table.show()
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_widget_table_and_row_click_moves_dims_to_the_section(hotspots, run, qtbot):
    viewer, widget = hotspots
    seismic = viewer.add_image(
        np.random.default_rng(0).normal(size=VOLUME_SHAPE).astype(np.float32),
        name="seismic",
        translate=(100, 300, 0),
    )
    widget.set_run(run)
    widget.set_class("b")
    table = widget.table
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)] == [
        "crossline 301",
        "inline 100",
        "crossline 303",
    ]
    assert [table.item(1, c).text() for c in range(4)] == ["inline 100", "0.8000", "5", "4"]

    _click_row(qtbot, table, 1)  # inline 100
    assert widget.current_row == 1
    assert tuple(viewer.dims.order) == (0, 2, 1) and viewer.dims.ndisplay == 2
    assert viewer.dims.point[0] == 100
    hot = viewer.layers["hotspot"]
    assert hot.data.shape == (1, 5, 3)
    np.testing.assert_array_equal(hot.translate, (100, 300, 0))
    np.testing.assert_array_equal(np.isnan(hot.data[0].T), LABELS[0] != 1)
    assert np.nansum(hot.data) == 4

    _click_row(qtbot, table, 0)  # crossline 301
    assert tuple(viewer.dims.order) == (1, 2, 0)
    assert viewer.dims.point[1] == 301
    assert hot.data.shape == (4, 1, 3) and np.nansum(hot.data) == 8
    assert seismic.name in viewer.layers


def test_widget_next_previous_without_a_seismic_layer(hotspots, run):
    viewer, widget = hotspots
    widget.set_run(str(run.path))
    widget.set_class(1)
    assert not widget.prev_button.isEnabled()
    widget.next_button.click()
    assert widget.current_row == 0 and widget.current_key == "crossline:301"
    # world coordinates from the run's sections: crosslines 300 + index
    assert tuple(viewer.dims.order) == (1, 2, 0) and viewer.dims.point[1] == 301
    widget.next_button.click()
    assert widget.current_key == "inline:100" and viewer.dims.point[0] == 100
    widget.next_button.click()
    widget.next_button.click()  # stays on the last row
    assert widget.current_key == "crossline:303" and not widget.next_button.isEnabled()
    assert viewer.dims.point[1] == 303
    widget.prev_button.click()
    assert widget.current_key == "inline:100"
    assert widget.table.currentRow() == 1


def test_widget_absent_class_message(hotspots, run):
    _, widget = hotspots
    widget.set_run(run)
    widget.set_class("c")
    assert widget.table.rowCount() == 0 and widget.ranking is None
    assert "class 'c' (id 2) is absent" in widget.status.text()
    assert widget.warnings and "absent" in widget.warnings[-1]
    assert not widget.select_button.isEnabled()


def test_widget_statistic_selection_and_export(hotspots, run, tmp_path):
    _, widget = hotspots
    widget.set_run(run)
    widget.set_class("b")
    widget.top_spin.setValue(2)
    sources = widget.use_as_style_sources()
    assert sources.sections == ("crossline:301", "inline:100")
    assert load_style_sources(run.path) == sources
    widget.set_statistic("total")
    assert widget.table.rowCount() == 4 and not widget.class_combo.isEnabled()
    assert widget.table.horizontalHeaderItem(1).text() == "density (all)"
    out = widget.export_csv(tmp_path / "total.csv")
    assert Ranking.from_csv(out).rows == rank_run(run, None, "total").rows


def test_widget_follows_a_running_run(hotspots, tmp_path, qtbot, monkeypatch):
    import threading

    from napari_forgetting._napari.widgets import hotspots as module

    _, widget = hotspots
    threads = []

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return rank_run(*args, **kwargs)

    monkeypatch.setattr(module, "rank_run", spy)
    store = make_run(tmp_path / "live", epochs_done=1, status="running")
    widget.timer.setInterval(20)
    widget.set_run(store)
    widget.set_class("b")
    assert widget.ranking.epoch == 0 and widget.timer.isActive()
    widget.go_to(0)
    assert widget.current_key == "inline:100"
    writer = RunStore.open(store.path, mode="a")
    flat = {
        "forgetting_events": _flat(EVENTS, np.uint16),
        "never_learned": _flat(NEVER, bool),
        "first_learned": _flat([np.zeros(s.shape) for s in SECTIONS], np.uint16),
        "confidence": _flat(CONFIDENCE, np.float32),
        "variability": _flat(VARIABILITY, np.float32),
    }
    writer.write_epoch(1, [lab.astype(np.uint8) for lab in LABELS], flat)
    writer.commit(2, status="finished")
    qtbot.waitUntil(lambda: widget.ranking.epoch == 1, timeout=5000)
    assert widget.table.item(0, 0).text() == "crossline 301"
    assert widget.current_key == "inline:100"  # the selection follows its section
    assert widget.current_row == 1
    qtbot.waitUntil(lambda: not widget.timer.isActive(), timeout=5000)
    # chosen by the user: ranked here; followed by the poll: ranked in a worker thread
    main_thread = threading.get_ident()
    assert threads[0] == main_thread and threads[-1] != main_thread
    assert widget.rank_worker is None


def test_a_background_ranking_for_a_class_no_longer_chosen_is_dropped(hotspots, run, qtbot):
    _, widget = hotspots
    widget.set_run(run)
    widget.set_class("b")
    widget._rank_in_background()
    worker = widget.rank_worker
    widget.set_statistic("total")  # ranked at once, here
    assert widget.ranking.statistic == "total"
    qtbot.waitUntil(lambda: widget.rank_worker is None, timeout=5000)
    assert worker is not None and widget.ranking.statistic == "total"
    assert widget.table.horizontalHeaderItem(1).text() == "density (all)"


def test_widget_is_a_manifest_contribution(make_napari_viewer, run):
    from napari_forgetting._napari.widgets.hotspots import HotspotsWidget

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-forgetting", "Hotspots")
    assert isinstance(widget, HotspotsWidget)
    widget.set_run(run)  # the viewer it gets is napari's public proxy: works the same
    widget.set_class("b")
    widget.next_row()
    assert tuple(viewer.dims.order) == (1, 2, 0) and viewer.dims.point[1] == 301
    assert "hotspot" in viewer.layers
