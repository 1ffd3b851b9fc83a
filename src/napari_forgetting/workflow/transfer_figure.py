"""The paper's Fig. 3 as a picture: a class-specific transfer with its measured figures.

One row per transfer method, on one held-out triple (target, source A, source B) of sections
holding the class: the target, the target transferred from A, the target's labels (the
result's labels too), source A and source B with their class region outlined, and the
difference of the transfers from A and B (zero outside the class region, by construction).
Each panel's title gives the class region's character (:mod:`~..transfer.character`: RMS in
amplitude stds, vertical frequency in Hz, lateral continuity) and the difference panel the
mean ``|T(A) - T(B)|`` inside and outside the region. ``napari-forgetting transfer-figure``
writes it (``docs/fig3_transfer.png`` in the README); the Transfer dock shows the same
panels and figures as layers.

The triple, unless given: the held-out sections (validation, :func:`~..data.sections.
paper_split`) holding at least ``min_pixels`` of the class; A and B are the two whose class
region differs most in RMS, the target the one of the rest closest to their mean RMS.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.section_cache import SectionStore, sources, split_source
from napari_forgetting.data.sections import Section, amplitude_stats
from napari_forgetting.data.writers import atomic_path
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

__all__ = ["pick_triple", "write_transfer_figure"]


def pick_triple(
    volume: Any,
    class_id: int,
    *,
    every: int = 5,
    min_pixels: int = DEFAULT_MIN_PIXELS,
) -> tuple[Section, Section, Section]:
    """``(target, source A, source B)`` among the held-out sections (see the module)."""
    from napari_forgetting.transfer import held_out_with_class, region_character

    k = int(class_id)
    store, having = held_out_with_class(volume, k, every, min_pixels)
    rms = [region_character(*_pair(store, s, k))["rms"] for s in having]
    order = np.argsort(rms, kind="stable")
    a, b = int(order[-1]), int(order[0])
    middle = (rms[a] + rms[b]) / 2
    rest = [i for i in range(len(having)) if i not in (a, b)]
    t = min(rest, key=lambda i: (abs(rms[i] - middle), i))
    return having[t], having[a], having[b]


def _pair(store: SectionStore, section: Section, k: int) -> tuple[np.ndarray, np.ndarray]:
    img, lab = store.get(section)
    return img, lab == k


def write_transfer_figure(
    methods: Sequence[tuple[str, Any]],
    volume: Any,
    class_id: int,
    path: str | os.PathLike,
    *,
    triple: Sequence[Section | str] | None = None,
    every: int = 5,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write Fig. 3 for ``methods`` (``(label, method)`` pairs, one row each: what
    :func:`~..transfer.transfer` takes) to ``path`` (PNG, atomically). ``triple``: the
    sections ``(target, A, B)`` (or their keys), default :func:`pick_triple`. Returns
    ``{"triple": keys, "rows": {label: figures}}`` with each row's
    :func:`~..transfer.triple_panels` figures (without the arrays)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    from napari_forgetting.data.classes import class_colors, default_class_names
    from napari_forgetting.transfer import triple_panels

    k = int(class_id)
    if triple is None:
        secs = pick_triple(volume, k, every=every, min_pixels=min_pixels)
    else:
        secs = tuple(s if isinstance(s, Section) else Section.from_key(s, volume) for s in triple)
    image_src, label_src = sources(volume, "style transfer")
    store = SectionStore(image_src, label_src)
    store.preload(secs)
    (t_img, t_lab), a, b = (store.get(s) for s in secs)
    std = float(amplitude_stats(split_source(volume))[1]) or 1.0
    dt = getattr(volume, "sample_interval", None)
    names = list(class_names or getattr(volume, "class_names", None) or default_class_names(6))
    cname = names[k] if k < len(names) else f"class {k}"
    rows = {label: triple_panels(m, (t_img, t_lab), a, b, k, std) for label, m in methods}

    def describe(c: dict[str, float]) -> str:
        freq = f"{c['frequency'] * 1000 / dt:.0f} Hz" if dt else f"{c['frequency']:.3f} c/s"
        return f"RMS {c['rms']:.2f}, {freq}, cont. {c['continuity']:.2f}"

    n_cols = 6
    fig = Figure(figsize=(3.0 * n_cols, 3.1 * len(rows) + 0.5), dpi=100)
    FigureCanvasAgg(fig)
    cmap = ListedColormap(class_colors(len(names)))
    lo, hi = np.percentile(np.concatenate([t_img.ravel(), a[0].ravel(), b[0].ravel()]), [1, 99])
    d = max(float(np.abs(p["difference"]).max()) for p in rows.values()) or 1.0
    for r, (label, p) in enumerate(rows.items()):
        ch = p["character"]
        panels = [
            (t_img, "gray", (lo, hi), f"target {secs[0].key}\n{describe(ch['target'])}", None),
            (p["result_a"], "gray", (lo, hi), f"{label}: T(A)\n{describe(ch['result_a'])}", None),
            (t_lab, cmap, (-0.5, len(names) - 0.5), "target labels", None),
            (a[0], "gray", (lo, hi), f"source A {secs[1].key}\n{describe(ch['source_a'])}", a[1]),
            (b[0], "gray", (lo, hi), f"source B {secs[2].key}\n{describe(ch['source_b'])}", b[1]),
            (p["difference"], "PiYG", (-d, d),
             f"T(A) - T(B): |.| {p['inside']:.2f} std in {cname},\n{p['outside']:.3f} outside",
             None),
        ]  # fmt: skip
        for c, (data, cm, (vmin, vmax), title, outline) in enumerate(panels):
            ax = fig.add_subplot(len(rows), n_cols, r * n_cols + c + 1)
            ax.imshow(data, cmap=cm, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
            if outline is not None:
                ax.contour(outline == k, levels=[0.5], colors=["#ff7f0e"], linewidths=0.8)
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(
        f"Class-specific style transfer of {cname} (amplitudes in stds of the volume; "
        f"{cname} outlined in the sources)",
        fontsize=10,
    )
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return {
        "triple": [s.key for s in secs],
        "rows": {
            label: {"inside": p["inside"], "outside": p["outside"], "character": p["character"]}
            for label, p in rows.items()
        },
    }
