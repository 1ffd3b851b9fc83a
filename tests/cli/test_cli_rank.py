"""``napari-forgetting rank`` on the hand-made run of ``hotspot_run.py``."""

from __future__ import annotations

from napari_forgetting.cli import main
from napari_forgetting.runs.hotspots import (
    Ranking,
    load_style_sources,
)

#: The hand-made run's sections hold a few pixels of each class: rank them all.
ALL = ("--min-pixels", "0")


def test_cli_rank_prints_the_table(hotspot_run, capsys):
    assert main(["rank", str(hotspot_run.path), "--class", "b", "--top", "2", *ALL]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "class b (id 1), statistic forgetting, epoch 2/2" in out[0]
    assert "3 of 4 mapped sections hold the class" in out[0]
    # one seed, and nothing measured of its configuration: the ranking says so
    assert out[1].startswith("one seed") and "no stability measurement" in out[1]
    assert out[2].split() == ["rank", "section", "density", "class", "pixels", "events"]
    assert out[3].split() == ["1", "crossline", "301", "1.0000", "8", "8"]
    assert out[4].split() == ["2", "inline", "100", "0.8000", "5", "4"]
    assert len(out) == 5
    assert main(["rank", str(hotspot_run.path), "--class", "1", "--top", "2", *ALL]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == out[1:]


def test_cli_rank_csv_select_stat_and_epoch(hotspot_run, tmp_path, capsys):
    csv_path = tmp_path / "out.csv"
    args = [
        "rank",
        str(hotspot_run.path),
        "--class",
        "b",
        "--top",
        "1",
        "--csv",
        str(csv_path),
        *ALL,
    ]
    assert main([*args, "--select"]) == 0
    out = capsys.readouterr().out
    assert "style sources (b): crossline:301" in out
    assert len(Ranking.from_csv(csv_path)) == 3  # the CSV holds the whole ranking
    assert load_style_sources(hotspot_run.path).sections == ("crossline:301",)
    assert main(["rank", str(hotspot_run.path), "--stat", "total", "--top", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 + 4 and lines[3].split()[:3] == ["1", "crossline", "301"]
    assert main(["rank", str(hotspot_run.path), "--class", "b", "--epoch", "1", *ALL]) == 0
    assert "epoch 1/2" in capsys.readouterr().out


def test_cli_rank_errors_are_one_line_and_exit_2(hotspot_run, tmp_path, capsys):
    assert main(["rank", str(hotspot_run.path), "--class", "c"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("napari-forgetting: error: class 'c' (id 2) is absent")
    assert main(["rank", str(hotspot_run.path), "--class", "b", "--epoch", "3", *ALL]) == 2
    assert "has epochs 1..2" in capsys.readouterr().err
    assert main(["rank", str(tmp_path / "missing"), "--class", "b"]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_cli_rank_leaves_out_sections_with_few_class_pixels(hotspot_run, capsys):
    assert main(["rank", str(hotspot_run.path), "--class", "b", "--min-pixels", "6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "2 of 4 mapped sections hold the class in at least 6 pixels (1 holding fewer" in out[0]
    # inline 100 (5 pixels, second by density) is left out
    assert [line.split()[1:3] for line in out[3:]] == [["crossline", "301"], ["crossline", "303"]]
    # the default (256) is more than this run's sections hold: one line, exit 2
    assert main(["rank", str(hotspot_run.path), "--class", "b"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds 256 pixels of class 'b' (the most: 8)" in err[0]
    assert "--min-pixels" in err[0]
