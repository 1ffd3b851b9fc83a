"""Style transfer (SEAN-style): shapes, locality, determinism, resume, errors, quality, CLI.

Everything runs on tiny volumes and tiny widths with one torch thread (on a shared two-core
machine two OpenMP threads spin against each other and make small convolutions ~50x slower).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_forgetting.data.sections import paper_split, section_image, section_labels
from napari_forgetting.data.synthetic import make_f3_like
from napari_forgetting.model.checkpoint import load_checkpoint, save_checkpoint
from napari_forgetting.training import Callback
from napari_forgetting.transfer import (
    RegionStyleTransfer,
    TransferConfig,
    TransferModelConfig,
    TransferTrainer,
    class_specificity,
    load_transfer_model,
    mix_styles,
    psnr,
    reconstruct,
    reconstruction_quality,
    source_sensitivity,
    style_matrix,
    transfer,
    transfer_quality,
)

SCRUFF = 4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def survey():
    return make_f3_like((10, 12, 32), seed=1)


def cfg(**kw) -> TransferConfig:
    base = dict(
        epochs=2,
        batch_size=4,
        patch_size=(16, 16),
        patches_per_epoch=8,
        n_classes=6,
        style_dim=4,
        ngf=4,
        n_up=2,
        encoder_width=4,
        ndf=4,
        num_d=2,
        n_layers_d=2,
        eval_sections=1,
        seed=0,
        device="cpu",
        num_threads=1,
    )
    base.update(kw)
    return TransferConfig(**base)


@pytest.fixture(scope="module")
def trained(survey, tmp_path_factory):
    out = tmp_path_factory.mktemp("transfer_run")
    trainer = TransferTrainer(survey, cfg(epochs=3, lr_g=2e-3, lr_d=2e-3), out_dir=out)
    trainer.fit()
    return trainer


def sections_with(survey, class_id, n=3):
    split = paper_split(survey)
    out = []
    for sec in split.validation:
        lab = section_labels(survey, sec)
        if (lab == class_id).any():
            out.append((section_image(survey, sec), lab))
    assert len(out) >= n
    return out


def tiny_model(n_classes=6, **kw) -> RegionStyleTransfer:
    torch.manual_seed(0)
    config = dict(n_classes=n_classes, style_dim=4, ngf=4, n_up=3, encoder_width=4)
    config.update(kw)
    return RegionStyleTransfer(TransferModelConfig(**config)).eval()


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ------------------------------------------------------------------------------- model


@pytest.mark.parametrize("n_classes", [2, 6, 9])
@pytest.mark.parametrize("size", [(1, 1), (13, 29), (40, 7)])
def test_any_size_and_class_count_keeps_the_input_shape(n_classes, size):
    model = tiny_model(n_classes)
    h, w = size
    x = torch.randn(2, 1, h, w)
    y = torch.randint(0, n_classes, (2, h, w))
    with torch.no_grad():
        style, present = model.encode_style(x, y)
        out = model(x, y)
    assert out.shape == (2, 1, h, w)
    assert style.shape == (2, n_classes, 4) and present.shape == (2, n_classes)
    for n in range(2):
        np.testing.assert_array_equal(
            present[n].numpy(), np.isin(np.arange(n_classes), y[n].numpy())
        )


def test_absent_classes_get_a_zero_code_and_a_false_presence_flag():
    model = tiny_model(6)
    y = torch.zeros(1, 9, 11, dtype=torch.long)
    y[0, 5:] = 2
    with torch.no_grad():
        style, present = model.encode_style(torch.randn(1, 1, 9, 11), y)
    assert present[0].tolist() == [True, False, True, False, False, False]
    assert torch.all(style[0, [1, 3, 4, 5]] == 0)
    assert torch.any(style[0, [0, 2]] != 0)


def test_region_codes_are_averages_over_each_class_mask():
    model = tiny_model(3)
    x = torch.randn(1, 1, 8, 8)
    y = torch.randint(0, 3, (1, 8, 8))
    with torch.no_grad():
        feats = model.encoder.feature_map(x)[0]
        style, _ = model.encode_style(x, y)
    for k in range(3):
        mask = (y[0] == k).float()
        expected = (feats * mask).sum((1, 2)) / mask.sum()
        torch.testing.assert_close(style[0, k], expected)


def test_mixing_one_class_leaves_every_other_code_untouched():
    model = tiny_model(6)
    target = torch.randn(6, 4)
    source = torch.randn(6, 4)
    mixed = mix_styles(target, source, SCRUFF)
    assert torch.equal(mixed[SCRUFF], source[SCRUFF])
    others = [k for k in range(6) if k != SCRUFF]
    assert torch.equal(mixed[others], target[others])
    # and the per-class transformed codes inside every normalisation layer likewise
    for ace in (m for m in model.modules() if m.__class__.__name__ == "ACE"):
        with torch.no_grad():
            a = ace.class_codes(target[None])[0]
            b = ace.class_codes(mixed[None])[0]
        assert torch.equal(a[others], b[others])
        assert not torch.equal(a[SCRUFF], b[SCRUFF]) or torch.all(a[SCRUFF] == 0)


def test_changing_one_class_code_leaves_far_away_pixels_bit_identical():
    model = tiny_model(6)
    y = torch.zeros(1, 128, 24, dtype=torch.long)
    y[0, 112:] = SCRUFF
    x = torch.randn(1, 1, 128, 24)
    with torch.no_grad():
        style, _ = model.encode_style(x, y)
        changed = mix_styles(style, style + 1.0, SCRUFF)
        a = model.generate(y, style)
        b = model.generate(y, changed)
    assert torch.equal(a[..., :40, :], b[..., :40, :])  # 72+ rows away: beyond the reach
    assert not torch.equal(a[..., 112:, :], b[..., 112:, :])


def test_labels_outside_the_class_count_raise():
    model = tiny_model(4)
    with pytest.raises(ValueError, match="4 classes"):
        model(torch.randn(1, 1, 8, 8), torch.full((1, 8, 8), 5))


# ------------------------------------------------------------------------------- training


def test_config_round_trips_through_json():
    c = cfg(patch_size=(24, 16), betas=(0.0, 0.9))
    again = TransferConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    with pytest.raises(ValueError, match="unknown"):
        TransferConfig.from_dict({**c.to_dict(), "bogus": 1})


def test_same_seed_same_weights_on_cpu(survey):
    a = TransferTrainer(survey, cfg(epochs=1))
    b = TransferTrainer(survey, cfg(epochs=1))
    ha, hb = a.fit(), b.fit()
    assert_same_state(a.model, b.model)
    assert_same_state(a.discriminator, b.discriminator)
    assert [h["loss_g"] for h in ha] == [h["loss_g"] for h in hb]


def test_resume_is_bit_identical_to_an_uninterrupted_run(survey, tmp_path):
    full = TransferTrainer(survey, cfg(epochs=2), out_dir=tmp_path / "full")
    full.fit()
    first = TransferTrainer(survey, cfg(epochs=1), out_dir=tmp_path / "split")
    first.fit()
    resumed = TransferTrainer(survey, cfg(epochs=2), out_dir=tmp_path / "split")
    resumed.fit(resume=True)
    assert resumed.epoch == 2
    assert_same_state(full.model, resumed.model)
    assert_same_state(full.discriminator, resumed.discriminator)
    assert [h["loss_g"] for h in full.history] == [h["loss_g"] for h in resumed.history]
    with pytest.raises(ValueError, match="different config"):
        TransferTrainer(survey, cfg(epochs=3, ngf=8), out_dir=tmp_path / "split").fit(resume=True)


def test_callbacks_order_and_should_stop_discards_the_partial_epoch(survey, tmp_path):
    calls = []

    class Stopper(Callback):
        def on_train_start(self, trainer):
            calls.append("start")

        def on_epoch_start(self, trainer, epoch):
            calls.append(f"epoch{epoch}")

        def on_batch_end(self, trainer, epoch, batch, loss):
            calls.append(f"batch{epoch}.{batch}")
            assert np.isfinite(loss) and "l1" in trainer.last_batch
            if epoch == 1:
                trainer.should_stop = True

        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(f"end{epoch}")
            assert {"loss_g", "loss_d", "l1", "spectral", "psnr", "baseline_psnr"} <= set(logs)

        def on_train_end(self, trainer):
            calls.append("stop")

    trainer = TransferTrainer(survey, cfg(epochs=3), callbacks=[Stopper()], out_dir=tmp_path)
    trainer.fit()
    assert calls == ["start", "epoch0", "batch0.0", "batch0.1", "end0", "epoch1", "batch1.0"] + [
        "stop"
    ]
    assert trainer.stopped and trainer.epoch == 1
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1


def test_reconstruction_only_training_needs_no_discriminator(survey):
    trainer = TransferTrainer(survey, cfg(epochs=1, gan_weight=0, fm_weight=0))
    before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    history = trainer.fit()
    assert history[0]["loss_d"] == 0.0
    for k, v in trainer.discriminator.state_dict().items():
        assert torch.equal(before[k], v), k


# ------------------------------------------------------------------------------- transfer


def test_transfer_between_sections_of_different_sizes(survey, trained):
    split = paper_split(survey)
    inline = next(s for s in split.validation if s.kind == "inline")
    crossline = next(s for s in split.validation if s.kind == "crossline")
    assert inline.shape != crossline.shape
    t_img, t_lab = section_image(survey, inline), section_labels(survey, inline)
    s_img, s_lab = section_image(survey, crossline), section_labels(survey, crossline)
    out = transfer(trained.model, t_img, t_lab, s_img, s_lab, SCRUFF)
    assert out.shape == t_img.shape and out.dtype == np.float32
    again = transfer(trained.model, t_img, t_lab, s_img, s_lab, SCRUFF)
    np.testing.assert_array_equal(out, again)  # deterministic at inference
    style, present = style_matrix(trained.model, t_img, t_lab)
    assert style.shape == (6, 4)
    np.testing.assert_array_equal(present, [np.any(t_lab == k) for k in range(6)])


def test_briefly_trained_model_is_class_specific_and_source_sensitive(survey, trained):
    (t_img, t_lab), a, b = sections_with(survey, SCRUFF)[:3]
    spec = class_specificity(trained.model, t_img, t_lab, *a, SCRUFF)
    assert spec["inside"] > 0
    assert spec["ratio"] > 1
    sens = source_sensitivity(trained.model, t_img, t_lab, a, b, SCRUFF)
    assert sens["ratio"] > 1
    q = transfer_quality(trained.model, survey, SCRUFF, n_triples=2)
    assert q["specificity"] > 1 and q["sensitivity"] > 1 and q["n_triples"] == 2


def test_reconstruction_quality_reports_psnr_against_the_mean_baseline(survey, trained):
    q = reconstruction_quality(trained.model, survey, max_sections=2)
    assert q["n_sections"] == 2
    assert {"psnr", "baseline_psnr", "psnr_gain_db", "psnr_ratio"} <= set(q)
    assert np.isfinite(q["psnr"]) and np.isfinite(q["baseline_psnr"])
    ref = np.linspace(-1, 1, 50)
    assert psnr(ref, ref) == float("inf")
    assert psnr(np.zeros(50), ref) == pytest.approx(10 * np.log10(4 / np.mean(ref**2)))


def test_checkpoint_loads_back_the_trained_model(survey, trained):
    model = load_transfer_model(trained.out_dir)
    assert not model.training
    assert_same_state(model, trained.model)
    img, lab = (
        section_image(survey, trained.eval_sections[0]),
        section_labels(survey, trained.eval_sections[0]),
    )
    np.testing.assert_array_equal(
        reconstruct(model, img, lab), reconstruct(trained.model, img, lab)
    )
    out = transfer(trained.checkpoint_file, img, lab, img, lab, SCRUFF)
    assert out.shape == img.shape


# ------------------------------------------------------------------------------- errors


def test_bad_inputs_raise_clear_errors(survey, trained, tmp_path):
    model = trained.model
    img, lab = sections_with(survey, SCRUFF)[0]
    no_scruff = np.where(lab == SCRUFF, 3, lab).astype(np.uint8)
    with pytest.raises(ValueError, match="does not occur in the style source"):
        transfer(model, img, lab, img, no_scruff, SCRUFF)
    with pytest.raises(ValueError, match="does not occur in the target"):
        transfer(model, img, no_scruff, img, lab, SCRUFF)
    with pytest.raises(ValueError, match="differ in shape"):
        transfer(model, img, lab[:, :-1], img, lab, SCRUFF)
    with pytest.raises(ValueError, match="differ in shape"):
        transfer(model, img, lab, img[:-2], lab, SCRUFF)
    with pytest.raises(ValueError, match="2-D"):
        transfer(model, img[None], lab[None], img, lab, SCRUFF)
    with pytest.raises(ValueError, match="class_id 6 outside"):
        transfer(model, img, lab, img, lab, 6)
    with pytest.raises(ValueError, match="trained for 6 classes"):
        transfer(model, img, (lab + 3).astype(np.uint8), img, lab, SCRUFF)
    with pytest.raises(ValueError, match="trained for 6 classes, not 4"):
        load_transfer_model(trained.checkpoint_file, n_classes=4)
    with pytest.raises(ValueError, match="trained for 6 classes, not 4"):
        transfer(trained.checkpoint_file, img, lab, img, lab, SCRUFF, n_classes=4)
    bad = np.array(img)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        transfer(model, bad, lab, img, lab, SCRUFF)
    other = save_checkpoint(tmp_path / "other.pt", {"model": {}})
    with pytest.raises(ValueError, match="not a style transfer checkpoint"):
        load_transfer_model(other)
    with pytest.raises(ValueError, match="6 classes but the config says n_classes=4"):
        TransferTrainer(survey, cfg(n_classes=4))


# ------------------------------------------------------------------------------- CLI
