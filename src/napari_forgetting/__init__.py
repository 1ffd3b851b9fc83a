"""napari-forgetting: explain a seismic segmentation model by its forgettable learning dynamics.

Two faces over one core. The core -- ``data`` (volumes, SEG-Y, the synthetic benchmark,
sections, writers), ``dynamics`` (forgetting events and statistics, pure numpy), ``model``
(the network, metrics, checkpoints), ``runs`` (the run store, hotspots), ``training`` (one
loop for both trainers), ``transfer`` (the style transfer) and ``workflow`` (pool, retrain,
export, comparison) -- never imports Qt or napari. The command line is ``cli``; the napari
plugin is ``_napari``, named in ``napari.yaml``. ``pyproject.toml`` holds the layer order as
import-linter contracts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__version__ = "0.1.0"


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` (PEP 562) that import each name of
    ``exports`` (name -> module of ``package``) on first use: a package whose modules load
    torch can still offer a torch-free one (``training.config``, ``transfer.config``)."""
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return getattr_, dir_
