"""The ``napari-forgetting`` command line.

Subcommands:
  demo       open napari with the F3-like sample volume and its facies labels
  info       print a volume's geometry and class balance (headless)
  synthetic  write an F3-like synthetic volume (SEG-Y and/or .npy)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from napari_forgetting.data import VolumeError, open_volume


def _cmd_info(args: argparse.Namespace) -> int:
    vol = open_volume(args.path, labels=args.labels, iline=args.iline, xline=args.xline)
    src = {k: v for k, v in vol.source.items() if not k.startswith("_")}
    print(f"file:       {src.pop('path')}")
    print(f"format:     {', '.join(f'{k}={v}' for k, v in src.items())}")
    print(f"shape:      {vol.shape} (inline, crossline, sample)")
    print(f"inlines:    {vol.inlines[0]}..{vol.inlines[-1]} ({len(vol.inlines)})")
    print(f"crosslines: {vol.crosslines[0]}..{vol.crosslines[-1]} ({len(vol.crosslines)})")
    print(f"samples:    {vol.samples[0]:g}..{vol.samples[-1]:g} step {vol.sample_interval:g}")
    print(f"chunks:     {vol.data.chunksize}")
    if vol.labels is not None:
        import numpy as np

        counts = np.bincount(np.asarray(vol.labels).ravel(), minlength=vol.n_classes)
        total = counts.sum()
        print("classes:")
        for k, (name, n) in enumerate(zip(vol.class_names, counts, strict=True)):
            print(f"  {k} {name:<16} {n / total:7.2%}")
    return 0


def _cmd_synthetic(args: argparse.Namespace) -> int:
    from napari_forgetting.data.synthetic import make_f3_like, write_survey

    survey = make_f3_like(tuple(args.shape), seed=args.seed)
    paths = write_survey(survey, args.out, name=args.name, formats=tuple(args.formats))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import napari

    from napari_forgetting._layers import DEPTH_DOWN_ORDER
    from napari_forgetting._sample_data import sample_path

    path = args.data or sample_path()
    viewer = napari.Viewer(title="napari-forgetting demo")
    viewer.window.resize(1200, 800)
    viewer.open(str(path), plugin="napari-forgetting")
    viewer.dims.order = DEPTH_DOWN_ORDER
    first_axis = viewer.dims.range[0]
    viewer.dims.set_point(0, (first_axis.start + first_axis.stop) / 2)
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    viewer.reset_view()
    if args.screenshot:
        viewer.screenshot(str(args.screenshot), canvas_only=False, flash=False)
        print(f"screenshot: {args.screenshot}")
    if args.quit:
        viewer.close()
        return 0
    napari.run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-forgetting",
        description="Explain a seismic segmentation model by its forgettable learning dynamics.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="open napari with the sample volume and labels")
    demo.add_argument("--data", help="a volume to open instead of the sample")
    demo.add_argument("--screenshot", help="save a screenshot of the viewer to this PNG")
    demo.add_argument("--quit", action="store_true", help="close the viewer instead of running it")
    demo.set_defaults(func=_cmd_demo)

    info = sub.add_parser("info", help="print a volume's geometry and class balance")
    info.add_argument("path")
    info.add_argument("--labels", help="labels file (default: found beside the seismic)")
    info.add_argument("--iline", type=int, default=189, help="inline header byte (SEG-Y)")
    info.add_argument("--xline", type=int, default=193, help="crossline header byte (SEG-Y)")
    info.set_defaults(func=_cmd_info)

    syn = sub.add_parser("synthetic", help="write an F3-like synthetic volume")
    syn.add_argument("--out", required=True, help="output folder")
    syn.add_argument(
        "--shape",
        type=int,
        nargs=3,
        default=(64, 96, 128),
        metavar=("INLINES", "CROSSLINES", "SAMPLES"),
    )
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--name", default="f3_synthetic")
    syn.add_argument("--formats", nargs="+", default=["segy", "npy"], choices=["segy", "npy"])
    syn.set_defaults(func=_cmd_synthetic)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VolumeError as exc:
        print(f"napari-forgetting: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
