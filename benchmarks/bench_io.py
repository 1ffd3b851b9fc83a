"""Benchmark: time to the first displayed inline through the lazy SEG-Y path vs a full read.

    python benchmarks/bench_io.py [--size-mb 220] [--workdir DIR] [--keep] [--repeat 3]

Writes (with :func:`napari_forgetting.data.segy.write_segy`, float32 IEEE, inline-sorted,
smooth layered data plus noise) a SEG-Y file whose float32 cube is at least ``--size-mb`` MB,
then measures in this process:

(a) lazy first inline: ``open_segy(path)`` + ``cube.data[n_inlines // 2].compute()`` — what
    napari does to show one slice;
(b) full read: ``segyio.open`` + ``segyio.tools.cube`` (segyio's default path, and with
    ``f.mmap()``), i.e. what an eager reader does before it can show anything.

Each is the best of ``--repeat`` runs. The OS page cache cannot be dropped here, so every
figure is a WARM-cache figure (the file was just written / read). The goal is
``lazy_first_inline / full_read <= 0.05``.

Peak memory of the lazy path is measured two ways: the tracemalloc peak (Python + numpy
allocations) during open + first-inline compute in this process, and the peak resident-set
growth (Linux VmHWM after resetting it via /proc/self/clear_refs; includes everything, also
segyio's C allocations and touched mmap pages) of a fresh child process doing only that, next
to the same figure for a child doing the full read.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np
import segyio

from napari_forgetting.data.segy import open_segy, write_segy
from napari_forgetting.data.volume import open_volume

N_CROSSLINES = 701  # F3 Netherlands size along crosslines and samples
N_SAMPLES = 255


class SmoothCube:
    """A deterministic layered cube, generated one inline at a time (never all in memory)."""

    def __init__(self, n_inlines: int, n_crosslines: int, n_samples: int, seed: int = 0):
        self.shape = (n_inlines, n_crosslines, n_samples)
        self.dtype = np.dtype(np.float32)
        self._seed = seed
        xl = np.arange(n_crosslines, dtype=np.float32)[:, None]
        t = np.arange(n_samples, dtype=np.float32)[None, :]
        self._xl, self._t = xl, t

    def __getitem__(self, i):
        if not isinstance(i, (int, np.integer)):
            raise TypeError("SmoothCube supports integer (inline) indexing only")
        rng = np.random.default_rng((self._seed, int(i)))
        shift = 6 * np.sin(self._xl / 57.0 + i / 41.0) + 4 * np.cos(i / 23.0)
        layers = np.sin((self._t + shift) / 3.1) * np.cos((self._t - shift) / 17.0)
        noise = rng.standard_normal(layers.shape, dtype=np.float32) * 0.1
        return (1000 * (layers + noise)).astype(np.float32)


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def lazy_first_inline(path: str) -> np.ndarray:
    cube = open_segy(path)
    return cube.data[cube.data.shape[0] // 2].compute()


def reader_first_inline(path: str) -> np.ndarray:
    """What the napari reader does before the first slice shows: open_volume (labels lookup,
    non-finite guard), contrast limits from 3 inlines, then the displayed inline."""
    volume = open_volume(path, find_labels_beside=False)
    volume.estimate_contrast_limits()
    return volume.data[volume.shape[0] // 2].compute()


def full_read(path: str, mmap: bool = False) -> np.ndarray:
    with segyio.open(path) as f:
        if mmap:
            f.mmap()
        return segyio.tools.cube(f)


def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for row in fh:
                if row.startswith(field + ":"):
                    return int(row.split()[1])
    except OSError:
        pass
    return None


def child(mode: str, path: str) -> None:
    """Run in a fresh process: report the peak resident-set growth (bytes) of one read.

    Linux: after the imports (and dask's one-time imports at its first compute), reset the
    peak (VmHWM) to the current RSS through /proc/self/clear_refs, then report
    VmHWM - VmRSS(before). (ru_maxrss is not used: it keeps the parent's high-water mark
    across fork + exec.)
    """
    import dask.array as da

    da.zeros(1).compute()  # dask's one-time imports happen before the measurement
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = _proc_status_kb("VmRSS")
    except OSError:
        before = None
    out = lazy_first_inline(path) if mode == "lazy" else full_read(path)
    after = _proc_status_kb("VmHWM")
    delta = None if before is None or after is None else (after - before) * 1024
    print(json.dumps({"peak_rss_delta": delta, "nbytes": int(out.nbytes)}))


def child_rss(mode: str, path: str) -> int | None:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, path]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])["peak_rss_delta"]


def mb(n: float | None) -> str:
    return "n/a (needs Linux /proc)" if n is None else f"{n / 1e6:.1f} MB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=220.0, help="float32 cube size (MB)")
    ap.add_argument("--workdir", default=None, help="folder for the SEG-Y (default: temp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated SEG-Y file")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    n_inlines = math.ceil(args.size_mb * 1e6 / (N_CROSSLINES * N_SAMPLES * 4))
    shape = (n_inlines, N_CROSSLINES, N_SAMPLES)
    cube_bytes = 4 * n_inlines * N_CROSSLINES * N_SAMPLES
    made_dir = args.workdir is None
    workdir = tempfile.mkdtemp(prefix="bench_io_") if made_dir else args.workdir
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "bench_io.sgy")
    try:
        t0 = time.perf_counter()
        write_segy(path, SmoothCube(*shape), sample_format="ieee", sorting="inline")
        t_write = time.perf_counter() - t0
        file_bytes = os.path.getsize(path)
        print(f"SEG-Y: {path}")
        print(
            f"  cube {shape[0]} x {shape[1]} x {shape[2]} float32 = {mb(cube_bytes)}, "
            f"file {mb(file_bytes)}, IEEE, inline-sorted"
        )
        print(f"  write_segy: {t_write:.1f} s ({file_bytes / 1e6 / t_write:.0f} MB/s)")
        print(f"timings: best of {args.repeat}, WARM page cache (cannot drop the OS cache here)")

        # The very first dask compute in a process pays dask's one-time imports (it looks for a
        # distributed client); report it, then time warm calls.
        t_cold, _ = best_of(lambda: lazy_first_inline(path), 1)
        t_full, full = best_of(lambda: full_read(path), args.repeat)
        t_full_mm, _ = best_of(lambda: full_read(path, mmap=True), args.repeat)
        t_lazy, inline = best_of(lambda: lazy_first_inline(path), args.repeat)
        t_reader, reader_inline = best_of(lambda: reader_first_inline(path), args.repeat)
        assert np.array_equal(reader_inline, inline)
        assert np.array_equal(inline, full[n_inlines // 2]), "lazy inline != segyio read"
        del full
        t_open, _ = best_of(lambda: open_segy(path), args.repeat)
        t_all, _ = best_of(lambda: open_segy(path).data.compute(), 1)

        print(
            f"  (a) lazy first inline (open_segy + data[{n_inlines // 2}].compute()): "
            f"{t_lazy * 1e3:.1f} ms   [open_segy alone: {t_open * 1e3:.1f} ms]"
        )
        print(
            f"      (info) same, first call in a fresh process (dask's one-time imports): "
            f"{t_cold * 1e3:.1f} ms"
        )
        print(f"  (b) full read, segyio.open + tools.cube:          {t_full * 1e3:.1f} ms")
        print(f"      full read, segyio.open + mmap + tools.cube:   {t_full_mm * 1e3:.1f} ms")
        print(
            f"      (info) lazy full-cube compute, open_segy(...).data.compute(): "
            f"{t_all * 1e3:.1f} ms"
        )
        print(
            "  (a') napari reader path (open_volume + contrast limits from 3 inlines + "
            f"one inline): {t_reader * 1e3:.1f} ms"
        )
        for name, t_num in (("lazy_first_inline", t_lazy), ("reader_first_inline", t_reader)):
            for label, t_ref in (("segyio.tools.cube", t_full), ("mmap + tools.cube", t_full_mm)):
                ratio = t_num / t_ref
                verdict = "OK" if ratio <= 0.05 else "MISSED"
                print(
                    f"  ratio {name} / full_read ({label}) = {ratio:.4f}  (goal <= 0.05: {verdict})"
                )

        tracemalloc.start()
        lazy_first_inline(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_lazy = child_rss("lazy", path)
        rss_full = child_rss("full", path)
        print("memory:")
        print(f"  lazy path tracemalloc peak (open + first inline, this process): {mb(peak)}")
        print(f"  lazy path peak RSS growth (VmHWM, fresh child process):          {mb(rss_lazy)}")
        print(f"  full read peak RSS growth (VmHWM, fresh child process):          {mb(rss_full)}")
        print(f"  full float32 cube size:                                        {mb(cube_bytes)}")
        print(
            f"  one inline:                                                    {mb(inline.nbytes)}"
        )
    finally:
        if made_dir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.keep and os.path.exists(path):
            os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
