"""SEAN-style region-adaptive style transfer networks (torch only; no Qt or napari).

After SEAN (Zhu, Abdal, Qin, Wonka: "SEAN: Image Synthesis with Semantic Region-Adaptive
Normalization", CVPR 2020), "slightly altered" as Benkert et al. (ICIP 2021) say, and made
small enough to train on a CPU:

* :class:`StyleEncoder` -- a section ``(N, 1, H, W)`` becomes a feature map
  ``(N, style_dim, H, W)`` (a small encoder-decoder); **region-wise average pooling** over
  each class mask gives the style matrix ``(N, n_classes, style_dim)``, one code per class.
  A class absent from a section gets a zero code and ``present[n, k] = False``.
* :class:`Generator` -- starts from the label map downsampled by ``2**n_up`` and upsamples
  through :class:`SEANResBlock` s. Each block normalises with a parameter-free BatchNorm and
  modulates with per-pixel ``gamma`` / ``beta`` (:class:`ACE`) blended from

  (a) the style codes, each passed through its own class's linear layer and broadcast over
      that class's region, then convolved to ``gamma_s`` / ``beta_s``, and
  (b) a SPADE branch on the one-hot label map (``gamma_o`` / ``beta_o``),

  as ``a * (gamma_s, beta_s) + (1 - a) * (gamma_o, beta_o)`` with ``a = sigmoid(learned)``,
  after adding per-pixel Gaussian noise with a learned per-channel scale (random in
  training; at inference drawn from a seeded generator, ``noise_seed``, so that a chaotic
  texture can be drawn and the result is still deterministic).
* **Exemplar input** (``TransferModelConfig.exemplar``, after CoCosNet: Zhang et al.,
  "Cross-domain Correspondence Learning for Exemplar-based Image Translation", CVPR 2020,
  which warps an exemplar onto the target's layout and translates from it): the generator
  also takes an image ``(N, 1, H, W)`` -- the target with the style source's class region
  laid along the target's strata (:func:`~.region.stratal_exemplar`) -- area-resized into
  every ACE's style branch beside the broadcast codes and into the head. A pooled code
  carries a region's statistics, not its pattern; the exemplar carries the pattern.
* :class:`MultiscalePatchDiscriminator` -- ``num_d`` PatchGANs on the image concatenated
  with the one-hot labels, at full and successively halved resolution; returns every
  intermediate feature map (for feature matching) and the patch logits.

Alterations from SEAN, and why: a single input / output channel (seismic amplitudes,
z-normalised, no ``tanh``: amplitudes are not bounded); channel widths are configurable and
small; no spectral norm in the generator; the discriminator uses spectral norm and no
normalisation layers, so it does not depend on the batch. The generator's BatchNorm uses
running statistics in ``eval()`` mode, which keeps a transfer *local*: changing one class's
code changes activations only within the convolutions' reach of that class's region, never
through image-wide batch statistics.

Any ``H, W``: inputs are padded (bottom / right) to a multiple of ``2**n_up`` (and of 4 in the
encoder) and outputs cropped back. Label maps are ``(N, H, W)`` integer class ids in
``0 .. n_classes - 1``; the value :data:`IGNORE_INDEX` (255) marks "no class" pixels (patch
padding), which get an all-zero one-hot vector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from napari_forgetting.transfer.character import character

__all__ = [
    "ACE",
    "IGNORE_INDEX",
    "Generator",
    "MultiscalePatchDiscriminator",
    "RegionStyleTransfer",
    "SEANResBlock",
    "StyleEncoder",
    "TransferModelConfig",
    "mix_styles",
    "one_hot_labels",
    "region_average",
]

#: Label value of pixels that belong to no class (patch padding); one-hot all zeros.
IGNORE_INDEX = 255

#: The measured region statistics appended to a learned code (``character_code``), in order.
CODE_CHARACTER = ("rms", "rho_v", "rho_h")


@dataclass
class TransferModelConfig:
    """Architecture of :class:`RegionStyleTransfer` (JSON-serialisable).

    ``n_classes`` class ids; ``style_dim`` channels of a style code; ``ngf`` the generator's
    width at full resolution (``ngf * 2**min(i, 2)`` towards the bottom); ``n_up`` the number of
    2x upsamplings (inputs are padded to multiples of ``2**n_up``); ``encoder_width`` the style
    encoder's base width; ``spade_hidden`` the SPADE branch's hidden channels (default ``ngf``);
    ``character_code`` appends the region's measured RMS and correlations to each code (and
    scales each class's output by its RMS, without an exemplar); ``exemplar`` adds the
    exemplar image input (see the module's docstring).
    """

    n_classes: int = 6
    style_dim: int = 32
    ngf: int = 32
    n_up: int = 3
    encoder_width: int = 16
    spade_hidden: int | None = None
    character_code: bool = True
    exemplar: bool = False

    def __post_init__(self) -> None:
        for name in ("n_classes", "style_dim", "ngf", "encoder_width"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 1 <= int(self.n_up) <= 6:
            raise ValueError(f"n_up must be 1..6, got {self.n_up}")

    @property
    def code_dim(self) -> int:
        """Channels of a class's code: the learned ``style_dim`` plus, with
        ``character_code``, the region's RMS and vertical / lateral correlations."""
        return self.style_dim + (len(CODE_CHARACTER) if self.character_code else 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TransferModelConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values.setdefault("character_code", False)  # checkpoints from before it existed
        values.setdefault("exemplar", False)
        return cls(**values)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def one_hot_labels(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``(N, H, W)`` class ids -> float ``(N, n_classes, H, W)`` one-hot.

    :data:`IGNORE_INDEX` pixels get all zeros; any other id outside ``0 .. n_classes - 1``
    raises :class:`ValueError`.
    """
    if labels.dim() != 3:
        raise ValueError(f"labels must be (N, H, W), got shape {tuple(labels.shape)}")
    labels = labels.long()
    valid = labels != IGNORE_INDEX
    bad = valid & ((labels < 0) | (labels >= n_classes))
    if bool(bad.any()):
        worst = int(labels[bad].max()) if bool((labels[bad] >= 0).any()) else int(labels[bad].min())
        raise ValueError(
            f"label id {worst} outside 0..{n_classes - 1}: this model was built for "
            f"{n_classes} classes"
        )
    idx = torch.where(valid, labels, torch.zeros_like(labels))
    onehot = F.one_hot(idx, n_classes).permute(0, 3, 1, 2).float()
    return onehot * valid.unsqueeze(1).float()


def region_average(
    features: torch.Tensor, onehot: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Region-wise average pooling.

    ``features`` ``(N, C, H, W)``, ``onehot`` ``(N, K, H, W)`` -> ``(style (N, K, C),
    present (N, K) bool)``: ``style[n, k]`` is the mean of ``features[n]`` over class ``k``'s
    pixels, zero where class ``k`` has none.
    """
    onehot = onehot.to(features.dtype)
    area = onehot.sum(dim=(2, 3))  # (N, K)
    total = torch.einsum("nchw,nkhw->nkc", features, onehot)
    style = total / area.clamp(min=1.0).unsqueeze(-1)
    return style, area > 0


def mix_styles(
    target_style: torch.Tensor, source_style: torch.Tensor, class_id: int
) -> torch.Tensor:
    """The target's style matrix with class ``class_id``'s code taken from the source.

    Both ``(K, C)`` or ``(N, K, C)``; returns a new tensor, every other row equal to the
    target's.
    """
    if target_style.shape[-2:] != source_style.shape[-2:]:
        raise ValueError(
            f"style matrices differ in shape: {tuple(target_style.shape)} vs "
            f"{tuple(source_style.shape)}"
        )
    k = int(class_id)
    if not 0 <= k < target_style.shape[-2]:
        raise ValueError(f"class_id {class_id} outside 0..{target_style.shape[-2] - 1}")
    mixed = target_style.clone()
    mixed[..., k, :] = source_style[..., k, :]
    return mixed


def _pad_bottom_right(x: torch.Tensor, multiple: int, mode: str) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"  # torch's reflect needs pad < size
    return F.pad(x, (0, pw, 0, ph), mode=mode)


# ----------------------------------------------------------------------------------------------
# style encoder
# ----------------------------------------------------------------------------------------------


class StyleEncoder(nn.Module):
    """Section -> per-pixel style features -> per-class style codes.

    Two stride-2 convolutions down, two transposed convolutions up (a small version of SEAN's
    Zencoder), ``tanh`` output. :meth:`forward` returns ``(style (N, K, style_dim),
    present (N, K))``.
    """

    def __init__(self, style_dim: int = 32, width: int = 16, character_code: bool = False) -> None:
        super().__init__()
        self.character_code = character_code
        w = width
        act = nn.LeakyReLU(0.2)
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1, padding_mode="reflect"),
            act,
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            act,
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1),
            act,
            nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1),
            act,
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1),
            act,
            nn.Conv2d(w, style_dim, 3, padding=1, padding_mode="reflect"),
            nn.Tanh(),
        )

    def feature_map(self, image: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` -> ``(N, style_dim, H, W)`` (padded to a multiple of 4 inside)."""
        h, w = image.shape[-2:]
        return self.body(_pad_bottom_right(image, 4, "reflect"))[..., :h, :w]

    def forward(
        self, image: torch.Tensor, onehot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.feature_map(image)
        style, present = region_average(feats.float(), onehot.float())
        if self.character_code:
            measured = character(image.float(), onehot.float())
            stats = torch.stack([measured[name] for name in CODE_CHARACTER], dim=-1)
            style = torch.cat([style, stats * present[..., None].to(stats.dtype)], dim=-1)
        return style, present


# ----------------------------------------------------------------------------------------------
# generator
# ----------------------------------------------------------------------------------------------


class ACE(nn.Module):
    """SEAN's semantic region-adaptive normalisation (ACE) for ``channels`` activations.

    ``forward(x, onehot, style)``: ``x`` ``(N, C, h, w)``; ``onehot`` ``(N, K, H, W)`` (resized
    to ``(h, w)`` nearest here); ``style`` ``(N, K, style_dim)``.
    """

    def __init__(
        self,
        channels: int,
        n_classes: int,
        style_dim: int,
        hidden: int,
        noise: bool = True,
        exemplar: bool = False,
    ) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.noise = noise
        self.noise_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        # per-class linear maps of the style codes: weight (K, S, S), bias (K, S)
        self.class_weight = nn.Parameter(
            torch.eye(style_dim).repeat(n_classes, 1, 1)
            + 0.02 * torch.randn(n_classes, style_dim, style_dim)
        )
        self.class_bias = nn.Parameter(torch.zeros(n_classes, style_dim))
        extra = 1 if exemplar else 0  # the exemplar image, beside the broadcast codes
        self.style_gamma = nn.Conv2d(style_dim + extra, channels, 3, padding=1)
        self.style_beta = nn.Conv2d(style_dim + extra, channels, 3, padding=1)
        self.spade_shared = nn.Sequential(nn.Conv2d(n_classes, hidden, 3, padding=1), nn.ReLU())
        self.spade_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.spade_beta = nn.Conv2d(hidden, channels, 3, padding=1)
        self.blend_gamma = nn.Parameter(torch.zeros(1))
        self.blend_beta = nn.Parameter(torch.zeros(1))

    def class_codes(self, style: torch.Tensor) -> torch.Tensor:
        """Per-class transformed codes ``(N, K, S)``: ``relu(W_k s_k + b_k)`` for each class."""
        codes = torch.einsum("nks,kst->nkt", style, self.class_weight) + self.class_bias
        return F.relu(codes)

    def forward(
        self,
        x: torch.Tensor,
        onehot: torch.Tensor,
        style: torch.Tensor,
        rng: torch.Generator | None = None,
        exemplar: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.noise and (self.training or rng is not None):
            shape = (x.shape[0], 1, x.shape[2], x.shape[3])
            noise = torch.randn(shape, generator=rng, device=x.device)
            x = x + noise.to(x.dtype) * self.noise_scale.to(x.dtype)
        normalized = self.norm(x)
        seg = F.interpolate(onehot, size=x.shape[-2:], mode="nearest")
        codes = self.class_codes(style)
        # broadcast each class's code over its region (absent classes have no pixels)
        style_map = torch.einsum("nks,nkhw->nshw", codes.to(seg.dtype), seg)
        if exemplar is not None:
            ex = F.interpolate(exemplar.to(seg.dtype), size=x.shape[-2:], mode="area")
            style_map = torch.cat([style_map, ex], dim=1)
        gamma_s = self.style_gamma(style_map)
        beta_s = self.style_beta(style_map)
        hidden = self.spade_shared(seg)
        gamma_o = self.spade_gamma(hidden)
        beta_o = self.spade_beta(hidden)
        a_g = torch.sigmoid(self.blend_gamma)
        a_b = torch.sigmoid(self.blend_beta)
        gamma = a_g * gamma_s + (1 - a_g) * gamma_o
        beta = a_b * beta_s + (1 - a_b) * beta_o
        return normalized * (1 + gamma) + beta


class SEANResBlock(nn.Module):
    """Residual block: ACE -> LeakyReLU -> conv, twice; learned shortcut when widths differ."""

    def __init__(
        self,
        fin: int,
        fout: int,
        n_classes: int,
        style_dim: int,
        hidden: int,
        noise: bool = True,
        exemplar: bool = False,
    ) -> None:
        super().__init__()
        fmid = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = nn.Conv2d(fin, fmid, 3, padding=1)
        self.conv_1 = nn.Conv2d(fmid, fout, 3, padding=1)
        self.ace_0 = ACE(fin, n_classes, style_dim, hidden, noise, exemplar)
        self.ace_1 = ACE(fmid, n_classes, style_dim, hidden, noise, exemplar)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
            self.ace_s = ACE(fin, n_classes, style_dim, hidden, noise, exemplar)

    def forward(
        self,
        x: torch.Tensor,
        onehot: torch.Tensor,
        style: torch.Tensor,
        rng: torch.Generator | None = None,
        exemplar: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.learned_shortcut:
            x_s = self.conv_s(self.ace_s(x, onehot, style, rng, exemplar))
        else:
            x_s = x
        dx = self.conv_0(F.leaky_relu(self.ace_0(x, onehot, style, rng, exemplar), 0.2))
        dx = self.conv_1(F.leaky_relu(self.ace_1(dx, onehot, style, rng, exemplar), 0.2))
        return x_s + dx


class Generator(nn.Module):
    """Label map + style matrix -> image, upsampling from ``1 / 2**n_up`` resolution.

    ``forward(onehot (N, K, H, W), style (N, K, S))`` -> ``(N, 1, H, W)`` for any ``H, W``.
    """

    def __init__(self, config: TransferModelConfig) -> None:
        super().__init__()
        c = config
        hidden = c.spade_hidden or c.ngf
        self.n_up = c.n_up
        widths = [c.ngf * 2 ** min(i, 2) for i in range(c.n_up, -1, -1)]  # bottom .. top
        self.character_code = c.character_code
        self.exemplar = c.exemplar
        self.rms_channel = c.style_dim + CODE_CHARACTER.index("rms")
        ex = int(c.exemplar)
        self.head = nn.Conv2d(c.n_classes + ex, widths[0], 3, padding=1)
        self.blocks = nn.ModuleList()
        self.blocks.append(
            SEANResBlock(widths[0], widths[0], c.n_classes, c.code_dim, hidden, True, c.exemplar)
        )
        for fin, fout in zip(widths[:-1], widths[1:], strict=True):
            self.blocks.append(
                SEANResBlock(fin, fout, c.n_classes, c.code_dim, hidden, True, c.exemplar)
            )
        self.conv_img = nn.Conv2d(widths[-1], 1, 3, padding=1)

    def forward(
        self,
        onehot: torch.Tensor,
        style: torch.Tensor,
        noise_seed: int | None = None,
        exemplar: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``noise_seed``: draw the per-pixel noise from a generator with this seed (the
        same texture field for every call of a given size); ``None``: from torch's global
        generator in training mode, no noise in ``eval()`` mode. ``exemplar`` ``(N, 1, H,
        W)``: the section the result should look like (:func:`~.region.stratal_exemplar`),
        required by a model built with ``exemplar`` and refused by one without."""
        h, w = onehot.shape[-2:]
        if self.exemplar != (exemplar is not None):
            raise ValueError(
                "this generator takes an exemplar image"
                if self.exemplar
                else "this generator was built without an exemplar input"
            )
        rng = None
        if noise_seed is not None:
            rng = torch.Generator(device=onehot.device).manual_seed(int(noise_seed))
        seg = _pad_bottom_right(onehot, 2**self.n_up, "replicate")
        size = (seg.shape[-2] // 2**self.n_up, seg.shape[-1] // 2**self.n_up)
        head_in = F.interpolate(seg, size=size, mode="nearest")
        if exemplar is not None:
            exemplar = _pad_bottom_right(exemplar.to(seg.dtype), 2**self.n_up, "replicate")
            head_in = torch.cat([head_in, F.interpolate(exemplar, size=size, mode="area")], 1)
        x = self.head(head_in)
        x = self.blocks[0](x, seg, style, rng, exemplar)
        for block in self.blocks[1:]:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = block(x, seg, style, rng, exemplar)
        out = self.conv_img(F.leaky_relu(x, 0.2))
        if self.character_code and not self.exemplar:
            # each class's pixels scaled by its code's RMS: the texture is learned at unit
            # amplitude, the amplitude is the code's (the style source's, after a swap)
            gain = torch.einsum("nk,nkhw->nhw", style[..., self.rms_channel].to(seg.dtype), seg)
            out = out * gain[:, None].to(out.dtype)
        return out[..., :h, :w]


class RegionStyleTransfer(nn.Module):
    """Style encoder + generator: the transfer model.

    Buffer ``amplitude_stats`` = ``(mean, std)`` of the training volume's amplitudes (set by the
    trainer; ``(0, 1)`` for a fresh model): :mod:`.apply` normalises raw section amplitudes with
    it and scales results back, so callers work in the volume's units.

    * :meth:`encode_style` ``(image (N,1,H,W), labels (N,H,W))`` -> ``(style (N,K,S),
      present (N,K))``
    * :meth:`generate` ``(labels (N,H,W), style (N,K,S))`` -> ``(N,1,H,W)``
    * :meth:`forward` ``(image, labels)`` -> reconstruction ``(N,1,H,W)``
    """

    def __init__(self, config: TransferModelConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else TransferModelConfig()
        self.n_classes = self.config.n_classes
        self.encoder = StyleEncoder(
            self.config.style_dim, self.config.encoder_width, self.config.character_code
        )
        self.generator = Generator(self.config)
        self.register_buffer("amplitude_stats", torch.tensor([0.0, 1.0], dtype=torch.float64))

    def onehot(self, labels: torch.Tensor) -> torch.Tensor:
        return one_hot_labels(labels, self.n_classes)

    def encode_style(
        self, image: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _check_pair(image, labels)
        return self.encoder(image, self.onehot(labels).to(image.dtype))

    def generate(
        self,
        labels: torch.Tensor,
        style: torch.Tensor,
        noise_seed: int | None = None,
        exemplar: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if style.dim() != 3 or style.shape[1:] != (self.n_classes, self.config.code_dim):
            raise ValueError(
                f"style must be (N, {self.n_classes}, {self.config.code_dim}), "
                f"got {tuple(style.shape)}"
            )
        onehot = self.onehot(labels)
        return self.generator(onehot, style.to(onehot.dtype), noise_seed, exemplar)

    def forward(
        self, image: torch.Tensor, labels: torch.Tensor, exemplar: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The reconstruction; an exemplar model takes ``exemplar`` (default: ``image``)."""
        style, _ = self.encode_style(image, labels)
        if self.config.exemplar and exemplar is None:
            exemplar = image
        return self.generate(labels, style, exemplar=exemplar)


def _check_pair(image: torch.Tensor, labels: torch.Tensor) -> None:
    if image.dim() != 4 or image.shape[1] != 1:
        raise ValueError(f"image must be (N, 1, H, W), got {tuple(image.shape)}")
    if labels.shape != (image.shape[0], *image.shape[2:]):
        raise ValueError(
            f"labels {tuple(labels.shape)} do not match image {tuple(image.shape)} "
            "(expected (N, H, W))"
        )


# ----------------------------------------------------------------------------------------------
# discriminator
# ----------------------------------------------------------------------------------------------


class PatchDiscriminator(nn.Module):
    """One PatchGAN (pix2pixHD / SPADE style) on ``cat(image, onehot)``; spectral norm, no
    normalisation layers. ``forward`` returns the list of every layer's output, logits last."""

    def __init__(self, in_channels: int, ndf: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        layers = [nn.Sequential(sn(nn.Conv2d(in_channels, ndf, 4, 2, 2)), nn.LeakyReLU(0.2))]
        nf = ndf
        for i in range(1, n_layers):
            prev, nf = nf, min(nf * 2, ndf * 8)
            stride = 2 if i < n_layers - 1 else 1
            layers.append(nn.Sequential(sn(nn.Conv2d(prev, nf, 4, stride, 2)), nn.LeakyReLU(0.2)))
        layers.append(nn.Sequential(sn(nn.Conv2d(nf, 1, 4, 1, 2))))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


class MultiscalePatchDiscriminator(nn.Module):
    """``num_d`` PatchGANs at full, 1/2, 1/4 ... resolution, conditioned on the labels.

    ``forward(image (N,1,H,W), onehot (N,K,H,W))`` -> one list of features per scale (the last
    entry of each list is that scale's patch logits).
    """

    def __init__(self, n_classes: int, ndf: int = 32, num_d: int = 2, n_layers: int = 3) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(1 + n_classes, ndf, n_layers) for _ in range(num_d)
        )

    def forward(self, image: torch.Tensor, onehot: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([image, onehot.to(image.dtype)], dim=1)
        results = []
        for i, disc in enumerate(self.discriminators):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            results.append(disc(x))
        return results
