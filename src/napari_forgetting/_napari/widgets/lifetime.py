"""Whether a Qt widget can still be touched (results of worker threads may arrive late)."""

from __future__ import annotations

from qtpy.QtWidgets import QWidget


def exists(widget: QWidget) -> bool:
    """The Qt (C++) side of ``widget`` has not been deleted."""
    try:
        widget.objectName()
    except RuntimeError:
        return False
    return True


def alive(widget: QWidget) -> bool:
    """``widget`` exists and still has a parent (it is docked, not closed)."""
    return exists(widget) and widget.parent() is not None
