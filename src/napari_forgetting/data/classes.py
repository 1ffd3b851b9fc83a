"""The six facies classes of the F3 Netherlands benchmark (Alaudah et al. 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Code names, in class-id order, as in the benchmark's code.
F3_CLASS_NAMES: tuple[str, ...] = (
    "upper_ns",
    "middle_ns",
    "lower_ns",
    "rijnland_chalk",
    "scruff",
    "zechstein",
)

#: Display names, in class-id order.
F3_DISPLAY_NAMES: tuple[str, ...] = (
    "Upper North Sea",
    "Middle North Sea",
    "Lower North Sea",
    "Rijnland / Chalk",
    "Scruff",
    "Zechstein",
)

#: RGB (0..255) per class id, as used by the benchmark code (scruff orange, zechstein red).
F3_CLASS_COLORS: tuple[tuple[int, int, int], ...] = (
    (69, 117, 180),
    (145, 191, 219),
    (224, 243, 248),
    (254, 224, 144),
    (252, 141, 89),
    (215, 48, 39),
)


def class_colors(n_classes: int) -> list[tuple[float, float, float, float]]:
    """RGBA colours (0..1) for ``n_classes`` class ids: the F3 colours, then a fixed cycle."""
    extra = [(102, 194, 165), (141, 160, 203), (231, 138, 195), (166, 216, 84), (255, 217, 47)]
    palette = list(F3_CLASS_COLORS) + extra
    out = []
    for k in range(n_classes):
        r, g, b = palette[k % len(palette)]
        out.append((r / 255.0, g / 255.0, b / 255.0, 1.0))
    return out


def default_class_names(n_classes: int) -> tuple[str, ...]:
    """The F3 names when there are six classes, else ``class_0 .. class_{n-1}``."""
    if n_classes == len(F3_CLASS_NAMES):
        return F3_CLASS_NAMES
    return tuple(f"class_{k}" for k in range(n_classes))


def resolve_class(class_names: Sequence[str], cls: str | int) -> int:
    """The class id of ``cls``: an id (``4``, ``"4"``) or a name (``"scruff"``, any case).

    Raises ``ValueError`` listing the classes when there is no such class.
    """
    names = list(class_names)
    known = ", ".join(f"{k} {n}" for k, n in enumerate(names))
    if isinstance(cls, (int, np.integer)) or (isinstance(cls, str) and cls.strip().isdigit()):
        k = int(cls)
        if 0 <= k < len(names):
            return k
        raise ValueError(f"class id {k} out of range; classes: {known}")
    wanted = str(cls).strip().casefold()
    for k, name in enumerate(names):
        if name.casefold() == wanted:
            return k
    raise ValueError(f"unknown class {cls!r}; classes: {known}")
