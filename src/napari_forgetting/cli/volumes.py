"""``info`` and ``synthetic``: look at a volume, write the F3-like benchmark (headless)."""

from __future__ import annotations

import argparse
from typing import Any

from napari_forgetting.cli.args import (
    HIDDEN_ALIASES,
    add_header_byte_arguments,
    add_shape_argument,
    nonnegative_int,
    usage_errors,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    info = sub.add_parser("info", help="print a volume's geometry and class balance")
    info.add_argument("path")
    info.add_argument("--labels", help="labels file (default: found beside the seismic)")
    add_header_byte_arguments(info)
    info.set_defaults(func=_cmd_info)

    syn = sub.add_parser(
        "synthetic",
        help="write an F3-like synthetic volume",
        description="Write an F3-like synthetic survey (SEG-Y and/or F3 .npy). --layout "
        "f3-benchmark writes the public benchmark's layout instead: train/train_{seismic,"
        "labels}.npy and test_once/test{1,2}_{seismic,labels}.npy, one geology cut three "
        "ways (--shape is the training volume's). --sample rewrites the shipped sample data "
        "(f3_synthetic.sgy + f3_synthetic_labels.npy).",
    )
    syn.add_argument("--out", required=True, help="output folder")
    add_shape_argument(syn)
    syn.add_argument(
        "--data-seed",
        hidden_aliases=HIDDEN_ALIASES["--data-seed"],
        type=nonnegative_int,
        default=0,
        help="seed of the generated volume (as --data synthetic's --data-seed)",
    )
    syn.add_argument("--noise", type=float, help="noise level (default: the generator's)")
    syn.add_argument("--name", default="f3_synthetic", help="file stem")
    syn.add_argument("--formats", nargs="+", default=["segy", "npy"], choices=["segy", "npy"])
    syn.add_argument(
        "--layout",
        choices=["survey", "f3-benchmark"],
        default="survey",
        help="one survey (default) or the F3 benchmark's train / test1 / test2 layout",
    )
    syn.add_argument(
        "--sample",
        action="store_true",
        help="the shipped sample data: its shape, seed, name and format (other options ignored)",
    )
    syn.add_argument("--overwrite", action="store_true", help="replace volumes already in --out")
    syn.set_defaults(func=_cmd_synthetic)


def _cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    from napari_forgetting.data import open_volume

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
        counts = np.bincount(np.asarray(vol.labels).ravel(), minlength=vol.n_classes)
        total = counts.sum()
        print("classes:")
        for k, (name, n) in enumerate(zip(vol.class_names, counts, strict=True)):
            print(f"  {k} {name:<16} {n / total:7.2%}")
    return 0


def _cmd_synthetic(args: argparse.Namespace) -> int:
    from napari_forgetting.data import synthetic
    from napari_forgetting.data.folders import claim

    options = {} if args.noise is None else {"noise": args.noise}
    with usage_errors(), claim(args.out, "volumes", overwrite=args.overwrite,
                               what="synthetic"):  # fmt: skip
        if args.sample:
            paths = synthetic.write_sample_data(args.out)
        elif args.layout == "f3-benchmark":
            bench = synthetic.make_f3_benchmark(tuple(args.shape), seed=args.data_seed, **options)
            paths = synthetic.write_benchmark(bench, args.out)
            for name, survey in (("train", bench.train), *bench.tests.items()):
                pairs = zip(survey.class_names, survey.class_proportions(), strict=True)
                shares = " ".join(f"{c}:{p:.1%}" for c, p in pairs)
                print(f"{name} {survey.shape}: {shares}")
        else:
            survey = synthetic.make_f3_like(tuple(args.shape), seed=args.data_seed, **options)
            paths = synthetic.write_survey(
                survey, args.out, name=args.name, formats=tuple(args.formats)
            )
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
