"""``napari-forgetting stability`` and ``consensus``: figures, refusals, the consensus run."""

from __future__ import annotations

import json

import numpy as np

from hotspot_run import EVENTS, SECTIONS, make_run
from napari_forgetting.cli import main


def _seeds(tmp_path, n=3):
    runs = []
    for s in range(n):
        events = [e + (s * np.arange(e.size).reshape(e.shape) % 3) for e in EVENTS]
        runs.append(make_run(tmp_path / f"s{s}", events=events, train_config={"seed": s}))
    return runs


def test_stability_prints_every_figure_and_writes_json(tmp_path, capsys):
    runs = _seeds(tmp_path)
    out_json = tmp_path / "stab.json"
    args = ["stability", *(str(r.path) for r in runs), "--class", "b", "--min-pixels", "1",
            "--top", "2", "--json", str(out_json), "--record"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    for figure in ("Spearman, mean over pairs", "Kendall tau-b", "top-2 Jaccard", "chance",
                   "each run vs mean of the others", "split-half", "seeds a consensus needs",
                   "class ", "interior", "all ", "P(top 2)", "few sections"):  # fmt: skip
        assert figure in out, figure
    record = json.loads(out_json.read_text())  # strict JSON
    assert record["seeds"] == [0, 1, 2] and len(record["per_section"]) == 3
    # recorded: a single run's ranking now quotes the measurement
    assert main(["rank", str(runs[0].path), "--class", "b", "--min-pixels", "1"]) == 0
    assert "measured over 3 seeds" in capsys.readouterr().out


def test_stability_refuses_runs_that_differ_in_more_than_the_seed(tmp_path, capsys):
    runs = _seeds(tmp_path, 2)
    other = make_run(tmp_path / "other", train_config={"seed": 9, "lr": 0.5})
    assert main(["stability", str(runs[0].path), str(other.path), "--min-pixels", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "differs from" in err[0] and "train_config.lr" in err[0]
    assert main(["stability", str(runs[0].path), "--min-pixels", "1"]) == 2
    assert "at least 2 runs" in capsys.readouterr().err
    assert main(["stability", str(tmp_path / "nothing")]) == 2
    assert "neither a run folder" in capsys.readouterr().err


def test_a_uniform_ranking_is_not_selected_as_style_sources(tmp_path, capsys):
    flat = make_run(tmp_path / "flat", events=[np.zeros(s.shape, int) for s in SECTIONS])
    assert main(["rank", str(flat.path), "--class", "b", "--min-pixels", "1"]) == 0
    out = capsys.readouterr().out
    assert "never learned or never forgotten" in out and "crossline 301" not in out
    assert main(["rank", str(flat.path), "--class", "b", "--min-pixels", "1", "--select"]) == 2
    assert "--select: all 3 ranked sections" in capsys.readouterr().err


def test_consensus_trains_seeds_once_and_writes_a_rankable_run(tmp_path, capsys):
    out = tmp_path / "cons"
    args = ["consensus", "--preset", "tiny", "--seeds", "2", "--out", str(out),
            "--min-pixels", "1", "--sequential"]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "ran 2, skipped 0 finished, failed 0" in text
    assert (out / "consensus" / "run.json").is_file() and (out / "stability.json").is_file()
    info = json.loads((out / "consensus" / "run.json").read_text())
    assert info["consensus"]["seeds"] == [0, 1] and "agreement" in info["maps"]
    assert info["train_config"]["seed"] is None
    # the preset's 2 epochs x 4 patches spread over twice the snapshots (3 does not divide 4)
    assert (info["train_config"]["epochs"], info["train_config"]["patches_per_epoch"]) == (4, 2)
    # a rerun trains nothing and rebuilds the consensus
    assert main(args) == 0
    assert "ran 0, skipped 2 finished" in capsys.readouterr().out
    assert main(["rank", str(out / "consensus"), "--class", "scruff", "--min-pixels", "1"]) == 0
    assert "consensus of 2 seeds (0, 1)" in capsys.readouterr().out
    # a single run quotes the measurement of its configuration it is pointed at
    seed_run = str(out / "jobs" / "baseline-seed1")
    rank = ["rank", seed_run, "--class", "scruff", "--min-pixels", "1", "--stability"]
    assert main([*rank, str(out)]) == 0
    assert f"seeds of this configuration (validation, in {out})" in capsys.readouterr().out
    assert main([*rank, str(tmp_path)]) == 2  # no measurement there
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0], err
    # the folder is a stability argument too
    assert main(["stability", str(out), "--min-pixels", "1", "--split", "all"]) == 0
    capsys.readouterr()
    # the consensus feeds augment and a comparison's transfer arm like any run
    pool = tmp_path / "pool"
    assert main(["augment", str(out / "consensus"), "--sources", "1", "--per-source", "2",
                 "--transfer-method", "stratal", "--min-pixels", "1", "--force",
                 "--out", str(pool)]) == 0  # fmt: skip
    manifest = json.loads((pool / "pool.json").read_text())
    assert manifest["parent_run"].endswith("consensus")
    report = tmp_path / "report"
    compare = ["compare", "--preset", "tiny", "--seeds", "1", "--methods", "baseline,transfer",
               "--transfer-method", "stratal", "--sources-from", str(out / "consensus"),
               "--out", str(report), "--sequential"]  # fmt: skip
    assert main(compare) == 0
    pool_record = json.loads((report / "pools" / "seed0" / "pool.json").read_text())
    assert pool_record["parent_run"].endswith("consensus")
    capsys.readouterr()
    # a consensus of other data is refused before any training
    other = [*compare[:-3], "--data-seed", "5", "--out", str(tmp_path / "r2"), "--sequential"]
    assert main(other) == 2
    err = capsys.readouterr().err
    assert "--sources-from" in err and "is not the comparison's" in err
    assert not (tmp_path / "r2" / "jobs").exists()


def test_snapshots_spread_the_same_gradient_steps_over_more_epochs():
    from napari_forgetting.workflow.consensus import spread_snapshots

    cpu_lite = {"epochs": 16, "patches_per_epoch": 96, "batch_size": 8}
    train, f = spread_snapshots(cpu_lite, 3)
    assert f == 3 and train == {"epochs": 48, "patches_per_epoch": 32, "batch_size": 8}
    assert spread_snapshots({"epochs": 2, "patches_per_epoch": 4}, 3)[1] == 2  # a divisor
    assert spread_snapshots({"epochs": 2, "patches_per_epoch": 7}, 3)[1] == 1
    assert spread_snapshots({"epochs": 60}, 3) == ({"epochs": 60}, 1)  # patches not set
