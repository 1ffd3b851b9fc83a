"""Benchmark: does the transfer quality bar tell a transfer from a cheat, on every geology?

    python benchmarks/bench_transfer_bar.py [--shape 32 64 128] [--geologies 0-7]
        [--triples 48] [--min-pixels 256] [--learned DIR]

For each synthetic geology (``--data synthetic --shape S --data-seed N``'s training volume,
the validation sections held out, as ``transfer-quality`` measures) it runs
:func:`transfer_quality` on the stratal transfer and on each cheat of
:mod:`napari_forgetting.transfer.cheats` (fills that carry the source's amplitudes or RMS but
not its texture) and prints the verdict and the figures that decided it, then a summary: how
many geologies each method passes. A bar that works passes the stratal transfer and fails
every cheat, on every geology. ``--learned DIR`` adds the learned transfer of each geology whose
checkpoint is ``DIR/g<N>/checkpoint.pt`` (``bench_transfer.py --seed N --save DIR/g<N>``
trains it with ``transfer-train``'s defaults). ``--baseline DIR`` measures label fidelity with
the segmentation run ``DIR/g<N>`` of each geology (``train --data synthetic --shape S
--data-seed N --exclude-validation-traces --out DIR/g<N>``) and adds the two label controls
(:data:`~napari_forgetting.transfer.cheats.LABEL_CONTROLS`: a zero fill, the reversed
polarity). The last line is the wall time of the whole table against one stratal
measurement, measured in this process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from napari_forgetting.data.classes import F3_CLASS_NAMES
from napari_forgetting.data.source import load_data
from napari_forgetting.transfer import StratalTransfer, transfer_quality
from napari_forgetting.transfer.cheats import CHEATS, LABEL_CONTROLS
from napari_forgetting.transfer.quality import TooFewSections


def _geologies(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(v) for v in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in text.split(",")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=3, default=(32, 64, 128))
    p.add_argument("--geologies", type=_geologies, default=list(range(8)))
    p.add_argument("--triples", type=int, default=48)
    p.add_argument("--min-pixels", type=int, default=256)
    p.add_argument("--learned", help="folder of per-geology checkpoints (g<N>/checkpoint.pt)")
    p.add_argument("--baseline", help="folder of per-geology segmentation runs (g<N>/)")
    args = p.parse_args(argv)
    scruff = list(F3_CLASS_NAMES).index("scruff")
    methods = {"stratal": StratalTransfer} | CHEATS | (LABEL_CONTROLS if args.baseline else {})
    passes = {name: 0 for name in methods}
    if args.learned:
        passes["learned"] = 0
    t_all = time.perf_counter()
    t_one = None
    for g in args.geologies:
        volume, _ = load_data("synthetic", None, tuple(args.shape), g, None, None)
        segmenter = None
        if args.baseline:
            from napari_forgetting.training.segmenter import load_segmenter

            segmenter = load_segmenter(Path(args.baseline) / f"g{g}")
        here = dict(methods)
        ckpt = Path(args.learned or "") / f"g{g}" / "checkpoint.pt"
        if args.learned and ckpt.is_file():
            here["learned"] = lambda ckpt=ckpt: ckpt
        for name, make in here.items():
            t0 = time.perf_counter()
            try:
                q = transfer_quality(make(), volume, scruff, n_triples=args.triples,
                                     min_pixels=args.min_pixels,
                                     segmenter=segmenter)  # fmt: skip
            except TooFewSections as exc:
                print(f"geology {g}  {name:<16} cannot judge: {exc}")
                continue
            if name == "stratal" and t_one is None:
                t_one = time.perf_counter() - t0
            passes[name] += bool(q["passes"])
            verdict = "PASS" if q["passes"] else "fail: " + "; ".join(q["failures"])
            label = q.get("label")
            if label is not None:
                low, high = label["interval"]
                verdict += (
                    f"  | label: finds {label['recall_transferred']:.2f} transferred vs "
                    f"{label['recall_real']:.2f} real, gap {label['gap']:+.3f} "
                    f"[{low:+.3f}, {high:+.3f}] n={label['pairs']}"
                    + ("" if label["judged"] else " (not judged: weak model)")
                )
            print(f"geology {g}  {name:<16} {q['n_sections']} sections  {verdict}")
            sys.stdout.flush()
    n = len(args.geologies)
    print()
    for name, k in passes.items():
        want = "pass" if name in ("stratal", "learned") else "fail"
        if name in LABEL_CONTROLS:
            want = "fail (label fidelity)"
        print(f"{name:<16} passes {k} of {n} geologies (should {want} on every one)")
    total = time.perf_counter() - t_all
    print(f"wall time {total:.1f} s = {total / (t_one or total):.1f} x one stratal measurement "
          f"({t_one or float('nan'):.2f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
