"""``augment``, ``retrain`` and ``export`` from the command line, end to end."""

from __future__ import annotations

import numpy as np

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
    assert main(args) == 0
    assert "augmented pool: 4 sections of class 'scruff'" in capsys.readouterr().out
    assert len(load_pool(aug)) == 4
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
