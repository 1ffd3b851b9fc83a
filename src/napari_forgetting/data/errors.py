"""The one error type for bad input volumes."""

from __future__ import annotations

import os


def one_line(exc: BaseException, last: bool = False, limit: int | None = 160) -> str:
    """``exc``'s message as one line for a one-line error: its first (or ``last``) non-empty
    line, at most ``limit`` characters (``None``: all); the exception's type where it says
    nothing."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return (lines[-1] if last else lines[0])[:limit]


class VolumeError(ValueError):
    """A seismic or labels file that cannot be opened as a volume.

    The message always names the file and the problem, e.g.
    ``"broken.sgy: truncated SEG-Y file: ..."``. ``path`` holds the file.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
