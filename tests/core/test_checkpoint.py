"""Checkpoints hold tensors and plain values only, and a file carrying anything else is
refused unread: opening a ``checkpoint.pt`` someone sent never runs code stored in it."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from napari_forgetting.model.checkpoint import (
    CheckpointError,
    from_plain,
    load_checkpoint,
    save_checkpoint,
    to_plain,
)


class _Payload:
    """Unpickling this calls ``os.system`` (the classic pickle exploit); here it would
    write a marker file, so the test sees whether it ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _crafted(path, marker, version=2):
    """A checkpoint file that looks like ours but carries the payload among its values."""
    state = {
        "checkpoint_version": version,
        "kind": "napari_forgetting.transfer",
        "model": {"w": torch.zeros(2)},
        "config": {"epochs": 1, "evil": _Payload(marker)},
    }
    torch.save(state, path)


def test_state_round_trips_with_numpy_arrays_and_scalars(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "model": {"w": torch.arange(6.0).reshape(2, 3)},
        "tracker": {
            "arrays": {
                "count": rng.integers(0, 9, (3, 4)).astype(np.uint8),
                "conf": rng.random(5, dtype=np.float32),
                "flags": np.array([True, False]),
            }
        },  # fmt: skip
        "sampler": {"bit_generator": np.random.default_rng(1).bit_generator.state},
        "history": [{"loss": np.float64(0.25), "class_accuracy": [0.5, 1.0]}],
        "stats": (np.float32(1.5), 2.0),
        "epoch": 3,
    }
    path = save_checkpoint(tmp_path / "checkpoint.pt", state)
    back = load_checkpoint(path)
    assert back["epoch"] == 3 and back["stats"] == (1.5, 2.0)
    assert torch.equal(back["model"]["w"], state["model"]["w"])
    for name, array in state["tracker"]["arrays"].items():
        got = back["tracker"]["arrays"][name]
        assert isinstance(got, np.ndarray) and got.dtype == array.dtype
        np.testing.assert_array_equal(got, array)
    assert back["sampler"] == state["sampler"]
    assert back["history"] == [{"loss": 0.25, "class_accuracy": [0.5, 1.0]}]
    assert type(back["history"][0]["loss"]) is float
    # what is written is plain: torch's weights-only loader reads it as it is
    raw = torch.load(path, weights_only=True)
    assert raw["checkpoint_version"] == 2
    assert from_plain(to_plain(state))["tracker"]["arrays"].keys() == {"count", "conf", "flags"}


def test_crafted_checkpoint_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    _crafted(path, marker)
    # the payload is real: an unsafe load runs it
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "refused" in message
    assert not marker.exists()


# torch warns about the plain pickle's protocol before refusing it: that file is the point
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_plain_pickle_and_a_truncated_file_are_clear_errors(tmp_path):
    marker = tmp_path / "pwned"
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps({"evil": _Payload(marker)}))
    with pytest.raises(CheckpointError, match="plain.pt"):
        load_checkpoint(plain)
    assert not marker.exists()
    good = save_checkpoint(tmp_path / "good.pt", {"epoch": 1})
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_checkpoint(cut)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_another_version_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"checkpoint_version": 99, "epoch": 1}, path)
    with pytest.raises(CheckpointError, match=r"old\.pt.*version 99"):
        load_checkpoint(path)


def test_transfer_model_loader_refuses_a_crafted_file(tmp_path):
    from napari_forgetting.transfer import load_transfer_model

    marker = tmp_path / "pwned"
    _crafted(tmp_path / "checkpoint.pt", marker)
    with pytest.raises(CheckpointError, match="refused"):
        load_transfer_model(tmp_path)
    assert not marker.exists()
