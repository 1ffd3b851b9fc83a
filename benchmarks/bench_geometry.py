"""One epoch at F3 size with the former ASPP rates (6, 12, 18) and with the rates whose every
tap is trained on 128-pixel patches ((1, 3, 4), ``TrainConfig()``'s default now), as a ratio.

    python benchmarks/bench_geometry.py [--batches 12] [--sections 6] [--threads 2]

Both networks train on the same F3-size patches (128 x 128 from a 401 x 701 x 255 volume,
batch 16) and predict the same whole F3 sections, interleaved step by step (the order
rotated each round). An epoch's time is estimated as ``batches per epoch x mean batch time
+ validation sections x mean section time``, with the default budget (patches that cover the
training sections once) and the paper's 222 validation sections: timing the 440-odd batches
of a whole CPU epoch twice would take about 20 minutes, for the same ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from napari_forgetting.data.sections import paper_split
from napari_forgetting.data.synthetic import F3_TRAIN_SHAPE, make_f3_like
from napari_forgetting.model.deeplab import ASPP_RATES, build_deeplabv3_resnet18, predict_section
from napari_forgetting.training import TrainConfig, Trainer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--sections", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    survey = make_f3_like(F3_TRAIN_SHAPE, seed=0)
    cfg = TrainConfig(device="cpu", num_threads=args.threads, amp=False)
    print(f"F3-size volume {survey.shape} generated in {time.perf_counter() - t0:.0f} s")
    return run(survey, cfg, args)


def run(survey, cfg, args) -> int:
    trainer = Trainer(survey, cfg, tracked_sections=[])
    split = paper_split(survey, cfg.every)
    n_val = len(split.validation)
    per_epoch = trainer.n_batches
    draws = list(trainer.sampler.iter_epoch(args.batches * cfg.batch_size))
    batches = [
        trainer.make_batch(draws[i : i + cfg.batch_size])[:2]
        for i in range(0, len(draws), cfg.batch_size)
    ]
    picks = np.linspace(0, n_val - 1, args.sections).round().astype(int)
    sections = [trainer.section_data(split.validation[i])[0] for i in picks]
    variants = {"former (6, 12, 18)": ASPP_RATES[16], f"trained {cfg.rates}": cfg.rates}
    nets, opts = {}, {}
    for name, rates in variants.items():
        torch.manual_seed(0)
        nets[name] = build_deeplabv3_resnet18(6, 1, 16, atrous_rates=rates)
        opts[name] = torch.optim.Adam(nets[name].parameters(), lr=1e-3)
    step_t = {name: [] for name in variants}
    infer_t = {name: [] for name in variants}
    names = list(variants)
    for k, (x, y) in enumerate(batches):
        for name in names[k % 2 :] + names[: k % 2]:
            net, opt = nets[name], opts[name]
            net.train()
            t = time.perf_counter()
            loss = F.cross_entropy(net(x), y, ignore_index=255)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_t[name].append(time.perf_counter() - t)
    for k, img in enumerate(sections):
        for name in names[k % 2 :] + names[: k % 2]:
            t = time.perf_counter()
            predict_section(nets[name], img, amp=False)
            infer_t[name].append(time.perf_counter() - t)
    print(
        f"default budget: {trainer.patches_per_epoch} patches of {cfg.patch_size} = "
        f"{per_epoch} batches of {cfg.batch_size} per epoch; {n_val} validation sections; "
        f"timed {len(batches)} batches and {len(sections)} sections per variant, "
        f"{args.threads} CPU threads"
    )
    epoch = {}
    for name in names:
        b = statistics.mean(step_t[name][1:] or step_t[name])  # the first step warms up
        s = statistics.mean(infer_t[name])
        epoch[name] = per_epoch * b + n_val * s
        print(
            f"  {name:22s} batch {b:.2f} s, section {s:.2f} s -> epoch {epoch[name] / 60:.1f} min"
        )
    before, after = (epoch[n] for n in names)
    print(f"ratio epoch time trained-rates / former-rates = {after / before:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
