"""The text of the report's tables: Markdown rows, intervals, CSV, atomic writes."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from napari_forgetting.data.writers import atomic_path


def ci_text(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``+0.012 [-0.030, +0.054]`` for a report table; ``absent`` without a value."""
    if not math.isfinite(mean):
        return "absent"
    if not math.isfinite(low):
        return f"{mean:+.{digits}f}"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def pm_text(mean: float, std: float, digits: int = 3) -> str:
    """``mean ± std`` for a report table, ``absent`` where the class does not occur."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if math.isfinite(mean) else "absent"


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        fh.write(text)


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    return buf.getvalue()


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
