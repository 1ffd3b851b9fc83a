"""Segmentation metrics from one confusion matrix (F3 facies benchmark definitions).

Alaudah et al., "A Machine Learning Benchmark for Facies Classification", Interpretation 2019,
report pixel accuracy (PA), class accuracy (CA, the recall of each true class), mean class
accuracy (MCA), per-class IoU, mean IoU (mIoU) and frequency-weighted IoU (FWIoU). All of them
are functions of the confusion matrix ``M`` (rows = true class, columns = predicted class)::

    PA      = trace(M) / sum(M)
    CA_i    = M_ii / sum_j M_ij                      (NaN if class i is absent from the target)
    MCA     = nanmean(CA)
    IoU_i   = M_ii / (sum_j M_ij + sum_j M_ji - M_ii)  (NaN if class i is absent from target
                                                        *and* prediction)
    mIoU    = nanmean(IoU)
    FWIoU   = sum_i f_i IoU_i, f_i = sum_j M_ij / sum(M), over classes with f_i > 0

NaN conventions (the benchmark's own ``runningScore``): a class never seen in the target has an
undefined recall, so its CA is NaN even if it was predicted; its IoU is 0 when it was predicted
(false positives are penalised) and NaN only when it is absent from both. NaN entries are
excluded from the means. With an empty matrix every metric is NaN.

The matrix is accumulated with one vectorised ``bincount`` per :meth:`ConfusionMatrix.update`;
torch inputs are counted on their own device and only the ``n x n`` counts are copied back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["ConfusionMatrix", "scores_from_matrix"]


def scores_from_matrix(matrix: np.ndarray) -> dict[str, Any]:
    """The benchmark metrics of a confusion matrix (see the module docstring).

    Returns ``pixel_accuracy``, ``mean_class_accuracy``, ``mean_iou``, ``fw_iou`` (floats),
    ``class_accuracy`` and ``iou`` (float64 arrays of length ``n``, NaN where undefined) and
    ``n_pixels`` (int).
    """
    hist = np.asarray(matrix, dtype=np.float64)
    if hist.ndim != 2 or hist.shape[0] != hist.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {hist.shape}")
    total = hist.sum()
    diag = np.diag(hist)
    true_count = hist.sum(axis=1)
    pred_count = hist.sum(axis=0)
    union = true_count + pred_count - diag
    with np.errstate(divide="ignore", invalid="ignore"):
        class_acc = np.where(true_count > 0, diag / true_count, np.nan)
        iou = np.where(union > 0, diag / union, np.nan)
        pixel_acc = diag.sum() / total if total > 0 else np.nan
        freq = true_count / total if total > 0 else np.zeros_like(true_count)
    present = freq > 0
    fw_iou = float((freq[present] * iou[present]).sum()) if total > 0 else float("nan")
    return {
        "pixel_accuracy": float(pixel_acc),
        "class_accuracy": class_acc,
        "mean_class_accuracy": _nanmean(class_acc),
        "iou": iou,
        "mean_iou": _nanmean(iou),
        "fw_iou": fw_iou,
        "n_pixels": int(total),
    }


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


class ConfusionMatrix:
    """A running ``n_classes x n_classes`` int64 confusion matrix (rows true, columns predicted)."""

    def __init__(self, n_classes: int) -> None:
        n_classes = int(n_classes)
        if n_classes < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}")
        self.n_classes = n_classes
        self._matrix = np.zeros((n_classes, n_classes), dtype=np.int64)

    # -- accumulation ---------------------------------------------------------------------------
    def update(self, target: Any, pred: Any, ignore_index: int | None = None) -> ConfusionMatrix:
        """Count the pixels of one batch. ``target`` and ``pred`` are integer label arrays
        (numpy or torch, any but equal shape). Pixels whose target equals ``ignore_index`` are
        skipped; any other label outside ``[0, n_classes)`` raises :class:`ValueError`.
        Floating-point inputs (e.g. logits passed by mistake) raise :class:`TypeError`.
        """
        if isinstance(target, torch.Tensor) or isinstance(pred, torch.Tensor):
            counts = self._counts_torch(target, pred, ignore_index)
        else:
            counts = self._counts_numpy(target, pred, ignore_index)
        self._matrix += counts.reshape(self.n_classes, self.n_classes)
        return self

    def _counts_numpy(self, target: Any, pred: Any, ignore_index: int | None) -> np.ndarray:
        t = np.asarray(target)
        p = np.asarray(pred)
        self._check(t.shape, p.shape, t.dtype, p.dtype)
        t = t.reshape(-1).astype(np.int64, copy=False)
        p = p.reshape(-1).astype(np.int64, copy=False)
        if ignore_index is not None:
            keep = t != ignore_index
            t, p = t[keep], p[keep]
        n = self.n_classes
        if t.size and (t.min() < 0 or t.max() >= n):
            raise ValueError(f"target labels must lie in [0, {n}) (or equal ignore_index)")
        if p.size and (p.min() < 0 or p.max() >= n):
            raise ValueError(f"predicted labels must lie in [0, {n})")
        return np.bincount(t * n + p, minlength=n * n).astype(np.int64, copy=False)

    def _counts_torch(self, target: Any, pred: Any, ignore_index: int | None) -> np.ndarray:
        t = torch.as_tensor(target)
        p = torch.as_tensor(pred, device=t.device)
        self._check(tuple(t.shape), tuple(p.shape), t.dtype, p.dtype)
        t = t.reshape(-1).long()
        p = p.reshape(-1).long()
        if ignore_index is not None:
            keep = t != ignore_index
            t, p = t[keep], p[keep]
        n = self.n_classes
        if t.numel() and bool(((t < 0) | (t >= n)).any()):
            raise ValueError(f"target labels must lie in [0, {n}) (or equal ignore_index)")
        if p.numel() and bool(((p < 0) | (p >= n)).any()):
            raise ValueError(f"predicted labels must lie in [0, {n})")
        counts = torch.bincount(t * n + p, minlength=n * n)
        return counts.cpu().numpy().astype(np.int64, copy=False)

    @staticmethod
    def _check(t_shape: tuple, p_shape: tuple, t_dtype: Any, p_dtype: Any) -> None:
        if tuple(t_shape) != tuple(p_shape):
            raise ValueError(f"target shape {tuple(t_shape)} != prediction shape {tuple(p_shape)}")
        for name, dtype in (("target", t_dtype), ("pred", p_dtype)):
            floating = (
                dtype.is_floating_point or dtype.is_complex
                if isinstance(dtype, torch.dtype)
                else not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.bool_))
            )
            if floating:
                raise TypeError(f"{name} must hold integer class labels, got dtype {dtype}")

    def reset(self) -> None:
        """Zero the counts."""
        self._matrix[...] = 0

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add another matrix's counts (e.g. from another worker or rank); returns ``self``."""
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"can only merge a ConfusionMatrix, got {type(other).__name__}")
        if other.n_classes != self.n_classes:
            raise ValueError(f"cannot merge {other.n_classes} classes into {self.n_classes}")
        self._matrix += other._matrix
        return self

    def reduce_from_all_processes(self) -> ConfusionMatrix:
        """Sum the matrix over all ranks of an initialised ``torch.distributed`` group (no-op
        otherwise), like torchvision's reference ``ConfusionMatrix``."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return self
        device = torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")
        t = torch.from_numpy(self._matrix.copy()).to(device)
        dist.all_reduce(t)
        self._matrix[...] = t.cpu().numpy()
        return self

    # -- results --------------------------------------------------------------------------------
    @property
    def matrix(self) -> np.ndarray:
        """A copy of the counts, shape ``(n, n)``, int64, rows = true class, columns = predicted."""
        return self._matrix.copy()

    @property
    def n_pixels(self) -> int:
        return int(self._matrix.sum())

    def compute(self) -> dict[str, Any]:
        """The benchmark metrics, see :func:`scores_from_matrix`."""
        return scores_from_matrix(self._matrix)

    # -- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"n_classes": int, "matrix": int64 array}`` (a copy, safe for ``torch.save``)."""
        return {"n_classes": self.n_classes, "matrix": self._matrix.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        matrix = np.asarray(
            state["matrix"].cpu() if isinstance(state["matrix"], torch.Tensor) else state["matrix"]
        )
        n = int(state["n_classes"])
        if n != self.n_classes or matrix.shape != (n, n):
            raise ValueError(
                f"state has {n} classes / matrix {matrix.shape}, expected {self.n_classes}"
            )
        if np.any(matrix < 0):
            raise ValueError("confusion matrix counts must be non-negative")
        self._matrix = matrix.astype(np.int64, copy=True)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ConfusionMatrix:
        out = cls(int(state["n_classes"]))
        out.load_state_dict(state)
        return out

    def __repr__(self) -> str:
        return f"ConfusionMatrix(n_classes={self.n_classes}, n_pixels={self.n_pixels})"
