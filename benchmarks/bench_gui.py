"""GUI responsiveness during live training on the sample volume (48 x 96 x 128), or on any
volume (``--data``, e.g. the F3-size synthetic survey).

Runs the training dock widget in a real viewer (needs a display: ``xvfb-run -a``) with the
demo configuration and prints, per run: time to the first heat map (the first drawn part of
an evaluation, ``SweepShown``, or the first epoch's end), the largest gap and p99 of a 10 ms
QTimer on the GUI thread while training, the per-epoch layer update time, and the process's
peak resident memory.

    xvfb-run -a python benchmarks/bench_gui.py [--epochs 3] [--data train_seismic.npy]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", help="a volume to open instead of the sample (labels beside)")
    args = parser.parse_args()

    t_launch = time.perf_counter()
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from napari_forgetting._napari.layers import DEPTH_DOWN_ORDER
    from napari_forgetting._napari.sample_data import sample_path
    from napari_forgetting._napari.widgets.training import TrainingWidget
    from napari_forgetting.training.events import EpochDone, SweepShown

    viewer = napari.Viewer(show=True)
    viewer.open(args.data or str(sample_path()), plugin="napari-forgetting")
    viewer.dims.order = DEPTH_DOWN_ORDER
    widget = TrainingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Live training")
    widget.epochs.value = args.epochs
    widget.device.value = "cpu"
    widget.run_folder.value = tempfile.mkdtemp(prefix="bench-gui-")
    ticks: list[float] = []
    updates: list[float] = []
    first: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    app = QApplication.instance()

    def on_event(event) -> None:
        if isinstance(event, (EpochDone, SweepShown)) and not first:
            first.append(time.perf_counter() - t_launch)
        if isinstance(event, EpochDone):
            updates.append(widget.live.last_update_ms)

    widget.start()
    widget.worker.yielded.connect(on_event)
    while "TrainStart" not in widget.events_seen:
        app.processEvents()
        time.sleep(0.005)
    timer.start()
    while widget.running:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    gaps = np.diff(ticks) * 1e3
    print(f"volume {widget.live.geometry.volume_shape}, {args.epochs} epochs, demo config")
    print(f"first heat map: {first[0]:.1f} s after start of this script")
    print(
        f"event loop: max gap {gaps.max():.0f} ms, p99 {np.percentile(gaps, 99):.0f} ms, "
        f"median {np.median(gaps):.0f} ms over {len(ticks)} ticks"
    )
    print(f"layer update per epoch: mean {np.mean(updates):.1f} ms, max {np.max(updates):.1f} ms")
    with open("/proc/self/status") as status:  # Linux
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    print(f"peak RSS {hwm / 2**20:.2f} GiB = {hwm * 1024 / 1e9:.2f} GB")
    widget.shutdown()  # as the demo does: the worker ends before the viewer closes
    viewer.close()


if __name__ == "__main__":
    main()
