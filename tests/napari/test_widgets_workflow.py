"""Augment-and-retrain dock, napari writers (pytest-qt, tiny volumes)."""

from __future__ import annotations

import numpy as np

from napari_forgetting.data import open_volume
from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.runs.store import RunStore


def test_augment_and_retrain_from_the_dock(
    make_napari_viewer, qtbot, parent_run, transfer_checkpoint, tmp_path, check_heat_layer
):
    from napari_forgetting._napari.live_layers import HEAT_NAME, layer_name
    from napari_forgetting._napari.side_view import grid_of
    from napari_forgetting._napari.widgets.workflow import (
        PARENT_TAG,
        RETRAINED_TAG,
        AugmentWidget,
    )

    parent, ckpt = parent_run.path, transfer_checkpoint
    viewer = make_napari_viewer()
    w = AugmentWidget(viewer)
    viewer.window.add_dock_widget(w, name="Augment and retrain")  # as napari docks it
    w.set_run(parent)
    assert w.class_box.currentText() == "scruff"
    w.ckpt_edit.setText(str(ckpt))
    w.sources.setValue(1)
    w.per_source.setValue(2)
    w.epochs.setValue(1)
    w.out_edit.setText(str(tmp_path / "out"))
    # the one-epoch model cannot be measured with the default minimum: refused, a message
    w.start()
    qtbot.waitUntil(lambda: w.worker is None, timeout=180_000)
    assert "its quality cannot be measured here" in w.last_message, w.last_message
    assert not (tmp_path / "out" / "run").exists()
    # measured, it is below the bar: refused with its figures
    w.min_pixels.setValue(0)
    w.start()
    qtbot.waitUntil(lambda: w.worker is None, timeout=180_000)
    assert "is below the quality bar" in w.last_message, w.last_message
    w.force.setChecked(True)
    w.start()
    qtbot.waitUntil(lambda: w.worker is None, timeout=180_000)
    assert "finished after 1 epochs" in w.last_message, w.last_message
    child = RunStore.open(tmp_path / "out" / "run")
    assert child.info["parent"] == str(parent.resolve())
    assert child.status == "finished"
    # the dock's run records its pool as napari-forgetting retrain does (one retrain path)
    from napari_forgetting.workflow.augment import load_pool, pool_record

    pool_dir = tmp_path / "out" / "pool"
    assert child.info["augmented_pool"] == pool_record(load_pool(pool_dir), pool_dir)
    assert child.info["augmented_pool"]["count"] == 2
    names = [layer.name for layer in viewer.layers]
    # per section kind, as the live layers: a viewed section shows its own counts only, and
    # nothing volume-sized is allocated
    parent_store = RunStore.open(parent)
    for store, tag in ((parent_store, PARENT_TAG), (child, RETRAINED_TAG)):
        last = store.n_epochs - 1
        counts = store.flat_map("forgetting_events", last)
        for kind in ("inline", "crossline"):
            name = layer_name(HEAT_NAME, kind, tag)
            mine = [k for k, sec in enumerate(store.map_sections) if sec.kind == kind]
            assert (name in names) == bool(mine), name
            if not mine:
                continue
            layer = viewer.layers[name]
            assert not isinstance(layer.data, np.ndarray)  # a view of the flat counts
            check_heat_layer(layer, store, counts, kind)
    # one count scale for the parent and the retrained run
    heat = [viewer.layers[n] for n in names if n.startswith(HEAT_NAME + " (")]
    assert len({tuple(layer.contrast_limits) for layer in heat}) == 1
    assert grid_of(viewer).enabled
    # export: written once, refused the second time without overwrite
    assert w.export_pool(tmp_path / "export")
    assert (tmp_path / "export" / "pool.json").is_file()
    assert not w.export_pool(tmp_path / "export")
    assert "export failed" in w.last_message


def test_missing_inputs_give_a_message(make_napari_viewer, tmp_path):
    from napari_forgetting._napari.widgets.workflow import AugmentWidget

    w = AugmentWidget(make_napari_viewer())
    w.start()
    assert "choose a parent run" in w.last_message
    w.set_run(tmp_path / "nothing")
    assert "no such run directory" in w.last_message
    assert not w.export_pool(tmp_path)


def test_writers_roundtrip(make_napari_viewer, tmp_path):
    survey = make_f3_like((8, 12, 32), seed=4)
    from napari_forgetting.data.synthetic import write_survey

    path = write_survey(survey, tmp_path / "in", name="cube", formats=("segy",))["segy"]
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-forgetting")
    image, labels = layers
    vol_in = open_volume(path)
    for ext in (".sgy", ".npy", ".zarr"):
        out = tmp_path / f"saved{ext}"
        written = image.save(str(out), plugin="napari-forgetting")
        assert written == [str(out)]
        back = open_volume(out, find_labels_beside=False)
        np.testing.assert_array_equal(np.asarray(back.data), survey.seismic)
        if ext != ".npy":
            np.testing.assert_array_equal(back.inlines, vol_in.inlines)
            np.testing.assert_array_equal(back.crosslines, vol_in.crosslines)
    lab_out = tmp_path / "saved_labels.npy"
    labels.save(str(lab_out), plugin="napari-forgetting")
    np.testing.assert_array_equal(np.load(lab_out), survey.labels)
    assert not list(tmp_path.glob(".*.tmp"))
