"""Nothing lost, nothing trusted: the reproductions of issue 28 (work destroyed or silently
wrong) each give one line and exit 2 or a refusal, and nothing of the user's changes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from napari_forgetting.cli import main
from napari_forgetting.data.folders import LOCK_FILE
from napari_forgetting.model.checkpoint import load_checkpoint, save_checkpoint
from napari_forgetting.runs.store import RunStore

TINY = [
    "--data", "synthetic", "--shape", "8", "12", "32", "--epochs", "2", "--batch-size", "4",
    "--patch", "32", "32", "--patches-per-epoch", "4", "--device", "cpu", "--threads", "1",
    "--quiet",
]  # fmt: skip


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _one_line(capsys) -> str:
    """The one error line of what the command printed (notes may come before it; no
    traceback)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("napari-forgetting: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished two-epoch run (with its test stores and checkpoint)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _interrupt_first_batch(monkeypatch):
    from napari_forgetting.training.segmentation import Trainer

    def ctrl_c(self, epoch, batch, draws):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_train_batch", ctrl_c)


def test_an_interrupted_overwrite_then_resume_trains_the_run_for_real(
    trained, tmp_path, monkeypatch, capsys
):
    run = _copy(trained, tmp_path / "run")
    with monkeypatch.context() as m:
        _interrupt_first_batch(m)
        assert main(["train", *TINY, "--seed", "1", "--out", str(run), "--overwrite"]) == 130
    err = capsys.readouterr().err
    assert f"no checkpoint was written in {run}: nothing to resume" in err
    assert "holds" not in err  # it does not claim a checkpoint that does not exist
    store = RunStore.open(run)
    assert store.status == "stopped" and store.n_epochs == 0  # a stop, not a failure
    assert not (run / "checkpoint.pt").exists()  # the old run's checkpoint went with it
    assert sorted(p.name for p in (run / "tests").iterdir()) == ["test1", "test2"]
    assert RunStore.open(run / "tests" / "test1").n_epochs == 0
    # --resume now trains the new run from its start: every map written, as a fresh run
    assert main(["train", *TINY, "--seed", "1", "--out", str(run), "--resume"]) == 0
    fresh = tmp_path / "fresh"
    assert main(["train", *TINY, "--seed", "1", "--out", str(fresh)]) == 0
    a, b = RunStore.open(run), RunStore.open(fresh)
    assert a.status == "finished" and a.n_epochs == 2
    np.testing.assert_array_equal(a.flat_predictions(), b.flat_predictions())
    np.testing.assert_array_equal(
        a.flat_map("forgetting_events"), b.flat_map("forgetting_events")
    )
    assert np.isfinite(a.flat_map("confidence")).all()  # every epoch's maps were written
    assert len(a.history) == 2


def test_a_checkpoint_that_is_not_the_runs_is_not_resumed(trained, tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.MonkeyPatch.context() as m:
        _interrupt_first_batch(m)
        assert main(["train", *TINY, "--out", str(run)]) == 130
    capsys.readouterr()
    (run / "checkpoint.pt").write_bytes((trained / "checkpoint.pt").read_bytes())
    before = _tree(run)
    assert main(["train", *TINY, "--out", str(run), "--resume"]) == 2
    line = _one_line(capsys)
    assert "0 complete epochs" in line and "holds 2 epochs" in line and "not one run" in line
    assert _tree(run) == before


@pytest.mark.parametrize("epoch", [10**12, -1, 3, "2"])
def test_a_checkpoint_with_an_impossible_epoch_is_refused(trained, tmp_path, capsys, epoch):
    run = _copy(trained, tmp_path / "run")
    state = load_checkpoint(run / "checkpoint.pt")
    state["epoch"] = epoch
    save_checkpoint(run / "checkpoint.pt", {k: v for k, v in state.items()
                                           if k != "checkpoint_version"})  # fmt: skip
    before = _tree(run)
    args = [a if a != "2" else "5" for a in TINY]  # --epochs 5: room to resume
    assert main(["train", *args, "--out", str(run), "--resume"]) == 2
    line = _one_line(capsys)
    assert "checkpoint.pt" in line and f"epoch {epoch!r} does not fit" in line
    assert _tree(run) == before


def test_transfer_train_into_a_run_is_refused(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    before = _tree(run)
    argv = ["transfer-train", "--data", "synthetic", "--shape", "8", "10", "32", "--epochs",
            "1", "--quiet", "--out", str(run)]  # fmt: skip
    for extra in ([], ["--overwrite"], ["--resume"]):
        assert main([*argv, *extra]) == 2
        assert "holds a training run, not a style-transfer model" in _one_line(capsys)
    assert _tree(run) == before


def test_other_writers_into_a_run_are_refused(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    before = _tree(run)
    vol = tmp_path / "v"
    assert main(["synthetic", "--out", str(vol), "--shape", "4", "6", "16", "--formats",
                 "npy"]) == 0  # fmt: skip
    seismic = vol / "f3_synthetic_seismic.npy"
    for argv in (
        ["compare", "--preset", "cpu-lite", "--out", str(run)],
        ["export", str(seismic), "--out", str(run), "--name", "x"],
        ["synthetic", "--out", str(run), "--overwrite"],
    ):
        assert main(argv) == 2, argv
        assert "holds a training run, not" in _one_line(capsys)
    assert _tree(run) == before


def test_synthetic_refuses_a_folder_of_volumes_without_overwrite(tmp_path, capsys):
    args = ["synthetic", "--out", str(tmp_path / "v"), "--shape", "4", "6", "16", "--formats",
            "npy"]  # fmt: skip
    assert main(args) == 0
    before = _tree(tmp_path / "v")
    assert main([*args, "--seed", "3"]) == 2
    assert "already holds volumes" in _one_line(capsys)
    assert _tree(tmp_path / "v") == before
    assert main([*args, "--seed", "3", "--overwrite"]) == 0
    assert _tree(tmp_path / "v") != before


_HOLDER = """
import sys, time
from napari_forgetting.data.folders import claim
with claim(sys.argv[1], "run", rerun=True, what="napari-forgetting train (the first)"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_two_writers_on_one_folder(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    before = _tree(run)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = (run / LOCK_FILE).read_bytes()
        for extra in (["--resume"], ["--overwrite"]):
            assert main(["train", *TINY, "--out", str(run), *extra]) == 2
            line = _one_line(capsys)
            assert f"is being written by pid {holder.pid}" in line and "the first" in line
        assert _tree(run) == {**before, LOCK_FILE: lock}
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", *TINY, "--out", str(run), "--resume"]) == 0  # the lock went with it


def test_two_real_trainings_on_one_folder(tmp_path):
    """Two ``train`` processes started on one --out: one trains, the other is refused in one
    line; the folder holds the run of the one that trained."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "napari_forgetting.cli", "train", *TINY, "--out", str(out)]
    argv = [a if a != "2" else "4" for a in argv]  # --epochs 4: long enough to overlap
    procs = [subprocess.Popen([*argv, "--seed", str(s), "--overwrite"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in (0, 1)]  # fmt: skip
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    if codes == [0, 0]:  # the first had finished before the second started: nothing shared
        pytest.skip("the two processes did not overlap on this machine")
    assert codes == [0, 2], results
    winner = [s for s, (rc, _) in enumerate(results) if rc == 0][0]
    loser_err = [e for rc, e in results if rc == 2][0].strip().splitlines()
    assert "is being written by pid" in loser_err[-1] and "Traceback" not in "".join(loser_err)
    store = RunStore.open(out)
    assert store.status == "finished" and store.train_config["seed"] == winner


def test_sigterm_stops_a_run_cleanly(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "napari_forgetting.cli", "train", *TINY, "--out", str(out)]
    argv = [a if a != "2" else "200" for a in argv]  # --epochs 200
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = out / "state.json"
            if state.is_file() and json.loads(state.read_text())["epochs_complete"] >= 1:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        proc.kill()
    assert rc == 130
    assert "continue with --resume" in proc.stderr.read()
    store = RunStore.open(out)
    assert store.status == "stopped" and store.n_epochs >= 1
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not (out / LOCK_FILE).exists()


def test_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys):
    import napari_forgetting.runs.store as store_module

    def full(path, *a, **k):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(store_module, "write_json", full)
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 2
    line = _one_line(capsys)
    assert "run.json: No space left on device" in line


def test_a_scheduler_that_does_not_answer_is_one_line_within_seconds(tmp_path, monkeypatch,
                                                                    capsys):  # fmt: skip
    import socket

    from napari_forgetting.workflow.compare import scheduling as compare

    monkeypatch.setattr(compare, "SCHEDULER_TIMEOUT", 1)  # the default is 5 s

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    argv = ["compare", "--preset", "cpu-lite", "--seeds", "1", "--methods", "baseline",
            "--out", str(tmp_path / "c"), "--scheduler", f"tcp://127.0.0.1:{port}"]  # fmt: skip
    rc = main(argv)
    assert rc == 2 and time.perf_counter() - t0 < 20
    line = _one_line(capsys)
    assert f"--scheduler tcp://127.0.0.1:{port}: no dask scheduler answers there within 1 s" in line
    assert not (tmp_path / "c" / "jobs").exists()


def test_no_lock_or_temporary_file_is_left_behind(trained):
    assert not (trained / LOCK_FILE).exists()
    assert not [p for p in trained.rglob("*") if p.name.endswith(".tmp")]
    assert os.listdir(trained)


def test_a_checkpoint_of_other_shapes_is_refused(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    state = load_checkpoint(run / "checkpoint.pt")
    name = next(k for k, v in state["model"].items() if getattr(v, "ndim", 0) == 4)
    state["model"][name] = state["model"][name][:1].clone()  # a tensor of another shape
    save_checkpoint(run / "checkpoint.pt", {k: v for k, v in state.items()
                                           if k != "checkpoint_version"})  # fmt: skip
    args = [a if a != "2" else "3" for a in TINY]
    assert main(["train", *args, "--out", str(run), "--resume"]) == 2
    line = _one_line(capsys)
    assert "checkpoint.pt: it does not fit this trainer" in line and "not resumed" in line


def test_something_that_accepts_but_never_answers_is_no_scheduler(tmp_path, monkeypatch, capsys):
    """An address where connections are accepted but no dask scheduler speaks (an HTTP
    server, a stuck process): refused in one line within 2 x the scheduler timeout."""
    import socket

    from napari_forgetting.workflow.compare import scheduling as compare

    monkeypatch.setattr(compare, "SCHEDULER_TIMEOUT", 1)  # the default is 5 s
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes connections; nobody reads or answers
        port = listener.getsockname()[1]
        t0 = time.perf_counter()
        argv = ["compare", "--preset", "cpu-lite", "--seeds", "1", "--methods", "baseline",
                "--out", str(tmp_path / "c"), "--scheduler", f"tcp://127.0.0.1:{port}"]  # fmt: skip
        rc = main(argv)
        took = time.perf_counter() - t0
    assert rc == 2 and took < 2 * compare.SCHEDULER_TIMEOUT + 15
    assert f"--scheduler tcp://127.0.0.1:{port}" in _one_line(capsys)
    assert not (tmp_path / "c" / "jobs").exists()
