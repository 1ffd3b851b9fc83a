"""DeepLabV3 with a ResNet-18 backbone, for single-channel seismic sections.

Assembled from torchvision parts, with no weight download (``resnet18(weights=None)``):

* Backbone: torchvision's ResNet-18 stem and ``layer1`` ... ``layer4`` with ``conv1`` replaced by a
  ``in_channels -> 64`` 7x7/2 convolution (Kaiming-normal, as torchvision initialises its convs).
  torchvision's ``BasicBlock`` refuses ``dilation > 1``, so the atrous stages are made by editing
  the built blocks in place (:func:`_dilate_stage`): the stage's stride-2 convolutions (the first
  block's ``conv1`` and its 1x1 ``downsample``) get stride 1, and the 3x3 convolutions get the
  dilation that keeps their sampling grid in input pixels -- the first block's ``conv1`` keeps the
  previous dilation (it used to sample its input densely), every later 3x3 conv gets the new one.
  Output stride 16: ``layer4`` dilation 2. Output stride 8: ``layer3`` dilation 2, ``layer4``
  dilation 4. Parameter names are those of torchvision's ``deeplabv3_resnet50``
  (``backbone.layer4.0.conv1.weight``, ``classifier.0.convs.1.0.weight`` ...).
* Head: torchvision's :class:`~torchvision.models.segmentation.deeplabv3.DeepLabHead` (ASPP with a
  1x1 branch, three 3x3 atrous branches, an image-pooling branch, 256 channels, then 3x3 conv and
  1x1 classifier), rates (6, 12, 18) at output stride 16 and (12, 24, 36) at output stride 8.
  Logits are upsampled bilinearly to exactly the input height and width, for any size.
* Image-pooling branch: torchvision's ``ASPPPooling`` applies BatchNorm to a 1x1 map, whose
  training-mode statistics come from the batch alone -- it raises for batch size 1 ("Expected
  more than 1 value per channel") and is very noisy for small batches. Forgetting dynamics are
  recorded per example, so batch size 1 must train. The default ``pooling_norm="none"`` replaces
  that BatchNorm by nothing (the 1x1 conv gets a bias instead): the branch is then batch
  independent, identical in train and eval mode and deterministic, and the ASPP projection's
  BatchNorm right after the concatenation (which sees every pixel) still normalises it.
  ``"group"`` (GroupNorm, 32 groups) and ``"batch"`` (torchvision's behaviour) are available.
  A switch on the batch size was rejected: the same example would take a different function in a
  batch of one than in a larger batch.

Remaining batch-size-1 limit: in training mode every BatchNorm needs more than one value per
channel, so with batch size 1 the backbone's output must have more than one pixel, i.e. the input
must be larger than ``output_stride`` pixels in at least one dimension (33x17 is fine at OS 16).

Whole-section inference: :func:`predict_section` pads a section of any size (bottom/right) to a
multiple of the output stride with :func:`pad_to_multiple`, runs the model in eval mode, and crops
the logits back with :func:`crop_back`. Reflection padding is the default: seismic amplitude
continues across the border instead of stopping at an artificial flat (zero) band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18
from torchvision.models.segmentation.deeplabv3 import DeepLabHead

__all__ = [
    "ASPP_RATES",
    "feature_size",
    "trainable_rates",
    "untrained_taps",
    "Crop",
    "DeepLabV3ResNet18",
    "ImagePooling",
    "ResNet18Backbone",
    "build_deeplabv3_resnet18",
    "class_ids",
    "crop_back",
    "pad_to_multiple",
    "predict_section",
]

PoolingNorm = Literal["none", "group", "batch"]

#: ASPP atrous rates per output stride (DeepLabV3: rates double when the output stride halves).
ASPP_RATES: dict[int, tuple[int, int, int]] = {16: (6, 12, 18), 8: (12, 24, 36)}

#: (dilation of layer3, dilation of layer4) per output stride; 1 means the stage keeps stride 2.
_STAGE_DILATION: dict[int, tuple[int, int]] = {32: (1, 1), 16: (1, 2), 8: (2, 4)}

#: DeepLabV3's rates were chosen for 513-pixel crops: 33 feature rows at output stride 16.
_DEEPLAB_ROWS = 33


def feature_size(patch_size: Sequence[int], output_stride: int) -> int:
    """Feature rows (and columns: the smaller) of a training patch after ``output_stride``."""
    return min(math.ceil(int(p) / int(output_stride)) for p in patch_size)


def trainable_rates(patch_size: Sequence[int], output_stride: int) -> tuple[int, int, int]:
    """ASPP rates whose every tap sees features inside a training patch: DeepLabV3's
    (6, 12, 18) of 33 feature rows, scaled to the patch's feature grid and each kept below
    its size (a 3x3 tap at offset ``r`` falls inside an ``F``-wide grid for some output
    pixel iff ``r < F``). 128-pixel patches at stride 16 (8x8 features) give (1, 3, 4);
    patches of a single feature row give (1, 1, 1), whose taps no patch can train."""
    f = feature_size(patch_size, output_stride)
    if f < 2:  # a single feature row: no dilated tap can see a feature (untrained_taps says so)
        return (1, 1, 1)
    scaled = (round(f * r / _DEEPLAB_ROWS) for r in ASPP_RATES[16])
    return tuple(max(1, min(f - 1, r)) for r in scaled)  # type: ignore[return-value]


def untrained_taps(
    patch_size: Sequence[int], output_stride: int, rates: Sequence[int]
) -> list[str]:
    """The dilated 3x3 convolutions whose off-centre taps never see a feature inside a
    training patch (they get no gradient, yet whole-section inference reads through them):
    ASPP branches and atrous backbone stages with a dilation at least the feature size."""
    f = feature_size(patch_size, output_stride)
    out = [f"ASPP rate {r} >= {f} feature rows" for r in rates if r >= f]
    d3, d4 = _STAGE_DILATION[output_stride]
    out += [f"{name} dilation {d} >= {f} feature rows"
            for name, d in (("layer3", d3), ("layer4", d4)) if d > 1 and d >= f]  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------
# backbone
# ------------------------------------------------------------------------------------------------
def _dilate_stage(stage: nn.Sequential, dilation: int, previous_dilation: int) -> None:
    """Turn a stride-2 torchvision BasicBlock stage into a stride-1 stage of ``dilation``."""
    for i, block in enumerate(stage):
        if i == 0:
            block.conv1.stride = (1, 1)
            block.stride = 1
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)
        d1 = previous_dilation if i == 0 else dilation
        for conv, d in ((block.conv1, d1), (block.conv2, dilation)):
            # 3x3 kernels: "same" padding equals the dilation
            conv.dilation = (d, d)
            conv.padding = (d, d)


class ResNet18Backbone(nn.Module):
    """ResNet-18 feature extractor (stem + layer1..4), optionally atrous; outputs 512 channels."""

    out_channels = 512

    def __init__(self, in_channels: int = 1, output_stride: int = 16) -> None:
        super().__init__()
        if output_stride not in _STAGE_DILATION:
            raise ValueError(f"output_stride must be one of 8, 16, 32, got {output_stride}")
        net = resnet18(weights=None)
        conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(conv1.weight, mode="fan_out", nonlinearity="relu")
        self.conv1 = conv1
        self.bn1 = net.bn1
        self.relu = net.relu
        self.maxpool = net.maxpool
        self.layer1 = net.layer1
        self.layer2 = net.layer2
        self.layer3 = net.layer3
        self.layer4 = net.layer4
        d3, d4 = _STAGE_DILATION[output_stride]
        if d3 > 1:
            _dilate_stage(self.layer3, d3, previous_dilation=1)
        if d4 > 1:
            _dilate_stage(self.layer4, d4, previous_dilation=d3)
        self.in_channels = in_channels
        self.output_stride = output_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)


# ------------------------------------------------------------------------------------------------
# head
# ------------------------------------------------------------------------------------------------
class ImagePooling(nn.Sequential):
    """ASPP image-level branch: global average pool, 1x1 conv, norm, ReLU, broadcast back.

    ``norm``: ``"none"`` (conv with bias, no normalisation; works for batch size 1 in training),
    ``"group"`` (``GroupNorm(32, out_channels)``, batch independent) or ``"batch"``
    (torchvision's ``ASPPPooling``; raises in training mode with batch size 1).
    Module indices match torchvision's ``ASPPPooling`` (0 pool, 1 conv, 2 norm, 3 ReLU).
    """

    def __init__(self, in_channels: int, out_channels: int, norm: PoolingNorm = "none") -> None:
        if norm == "none":
            conv = nn.Conv2d(in_channels, out_channels, 1, bias=True)
            norm_layer: nn.Module = nn.Identity()
        elif norm == "group":
            conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
            norm_layer = nn.GroupNorm(min(32, out_channels), out_channels)
        elif norm == "batch":
            conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
            norm_layer = nn.BatchNorm2d(out_channels)
        else:
            raise ValueError(f"pooling_norm must be 'none', 'group' or 'batch', got {norm!r}")
        super().__init__(nn.AdaptiveAvgPool2d(1), conv, norm_layer, nn.ReLU())
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        for module in self:
            x = module(x)
        # bilinear upsampling of a 1x1 map is a broadcast; expand is exact and allocation free
        return x.expand(-1, -1, h, w)


class DeepLabV3ResNet18(nn.Module):
    """DeepLabV3 (ASPP) on an atrous ResNet-18; ``forward`` returns logits ``(N, n_classes, H, W)``
    at exactly the input's height and width."""

    def __init__(
        self,
        n_classes: int = 6,
        in_channels: int = 1,
        output_stride: int = 16,
        *,
        pooling_norm: PoolingNorm = "none",
        atrous_rates: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {output_stride}")
        if n_classes < 1 or in_channels < 1:
            raise ValueError("n_classes and in_channels must be >= 1")
        rates = tuple(atrous_rates) if atrous_rates is not None else ASPP_RATES[output_stride]
        self.backbone = ResNet18Backbone(in_channels, output_stride)
        self.classifier = DeepLabHead(ResNet18Backbone.out_channels, n_classes, rates)
        aspp = self.classifier[0]
        aspp.convs[-1] = ImagePooling(ResNet18Backbone.out_channels, 256, pooling_norm)
        self.n_classes = n_classes
        self.in_channels = in_channels
        self.output_stride = output_stride
        self.atrous_rates = rates
        self.pooling_norm = pooling_norm

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features, ``(N, 512, ceil-ish H/os, W/os)``."""
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        logits = self.classifier(self.backbone(x))
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)

    def extra_repr(self) -> str:
        return (
            f"n_classes={self.n_classes}, in_channels={self.in_channels}, "
            f"output_stride={self.output_stride}, atrous_rates={self.atrous_rates}, "
            f"pooling_norm={self.pooling_norm!r}"
        )


def build_deeplabv3_resnet18(
    n_classes: int = 6,
    in_channels: int = 1,
    output_stride: int = 16,
    *,
    pooling_norm: PoolingNorm = "none",
    atrous_rates: Sequence[int] | None = None,
    channels_last: bool = False,
) -> DeepLabV3ResNet18:
    """A freshly initialised :class:`DeepLabV3ResNet18` (never downloads weights).

    Seed with ``torch.manual_seed`` before the call for reproducible initial weights.
    ``channels_last=True`` converts the parameters to ``torch.channels_last``.
    """
    model = DeepLabV3ResNet18(
        n_classes,
        in_channels,
        output_stride,
        pooling_norm=pooling_norm,
        atrous_rates=atrous_rates,
    )
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


# ------------------------------------------------------------------------------------------------
# padding and whole-section inference
# ------------------------------------------------------------------------------------------------
class Crop(NamedTuple):
    """The original spatial size of a padded tensor (padding is added bottom and right)."""

    height: int
    width: int


def _pad_dim(x: torch.Tensor, amount: int, dim: int, mode: str, value: float) -> torch.Tensor:
    """Pad the end of spatial ``dim`` (-2 rows, -1 columns) of a 4-D tensor by ``amount``."""

    def spec(n: int) -> tuple[int, int, int, int]:
        return (0, n, 0, 0) if dim == -1 else (0, 0, 0, n)

    if amount <= 0:
        return x
    if mode == "constant":
        return F.pad(x, spec(amount), mode="constant", value=value)
    if mode == "replicate":
        return F.pad(x, spec(amount), mode="replicate")
    # reflect: torch needs pad < size, so reflect repeatedly; a size-1 dim can only replicate
    while amount > 0:
        step = min(amount, x.shape[dim] - 1)
        if step <= 0:
            return F.pad(x, spec(amount), mode="replicate")
        x = F.pad(x, spec(step), mode="reflect")
        amount -= step
    return x


def pad_to_multiple(
    x: torch.Tensor, multiple: int, mode: str = "reflect", value: float = 0.0
) -> tuple[torch.Tensor, Crop]:
    """Pad the last two dimensions of ``x`` (bottom and right) up to multiples of ``multiple``.

    ``mode``: ``"reflect"`` (default; mirror without repeating the edge pixel, applied repeatedly
    when the pad exceeds the size, replicate for a size-1 dimension), ``"replicate"``, or
    ``"constant"``/``"zero"`` (fill with ``value``). ``x`` is a float tensor of 2 to 4 dimensions
    (``(H, W)``, ``(C, H, W)``, ``(N, C, H, W)``); the result has the same number of dimensions
    and memory format. Returns the padded tensor and the :class:`Crop` for :func:`crop_back`.
    """
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    if x.dim() < 2 or x.dim() > 4:
        raise ValueError(f"expected a tensor of 2 to 4 dimensions, got shape {tuple(x.shape)}")
    if mode == "zero":
        mode = "constant"
    if mode not in ("reflect", "replicate", "constant"):
        raise ValueError(f"mode must be 'reflect', 'replicate', 'constant' or 'zero', got {mode!r}")
    h, w = int(x.shape[-2]), int(x.shape[-1])
    if h < 1 or w < 1:
        raise ValueError(f"cannot pad an empty tensor of shape {tuple(x.shape)}")
    ph, pw = (-h) % multiple, (-w) % multiple
    crop = Crop(h, w)
    if ph == 0 and pw == 0:
        return x, crop
    ndim = x.dim()
    y = x
    while y.dim() < 4:
        y = y.unsqueeze(0)
    y = _pad_dim(y, ph, -2, mode, value)
    y = _pad_dim(y, pw, -1, mode, value)
    while y.dim() > ndim:
        y = y.squeeze(0)
    return y, crop


def crop_back(y: torch.Tensor, crop: Crop | tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: keep the top-left ``crop`` of the last two dimensions."""
    h, w = crop
    return y[..., :h, :w]


def _model_device_and_format(model: nn.Module) -> tuple[torch.device, torch.memory_format]:
    """The device of the model's parameters and whether its convolutions are channels_last
    (decided by the first conv weight with a spatial kernel; 1x1 weights are ambiguous)."""
    device = torch.device("cpu")
    for i, p in enumerate(model.parameters()):
        if i == 0:
            device = p.device
        if p.dim() == 4 and p.shape[-1] * p.shape[-2] > 1:
            if p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous():
                return device, torch.channels_last
            break
    return device, torch.contiguous_format


def class_ids(logits: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """The predicted class per pixel: the index of the largest logit along ``dim`` (the first
    one on ties, as ``argmax``), as uint8 when there are at most 256 classes (else int64).

    Uses ``torch.max(dim).indices``, which on CPU is far cheaper than ``torch.argmax`` along a
    non-last dimension (8 x 6 x 64 x 64 logits, 2 threads: 0.4 ms against 7.5 ms), the same
    values. Every prediction the trainer stores or tracks goes through here.
    """
    idx = logits.max(dim=dim).indices
    return idx.to(torch.uint8) if logits.shape[dim] <= 256 else idx


def predict_section(
    model: nn.Module,
    section: Any,
    stride_multiple: int | None = None,
    *,
    pad_mode: str = "reflect",
    amp: bool = False,
) -> torch.Tensor:
    """Logits of a whole section (or a batch of sections) of any size.

    ``section``: numpy array or tensor, ``(H, W)`` (single channel), ``(C, H, W)`` or
    ``(N, C, H, W)``. It is cast to float32, moved to the model's device and memory format,
    padded to a multiple of ``stride_multiple`` (default: the model's ``output_stride``, else 16)
    with :func:`pad_to_multiple`, run in eval mode under ``torch.inference_mode`` (and autocast on
    CUDA when ``amp``), and cropped back. The model's train/eval mode is restored afterwards.
    Returns float32 logits on the model's device: ``(n_classes, H, W)`` for 2-D and 3-D input,
    ``(N, n_classes, H, W)`` for 4-D input.
    """
    from napari_forgetting.model.device import autocast_context

    x = section if isinstance(section, torch.Tensor) else torch.as_tensor(np.asarray(section))
    squeeze = x.dim() in (2, 3)
    if x.dim() == 2:
        x = x[None, None]
    elif x.dim() == 3:
        x = x[None]
    elif x.dim() != 4:
        raise ValueError(f"section must be (H, W), (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
    multiple = stride_multiple or int(getattr(model, "output_stride", 16))
    device, fmt = _model_device_and_format(model)
    x = x.to(device=device, dtype=torch.float32)
    padded, crop = pad_to_multiple(x, multiple, mode=pad_mode)
    padded = padded.contiguous(memory_format=fmt)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast_context(device, enabled=amp):
            logits = model(padded)
    finally:
        model.train(was_training)
    out = crop_back(logits, crop).float()
    return out[0] if squeeze else out
