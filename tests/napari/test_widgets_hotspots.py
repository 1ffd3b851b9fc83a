"""The Hotspots dock: its table, navigation, following a running run, statistics, export."""

from __future__ import annotations

import numpy as np
import pytest

from hotspot_run import (
    CONFIDENCE,
    EVENTS,
    LABELS,
    NEVER,
    SECTIONS,
    VARIABILITY,
    VOLUME_SHAPE,
    flat_maps,
    make_run,
)
from napari_forgetting.runs.hotspots import (
    Ranking,
    load_style_sources,
    rank_run,
)
from napari_forgetting.runs.store import RunStore


@pytest.fixture
def hotspots(make_napari_viewer, qtbot, monkeypatch):
    from napari_forgetting._napari.widgets import dock
    from napari_forgetting._napari.widgets import hotspots as module

    warnings: list[str] = []  # the notifications every dock shows (ForgettingDock.tell)
    monkeypatch.setitem(dock._NOTIFY, "warning", warnings.append)
    monkeypatch.setitem(dock._NOTIFY, "info", lambda text: None)
    viewer = make_napari_viewer()
    widget = module.HotspotsWidget(viewer)
    qtbot.addWidget(widget)
    widget.min_pixels_spin.setValue(0)  # the hand-made run's sections hold a few pixels
    widget.warnings = warnings
    return viewer, widget


def _click_row(qtbot, table, row):
    from qtpy.QtCore import Qt

    table.show()
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_widget_table_and_row_click_moves_dims_to_the_section(hotspots, hotspot_run, qtbot):
    viewer, widget = hotspots
    seismic = viewer.add_image(
        np.random.default_rng(0).normal(size=VOLUME_SHAPE).astype(np.float32),
        name="seismic",
        translate=(100, 300, 0),
    )
    widget.set_run(hotspot_run)
    widget.set_class("b")
    table = widget.table
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)] == [
        "crossline 301",
        "inline 100",
        "crossline 303",
    ]
    assert [table.item(1, c).text() for c in range(4)] == ["inline 100", "0.8000", "5", "4"]
    places = [table.verticalHeaderItem(r).text() for r in range(3)]
    assert places == widget.ranking.rank_labels() and places[0] == "1"

    _click_row(qtbot, table, 1)  # inline 100
    assert widget.current_row == 1
    assert tuple(viewer.dims.order) == (0, 2, 1) and viewer.dims.ndisplay == 2
    assert viewer.dims.point[0] == 100
    hot = viewer.layers["hotspot"]
    assert hot.data.shape == (1, 5, 3)
    # its colours stand out over any facies colour: every drawn colour is far (RGB distance
    # > 0.45) from every F3 class colour, scruff's orange among them
    from napari_forgetting.data import F3_CLASS_COLORS

    drawn = hot.colormap.map(np.linspace(0.05, 1.0, 20))[:, :3]
    classes = np.array(F3_CLASS_COLORS) / 255
    gaps = np.linalg.norm(drawn[:, None, :] - classes[None, :, :], axis=-1)
    assert gaps.min() > 0.45, gaps.min()
    np.testing.assert_array_equal(hot.translate, (100, 300, 0))
    np.testing.assert_array_equal(np.isnan(hot.data[0].T), LABELS[0] != 1)
    assert np.nansum(hot.data) == 4

    _click_row(qtbot, table, 0)  # crossline 301
    assert tuple(viewer.dims.order) == (1, 2, 0)
    assert viewer.dims.point[1] == 301
    assert hot.data.shape == (4, 1, 3) and np.nansum(hot.data) == 8
    assert seismic.name in viewer.layers


def test_widget_next_previous_without_a_seismic_layer(hotspots, hotspot_run):
    viewer, widget = hotspots
    widget.set_run(str(hotspot_run.path))
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
        "forgetting_events": flat_maps(EVENTS, np.uint16),
        "never_learned": flat_maps(NEVER, bool),
        "first_learned": flat_maps([np.zeros(s.shape) for s in SECTIONS], np.uint16),
        "confidence": flat_maps(CONFIDENCE, np.float32),
        "variability": flat_maps(VARIABILITY, np.float32),
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


def test_a_background_ranking_for_a_class_no_longer_chosen_is_dropped(hotspots, hotspot_run, qtbot):
    _, widget = hotspots
    widget.set_run(hotspot_run)
    widget.set_class("b")
    widget._rank_in_background()
    worker = widget.rank_worker
    widget.set_statistic("total")  # ranked at once, here
    assert widget.ranking.statistic == "total"
    qtbot.waitUntil(lambda: widget.rank_worker is None, timeout=5000)
    assert worker is not None and widget.ranking.statistic == "total"
    assert widget.table.horizontalHeaderItem(1).text() == "density (all)"


def test_widget_is_a_manifest_contribution(make_napari_viewer, hotspot_run):
    from napari_forgetting._napari.widgets.hotspots import HotspotsWidget

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-forgetting", "Hotspots")
    assert isinstance(widget, HotspotsWidget)
    widget.min_pixels_spin.setValue(0)
    widget.set_run(hotspot_run)  # the viewer it gets is napari's public proxy: works the same
    widget.set_class("b")
    widget.next_row()
    assert tuple(viewer.dims.order) == (1, 2, 0) and viewer.dims.point[1] == 301
    assert "hotspot" in viewer.layers


def test_widget_absent_class_message(hotspots, hotspot_run):
    _, widget = hotspots
    widget.set_run(hotspot_run)
    widget.set_class("c")
    assert widget.table.rowCount() == 0 and widget.ranking is None
    assert "class 'c' (id 2) is absent" in widget.status.text()
    assert widget.warnings and "absent" in widget.warnings[-1]
    assert not widget.select_button.isEnabled()


def test_widget_statistic_selection_and_export(hotspots, hotspot_run, tmp_path):
    _, widget = hotspots
    widget.set_run(hotspot_run)
    widget.set_class("b")
    widget.top_spin.setValue(2)
    sources = widget.use_as_style_sources()
    assert sources.sections == ("crossline:301", "inline:100")
    assert load_style_sources(hotspot_run.path) == sources
    widget.set_statistic("total")
    assert widget.table.rowCount() == 4 and not widget.class_combo.isEnabled()
    assert widget.table.horizontalHeaderItem(1).text() == "density (all)"
    out = widget.export_csv(tmp_path / "total.csv")
    assert Ranking.from_csv(out).rows == rank_run(hotspot_run, None, "total").rows


def test_widget_leaves_out_sections_with_few_class_pixels(hotspots, hotspot_run):
    from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

    viewer, widget = hotspots
    widget.set_run(hotspot_run)
    widget.set_class("b")
    assert widget.table.rowCount() == 3
    widget.min_pixels_spin.setValue(6)  # inline 100 holds 5 pixels of b
    assert [widget.table.item(r, 0).text() for r in range(widget.table.rowCount())] == [
        "crossline 301", "crossline 303"
    ]  # fmt: skip
    assert "(1 holding fewer left out)" in widget.status.text()
    widget.min_pixels_spin.setValue(DEFAULT_MIN_PIXELS)
    assert widget.table.rowCount() == 0
    assert f"holds {DEFAULT_MIN_PIXELS} pixels of class 'b'" in widget.warnings[-1]


def test_a_single_run_says_one_seed_and_shows_no_p_top_k(hotspots, hotspot_run):
    _, widget = hotspots
    widget.set_run(hotspot_run)
    widget.set_class("b")
    assert widget.table.columnCount() == 4 and widget.uncertainty is None
    assert "one seed" in widget.status.text() and "one seed" in widget.note
    assert widget.status.text().startswith("class b (id 1), statistic forgetting")


def test_an_unexpected_ranking_error_is_a_message(hotspots, hotspot_run, monkeypatch, qtbot):
    from napari_forgetting._napari.widgets import hotspots as module

    _, widget = hotspots

    def fails(*args, **kwargs):
        raise RuntimeError("every density is equal: class b was never learned")

    monkeypatch.setattr(module, "rank_run", fails)
    widget.set_run(hotspot_run)
    assert widget.ranking is None and widget.table.rowCount() == 0
    assert "never learned" in widget.status.text()
    assert widget.warnings == ["every density is equal: class b was never learned"]
    widget._rank_in_background()  # the same in the poll's worker
    qtbot.waitUntil(lambda: widget.rank_worker is None, timeout=10_000)
    assert "never learned" in widget.status.text() and widget.ranking is None


def test_a_uniform_ranking_says_so(hotspots, tmp_path):
    from hotspot_run import SECTIONS

    _, widget = hotspots
    store = make_run(tmp_path / "flat", events=[np.zeros(s.shape) for s in SECTIONS])
    widget.set_run(store)
    widget.set_class("b")
    assert widget.ranking is not None and widget.ranking.uniform
    assert "never learned or never forgotten" in widget.status.text()
    assert any("never learned or never forgotten" in w for w in widget.warnings)
