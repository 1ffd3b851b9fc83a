"""Fig. 5 of a comparison: each method's heat maps of the same sections (``heatmaps.png``),
matplotlib through its Agg canvas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari_forgetting.data.writers import atomic_path
from napari_forgetting.workflow.compare.config import CompareConfig


def write_figure(
    path: Path,
    out: Path,
    config: CompareConfig,
    per_job: dict[tuple[str, int], Any],
    n_sections: int,
) -> list[str]:
    """Fig. 5: rows = the validation sections and, where tracked, the sections of each test
    volume with the most pixels of ``config.cls`` (``n_sections`` of each), columns = labels
    + each method's heat map (its lowest finished seed), one colour scale per row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    from napari_forgetting.data.classes import class_colors
    from napari_forgetting.workflow.compare.maps import ComparisonMaps

    maps = ComparisonMaps(out) if per_job else None
    methods = [m for m in config.methods if maps is not None and m in maps.methods]
    panels = []
    if maps is not None:
        for split in maps.splits:
            keys = maps.sections_with_class(split, n_sections)
            panels += [maps.panel(split, key) for key in keys]
    cols = 1 + len(methods)
    rows = max(1, len(panels))
    fig = Figure(figsize=(2.6 * cols, 2.4 * rows), dpi=100)
    FigureCanvasAgg(fig)
    if not panels:
        fig.text(0.5, 0.5, "no finished runs", ha="center")
    else:
        n_classes = len(maps.class_names)  # type: ignore[union-attr]
        cmap = ListedColormap(class_colors(n_classes))
        for r, panel in enumerate(panels):
            ax = fig.add_subplot(rows, cols, r * cols + 1)
            ax.imshow(
                panel.labels,
                cmap=cmap,
                vmin=-0.5,
                vmax=n_classes - 0.5,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_ylabel(f"{panel.split}\n{panel.key}", fontsize=8)
            if r == 0:
                ax.set_title("labels", fontsize=9)
            shown_methods = [m for m in methods if m in panel.maps]
            for c, m in enumerate(shown_methods):
                ax = fig.add_subplot(rows, cols, r * cols + c + 2)
                im = ax.imshow(
                    panel.maps[m],
                    cmap="inferno",
                    vmin=0,
                    vmax=panel.vmax,
                    aspect="auto",
                    interpolation="nearest",
                )
                if panel.regions is not None and panel.regions.any():
                    ax.contour(panel.regions > 0, levels=[0.5], colors="cyan", linewidths=0.7)
                if r == 0:
                    ax.set_title(f"{m} (seed {panel.seeds[m]})", fontsize=9)
                if c == len(shown_methods) - 1:
                    fig.colorbar(im, ax=ax, fraction=0.05, label="events")
        for ax in fig.axes:
            if ax.images:
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle(
            "forgetting events per pixel: validation and test sections (cyan: the baseline's "
            "high-density regions)",
            fontsize=10,
        )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return [f"{panel.split} {panel.key}" for panel in panels]
