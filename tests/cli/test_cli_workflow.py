"""Export (npy / SEG-Y / zarr, atomic, no silent overwrite), augmented pool and retraining."""

from __future__ import annotations

import numpy as np
import pytest

from napari_forgetting.data import open_volume
from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.runs.store import RunStore
from napari_forgetting.training.segmentation import TrainConfig, Trainer
from napari_forgetting.workflow.augment import load_pool

SHAPE = (8, 12, 32)


SOURCE = {"kind": "synthetic", "shape": list(SHAPE), "seed": 2}


@pytest.fixture(scope="module")
def survey():
    return make_f3_like(SHAPE, seed=2)


def cfg(**kw) -> TrainConfig:
    base = dict(
        epochs=2, batch_size=4, patch_size=(32, 32), patches_per_epoch=4, lr=3e-3, seed=0,
        device="cpu", num_threads=2,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def run(survey, tmp_path_factory):
    out = tmp_path_factory.mktemp("wf") / "parent"
    Trainer(survey, cfg(), out_dir=out, source=SOURCE).fit()
    return RunStore.open(out)


def test_cli_augment_retrain_export(run, tmp_path, capsys, survey):
    from napari_forgetting.cli import main
    from napari_forgetting.transfer import TransferConfig, TransferTrainer

    tcfg = TransferConfig(
        epochs=1, batch_size=2, patch_size=(16, 16), patches_per_epoch=2, style_dim=4, ngf=4,
        n_up=2, encoder_width=4, ndf=4, num_d=1, n_layers_d=2, eval_sections=0, device="cpu",
        num_threads=1,
    )  # fmt: skip
    TransferTrainer(survey, tcfg, out_dir=tmp_path / "tm").fit()
    aug = tmp_path / "aug"
    args = ["augment", str(run.path), "--class", "scruff", "--sources", "2", "--per-source", "2",
            "--transfer", str(tmp_path / "tm"), "--out", str(aug), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert "augmented pool: 4 sections of class 'scruff'" in capsys.readouterr().out
    assert len(load_pool(aug)) == 4
    assert main(args) == 2  # refuses to overwrite the pool
    assert "overwrite" in capsys.readouterr().err

    child = tmp_path / "child"
    assert main(["retrain", str(run.path), "--pool", str(aug), "--out", str(child),
                 "--epochs", "1", "--quiet"]) == 0  # fmt: skip
    assert RunStore.open(child).info["augmented_pool"]["count"] == 4

    assert main(["export", str(child), "--out", str(tmp_path / "ex"), "--name", "heat",
                 "--with-labels"]) == 0  # fmt: skip
    vol = open_volume(tmp_path / "ex" / "heat.sgy")
    heat = RunStore.open(child).volume("heatmap", fill=-1)
    np.testing.assert_array_equal(np.asarray(vol.data), heat.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(vol.labels), survey.labels)
