"""DeepLabV3-ResNet18, padding helpers, whole-section inference and device helpers (CPU, tiny)."""

import contextlib

import numpy as np
import pytest
import torch

from napari_forgetting.model import (
    ASPP_RATES,
    Crop,
    DeepLabV3ResNet18,
    autocast_context,
    build_deeplabv3_resnet18,
    crop_back,
    make_grad_scaler,
    pad_to_multiple,
    predict_section,
    select_device,
)


@pytest.fixture(scope="module")
def models():
    """One seeded model per output stride, shared (tests that mutate build their own)."""
    out = {}
    for os_ in (16, 8):
        torch.manual_seed(0)
        out[os_] = build_deeplabv3_resnet18(output_stride=os_).eval()
    return out


# -- architecture --------------------------------------------------------------------------------
@pytest.mark.parametrize("os_", [16, 8])
@pytest.mark.parametrize("shape", [(1, 1, 33, 17), (2, 1, 64, 48), (1, 1, 75, 23)])
def test_logits_have_input_size(models, os_, shape):
    with torch.inference_mode():
        y = models[os_](torch.randn(shape))
    assert y.shape == (shape[0], 6, *shape[-2:])
    assert torch.isfinite(y).all()


@pytest.mark.parametrize(("os_", "side"), [(16, 4), (8, 8)])
def test_backbone_output_stride(models, os_, side):
    model = models[os_]
    with torch.inference_mode():
        f = model.forward_features(torch.randn(1, 1, 64, 64))
    assert f.shape == (1, 512, side, side)
    assert model.atrous_rates == ASPP_RATES[os_]
    aspp_rates = [m[0].dilation[0] for m in list(model.classifier[0].convs)[1:4]]
    assert aspp_rates == list(ASPP_RATES[os_])


def test_stage_dilations():
    m16 = build_deeplabv3_resnet18(output_stride=16)
    b = m16.backbone
    assert b.layer3[0].conv1.stride == (2, 2) and b.layer3[1].conv2.dilation == (1, 1)
    l4 = b.layer4
    assert l4[0].conv1.stride == (1, 1) and l4[0].downsample[0].stride == (1, 1)
    assert l4[0].conv1.dilation == (1, 1)  # first conv keeps its old (dense) sampling grid
    assert [l4[0].conv2.dilation, l4[1].conv1.dilation, l4[1].conv2.dilation] == [(2, 2)] * 3
    assert all(c.padding == c.dilation for c in (l4[0].conv2, l4[1].conv1, l4[1].conv2))
    b8 = build_deeplabv3_resnet18(output_stride=8).backbone
    assert b8.layer3[0].conv1.stride == (1, 1) and b8.layer3[1].conv2.dilation == (2, 2)
    assert b8.layer4[0].conv1.dilation == (2, 2) and b8.layer4[1].conv2.dilation == (4, 4)
    with pytest.raises(ValueError, match="output_stride"):
        DeepLabV3ResNet18(output_stride=4)


@pytest.mark.parametrize("os_", [16, 8])
def test_batch_size_one_trains(os_):
    torch.manual_seed(1)
    model = build_deeplabv3_resnet18(n_classes=3, output_stride=os_).train()
    x = torch.randn(1, 1, 33, 17)
    target = torch.randint(0, 3, (1, 33, 17))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.classifier[0].convs[4][1].weight.grad.abs().sum() > 0  # pooling branch learns
    opt.step()


def test_pooling_norm_options():
    x = torch.randn(1, 1, 33, 17)
    with pytest.raises(ValueError, match="more than 1 value"):
        build_deeplabv3_resnet18(pooling_norm="batch").train()(x)
    y = build_deeplabv3_resnet18(pooling_norm="group").train()(x)
    assert y.shape == (1, 6, 33, 17)
    with pytest.raises(ValueError, match="pooling_norm"):
        build_deeplabv3_resnet18(pooling_norm="layer")


@pytest.mark.parametrize("n_classes", [6, 3])
def test_n_classes(n_classes):
    model = build_deeplabv3_resnet18(n_classes=n_classes).eval()
    with torch.inference_mode():
        assert model(torch.randn(1, 1, 33, 17)).shape == (1, n_classes, 33, 17)
    assert model.backbone.conv1.weight.shape == (64, 1, 7, 7)


def test_no_weight_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("attempted to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    import torchvision.models._api as api

    if hasattr(api, "load_state_dict_from_url"):
        monkeypatch.setattr(api, "load_state_dict_from_url", refuse)
    build_deeplabv3_resnet18()


def test_channels_last_matches_contiguous(models):
    model = models[16]
    x = torch.randn(2, 1, 64, 48)
    with torch.inference_mode():
        ref = model(x)
        model_cl = build_deeplabv3_resnet18()
        model_cl.load_state_dict(model.state_dict())
        model_cl = model_cl.to(memory_format=torch.channels_last).eval()
        assert model_cl.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        out = model_cl(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_same_seed_same_weights_and_outputs():
    def build():
        torch.manual_seed(123)
        return build_deeplabv3_resnet18(n_classes=3)

    a, b = build(), build()
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    x = torch.randn(2, 1, 33, 17)
    torch.manual_seed(5)
    ya = a.train()(x)  # dropout draws from the seeded generator
    torch.manual_seed(5)
    yb = b.train()(x)
    assert torch.equal(ya, yb)
    torch.manual_seed(124)
    c = build_deeplabv3_resnet18(n_classes=3)
    assert not torch.equal(c.backbone.conv1.weight, sa["backbone.conv1.weight"])


def test_torchvision_parameter_names(models):
    names = set(models[16].state_dict())
    assert {"backbone.layer4.1.conv2.weight", "classifier.0.convs.1.0.weight"} <= names
    assert {"classifier.0.project.0.weight", "classifier.4.weight", "classifier.4.bias"} <= names


# -- padding and whole-section inference -----------------------------------------------------------
@pytest.mark.parametrize("mode", ["reflect", "replicate", "zero"])
@pytest.mark.parametrize("shape", [(33, 17), (3, 1, 5), (2, 1, 16, 32), (1, 1, 1, 2)])
def test_pad_crop_round_trip(mode, shape):
    x = torch.randn(shape)
    padded, crop = pad_to_multiple(x, 16, mode=mode)
    assert padded.dim() == x.dim()
    assert padded.shape[:-2] == x.shape[:-2]
    assert padded.shape[-2] % 16 == 0 and padded.shape[-1] % 16 == 0
    assert padded.shape[-2] - x.shape[-2] < 16 and padded.shape[-1] - x.shape[-1] < 16
    assert crop == Crop(*x.shape[-2:])
    assert torch.equal(crop_back(padded, crop), x)


def test_pad_values():
    x = torch.arange(6.0).reshape(1, 1, 2, 3)  # rows [0 1 2], [3 4 5]
    p, _ = pad_to_multiple(x, 4, mode="reflect")
    assert p.shape == (1, 1, 4, 4)
    assert p[0, 0, 0].tolist() == [0, 1, 2, 1]  # mirror without repeating the edge
    assert p[0, 0, :, 0].tolist() == [0, 3, 0, 3]  # pad > size - 1: reflect again
    z, _ = pad_to_multiple(x, 4, mode="constant", value=0.0)
    assert z[0, 0, 2:].abs().sum() == 0 and z[0, 0, :, 3].abs().sum() == 0
    same, crop = pad_to_multiple(torch.ones(16, 32), 16)
    assert same.shape == (16, 32) and crop == (16, 32)
    cl = torch.randn(1, 2, 5, 7).contiguous(memory_format=torch.channels_last)
    assert pad_to_multiple(cl, 8)[0].shape == (1, 2, 8, 8)
    with pytest.raises(ValueError):
        pad_to_multiple(x, 0)
    with pytest.raises(ValueError):
        pad_to_multiple(x, 4, mode="wrap")


def test_predict_section_any_size(models):
    model = models[16].train()  # predict_section must switch to eval and back
    section = np.random.default_rng(0).standard_normal((75, 23)).astype(np.float32)
    logits = predict_section(model, section)
    assert model.training
    model.eval()
    assert logits.shape == (6, 75, 23) and logits.dtype == torch.float32
    padded, crop = pad_to_multiple(torch.from_numpy(section)[None, None], 16)
    with torch.inference_mode():
        ref = crop_back(model(padded), crop)[0]
    torch.testing.assert_close(logits, ref)
    batch = predict_section(model, torch.randn(2, 1, 33, 17), stride_multiple=32)
    assert batch.shape == (2, 6, 33, 17)


def test_predict_section_large_odd(models):
    logits = predict_section(models[16], np.zeros((255, 701), dtype=np.float32))
    assert logits.shape == (6, 255, 701)


# -- device helpers --------------------------------------------------------------------------------
def test_select_device(monkeypatch):
    assert select_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("napari_forgetting.model.device.mps_available", lambda: False)
    assert select_device() == torch.device("cpu")
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_device("cuda")
    with pytest.raises(ValueError, match="MPS is not available"):
        select_device("mps")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu-ish")


def test_select_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert select_device() == torch.device("cuda")
    with pytest.raises(ValueError, match="only 1 CUDA"):
        select_device("cuda:3")


def test_autocast_on_cpu_is_null():
    ctx = autocast_context(torch.device("cpu"))
    assert isinstance(ctx, contextlib.nullcontext)
    assert not make_grad_scaler("cpu").is_enabled()


def test_class_ids_equal_argmax_including_ties():
    from napari_forgetting.model.deeplab import class_ids

    rng = np.random.default_rng(0)
    z = torch.from_numpy(rng.integers(0, 3, size=(4, 6, 9, 7)).astype(np.float32))  # many ties
    for dim in (1, -3):
        ids = class_ids(z, dim=dim)
        assert ids.dtype == torch.uint8
        np.testing.assert_array_equal(ids.numpy(), z.argmax(dim).numpy())
    np.testing.assert_array_equal(class_ids(z[0], dim=0).numpy(), z[0].argmax(0).numpy())
    wide = torch.randn(1, 300, 2, 2)
    assert class_ids(wide, 1).dtype == torch.int64
    np.testing.assert_array_equal(class_ids(wide, 1).numpy(), wide.argmax(1).numpy())


def test_make_optimizer_fused_where_available_and_equal_to_looped():
    from napari_forgetting.model.device import make_optimizer

    def steps(fused: bool, name: str, **kw):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 2))
        opt = (
            make_optimizer(name, net.parameters(), **kw)
            if fused
            else {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[name](net.parameters(), **kw)
        )
        x = torch.randn(16, 5, generator=torch.Generator().manual_seed(1))
        for _ in range(5):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
        return opt, [p.detach().clone() for p in net.parameters()]

    for name, kw in (
        ("adam", {"lr": 1e-2, "weight_decay": 1e-4}),
        ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ):
        opt, fused = steps(True, name, **kw)
        _, looped = steps(False, name, **kw)
        if tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 5):
            assert opt.defaults["fused"] is True  # CPU fused kernels exist in this torch
        for a, b in zip(fused, looped, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("lbfgs", [torch.zeros(1, requires_grad=True)])
