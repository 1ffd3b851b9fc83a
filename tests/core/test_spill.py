"""Arrays kept in files (data.spill): contents, released pages, and a training run whose
volumes and trackers are spilled giving exactly the run kept in memory."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from napari_forgetting.data import spill as spill_module
from napari_forgetting.data.section_cache import SectionStore
from napari_forgetting.data.spill import Spill, spill_for
from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.dynamics.tracker import ForgettingTracker
from napari_forgetting.model.checkpoint import load_checkpoint, save_checkpoint
from napari_forgetting.runs.store import RunStore
from napari_forgetting.training.segmentation import Callback, TrainConfig, Trainer

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


def resident_bytes() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_spilled_arrays_hold_their_values_and_leave_no_file(tmp_path):
    sp = Spill(tmp_path)
    z = sp.zeros((3, 5), np.float32)
    f = sp.full(7, 255, np.uint8)
    src = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    c = sp.copy(src)
    assert not z.any() and (f == 255).all() and c.dtype == np.int16
    np.testing.assert_array_equal(c, src)
    z[1, 2] = 4.5
    sp.release()  # pages dropped, contents kept
    assert z[1, 2] == 4.5 and z.sum() == 4.5 and (f == 255).all()
    np.testing.assert_array_equal(c, src)
    assert sp.nbytes == 15 * 4 + 7 + 24 * 2
    assert list(tmp_path.iterdir()) == []  # unlinked at once: nothing left behind
    assert sp.zeros(0, np.uint8).shape == (0,)


@linux
def test_release_returns_the_touched_pages():
    sp = Spill()
    a = sp.zeros(64 * 2**20, np.uint8)
    before = resident_bytes()
    a[::4096] = 1  # touch every page
    touched = resident_bytes()
    sp.release()
    after = resident_bytes()
    assert touched - before > 60 * 2**20
    assert touched - after > 60 * 2**20
    assert int(a[::4096].sum()) == 64 * 2**20 // 4096  # read back from the page cache


def test_spill_for_only_at_size(monkeypatch, tmp_path):
    assert spill_for(1024, tmp_path) is None
    assert isinstance(spill_for(spill_module.SPILL_BYTES, tmp_path), Spill)
    monkeypatch.setattr(spill_module, "SPILL_BYTES", 0)
    assert spill_for(1, tmp_path).folder == tmp_path


def test_section_store_reads_the_same_from_a_spilled_volume(tmp_path):
    v = make_f3_like((6, 9, 20), seed=3)
    plain = SectionStore(v.seismic, v.labels, (0.1, 2.0), whole_volume=True)
    spilled = SectionStore(
        v.seismic, v.labels, (0.1, 2.0), whole_volume=True, spill=Spill(tmp_path)
    )
    from napari_forgetting.data.sections import all_sections

    for sec in all_sections(v.seismic):
        for a, b in zip(plain.get(sec), spilled.get(sec), strict=True):
            np.testing.assert_array_equal(a, b)
        spilled.release()
    assert spilled.spill.nbytes == 6 * 9 * 20 * 5
    spilled.clear()
    assert spilled.spill.nbytes == 0 and spilled.volume is None


def _sweep(tracker: ForgettingTracker, rng: np.random.Generator, shapes) -> None:
    for s, shape in enumerate(shapes):
        pred = rng.integers(0, 3, shape)
        lab = rng.integers(0, 3, shape)
        conf = rng.random(shape, dtype=np.float32)
        marg = rng.random(shape, dtype=np.float32) - 0.5
        tracker.update_sections(s, [pred], [lab], confidence=[conf], margin=[marg])


def test_spilled_tracker_equals_the_tracker_in_memory(tmp_path):
    shapes = [(7, 9), (5, 11), (3, 4)]
    kw = dict(track_confidence=True, track_margin=True)
    mem = ForgettingTracker(shapes, 3, **kw)
    disk = ForgettingTracker(shapes, 3, spill=Spill(tmp_path), **kw)
    assert disk.spilled and not mem.spilled
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(4):
        _sweep(mem, rng_a, shapes)
        _sweep(disk, rng_b, shapes)
    whole = mem.flat_maps()
    n = mem.n_pixels
    pieces = [disk.flat_maps(a, min(a + 40, n)) for a in range(0, n, 40)]
    for name, value in whole.items():
        np.testing.assert_array_equal(np.concatenate([p[name] for p in pieces]), value)
    # in the middle of a pass the range maps count the applied sections' pass too
    _sweep(mem, rng_a, shapes[:1])
    _sweep(disk, rng_b, shapes[:1])
    np.testing.assert_array_equal(
        np.concatenate([disk.flat_maps(0, 50)["variability"], disk.flat_maps(50)["variability"]]),
        mem.flat_maps()["variability"],
    )
    _sweep(mem, rng_a, shapes[1:][:0] or [])  # nothing
    for s in range(1, 3):
        mem.update_sections(s, [np.zeros(shapes[s], int)], [np.zeros(shapes[s], int)],
                            confidence=[np.ones(shapes[s], np.float32)],
                            margin=[np.ones(shapes[s], np.float32)])  # fmt: skip
        disk.update_sections(s, [np.zeros(shapes[s], int)], [np.zeros(shapes[s], int)],
                             confidence=[np.ones(shapes[s], np.float32)],
                             margin=[np.ones(shapes[s], np.float32)])  # fmt: skip
    # a state restores into the spilled tracker's own files; a bad one changes nothing
    state = mem.state_dict()
    again = ForgettingTracker(shapes, 3, spill=Spill(tmp_path), **kw)
    bad = {**state, "arrays": {**state["arrays"], "margin_mean": np.zeros(3, np.float32)}}
    with pytest.raises(ValueError, match="margin_mean"):
        again.load_state_dict(bad)
    assert not again.state_dict()["arrays"]["count"].any()
    again.load_state_dict(state)
    for name, value in state["arrays"].items():
        np.testing.assert_array_equal(again.state_dict(copy=False)["arrays"][name], value)
        np.testing.assert_array_equal(disk.state_dict(copy=False)["arrays"][name], value)
    assert again.spilled and again.epoch == mem.epoch == 5


def test_store_writes_maps_range_by_range_as_given_whole(tmp_path, monkeypatch):
    from napari_forgetting.data.sections import Section
    from napari_forgetting.runs import store as store_module

    monkeypatch.setattr(store_module, "_CHUNK", 16)  # several ranges for 7 x 9 + 7 x 11 pixels
    shapes = [(7, 9), (7, 11)]  # an inline and a crossline of a (11, 9, 7) volume
    tracker = ForgettingTracker(shapes, 3, track_confidence=True)
    _sweep(tracker, np.random.default_rng(1), shapes)
    _sweep(tracker, np.random.default_rng(2), shapes)
    secs = [Section("inline", 1, 1, shapes[0]), Section("crossline", 2, 2, shapes[1])]
    labels = [np.zeros(s, np.uint8) for s in shapes]
    runs = []
    for name in ("whole", "ranges"):
        run = RunStore.create(tmp_path / name, eval_sections=secs, eval_labels=labels,
                              maps=tracker.map_dtypes(), epochs=1, volume_shape=(11, 9, 7),
                              class_names=["a", "b", "c"])  # fmt: skip
        calls = []

        def ranged(start, stop, calls=calls):
            calls.append((start, stop))
            return tracker.flat_maps(start, stop)

        maps = tracker.flat_maps() if name == "whole" else ranged
        run.write_epoch(0, [np.ones(s, np.uint8) for s in shapes], maps)
        run.commit(1)
        runs.append(run)
        if name == "ranges":
            assert calls[0] == (0, 16) and calls[-1] == (128, 140) and len(calls) == 9
    for name in runs[0].map_names:
        np.testing.assert_array_equal(runs[0].flat_map(name, 0), runs[1].flat_map(name, 0))
    with pytest.raises(ValueError, match="maps missing"):
        runs[1].write_epoch(0, [np.ones(s, np.uint8) for s in shapes], lambda a, b: {})


def test_checkpoint_written_in_pieces_reads_back(tmp_path):
    sp = Spill(tmp_path)
    big = sp.copy(np.arange(3 * 2**20, dtype=np.int64))  # 24 MiB: one piece
    huge = sp.zeros(40 * 2**20, np.uint8)  # 40 MiB: two pieces of 32 MiB
    huge[-1] = 7
    calls = []
    save_checkpoint(tmp_path / "c.pt", {"a": big, "b": huge}, written=lambda: calls.append(1))
    back = load_checkpoint(tmp_path / "c.pt")
    np.testing.assert_array_equal(back["a"], big)
    assert back["b"].shape == huge.shape and int(back["b"][-1]) == 7
    assert len(calls) >= 4  # after each record (24 MiB; 32 + 8 MiB), and at the end


# ---------------------------------------------------------------- a spilled training run


@pytest.fixture(scope="module")
def survey():
    return make_f3_like((8, 12, 32), seed=4)


def cfg(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=4, patch_size=(32, 32), patches_per_epoch=8, lr=3e-3,
                seed=0, device="cpu", num_threads=2, track_stats=True)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _run(survey, test, out, monkeypatch, spilled: bool, callbacks=(), resume=False) -> Trainer:
    monkeypatch.setattr(spill_module, "SPILL_BYTES", 0 if spilled else 2**62)
    tr = Trainer(survey, cfg(), out_dir=out, test_volumes={"test1": test}, callbacks=callbacks)
    assert tr.tracker.spilled is spilled and (tr._store.spill is not None) is spilled
    assert (tr.tests["test1"].tracker.spilled, tr.tests["test1"].store.spill is not None) == (
        spilled,
        spilled,
    )
    tr.fit(resume=resume)
    return tr


def test_a_spilled_run_equals_the_run_in_memory_and_resumes_exactly(survey, tmp_path, monkeypatch):
    test = make_f3_like((4, 12, 32), seed=9)
    mem = _run(survey, test, tmp_path / "mem", monkeypatch, spilled=False)

    class Kill(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        _run(survey, test, tmp_path / "disk", monkeypatch, spilled=True, callbacks=[Kill()])
    disk = _run(survey, test, tmp_path / "disk", monkeypatch, spilled=True, resume=True)
    assert not list(tmp_path.glob(".spill-*"))  # the files beside the runs are unlinked
    assert [h["loss"] for h in mem.history] == [h["loss"] for h in disk.history]
    wa, wb = mem.model.state_dict(), disk.model.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert mem.test_metrics == disk.test_metrics
    a, b = RunStore.open(tmp_path / "mem"), RunStore.open(tmp_path / "disk")
    for run_a, run_b in ((a, b), (a.test("test1"), b.test("test1"))):
        for epoch in range(3):
            np.testing.assert_array_equal(
                run_a.flat_predictions(epoch), run_b.flat_predictions(epoch)
            )
            for name in run_a.map_names:
                np.testing.assert_array_equal(
                    run_a.flat_map(name, epoch), run_b.flat_map(name, epoch)
                )
    ca = load_checkpoint(tmp_path / "mem" / "checkpoint.pt")["tracker"]["arrays"]
    cb = load_checkpoint(tmp_path / "disk" / "checkpoint.pt")["tracker"]["arrays"]
    for name in ca:
        np.testing.assert_array_equal(ca[name], cb[name])


@linux
def test_a_crossline_maps_its_rows_not_the_volume():
    """A spilled volume is read without read-ahead: a crossline (one row of each inline) maps
    little more than those rows, not the large page-cache folios around them."""
    sp = Spill()
    volume = sp.empty((128, 512, 256), np.float32)  # 64 MiB, inline by inline
    for i in range(0, 128, 16):
        volume[i : i + 16] = 1.0
        sp.release()
    before = resident_bytes()
    row_sum = float(np.array(volume[:, 100]).sum())
    grown = resident_bytes() - before
    assert row_sum == 128 * 256
    assert grown < 16 * 2**20, grown  # 128 rows; with read-ahead about the whole 64 MiB
