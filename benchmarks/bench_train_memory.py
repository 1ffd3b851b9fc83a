"""Peak resident memory of one ``napari-forgetting train`` epoch at two volume sizes, and
bytes per tracked pixel; with ``--baseline REV``, the same runs of another revision side by
side (the ratio against it).

Each size is an F3-layout synthetic survey (``napari-forgetting synthetic --layout
f3-benchmark --formats npy``: train volume plus the test1/test2 volumes ``train`` finds beside
it), trained for one epoch in sweep mode with every statistic, in a fresh process whose peak
RSS (``VmHWM``) is read when it ends. Tracked pixels are those of every tracker the run
wrote (the validation sections of the train volume and the tracked test sections).
``bytes per tracked pixel`` is the slope between the two sizes (what one more tracked pixel
costs; the fixed part -- torch, the model -- drops out), then peak / tracked pixels.

    python benchmarks/bench_train_memory.py [--sizes 201 351 255 401 701 255]
        [--baseline dc94e40] [--patches 16] [--work /tmp/bench-memory]

A revision is checked out with ``git worktree`` (from this repository) and run with its own
``src`` first on ``PYTHONPATH`` in this environment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Runs the command line in this process and prints the peak RSS (bytes) as the last line.
RUNNER = """
import sys
from napari_forgetting.cli import main
try:
    rc = main(sys.argv[1:])
finally:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    print("VmHWM", int(hwm.split()[1]) * 1024, flush=True)
sys.exit(rc)
"""


def tracked_pixels(run: Path) -> int:
    """Pixels of every tracker of a run store and its tracked test stores."""
    total = 0
    for info in [run / "run.json", *sorted((run / "tests").glob("*/run.json"))]:
        shapes = json.loads(info.read_text())["tracker_config"]["section_shapes"]
        total += sum(r * c for r, c in shapes)
    return total


def survey(work: Path, shape: tuple[int, int, int], src: Path) -> Path:
    out = work / ("survey-" + "x".join(map(str, shape)))
    data = out / "train" / "train_seismic.npy"
    if not data.is_file():
        subprocess.run(
            [sys.executable, "-m", "napari_forgetting.cli", "synthetic", "--out", str(out),
             "--shape", *map(str, shape), "--layout", "f3-benchmark", "--formats", "npy"],
            check=True, env=_env(src), stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return data


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def train(src: Path, data: Path, out: Path, patches: int, threads: int) -> tuple[int, float]:
    """(peak RSS in bytes, seconds) of one epoch of ``train`` run with the code in ``src``."""
    cmd = [sys.executable, "-c", RUNNER, "train", "--data", str(data), "--out", str(out),
           "--epochs", "1", "--patches-per-epoch", str(patches), "--device", "cpu",
           "--threads", str(threads), "--quiet", "--overwrite"]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=_env(src), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"train failed ({src}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    last = done.stdout.strip().splitlines()[-1].split()
    return int(last[1]), seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs=6, default=(201, 351, 255, 401, 701, 255),
                    metavar="N", help="two volume shapes, smaller first")  # fmt: skip
    ap.add_argument("--baseline", help="a git revision to run side by side (ratio against it)")
    ap.add_argument("--patches", type=int, default=16, help="patches in the epoch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="folder for surveys and runs")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    shapes = [tuple(args.sizes[:3]), tuple(args.sizes[3:])]
    trees = {"current": REPO / "src"}
    if args.baseline:
        from _common import baseline_src  # imports torch: only for a side-by-side run

        trees["baseline"] = baseline_src(args.baseline, work)
    results: dict[str, list[tuple[int, int, float]]] = {name: [] for name in trees}
    for shape in shapes:
        data = survey(work, shape, trees["current"])
        for name, src in trees.items():
            out = work / f"run-{name}-{'x'.join(map(str, shape))}"
            peak, seconds = train(src, data, out, args.patches, args.threads)
            px = tracked_pixels(out)
            results[name].append((px, peak, seconds))
            print(f"{name:8s} {shape}: {px / 1e6:6.1f} M tracked px  peak RSS "
                  f"{peak / 2**30:5.2f} GiB = {peak / 1e9:5.2f} GB  ({peak / px:5.1f} B/px)  "
                  f"{seconds:6.1f} s", flush=True)  # fmt: skip
    for name, rows in results.items():
        (px0, peak0, _), (px1, peak1, _) = rows
        slope = (peak1 - peak0) / (px1 - px0)
        print(f"{name}: bytes per tracked pixel (slope between the sizes) {slope:.1f}; "
              f"fixed part {(peak0 - slope * px0) / 2**30:.2f} GiB")  # fmt: skip
    if "baseline" in results:
        for k, shape in enumerate(shapes):
            ratio = results["current"][k][1] / results["baseline"][k][1]
            print(f"peak RSS {shape}: current / baseline {args.baseline} = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
