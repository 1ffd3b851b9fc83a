"""Method comparison on dask: report rows, resumability, failures reported, transfer end to end."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from napari_forgetting.cli import main
from napari_forgetting.runs.store import RunStore
from napari_forgetting.workflow import compare as cmp
from napari_forgetting.workflow.augment import TransferBelowBar
from napari_forgetting.workflow.compare import CompareConfig, run_comparison

SHAPE = (8, 12, 32)
TRAIN = dict(
    epochs=2, batch_size=4, patch_size=[32, 32], patches_per_epoch=4, lr=3e-3, device="cpu",
    num_threads=1,
)  # fmt: skip
#: A transfer model small enough for a test (compare's default is transfer-train's).
TINY_TRANSFER = dict(epochs=1, ngf=8, style_dim=8, encoder_width=8, patch_size=[32, 32],
                     patches_per_epoch=16, eval_sections=1)  # fmt: skip
F3_DISPLAY = ["Upper North Sea", "Middle North Sea", "Lower North Sea", "Rijnland / Chalk",
              "Scruff", "Zechstein"]  # fmt: skip


def config(**kw) -> CompareConfig:
    base = dict(
        data="synthetic", shape=SHAPE, data_seed=2, methods=("baseline", "flip"), seeds=2,
        train=dict(TRAIN), retries=1,
    )  # fmt: skip
    base.update(kw)
    return CompareConfig(**base)


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """2 methods x 2 seeds through a real LocalCluster of 2 worker processes."""
    out = tmp_path_factory.mktemp("compare") / "report"
    result = run_comparison(config(), out, n_workers=2, processes=True)
    return out, result


def test_report_files_and_rows(first):
    out, result = first
    assert result.ok, result.failed
    assert sorted(result.ran) == ["baseline-seed0", "baseline-seed1", "flip-seed0", "flip-seed1"]
    assert result.skipped == []
    for name in ("report.md", "accuracy.csv", "forgetting.csv", "jobs.csv", "heatmaps.png",
                 "differences.csv", "regions.csv"):  # fmt: skip
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    acc = rows(out / "accuracy.csv")
    # test1 + test2 pooled, the held-out test volumes, then validation
    splits = ["test", "test1", "test2", "validation"]
    assert [(r["method"], r["split"]) for r in acc] == [
        (m, sp) for sp in splits for m in ("baseline", "flip")
    ]
    assert all(r["n_seeds"] == "2" for r in acc)
    assert "scruff_mean" in acc[0] and "scruff_std" in acc[0]
    ev = rows(out / "forgetting.csv")
    assert [(r["method"], r["split"]) for r in ev] == [(r["method"], r["split"]) for r in acc]
    assert "total_mean" in ev[0]
    jobs = rows(out / "jobs.csv")
    assert [(r["method"], r["seed"], r["split"], r["status"]) for r in jobs] == [
        (m, str(seed), sp, "finished")
        for m in ("baseline", "flip") for seed in (0, 1) for sp in splits
    ]  # fmt: skip
    # the means in accuracy.csv are the means of the per-seed rows
    for sp in splits:
        base = [
            float(r["acc_scruff"]) for r in jobs if (r["method"], r["split"]) == ("baseline", sp)
        ]
        row = next(r for r in acc if (r["method"], r["split"]) == ("baseline", sp))
        assert float(row["scruff_mean"]) == pytest.approx(sum(base) / 2, abs=1e-5)
    md = (out / "report.md").read_text()
    assert "## Table 1: per-class accuracy on the held-out test volumes" in md
    assert "| method | split | seeds | " + " | ".join(F3_DISPLAY) in md  # Table 1 layout
    assert "| baseline | test1 | 2 |" in md and "| flip | test2 | 2 |" in md and "±" in md
    assert "| baseline | validation | 2 |" in md
    # equal budgets: the same patches and gradient steps, the flip arm flips 30 % of them
    budgets = {
        m: RunStore.open(out / "jobs" / f"{m}-seed0").info["budget"] for m in ("baseline", "flip")
    }
    assert budgets["baseline"]["gradient_steps"] == budgets["flip"]["gradient_steps"] == 2
    assert budgets["baseline"]["patches_per_epoch"] == budgets["flip"]["patches_per_epoch"]
    assert (budgets["baseline"]["augmented_share"], budgets["flip"]["augmented_share"]) == (0, 0.3)
    assert "## Training budget per arm" in md and "| flip | 4 | 1 | 2 | flip | 30% |" in md
    assert "heatmaps.png" in md and "None." in md  # no failed jobs
    # where each run forgets most, each at its own threshold: a row per method, seed and split
    overlap = rows(out / "overlap.csv")
    assert {(r["method"], r["seed"]) for r in overlap} == {
        ("flip", "0"), ("flip", "1"), ("baseline (next seed)", "0"), ("baseline (next seed)", "1")
    }  # fmt: skip
    # (a 2-epoch run forgets little: a map with no events has no mask, its Dice is NaN)
    dice = [float(r["dice"]) for r in overlap]
    assert all(0 <= d <= 1 for d in dice if d == d) and any(d == d for d in dice)
    assert "**each at its own threshold**" in md and "| flip | validation | 2 |" in md
    # power: each contrast's MDE from the seeds run, and the seeds +0.055 would need
    assert "## What this comparison can detect" in md
    diffs = rows(out / "differences.csv")
    row = next(r for r in diffs if (r["method"], r["split"], r["quantity"]) == (
        "flip", "test", "acc_scruff"))  # fmt: skip
    assert {"sd", "mde80", "seeds_for_0.055"} <= set(row)
    line = next(x for x in md.splitlines() if x.startswith("| flip | accuracy, scruff | 2 |"))
    assert "| flip | true-class probability, scruff (primary) | 2 |" in md
    assert "**Primary endpoint**: the mean true-class probability of scruff" in md
    # the soft endpoint pooled over the test volumes: their pixels together
    got = cmp.job_metrics(out / "jobs" / "baseline-seed0")["splits"]
    store = RunStore.open(out / "jobs" / "baseline-seed0")
    tm = store.state["test_metrics"]
    k = list(store.class_names).index("scruff")
    sums = sum(tm[t]["probability_sums"][k] for t in ("test1", "test2"))
    counts = sum(tm[t]["probability_counts"][k] for t in ("test1", "test2"))
    assert got["test"]["class_probability"][k] == pytest.approx(sums / counts)
    assert 0 < got["test1"]["class_probability"][k] < 1
    # the tracked endpoint: each volume's tracked sections, the mean of its last epochs,
    # the volumes pooled by their tracked class pixels
    tracked, px = {}, {}
    for t in ("test1", "test2"):
        child = store.test(t)
        tracked[t] = np.mean([h["class_probability"][k] for h in child.history[-10:]])
        px[t] = sum(int((lab == k).sum()) for lab in child.all_map_labels())
        assert got[t]["tracked_probability"][k] == pytest.approx(tracked[t])
    pooled = sum(tracked[t] * px[t] for t in px) / sum(px.values())
    assert got["test"]["tracked_probability"][k] == pytest.approx(pooled)
    one = cmp.job_metrics(out / "jobs" / "baseline-seed0", last_k=1)["splits"]["test1"]
    last = store.test("test1").history[-1]["class_probability"][k]
    assert one["tracked_probability"][k] == pytest.approx(last)
    assert any(r["quantity"] == "tracked_scruff" for r in diffs)
    sd = float(row["sd"])
    assert (f"| {sd:.3f} |" in line) if math.isfinite(sd) else ("| — |" in line)
    assert (out / "heatmaps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in result.ran:
        store = RunStore.open(out / "jobs" / name)
        assert store.status == "finished" and store.n_epochs == 2
        assert store.train_config["augment"] == ("flip" if name.startswith("flip") else "none")
        assert store.info["source"]["kind"] == "synthetic"  # workers reopened the data


def test_job_metrics_events_per_class_by_hand(first):
    out, _ = first
    # the job that forgot most (so that the sums are not trivially equal)
    path = max(
        (out / "jobs").iterdir(),
        key=lambda p: sum(s["total_events"] for s in cmp.job_metrics(p)["splits"].values()),
    )
    got = cmp.job_metrics(path)
    store = RunStore.open(path)
    assert set(got["splits"]) == {"validation", "test", "test1", "test2"} and got["epochs"] == 2
    # "test" pools every test pixel: its events are the sum, its accuracy the pooled one
    both = [store.state["test_metrics"][n] for n in ("test1", "test2")]
    confusion = np.add(both[0]["confusion"], both[1]["confusion"])
    diag, true = np.diag(confusion), confusion.sum(axis=1)
    np.testing.assert_allclose(
        got["splits"]["test"]["class_accuracy"],
        np.where(true > 0, diag / np.maximum(true, 1), np.nan),
    )
    np.testing.assert_array_equal(
        got["splits"]["test"]["events"],
        got["splits"]["test1"]["events"] + got["splits"]["test2"]["events"],
    )
    for split, run in [("validation", store), *[(n, store.test(n)) for n in store.test_names]]:
        by_hand = [0.0] * store.n_classes
        for i in range(len(run.map_sections)):
            counts, labels = run.map("forgetting_events", i), run.map_labels(i)
            for k in range(store.n_classes):
                by_hand[k] += float(counts[labels == k].sum())
        assert list(got["splits"][split]["events"]) == by_hand
        assert got["splits"][split]["total_events"] == sum(by_hand)
    assert sum(s["total_events"] for s in got["splits"].values()) > 0
    # test accuracy: the evaluation of all the test volume's sections after the last epoch
    test1 = store.state["test_metrics"]["test1"]
    assert got["splits"]["test1"]["class_accuracy"] == test1["class_accuracy"]
    assert test1["n_sections"] == sum(test1["shape"][:2])  # every inline and crossline


def test_paired_differences_and_their_intervals_by_hand(first):
    out, _ = first
    jobs = rows(out / "jobs.csv")
    diffs = rows(out / "differences.csv")
    assert {r["method"] for r in diffs} == {"flip"}  # only methods against the baseline
    for sp in ("test", "test1", "validation"):
        for q in ("acc_scruff", "mean_class_accuracy", "events_total", "events_scruff"):
            per_seed = {(r["method"], r["seed"]): float(r[q]) for r in jobs if r["split"] == sp}
            d = np.array([per_seed[("flip", s)] - per_seed[("baseline", s)] for s in "01"])
            row = next(r for r in diffs if (r["split"], r["quantity"]) == (sp, q))
            if not np.isfinite(d).all():
                continue
            half = 12.706 * d.std(ddof=1) / np.sqrt(2)  # t(0.975, 1 dof)
            assert row["n_seeds"] == "2"
            assert float(row["mean"]) == pytest.approx(d.mean(), abs=1e-5)
            assert float(row["ci95_high"]) - float(row["ci95_low"]) == pytest.approx(
                2 * half, rel=1e-4, abs=1e-5
            )
    md = (out / "report.md").read_text()
    assert "## Differences from the baseline, paired by seed" in md
    assert "| flip | test | 2 |" in md
    assert "## The baseline's high-density forgetting regions under each method" in md
    assert "baseline (next seed)" in md or "No baseline regions" in md


def test_a_test_volume_without_the_class_is_named_not_pooled_silently():
    # issue 31: another geology's test2 may hold no Scruff; the report says so
    names = ["upper", "scruff"]
    per_job = {("baseline", 0): {"class_pixels": {"test1": [10, 5], "test2": [12, 0]}}}
    line = cmp.absent_classes(per_job, names, "scruff")[0]
    assert "**scruff is absent from test2** (0 pixels)" in line
    assert "`test` is test1's scruff alone" in line
    per_job[("baseline", 0)]["class_pixels"]["test1"] = [10, 0]
    assert "no test volume holds scruff" in cmp.absent_classes(per_job, names, "scruff")[0]
    per_job[("baseline", 0)]["class_pixels"] = {"test1": [1, 3], "test2": [2, 4]}
    assert cmp.absent_classes(per_job, names, "scruff") == []


def test_the_minimum_detectable_effect_and_the_seeds_an_effect_needs():
    # issue 31's figure: 3 seeds of paired SD 0.2 detect only ~0.7 (t 4.30 + 1.06 = 5.36
    # times 0.2 / sqrt 3 = 0.62); the paper's +0.055 would need over a hundred seeds
    from scipy import stats

    diffs = [0.1, 0.3, -0.1]
    sd, mde, need = cmp.detectable(diffs)
    assert sd == pytest.approx(0.2)
    t = stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)
    assert mde == pytest.approx(t * 0.2 / 3**0.5)
    assert 0.5 < mde < 0.7
    # the seeds needed: the first n whose MDE reaches 0.055 (and n - 1 does not)
    n = int(need)
    t_n = stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)
    t_before = stats.t.ppf(0.975, n - 2) + stats.t.ppf(0.8, n - 2)
    assert t_n * 0.2 / n**0.5 <= 0.055 < t_before * 0.2 / (n - 1) ** 0.5
    assert 100 < n < 110
    assert all(math.isnan(v) for v in cmp.detectable([0.3]))
    assert cmp.detectable([0.1, 0.1]) == (0.0, 0.0, 2.0)


def test_paired_interval_is_the_student_t_interval():
    mean, low, high = cmp.paired_interval([0.1, 0.3, 0.2])
    assert mean == pytest.approx(0.2)
    assert high - mean == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-6)
    assert mean - low == pytest.approx(high - mean)
    one = cmp.paired_interval([0.5, float("nan")])
    assert one[0] == 0.5 and np.isnan(one[1]) and np.isnan(one[2])
    assert all(np.isnan(v) for v in cmp.paired_interval([]))


def test_rerun_skips_finished_jobs(first):
    out, _ = first
    stamps = {p: p.stat().st_mtime_ns for p in (out / "jobs").glob("*/state.json")}
    assert len(stamps) == 4
    again = run_comparison(config(), out, sequential=True)  # no cluster needed: nothing to run
    assert again.ran == [] and again.ok
    assert sorted(again.skipped) == ["baseline-seed0", "baseline-seed1", "flip-seed0", "flip-seed1"]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not retrained
    assert [r["method"] for r in rows(out / "accuracy.csv")] == ["baseline", "flip"] * 4
    # the CLI on the finished folder: everything skipped, exit 0
    argv = ["compare", "--data", "synthetic", "--shape", *map(str, SHAPE), "--data-seed", "2",
            "--methods", "baseline,flip", "--seeds", "2", "--epochs", "2", "--out", str(out),
            "--batch-size", "4", "--patch", "32", "32", "--patches-per-epoch", "4",
            "--lr", "0.003", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_a_learned_transfer_below_the_bar_stops_the_comparison_before_any_job(tmp_path):
    """Not forced, the learned model the comparison trains is trained and measured first:
    below the bar (here: not even measurable) the comparison stops with one line before any
    segmentation job; forced, it trains as a job beside the others (the test below)."""
    from napari_forgetting.workflow.augment import TransferBelowBar

    cfg = config(methods=("baseline", "transfer"), seeds=1, transfer_method="learned",
                 transfer={"epochs": 0}, n_sources=1, per_source=1)  # fmt: skip
    said: list[str] = []
    with pytest.raises(TransferBelowBar, match="its quality cannot be measured here") as info:
        run_comparison(cfg, tmp_path, n_workers=1, processes=False, log=said.append)
    assert "\n" not in str(info.value)
    assert said[0].startswith("transfer model: trained before the segmentation jobs")
    assert (tmp_path / cmp.TRANSFER_DIR / "checkpoint.pt").is_file()
    assert not (tmp_path / cmp.JOBS_DIR).exists()  # no segmentation job ran
    assert not any(line.startswith("jobs to run") for line in said)


def test_failed_job_is_retried_and_reported(tmp_path, monkeypatch):
    """Baseline training raises (in-process threads cluster, so the patch reaches the worker):
    it is retried, then reported; the transfer job that needs it is reported too."""
    attempts = []
    real_fit = cmp.jobs._fit

    def failing_fit(trainer):
        if trainer.config.augment == "none" and not trainer.extra_pool:
            attempts.append(1)
            raise RuntimeError("injected failure")
        real_fit(trainer)

    monkeypatch.setattr(cmp.jobs, "_fit", failing_fit)
    cfg = config(
        methods=("baseline", "flip", "transfer"), seeds=1, retries=1, transfer_method="learned",
        transfer={"epochs": 0}, n_sources=1, per_source=1, force=True,
    )  # fmt: skip
    said: list[str] = []
    result = run_comparison(cfg, tmp_path, n_workers=2, processes=False, log=said.append)
    assert len(attempts) == 2  # one retry
    # each job's end is said as it comes, on the cluster as sequentially: k/N, its fate
    ends = [line for line in said if line.startswith("[")]
    assert [line.split("]")[0] for line in ends] == [f"[{k}/4" for k in range(1, 5)]
    assert {line.split()[1:3][1] for line in ends} == {
        "baseline-seed0", "transfer-seed0", "flip-seed0", "transfer-model"}  # fmt: skip
    assert any(line.split()[1:3] == ["FAILED", "baseline-seed0"] for line in ends)
    assert any(line.split()[1:3] == ["finished", "flip-seed0"] for line in ends)
    assert set(result.failed) == {"baseline-seed0", "transfer-seed0"}
    assert "injected failure" in result.failed["baseline-seed0"]
    assert "dependency failed: baseline-seed0" in result.failed["transfer-seed0"]
    assert "flip-seed0" in result.ran and "transfer-model" in result.ran
    md = (tmp_path / "report.md").read_text()
    assert "`baseline-seed0`: RuntimeError: injected failure (after 2 attempts)" in md
    assert "`transfer-seed0`: dependency failed" in md
    jobs = {(r["method"], r["status"]) for r in rows(tmp_path / "jobs.csv")}
    assert jobs == {("baseline", "failed"), ("flip", "finished"), ("transfer", "failed")}
    assert main(["compare", "--data", "synthetic", "--out", str(tmp_path / "x"),
                 "--methods", "baseline,bogus"]) == 2  # fmt: skip


def test_a_cluster_starts_the_transfer_model_first_then_the_baselines(tmp_path):
    """The jobs of a whole comparison, their functions replaced by recorders, on one
    single-threaded worker: the transfer model (the longest chain's head) starts first, then
    the baselines, although build_jobs lists them first; a transfer job still waits for its
    dependencies."""
    from distributed import Client, LocalCluster

    cfg = config(methods=cmp.METHODS, seeds=2, transfer_method="learned")
    jobs, _ = cmp.build_jobs(cfg, tmp_path, {"kind": "synthetic"}, 6)
    assert [j.name for j in jobs][:2] == ["baseline-seed0", "baseline-seed1"]  # submission
    log = tmp_path / "started.txt"  # tasks are serialised even in-process: a file, not a list

    def recorder(name):
        def run(**kwargs):
            with open(log, "a") as f:
                f.write(name + "\n")
            return {"name": name, "path": str(tmp_path / name)}

        return run

    for job in jobs:
        job.func = recorder(job.name)
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        ran, failed = cmp.scheduling._run_dask(jobs, 0, client)
    assert not failed and sorted(ran) == sorted(j.name for j in jobs)
    started = log.read_text().split()
    # the worker may hold one queued task ahead (dask's worker saturation), so after the
    # first three only the dependencies are exact
    # (two ready jobs of one priority may start in either order: the baselines' is not fixed)
    assert started[0] == "transfer-model"
    assert sorted(started[1:3]) == ["baseline-seed0", "baseline-seed1"]
    for k in (0, 1):
        assert started.index(f"transfer-seed{k}") > started.index(f"baseline-seed{k}")
    assert sorted(started) == sorted(j.name for j in jobs)


def test_transfer_method_end_to_end(tmp_path):
    """baseline -> transfer model (1 epoch, trained once as a job) -> pool -> training."""
    cfg = config(
        methods=("baseline", "transfer"), seeds=1, transfer=TINY_TRANSFER,
        transfer_method="learned", n_sources=2, per_source=2, train={**TRAIN, "epochs": 1},
        force=True, min_pixels=0,
    )  # fmt: skip
    result = run_comparison(cfg, tmp_path, n_workers=2, processes=False)
    assert result.ok, result.failed
    assert sorted(result.ran) == ["baseline-seed0", "transfer-model", "transfer-seed0"]
    store = RunStore.open(tmp_path / "jobs" / "transfer-seed0")
    assert store.status == "finished"
    assert store.info["parent"].endswith("baseline-seed0")
    pool = store.info["augmented_pool"]
    assert pool["class"] == "scruff" and pool["count"] == 4
    assert pool["transfer_checkpoint"].endswith("transfer_model/checkpoint.pt")
    acc = rows(tmp_path / "accuracy.csv")
    assert [(r["method"], r["split"]) for r in acc][:2] == [
        ("baseline", "test"), ("transfer", "test")
    ]  # fmt: skip
    # the transfer arm is evaluated on the same held-out test volumes (one retrain path)
    assert sorted(store.state["test_metrics"]) == ["test1", "test2"]
    # ... and trains as much as the baseline: the pool is 30 % of the draws, not extra ones
    base = RunStore.open(tmp_path / "jobs" / "baseline-seed0").info["budget"]
    assert store.info["budget"]["patches_per_epoch"] == base["patches_per_epoch"]
    assert store.info["budget"]["gradient_steps"] == base["gradient_steps"]
    assert store.info["budget"]["augmentation"] == "pool"
    assert store.info["budget"]["augmented_share"] == 0.3
    again = run_comparison(cfg, tmp_path, sequential=True)
    assert again.ran == [] and set(again.skipped) == set(result.ran)
    # the one-epoch model was measured before its pool was made, and went on forced
    quality = pool["transfer_quality"]
    assert pool["transfer_method"] == "learned" and quality["measured"] and quality["forced"]
    md = (tmp_path / "report.md").read_text()
    assert "## The transfer method" in md and "below (forced)" in md
    assert f"{quality['inside']:.3f}" in md


def test_a_transfer_below_the_bar_is_refused_before_any_training(tmp_path, capsys):
    assert config().transfer_method == "learned"  # trains its own model
    cfg = config(methods=("baseline", "transfer"), seeds=1, transfer_method="stratal")
    with pytest.raises(TransferBelowBar, match="cannot be measured"):
        run_comparison(cfg, tmp_path / "a", sequential=True)
    assert not (tmp_path / "a" / "jobs").exists()
    argv = ["compare", "--data", "synthetic", "--shape", *map(str, SHAPE), "--data-seed", "2",
            "--methods", "baseline,transfer", "--out", str(tmp_path / "b"),
            "--transfer-method", "stratal", "--sequential"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "its quality cannot be measured here" in err[0]
    assert "--force" in err[0]
    with pytest.raises(ValueError, match="unknown transfer method"):
        config(transfer_method="sean")
    with pytest.raises(ValueError, match="takes no checkpoint"):
        config(transfer_method="stratal", transfer_checkpoint="x.pt")


def test_absent_class_is_reported_absent_not_nan():
    """A class missing from a split (Zechstein in a small test2) has no accuracy: its mean is
    NaN in the CSV without a RuntimeWarning, and the report says 'absent'."""
    import math
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, std = cmp.paired.mean_std([float("nan"), float("nan")])
        assert math.isnan(mean) and math.isnan(std)
        assert cmp.paired.mean_std([0.5, float("nan"), 0.7]) == pytest.approx(
            (0.6, 0.1414213562)
        )
        assert cmp.paired.mean_std([0.25]) == (0.25, 0.0)
    assert cmp.tables.pm_text(mean, std) == "absent"
    assert cmp.tables.pm_text(0.5, 0.25) == "0.500 ± 0.250"


@pytest.mark.timeout(900)  # a whole comparison and its resume: past 300 s on a loaded machine
def test_tiny_preset_end_to_end_and_a_resumed_run_gives_the_same_report(tmp_path, capsys):
    """`compare --preset tiny`: every method (the controls too), the transfer model trained
    as a job; a run
    stopped after some jobs and started again reuses them and writes the same report."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert main(["compare", "--preset", "tiny", "--out", str(whole), "--sequential"]) == 0
    # an interrupted run: only the baseline and flip jobs finished, the rest never started
    argv = ["compare", "--preset", "tiny", "--out", str(resumed), "--sequential"]
    assert main([*argv, "--methods", "baseline,flip"]) == 0
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (
        "already finished, skipped: baseline-seed0, baseline-seed1, flip-seed0, flip-seed1" in err
    )
    def untimed(path):  # the Time section is the clock's, not the jobs'
        text = path.read_text()
        if "## Time" not in text:
            return text
        head, tail = text.split("## Time", 1)
        return head + tail[tail.index("## Failed jobs"):]

    for name in ("report.md", "accuracy.csv", "forgetting.csv", "differences.csv", "regions.csv",
                 "jobs.csv"):  # fmt: skip
        assert untimed(resumed / name) == untimed(whole / name), name
    md_resumed = (resumed / "report.md").read_text()
    said = re.search(r"This invocation: [\d.]+ min wall for (\d+) job\(s\) run \((\d+) finished "
                     r"before, skipped\)", md_resumed)  # fmt: skip
    assert said and int(said[1]) > 0 and int(said[2]) >= 4  # the baseline and flip jobs
    assert "| baseline | 2 | " in md_resumed.split("## Time", 1)[1]
    md = (whole / "report.md").read_text()
    assert "Preset: `tiny`" in md
    for method in cmp.METHODS[1:]:
        assert f"| {method} | test | 2 |" in md
    jobs = rows(whole / "jobs.csv")
    assert {r["method"] for r in jobs} == set(cmp.METHODS)
    assert all(r["status"] == "finished" for r in jobs)
    # the null controls move one stream each: reinit the weights, redraw the draws
    cfgs = {m: RunStore.open(whole / "jobs" / f"{m}-seed1").train_config
            for m in ("baseline", "reinit", "redraw")}  # fmt: skip
    assert (cfgs["baseline"].get("init_seed"), cfgs["baseline"].get("draw_seed")) == (None, None)
    assert (cfgs["reinit"]["init_seed"], cfgs["reinit"].get("draw_seed")) == (1001, None)
    assert (cfgs["redraw"].get("init_seed"), cfgs["redraw"]["draw_seed"]) == (None, 1001)
    # they are the fates' control: no next-seed baseline beside them
    assert {r["method"] for r in rows(whole / "overlap.csv")} == set(cmp.METHODS[1:])
    # consensus-sources: the hotspots of the baseline's consensus over both seeds
    from napari_forgetting.runs.consensus import consensus_record

    record = consensus_record(RunStore.open(whole / "consensus"))
    assert sorted(record["seeds"]) == [0, 1]
    cons = json.loads((whole / "pools" / "consensus-sources-seed0" / "pool.json").read_text())
    assert cons["sources"] and Path(cons["parent_run"]).resolve() == (whole / "consensus").resolve()
    assert set(cons["sources"]) <= set(cmp.style_sources(whole, 0))  # left out of validation
    assert "| transfer - consensus-sources | " in md
    # the controls for the mechanism, and the contrasts the paper's claim needs
    from napari_forgetting.workflow.augment import load_pool

    hot, same = load_pool(whole / "pools" / "seed0"), load_pool(whole / "pools" / "identity-seed0")
    assert [i.target for i in same.items] == [i.target for i in hot.items]  # the same targets
    volume_img = {i.target: i.image for i in same.items}
    from napari_forgetting.data.sections import Section, section_image
    from napari_forgetting.data.source import open_source

    vol = open_source(RunStore.open(whole / "jobs" / "baseline-seed0").info["source"])
    for key, image in volume_img.items():  # untransferred: the target itself
        np.testing.assert_array_equal(image, section_image(vol, Section.from_key(key, vol)))
    rand = json.loads((whole / "pools" / "random-sources-seed0" / "pool.json").read_text())
    assert rand["transfer_quality"]["measured"] is not None and rand["sources"]
    contrasts = {r["method"] for r in rows(whole / "differences.csv")}
    assert {"transfer - identity", "transfer - random-sources"} <= contrasts
    assert "| transfer - identity | " in md
    pool = json.loads((whole / "pools" / "seed0" / "pool.json").read_text())
    assert pool["transfer_method"] == "learned" and pool["transfer_quality"]["forced"]
    # no contamination: the pool's style sources are left out of every arm's validation
    # figures of that seed, recomputed from the stored predictions
    sources = cmp.style_sources(whole, 0)
    assert sources and set(sources) <= {s.key for s in RunStore.open(
        whole / "jobs" / "transfer-seed0").eval_sections}  # fmt: skip
    got = cmp.job_metrics(whole / "jobs" / "transfer-seed0", sources)
    store = RunStore.open(whole / "jobs" / "transfer-seed0")
    kept = [s for s in store.eval_sections if s.key not in sources]
    assert got["validation_sections"] == [len(kept), len(store.eval_sections)]
    from napari_forgetting.model.metrics import ConfusionMatrix

    cm = ConfusionMatrix(store.n_classes)
    for s in kept:
        cm.update(store.labels(s), store.prediction(s))
    assert got["splits"]["validation"]["class_accuracy"] == pytest.approx(
        cm.compute()["class_accuracy"], nan_ok=True)  # fmt: skip
    assert f"{len(kept)} of {len(store.eval_sections)}" in md.split("read on ", 1)[1][:40]
    # the report's transfer table: the judged figures and the seed's baseline model's labels
    label = pool["transfer_quality"]["label"]
    assert label["model"] == str(whole / "jobs" / "baseline-seed0" / "checkpoint.pt")
    row = next(line for line in md.splitlines() if line.startswith("| 0 | learned |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == f"{pool['transfer_quality']['inside']:.3f}"
    assert cells[7].startswith(f"{label['recall_transferred']:.2f} / {label['recall_real']:.2f}")
    assert cells[8] in ("below (forced)", "cannot judge (forced)")


def test_presets_are_configs_and_options_beside_them_win():
    lite = cmp.preset_config("cpu-lite")
    assert lite.preset == "cpu-lite" and lite.seeds == 3 and lite.shape == (32, 64, 128)
    assert lite.methods == cmp.METHODS and lite.transfer_method == "learned"
    assert lite.transfer == {}  # transfer-train's defaults: the model measured above the bar
    paper = cmp.preset_config("paper")
    assert (paper.shape, paper.seeds, paper.train["epochs"]) == ((401, 701, 255), 5, 60)
    assert (paper.n_sources, paper.per_source) == (6, 64)
    mine = cmp.preset_config("cpu-lite", seeds=2, train={"epochs": 3})
    assert mine.seeds == 2 and mine.train["epochs"] == 3 and mine.train["batch_size"] == 8
    assert cmp.PRESETS["cpu-lite"]["train"]["epochs"] != 3  # the table is not changed
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        cmp.preset_config("huge")
    decide = cmp.preset_config("cpu-decide")
    assert (decide.primary, decide.last_k, decide.transfer_method) == ("tracked", 30, "stratal")
    assert {"identity", "random-sources", "consensus-sources", "reinit"} <= set(decide.methods)
    assert decide.seeds == 4 and decide.min_pixels == 128 and decide.train["epochs"] == 40
    with pytest.raises(ValueError, match="primary must be one of"):
        cmp.preset_config("cpu-decide", primary="accuracy")
    with pytest.raises(ValueError, match="consensus over 2 or more seeds"):
        cmp.preset_config("cpu-decide", seeds=1)


def test_cli_preset_options_and_defaults(tmp_path, monkeypatch):
    seen = {}

    def fake(config, out, **kw):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(cmp, "run_comparison", fake)
    with pytest.raises(SystemExit):
        main(["compare", "--preset", "cpu-lite", "--out", str(tmp_path), "--seeds", "2",
              "--epochs", "60"])  # fmt: skip
    c = seen["config"]
    assert c.preset == "cpu-lite" and c.seeds == 2
    assert c.train["epochs"] == 60  # given, though it is the option's own default
    assert c.train["patch_size"] == [64, 64] and c.n_sources == 6
    with pytest.raises(SystemExit):
        main(["compare", "--data", "synthetic", "--out", str(tmp_path)])
    c = seen["config"]
    assert c.preset is None and c.seeds == 5 and c.train["epochs"] == 60
    assert c.train["patch_size"] == [128, 128] and c.n_sources == 6 and not c.force
    assert main(["compare", "--out", str(tmp_path)]) == 2  # neither --data nor --preset
    with pytest.raises(SystemExit):  # a preset's transfer method and endpoint stay its own
        main(["compare", "--preset", "cpu-decide", "--out", str(tmp_path)])
    c = seen["config"]
    assert (c.transfer_method, c.primary, c.last_k) == ("stratal", "tracked", 30)
    with pytest.raises(SystemExit):
        main(["compare", "--preset", "cpu-decide", "--out", str(tmp_path), "--primary",
              "probability", "--last-k", "5", "--transfer-method", "learned",
              "--force"])  # fmt: skip
    c = seen["config"]
    assert (c.transfer_method, c.primary, c.last_k) == ("learned", "probability", 5)


def test_comparison_maps_give_each_method_s_map_of_a_section_and_the_report_s_regions(first):
    """The Fig. 5 panels (heatmaps.png, the Compare dock) read back the report's runs: each
    method's events on a section, one scale, the baseline's regions at regions.csv's
    threshold of that seed and split."""
    from napari_forgetting.dynamics.regions import high_density_regions
    from napari_forgetting.runs.store import RunStore
    from napari_forgetting.workflow.compare import region_fate_table
    from napari_forgetting.workflow.compare.maps import ComparisonMaps

    out, _ = first
    assert json.loads((out / "compare.json").read_text()) == {
        "class": "scruff", "methods": ["baseline", "flip"], "seeds": 2,
        "min_pixels": config().min_pixels}  # fmt: skip
    maps = ComparisonMaps(out)
    assert (maps.methods, maps.seeds, maps.cls) == (["baseline", "flip"], [0, 1], "scruff")
    assert maps.min_pixels == config().min_pixels  # the Compare dock ranks with the report's
    assert maps.splits == ["validation", "test1", "test2"]
    per_job = {(m, s): None for m in maps.methods for s in maps.seeds}
    _, thresholds = region_fate_table(out, config(), per_job)
    for split in maps.splits:
        for seed in (0, 1):
            assert maps.threshold(seed, split) == thresholds[(seed, split)]
        key = maps.sections(split)[-1]
        panel = maps.panel(split, key, seed=1)
        assert panel.seeds == {"baseline": 1, "flip": 1}
        for method in maps.methods:
            store = RunStore.open(out / "jobs" / f"{method}-seed1")
            store = store if split == "validation" else store.test(split)
            np.testing.assert_array_equal(panel.maps[method], store.map("forgetting_events", key))
            np.testing.assert_array_equal(panel.labels, store.map_labels(key))
        assert panel.vmax == max(1.0, max(float(m.max()) for m in panel.maps.values()))
        expected, _ = high_density_regions(panel.maps["baseline"], thresholds[(1, split)])
        np.testing.assert_array_equal(panel.regions, expected)
    assert maps.panel("validation", maps.sections("validation")[0]).seeds == {
        "baseline": 0,
        "flip": 0,
    }  # fmt: skip  (default: each method's lowest finished seed)
    with pytest.raises(KeyError, match="inline:999"):
        maps.panel("validation", "inline:999")


def test_comparison_maps_refuse_a_folder_that_is_not_a_report(tmp_path):
    from napari_forgetting.runs.store import RunStoreError
    from napari_forgetting.workflow.compare.maps import ComparisonMaps

    with pytest.raises(RunStoreError, match="not a comparison report"):
        ComparisonMaps(tmp_path)
    (tmp_path / "jobs" / "baseline-seed0").mkdir(parents=True)  # no finished run in it
    with pytest.raises(RunStoreError, match="no finished run"):
        ComparisonMaps(tmp_path)


def test_the_dask_dashboard_address_is_said_when_it_can_run(monkeypatch):
    from types import SimpleNamespace

    from napari_forgetting.workflow.compare import scheduling as module

    client = SimpleNamespace(dashboard_link="http://127.0.0.1:8787/status")
    monkeypatch.setattr(module, "dashboard_available", lambda: True)
    assert module.dashboard_line(client) == "dask dashboard: http://127.0.0.1:8787/status"
    said = []
    module._say_dashboard(client, said.append)
    assert said == ["dask dashboard: http://127.0.0.1:8787/status"]
    monkeypatch.setattr(module, "dashboard_available", lambda: False)  # bokeh not installed
    assert "pip install bokeh" in module.dashboard_line(client)


def test_the_job_runner_s_options_are_defined_once():
    """``Execution`` holds where jobs run: the runners take its fields (an unknown one is
    refused before anything runs) and the command line's ``--workers`` starts at its
    default."""
    from napari_forgetting.cli import build_parser

    with pytest.raises(TypeError, match="n_worker"):
        cmp.run_jobs([], 0, n_worker=3)
    with pytest.raises(TypeError, match="sequentially"):
        cmp.run_comparison(config(), "unused", sequentially=True)
    for command in ("compare", "consensus"):
        args = build_parser().parse_args([command, "--out", "o"])
        assert args.workers == cmp.Execution.n_workers
