"""Run store: contents equal the tracker and the definitions, incremental commits, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_forgetting.data.folders import FolderError
from napari_forgetting.data.sections import scatter_sections
from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.dynamics import forgetting_events, never_learned
from napari_forgetting.runs.store import RunStore, RunStoreError, is_run_dir
from napari_forgetting.training.segmentation import Callback, TrainConfig, Trainer


@pytest.fixture(scope="module")
def survey():
    return make_f3_like((8, 12, 32), seed=2)


def cfg(**kw) -> TrainConfig:
    base = dict(
        epochs=4,
        batch_size=4,
        patch_size=(32, 32),
        patches_per_epoch=8,
        lr=3e-3,
        seed=0,
        device="cpu",
        num_threads=2,
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def sweep_run(survey, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "sweep"
    tr = Trainer(survey, cfg(), out_dir=out, source={"kind": "synthetic"})
    tr.fit()
    return tr, RunStore.open(out)


def test_layout_and_identity(sweep_run, survey):
    tr, store = sweep_run
    assert is_run_dir(store.path)
    assert store.status == "finished" and store.n_epochs == 4
    assert [s.key for s in store.eval_sections] == [s.key for s in tr.tracked_sections]
    assert store.map_sections == store.eval_sections
    assert store.class_names == list(survey.class_names)
    assert store.volume_shape == survey.seismic.shape
    assert store.info["source"] == {"kind": "synthetic"}
    assert store.train_config == tr.config.to_dict()
    assert set(store.map_names) == {
        "forgetting_events",
        "never_learned",
        "first_learned",
        "switches",
        "confidence",
        "variability",
        "margin",
    }
    hist = json.loads((store.path / "state.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [0, 1, 2, 3]
    assert all(0 < h["tracking_seconds"] < h["seconds"] for h in hist)
    assert hist == json.loads(json.dumps(tr.history))
    for i, sec in enumerate(store.eval_sections):
        np.testing.assert_array_equal(store.labels(i), tr.section_data(sec)[1])


def test_stored_heatmaps_equal_definition_every_epoch(sweep_run):
    """Heat map at epoch e == Eq. 1-3 applied to the stored predictions 0..e (exactly)."""
    _, store = sweep_run
    for i in range(len(store.eval_sections)):
        lab = store.labels(i)
        correct = np.stack([store.prediction(i, e) == lab for e in range(store.n_epochs)])
        for e in range(store.n_epochs):
            np.testing.assert_array_equal(store.heatmap(i, e), forgetting_events(correct[: e + 1]))
            np.testing.assert_array_equal(
                store.map("never_learned", i, e), never_learned(correct[: e + 1])
            )
    hist = store.prediction_history(0, 3, 5)
    np.testing.assert_array_equal(hist, [store.prediction(0, e)[3, 5] for e in range(4)])


def test_last_epoch_equals_tracker(sweep_run):
    tr, store = sweep_run
    for i, heat in enumerate(tr.heatmaps()):
        np.testing.assert_array_equal(store.heatmap(i), heat.events)
        np.testing.assert_array_equal(store.first_learned(i), tr.tracker.first_learned(i))
        np.testing.assert_allclose(
            store.map("confidence", i).astype(np.float32), tr.tracker.confidence(i), atol=1e-3
        )
        np.testing.assert_allclose(
            store.map("margin", i).astype(np.float32), tr.tracker.margin(i), rtol=2e-3, atol=2e-3
        )
    for i, pred in enumerate(tr.last_predictions):
        np.testing.assert_array_equal(store.prediction(i, epoch=-1), pred)


def test_volume_scatter(sweep_run):
    _, store = sweep_run
    vol = store.volume("heatmap", fill=-1)
    assert vol.shape == store.volume_shape
    expected = scatter_sections(store.map_sections, store.heatmaps(), store.volume_shape, fill=-1)
    np.testing.assert_array_equal(vol, expected)
    on = vol >= 0
    assert 0 < on.sum() < on.size  # the tracked sections only


def test_half_written_epoch_is_invisible(sweep_run, tmp_path, survey):
    tr, _ = sweep_run
    store = RunStore.create(
        tmp_path / "r",
        eval_sections=tr.tracked_sections,
        eval_labels=[tr.section_data(s)[1] for s in tr.tracked_sections],
        maps={"forgetting_events": np.uint8},
        epochs=3,
        volume_shape=survey.seismic.shape,
        class_names=survey.class_names,
    )
    n = int(store.eval_offsets[-1])
    store.write_epoch(0, np.ones(n, np.uint8), {"forgetting_events": np.zeros(n, np.uint8)})
    reader = RunStore.open(tmp_path / "r")
    assert reader.n_epochs == 0
    with pytest.raises(RunStoreError, match="no complete epoch"):
        reader.prediction(0)
    store.commit(1, history=[{"epoch": 0}])
    assert reader.refresh().n_epochs == 1
    assert (reader.prediction(0) == 1).all()
    with pytest.raises(IndexError, match="not complete"):
        reader.prediction(0, epoch=1)
    with pytest.raises(RunStoreError, match="read-only"):
        reader.commit(2)


def test_readable_while_training(survey, tmp_path):
    seen = []

    class Follow(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            r = RunStore.open(tmp_path / "live")
            seen.append((r.n_epochs, r.status, r.heatmap(0).shape))

    Trainer(survey, cfg(epochs=2), callbacks=[Follow()], out_dir=tmp_path / "live").fit()
    assert [s[:2] for s in seen] == [(1, "running"), (2, "running")]
    assert RunStore.open(tmp_path / "live").status == "finished"


def test_existing_run_refused_unless_overwrite(survey, tmp_path):
    Trainer(survey, cfg(epochs=1), out_dir=tmp_path / "x").fit()
    with pytest.raises(FolderError, match="already holds a training run"):
        Trainer(survey, cfg(epochs=1), out_dir=tmp_path / "x").fit()
    Trainer(survey, cfg(epochs=1, seed=1), out_dir=tmp_path / "x").fit(overwrite=True)
    assert RunStore.open(tmp_path / "x").train_config["seed"] == 1


def test_kill_and_resume_store_identical(survey, tmp_path, sweep_run):
    full_tr, full = sweep_run

    class Kill(Callback):
        def on_evaluation(self, trainer, epoch, metrics):
            if epoch == 2:
                raise KeyboardInterrupt  # killed after evaluating, before the store row

    with pytest.raises(KeyboardInterrupt):
        Trainer(survey, cfg(), callbacks=[Kill()], out_dir=tmp_path / "k").fit()
    mid = RunStore.open(tmp_path / "k")
    assert mid.n_epochs == 2 and mid.status == "stopped"  # Ctrl-C: a stop, not a failure
    resumed = Trainer(survey, cfg(), out_dir=tmp_path / "k")
    resumed.fit(resume=True)
    store = RunStore.open(tmp_path / "k")
    assert store.status == "finished" and store.n_epochs == 4
    for e in range(4):
        np.testing.assert_array_equal(store.flat_predictions(e), full.flat_predictions(e))
        for name in store.map_names:
            np.testing.assert_array_equal(store.flat_map(name, e), full.flat_map(name, e))
    drop = {"seconds", "tracking_seconds"}
    strip = [{k: v for k, v in h.items() if k not in drop} for h in store.history]
    assert strip == [{k: v for k, v in h.items() if k not in drop} for h in full.history]


def test_resume_with_more_epochs_grows_store(survey, tmp_path):
    Trainer(survey, cfg(epochs=1), out_dir=tmp_path / "g").fit()
    Trainer(survey, cfg(epochs=2), out_dir=tmp_path / "g").fit(resume=True)
    store = RunStore.open(tmp_path / "g")
    assert store.n_epochs == 2 and store.info["epochs"] == 2
    assert store.heatmap(0, 1).shape == store.eval_sections[0].shape


def test_online_store_maps_training_sections(survey, tmp_path):
    tr = Trainer(survey, cfg(epochs=2, mode="online"), out_dir=tmp_path / "on")
    tr.fit()
    store = RunStore.open(tmp_path / "on")
    assert [s.key for s in store.map_sections] == [s.key for s in tr.train_sections]
    assert len(store.eval_sections) == len(tr.tracked_sections)
    for i, heat in enumerate(tr.heatmaps()):
        np.testing.assert_array_equal(store.heatmap(i), heat.events)
        np.testing.assert_array_equal(store.map_labels(i), tr.section_data(tr.train_sections[i])[1])
    seen = store.map("confidence", 0)
    assert np.isfinite(seen).any()  # confidence from the training passes
    _assert_whole_reads_equal_section_reads(RunStore.open(tmp_path / "on"))


def _assert_whole_reads_equal_section_reads(store: RunStore) -> None:
    """The one-read-per-array accessors (used at F3 size) equal the per-section ones."""
    n_map, n_eval = len(store.map_sections), len(store.eval_sections)
    assert store.map_sections != store.eval_sections or store.info["maps_same_as_eval"]
    for got, want in (
        (store.all_labels(), [store.labels(i) for i in range(n_eval)]),
        (store.all_map_labels(), [store.map_labels(i) for i in range(n_map)]),
        (store.heatmaps(0), [store.heatmap(i, 0) for i in range(n_map)]),
        (
            store.split_eval(store.flat_predictions(0)),
            [store.prediction(i, 0) for i in range(n_eval)],
        ),
    ):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    for name in store.map_names:
        vol = store.volume(name, 0, fill=7)
        per = [store.map(name, i, 0) for i in range(n_map)]
        expected = scatter_sections(store.map_sections, per, store.volume_shape, fill=7)
        np.testing.assert_array_equal(vol, expected)
    for what, secs, per in (
        ("prediction", store.eval_sections, [store.prediction(i) for i in range(n_eval)]),
        ("labels", store.eval_sections, [store.labels(i) for i in range(n_eval)]),
    ):
        expected = scatter_sections(secs, per, store.volume_shape, fill=9)
        np.testing.assert_array_equal(store.volume(what, fill=9), expected)
    with pytest.raises(ValueError, match="mapped pixels"):
        store.split_map(np.zeros(3))


def test_whole_reads_equal_section_reads_in_a_sweep_run(sweep_run):
    _, store = sweep_run
    _assert_whole_reads_equal_section_reads(RunStore.open(store.path))


def test_off_mode_store_has_predictions_only(survey, tmp_path):
    Trainer(survey, cfg(epochs=1, mode="off"), out_dir=tmp_path / "off").fit()
    store = RunStore.open(tmp_path / "off")
    assert store.map_names == [] and store.n_epochs == 1
    assert store.prediction(0).dtype == np.uint8


def test_test_volumes_are_evaluated(survey, tmp_path):
    test = make_f3_like((4, 12, 32), seed=9)
    tr = Trainer(survey, cfg(epochs=1), out_dir=tmp_path / "t", test_volumes={"test1": test})
    tr.fit()
    store = RunStore.open(tmp_path / "t")
    metrics = store.state["test_metrics"]["test1"]
    # every inline and every crossline, as the benchmark evaluates its test volumes
    assert metrics["n_sections"] == 4 + 12 and metrics["shape"] == [4, 12, 32]
    assert metrics["n_pixels"] == 4 * (12 * 32) + 12 * (4 * 32)
    assert metrics == json.loads(json.dumps(tr.test_metrics["test1"]))
    # its every 5th inline and crossline were tracked like the validation sections
    child = store.test("test1")
    assert store.test_names == ["test1"] and child.volume_shape == (4, 12, 32)
    assert [s.key for s in child.eval_sections] == [
        "inline:100", "crossline:300", "crossline:305", "crossline:310",
    ]  # fmt: skip
    assert child.n_epochs == 1 and child.status == "finished"
    assert child.info["test_of"] == str((tmp_path / "t").resolve())
    assert child.state["test_metrics"]["test1"] == metrics


def test_not_a_run(tmp_path):
    with pytest.raises(RunStoreError, match="no such run directory"):
        RunStore.open(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunStoreError, match="not a run directory"):
        RunStore.open(tmp_path / "empty")
