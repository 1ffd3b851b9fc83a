"""The command line: info and synthetic; every bad value is one line and exit status 2, a run
that fails exits 1. (demo is tested with the napari face.)"""

import numpy as np
import pytest

from napari_forgetting.cli import main
from napari_forgetting.data import open_volume


def test_synthetic_then_info(tmp_path, capsys):
    assert (
        main(
            [
                "synthetic",
                "--out",
                str(tmp_path),
                "--shape",
                "6",
                "10",
                "24",
                "--seed",
                "1",
                "--name",
                "tiny",
            ]
        )
        == 0
    )
    vol = open_volume(tmp_path / "tiny.sgy")
    assert vol.shape == (6, 10, 24) and vol.labels is not None
    capsys.readouterr()
    assert main(["info", str(tmp_path / "tiny.sgy")]) == 0
    out = capsys.readouterr().out
    assert "(6, 10, 24)" in out and "scruff" in out


def test_info_on_bad_file_prints_a_clear_error(segy_cases, capsys):
    assert main(["info", str(segy_cases["prestack"])]) == 2
    err = capsys.readouterr().err
    assert "prestack.sgy" in err and "pre-stack" in err and "Traceback" not in err


def test_synthetic_writes_a_custom_survey_and_the_sample(tmp_path, capsys):
    from napari_forgetting.data.synthetic import make_f3_like

    args = ["synthetic", "--out", str(tmp_path / "a"), "--shape", "8", "16", "32", "--seed", "2"]
    assert main([*args, "--formats", "npy"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "f3_synthetic_labels.npy",
        "f3_synthetic_seismic.npy",
    ]
    np.testing.assert_array_equal(
        np.load(tmp_path / "a" / "f3_synthetic_seismic.npy"),
        make_f3_like((8, 16, 32), seed=2).seismic,
    )
    assert main(["synthetic", "--out", str(tmp_path / "s"), "--sample"]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "f3_synthetic.sgy",
        "f3_synthetic_labels.npy",
    ]


BAD_VALUES = [
    (["train", "--data", "synthetic", "--out", "OUT", "--epochs", "-3"], "--epochs"),
    (["train", "--data", "synthetic", "--out", "OUT", "--patch", "0", "0"], "--patch"),
    (["train", "--data", "synthetic", "--out", "OUT", "--batch-size", "0"], "--batch-size"),
    (["train", "--data", "synthetic", "--out", "OUT", "--lr", "-0.1"], "--lr"),
    (["train", "--data", "synthetic", "--out", "OUT", "--lr", "nan"], "--lr"),
    (["train", "--data", "synthetic", "--out", "OUT", "--shape", "8", "0", "32"], "--shape"),
    (["train", "--data", "synthetic", "--out", "OUT", "--epochs", "three"], "--epochs"),
    (["synthetic", "--out", "OUT", "--shape", "0", "4", "4"], "--shape"),
    (["compare", "--data", "synthetic", "--out", "OUT", "--seeds", "0"], "--seeds"),
    (["compare", "--data", "synthetic", "--out", "OUT", "--methods", "baseline,bogus"],
     "bogus"),
    (["compare", "--data", "synthetic", "--out", "OUT", "--methods", "flip,flip"], "twice"),
    (["transfer-train", "--data", "synthetic", "--out", "OUT", "--epochs", "0"], "--epochs"),
    (["retrain", "RUN", "--pool", "POOL", "--out", "OUT", "--epochs", "-1"], "--epochs"),
    (["augment", "RUN", "--transfer", "T", "--out", "OUT", "--per-source", "0"],
     "--per-source"),
    (["rank", "RUN", "--top", "-1"], "--top"),
    (["demo", "--epochs", "-2"], "--epochs"),
    (["demo", "--view", "4d"], "--view"),
    (["view", "REPORT", "--item", "0"], "--item"),
    (["bogus-command"], "bogus-command"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "word"), BAD_VALUES, ids=lambda v: " ".join(v)[:60])
def test_every_bad_value_is_one_line_and_exit_status_2(argv, word, tmp_path, capsys):
    argv = [str(tmp_path / a) if a in ("OUT", "RUN", "POOL", "T", "REPORT") else a for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("napari-forgetting: error: ") and word in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "OUT").exists()  # nothing was started


def test_bad_combinations_and_inputs_are_one_line_too(tmp_path, capsys):
    base = ["train", "--data", "synthetic", "--shape", "8", "12", "32", "--quiet"]
    # well-formed values naming inputs that are missing or are not what they should be
    cases = [
        [*base, "--out", str(tmp_path / "a"), "--data", str(tmp_path / "missing.sgy")],
        ["rank", str(tmp_path / "no-run"), "--class", "scruff"],
        ["export", str(tmp_path / "nothing.sgy"), "--out", str(tmp_path / "e"), "--name", "x"],
    ]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("napari-forgetting: error: "), err


def test_a_run_that_fails_exits_1(tmp_path, capsys):
    argv = ["train", "--data", "synthetic", "--shape", "8", "12", "32", "--epochs", "3",
            "--batch-size", "4", "--patch", "32", "32", "--patches-per-epoch", "8",
            "--device", "cpu", "--threads", "1", "--quiet", "--lr", "1e30",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("napari-forgetting: error: loss became")
    assert "Traceback" not in "\n".join(err)


def test_version_and_every_help_shows_the_defaults(capsys):
    """``--version``; every subcommand's ``--help`` names each option's default."""
    import argparse

    from napari_forgetting import __version__
    from napari_forgetting.cli import build_parser

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"napari-forgetting {__version__}"
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        formatter = command._get_formatter()
        for action in command._actions:
            d = action.default
            if not action.option_strings or d is None or d is False or d == argparse.SUPPRESS:
                continue
            line = formatter._expand_help(action)  # the option's line in --help
            assert "default" in line.lower(), (name, action.dest, line)
            if "%(default)" in formatter._get_help_string(action):
                assert str(d) in line, (name, action.dest, line)
