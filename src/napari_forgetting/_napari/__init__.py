"""The napari face: npe2 contributions named in ``napari.yaml`` (reader, writers, sample data,
widgets), the layers they make, and the one background worker (:mod:`.worker`).

Nothing outside this package imports it, except the ``demo`` command. The triton guard runs
here, before any module of this package can import torch (see :mod:`.torch_guard`).
"""

from napari_forgetting._napari.torch_guard import hide_triton_before_torch

hide_triton_before_torch()
