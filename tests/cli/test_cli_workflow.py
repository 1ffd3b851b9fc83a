"""``augment``, ``retrain`` and ``export`` from the command line, end to end."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from napari_forgetting.data import open_volume
from napari_forgetting.runs.store import RunStore
from napari_forgetting.workflow.augment import load_pool


def test_cli_augment_retrain_export(
    parent_run, transfer_checkpoint, tmp_path, capsys, workflow_survey
):
    from napari_forgetting.cli import main

    aug = tmp_path / "aug"
    args = ["augment", str(parent_run.path), "--class", "scruff", "--sources", "2",
            "--per-source", "2", "--transfer", str(transfer_checkpoint), "--out", str(aug),
            "--quiet"]  # fmt: skip
    # the default minimum (256 class pixels) leaves too few held-out sections to measure
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "its quality cannot be measured here" in err[0]
    # measured, the one-epoch model is below the bar: refused with its figures
    args += ["--min-pixels", "0"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(r"is below the quality bar on \d+ distinct held-out", err[0])
    assert "inside 0." in err[0] and "--force goes on anyway" in err[0]
    assert not aug.exists()
    args.append("--force")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "BELOW the bar, going on (--force)" in out
    assert "augmented pool: 4 sections of class 'scruff'" in out
    assert len(load_pool(aug)) == 4
    record = json.loads((aug / "pool.json").read_text())
    assert record["transfer_method"] == "learned" and record["transfer_quality"]["forced"]
    assert main(args) == 2  # refuses to overwrite the pool
    assert "overwrite" in capsys.readouterr().err

    child = tmp_path / "child"
    assert main(["retrain", str(parent_run.path), "--pool", str(aug), "--out", str(child),
                 "--epochs", "1", "--quiet"]) == 0  # fmt: skip
    assert RunStore.open(child).info["augmented_pool"]["count"] == 4

    assert main(["export", str(child), "--out", str(tmp_path / "ex"), "--name", "heat",
                 "--with-labels"]) == 0  # fmt: skip
    vol = open_volume(tmp_path / "ex" / "heat.sgy")
    heat = RunStore.open(child).volume("heatmap", fill=-1)
    np.testing.assert_array_equal(np.asarray(vol.data), heat.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(vol.labels), workflow_survey.labels)


def test_cli_augment_with_the_stratal_transfer_and_transfer_quality(parent_run, tmp_path, capsys):
    from napari_forgetting.cli import main

    aug = tmp_path / "aug"
    argv = ["augment", str(parent_run.path), "--transfer-method", "stratal", "--sources",
            "1", "--per-source", "2", "--min-pixels", "1", "--out", str(aug), "--quiet",
            "--formats", "npy"]  # fmt: skip
    # an 8 x 12 x 32 volume's class regions are too small to judge a texture: refused with
    # the reason (never a silent pass), then made with --force and the figures recorded
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be judged" in err[0] and "measurable pairs" in err[0]
    assert not aug.exists()
    assert main([*argv, "--force"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"transfer quality \(stratal, \d+ distinct held-out triples of", out)
    assert "CANNOT JUDGE, going on (--force)" in out
    record = json.loads((aug / "pool.json").read_text())
    assert record["transfer_method"] == "stratal" and record["transfer_checkpoint"] is None
    assert record["transfer_quality"]["verdict"] == "cannot judge"
    assert record["transfer_quality"]["forced"] and not record["transfer_quality"]["passes"]
    # the parent run's own model measured the label fidelity (a 2-epoch model: not judged)
    label = record["transfer_quality"]["label"]
    assert label["model"] == str(parent_run.path / "checkpoint.pt") and label["pairs"] > 0
    assert "the run's model finds" in out
    # transfer-quality prints the same figures
    figures = tmp_path / "q.json"
    argv = ["transfer-quality", "--transfer-method", "stratal", "--data", "synthetic",
            "--shape", "8", "12", "32", "--data-seed", "2", "--min-pixels", "1",
            "--json", str(figures)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    q = json.loads(figures.read_text())
    low, high = q["intervals"]["inside"]
    assert f"inside the class (std): {q['inside']:.3f} [{low:.3f}, {high:.3f}]" in out
    assert "cannot judge" in out and q["verdict"] == "cannot judge"
    assert q["inside"] == pytest.approx(record["transfer_quality"]["inside"])
    assert len(q["per_triple"]) == q["n_triples"] <= 48
    # bad input: one line, exit status 2
    for bad, word in (
        (["--transfer-method", "learned"], "needs a checkpoint"),
        (["--transfer-method", "sean"], "unknown transfer method"),
        ([str(tmp_path / "missing.pt")], "missing.pt"),
        (["--class", "salt"], "unknown class"),
        (["--min-pixels", "100000"], "needs three"),
        (["--min-pixels", "1", "--baseline", str(tmp_path / "nothing")], "no checkpoint at"),
        (["--min-pixels", "1", "--baseline", str(figures)], "q.json: "),
    ):
        argv = ["transfer-quality", *bad, "--data", "synthetic", "--shape", "8", "12", "32"]
        assert main(argv) == 2, bad
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and word in err[0], (bad, err)


def test_cli_transfer_figure_writes_fig3(transfer_checkpoint, tmp_path, capsys):
    from napari_forgetting.cli import main

    png = tmp_path / "docs" / "fig3.png"
    argv = ["transfer-figure", str(transfer_checkpoint), "--data", "synthetic", "--shape", "8",
            "12", "32", "--data-seed", "2", "--min-pixels", "1", "--out", str(png)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("target ") and "source A" in out[0] and "source B" in out[0]
    assert out[1].lstrip().startswith("stratal: |T(A) - T(B)|")
    assert out[2].lstrip().startswith("learned: |T(A) - T(B)|")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a chosen triple; bad input is one line, exit 2
    argv[-1] = str(tmp_path / "b.png")
    assert main([*argv, "--triple", "inline:99", "inline:1", "inline:2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "99" in err[0]
    assert main([*argv[:-2], "--min-pixels", "100000", "--out", str(tmp_path / "c.png")]) == 2
    assert "a quality measurement or figure needs three" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists() and not (tmp_path / "c.png").exists()


def test_a_run_trained_on_data_in_memory_takes_data_on_the_command_line(
    parent_run, workflow_survey, tmp_path, capsys
):
    """A run that records only a napari layer (data held in memory): augment, retrain and
    export refuse it in one line naming --data, and work with --data; the retrained run
    records the file, so later commands need no --data. A --data of another shape is refused."""
    import shutil

    from napari_forgetting.cli import main

    run = tmp_path / "viewer-run"
    shutil.copytree(parent_run.path, run)
    info = json.loads((run / "run.json").read_text())
    info["source"] = {"kind": "napari", "layer": "f3_synthetic"}
    (run / "run.json").write_text(json.dumps(info))
    from napari_forgetting.workflow.export import export_volume

    v = workflow_survey  # as SEG-Y: the run's sections are named by header numbers
    data = export_volume(tmp_path / "survey", "survey", v.seismic, v.labels, inlines=v.inlines,
                         crosslines=v.crosslines, formats=("segy",))["segy"]  # fmt: skip
    wrong = tmp_path / "wrong_seismic.npy"
    np.save(wrong, np.zeros((4, 4, 32), np.float32))
    np.save(tmp_path / "wrong_labels.npy", np.zeros((4, 4, 32), np.uint8))

    aug = tmp_path / "aug"
    augment = ["augment", str(run), "--transfer-method", "stratal", "--sources", "1",
               "--per-source", "2", "--min-pixels", "1", "--out", str(aug), "--quiet",
               "--formats", "npy"]  # fmt: skip
    export = ["export", str(run), "--out", str(tmp_path / "ex"), "--name", "heat",
              "--with-labels", "--formats", "npy"]  # fmt: skip
    retrain = ["retrain", str(run), "--pool", str(aug), "--out", str(tmp_path / "c0")]
    for argv in (augment, export, retrain):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert "the napari layer 'f3_synthetic' held in memory" in err[0]
        assert "give --data PATH" in err[0]
    assert main([*augment, "--data", str(wrong)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "wrong_seismic.npy" in err[0] and "has shape (4, 4, 32)" in err[0]

    # (the tiny volume's class regions are too small to judge the transfer: --force)
    assert main([*augment, "--data", str(data), "--force"]) == 0
    assert "augmented pool: 2 sections" in capsys.readouterr().out
    assert main([*export, "--data", str(data)]) == 0
    exported = open_volume(tmp_path / "ex" / "heat_seismic.npy")
    np.testing.assert_array_equal(np.asarray(exported.labels), workflow_survey.labels)
    child = tmp_path / "child"
    assert main(["retrain", str(run), "--pool", str(aug), "--out", str(child), "--epochs", "1",
                 "--quiet", "--data", str(data)]) == 0  # fmt: skip
    source = RunStore.open(child).info["source"]
    assert source["kind"] == "file" and source["path"] == str(data)
    capsys.readouterr()
    assert main(["export", str(child), "--out", str(tmp_path / "ex2"), "--name", "h",
                 "--formats", "npy"]) == 0  # fmt: skip
