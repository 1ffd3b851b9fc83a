"""Training the style transfer model in the reconstruction setting.

:class:`TransferTrainer` trains :class:`~.model.RegionStyleTransfer` (style encoder +
generator) against a :class:`~.model.MultiscalePatchDiscriminator` on random patches of the
*training* sections of the paper's split (:func:`~napari_forgetting.data.sections.paper_split`),
amplitude-normalised with the volume's ``(mean, std)``. Reconstruction setting (SEAN's): the
style codes come from the very patch the generator must rebuild from its labels.

Per batch: one generator step (``gan_weight * hinge + fm_weight * feature matching +
reconstruction``, see :mod:`.losses`), then one discriminator step (hinge). Patch padding
(sections smaller than the patch) is label :data:`~.model.IGNORE_INDEX`: no class, zero in
both the real and the generated image, excluded from the L1 terms. After each epoch the
reconstruction PSNR of ``eval_sections`` validation sections is measured against the
section-mean baseline (:func:`~.quality.reconstruction_quality`).

As :class:`napari_forgetting.training.segmentation.Trainer`: a JSON-serialisable config dataclass,
:class:`Callback` hooks (``on_train_start``, ``on_epoch_start``, ``on_batch_end``,
``on_epoch_end``, ``on_train_end``), ``should_stop`` checked after every batch and epoch (a
partial epoch is discarded for resuming), an atomic ``<out_dir>/checkpoint.pt`` after every
epoch, ``fit(resume=True)`` continuing bit-identically, the same seed giving the same weights
on CPU, CUDA autocast (bf16) when on a GPU. A non-finite loss raises
:class:`~napari_forgetting.training.segmentation.TrainingError`.

No Qt, napari or printing here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from napari_forgetting.data.sections import (
    PatchSampler,
    Section,
    cut_patches,
)
from napari_forgetting.model.device import (
    autocast_context,
    make_grad_scaler,
    make_optimizer,
)
from napari_forgetting.training.callbacks import Callback
from napari_forgetting.training.loop import TrainingLoop
from napari_forgetting.transfer.config import TransferConfig
from napari_forgetting.transfer.losses import (
    character_loss,
    feature_matching_loss,
    hinge_d_loss,
    hinge_g_loss,
    reconstruction_loss,
)
from napari_forgetting.transfer.model import (
    IGNORE_INDEX,
    MultiscalePatchDiscriminator,
    RegionStyleTransfer,
)
from napari_forgetting.transfer.region import stratal_exemplar, stratal_fill

__all__ = ["TransferConfig", "TransferTrainer"]

#: The kind of file this trainer writes (checked by :func:`~.apply.load_transfer_model`).
CHECKPOINT_KIND = "napari_forgetting.transfer"


def _n_classes_of(volume_or_arrays: Any) -> int | None:
    names = getattr(volume_or_arrays, "class_names", None)
    return len(names) if names else None


class TransferTrainer(TrainingLoop):
    """Train the SEAN-style transfer model on a labelled volume (reconstruction setting).

    Parameters
    ----------
    volume_or_arrays
        A :class:`~napari_forgetting.data.volume.SeismicVolume` or
        :class:`~napari_forgetting.data.synthetic.SyntheticSurvey` with labels, or a
        ``(seismic, labels)`` pair of 3-D ``(inline, crossline, sample)`` arrays.
    config
        :class:`TransferConfig`.
    callbacks
        :class:`Callback` instances, called in the given order.
    out_dir
        Folder for ``checkpoint.pt`` (written after every epoch); ``None``: no checkpoints.

    Attributes: ``model`` (:class:`~.model.RegionStyleTransfer`, its ``amplitude_stats`` set to
    the volume's), ``discriminator``, ``opt_g``, ``opt_d``, ``train_sections``,
    ``validation_sections``, ``eval_sections``, ``history`` (one dict per epoch), ``epoch``
    (completed epochs), ``last_batch`` (loss parts of the latest batch), ``should_stop``,
    ``stopped``, ``device``, ``stats``.
    """

    #: Config keys that may differ between a checkpoint and the resuming run.
    resumable_changes = TrainingLoop.resumable_changes | {"eval_sections"}
    folder_kind = "transfer"

    def __init__(
        self,
        volume_or_arrays: Any,
        config: TransferConfig | None = None,
        callbacks: Sequence[Callback] = (),
        out_dir: str | os.PathLike | None = None,
    ) -> None:
        self.config = config if config is not None else TransferConfig()
        cfg = self.config
        self.callbacks = list(callbacks)
        self.out_dir = None if out_dir is None else Path(out_dir)
        declared = _n_classes_of(volume_or_arrays)
        if declared is not None and declared > cfg.n_classes:
            raise ValueError(
                f"the volume has {declared} classes but the config says n_classes={cfg.n_classes}"
            )
        split = self._init_data(volume_or_arrays, "style transfer")
        self.validation_sections: list[Section] = list(split.validation)
        n_eval = min(cfg.eval_sections, len(self.validation_sections))
        picks = np.unique(np.linspace(0, len(self.validation_sections) - 1, n_eval).round())
        self.eval_sections: list[Section] = [
            self.validation_sections[int(i)] for i in picks[:n_eval]
        ]
        self.volume = volume_or_arrays
        self._store.preload(self.train_sections + self.eval_sections)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = RegionStyleTransfer(cfg.model_config())
            torch.manual_seed(cfg.seed + 1)
            disc = MultiscalePatchDiscriminator(cfg.n_classes, cfg.ndf, cfg.num_d, cfg.n_layers_d)
        model.amplitude_stats.copy_(torch.tensor(self.stats, dtype=torch.float64))
        self.model = model.to(self.device)
        self.discriminator = disc.to(self.device)
        self.opt_g = make_optimizer("adam", self.model.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = make_optimizer(
            "adam", self.discriminator.parameters(), lr=cfg.lr_d, betas=cfg.betas
        )
        self.scaler_g = make_grad_scaler(self.device, enabled=cfg.amp)
        self.scaler_d = make_grad_scaler(self.device, enabled=cfg.amp)
        self.sampler = PatchSampler(self.train_sections, self.shape, cfg.patch_size, cfg.seed)
        self.patches_per_epoch = self._default_patches_per_epoch()

        self._init_loop()
        self.last_batch: dict[str, float] = {}

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, plus what :func:`~.apply.load_transfer_model` reads
        (``kind``, ``model_config``, ``model``)."""

        def cpu(module: torch.nn.Module) -> dict[str, torch.Tensor]:
            return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

        return {
            "kind": CHECKPOINT_KIND,
            "config": self.config.to_dict(),
            "model_config": self.config.model_config().to_dict(),
            "epoch": self.epoch,
            "model": cpu(self.model),
            "discriminator": cpu(self.discriminator),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            **self._rng_state(),
            "sampler": self.sampler.state_dict(),
            "history": [dict(h) for h in self.history],
            "stats": list(self.stats),
        }

    def _check_state(self, state: dict[str, Any]) -> None:
        if state.get("kind") != CHECKPOINT_KIND:
            raise ValueError("not a style transfer checkpoint")
        super()._check_state(state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (config must match except epochs/device/threads/eval)."""
        self._check_state(state)
        self.model.load_state_dict(state["model"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self._restore_rng(state)
        self.sampler.load_state_dict(state["sampler"])
        self.history = [dict(h) for h in state["history"]]
        self.epoch = int(state["epoch"])

    # ------------------------------------------------------------------ training

    def _batch(
        self, draws: list[tuple[int, int, int]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Images ``(B,1,ph,pw)``, labels ``(B,ph,pw)`` (padding = IGNORE_INDEX), valid mask."""
        images, labels, _ = cut_patches(
            draws, self.sampler, lambda k: self._store.get(self.train_sections[k]), IGNORE_INDEX
        )
        self.release_pages()  # the patches are copies: a spilled volume's pages can go
        x = torch.from_numpy(images).to(self.device)
        y = torch.from_numpy(labels).to(self.device)
        valid = (y != IGNORE_INDEX).unsqueeze(1).float()
        return x, y, valid

    def train_step(
        self, x: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, epoch: int = 0, batch: int = 0
    ) -> dict[str, float]:
        """One generator step and (with a discriminator) one discriminator step."""
        cfg = self.config
        use_d = cfg.uses_discriminator
        onehot = self.model.onehot(y)
        ex_rec = self._self_exemplars(x, y) if cfg.exemplar else None
        # --- generator (and style encoder)
        self.discriminator.requires_grad_(False)
        with autocast_context(self.device, enabled=cfg.amp):
            style, _ = self.model.encoder(x, onehot)
            fake = self.model.generator(onehot, style, exemplar=ex_rec)
        fake = fake.float() * valid
        rec, parts = reconstruction_loss(
            fake,
            x,
            valid,
            l1_weight=cfg.l1_weight,
            spectral_weight=cfg.spectral_weight,
            scales=cfg.rec_scales,
        )
        loss_g = rec
        adv = fm = torch.zeros((), device=self.device)
        if use_d:
            with autocast_context(self.device, enabled=cfg.amp):
                fake_out = self.discriminator(fake, onehot)
                with torch.no_grad():
                    real_out = self.discriminator(x, onehot)
            adv = hinge_g_loss(fake_out)
            fm = feature_matching_loss(real_out, fake_out)
            loss_g = loss_g + cfg.gan_weight * adv + cfg.fm_weight * fm
        swap = cycle = torch.zeros((), device=self.device)
        if cfg.style_weight > 0 or cfg.cycle_weight > 0:
            swap, cycle = self._swap_losses(x, y, onehot, valid, style, fake, ex_rec)
            loss_g = loss_g + cfg.style_weight * swap + cfg.cycle_weight * cycle
        value_g = float(loss_g.detach())
        self._check_finite(value_g, epoch, batch, "generator")
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss_g).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.discriminator.requires_grad_(True)
        # --- discriminator
        value_d = 0.0
        if use_d:
            with autocast_context(self.device, enabled=cfg.amp):
                d_fake = self.discriminator(fake.detach(), onehot)
                d_real = self.discriminator(x, onehot)
            loss_d = hinge_d_loss(d_real, d_fake)
            value_d = float(loss_d.detach())
            self._check_finite(value_d, epoch, batch, "discriminator")
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler_d.scale(loss_d).backward()
            self.scaler_d.step(self.opt_d)
            self.scaler_d.update()
        return {
            "loss_g": value_g,
            "loss_d": value_d,
            "adv": float(adv.detach()),
            "fm": float(fm.detach()),
            "style": float(swap.detach()),
            "cycle": float(cycle.detach()),
            **parts,
        }

    def _self_exemplars(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each patch with every class region laid along its own strata
        (:func:`~.region.stratal_exemplar`): what an exemplar model rebuilds the patch from."""
        images = x[:, 0].detach().float().cpu().numpy()
        labels = y.cpu().numpy()
        out = np.empty_like(images)
        for i, (img, lab) in enumerate(zip(images, labels, strict=True)):
            present = np.unique(lab)
            out[i] = stratal_exemplar(img, lab, present[present != IGNORE_INDEX])
        return torch.from_numpy(out)[:, None].to(x.device)

    def _swap_exemplars(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        ex_rec: torch.Tensor,
        perm: torch.Tensor,
        swapped: torch.Tensor,
    ) -> torch.Tensor:
        """``ex_rec`` with each patch's swapped class region laid from the ``perm`` patch's."""
        images = x[:, 0].detach().float().cpu().numpy()
        labels = y.cpu().numpy()
        out = ex_rec[:, 0].detach().float().cpu().numpy().copy()
        for i, j in enumerate(perm.tolist()):
            for k in np.flatnonzero(swapped[i].cpu().numpy()):
                region = labels[i] == k
                out[i][region] = stratal_fill(labels[i], images[j], labels[j], int(k))[region]
        return torch.from_numpy(out)[:, None].to(x.device)

    def _swap_losses(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        onehot: torch.Tensor,
        valid: torch.Tensor,
        style: torch.Tensor,
        fake: torch.Tensor,
        ex_rec: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The style-swap losses: each patch is generated again with the codes of a random
        half of its classes taken from the next patch of the batch (where both patches hold
        at least ``swap_min_pixels`` of the class; an exemplar model: one such class, as a
        transfer does, its exemplar region laid from the other patch's). The swapped regions
        must take the other patch's character, the others keep their own, and so must the
        reconstruction (:func:`~.losses.character_loss`); the style encoder must read the
        swapped codes back from the result (``cycle``, L1)."""
        cfg = self.config
        n = x.shape[0]
        big = onehot.sum(dim=(2, 3)) >= cfg.swap_min_pixels
        own = character_loss(fake, onehot, x, onehot, big)
        if n < 2:
            return own, torch.zeros((), device=self.device)
        perm = torch.roll(torch.arange(n, device=x.device), 1)
        both = big & big[perm]
        draw = torch.rand(big.shape, device=x.device)
        ex_swap = None
        if ex_rec is None:
            swapped = both & (draw < 0.5)
        else:
            pick = torch.where(both, draw, torch.full_like(draw, -1.0)).argmax(dim=1)
            swapped = both & F.one_hot(pick, both.shape[1]).bool()
            ex_swap = self._swap_exemplars(x, y, ex_rec, perm, swapped)
        mixed = torch.where(swapped[..., None], style[perm], style)
        with autocast_context(self.device, enabled=cfg.amp):
            moved = self.model.generator(onehot, mixed, exemplar=ex_swap)
        moved = moved.float() * valid
        loss = (
            own
            + character_loss(moved, onehot, x[perm], onehot[perm], swapped)
            + character_loss(moved, onehot, x, onehot, big & ~swapped)
        )
        cycle = torch.zeros((), device=self.device)
        if cfg.cycle_weight > 0 and bool(swapped.any()):
            with autocast_context(self.device, enabled=cfg.amp):
                back, _ = self.model.encoder(moved, onehot)
            err = (back.float() - mixed.detach().float()).abs().mean(dim=-1)
            cycle = (err * swapped).sum() / swapped.sum()
        return loss, cycle

    def _set_train_mode(self) -> None:
        self.model.train()
        self.discriminator.train()

    def _train_batch(
        self, epoch: int, batch: int, draws: list[tuple[int, int, int]]
    ) -> tuple[float, dict[str, float]]:
        x, y, valid = self._batch(draws)
        parts = self.train_step(x, y, valid, epoch, batch)
        self.last_batch = parts
        return parts["loss_g"], parts

    def _end_epoch(self, epoch: int) -> dict[str, Any]:
        return self.evaluate()

    def _end_run(self) -> None:
        self.model.eval()

    def batch_postfix(self, loss: float) -> dict[str, str]:
        """The progress bar's postfix after a batch: generator and discriminator losses."""
        return {"G": f"{loss:.3f}", "D": f"{self.last_batch.get('loss_d', 0.0):.3f}"}

    def describe_epoch(self, logs: dict[str, Any]) -> str:
        """One line of an epoch's logs: the losses and the reconstruction PSNR."""
        text = f"G {logs['loss_g']:.3f}  D {logs['loss_d']:.3f}  L1 {logs['l1']:.3f}"
        if "psnr" in logs:
            text += f"  PSNR {logs['psnr']:.2f} dB (mean baseline {logs['baseline_psnr']:.2f})"
        return text

    def evaluate(self, sections: Sequence[Section] | None = None) -> dict[str, Any]:
        """Reconstruction PSNR of ``sections`` (default :attr:`eval_sections`) vs the
        section-mean baseline; see :func:`~.quality.reconstruction_quality`."""
        from napari_forgetting.transfer.quality import reconstruction_quality

        sections = self.eval_sections if sections is None else list(sections)
        if not sections:
            return {}
        q = reconstruction_quality(self.model, self.volume, sections)
        return {k: q[k] for k in ("psnr", "baseline_psnr", "psnr_gain_db")}
