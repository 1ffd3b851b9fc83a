"""What the segmentation trainer (:mod:`.trainer`) and the style-transfer trainer
(:mod:`napari_forgetting.transfer.train`) share: JSON configs, callbacks, the per-epoch
checkpoint and resuming from it, the RNG state, and the non-finite loss guard.

No printing, Qt or napari here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar

import torch

from napari_forgetting.model.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint

__all__ = ["JsonConfig", "TrainerScaffold", "TrainingError"]


class TrainingError(RuntimeError):
    """Training cannot continue (e.g. the loss became NaN)."""


class JsonConfig:
    """Mixin of the trainers' dataclass configs: ``to_dict`` (tuples become lists, so the
    dict is JSON as it is) and ``from_dict`` (unknown keys are an error naming them)."""

    def to_dict(self) -> dict[str, Any]:
        items = asdict(self).items()  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in items}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        return cls(**d)


class TrainerScaffold:
    """Base of both trainers. Subclasses set ``config`` (a :class:`JsonConfig`),
    ``callbacks``, ``out_dir`` and ``device``, and implement ``state_dict`` /
    ``load_state_dict``."""

    #: Config keys that may differ between a checkpoint and the run resuming from it.
    resumable_changes: ClassVar[frozenset[str]] = frozenset({"epochs", "device", "num_threads"})

    config: Any
    callbacks: list
    out_dir: Path | None
    device: torch.device

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    @property
    def checkpoint_file(self) -> Path | None:
        """``<out_dir>/checkpoint.pt`` or ``None`` without an ``out_dir``."""
        return None if self.out_dir is None else checkpoint_path(self.out_dir)

    def save_checkpoint(self) -> Path | None:
        """Write the checkpoint atomically (no-op without ``out_dir``)."""
        if self.out_dir is None:
            return None
        return save_checkpoint(checkpoint_path(self.out_dir), self.state_dict())

    def _resume_from_checkpoint(self) -> bool:
        """Load ``<out_dir>/checkpoint.pt`` if there is one; True when one was loaded."""
        if self.out_dir is None:
            raise ValueError("resume=True needs an out_dir")
        path = checkpoint_path(self.out_dir)
        if not path.is_file():
            return False
        self.load_state_dict(load_checkpoint(path))
        return True

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def _check_config(self, stored: dict[str, Any]) -> None:
        """Refuse a checkpoint whose config differs outside :attr:`resumable_changes`."""
        mine = self.config.to_dict()
        keys = (set(mine) | set(stored)) - self.resumable_changes
        diff = sorted(k for k in keys if mine.get(k) != stored.get(k))
        if diff:
            raise ValueError(f"checkpoint was written with a different config: {diff}")

    def _rng_state(self) -> dict[str, Any]:
        """torch's CPU (and, on CUDA, device) RNG states, for the checkpoint."""
        return {
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
        }

    def _restore_rng(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def _check_finite(self, value: float, epoch: int, batch: int, what: str = "") -> None:
        """Raise :class:`TrainingError` for a NaN or infinite loss, saying what checkpoint
        survives (the last complete epoch's)."""
        if math.isfinite(value):
            return
        kept = self.checkpoint_file
        where = (
            f"last good checkpoint kept at {kept}"
            if kept is not None and kept.is_file()
            else "no checkpoint was written (no out_dir or no completed epoch)"
        )
        word = "NaN" if math.isnan(value) else "infinite"
        name = f"{what} loss" if what else "loss"
        raise TrainingError(f"{name} became {word} at epoch {epoch} batch {batch}; {where}")
