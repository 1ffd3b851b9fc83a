"""Hostile input: crafted pools and run files, absurd option values, generated JSON. Each case
gives exit 2 and one line naming the file or the option (or a refused write), and nothing
outside the target folder changes. The fuzz tests draw their cases with Hypothesis."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_forgetting.cli import main

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _copy_run(src: Path, dst: Path) -> Path:
    """A copy of the run folder ``src`` whose ``checkpoint.pt`` (~190 MB, never changed by these
    tests) is a hard link: the cases edit JSON and array metadata only."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoint.pt"))
    if (src / "checkpoint.pt").exists():
        os.link(src / "checkpoint.pt", dst / "checkpoint.pt")
    return dst


@contextlib.contextmanager
def _scratch(tmp_path_factory):  # noqa: ANN001, ANN202
    """A folder for one Hypothesis example, removed when the example ends (a session's 80
    examples would otherwise keep 80 copies on disk)."""
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as root:
        yield Path(root)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _refused(capsys, argv, *words) -> str:
    """``argv`` exits 2 with one error line holding ``words`` and no traceback."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("napari-forgetting: error")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, (argv, rc, err)
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------- pools


@pytest.fixture
def pool(saved_pool, tmp_path) -> Path:
    return Path(shutil.copytree(saved_pool, tmp_path / "pool"))


def _edit(path: Path, **fields) -> None:
    record = json.loads(path.read_text())
    record.update(fields)
    path.write_text(json.dumps(record))


def _retrain(parent_run, pool, tmp_path):
    return ["retrain", parent_run.path, "--pool", pool, "--out", tmp_path / "child", "--epochs",
            "1", "--quiet"]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("../../outside/secret", "is not a plain name"),
        ("/etc/passwd", "is not a plain name"),
        ("..", "is not a plain name"),
        ("a/b", "is not a plain name"),
        (7, "is not a plain name"),
    ],
)
def test_a_pool_set_name_that_leaves_the_folder_is_refused(
    parent_run, pool, tmp_path, capsys, name, word
):
    record = json.loads((pool / "pool.json").read_text())
    record["sets"][0]["name"] = name
    (pool / "pool.json").write_text(json.dumps(record))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.manifest.json").write_text("{}")
    before = _tree(tmp_path)
    _refused(capsys, _retrain(parent_run, pool, tmp_path), "pool.json", "sets[0].name", word)
    assert _tree(tmp_path) == before and not (tmp_path / "child").exists()


def test_a_pool_set_linked_outside_is_refused(parent_run, pool, tmp_path, capsys):
    outside = tmp_path / "elsewhere.npy"
    shutil.copy(pool / "augmented_inline_seismic.npy", outside)
    (pool / "augmented_inline_seismic.npy").unlink()
    (pool / "augmented_inline_seismic.npy").symlink_to(outside)
    _refused(capsys, _retrain(parent_run, pool, tmp_path), "its files lead outside")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"class_id": 1e20}, ("class_id", "not a whole number")),
        ({"class_id": 300}, ("class_id", "outside 0..255")),
        ({"count": 1}, ("field count: 1, but its sets hold",)),
        ({"seed": 7}, ("field seed: 1, but pool.json says 7",)),
        ({"sets": "all"}, ("field sets", "not a list")),
        ({"kind": "comparison"}, ("not an augmented pool's manifest",)),
    ],
)
def test_a_pool_that_disagrees_with_itself_is_refused(
    parent_run, pool, tmp_path, capsys, fields, words
):
    _edit(pool / "pool.json", **fields)
    before = _tree(tmp_path)
    _refused(capsys, _retrain(parent_run, pool, tmp_path), *words)
    assert _tree(tmp_path) == before


def test_a_half_rewritten_pool_is_refused(parent_run, pool, tmp_path, capsys):
    """An interrupted ``augment --overwrite`` of old: pool.json of one pool, a set of
    another (seed 7, fewer sections)."""
    manifest = pool / "augmented_crossline.manifest.json"
    record = json.loads(manifest.read_text())
    record["seed"] = 7
    record["sections"] = record["sections"][:1]
    manifest.write_text(json.dumps(record))
    _refused(capsys, _retrain(parent_run, pool, tmp_path), "augmented_crossline.manifest.json",
             "field seed: 7", "a set of another pool")  # fmt: skip


def test_a_pool_of_another_survey_is_refused(parent_run, pool, tmp_path, capsys):
    from napari_forgetting.workflow.augment import load_pool, save_pool

    other = load_pool(pool)
    for it in other.items:  # the same pool, its sections a sample shorter: another survey
        it.image, it.labels = it.image[:-1], it.labels[:-1]
    save_pool(other, tmp_path / "other", formats=("npy",))
    _refused(capsys, _retrain(parent_run, tmp_path / "other", tmp_path), "a pool of another survey")
    named = load_pool(pool)
    named.class_name = "salt"
    save_pool(named, tmp_path / "renamed", formats=("npy",))
    _refused(capsys, _retrain(parent_run, tmp_path / "renamed", tmp_path), "'salt'",
             "a pool of another survey")  # fmt: skip


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip


@FUZZ
@given(field=st.sampled_from(["kind", "class_id", "class", "seed", "count", "sets"]), value=_JSON)
def test_fuzzed_pool_json_is_one_line_or_accepted(parent_run, saved_pool, tmp_path_factory,
                                                  capsys, field, value):  # fmt: skip
    from napari_forgetting.workflow.augment import load_pool
    from napari_forgetting.workflow.pool_browse import open_pool_browse

    with _scratch(tmp_path_factory) as root:
        pool = Path(shutil.copytree(saved_pool, root / "pool"))
        _edit(pool / "pool.json", **{field: value})
        try:
            load_pool(pool)
        except (ValueError, FileNotFoundError) as exc:
            line = str(exc)
            assert "\n" not in line and "pool" in line, line
        # the viewer's browser reads it the same way
        try:
            open_pool_browse(pool)
        except (ValueError, FileNotFoundError) as exc:
            assert "\n" not in str(exc)


# ------------------------------------------------------------------------------- runs


@pytest.fixture
def run(parent_run, tmp_path) -> Path:
    return _copy_run(parent_run.path, tmp_path / "run")


@pytest.mark.parametrize(
    ("file", "fields", "words"),
    [
        ("run.json", {"volume_shape": [10**12, 10, 10]}, ("volume_shape[0]", "outside")),
        ("run.json", {"volume_shape": [8, 12]}, ("volume_shape", "2 entries")),
        ("run.json", {"epochs": "2"}, ("field epochs", "not a whole number")),
        ("run.json", {"class_names": None}, ("field class_names", "not a list")),
        ("run.json", {"eval_sections": {}}, ("field eval_sections", "not a list")),
        ("run.json", {"map_sections": [{"kind": "inline"}]}, ("map_sections[0].index",
                                                               "missing")),
        ("state.json", {"epochs_complete": 10**12}, ("epochs_complete", "outside")),
        ("state.json", {"epochs_complete": 5}, ("epochs_complete: 5, but the store holds 2",)),
        ("state.json", {"status": "done"}, ("field status", "not one of")),
        ("state.json", {"history": "x"}, ("field history", "not a list")),
    ],
)
def test_run_files_of_wrong_types_are_one_line(run, capsys, file, fields, words):
    _edit(run / file, **fields)
    before = _tree(run.parent)
    for argv in (["rank", run], ["export", run, "--out", run.parent / "e", "--name", "x"]):
        _refused(capsys, argv, file, *words)
    assert _tree(run.parent) == before


def test_a_missing_key_is_one_line(run, capsys):
    record = json.loads((run / "run.json").read_text())
    del record["volume_shape"]
    (run / "run.json").write_text(json.dumps(record))
    _refused(capsys, ["rank", run], "run.json", "field volume_shape is missing")


def test_sections_outside_the_volume_are_refused(run, capsys):
    record = json.loads((run / "run.json").read_text())
    record["eval_sections"][0]["index"] = 10**5
    (run / "run.json").write_text(json.dumps(record))
    _refused(capsys, ["rank", run], "eval_sections[0]", "does not lie in a volume")


def test_a_predictions_array_of_another_shape_is_refused(run, capsys):
    meta = run / "store.zarr" / "predictions" / "zarr.json"
    record = json.loads(meta.read_text())
    record["shape"] = [2, 10**12]
    meta.write_text(json.dumps(record))
    _refused(capsys, ["export", run, "--out", run.parent / "e", "--name", "x"],
             "array predictions of shape (2, 1000000000000)")  # fmt: skip


def test_a_volume_too_large_for_memory_is_refused_before_allocation(run, monkeypatch, capsys):
    import napari_forgetting.data.spill as spill

    monkeypatch.setattr(spill, "memory_bytes", lambda: 4096)  # a machine of 4 KiB
    _refused(capsys, ["export", run, "--out", run.parent / "e", "--name", "x"],
             "GiB, more than half of this machine's")  # fmt: skip
    assert not (run.parent / "e").exists()


@FUZZ
@given(file=st.sampled_from(["run.json", "state.json"]), field=st.sampled_from(
    ["epochs", "volume_shape", "class_names", "eval_sections", "map_sections", "maps",
     "epochs_complete", "status", "history", "version"]), value=_JSON)  # fmt: skip
def test_fuzzed_run_files_are_one_line_or_accepted(parent_run, tmp_path_factory, file, field,
                                                   value):  # fmt: skip
    from napari_forgetting.runs.hotspots import rank_run
    from napari_forgetting.runs.store import RunStore, RunStoreError

    with _scratch(tmp_path_factory) as root:
        run = _copy_run(parent_run.path, root / "run")
        _edit(run / file, **{field: value})
        try:
            store = RunStore.open(run)
            rank_run(store, "scruff", min_pixels=0)
        except RunStoreError as exc:
            assert "\n" not in str(exc) and str(run) in str(exc)


# ------------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "--threads", "100000", "--out", "o"], ("--threads", "cores")),
        (["movie", "r", "--out", "m.mp4", "--size", "100000", "100000"], ("--size",
                                                                          "more than 8192")),
        (["augment", "r", "--out", "p", "--per-source", "1000000000"], ("--per-source",)),
        (["synthetic", "--out", "s", "--noise", "1e308"], ("noise must be a number",)),
        (["synthetic", "--out", "s", "--noise", "nan"], ("noise must be a number",)),
        (["info", "x.sgy", "--iline", "239"], ("--iline", "not the byte position")),
        (["train", "--data", "x.sgy", "--xline", "1000", "--out", "o"], ("--xline",)),
        (["train", "--data", "synthetic", "--labels", "X", "--out", "o"],
         ("--labels does not apply to --data synthetic",)),
        (["train", "--data", "synthetic", "--shape", "8", "12", "32", "--patch", "100000",
          "100000", "--out", "o"], ("patch size (100000, 100000) is larger than the sections",)),
        (["transfer-train", "--data", "synthetic", "--shape", "8", "10", "32", "--patch", "1000",
          "1000", "--out", "o"], ("patch size (1000, 1000) is larger than the sections",)),
    ],
)
def test_absurd_numbers_are_refused_before_anything_is_made(tmp_path, monkeypatch, capsys,
                                                            argv, words):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    _refused(capsys, argv, *words)
    assert list(tmp_path.iterdir()) == []


def test_export_options_for_a_run_are_refused_for_a_volume(tmp_path, capsys):
    assert main(["synthetic", "--out", str(tmp_path / "v"), "--shape", "4", "6", "16",
                 "--formats", "npy"]) == 0  # fmt: skip
    vol = tmp_path / "v" / "f3_synthetic_seismic.npy"
    for extra, word in ((["--what", "heatmap"], "--what"), (["--epoch", "3"], "--epoch")):
        _refused(capsys, ["export", vol, "--out", tmp_path / "e", "--name", "x", *extra], word,
                 "for a run folder")  # fmt: skip
    assert not (tmp_path / "e").exists()


def test_a_bogus_class_is_found_before_any_job(tmp_path, capsys):
    argv = ["compare", "--preset", "cpu-lite", "--seeds", "1", "--methods", "baseline",
            "--class", "bogus", "--out", tmp_path / "c"]  # fmt: skip
    _refused(capsys, argv, "bogus")
    assert not (tmp_path / "c" / "jobs").exists()


@FUZZ
@given(option=st.sampled_from(["--epochs", "--batch-size", "--threads", "--patches-per-epoch",
                               "--lr", "--every", "--seed"]),
       value=st.one_of(st.integers(-(10**12), 10**12).map(str), st.sampled_from(
           ["nan", "inf", "-inf", "1e308", "", "0x10", "1.5", "abc", "-0"])))  # fmt: skip
def test_fuzzed_training_options_are_one_line(tmp_path_factory, option, value):
    """Each value either parses (then the run is refused for its folder, which holds a file:
    nothing trains) or is one line and exit 2."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("opt")
    (root / "o").write_text("a file, not a folder")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["train", "--data", "synthetic", "--shape", "8", "12", "32", option, value,
                   "--out", str(root / "o")])  # fmt: skip
    lines = [x for x in err.getvalue().splitlines() if x.startswith("napari-forgetting: error")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err.getvalue(), err.getvalue()
    assert sorted(p.name for p in root.iterdir()) == ["o"]


@pytest.mark.parametrize("sources", [{"class_id": "4"}, {"class": "scruff", "class_id": 4,
                                      "epoch": 1, "sections": "inline:3"}])  # fmt: skip
def test_saved_style_sources_of_wrong_types_are_one_line(run, tmp_path, capsys, sources):
    _edit(run / "run.json", style_sources=sources)
    argv = ["augment", run, "--transfer-method", "stratal", "--sources", "1", "--per-source",
            "1", "--min-pixels", "1", "--force", "--out", tmp_path / "pool"]  # fmt: skip
    _refused(capsys, argv, "run.json", "field")
    assert not (tmp_path / "pool").exists()
