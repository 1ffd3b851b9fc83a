"""The "Transfer" dock widget: Fig. 3 preview, bad-input messages, training in a worker.

A tiny synthetic volume and an untrained tiny model keep the file to seconds on two CPU cores.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_forgetting._napari.widgets.transfer import LAYER_NAMES, SOURCE_LABELS, TransferWidget

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCRUFF = "scruff"


@pytest.fixture(scope="module")
def survey():
    from napari_forgetting.data.synthetic import make_f3_like

    s = make_f3_like((8, 12, 32), seed=1)
    labels = np.array(s.labels, copy=True)
    k = list(s.class_names).index(SCRUFF)
    assert (labels == k).any()
    labels[0][labels[0] == k] = 0  # inline 0 holds no scruff: the absent-class case
    return s, labels


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import torch

    from napari_forgetting.model.checkpoint import save_checkpoint
    from napari_forgetting.transfer.model import RegionStyleTransfer, TransferModelConfig

    torch.manual_seed(0)
    cfg = TransferModelConfig(n_classes=6, style_dim=4, ngf=4, n_up=3, encoder_width=4)
    model = RegionStyleTransfer(cfg)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    state = {
        "kind": "napari_forgetting.transfer",
        "model_config": cfg.to_dict(),
        "model": model.state_dict(),
    }
    return save_checkpoint(path, state)


def _widget(make_napari_viewer, survey):
    s, labels = survey
    viewer = make_napari_viewer()
    meta = {"class_names": list(s.class_names)}
    viewer.add_image(np.asarray(s.seismic), name="seismic", metadata=meta)
    viewer.add_labels(labels, name="facies", metadata=meta)
    widget = TransferWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Transfer")
    return viewer, widget


def _scruff_sections(widget, labels, k):
    return [f"inline:{i}" for i in range(labels.shape[0]) if (labels[i] == k).any()]


def test_preview_shows_fig3_panels(make_napari_viewer, survey, checkpoint):
    viewer, widget = _widget(make_napari_viewer, survey)
    assert widget.class_combo.value == SCRUFF  # default class
    assert widget.load_checkpoint(checkpoint)
    k = widget.class_id
    keys = _scruff_sections(widget, survey[1], k)
    assert len(keys) >= 3
    widget.source_a.value, widget.source_b.value = keys[0], keys[1]
    widget.target.value = ""  # random target among sections holding the class
    arrays = widget.preview()
    assert arrays is not None, widget.messages
    assert widget.target.value
    rows, cols = arrays["target"].shape
    assert rows == 32 and cols in (8, 12)
    # drawn in a 2-D view of their own, not in the volume's world
    preview = widget.side.own
    assert preview is not None and preview is not viewer
    assert not [n for n in viewer.layers if n.name.startswith("transfer:")]
    for role, name in LAYER_NAMES.items():
        layer = preview.layers[name]
        assert layer is widget.layers[role]
        # the source is an inline; the target an inline or a crossline
        assert layer.data.shape == ((rows, 12) if role == "source" else (rows, cols))
    xs = [preview.layers[n].translate[1] for n in LAYER_NAMES.values()]
    assert xs == sorted(xs) and len(set(xs)) == 5  # side by side
    np.testing.assert_array_equal(preview.layers[LAYER_NAMES["labels"]].data, arrays["labels"])
    # the source's labels are outlined on it; the figures are shown under the form
    outline = preview.layers[SOURCE_LABELS]
    assert outline.contour == 1 and outline.translate[1] == xs[3]
    np.testing.assert_array_equal(outline.data, arrays["source_labels"] == k)
    figures = arrays["figures"]
    assert f"|A - B| {figures['inside']:.3f} std inside" in widget.figures.value
    assert "source A: RMS" in widget.figures.value
    # same sources: a zero difference; previews reuse the widget's layers
    widget.target.value = keys[2]
    widget.source_b.value = keys[0]
    again = widget.preview()
    assert again is not None
    assert np.abs(again["difference"]).max() == 0
    assert widget.side.own is preview and len(preview.layers) == 6
    assert all(n.name.startswith("transfer:") for n in preview.layers)
    # the preview layers are not offered as inputs
    assert all(c is None or c.ndim == 3 for c in widget.seismic.choices)
    # closed by the user: the next preview opens its view again
    preview.close()
    assert widget.preview() is not None
    assert widget.side.own is not preview and len(widget.side.own.layers) == 6
    widget.side.own.close()


def test_preview_button_transfers_in_a_worker_thread(
    make_napari_viewer, survey, checkpoint, qtbot, monkeypatch
):
    import threading

    from napari_forgetting._napari.widgets import transfer as transfer_widget

    viewer, widget = _widget(make_napari_viewer, survey)
    assert widget.load_checkpoint(checkpoint)
    keys = _scruff_sections(widget, survey[1], widget.class_id)
    widget.source_a.value, widget.source_b.value, widget.target.value = keys[:3]
    threads: list[str] = []
    compute = transfer_widget._compute_preview

    def spy(**inputs):
        threads.append(threading.current_thread().name)
        return compute(**inputs)

    monkeypatch.setattr(transfer_widget, "_compute_preview", spy)
    widget.preview_button.changed.emit(True)  # the button's own signal
    assert widget.preview_worker is not None and not widget.preview_button.enabled
    qtbot.waitUntil(lambda: widget.preview_worker is None, timeout=60_000)
    assert threads and threads[0] != threading.main_thread().name
    assert widget.preview_button.enabled
    assert widget.last_result is not None
    for role, name in LAYER_NAMES.items():
        np.testing.assert_array_equal(widget.side.own.layers[name].data, widget.last_result[role])
    # an error in the worker is one clear message, and the button works again
    widget.source_a.value = "inline:0"  # no scruff there: transfer() raises in the worker
    widget.preview_in_background()
    qtbot.waitUntil(lambda: widget.preview_worker is None, timeout=60_000)
    assert "does not occur in the style source" in widget.messages[-1]
    assert widget.preview_button.enabled


def test_absent_class_and_bad_input_are_messages(
    make_napari_viewer, survey, checkpoint, notifications
):
    viewer, widget = _widget(make_napari_viewer, survey)
    assert widget.method.value == "stratal"  # the default needs no model
    widget.method.value = "learned"
    assert widget.preview() is None
    assert "no transfer model" in widget.messages[-1]
    widget.load_checkpoint(checkpoint)
    assert widget.method.value == "learned"
    keys = _scruff_sections(widget, survey[1], widget.class_id)
    widget.target.value = keys[0]
    widget.source_a.value = "inline:0"  # no scruff there
    widget.source_b.value = keys[1]
    assert widget.preview() is None
    assert "does not occur in the style source" in widget.messages[-1]
    widget.source_a.value, widget.target.value = keys[1], "inline:0"
    assert widget.preview() is None
    assert "does not occur in the target" in widget.messages[-1]
    widget.target.value = "inline:99"
    assert widget.preview() is None
    assert "no inline numbered 99" in widget.messages[-1]
    assert not widget.load_checkpoint(checkpoint.parent / "missing.pt")
    assert any("does not occur" in m for m in notifications)


def test_the_first_preview_works_with_the_defaults(make_napari_viewer, survey, qtbot):
    # a new user's first click: no model, no sources, no target -> the stratal transfer
    # from the sections richest in the class onto a random section holding it
    viewer, widget = _widget(make_napari_viewer, survey)
    assert not widget.source_a.value and not widget.target.value and widget.model is None
    result = widget.preview()
    assert result is not None, widget.messages[-1]
    from napari_forgetting.data.sections import all_sections, section_labels

    k, volume = widget.class_id, widget._volume()
    counts = {s.key: int(np.sum(section_labels(volume.labels, s) == k))
              for s in all_sections(volume)}  # fmt: skip
    assert counts[widget.source_a.value] == max(counts.values())
    assert counts[widget.target.value] > 0


def test_training_in_worker_writes_loadable_checkpoint(make_napari_viewer, survey, tmp_path, qtbot):
    from napari_forgetting.transfer import load_transfer_model

    viewer, widget = _widget(make_napari_viewer, survey)
    widget.epochs.value = 1
    widget.patch.value = 16
    widget.patches.value = 4
    widget.ngf.value = 4
    widget.device.value = "cpu"
    widget.out_folder.value = str(tmp_path / "tr")
    widget.train()
    assert widget.running
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert (tmp_path / "tr" / "checkpoint.pt").is_file(), widget.messages
    assert "finished" in " ".join(widget.messages)
    assert widget.model is not None
    assert load_transfer_model(tmp_path / "tr").n_classes == 6
    keys = _scruff_sections(widget, survey[1], widget.class_id)
    widget.source_a.value, widget.source_b.value, widget.target.value = keys[:3]
    assert widget.preview() is not None


def test_stop(make_napari_viewer, survey, tmp_path, qtbot):
    viewer, widget = _widget(make_napari_viewer, survey)
    widget.epochs.value = 50
    widget.patch.value = 16
    widget.patches.value = 4
    widget.ngf.value = 4
    widget.device.value = "cpu"
    widget.out_folder.value = str(tmp_path / "st")
    widget.train()
    qtbot.waitUntil(lambda: widget.pbar is not None and widget.pbar.n > 0, timeout=120_000)
    widget.stop()  # the user's click, after the first batch
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    text = " ".join(widget.messages)
    assert "transfer training stopped after" in text and "of 50 epochs" in text, text
    assert "finished" not in text
    assert not widget.stop_button.enabled and widget.train_button.enabled


def test_stratal_method_and_quality_measurement_in_the_dock(
    make_napari_viewer, survey, checkpoint, qtbot
):
    viewer, widget = _widget(make_napari_viewer, survey)
    keys = _scruff_sections(widget, survey[1], widget.class_id)
    widget.source_a.value, widget.source_b.value, widget.target.value = keys[:3]
    widget.method.value = "stratal"  # no model needed
    arrays = widget.preview()
    assert arrays is not None, widget.messages
    assert arrays["figures"]["inside"] > 0 and "(stratal)" in widget.messages[-1]
    # the quality measurement needs held-out sections with enough of the class
    assert widget.measure_quality() is None
    assert "needs three" in widget.messages[-1]
    widget.min_pixels.value = 1
    q = widget.measure_quality()
    assert q is not None and q["method"] == "stratal"
    assert f"inside the class (std): {q['inside']:.3f} [" in widget.quality.value
    # in the background, with the learned model: same figures as the core
    from napari_forgetting.transfer import transfer_quality

    widget.load_checkpoint(checkpoint)
    widget.method.value = "learned"
    assert widget.measure_quality_in_background() is not None
    qtbot.waitUntil(lambda: widget.quality_worker is None, timeout=60_000)
    want = transfer_quality(widget.model, (np.asarray(survey[0].seismic), survey[1]),
                            widget.class_id, min_pixels=1)  # fmt: skip
    assert widget.last_quality["inside"] == want["inside"]
    assert "below the bar" in widget.quality.value
