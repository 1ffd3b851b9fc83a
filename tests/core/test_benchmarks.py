"""The tracking benchmark's lock-step runner and script, on a tiny volume (they must not rot)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

TINY = ["--shape", "8", "12", "32", "--patch", "32", "--batch", "4", "--patches-per-epoch", "8"]


def test_lock_step_times_every_epoch_of_every_variant_in_turn():
    from _common import LockStep, survey_and_config, training_parser
    from napari_forgetting.training.segmentation import Trainer

    args = training_parser("tiny").parse_args([*TINY, "--epochs", "2", "--threads", "1"])
    trainers = {}
    for name, mode in (("off", "off"), ("online", "online")):
        survey, cfg = survey_and_config(args, mode=mode)
        trainers[name] = Trainer(survey, cfg)
    lock = LockStep(trainers)
    times = lock.run()
    for name, tr in trainers.items():
        assert tr.epoch == 2 and len(times[name]) == 2
        assert all(t > 0 for t in times[name])
        marks = [m for m, _ in lock.steps[name]]
        assert marks == [("start", 0)] + [
            m for e in range(2) for m in (("batch", e, 0), ("batch", e, 1), ("epoch", e))
        ]
        # an epoch's time is the sum of its own steps (the run's opening counts to epoch 0)
        per_step = [dt for _, dt in lock.steps[name]]
        assert times[name] == pytest.approx([sum(per_step[:4]), sum(per_step[4:])])


def test_bench_tracking_prints_the_ratios_and_goals(capsys):
    import bench_tracking

    assert bench_tracking.main([*TINY, "--epochs", "3", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for name in ("off (A/A control)", "online", "sweep"):
        assert f"ratio {name}/off epoch time = " in out
    assert "online goal <= 1.02: " in out and "goal sweep/off <= " in out
    assert "A/A control: " in out


def test_paired_ratio_and_its_interval():
    from bench_tracking import paired_ratio

    r, low, high = paired_ratio([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert r == low == high == 2.0  # every resample has the same ratio
    r, low, high = paired_ratio([1.1, 0.9, 1.2, 0.8], [1.0, 1.0, 1.0, 1.0])
    assert r == pytest.approx(1.0) and low < 1.0 < high


def test_bench_transfer_prints_times_and_figures_of_every_arm(capsys):
    import bench_transfer

    argv = ["--shape", "8", "12", "32", "--epochs", "1", "--threads", "1", "--min-pixels", "1",
            "--triples", "4"]  # fmt: skip
    assert bench_transfer.main(argv) == 0
    out = capsys.readouterr().out
    for arm in ("default", "previous", "stratal"):
        assert f"== {arm}" in out
    assert out.count("transfer quality (learned") == 2 and "transfer quality (stratal" in out
    assert "wall time default / previous: " in out


def test_bench_transfer_bar_tables_every_method_on_every_geology(capsys):
    import bench_transfer_bar

    argv = ["--shape", "8", "12", "32", "--geologies", "0,1", "--triples", "4",
            "--min-pixels", "1"]  # fmt: skip
    assert bench_transfer_bar.main(argv) == 0
    out = capsys.readouterr().out
    for name in ("stratal", "amplitude draws", "rescaled target", "shuffled traces",
                 "tiled patch"):  # fmt: skip
        assert out.count(f"  {name:<16} ") == 2  # one row per geology
        assert f"{name:<16} passes " in out
    assert "x one stratal measurement" in out


def test_bench_stability_compares_disjoint_seed_sets_and_statistics(tmp_path, capsys):
    import numpy as np

    import bench_stability
    from hotspot_run import EVENTS, make_run

    for s in range(4):
        events = [e + (s * np.arange(e.size).reshape(e.shape)) % 3 for e in EVENTS]
        make_run(tmp_path / "jobs" / f"baseline-seed{s}", events=events, train_config={"seed": s})
    argv = [str(tmp_path), "--class", "b", "--split", "validation", "--min-pixels", "1",
            "--top", "2", "--m", "1", "2", "--stats", "forgetting,low_confidence"]  # fmt: skip
    assert bench_stability.main(argv) == 0
    out = capsys.readouterr().out
    assert "4 seeds" in out and "forgetting: 3 sections" in out and "low_confidence" in out
    assert "1 vs 1 held-out seeds" in out and "2 vs 2 held-out seeds" in out
