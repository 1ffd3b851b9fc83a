"""Device selection and mixed precision helpers.

* :func:`select_device` -- ``cuda`` if available, else ``mps``, else ``cpu``, unless a device is
  requested; an unavailable request raises :class:`ValueError` (no silent fallback).
* :func:`autocast_dtype` / :func:`autocast_context` -- bf16 (or fp16 where the GPU has no bf16)
  autocast on CUDA, a null context elsewhere (CPU, MPS).
* :func:`make_grad_scaler` -- a :class:`torch.amp.GradScaler` that is enabled only for fp16
  autocast on CUDA (bf16 has fp32's exponent range and needs no loss scaling); disabled scalers
  pass ``scale``/``step``/``update`` straight through, so training code can call it always.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "autocast_context",
    "autocast_dtype",
    "make_grad_scaler",
    "make_optimizer",
    "mps_available",
    "select_device",
    "torch_settings",
]


def mps_available() -> bool:
    """Whether Apple's Metal backend is usable in this process."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device to compute on.

    ``preferred`` ``None`` or ``"auto"``: ``cuda`` if available, else ``mps`` if available, else
    ``cpu``. Otherwise the named device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), which must
    be available: an unknown name, an unavailable backend or a CUDA index past
    ``torch.cuda.device_count()`` raise :class:`ValueError` with the reason.
    """
    if preferred is None or (isinstance(preferred, str) and preferred.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    if isinstance(preferred, torch.device):
        device = preferred
    else:
        try:
            device = torch.device(preferred.strip().lower())
        except (RuntimeError, ValueError, AttributeError, TypeError) as exc:
            raise ValueError(
                f"unknown device {preferred!r}: use 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'"
            ) from exc

    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(device)!r} requested but CUDA is not available "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); use 'cpu'"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device {str(device)!r} requested but only {count} CUDA device(s) are visible"
            )
        return device
    if device.type == "mps":
        if not mps_available():
            raise ValueError(
                f"device {str(device)!r} requested but MPS is not available; use 'cpu'"
            )
        return device
    raise ValueError(f"unsupported device type {device.type!r}: use 'cpu', 'cuda' or 'mps'")


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """Autocast dtype on ``device``: bf16 on CUDA (fp16 without bf16 support), else None."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast_context(
    device: torch.device | str, enabled: bool = True, dtype: torch.dtype | None = None
) -> contextlib.AbstractContextManager:
    """Mixed precision for the forward pass on ``device``.

    CUDA: ``torch.autocast("cuda", dtype)`` with ``dtype`` defaulting to :func:`autocast_dtype`.
    CPU and MPS (or ``enabled=False``): :func:`contextlib.nullcontext` -- full fp32, because CPU
    bf16 autocast is slower than fp32 on most CPUs and would change the numbers tests compare.
    """
    device = torch.device(device)
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype or autocast_dtype(device))


def make_grad_scaler(
    device: torch.device | str, enabled: bool = True, dtype: torch.dtype | None = None
) -> torch.amp.GradScaler:
    """A GradScaler that scales only for fp16 autocast on CUDA; a pass-through otherwise."""
    device = torch.device(device)
    dtype = dtype or autocast_dtype(device)
    use = bool(enabled and device.type == "cuda" and dtype == torch.float16)
    return torch.amp.GradScaler("cuda" if device.type == "cuda" else "cpu", enabled=use)


@contextlib.contextmanager
def torch_settings(
    num_threads: int | None, deterministic: bool, device: torch.device
) -> Iterator[None]:
    """Thread count and determinism for the duration of a fit, restored afterwards.

    ``deterministic``: ``torch.use_deterministic_algorithms(True, warn_only=True)``, the cuDNN
    benchmark off and, on CUDA, the cuBLAS workspace setting deterministic GEMMs need.
    """
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    det_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    bench = torch.backends.cudnn.benchmark
    try:
        if num_threads:
            torch.set_num_threads(int(num_threads))
        if deterministic:
            if device.type == "cuda":
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det, warn_only=det_warn)
        torch.backends.cudnn.benchmark = bench


def make_optimizer(name: str, params: Any, **options: Any) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` (``name="adam"``) or ``SGD`` (``"sgd"``), fused where torch can.

    The fused implementations update every parameter tensor in one kernel instead of a Python
    loop over them; torch uses them by default on no device, and the per-tensor loop is what a
    plain training loop gets on CPU. On two CPU cores an Adam step of DeepLabV3-ResNet18 takes
    about 12 ms fused against 45-70 ms looped (``benchmarks/bench_throughput.py``). Where the
    installed torch or the device has no fused kernel, the default implementation is used.
    Fused and looped updates agree to float rounding; each is deterministic.
    """
    kinds = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    if name not in kinds:
        raise ValueError(f"optimizer must be one of {sorted(kinds)}, got {name!r}")
    params = list(params)
    try:
        return kinds[name](params, fused=True, **options)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this torch / device
        return kinds[name](params, **options)
