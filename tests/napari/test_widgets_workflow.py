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
    high = heat[0].contrast_limits[1]  # ... drawn once, in the dock, not over the sections
    assert w.scale.isVisibleTo(w) and f"to {high:g} coloured" in w.scale.toolTip()
    assert not any(layer.colorbar.visible for layer in heat)
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


def test_browse_a_pool_in_a_view_of_its_own(make_napari_viewer, saved_pool, tmp_path, capsys):
    from napari_forgetting._napari.pool_view import PANELS, pool_layer_name
    from napari_forgetting._napari.widgets.workflow import AugmentWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((4, 5, 6), np.float32), name="survey")
    w = AugmentWidget(viewer)
    viewer.window.add_dock_widget(w, name="Augment and retrain")
    assert w.browse_pool(tmp_path) is None  # no pool there: a message, no window
    assert "cannot browse the pool" in w.last_message and w.pool_view is None
    own = w.browse_pool(saved_pool)
    # never over the survey: a viewer of its own, the dock's viewer as it was
    assert own is not None and own is not viewer
    assert [layer.name for layer in viewer.layers] == ["survey"]
    browse = w.pool_view.browse
    assert f"browsing 6 pool sections of {saved_pool}" in w.last_message
    for stack in browse.stacks:  # side by side, left to right, not overlapping
        right = -np.inf
        for _, stem in PANELS:
            layer = own.layers[pool_layer_name(stem, stack.kind)]
            lo, hi = layer.extent.world[:, 2]
            assert lo > right
            right = hi
    # one slider over both kinds: the item in view is the one each layer of its kind shows
    role_of = {stem: role for role, stem in PANELS}
    for i in range(len(browse)):
        caption = w.pool_view.go_to(i)
        stack, j = browse.locate(i)
        assert caption.splitlines()[0] == browse.describe(i).splitlines()[0]
        assert "left to right: the target as it was, generated" in caption
        for other in browse.stacks:
            for _, stem in PANELS:
                layer = own.layers[pool_layer_name(stem, other.kind)]
                index = round(layer.world_to_data(own.dims.point)[0])
                if other is stack:
                    assert index == j
                    expected = getattr(stack, role_of[stem])[j]
                    np.testing.assert_array_equal(np.asarray(layer.data[index]), expected)
                else:
                    assert not 0 <= index < len(other)  # the other kind's layers show nothing
    # browsed again: the same window, the layers replaced
    assert w.browse_pool(saved_pool) is own
    assert len({layer.name for layer in own.layers}) == len(own.layers)
    own.close()


def test_view_command_browses_a_pool(make_napari_viewer, saved_pool, tmp_path, capsys):
    from napari_forgetting.cli import main

    shot = tmp_path / "pool.png"
    assert main(["view", str(saved_pool), "--item", "4", "--screenshot", str(shot),
                 "--quit"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "item 4 of 6:" in err and "std inside the scruff region" in err
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for args, message in [
        (["--item", "7"], "the pool has 6 items, no item 7"),
        (["--split", "test1"], "is a pool; --split: only for a compare report"),
    ]:
        assert main(["view", str(saved_pool), *args, "--quit"]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "pool.json").write_text("{")
    assert main(["view", str(tmp_path / "bad"), "--quit"]) == 2
    assert "pool.json: not a pool manifest" in capsys.readouterr().err
    assert main(["view", str(tmp_path), "--item", "1", "--quit"]) == 2
    assert "--item is for a pool folder" in capsys.readouterr().err
