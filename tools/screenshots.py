"""Re-take the docs' screenshots at 1280 x 800 (under Xvfb: ``xvfb-run -a python
tools/screenshots.py RUN``), RUN a finished run on the sample (e.g. the folder ``napari-forgetting
demo --epochs 6 --quit`` prints). Writes docs/images/first_view.png, docs/images/docks_*.png
(each dock in front, the others open as tabs) and docs/images/hotspots_ranked.png; the live run
and the 3-D view come from ``demo --screenshot`` (see docs/screenshots.md)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
DOCKS = {
    "Live training": "live_training",
    "Hotspots": "hotspots",
    "Transfer": "transfer",
    "Augment and retrain": "augment",
    "Compare report": "compare",
}


def settle(seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def main(run: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(title="napari-forgetting")
    viewer.window.resize(1280, 800)
    viewer.open_sample("napari-forgetting", "f3_synthetic")
    settle()
    viewer.screenshot(str(OUT / "first_view.png"), canvas_only=False, flash=False)
    docks = {}
    for name in DOCKS:
        docks[name] = viewer.window.add_plugin_dock_widget("napari-forgetting", name)
        settle(0.2)
    for name, stem in DOCKS.items():
        docks[name][0].raise_()
        settle(0.3)
        viewer.screenshot(str(OUT / f"docks_{stem}.png"), canvas_only=False, flash=False)
    dock, hotspots = docks["Hotspots"]
    dock.raise_()
    hotspots.set_run(run)
    hotspots.set_class("scruff")
    settle(1.5)
    hotspots.go_to(0)
    settle(0.5)
    viewer.screenshot(str(OUT / "hotspots_ranked.png"), canvas_only=False, flash=False)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1])
