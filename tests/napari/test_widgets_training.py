"""Live training in napari: the training dock widget, its live layers, replay and inspection.

Tiny synthetic volumes and a few small epochs keep each test to seconds on two CPU cores.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from types import SimpleNamespace

import numpy as np
import pytest

from napari_forgetting._napari import collector
from napari_forgetting._napari.live_layers import HEAT_NAME, PREDICTION_NAME, layer_name
from napari_forgetting._napari.widgets.training import TrainingWidget
from napari_forgetting.data.sections import scatter_sections
from napari_forgetting.dynamics import heat_limit
from napari_forgetting.training import Callback, TrainConfig

RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def survey():
    from napari_forgetting.data.synthetic import make_f3_like

    return make_f3_like((8, 16, 32), seed=3)


def _add_survey(viewer, survey):
    geometry = {"scale": (1.0, 2.0, 1.0), "translate": (100.0, 300.0, 0.0)}
    meta = {"class_names": list(survey.class_names)}
    seismic = viewer.add_image(survey.seismic, name="seismic", metadata=meta, **geometry)
    labels = viewer.add_labels(survey.labels, name="facies", metadata=meta, **geometry)
    return seismic, labels


def _widget(make_napari_viewer, survey, tmp_path, epochs=2):
    viewer = make_napari_viewer()
    seismic, labels = _add_survey(viewer, survey)
    widget = TrainingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Live training")
    widget.seismic.value, widget.labels.value = seismic, labels
    widget.epochs.value = epochs
    widget.batch_size.value = 2
    widget.patch.value = 16
    widget.patches.value = 4
    widget.device.value = "cpu"
    widget.run_folder.value = str(tmp_path / "run")
    return viewer, widget


def _wait_idle(qtbot, widget, timeout=RUN_TIMEOUT_MS):
    qtbot.waitUntil(lambda: not widget.running, timeout=timeout)


@pytest.fixture(scope="module")
def trained_run(survey, tmp_path_factory):
    """A finished 2-epoch run of the survey, trained as the widget trains (no viewer)."""
    from napari_forgetting._napari.layers import LayerVolume
    from napari_forgetting.training import Trainer

    n_il, n_xl, _ = survey.seismic.shape
    volume = LayerVolume(  # numbered as _add_survey's layers: inlines 100.., crosslines 300, 302..
        survey.seismic, survey.labels, 100 + np.arange(n_il), 300 + 2 * np.arange(n_xl),
        list(survey.class_names), {}, "seismic",
    )  # fmt: skip
    cfg = TrainConfig(epochs=2, batch_size=2, patch_size=(16, 16), patches_per_epoch=4,
                      device="cpu", num_threads=1)  # fmt: skip
    out = tmp_path_factory.mktemp("trained") / "run"
    Trainer(volume, cfg, out_dir=out).fit()
    return out


class Grab(Callback):
    """Keeps what the trainer knew at the end (tracker counts, sections) for the asserts."""

    def on_epoch_end(self, trainer, epoch, logs):
        self.trainer = trainer
        self.counts = [h.events.copy() for h in trainer.tracker.heatmaps()]
        self.sections = list(trainer.tracker_sections)


class Threads(Callback):
    """Whether each training step ran on the main (GUI) thread."""

    def __init__(self):
        self.on_main = []

    def on_batch_end(self, trainer, epoch, batch, loss):
        self.on_main.append(threading.current_thread() is threading.main_thread())


def test_heat_layer_holds_exactly_the_tracker_counts_after_two_epochs(
    make_napari_viewer, qtbot, survey, tmp_path
):
    """Also: every training step runs on a worker thread while the GUI's event loop keeps
    serving a timer. (How long the GUI thread waits at most is a figure for a benchmark,
    not a pass/fail of a test: ``benchmarks/bench_gui.py``.)"""
    from qtpy.QtCore import QTimer

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    grab, threads = Grab(), Threads()
    widget.extra_callbacks = [grab, threads]
    widget.sweep_seconds = 1e-9  # every evaluated section drawn before its epoch ends
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(len(threads.on_main)))
    layer_ids = []
    widget.start()
    timer.start()
    qtbot.waitUntil(lambda: widget.live is not None, timeout=RUN_TIMEOUT_MS)
    layer_ids.append(id(widget.live.layer(HEAT_NAME, "inline")))
    _wait_idle(qtbot, widget)
    timer.stop()
    assert len(threads.on_main) == 2 * 2 and not any(threads.on_main)
    seen = widget.events_seen
    n_tracked = len(grab.trainer.tracked_sections)
    assert seen.count("SweepShown") == 2 * n_tracked
    assert seen.index("SweepShown") < seen.index("EpochDone")
    # the timer fired while batches were still to come: the loop ran during training
    assert any(n < len(threads.on_main) for n in ticks)

    heat = widget.live.layer(HEAT_NAME, "inline")
    assert id(heat) == layer_ids[0] and heat in viewer.layers  # updated in place
    assert grab.trainer.epoch == 2
    shape = survey.seismic.shape
    for kind in ("inline", "crossline"):  # each kind's layer holds its own sections only
        layer = widget.live.layer(HEAT_NAME, kind)
        mine = [(s, c) for s, c in zip(grab.sections, grab.counts, strict=True) if s.kind == kind]
        assert mine
        expected = scatter_sections(*zip(*mine, strict=True), shape, fill=np.nan)
        tracked = ~np.isnan(expected)
        data = np.asarray(layer.data)
        np.testing.assert_array_equal(data[tracked], expected[tracked])
        assert (data[~tracked] == 0).all()  # nothing elsewhere (transparent)
        for sec, counts in mine:  # a viewed section shows exactly its own counts
            index = (sec.index, slice(None), slice(None)) if kind == "inline" else (
                slice(None), sec.index, slice(None))  # fmt: skip
            np.testing.assert_array_equal(layer.data[index], counts.T)
    # aligned with the seismic; zero transparent, then a perceptual ramp; stable limits
    seismic = viewer.layers["seismic"]
    np.testing.assert_allclose(heat.scale, seismic.scale)
    np.testing.assert_allclose(heat.translate, seismic.translate)
    assert heat.colormap.colors[0][3] == 0 and (heat.colormap.colors[1:, 3] == 1).all()
    assert heat.colormap.map(np.array([0.0]))[0][3] == 0  # zero events: transparent
    lum = heat.colormap.colors[1:, :3] @ [0.2126, 0.7152, 0.0722]
    assert (np.diff(lum) > 0).all()  # luminance rises with the count (perceptual)
    assert not heat.colorbar.visible and widget.scale.isVisibleTo(widget)  # scale off the data
    # the upper limit comes from the training thread's heat_limit of the last counts
    all_counts = np.concatenate([c.ravel() for c in grab.counts])
    assert tuple(heat.contrast_limits) == (0.0, max(1.0, heat_limit(all_counts)))
    # prediction: class ids on the evaluated sections, with the class colours
    last = grab.trainer.store.prediction(0)
    sec = widget.live.geometry.eval_sections[0]
    pred = widget.live.layer(PREDICTION_NAME, sec.kind)
    at = (sec.index, slice(None), slice(None)) if sec.kind == "inline" else (
        slice(None), sec.index, slice(None))  # fmt: skip
    np.testing.assert_array_equal(pred.data[at], last.T)
    # model and optimiser released after the run; layers still bound
    assert grab.trainer.model is None and grab.trainer.optimizer is None
    # frozen since the model was built: full collections skip the long-lived heap
    assert gc.get_freeze_count() > 0
    assert widget.worker is None and not widget.stop_button.enabled
    # 3-D view renders the same layer
    viewer.dims.ndisplay = 3
    viewer.dims.ndisplay = 2


def test_replay_an_earlier_epoch_from_the_run_store(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run
):
    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    widget.open_run(trained_run)
    store = widget.store.refresh()
    assert widget.epoch_slider.max == 2 and widget.epoch_slider.value == 2
    widget.epoch_slider.value = 1  # replay epoch 1 of 2: read in a worker, then drawn
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    assert widget.live.epoch == 0
    heat = widget.live.layer(HEAT_NAME, "inline")
    flat = store.flat_map("forgetting_events", 0)
    for k, sec in enumerate(store.map_sections):
        if sec.kind == "inline":
            counts = flat[store.map_offsets[k] : store.map_offsets[k + 1]].reshape(sec.shape)
            np.testing.assert_array_equal(heat.data[sec.index], counts.T)


def test_replay_reads_in_a_worker_and_shows_the_last_epoch_asked(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run, monkeypatch, notifications
):
    from napari_forgetting.runs.store import RunStore

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    widget.open_run(trained_run)
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    assert widget.live.epoch == 1  # the last epoch, followed
    reads: list[tuple[int, str]] = []
    read = RunStore.epoch_arrays

    def slow_read(store, epoch, names):
        reads.append((epoch, threading.current_thread().name))
        time.sleep(0.3)
        return read(store, epoch, names)

    monkeypatch.setattr(RunStore, "epoch_arrays", slow_read)
    main = threading.current_thread().name
    t0 = time.perf_counter()
    for epoch in (0, 1, 0):  # a slider dragged along
        widget.show_epoch(epoch)
    assert time.perf_counter() - t0 < 0.25  # none of the reads on the GUI thread
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    # the read under way, then only the last epoch asked; the superseded one never drawn
    assert [e for e, _ in reads] == [0, 0] and all(name != main for _, name in reads)
    assert widget.live.epoch == 0
    store = widget.store
    flat = store.flat_map("forgetting_events", 0)
    heat = widget.live.layer(HEAT_NAME, "inline")
    for k, sec in enumerate(store.map_sections):
        if sec.kind == "inline":
            counts = flat[store.map_offsets[k] : store.map_offsets[k + 1]].reshape(sec.shape)
            np.testing.assert_array_equal(heat.data[sec.index], counts.T)

    def failed_read(store, epoch, names):
        raise OSError("the disk went away")

    monkeypatch.setattr(RunStore, "epoch_arrays", failed_read)
    widget.show_epoch(1)
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    assert any("cannot show epoch 2: the disk went away" in m for m in notifications)
    assert widget.live.epoch == 0  # what was shown stays


def test_stop_mid_run_then_resume_continues_the_same_run(
    make_napari_viewer, qtbot, survey, tmp_path, notifications
):
    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=200)
    widget.start()
    qtbot.waitUntil(lambda: "EpochDone" in widget.events_seen, timeout=RUN_TIMEOUT_MS)
    heat = widget.live.layer(HEAT_NAME, "inline")
    widget.stop()
    _wait_idle(qtbot, widget)
    store = widget.store.refresh()
    done = store.n_epochs
    assert store.status == "stopped" and 1 <= done < 200
    assert any("stopped after" in m for m in notifications)
    assert widget.resume_button.enabled

    viewer.layers.selection.active = viewer.layers["seismic"]  # selection must not matter
    widget.epochs.value = done + 1
    widget.resume()
    _wait_idle(qtbot, widget)
    store.refresh()
    assert store.status == "finished" and store.n_epochs == done + 1
    assert widget.live.layer(HEAT_NAME, "inline") is heat  # bound to the same layer
    assert any("training finished" in m for m in notifications)


def test_stop_at_once_ends_the_worker_cleanly(
    make_napari_viewer, qtbot, survey, tmp_path, notifications, monkeypatch
):
    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=50)
    widget.run_folder.line_edit.value = ""  # cleared: a folder under $NAPARI_FORGETTING_RUNS
    monkeypatch.setenv("NAPARI_FORGETTING_RUNS", str(tmp_path / "my runs"))
    widget.start()
    widget.stop()  # before (or just after) the trainer is built: a stop, not a failure
    _wait_idle(qtbot, widget)
    assert widget.run_dir.parent == tmp_path / "my runs"
    assert widget.run_dir.name.startswith("seismic-")
    assert widget.worker is None and widget.start_button.enabled
    assert any("stopped" in m for m in notifications)
    assert not any("failed" in m for m in notifications)


def test_injected_error_is_reported_and_the_next_run_still_shows_progress(
    make_napari_viewer, qtbot, survey, tmp_path, notifications, monkeypatch
):
    from napari_forgetting._napari.widgets import training

    bars = []
    real_progress = training.progress

    def recording_progress(*args, **kwargs):
        bar = real_progress(*args, **kwargs)
        bars.append(bar)
        return bar

    monkeypatch.setattr(training, "progress", recording_progress)

    class Boom(Callback):
        def on_batch_end(self, trainer, epoch, batch, loss):
            if epoch == 1:
                raise RuntimeError("injected failure in batch")

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=3)
    widget.extra_callbacks = [Boom()]
    widget.start()
    _wait_idle(qtbot, widget)
    assert any("training failed" in m and "injected failure" in m for m in notifications)
    assert widget.store.refresh().status == "failed"
    assert len(bars) == 1
    # the viewer keeps working
    viewer.add_image(np.zeros((4, 4, 4)), name="after the error")
    viewer.dims.set_point(0, 101)
    # and the next run shows its progress bar and notification again
    widget.extra_callbacks = []
    widget.run_folder.value = str(tmp_path / "second")
    widget.epochs.value = 1
    widget.start()
    _wait_idle(qtbot, widget)
    assert len(bars) == 2 and bars[1].n > 0
    assert any("training finished" in m for m in notifications)
    assert not any("could not show" in m for m in widget.messages)


def test_click_on_tracked_pixel_shows_history_and_elsewhere_says_untracked(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run
):
    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    widget.open_run(trained_run)  # world coordinates from the seismic layer of that shape
    # inline index 0 (number 100) is a validation section; crossline index 3 -> world 306
    tracked = (100.0, 306.0, 12.0)
    event = SimpleNamespace(type="mouse_press", position=tracked)
    callback = widget.view._on_mouse(viewer, event)
    next(callback)
    event.type = "mouse_release"
    with pytest.raises(StopIteration):
        next(callback)
    plot = widget.pixel_plot
    assert plot is not None and plot.history is not None
    history = plot.history
    assert history.section.key == "inline:100" and (history.row, history.col) == (12, 3)
    assert history.correct.size == 2
    assert history.true_class == int(survey.labels[0, 3, 12])
    assert "true" in plot.text.text() and "forgetting event" in plot.text.text()
    assert np.isfinite(history.density).any()

    message = widget.inspect((101.0, 302.0, 12.0))  # inline 101, crossline index 1: untracked
    assert "not tracked" in message and "inlines 100, 105" in message
    assert "not tracked" in plot.text.text()


def test_open_a_run_store_and_follow_it_while_it_is_written(
    make_napari_viewer, qtbot, tmp_path, check_heat_layer
):
    from napari_forgetting.data.sections import paper_split as split_of
    from napari_forgetting.runs.store import RunStore

    shape = (6, 11, 16)
    sections = split_of(shape, 5).validation
    labels = [np.zeros(s.shape, np.uint8) for s in sections]
    store = RunStore.create(
        tmp_path / "cli-run",
        eval_sections=sections,
        eval_labels=labels,
        maps={"forgetting_events": np.uint8, "never_learned": bool},
        epochs=3,
        volume_shape=shape,
        class_names=["a", "b"],
    )
    store.commit(status="running")
    viewer = make_napari_viewer()
    widget = TrainingWidget(viewer)
    widget.open_run(store.path)
    assert widget.poll_timer.isActive()
    n = int(store.map_offsets[-1])
    counts = np.arange(n, dtype=np.uint8) % 3
    store.write_epoch(
        0, np.zeros(n, np.uint8), {"forgetting_events": counts, "never_learned": np.zeros(n, bool)}
    )
    store.commit(1, history=[{"epoch": 0, "loss": 1.0}], status="finished")
    widget.poll()  # the new epoch is read in a worker, then drawn
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    for kind in widget.live.kinds:
        check_heat_layer(widget.live.layer(HEAT_NAME, kind), store, counts, kind)
    assert widget.epoch_slider.max == 1 and not widget.poll_timer.isActive()


def test_start_leaves_torch_to_the_worker_and_the_heap_is_frozen_while_a_run_is_shown(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run, monkeypatch
):
    """The Start click builds and checks the config without the trainer's module (torch is
    imported by the worker) and collects once; opening a run freezes what is alive; a layer
    removed from the viewer thaws it, so the layer is reclaimed; the variable turns it off."""
    import napari_forgetting._napari.widgets.training as training_dock

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path)
    launched = []
    monkeypatch.setattr(
        training_dock, "start_worker", lambda *a, **k: launched.append((a, k)) or None
    )
    with monkeypatch.context() as m:  # the GUI thread may not import the trainer's module
        m.setitem(sys.modules, "napari_forgetting.training.segmentation", None)
        m.setattr(gc, "freeze", lambda: pytest.fail("the click collects, it does not freeze"))
        widget.start()
    assert launched and not any("cannot start" in m for m in widget.messages)
    assert gc.get_freeze_count() == 0
    build = launched[0][0][1]
    assert type(build()).__name__ == "Trainer"  # the worker's job imports and builds it
    widget._set_running(False)

    doomed = viewer.add_image(np.zeros((4, 5, 6), np.float32), name="doomed")
    data = weakref.ref(doomed.data)
    widget.open_run(trained_run)
    assert gc.get_freeze_count() > 0
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    del doomed
    viewer.layers.remove("doomed")  # thawed: the next full collection reclaims the layer
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert data() is None

    monkeypatch.setenv(collector.ENV, "0")
    widget.open_run(trained_run)
    assert gc.get_freeze_count() == 0
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)


def test_metrics_plot_renders_in_a_helper_thread(qtbot):
    import threading

    from napari_forgetting._napari.widgets.plots import MetricsPlot

    plot = MetricsPlot(None, ["a", "b"])
    qtbot.addWidget(plot)
    threads: list[str] = []
    build = plot._build
    plot._build = lambda *a: (threads.append(threading.current_thread().name), build(*a))[1]
    logs = {"epoch": 0, "loss": 1.0, "class_accuracy": [0.5, 0.2], "pixel_accuracy": 0.4,
            "mean_class_accuracy": 0.35}  # fmt: skip
    plot.set_history([logs, {**logs, "epoch": 1, "loss": 0.5}])
    assert plot.wait()
    qtbot.waitUntil(lambda: plot.canvas.pixmap() is not None and not plot.canvas.pixmap().isNull())
    assert threads and all(t == "metrics-plot" for t in threads)
    assert plot.axes[1].get_legend_handles_labels()[1] == ["a", "b", "mean"]
    assert "epoch 2: loss 0.5000" in plot.text.text()


def test_metrics_plot_closed_before_its_delayed_render_is_harmless(qtbot, monkeypatch):
    import threading

    from napari_forgetting._napari.widgets.plots import MetricsPlot

    errors: list = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    plot = MetricsPlot(None, ["a"])
    assert plot.wait()
    logs = {"epoch": 0, "loss": 1.0, "class_accuracy": [0.5], "mean_class_accuracy": 0.5}
    plot.set_history([logs])  # the render waits render_delay_s ...
    renders = plot.renders
    plot.close()
    plot.deleteLater()
    qtbot.wait(50)  # ... and the Qt object is deleted before it emits
    end = time.monotonic() + 10
    while time.monotonic() < end and plot.renders == renders:
        time.sleep(0.02)
    time.sleep(0.1)
    assert plot.renders == renders + 1
    assert errors == []


def test_the_layers_of_the_viewed_section_kind_are_shown(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run
):
    """An inline view shows the inline map layers, a crossline view the crossline ones, 3-D
    both; a family the user switched off stays off; clicking where sections cross inspects
    the section in view."""
    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    widget.open_run(trained_run)
    live = widget.live
    assert live.kinds == ("inline", "crossline")
    heat = {k: viewer.layers[layer_name(HEAT_NAME, k)] for k in live.kinds}
    pred = {k: live.layer(PREDICTION_NAME, k) for k in live.kinds}
    viewer.dims.order = (0, 2, 1)  # inline sections, depth down
    assert heat["inline"].visible and not heat["crossline"].visible
    assert not pred["inline"].visible  # the prediction starts hidden
    viewer.dims.order = (1, 2, 0)  # crossline sections
    assert heat["crossline"].visible and not heat["inline"].visible
    viewer.dims.ndisplay = 3
    assert heat["crossline"].visible and heat["inline"].visible
    viewer.dims.ndisplay = 2
    pred["crossline"].visible = True  # the user switches the prediction on ...
    heat["crossline"].visible = False  # ... and the heat map off
    viewer.dims.order = (0, 2, 1)
    assert pred["inline"].visible and not heat["inline"].visible
    # inline 100 (index 0) crosses crossline 310 (index 5): the viewed kind is inspected
    assert "inline 100" in widget.inspect((100.0, 310.0, 4.0))
    viewer.dims.order = (1, 2, 0)
    assert "crossline 310" in widget.inspect((100.0, 310.0, 4.0))


def test_the_3d_survey_view_shows_planes_with_the_heat_maps_inside(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run
):
    from napari_forgetting._napari.view3d import PLANE_NAMES, SURVEY_ANGLES, plane_step

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    widget.open_run(trained_run)
    live = widget.live
    widget.view_survey_3d()
    assert viewer.dims.ndisplay == 3
    planes = [viewer.layers[name] for name in PLANE_NAMES.values()]
    assert [tuple(p.plane.normal) for p in planes] == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    assert all(p.depiction == "plane" and p.visible for p in planes)
    assert not viewer.layers["seismic"].visible  # no opaque block
    facies = widget.labels.value
    assert not facies.visible  # nor a translucent block of labels over the planes
    heat = [live.layer(HEAT_NAME, kind) for kind in live.kinds]
    assert all(h.visible for h in heat)
    assert max(map(viewer.layers.index, planes)) < min(map(viewer.layers.index, heat))
    # in 3-D only the hotspots are drawn: counts from above half the scale, the rest clear
    low, high = live.heat_limits()
    assert high == live.heat_max and low == max(1, int(0.5 * high) + 1) - 0.5
    assert all(tuple(h.contrast_limits) == (low, high) for h in heat)
    assert viewer.dims.order == (0, 2, 1)  # depth down, the oblique camera
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    assert tuple(camera.angles) == pytest.approx(SURVEY_ANGLES)
    widget.survey_button.changed.emit(True)  # again: the same planes, moved to the point
    assert [viewer.layers[name] for name in PLANE_NAMES.values()] == planes
    widget.view_sections("crossline")
    assert viewer.dims.ndisplay == 2 and viewer.layers["seismic"].visible
    assert facies.visible  # the labels this view hid are back
    assert not any(p.visible for p in planes)
    assert heat[1].visible and not heat[0].visible
    assert all(tuple(h.contrast_limits) == (0.0, live.heat_max) for h in heat)  # 2-D again
    for heat_max, limits in [(1.0, (0.5, 1.0)), (2.0, (1.5, 2.0)), (6.0, (3.5, 6.0)),
                             (7.0, (3.5, 7.0))]:  # fmt: skip
        live.heat_max = heat_max
        viewer.dims.ndisplay = 3
        assert live.heat_limits() == limits
        viewer.dims.ndisplay = 2
        assert live.heat_limits() == (0.0, heat_max)
    assert plane_step((401, 701, 255)) == 2 and plane_step((8, 16, 32)) == 1


def test_one_colour_scale_off_the_data_titled_with_whole_counts(
    make_napari_viewer, survey, tmp_path, trained_run
):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401 - Agg present

    from napari_forgetting._napari.live_layers import colour_scale_image

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    widget.open_run(trained_run)
    live = widget.live
    heat = [live.layer(HEAT_NAME, kind) for kind in live.kinds]
    assert not any(h.colorbar.visible for h in heat)  # nothing drawn over the section
    assert widget.scale.isVisibleTo(widget) and not widget.scale.pixmap().isNull()
    assert "forgetting events" in widget.scale.toolTip()
    shown = widget.scale.pixmap().toImage()
    before = shown.copy()
    widget.view_survey_3d()  # 3-D draws from a higher count: the scale follows
    assert widget.scale.pixmap().toImage() != before or live.heat_max <= 1
    # whole counts: each count from the first drawn is one flat colour cell of the bar
    image = colour_scale_image(0.0, 4.0, width=320, height=64)
    assert image.shape == (64, 320, 4)
    row = image[int(64 * (1 - 0.57))]  # through the bar's middle
    bar = row[int(0.3 * 320) + 2 : int(0.96 * 320) - 2]
    colours = {tuple(c) for c in bar[:, :3]}
    assert 4 <= len(colours) <= 4 + 8  # four cells (tick marks and edges aside)


def test_layers_read_from_files_record_the_files_for_the_command_line(
    make_napari_viewer, survey, tmp_path
):
    """A run on layers our reader opened records their files (so augment / retrain /
    export reopen them); labels held only in memory make it a napari-layer record."""
    from napari_forgetting._napari.layers import LayerVolume, layer_source
    from napari_forgetting.data.source import open_source

    seismic_file = tmp_path / "s_seismic.npy"
    np.save(seismic_file, np.asarray(survey.seismic, np.float32))
    np.save(tmp_path / "s_labels.npy", np.asarray(survey.labels, np.uint8))
    viewer = make_napari_viewer()
    seismic, labels = viewer.open(str(seismic_file), plugin="napari-forgetting")
    volume = LayerVolume.from_layers(seismic, labels)
    assert volume.source == {"kind": "file", "path": str(seismic_file), "iline": 189,
                             "xline": 193, "labels": str(tmp_path / "s_labels.npy")}  # fmt: skip
    reopened = open_source(volume.source)
    np.testing.assert_array_equal(np.asarray(reopened.labels), survey.labels)
    painted = viewer.add_labels(np.asarray(survey.labels), name="painted")
    assert layer_source(seismic, painted) == {"kind": "napari", "layer": seismic.name}


def test_save_movie_of_the_viewed_tracked_section_else_the_hottest(
    make_napari_viewer, qtbot, survey, tmp_path, trained_run
):
    from PIL import Image

    viewer, widget = _widget(make_napari_viewer, survey, tmp_path, epochs=2)
    assert not widget.movie_button.enabled  # no run yet
    assert widget.save_movie(tmp_path / "early.gif") is None
    assert "open or finish a run" in widget.messages[-1]
    widget.open_run(trained_run)
    assert widget.movie_button.enabled
    widget.view_sections("inline")
    viewer.dims.set_point(0, 100)  # inline 100 (index 0): tracked
    assert widget.viewed_section().key == "inline:100"
    out = widget.save_movie(tmp_path / "inline.gif")
    assert out == tmp_path / "inline.gif" and "inline 100 over 2 epochs" in widget.messages[-1]
    with Image.open(out) as im:
        assert im.n_frames == 2 and im.size == (1280, 800)
    viewer.dims.set_point(0, 101)  # untracked: the run's hottest section instead
    assert widget.viewed_section() is None
    before = ([layer.name for layer in viewer.layers], viewer.dims.point, viewer.dims.order)
    assert widget.save_movie(tmp_path / "hottest.gif") is not None
    hottest = widget.messages[-1]
    # the movie is rendered in a viewer of its own: the user's layers and view stay
    assert ([layer.name for layer in viewer.layers], viewer.dims.point, viewer.dims.order) == before
    from napari_forgetting.runs.epoch_frames import hottest_section

    section = hottest_section(widget.store)
    assert f"{section.kind} {section.number} over 2 epochs" in hottest
    assert widget.save_movie("") is None and "choose a movie file" in widget.messages[-1]
    assert widget.save_movie(tmp_path / "x.webm") is None and "not .webm" in widget.messages[-1]
