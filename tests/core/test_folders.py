"""Every output folder has one owner (data.folders): kinds, the lock, all-or-nothing overwrite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from napari_forgetting.data.folders import (
    LOCK_FILE,
    OVERWRITE_MARKER,
    FolderBusy,
    FolderError,
    check_folder,
    claim,
    folder_kind,
    is_empty,
    remove_temporaries,
)


def _touch(path, *names):
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x")
    return path


def _tree(root):
    """Every file under ``root`` with its bytes: what a refused write must leave unchanged."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("names", "kind"),
    [
        ((), None),
        ((LOCK_FILE,), None),
        (("run.json", "state.json"), "run"),
        (("store.zarr/zarr.json",), "run"),
        (("pool.json",), "pool"),
        (("augmented_inline_seismic.npy",), "pool"),
        (("compare.json", "jobs/a/x"), "report"),
        (("report.md",), "report"),
        (("stability.json", "jobs/a/x", "consensus/run.json"), "consensus"),
        (("checkpoint.pt", "history.json"), "transfer"),
        (("checkpoint.pt",), "checkpoint"),
        (("f3_seismic.npy",), "volumes"),
        (("train/train_seismic.npy",), "volumes"),
        (("holiday.jpg",), "other"),
    ],
)
def test_folder_kinds(tmp_path, names, kind):
    assert folder_kind(_touch(tmp_path / "f", *names)) == kind
    assert is_empty(tmp_path / "f") == (kind is None)


def test_another_kind_is_refused_even_with_overwrite(tmp_path):
    run = _touch(tmp_path / "run", "run.json", "state.json", "checkpoint.pt")
    before = _tree(run)
    for kind in ("pool", "report", "transfer", "volumes"):
        for overwrite in (False, True):
            with pytest.raises(FolderError, match="holds a training run, not"):
                with claim(run, kind, overwrite=overwrite):
                    pass  # pragma: no cover
    user = _touch(tmp_path / "mine", "thesis.tex")
    with pytest.raises(FolderError, match="holds files of its own"):
        check_folder(user, "run", overwrite=True)
    assert _tree(run) == before and _tree(user) == {"thesis.tex": b"x"}


def test_not_empty_needs_resume_overwrite_or_rerun(tmp_path):
    run = _touch(tmp_path / "run", "run.json", "state.json")
    with pytest.raises(FolderError, match="already holds a training run; use --resume"):
        check_folder(run, "run")
    for flags in ({"resume": True}, {"overwrite": True}, {"rerun": True}):
        assert check_folder(run, "run", **flags) == run
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderError, match="is a file, not a folder"):
        check_folder(tmp_path / "file", "run")


def test_overwrite_removes_everything_old_first(tmp_path):
    run = _touch(tmp_path / "run", "run.json", "state.json", "checkpoint.pt", "tests/t1/run.json",
                 "store.zarr/zarr.json")  # fmt: skip
    with claim(run, "run", overwrite=True) as p:
        assert sorted(os.listdir(p)) == [LOCK_FILE]  # the old checkpoint and tests/ included
        (p / "run.json").write_text("new")
    assert sorted(os.listdir(run)) == ["run.json"]  # the lock goes with the writer


def test_a_half_overwritten_folder_cannot_be_resumed(tmp_path, monkeypatch):
    import napari_forgetting.data.folders as folders

    run = _touch(tmp_path / "run", "run.json", "state.json", "checkpoint.pt", "tests/t/x")
    real_rmtree = folders.shutil.rmtree

    def killed(path, *a, **k):  # the process dies in the middle of the removal
        raise KeyboardInterrupt

    monkeypatch.setattr(folders.shutil, "rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        with claim(run, "run", overwrite=True):
            pass  # pragma: no cover
    monkeypatch.setattr(folders.shutil, "rmtree", real_rmtree)
    # what made it look complete went first; the marker stays
    assert not (run / "state.json").exists() and not (run / "checkpoint.pt").exists()
    assert (run / OVERWRITE_MARKER).exists() and folder_kind(run) == "run"
    with pytest.raises(FolderError, match="was being overwritten when that stopped"):
        check_folder(run, "run", resume=True)
    with claim(run, "run", overwrite=True):  # a new overwrite finishes the job
        assert sorted(os.listdir(run)) == [LOCK_FILE]
    assert not (run / OVERWRITE_MARKER).exists()


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from napari_forgetting.data.folders import claim
    with claim(sys.argv[1], "run", rerun=True, what="holder test"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def _hold(path):
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    run = _touch(tmp_path / "run", "run.json", "state.json")
    before = _tree(run)
    holder = _hold(run)
    try:
        busy = rf"being written by pid {holder.pid} on .*holder test"
        with pytest.raises(FolderBusy, match=busy):
            with claim(run, "run", overwrite=True):
                pass  # pragma: no cover
        assert _tree(run) == {**before, LOCK_FILE: (run / LOCK_FILE).read_bytes()}
    finally:
        holder.kill()  # kill -9: the lock goes with the process
        holder.wait()
    with claim(run, "run", resume=True):
        pass
    assert _tree(run) == before


def test_the_lock_is_reentrant_in_its_thread_and_refused_in_another(tmp_path):
    errors = []
    with claim(tmp_path / "r", "run") as p:
        with claim(p, "run"):  # a nested step of the same writer
            pass

        def other():
            try:
                with claim(p, "run", rerun=True):
                    pass  # pragma: no cover
            except FolderBusy as exc:
                errors.append(str(exc))

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert errors and "another task of this process" in errors[0]
    with claim(p, "run", rerun=True):  # released
        pass


def test_a_folder_made_by_a_writer_that_failed_early_is_removed(tmp_path):
    with pytest.raises(RuntimeError):
        with claim(tmp_path / "new" / "pool", "pool"):
            raise RuntimeError
    assert not (tmp_path / "new" / "pool").exists()


def test_stale_temporaries_of_a_killed_writer_are_removed_under_the_lock(tmp_path):
    stale = (".checkpoint.pt.a1b2.tmp", "tests/t/.state.json.x.tmp", ".store.zarr.q.tmp/z")
    run = _touch(tmp_path / "run", "run.json", "state.json", "keep.tmp", *stale)
    with claim(run, "run", resume=True):
        pass
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == [
        "keep.tmp", "run.json", "state.json", "tests", "tests/t",
    ]  # fmt: skip
    assert remove_temporaries(run) == []


def test_claims_wait_for_no_one(tmp_path):
    """A refused claim answers at once (no waiting on the lock)."""
    run = _touch(tmp_path / "run", "run.json", "state.json")
    holder = _hold(run)
    try:
        t0 = time.perf_counter()
        with pytest.raises(FolderBusy):
            with claim(run, "run", resume=True):
                pass  # pragma: no cover
        assert time.perf_counter() - t0 < 2
    finally:
        holder.kill()
        holder.wait()
