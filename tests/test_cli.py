"""The command line: info and synthetic headless, demo under Xvfb."""

import os
import subprocess
import sys

import numpy as np

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


def test_demo_writes_a_screenshot_of_the_sample(tmp_path):
    shot = tmp_path / "demo.png"
    env = dict(os.environ)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_forgetting.cli",
            "demo",
            "--epochs",
            "0",  # the sample only; live training is tested in test_widgets_training.py
            "--quit",
            "--screenshot",
            str(shot),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    from imageio.v3 import imread

    pixels = imread(shot)
    assert pixels.shape[0] > 300 and pixels[..., :3].std() > 10
    assert np.unique(pixels[..., 0]).size > 20
