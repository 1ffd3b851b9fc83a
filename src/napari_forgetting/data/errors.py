"""The one error type for bad input volumes."""

from __future__ import annotations

import os


class VolumeError(ValueError):
    """A seismic or labels file that cannot be opened as a volume.

    The message always names the file and the problem, e.g.
    ``"broken.sgy: truncated SEG-Y file: ..."``. ``path`` holds the file.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
