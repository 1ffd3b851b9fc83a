"""Losses of the style transfer model (torch only).

* :func:`hinge_d_loss` / :func:`hinge_g_loss` -- the hinge adversarial loss (SPADE, SEAN),
  averaged over the discriminator's scales.
* :func:`feature_matching_loss` -- L1 between the discriminator's intermediate features of the
  fake and the (detached) real image, averaged over layers and scales (pix2pixHD).
* :func:`reconstruction_loss` -- what replaces SEAN's VGG perceptual loss.
* :func:`character_loss` -- the swap loss: a region generated with another section's code
  must have that section's character (:mod:`.character`), a region generated with its own
  code its own.

Why not VGG: a pretrained perceptual network cannot be downloaded here (and ImageNet
features say little about seismic). The reconstruction loss is built from what seismic
images are made of instead:

* **L1, multi-scale** -- pixel L1 at full resolution plus L1 between 2x2 and 4x4
  average-pooled images. The pooled terms weigh the low-frequency structure (unit
  boundaries, amplitude envelope) without asking the generator for an exact pixel phase it
  cannot know from labels + region codes.
* **Spectral (FFT magnitude)** -- L1 between ``log1p(|rfft2|)`` of the generated and the real
  patch. A seismic section is a band-limited wavelet convolved with reflectivity: its
  character (dominant frequency, bandwidth, reflector density, lateral continuity) lives in
  the amplitude spectrum, which is invariant to the exact position of each reflector. A pure
  L1 generator goes blurry and loses exactly that; the magnitude term asks for the right
  texture without the phase. The log compresses the strong low-frequency peak so that the
  weaker, texture-carrying frequencies count too.

All inputs are ``(N, 1, H, W)`` float tensors; ``mask`` (optional, ``(N, 1, H, W)``, 1 on
valid pixels) excludes patch padding from the L1 terms (the trainer also zeroes padding in
both images, so the spectra compare like with like).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from napari_forgetting.transfer.character import character

__all__ = [
    "character_loss",
    "feature_matching_loss",
    "hinge_d_loss",
    "hinge_g_loss",
    "multiscale_l1",
    "reconstruction_loss",
    "spectral_loss",
]


def hinge_d_loss(
    real_outputs: list[list[torch.Tensor]], fake_outputs: list[list[torch.Tensor]]
) -> torch.Tensor:
    """``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``, averaged over scales."""
    total = 0.0
    for real, fake in zip(real_outputs, fake_outputs, strict=True):
        total = total + F.relu(1 - real[-1].float()).mean() + F.relu(1 + fake[-1].float()).mean()
    return total / len(real_outputs)


def hinge_g_loss(fake_outputs: list[list[torch.Tensor]]) -> torch.Tensor:
    """``-mean(D(fake))``, averaged over scales."""
    total = 0.0
    for fake in fake_outputs:
        total = total - fake[-1].float().mean()
    return total / len(fake_outputs)


def feature_matching_loss(
    real_outputs: list[list[torch.Tensor]], fake_outputs: list[list[torch.Tensor]]
) -> torch.Tensor:
    """L1 between intermediate discriminator features (logits excluded), real detached."""
    total = 0.0
    n = 0
    for real, fake in zip(real_outputs, fake_outputs, strict=True):
        for r, f in zip(real[:-1], fake[:-1], strict=True):
            total = total + F.l1_loss(f.float(), r.detach().float())
            n += 1
    return total / max(1, n)


def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return F.l1_loss(a, b)
    return ((a - b).abs() * mask).sum() / mask.sum().clamp(min=1.0)


def multiscale_l1(
    fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor | None = None, scales: int = 3
) -> torch.Tensor:
    """Mean of L1 at full resolution and after ``2**s`` average pooling, ``s = 1 .. scales-1``."""
    fake, real = fake.float(), real.float()
    total = _masked_l1(fake, real, mask)
    for s in range(1, scales):
        k = 2**s
        if min(fake.shape[-2:]) < k:
            scales = s
            break
        m = None if mask is None else F.avg_pool2d(mask.float(), k, ceil_mode=True)
        total = total + _masked_l1(
            F.avg_pool2d(fake, k, ceil_mode=True), F.avg_pool2d(real, k, ceil_mode=True), m
        )
    return total / scales


def spectral_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L1 between ``log1p(|FFT2|)`` (orthonormal ``rfft2``) of the two images, in float32."""
    fa = torch.fft.rfft2(fake.float(), norm="ortho").abs()
    ra = torch.fft.rfft2(real.float(), norm="ortho").abs()
    return F.l1_loss(torch.log1p(fa), torch.log1p(ra))


def reconstruction_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    l1_weight: float = 1.0,
    spectral_weight: float = 1.0,
    scales: int = 3,
) -> tuple[torch.Tensor, dict[str, float]]:
    """``l1_weight * multiscale_l1 + spectral_weight * spectral_loss``.

    Returns the loss and its parts as floats (``"l1"``, ``"spectral"``).
    """
    l1 = multiscale_l1(fake, real, mask, scales)
    spec = spectral_loss(fake, real) if spectral_weight else torch.zeros((), device=fake.device)
    loss = l1_weight * l1 + spectral_weight * spec
    return loss, {"l1": float(l1.detach()), "spectral": float(spec.detach())}


def character_loss(
    generated: torch.Tensor,
    onehot: torch.Tensor,
    reference: torch.Tensor,
    reference_onehot: torch.Tensor,
    weight: torch.Tensor,
) -> torch.Tensor:
    """Mean L1 between the character (RMS, vertical and lateral lag-1 correlation) of each
    class region of ``generated`` and that of the same class in ``reference``.

    ``generated`` / ``reference`` ``(N, 1, H, W)`` with their one-hot maps ``(N, K, H, W)``
    (the regions may differ: another section's); ``weight`` ``(N, K)``: which (sample, class)
    pairs count (0/1, e.g. both regions large enough). Zero when none counts.
    """
    got = character(generated, onehot)
    with torch.no_grad():
        want = character(reference.float(), reference_onehot)
    w = weight.to(got["rms"].dtype)
    total = w.sum()
    if float(total) == 0:
        return generated.sum() * 0.0
    diff = sum((got[k] - want[k]).abs() for k in ("rms", "rho_v", "rho_h"))
    return (diff * w).sum() / total
