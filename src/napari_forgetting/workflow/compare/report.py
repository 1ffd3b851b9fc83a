"""The report: ``report.md`` and its CSV tables, every file written atomically."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from napari_forgetting.data.writers import write_json
from napari_forgetting.workflow.compare.config import (
    JOBS_DIR,
    POOLS_DIR,
    REPORT_FILE,
    TEST_SPLIT,
    CompareConfig,
    job_name,
)
from napari_forgetting.workflow.compare.fates import overlap_lines, region_lines, region_tables
from napari_forgetting.workflow.compare.figure import write_figure
from napari_forgetting.workflow.compare.jobs import consensus_of, run_finished
from napari_forgetting.workflow.compare.metrics import (
    absent_classes,
    display_names,
    job_metrics,
    read_on,
    style_sources,
)
from napari_forgetting.workflow.compare.paired import (
    PAPER_EFFECT,
    mean_std,
    paired_differences,
)
from napari_forgetting.workflow.compare.tables import (
    ci_text,
    csv_text,
    md_table,
    pm_text,
    write_text,
)


def write_report(
    out_dir: str | os.PathLike,
    config: CompareConfig,
    failed: dict[str, str] | None = None,
    n_figure_sections: int = 3,
    timing: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, ``accuracy.csv``, ``forgetting.csv``, ``jobs.csv`` and
    ``heatmaps.png`` from the finished runs under ``<out>/jobs``; failed jobs are listed.

    Every table has a ``split`` column: the held-out test volumes (``test1``, ``test2``:
    Table 1) and the ``validation`` sections. ``compare.json`` records the class, methods
    and seeds for readers of the folder (:class:`~.maps.ComparisonMaps`). ``timing``: this
    invocation's wall ``seconds`` and the jobs it ``ran`` and ``skipped`` (the report's *Time*
    section, beside each arm's training time summed from its run stores)."""
    out = Path(out_dir)
    failed = dict(failed or {})
    epochs = config.train.get("epochs")
    per_job: dict[tuple[str, int], dict[str, Any]] = {}
    for method in config.methods:
        for seed in range(config.seeds):
            name = job_name(method, seed)
            path = out / JOBS_DIR / name
            if run_finished(path, epochs):
                per_job[(method, seed)] = job_metrics(path, style_sources(out, seed), config.last_k)
            elif name not in failed:
                failed[name] = "not finished (no finished run store)"
    class_names: list[str] = next(iter(per_job.values()))["class_names"] if per_job else []
    shown = display_names(class_names)
    n = len(class_names)
    names = {s for m in per_job.values() for s in m["splits"]}
    splits = sorted(names - {"validation"}) + (["validation"] if "validation" in names else [])

    # jobs.csv: one row per (method, seed, split)
    job_rows = []
    for method in config.methods:
        for seed in range(config.seeds):
            m = per_job.get((method, seed))
            name = job_name(method, seed)
            if m is None:
                job_rows.append(
                    [method, seed, "", "failed", failed.get(name, "")] + [""] * (2 * n + 2)
                )
                continue
            for sp in splits:
                r = m["splits"].get(sp)
                if r is None:
                    continue
                job_rows.append([method, seed, sp, "finished", "", r["mean_class_accuracy"],
                                 *r["class_accuracy"], r["total_events"],
                                 *[float(e) for e in r["events"]]])  # fmt: skip
    job_header = (
        ["method", "seed", "split", "status", "error", "mean_class_accuracy"]
        + [f"acc_{c}" for c in class_names]
        + ["events_total"]
        + [f"events_{c}" for c in class_names]
    )

    # aggregates, per (method, split)
    acc_rows, ev_rows, md_acc, md_ev = [], [], [], []
    for sp in splits:
        for method in config.methods:
            ms = [
                per_job[(method, s)]["splits"][sp]
                for s in range(config.seeds)
                if (method, s) in per_job and sp in per_job[(method, s)]["splits"]
            ]
            k = len(ms)
            acc = [mean_std([m["class_accuracy"][c] for m in ms]) for c in range(n)]
            mca = mean_std([m["mean_class_accuracy"] for m in ms])
            tot = mean_std([m["total_events"] for m in ms])
            ev = [mean_std([float(m["events"][c]) for m in ms]) for c in range(n)]
            acc_rows.append([method, sp, k, *[v for pair in acc for v in pair], *mca])
            ev_rows.append([method, sp, k, *tot, *[v for pair in ev for v in pair]])
            md_acc.append([method, sp, str(k)] + [pm_text(a, s) for a, s in acc] + [pm_text(*mca)])
            md_ev.append(
                [method, sp, str(k), f"{tot[0]:.1f} ± {tot[1]:.1f}"] + [f"{a:.1f}" for a, _ in ev]
            )
    acc_header = ["method", "split", "n_seeds"]
    for c in class_names:
        acc_header += [f"{c}_mean", f"{c}_std"]
    acc_header += ["mean_class_accuracy_mean", "mean_class_accuracy_std"]
    ev_header = ["method", "split", "n_seeds", "total_mean", "total_std"]
    for c in class_names:
        ev_header += [f"{c}_mean", f"{c}_std"]

    diff_rows = paired_differences(config, per_job, splits, class_names)
    fate_rows, _, overlap_rows = region_tables(out, config, per_job)
    files = {
        "accuracy": out / "accuracy.csv",
        "forgetting": out / "forgetting.csv",
        "differences": out / "differences.csv",
        "regions": out / "regions.csv",
        "overlap": out / "overlap.csv",
        "jobs": out / "jobs.csv",
        "figure": out / "heatmaps.png",
        "report": out / "report.md",
        "record": out / REPORT_FILE,
    }
    write_text(files["accuracy"], csv_text(acc_header, acc_rows))
    write_text(files["forgetting"], csv_text(ev_header, ev_rows))
    write_text(
        files["differences"],
        csv_text(["method", "split", "quantity", "n_seeds", "mean", "ci95_low", "ci95_high",
                   "sd", "mde80", "seeds_for_0.055"], diff_rows),
    )  # fmt: skip
    write_text(
        files["regions"],
        csv_text(["method", "seed", "split", "section", "size", "kept", "fate",
                   "baseline_density", "density"], fate_rows),
    )  # fmt: skip
    write_text(
        files["overlap"],
        csv_text(["method", "seed", "split", "dice", "regions", "stays", "appear",
                   "level_ratio"], overlap_rows),
    )  # fmt: skip
    write_text(files["jobs"], csv_text(job_header, job_rows))
    write_json(  # what a reader of the report folder needs (maps.ComparisonMaps)
        out / REPORT_FILE,
        {
            "class": config.cls,
            "methods": list(config.methods),
            "seeds": int(config.seeds),
            "min_pixels": int(config.min_pixels),
        },
    )
    fig_sections = write_figure(files["figure"], out, config, per_job, n_figure_sections)
    diff_acc, diff_ev = [], []
    acc_keys = [f"acc_{c}" for c in class_names] + ["mean_class_accuracy"]
    labels = list(dict.fromkeys(r[0] for r in diff_rows))  # the arms, then the contrasts
    for method in labels:
        for sp in splits:
            got = {r[2]: r for r in diff_rows if r[0] == method and r[1] == sp}
            if not got:
                continue
            seeds_n = str(max(r[3] for r in got.values()))
            diff_acc.append([method, sp, seeds_n] + [ci_text(*got[k][4:7]) for k in acc_keys])
            ev_keys = ["events_total"] + [k for k in got if k == f"events_{config.cls}"]
            diff_ev.append(
                [method, sp, seeds_n] + [ci_text(*got[k][4:7], digits=1) for k in ev_keys]
            )
    power_rows = []
    primary = primary_key(config)
    shown_keys = {
        f"prob_{config.cls}": f"true-class probability, {config.cls}",
        f"tracked_{config.cls}": f"true-class probability, {config.cls}, tracked sections, "
        f"last {config.last_k} epochs",
        f"acc_{config.cls}": f"accuracy, {config.cls}",
        "mean_class_accuracy": "mean class accuracy",
    }
    for r in diff_rows:
        if r[1] == TEST_SPLIT and r[2] in shown_keys:
            sd, mde, need = r[7:10]
            what = shown_keys[r[2]]
            power_rows.append([
                r[0], what + (" (primary)" if r[2] == primary else ""), str(r[3]),
                "—" if not math.isfinite(sd) else f"{sd:.3f}",
                "—" if not math.isfinite(mde) else f"{mde:.3f}",
                "—" if math.isnan(need) else ("> 10,000" if math.isinf(need) else f"{need:.0f}"),
            ])  # fmt: skip

    budgets = []
    for method in config.methods:
        seeds = sorted(s for (m, s) in per_job if m == method)
        if seeds:
            from napari_forgetting.runs.store import RunStore

            b = RunStore.open(out / JOBS_DIR / job_name(method, seeds[0])).info.get("budget")
            if b:
                budgets.append([method, str(b["patches_per_epoch"]), str(b["batches_per_epoch"]),
                                str(b["gradient_steps"]), b["augmentation"],
                                f"{b['augmented_share']:.0%}"])  # fmt: skip
    test_rows = [r for r in md_acc if r[1] != "validation"]
    val_rows = [r for r in md_acc if r[1] == "validation"]
    acc_cols = ["method", "split", "seeds", *shown, "mean class acc."]
    cfg_line = json.dumps({k: v for k, v in asdict(config).items() if k != "train"})
    preset_lines = []
    if config.preset:
        preset = f"`napari-forgetting compare --preset {config.preset}`"
        preset_lines = [f"Preset: `{config.preset}` ({preset}).", ""]
    md = [
        "# Method comparison",
        "",
        *preset_lines,
        f"Data: `{config.data}`; methods: {', '.join(config.methods)}; seeds: {config.seeds}; "
        f"training: `{json.dumps(config.train)}`.",
        "",
        "## Table 1: per-class accuracy on the held-out test volumes (all their inlines and "
        "crosslines, after the last epoch; mean ± std over seeds)",
        "",
        md_table(acc_cols, test_rows) if test_rows else "No test volumes.",
        "",
        *absent_classes(per_job, class_names, config.cls),
        "## Per-class accuracy on the validation sections (last epoch; mean ± std over seeds)",
        "",
        "Validation traces overlap training sections (every validation inline crosses the "
        "training crosslines), as in the paper's split: the test volumes are the held-out "
        "figure. " + read_on(per_job),
        "",
        md_table(acc_cols, val_rows),
        "",
        "## Training budget per arm",
        "",
        "Every arm takes the same gradient steps on the same number of patches per epoch; "
        "the augmented arms change the same share of them (flipped, rotated, or drawn from "
        "the pool).",
        "",
        md_table(
            [
                "method",
                "patches / epoch",
                "batches / epoch",
                "gradient steps",
                "augmentation",
                "augmented share",
            ],
            budgets,
        ),  # fmt: skip
        "",
        "## Differences from the baseline, paired by seed",
        "",
        "Each method minus the baseline of the same seed (the same data, the same "
        "initialisation seed and the same training draws wherever its treatment leaves "
        "them), then the contrasts the paper's claim needs: `transfer - identity` (the style, "
        "against more draws of the same target sections untransferred), `transfer - "
        "random-sources` (hotspot sources against sources drawn at random) and `transfer - "
        "consensus-sources` (the seed's own hotspots against those of the seeds' "
        "consensus); mean over seeds and its 95 % Student-t interval. `reinit` and "
        "`redraw` are the baseline again with another initialisation or other draws: "
        "their difference is what a difference is when no treatment is applied "
        f"(`differences.csv`). `{TEST_SPLIT}` is every test volume's pixels together.",
        "",
        md_table(["method", "split", "seeds", *shown, "mean class acc."], diff_acc)
        if diff_acc
        else "No paired runs.",
        "",
        md_table(
            [
                "method",
                "split",
                "seeds",
                "forgetting events, total",
                f"forgetting events, {config.cls}",
            ],
            diff_ev,
        )
        if diff_ev
        else "",  # fmt: skip
        "",
        "## What this comparison can detect",
        "",
        f"**Primary endpoint**: {primary_text(config)} (a continuous endpoint: it moves "
        "with the model's confidence where accuracy jumps at 0.5; named before any arm "
        "runs: `CompareConfig.primary`, a preset's chosen on its baseline alone). Accuracy "
        "and the other probability are reported beside it. "
        f"From the seeds run: the paired SD of each contrast on `{TEST_SPLIT}` (every test "
        "volume's pixels together), its minimum detectable effect (two-sided paired t-test, "
        "5 % level, 80 % power, on these seeds), and the seeds the paper's "
        f"+{PAPER_EFFECT} would need at that SD. A difference smaller than the MDE is not "
        "evidence of no effect (`differences.csv` has every split and quantity).",
        "",
        md_table(
            [
                "method",
                "quantity",
                "seeds",
                "paired SD",
                "MDE (80 % power)",
                f"seeds for +{PAPER_EFFECT}",
            ],
            power_rows,
        )
        if power_rows
        else "Fewer than two paired seeds: nothing can be said of power.",
        "",
        "## Forgetting events on the tracked sections (last epoch, mean over seeds)",
        "",
        md_table(["method", "split", "seeds", "total (± std)", *shown], md_ev),
        "",
        "## The baseline's high-density forgetting regions under each method",
        "",
        *region_lines(fate_rows, config),
        "",
        *overlap_lines(overlap_rows, config),
        "",
        "## The baseline's explanation across seeds",
        "",
        *_stability_lines(out, config, per_job),
        "",
        "## The transfer method",
        "",
        *_transfer_lines(out, config),
        "",
        "## Fig. 5: forgetting heat maps",
        "",
        f"![heat maps](heatmaps.png) Sections: {', '.join(fig_sections) or 'none'}.",
        "",
        *_time_lines(out, config, per_job, timing),
        "## Failed jobs",
        "",
    ]
    if failed:
        md += [f"- `{name}`: {err}" for name, err in sorted(failed.items())]
    else:
        md.append("None.")
    md += ["", f"Configuration: `{cfg_line}`", ""]
    write_text(files["report"], "\n".join(md))
    return files


def _time_lines(
    out: Path, config: CompareConfig, per_job: dict[Any, Any], timing: dict[str, Any] | None
) -> list[str]:
    """The report's *Time* section: this invocation's wall time, and each arm's epochs'
    time summed over its finished seeds (training and the per-epoch evaluation, from the
    run stores; what a rerun on the same machine costs)."""
    from napari_forgetting.runs.store import RunStore

    rows = []
    for method in config.methods:
        secs = [sum(float(h.get("seconds", 0.0)) for h in
                    RunStore.open(out / JOBS_DIR / job_name(method, s)).history)
                for (m, s) in per_job if m == method]  # fmt: skip
        if secs:
            rows.append([method, str(len(secs)), f"{sum(secs) / 60:.1f}",
                         f"{sum(secs) / len(secs) / 60:.1f}"])  # fmt: skip
    lines = ["## Time", ""]
    if timing:
        lines += [f"This invocation: {timing['seconds'] / 60:.1f} min wall for "
                  f"{timing['ran']} job(s) run ({timing['skipped']} finished before, "
                  "skipped).", ""]  # fmt: skip
    if rows:
        lines += ["Each arm's epochs (training and per-epoch evaluation), from its run "
                  "stores:", "",
                  md_table(["method", "seeds", "minutes, all seeds", "minutes per seed"],
                           rows), ""]  # fmt: skip
    return lines


def primary_key(config: CompareConfig) -> str:
    """The ``differences.csv`` quantity of the comparison's primary endpoint."""
    return f"{'tracked' if config.primary == 'tracked' else 'prob'}_{config.cls}"


def primary_text(config: CompareConfig) -> str:
    """The primary endpoint in words, for the report."""
    if config.primary == "tracked":
        return (
            f"the mean true-class probability of {config.cls} over its pixels on the tracked "
            f"sections of the test volumes (every `test_every`-th), averaged over the last "
            f"{config.last_k} epochs, the volumes pooled by their {config.cls} pixels "
            f"(`{TEST_SPLIT}`)"
        )
    return (
        f"the mean true-class probability of {config.cls} over its pixels on `{TEST_SPLIT}` "
        "after the last epoch"
    )


def _stability_lines(out: Path, config: CompareConfig, per_job: dict[Any, Any]) -> list[str]:
    """How much the baseline's hotspots move with the seed (``stability.txt`` /
    ``stability.json``) and its consensus run (``consensus/``, the Compare dock's
    ``consensus`` seed): built from the finished baseline seeds, at least two."""
    from napari_forgetting.runs.consensus import CONSENSUS_DIR, build_consensus, seed_runs
    from napari_forgetting.workflow.consensus import STABILITY_TEXT, write_stability

    seeds = sorted(s for (m, s) in per_job if m == "baseline")
    if len(seeds) < 2:
        return [f"{len(seeds)} finished baseline seed(s): stability needs two or more."]
    stores = seed_runs([out / JOBS_DIR / job_name("baseline", s) for s in seeds])
    try:
        results = write_stability(stores, out, config.cls, k=config.n_sources,
                                  min_pixels=config.min_pixels)  # fmt: skip
        extra = {"k": config.n_sources, "min_pixels": config.min_pixels}
        if not consensus_of(out / CONSENSUS_DIR, [s.path for s in stores]):  # built by its job
            build_consensus(stores, out / CONSENSUS_DIR, extra=extra)
    except ValueError as exc:  # e.g. seeds trained with different budgets
        return [f"Not measured: {exc}"]
    lines = [
        f"When only the seed changes ({len(stores)} baseline seeds), the {config.cls} "
        f"hotspot ranking and heat maps move this much (`{STABILITY_TEXT}`, "
        f"`napari-forgetting stability REPORT`); the baseline's consensus over the seeds is "
        f"the run `{CONSENSUS_DIR}/`:",
        "",
    ]
    lines += [f"- {r if isinstance(r, str) else r.headline()}" for r in results.values()]
    return lines


def _transfer_lines(out: Path, config: CompareConfig) -> list[str]:
    """The transfer arm's method and its measured quality, from the pools' ``pool.json``."""
    if "transfer" not in config.methods:
        return ["No transfer arm."]
    rows = []
    for seed in range(config.seeds):
        pool_file = out / POOLS_DIR / f"seed{seed}" / "pool.json"
        if not pool_file.is_file():
            continue
        from napari_forgetting.workflow.augment import read_pool_record

        rec = read_pool_record(pool_file)[1]
        q = rec.get("transfer_quality") or {}
        method = rec.get("transfer_method", "learned")
        if not q.get("measured"):
            rows.append([str(seed), method, "not measured: " + str(q.get("reason", "")),
                         "", "", "", "", "", ""])  # fmt: skip
            continue
        verdict = "meets" if q["passes"] else (
            "cannot judge (forced)" if q.get("verdict") == "cannot judge" else "below (forced)"
        )  # fmt: skip
        label = q.get("label")
        found = (
            f"{label['recall_transferred']:.2f} / {label['recall_real']:.2f}"
            + ("" if label["judged"] else " (not judged)")
            if label else "—"
        )  # fmt: skip
        rows.append(
            [str(seed), method, f"{q['inside']:.3f}", f"{q['rms_error']:.3f}"]
            + [f"{q[k]:.2f}" for k in ("lateral_noise_ratio", "lateral_closure", "repeated")]
            + [found, verdict]
        )
    if not rows:
        return ["No pool was made."]
    header = ["seed", "method", "inside (std)", "RMS error (std)", "lateral noise ratio",
              "lateral closure", "repeated traces", "baseline finds (transferred / real)",
              "bar"]  # fmt: skip
    lines = [md_table(header, rows)]
    return [
        "Measured on distinct held-out triples of the validation sections before each pool "
        "was made (`napari-forgetting transfer-quality`; the bar and its figures are in the "
        "docs' *Style transfer, measured*): |T(A) - T(B)| inside the class, the source's RMS "
        "arriving, the lateral texture against a texture-free fill and against the target's, "
        "repeated traces, and the share of the transferred and of the real class regions "
        "the seed's baseline model labels as the class.",
        "",
        *lines,
    ]
