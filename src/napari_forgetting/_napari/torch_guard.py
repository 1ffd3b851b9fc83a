"""Keep torch from loading triton inside a running napari (a segfault otherwise).

Importing ``torchvision`` pulls in ``torch._dynamo``, which probes for triton by importing it.
triton's ``libtriton`` bundles its own LLVM; once napari has created an OpenGL context on
Mesa (llvmpipe, as under Xvfb, or radeonsi), Mesa's libLLVM is already loaded and loading
libtriton then crashes the process (seen here: segfault in ``triton/knobs.py``). The plugin
trains with plain eager torch, so it hides triton from torch when torch is not imported yet;
``torch.compile`` on a GPU is the only thing this costs. Set
``NAPARI_FORGETTING_ALLOW_TRITON=1`` to opt out.
"""

from __future__ import annotations

import os
import sys


def hide_triton_before_torch() -> bool:
    """Make ``import triton`` fail (ImportError) unless torch or triton are already loaded;
    returns True when it did."""
    if os.environ.get("NAPARI_FORGETTING_ALLOW_TRITON") == "1":
        return False
    if "torch" in sys.modules or "triton" in sys.modules:
        return False
    sys.modules["triton"] = None  # type: ignore[assignment]
    return True
