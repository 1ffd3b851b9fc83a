"""Trainer: determinism, resume, NaN stop, callbacks, sweep/online tracking (tiny volumes)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.dynamics import forgetting_events
from napari_forgetting.model.checkpoint import load_checkpoint
from napari_forgetting.training import Callback, TrainConfig, Trainer, TrainingError
from napari_forgetting.training.steps import BatchEnd, EpochEnd, SweepProgress, TrainStart


@pytest.fixture(scope="module")
def survey():
    return make_f3_like((8, 12, 32), seed=1)


def cfg(**kw) -> TrainConfig:
    base = dict(
        epochs=3,
        batch_size=4,
        patch_size=(32, 32),
        patches_per_epoch=8,
        lr=1e-3,
        seed=0,
        device="cpu",
        num_threads=2,
    )
    base.update(kw)
    return TrainConfig(**base)


def assert_same_weights(a: Trainer, b: Trainer) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def assert_same_heatmaps(a: Trainer, b: Trainer) -> None:
    ha, hb = a.heatmaps(), b.heatmaps()
    assert len(ha) == len(hb)
    for x, y in zip(ha, hb, strict=True):
        np.testing.assert_array_equal(x.events, y.events)
        np.testing.assert_array_equal(x.never_learned, y.never_learned)


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_train_start(self, trainer):
        self.calls.append(("train_start",))

    def on_epoch_start(self, trainer, epoch):
        self.calls.append(("epoch_start", epoch))

    def on_batch_end(self, trainer, epoch, batch, loss):
        assert np.isfinite(loss)
        self.calls.append(("batch_end", epoch, batch))

    def on_evaluation(self, trainer, epoch, metrics):
        assert 0.0 <= metrics["pixel_accuracy"] <= 1.0
        self.calls.append(("evaluation", epoch))

    def on_epoch_end(self, trainer, epoch, logs):
        assert logs["epoch"] == epoch and np.isfinite(logs["loss"])
        self.calls.append(("epoch_end", epoch))

    def on_train_end(self, trainer):
        self.calls.append(("train_end",))


def test_config_roundtrip_json():
    c = cfg(mode="online", optimizer="SGD")
    d = json.loads(json.dumps(c.to_dict()))
    assert TrainConfig.from_dict(d) == c
    with pytest.raises(ValueError):
        TrainConfig(mode="bogus")


@pytest.fixture(scope="module")
def reference(survey, tmp_path_factory):
    """One uninterrupted run of cfg() with a run store, the reference of the resume tests
    (read only)."""
    full = Trainer(survey, cfg(), out_dir=tmp_path_factory.mktemp("reference") / "full")
    full.fit()
    return full


def test_determinism_same_seed(survey, reference):
    a = reference  # written to a run store and checkpointed every epoch: no effect on weights
    b = Trainer(survey, cfg())
    b.fit()
    assert_same_weights(a, b)
    assert_same_heatmaps(a, b)
    _, pa, _ = a.evaluate()
    _, pb, _ = b.evaluate()
    for x, y in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(x, y)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]


def test_resume_after_kill_is_identical(survey, tmp_path, reference):
    full = reference

    class Kill(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 0:
                raise KeyboardInterrupt("simulated kill")

    killed = Trainer(survey, cfg(), callbacks=[Kill()], out_dir=tmp_path / "part")
    with pytest.raises(KeyboardInterrupt):
        killed.fit()
    assert load_checkpoint(tmp_path / "part" / "checkpoint.pt")["epoch"] == 1
    assert not list((tmp_path / "part").glob("*.tmp"))

    resumed = Trainer(survey, cfg(), out_dir=tmp_path / "part")
    resumed.fit(resume=True)
    assert resumed.epoch == 3 and len(resumed.history) == 3
    assert_same_weights(full, resumed)
    assert_same_heatmaps(full, resumed)
    assert [h["loss"] for h in full.history] == [h["loss"] for h in resumed.history]


def test_should_stop_then_resume(survey, tmp_path):
    class StopAfterFirst(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.should_stop = True

    rec = Recorder()
    t = Trainer(survey, cfg(), callbacks=[StopAfterFirst(), rec], out_dir=tmp_path)
    t.fit()
    assert t.epoch == 1 and t.stopped
    assert rec.calls[-1] == ("train_end",)
    t2 = Trainer(survey, cfg(), out_dir=tmp_path)
    t2.fit(resume=True)
    assert t2.epoch == 3 and not t2.stopped


def _mark(step):
    """A step of fit_steps() as a tuple: ("start", first epoch), ("batch", epoch, batch),
    ("sweep", epoch, sections done), ("epoch", epoch)."""
    if isinstance(step, TrainStart):
        return ("start", step.start_epoch)
    if isinstance(step, BatchEnd):
        return ("batch", step.epoch, step.batch)
    if isinstance(step, SweepProgress):
        return ("sweep", step.epoch, step.done)
    assert isinstance(step, EpochEnd)
    return ("epoch", step.epoch)


def test_fit_steps_yields_start_each_batch_and_epoch_and_equals_fit(survey):
    rec = Recorder()
    t = Trainer(survey, cfg(mode="online"), callbacks=[rec])
    steps = list(t.fit_steps())
    marks = [_mark(s) for s in steps]
    expected = [m for e in range(3) for m in [("batch", e, 0), ("batch", e, 1), ("epoch", e)]]
    assert marks == [("start", 0), *expected]
    assert steps[0] == TrainStart(3, 0, 2, "cpu", 2)
    batches = [s for s in steps if isinstance(s, BatchEnd)]
    assert all(s.n_batches == 2 and np.isfinite(s.loss) for s in batches)
    epochs = [s for s in steps if isinstance(s, EpochEnd)]
    assert [s.logs for s in epochs] == t.history
    # each mark comes right after its callback
    assert [c for c in rec.calls if c[0] in ("batch_end", "epoch_end")] == [
        ("batch_end", *m[1:]) if m[0] == "batch" else ("epoch_end", m[1]) for m in marks[1:]
    ]
    assert rec.calls[-1] == ("train_end",)
    ref = Trainer(survey, cfg(mode="online"))
    ref.fit()
    assert_same_weights(ref, t)
    assert_same_heatmaps(ref, t)
    assert [h["loss"] for h in ref.history] == [h["loss"] for h in t.history]


def test_fit_steps_closed_mid_epoch_stops_and_resumes_identically(survey, tmp_path, reference):
    full = reference
    rec = Recorder()
    t = Trainer(survey, cfg(), callbacks=[rec], out_dir=tmp_path / "part")
    steps = t.fit_steps()
    for step in steps:
        if _mark(step) == ("batch", 1, 0):
            break
    steps.close()
    assert t.stopped and t.epoch == 1 and len(t.history) == 1
    assert rec.calls[-1] == ("train_end",)
    state = json.loads((tmp_path / "part" / "state.json").read_text())
    assert state["status"] == "stopped" and state["epochs_complete"] == 1
    assert load_checkpoint(tmp_path / "part" / "checkpoint.pt")["epoch"] == 1
    resumed = Trainer(survey, cfg(), out_dir=tmp_path / "part")
    marks = [_mark(s) for s in resumed.fit_steps(resume=True)]
    assert marks[:2] == [("start", 1), ("batch", 1, 0)]
    assert resumed.epoch == 3
    assert_same_weights(full, resumed)
    assert_same_heatmaps(full, resumed)
    assert [h["loss"] for h in full.history] == [h["loss"] for h in resumed.history]
    # closed in the middle of an evaluation pass (a viewer's stop between two SweepShown):
    # that epoch is dropped like one cut short in training, the run resumes identically
    mid = Trainer(survey, cfg(), out_dir=tmp_path / "mid")
    steps = mid.fit_steps()
    for step in steps:
        if _mark(step) == ("sweep", 1, 2):
            break
    steps.close()
    assert mid.stopped and mid.epoch == 1
    again = Trainer(survey, cfg(), out_dir=tmp_path / "mid")
    again.fit(resume=True)
    assert_same_heatmaps(full, again)
    assert [h["loss"] for h in full.history] == [h["loss"] for h in again.history]


def test_stop_between_batches(survey):
    class StopAtBatch(Callback):
        def on_batch_end(self, trainer, epoch, batch, loss):
            if epoch == 1 and batch == 0:
                trainer.should_stop = True

    rec = Recorder()
    t = Trainer(survey, cfg(), callbacks=[StopAtBatch(), rec])
    t.fit()
    assert t.epoch == 1 and t.stopped and len(t.history) == 1
    assert rec.calls[-3:] == [("epoch_start", 1), ("batch_end", 1, 0), ("train_end",)]


def test_nan_loss_stops_and_keeps_checkpoint(survey, tmp_path):
    class Poison(Callback):
        def on_batch_end(self, trainer, epoch, batch, loss):
            if epoch == 1 and batch == 0:
                with torch.no_grad():
                    for p in trainer.model.parameters():
                        p.fill_(float("nan"))

    t = Trainer(survey, cfg(), callbacks=[Poison()], out_dir=tmp_path)
    with pytest.raises(TrainingError, match=r"loss became NaN at epoch 1 batch 1") as info:
        t.fit()
    assert "last good checkpoint kept at" in str(info.value)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_callbacks_order(survey):
    rec = Recorder()
    c = cfg(epochs=2, patches_per_epoch=6)  # 2 batches: 4 + 2 patches
    Trainer(survey, c, callbacks=[rec]).fit()
    expected = [("train_start",)]
    for e in range(2):
        expected += [("epoch_start", e), ("batch_end", e, 0), ("batch_end", e, 1)]
        expected += [("evaluation", e), ("epoch_end", e)]
    expected.append(("train_end",))
    assert rec.calls == expected


def test_sweep_heatmaps_equal_forgetting_events(survey):
    class Correctness(Callback):
        def __init__(self):
            self.history: list[list[np.ndarray]] = []

        def on_evaluation(self, trainer, epoch, metrics):
            _, preds, labs = trainer.evaluate()
            self.history.append([p == y for p, y in zip(preds, labs, strict=True)])

    rec = Correctness()
    t = Trainer(survey, cfg(epochs=3, lr=1e-2), callbacks=[rec])
    t.fit()
    assert t.tracker.section_shapes == tuple(s.shape for s in t.tracked_sections)
    heat = t.heatmaps()
    assert len(heat) == len(t.tracked_sections) == 5  # inlines 0, 5; crosslines 0, 5, 10
    for s, hm in enumerate(heat):
        assert hm.events.shape == t.tracker.section_shapes[s]
        correct = np.stack([epoch[s] for epoch in rec.history])
        np.testing.assert_array_equal(hm.events, forgetting_events(correct))
    assert sum(int(h.events.sum()) for h in heat) > 0  # not a trivial all-zero comparison
    assert len(t.history) == 3 and "mean_iou" in t.history[0]


def test_online_mode_counts(survey):
    t = Trainer(survey, cfg(mode="online", epochs=3, lr=1e-2))
    t.fit()
    assert t.tracker.mode == "online" and t.tracker.epoch == 3
    assert t.tracker.section_shapes == tuple(s.shape for s in t.train_sections)
    heat = t.heatmaps()
    # 32x32 patches cover whole tiny sections (32 rows, 8 or 12 columns): drawn sections are
    # presented whole, clipped windows go through update_patch one patch at a time
    seen = [t.tracker.last_prediction(s) >= 0 for s in range(len(heat))]
    assert sum(int(m.sum()) for m in seen) > 0
    assert all(h.events.min() >= 0 for h in heat)
    assert sum(int(h.events.sum()) for h in heat) > 0  # patches were learned and forgotten


def test_off_mode_has_no_tracker(survey):
    t = Trainer(survey, cfg(mode="off", epochs=1))
    t.fit()
    assert t.tracker is None and len(t.history) == 1
    with pytest.raises(RuntimeError):
        t.heatmaps()


def test_array_pair_input(survey):
    t = Trainer((survey.seismic, survey.labels), cfg(epochs=1))
    t.fit()
    assert len(t.tracked_sections) == 5


# ------------------------------------------------------------------ augmentation and pools


def test_flip_augmentation_flips_image_and_labels_together(survey):
    plain = Trainer(survey, cfg())
    flip = Trainer(survey, cfg(augment="flip"))
    draws = list(plain.sampler.iter_epoch(16))
    x0, y0, _ = plain.make_batch(draws)
    x1, y1, _ = flip.make_batch(draws)
    flipped = [not torch.equal(x0[b], x1[b]) for b in range(16)]
    assert 0 < sum(flipped) < 16  # about augment_share (0.3) of them
    for b in range(16):
        if flipped[b]:
            assert torch.equal(x1[b], x0[b].flip(-1)) and torch.equal(y1[b], y0[b].flip(-1))
        else:
            assert torch.equal(y1[b], y0[b])


def test_rotate_augmentation_keeps_classes_and_ignores_corners(survey):
    tr = Trainer(survey, cfg(augment="rotate", rotate_degrees=30, augment_share=1.0))
    x, y, _ = tr.make_batch(list(tr.sampler.iter_epoch(8)))
    assert x.shape == (8, 1, 32, 32) and y.shape == (8, 32, 32)
    values = set(torch.unique(y).tolist())
    assert values <= set(range(6)) | {255}
    assert 255 in values  # uncovered corners are ignored by the loss


@pytest.mark.parametrize("augment", ["flip", "rotate"])
def test_augmentations_change_augment_share_of_the_patches(survey, augment):
    plain = Trainer(survey, cfg())
    tr = Trainer(survey, cfg(augment=augment, augment_share=0.3))
    draws = list(plain.sampler.iter_epoch(400))
    x0, _, _ = plain.make_batch(draws)
    x1, _, _ = tr.make_batch(draws)
    changed = np.array([not torch.equal(x0[b], x1[b]) for b in range(400)])
    # exactly the patches the trainer's own generator chose, each with probability 0.3
    chosen = np.random.default_rng([0, 7]).random(400) < 0.3
    np.testing.assert_array_equal(changed, chosen)
    assert 0.2 < chosen.mean() < 0.4


def test_augmented_runs_are_reproducible_and_resume(survey, tmp_path):
    a = Trainer(survey, cfg(augment="rotate"), out_dir=tmp_path / "a")
    a.fit()

    class Kill(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(survey, cfg(augment="rotate"), callbacks=[Kill()], out_dir=tmp_path / "b").fit()
    b = Trainer(survey, cfg(augment="rotate"), out_dir=tmp_path / "b")
    b.fit(resume=True)
    assert_same_weights(a, b)
    assert_same_heatmaps(a, b)


def test_online_tracking_refuses_augmentation():
    with pytest.raises(ValueError, match="mode='sweep'"):
        cfg(mode="online", augment="flip")
    with pytest.raises(ValueError, match="augment must be one of"):
        cfg(augment="mixup")


def test_extra_pool_sections_are_trained_on_at_a_set_share_of_an_equal_budget(survey):
    pool = [(np.full((32, 20), 7.0, np.float32), np.full((32, 20), 4, np.uint8))] * 3
    tr = Trainer(survey, cfg(patches_per_epoch=None), extra_pool=pool)
    base = Trainer(survey, cfg(patches_per_epoch=None))
    train_px = sum(r * c for r, c in (s.shape for s in tr.train_sections))
    assert tr.patches_per_epoch == math.ceil(train_px / (32 * 32)) == base.patches_per_epoch
    assert tr.budget()["gradient_steps"] == base.budget()["gradient_steps"]
    assert (tr.budget()["augmentation"], tr.budget()["augmented_share"]) == ("pool", 0.3)
    # a pool three times the training sections still gets 30 % of the draws
    big = [pool[0]] * (3 * len(tr.train_sections))
    huge = Trainer(survey, cfg(patches_per_epoch=None), extra_pool=big)
    n_train = len(huge.train_sections)
    share = np.mean([d[0] >= n_train for d in huge.sampler.iter_epoch(2000)])
    assert 0.27 < share < 0.33 and huge.patches_per_epoch == base.patches_per_epoch
    draws = list(tr.sampler.iter_epoch(64))
    from_pool = [b for b, d in enumerate(draws) if d[0] >= len(tr.train_sections)]
    assert from_pool
    x, y, windows = tr.make_batch(draws)
    for b in from_pool:
        assert windows[b] == (32, 20)
        assert (x[b, 0, :, :20] == 7.0).all() and (y[b, :, :20] == 4).all()
        assert (y[b, :, 20:] == 255).all()
    online = Trainer(survey, cfg(mode="online", epochs=1), extra_pool=pool)
    online.fit()  # pool patches are simply not tracked
    assert online.tracker.epoch == 1


def test_extra_pool_bad_input(survey):
    with pytest.raises(ValueError, match=r"extra_pool\[0\]"):
        Trainer(survey, cfg(), extra_pool=[(np.zeros((4, 4)), np.zeros((4, 5)))])
    with pytest.raises(ValueError, match="labels outside"):
        Trainer(survey, cfg(), extra_pool=[(np.zeros((4, 4)), np.full((4, 4), 9))])


def test_exclude_validation_traces_hides_exactly_those_pixels_from_the_loss(survey):
    plain = Trainer(survey, cfg())
    hidden = Trainer(survey, cfg(exclude_validation_traces=True))
    draws = list(plain.sampler.iter_epoch(16))
    _, y0, windows = plain.make_batch(draws)
    _, y1, _ = hidden.make_batch(draws)
    val = {(s.kind, s.index) for s in plain.tracked_sections}
    for b, (k, _row, c) in enumerate(draws):
        sec = plain.train_sections[k]
        h, w = windows[b]
        crossing = "crossline" if sec.kind == "inline" else "inline"
        cols = [j for j in range(w) if (crossing, c + j) in val]  # a validation trace
        expected = y0[b].clone()
        expected[:h, cols] = 255
        assert torch.equal(y1[b], expected)
    assert (y1 == 255).sum() > (y0 == 255).sum()  # something was hidden
    with pytest.raises(ValueError, match="mode='sweep'"):
        cfg(mode="online", exclude_validation_traces=True)


def test_a_training_config_is_built_and_checked_without_torch() -> None:
    """The viewer builds the config on its GUI thread; torch is imported by the worker."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from napari_forgetting.training.config import TrainConfig\n"
        "c = TrainConfig(epochs=2, patch_size=(16, 16), device=None)\n"
        "assert TrainConfig.from_dict(c.to_dict()) == c\n"
        "try:\n"
        "    TrainConfig(mode='bogus')\n"
        "except ValueError as e:\n"
        "    assert 'mode' in str(e)\n"
        "else:\n"
        "    raise SystemExit('a bad mode passed')\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_arm_of_a_seed_shares_its_random_numbers_but_its_treatment(survey):
    # common random numbers (issue 31): the baseline, a flip arm and a pool arm of one seed
    # start from the same weights and draw the same training patches at every position
    # their treatment leaves alone; init_seed and draw_seed move one stream each
    pool = [(np.full((32, 20), 7.0, np.float32), np.full((32, 20), 4, np.uint8))] * 3
    base = Trainer(survey, cfg())
    flip = Trainer(survey, cfg(augment="flip", augment_share=0.5))
    pooled = Trainer(survey, cfg(augment_share=0.5), extra_pool=pool)
    for arm in (flip, pooled):
        assert_same_weights(base, arm)
    n = 400
    drawn = list(base.sampler.iter_epoch(n))
    assert list(flip.sampler.iter_epoch(n)) == drawn
    arm = list(pooled.sampler.iter_epoch(n))
    n_train = len(pooled.train_sections)
    kept = [i for i, d in enumerate(arm) if d[0] < n_train]
    assert 0.4 < 1 - len(kept) / n < 0.6  # the pool's share of the positions
    assert all(arm[i] == drawn[i] for i in kept)  # the rest: the baseline's own draws
    # flip: the patches it leaves unflipped are the baseline's, pixel for pixel
    batch = drawn[:64]
    xb, yb, _ = base.make_batch(batch)
    xf, yf, _ = flip.make_batch(batch)
    same = [(xb[i] == xf[i]).all() and (yb[i] == yf[i]).all() for i in range(len(batch))]
    assert 0 < sum(same) < len(batch)
    for i, s in enumerate(same):
        if not s:  # a flipped patch: the baseline's, mirrored
            assert torch.equal(xf[i], torch.flip(xb[i], dims=[-1]))
    # init_seed: other weights, the same draws; draw_seed: the same weights, other draws
    other_init = Trainer(survey, cfg(init_seed=5))
    other_draws = Trainer(survey, cfg(draw_seed=5))
    w = dict(base.model.named_parameters())["backbone.conv1.weight"]
    assert not torch.equal(dict(other_init.model.named_parameters())["backbone.conv1.weight"], w)
    assert list(other_init.sampler.iter_epoch(50)) == list(
        Trainer(survey, cfg()).sampler.iter_epoch(50)
    )
    assert_same_weights(base, other_draws)
    assert list(other_draws.sampler.iter_epoch(50)) != drawn[:50]


def test_the_soft_endpoint_is_each_class_mean_true_class_probability(survey):
    # issue 31: a continuous endpoint beside accuracy, computed from the same predictions
    t = Trainer(survey, cfg(epochs=1, mode="off"))
    t.fit()
    metrics = t.evaluate_volume(survey)
    sums, counts = np.zeros(6), np.zeros(6)
    from napari_forgetting.data.sections import all_sections
    from napari_forgetting.model.deeplab import predict_section

    for sec in all_sections(survey):
        img, lab = t.section_data(sec)
        p = torch.softmax(predict_section(t.model, img, amp=False), dim=0).numpy()
        for k in range(6):
            sums[k] += p[k][lab == k].sum()
            counts[k] += (lab == k).sum()
    want = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    np.testing.assert_allclose(metrics["class_probability"], want, rtol=1e-4)
    assert metrics["probability_counts"] == [int(c) for c in counts]
