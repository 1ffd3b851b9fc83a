"""live_events: either trainer's fit_steps() as the typed events a live view shows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_forgetting.dynamics import heat_limit
from napari_forgetting.training import Callback, TrainConfig, Trainer
from napari_forgetting.training.live import (
    BatchEnd,
    EpochDone,
    SweepProgress,
    SweepShown,
    TrainingFailed,
    TrainingFinished,
    TrainStart,
    live_events,
)


@pytest.fixture(scope="module")
def survey():
    from napari_forgetting.data.synthetic import make_f3_like

    return make_f3_like((8, 16, 32), seed=3)


def cfg(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=2, patch_size=(16, 16), patches_per_epoch=4,
                device="cpu", num_threads=1)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def test_events_of_a_run_and_the_arrays_each_epoch_shows(survey, tmp_path):
    shown = []

    class Keep(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            shown.append(
                (
                    np.concatenate([p.ravel() for p in trainer.last_predictions]),
                    {k: v.copy() for k, v in trainer.epoch_maps().items()},
                )
            )

    trainer = Trainer(survey, cfg(), callbacks=[Keep()], out_dir=tmp_path / "run")
    events = list(live_events(trainer))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["TrainStart", "BatchEnd", "BatchEnd", "EpochDone",
                     "BatchEnd", "BatchEnd", "EpochDone", "TrainingFinished"]  # fmt: skip
    start = events[0]
    assert start == TrainStart(2, 0, 2, "cpu", 1, tmp_path / "run")
    done = [e for e in events if isinstance(e, EpochDone)]
    for e, (preds, maps) in zip(done, shown, strict=True):
        np.testing.assert_array_equal(e.predictions, preds)
        assert e.maps.keys() == maps.keys()
        np.testing.assert_array_equal(e.maps["forgetting_events"], maps["forgetting_events"])
        assert e.heat_upper == heat_limit(maps["forgetting_events"])
    assert done[-1].history == tuple(trainer.history) and len(done[-1].history) == 2
    end = events[-1]
    assert isinstance(end, TrainingFinished)
    assert (end.epochs_complete, end.epochs, end.stopped) == (2, 2, False)
    assert trainer.model is None  # released at the end


def test_an_evaluation_pass_is_shown_section_by_section_before_its_epoch_ends(survey):
    """fit_steps yields a SweepProgress after each tracked section of a sweep; live_events
    turns them into SweepShown (here every one: sweep_seconds tiny), each drawing the
    sections evaluated so far with this pass's predictions and counts and the others as
    after the previous epoch (zero before the first); the run ends as an unwatched one."""
    plain = Trainer(survey, cfg())
    plain.fit()
    trainer = Trainer(survey, cfg())
    n = len(trainer.tracked_sections)
    assert n > 2
    steps = [s for s in trainer.fit_steps() if isinstance(s, SweepProgress)]
    assert [(s.epoch, s.done, s.total) for s in steps] == [
        (e, k, n) for e in range(2) for k in range(1, n + 1)
    ]
    watched = Trainer(survey, cfg())
    events = list(live_events(watched, sweep_seconds=1e-9, release=False))
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("SweepShown") == 2 * n and kinds.index("SweepShown") < kinds.index(
        "EpochDone"
    )  # fmt: skip
    sizes = np.cumsum([0] + [r * c for r, c in (s.shape for s in watched.tracked_sections)])
    epoch_done = [e for e in events if isinstance(e, EpochDone)]
    first, second = (
        [e for e in events if isinstance(e, SweepShown) and e.epoch == k] for k in (0, 1)
    )  # fmt: skip
    for shown in first:  # the first pass: evaluated sections as at its end, the rest zero
        cut = sizes[shown.done]
        full = epoch_done[0]
        np.testing.assert_array_equal(shown.predictions[:cut], full.predictions[:cut])
        assert not shown.predictions[cut:].any()
        counts = shown.maps["forgetting_events"]
        np.testing.assert_array_equal(counts[:cut], full.maps["forgetting_events"][:cut])
    mid = second[0]  # the second pass after one section: the rest as after epoch 1
    cut = sizes[1]
    np.testing.assert_array_equal(mid.predictions[:cut], epoch_done[1].predictions[:cut])
    np.testing.assert_array_equal(mid.predictions[cut:], epoch_done[0].predictions[cut:])
    np.testing.assert_array_equal(
        mid.maps["forgetting_events"][cut:], epoch_done[0].maps["forgetting_events"][cut:]
    )
    # watching changes nothing: the same run as one nobody watched
    assert [h["loss"] for h in watched.history] == [h["loss"] for h in plain.history]
    for a, b in zip(watched.heatmaps(), plain.heatmaps(), strict=True):
        np.testing.assert_array_equal(a.events, b.events)
    # by default (10 s) a pass this small shows nothing before its epoch ends
    kinds = [type(e).__name__ for e in live_events(Trainer(survey, cfg()))]
    assert "SweepShown" not in kinds


def test_closing_the_events_stops_the_run_cleanly_and_it_resumes(survey, tmp_path):
    run = tmp_path / "run"
    events = live_events(lambda: Trainer(survey, cfg(epochs=3), out_dir=run))
    seen = []
    for event in events:
        seen.append(event)
        if isinstance(event, BatchEnd) and event.epoch == 1:
            break
    events.close()  # what the napari worker does on Stop
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "stopped" and state["epochs_complete"] == 1
    resumed = list(live_events(lambda: Trainer(survey, cfg(epochs=3), out_dir=run), resume=True))
    assert resumed[0].start_epoch == 1  # (bit-identical resumption: tests/core/test_trainer.py)
    assert isinstance(resumed[-1], TrainingFinished) and resumed[-1].epochs_complete == 3


def test_a_failure_to_build_or_train_becomes_one_event(survey, tmp_path):
    def bad_build():
        raise ValueError("no such layer")

    (failed,) = list(live_events(bad_build))
    assert isinstance(failed, TrainingFailed)
    assert failed.message == "ValueError: no such layer" and failed.epochs_complete == 0

    class Boom(Callback):
        def on_batch_end(self, trainer, epoch, batch, loss):
            if epoch == 1:
                raise RuntimeError("injected failure")

    trainer = Trainer(survey, cfg(), callbacks=[Boom()], out_dir=tmp_path / "run")
    events = list(live_events(trainer))
    assert isinstance(events[-1], TrainingFailed)
    assert "injected failure" in events[-1].message and events[-1].epochs_complete == 1
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["status"] == "failed" and state["epochs_complete"] == 1
    assert trainer.model is None


def test_the_transfer_trainer_streams_through_the_same_events(survey, tmp_path):
    from napari_forgetting.transfer import TransferConfig, TransferTrainer

    config = TransferConfig(epochs=1, batch_size=2, patch_size=(16, 16), patches_per_epoch=4,
                            style_dim=4, ngf=4, encoder_width=4, ndf=4, n_up=2, num_d=1,
                            n_layers_d=2, eval_sections=1, device="cpu",
                            num_threads=1)  # fmt: skip
    trainer = TransferTrainer((survey.seismic, survey.labels), config, out_dir=tmp_path)
    events = list(live_events(trainer))
    assert [type(e).__name__ for e in events] == [
        "TrainStart", "BatchEnd", "BatchEnd", "EpochDone", "TrainingFinished"
    ]  # fmt: skip
    epoch = events[3]
    assert epoch.maps is None and epoch.predictions is None
    assert {"loss_g", "loss_d", "psnr"} <= set(epoch.logs)
    assert (tmp_path / "checkpoint.pt").is_file()
