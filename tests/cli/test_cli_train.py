"""``napari-forgetting train`` and ``transfer-train``: runs, resume and refusals, test volumes,
clear errors."""

from __future__ import annotations

import csv
import json

import numpy as np

from napari_forgetting.cli import main
from napari_forgetting.model.checkpoint import load_checkpoint
from napari_forgetting.runs.store import RunStore
from napari_forgetting.transfer import load_transfer_model

TINY = [
    "--data", "synthetic", "--shape", "8", "12", "32", "--epochs", "2", "--batch-size", "4",
    "--patch", "32", "32", "--patches-per-epoch", "4", "--device", "cpu", "--threads", "2",
    "--quiet",
]  # fmt: skip


def test_cli_train_resume_and_refusal(tmp_path, capsys):
    out = tmp_path / "runs" / "cli"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    text = capsys.readouterr()
    assert "epoch   2/2" in text.out and "run store:" in text.out
    store = RunStore.open(out)
    assert store.n_epochs == 2 and store.status == "finished"
    assert store.info["source"] == {
        "kind": "synthetic", "layout": "f3-benchmark", "shape": [8, 12, 32], "seed": 0
    }  # fmt: skip
    # refuses to overwrite, resumes to more epochs
    assert main(["train", *TINY, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    args = [*TINY]
    args[args.index("--epochs") + 1] = "3"
    assert main(["train", *args, "--out", str(out), "--resume"]) == 0
    assert RunStore.open(out).n_epochs == 3


def test_cli_train_on_segy_with_test(tmp_path, tiny_survey):
    from napari_forgetting.data.synthetic import write_survey

    vol_path = write_survey(tiny_survey, tmp_path, name="tiny", formats=("segy", "npy"))["segy"]
    out = tmp_path / "seg"
    rc = main(
        ["train", "--data", str(vol_path), "--out", str(out), "--epochs", "1", "--batch-size",
         "2", "--patch", "16", "16", "--patches-per-epoch", "2", "--device", "cpu", "--quiet",
         "--mode", "online", "--test", f"again={vol_path}"]
    )  # fmt: skip
    assert rc == 0
    store = RunStore.open(out)
    assert store.info["source"]["path"] == str(vol_path.resolve())
    assert "again" in store.state["test_metrics"]


def test_cli_train_unlabelled_data_is_a_clear_error(tmp_path, capsys):
    seismic = tmp_path / "cube.npy"
    np.save(seismic, np.zeros((6, 6, 16), np.float32))
    assert main(["train", "--data", str(seismic), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cube.npy" in err and "--labels" in err


def test_cli_transfer_train_smoke(tmp_path, capsys):
    args = [
        "transfer-train",
        "--data",
        "synthetic",
        "--shape",
        "8",
        "10",
        "32",
        "--out",
        str(tmp_path),
        "--epochs",
        "1",
        "--patch",
        "16",
        "16",
        "--patches-per-epoch",
        "4",
        "--batch-size",
        "4",
        "--ngf",
        "4",
        "--style-dim",
        "4",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "epoch   1/1" in out and "checkpoint:" in out
    model = load_transfer_model(tmp_path, n_classes=6)
    assert model.config.ngf == 4
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["history"]) == 1
    # resume to two epochs with the stored configuration
    assert main([*args[:9], "--epochs", "2", "--resume", "--quiet"]) == 0
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 2
    # a class count below the labels' is a one-line error
    bad = [*args[:8], str(tmp_path / "bad"), *args[9:], "--class-count", "3"]
    assert main(bad) == 2
    assert "n_classes=3" in capsys.readouterr().err


def test_train_on_the_f3_layout_finds_and_tracks_its_test_volumes(tmp_path, capsys):
    assert main(["synthetic", "--layout", "f3-benchmark", "--out", str(tmp_path / "f3"),
                 "--shape", "10", "16", "32"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "train (10, 16, 32)" in out and "test1 (5, 16, 32)" in out and "test2 (15, 5, 32)" in out
    run = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "f3" / "train" / "train_seismic.npy"),
            "--out", str(run), "--epochs", "1", "--batch-size", "4", "--patch", "32", "32",
            "--patches-per-epoch", "4", "--device", "cpu", "--threads", "1", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert "test volumes: test1 (5, 16, 32), test2 (15, 5, 32)" in capsys.readouterr().err
    store = RunStore.open(run)
    assert sorted(store.state["test_metrics"]) == store.test_names == ["test1", "test2"]
    assert store.info["source"]["tests"]["test2"].endswith("test_once/test2_seismic.npy")


def test_a_test_volume_unlike_the_training_data_is_refused_before_training(tmp_path, capsys):
    from napari_forgetting.data.synthetic import make_f3_like, write_survey

    other = write_survey(make_f3_like((4, 12, 48), seed=1), tmp_path / "x", name="other",
                         formats=("npy",))["seismic"]  # fmt: skip
    run = tmp_path / "run"
    argv = ["train", *TINY, "--out", str(run), "--test", f"odd={other}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other_seismic.npy" in err[0] and "48 samples" in err[0]
    assert not run.exists()  # nothing started


def test_compare_on_the_f3_layout_writes_test1_and_test2_rows(tmp_path, capsys):
    """The written layout opened by path (not --data synthetic): the job finds test_once/."""
    assert main(["synthetic", "--layout", "f3-benchmark", "--out", str(tmp_path / "f3"),
                 "--shape", "8", "12", "32"]) == 0  # fmt: skip
    out = tmp_path / "report"
    argv = ["compare", "--data", str(tmp_path / "f3" / "train" / "train_seismic.npy"),
            "--out", str(out), "--methods", "baseline", "--seeds", "1", "--epochs", "1",
            "--batch-size", "4", "--patch", "32", "32", "--patches-per-epoch", "4",
            "--device", "cpu", "--sequential"]  # fmt: skip
    assert main(argv) == 0
    assert "[1/1] finished baseline-seed0" in capsys.readouterr().err  # said as it ends
    with open(out / "accuracy.csv", newline="") as fh:
        splits = [row["split"] for row in csv.DictReader(fh)]
    assert splits == ["test", "test1", "test2", "validation"]  # test: both pooled
    store = RunStore.open(out / "jobs" / "baseline-seed0")
    assert store.info["source"]["tests"]["test1"].endswith("test_once/test1_seismic.npy")
    assert store.state["test_metrics"]["test2"]["shape"] == [12, 3, 32]  # (8 + 4, 12 * 200/701)
