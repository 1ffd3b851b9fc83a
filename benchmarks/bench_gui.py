"""GUI responsiveness during live training and replay, on the sample volume (48 x 96 x 128) or
on any volume (``--data``, e.g. the F3-size synthetic survey); with ``--baseline REV``, the
same run of another revision side by side (ratios against it).

Runs the training dock widget in a real viewer (needs a display: ``xvfb-run -a``) with the
demo configuration and prints, per run:

* time to the first heat map (the first drawn part of an evaluation, ``SweepShown``, or the
  first epoch's end), from the start of the process;
* the largest gap, p99 and median of a 10 ms QTimer on the GUI thread while training;
* how long the Start click holds the GUI thread (``widget.start()``), and the timer's largest
  gap from the click until the worker has built the model (torch imported there);
* the per-epoch layer update time;
* the full (oldest-generation) garbage collections from the click until the model is built,
  while training and while replaying: how many and the longest (``gc.callbacks``; each is a
  pause of the whole process);
* replay: the finished run opened again (**Open run**), then its epochs shown one after the
  other, twice round (the epoch slider), each followed by 0.2 s of event loop: the time from
  opening, and from asking for an epoch, to its maps drawn, and the timer's largest gap
  while opening and over the epochs shown;
* the process's peak resident memory.

    xvfb-run -a python benchmarks/bench_gui.py [--epochs 3] [--data train_seismic.npy]
        [--baseline bc1f953] [--work /tmp/bench-gui]

A revision is checked out with ``git worktree`` (from this repository) and this script runs
with its ``src`` first on ``PYTHONPATH``, each revision in a fresh process, one after the
other; the script finds either module layout (``napari_forgetting._napari`` today,
``napari_forgetting._widgets`` before it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
T_LAUNCH = time.perf_counter()


def _api() -> dict[str, Any]:
    """The training widget and its events, in either module layout."""
    try:
        from napari_forgetting._napari.layers import DEPTH_DOWN_ORDER
        from napari_forgetting._napari.sample_data import sample_path
        from napari_forgetting._napari.widgets.training import TrainingWidget
        from napari_forgetting.training.live import EpochDone, SweepShown

        drawn: tuple = (EpochDone, SweepShown)
        started = "TrainStart"
    except ModuleNotFoundError:  # the layout before the _napari package (bc1f953 and earlier)
        from napari_forgetting._layers import DEPTH_DOWN_ORDER
        from napari_forgetting._sample_data import sample_path
        from napari_forgetting._widgets._live import EpochDone
        from napari_forgetting._widgets.training import TrainingWidget

        drawn, started = (EpochDone,), "TrainingStarted"
    return {"order": DEPTH_DOWN_ORDER, "sample": sample_path, "widget": TrainingWidget,
            "drawn": drawn, "epoch": EpochDone, "started": started}  # fmt: skip


def _gaps(ticks: list[float]) -> np.ndarray:
    return np.diff(ticks) * 1e3 if len(ticks) > 1 else np.zeros(1)


class FullCollections:
    """Durations (ms) of the full garbage collections while :attr:`on` (gc callbacks)."""

    def __init__(self) -> None:
        self.on, self.durations, self._t0 = False, [], 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2 or not self.on:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.durations.append((time.perf_counter() - self._t0) * 1e3)

    def take(self) -> tuple[int, float]:
        """(how many, the longest in ms) since the last take."""
        taken, self.durations = self.durations, []
        return len(taken), max(taken, default=0.0)


def measure(epochs: int, data: str | None) -> dict[str, Any]:
    """One run of the dock in this process; the figures as a dict."""
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    api = _api()
    viewer = napari.Viewer(show=True)
    viewer.open(data or str(api["sample"]()), plugin="napari-forgetting")
    viewer.dims.order = api["order"]
    widget = api["widget"](viewer)
    viewer.window.add_dock_widget(widget, name="Live training")
    widget.epochs.value = epochs
    widget.device.value = "cpu"
    run_dir = tempfile.mkdtemp(prefix="bench-gui-")
    widget.run_folder.value = run_dir
    ticks: list[float] = []
    updates: list[float] = []
    first: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    app = QApplication.instance()

    def on_event(event) -> None:
        if isinstance(event, api["drawn"]) and not first:
            first.append(time.perf_counter() - T_LAUNCH)
        if isinstance(event, api["epoch"]):
            updates.append(widget.live.last_update_ms)

    def spin(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.002)

    collections = FullCollections()
    timer.start()
    t0 = time.perf_counter()
    widget.start()
    start_ms = (time.perf_counter() - t0) * 1e3
    collections.on = True
    widget.worker.yielded.connect(on_event)
    while api["started"] not in widget.events_seen:
        app.processEvents()
        time.sleep(0.005)
    build_gaps = _gaps(ticks)  # from the click to the worker's model built
    build_full = collections.take()
    ticks.clear()
    while widget.running:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    live_gaps = _gaps(ticks)
    live_full = collections.take()
    run_path = Path(widget.run_dir)
    volume = tuple(widget.live.geometry.volume_shape)

    # replay: the finished run opened again, then its epochs one after the other, twice round
    spin(0.5)
    ticks.clear()
    timer.start()

    def until_drawn() -> None:  # an epoch read in a worker is drawn when read
        view = getattr(widget, "view", None)
        while view is not None and view.replaying:
            app.processEvents()
            time.sleep(0.002)

    t0 = time.perf_counter()
    widget.open_run(str(run_path))
    until_drawn()
    open_ms = (time.perf_counter() - t0) * 1e3
    spin(0.2)
    open_gaps = _gaps(ticks)
    ticks.clear()
    shown: list[float] = []
    for epoch in list(range(epochs)) * 2:
        t0 = time.perf_counter()
        widget.show_epoch(epoch)
        until_drawn()
        shown.append((time.perf_counter() - t0) * 1e3)
        spin(0.2)
    timer.stop()
    replay_gaps = _gaps(ticks)
    replay_full = collections.take()
    collections.on = False
    with open("/proc/self/status") as status:  # Linux
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    if hasattr(widget, "shutdown"):
        widget.shutdown()  # as the demo does: the worker ends before the viewer closes
    viewer.close()
    return {
        "volume": volume,
        "epochs": epochs,
        "first_heat_map_s": first[0] if first else float("nan"),
        "start_ms": start_ms,
        "build_max_gap_ms": float(build_gaps.max()),
        "build_full_gc": build_full[0],
        "build_full_gc_max_ms": build_full[1],
        "live_full_gc": live_full[0],
        "live_full_gc_max_ms": live_full[1],
        "replay_full_gc": replay_full[0],
        "replay_full_gc_max_ms": replay_full[1],
        "live_max_gap_ms": float(live_gaps.max()),
        "live_p99_gap_ms": float(np.percentile(live_gaps, 99)),
        "live_median_gap_ms": float(np.median(live_gaps)),
        "live_ticks": len(live_gaps),
        "update_mean_ms": float(np.mean(updates)) if updates else float("nan"),
        "update_max_ms": float(np.max(updates)) if updates else float("nan"),
        "open_run_ms": open_ms,
        "replay_epoch_max_ms": float(max(shown)),
        "replay_epoch_mean_ms": float(np.mean(shown)),
        "replay_max_gap_ms": float(replay_gaps.max()),
        "open_max_gap_ms": float(open_gaps.max()),
        "peak_rss_bytes": hwm * 1024,
    }


def report(name: str, r: dict[str, Any]) -> None:
    gib, gb = r["peak_rss_bytes"] / 2**30, r["peak_rss_bytes"] / 1e9
    print(f"{name}: volume {tuple(r['volume'])}, {r['epochs']} epoch(s), demo config")
    print(f"  first heat map: {r['first_heat_map_s']:.1f} s after the process started")
    print(
        f"  Start click: the GUI thread held {r['start_ms']:.0f} ms; event loop max gap "
        f"{r['build_max_gap_ms']:.0f} ms until the model was built (worker)"
    )
    print(
        f"  live training: event loop max gap {r['live_max_gap_ms']:.0f} ms, p99 "
        f"{r['live_p99_gap_ms']:.0f} ms, median {r['live_median_gap_ms']:.0f} ms over "
        f"{r['live_ticks']} ticks; layer update per epoch mean {r['update_mean_ms']:.1f} ms, "
        f"max {r['update_max_ms']:.1f} ms"
    )
    print(
        f"  replay: open run {r['open_run_ms']:.0f} ms (event loop max gap "
        f"{r['open_max_gap_ms']:.0f} ms); an epoch shown in mean "
        f"{r['replay_epoch_mean_ms']:.0f} ms, max {r['replay_epoch_max_ms']:.0f} ms; event "
        f"loop max gap over the epochs {r['replay_max_gap_ms']:.0f} ms"
    )
    print(
        f"  full garbage collections: {r['build_full_gc']} until the model was built (longest "
        f"{r['build_full_gc_max_ms']:.0f} ms), {r['live_full_gc']} while training (longest "
        f"{r['live_full_gc_max_ms']:.0f} ms), {r['replay_full_gc']} while replaying (longest "
        f"{r['replay_full_gc_max_ms']:.0f} ms)"
    )
    print(f"  peak RSS {gib:.2f} GiB = {gb:.2f} GB")


#: (key, label) of the figures compared between revisions (lower is better for all).
COMPARED = [
    ("first_heat_map_s", "first heat map"),
    ("start_ms", "Start click, GUI thread held"),
    ("build_max_gap_ms", "largest GUI gap, click to model built"),
    ("live_max_gap_ms", "largest GUI gap, live training"),
    ("replay_max_gap_ms", "largest GUI gap, replay (epochs shown)"),
    ("open_run_ms", "open run"),
    ("open_max_gap_ms", "largest GUI gap, open run"),
    ("replay_epoch_max_ms", "slowest epoch shown in replay"),
    ("peak_rss_bytes", "peak RSS"),
]


def _subprocess(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--epochs", str(args.epochs), "--json"]
    if args.data:
        cmd += ["--data", args.data]
    done = subprocess.run(
        cmd, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench_gui failed ({src}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", help="a volume to open instead of the sample (labels beside)")
    parser.add_argument("--baseline", help="a git revision to run side by side (ratios)")
    parser.add_argument("--work", default=None, help="folder for the baseline's worktree")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.data:
        args.data = str(Path(args.data).resolve())
    if not args.baseline:
        result = measure(args.epochs, args.data)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            report("current", result)
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-gui-"))
    work.mkdir(parents=True, exist_ok=True)
    from _common import baseline_src  # imports torch: only in this driver, not the measured run

    results = {}
    for name, src in (("current", REPO / "src"), ("baseline", baseline_src(args.baseline, work))):
        results[name] = _subprocess(src, args)
        report(name if name == "current" else f"baseline {args.baseline}", results[name])
    for key, label in COMPARED:
        ratio = results["current"][key] / results["baseline"][key]
        print(f"{label}: current / baseline {args.baseline} = {ratio:.2f}")


if __name__ == "__main__":
    main()
