"""No parameter used at inference stays untrained: under TrainConfig()'s defaults every tap of
every dilated convolution gets gradient from a training patch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from napari_forgetting.model.deeplab import (
    build_deeplabv3_resnet18,
    trainable_rates,
    untrained_taps,
)
from napari_forgetting.training import TrainConfig


def _taps_without_gradient(model: nn.Module, patch: tuple[int, int]) -> list[str]:
    """Dilated 3x3 convolutions with a kernel tap whose gradient is exactly zero after one
    backward pass over a batch of random patches."""
    torch.manual_seed(0)
    model.train()
    x = torch.randn(2, 1, *patch)
    y = torch.randint(0, 6, (2, *patch))
    nn.functional.cross_entropy(model(x), y).backward()
    out = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and max(module.dilation) > 1:
            grad = module.weight.grad.abs().sum(dim=(0, 1))  # (kh, kw)
            dead = [(i, j) for i in range(grad.shape[0]) for j in range(grad.shape[1])
                    if grad[i, j] == 0]  # fmt: skip
            if dead:
                out.append(f"{name} (dilation {module.dilation[0]}): taps {dead}")
    return out


def test_default_geometry_trains_every_dilated_tap():
    cfg = TrainConfig()
    assert cfg.patch_size == (128, 128) and cfg.output_stride == 16
    assert cfg.rates == trainable_rates(cfg.patch_size, cfg.output_stride) == (1, 3, 4)
    assert untrained_taps(cfg.patch_size, cfg.output_stride, cfg.rates) == []
    torch.manual_seed(0)
    model = build_deeplabv3_resnet18(6, 1, cfg.output_stride, atrous_rates=cfg.rates)
    assert _taps_without_gradient(model, cfg.patch_size) == []


def test_the_check_sees_the_former_rates_left_untrained():
    """DeepLab's (6, 12, 18) on 128-pixel patches: rates 12 and 18 only ever see padding."""
    assert untrained_taps((128, 128), 16, (6, 12, 18)) == [
        "ASPP rate 12 >= 8 feature rows",
        "ASPP rate 18 >= 8 feature rows",
    ]
    torch.manual_seed(0)
    model = build_deeplabv3_resnet18(6, 1, 16, atrous_rates=(6, 12, 18))
    dead = _taps_without_gradient(model, (128, 128))
    assert [d.split(" ")[0] for d in dead] == ["classifier.0.convs.2.0", "classifier.0.convs.3.0"]
    # a user may still choose them: the run records which taps stay untrained
    from napari_forgetting.data.synthetic import make_f3_like
    from napari_forgetting.training import Trainer

    cfg = TrainConfig(aspp_rates=(6, 12, 18), patches_per_epoch=2, device="cpu", num_threads=1)
    trainer = Trainer(make_f3_like((8, 12, 32), seed=0), cfg)
    assert trainer.untrained_taps == untrained_taps((128, 128), 16, (6, 12, 18))


@pytest.mark.parametrize(("patch", "stride"), [((64, 64), 16), ((256, 256), 16), ((128, 128), 8)])
def test_rates_fit_other_geometries(patch, stride):
    rates = trainable_rates(patch, stride)
    assert untrained_taps(patch, stride, rates) == []
    assert TrainConfig(patch_size=patch, output_stride=stride).rates == rates
